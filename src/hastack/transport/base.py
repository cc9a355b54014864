"""The transport contract: three verbs, async, so a stage runs on all its nodes at once.

Secrets travel only on stdin or inside file contents, never in argv; ``Result`` keeps the
output for the caller, which logs it at DEBUG only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from hastack.errors import TransportError

log = logging.getLogger("hastack.command")


@dataclass(frozen=True)
class Result:
    host: str
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> Result:
        """Raises TransportError when the command failed."""
        if not self.ok:
            raise TransportError(self.host, f"`{' '.join(self.argv)}` exited with status "
                                 f"{self.returncode}", fix=(self.stderr or self.stdout)[-2000:])
        return self


def logged(result: Result, seconds: float) -> Result:
    """Every command run on a node goes to the log (argv never carries secrets); its output
    only at DEBUG, and the log's filter masks any secret value that shows up there."""
    log.info("%s $ %s -> %d (%.1fs)", result.host, " ".join(result.argv), result.returncode,
             seconds)
    if result.returncode:
        log.debug("%s stderr: %s", result.host, result.stderr[-2000:])
    return result


class Transport(Protocol):
    """One node. Implementations: lab.LabTransport (nsenter), ssh.SshTransport (asyncssh)."""

    host: str

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        """Run argv on the node; never raises for a non-zero exit (see Result.check)."""
        ...

    async def put(self, path: str, data: bytes, *, owner: str = "root", group: str = "root",
                  mode: int = 0o644) -> None:
        """Write a file atomically with its owner and mode (parents created)."""
        ...

    async def get(self, path: str) -> bytes:
        """Read a file; raises TransportError when it cannot."""
        ...

    async def close(self) -> None: ...
