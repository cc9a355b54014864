"""The transport contract: three verbs, async, so a stage runs on all its nodes at once.

Secrets travel only on stdin or inside file contents, never in argv. A command's outcome is
hastack.process.Result, as for a command run on this computer: it keeps the output for the
caller, and the log has it at DEBUG only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from hastack.process import Result

__all__ = ["Result", "Transport"]  # a transport's run answers with the one Result


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
