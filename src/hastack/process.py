"""Running a local command: argv lists only, a timeout always, a ToolError on failure."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from hastack.errors import ToolError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = 120,
        check: bool = True) -> Completed:
    """Run ``argv``; with ``check``, a non-zero exit raises ToolError naming the tool.

    Raises:
        ToolError: the command failed (check) or did not finish within ``timeout``.
    """
    args = tuple(argv)
    try:
        proc = subprocess.run(args, input=stdin, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ToolError(args[0], args, -1, "", what=f"{args[0]} did not finish within "
                        f"{timeout:.0f} s") from None
    except FileNotFoundError:
        raise ToolError(args[0], args, -1, "", what=f"{args[0]} is not installed") from None
    done = Completed(args, proc.returncode, proc.stdout, proc.stderr)
    log.debug("command argv=%s rc=%d", " ".join(args), proc.returncode)
    if check and not done.ok:
        raise ToolError(args[0], args, proc.returncode, proc.stderr or proc.stdout)
    return done
