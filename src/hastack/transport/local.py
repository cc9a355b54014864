"""A local process standing for a command on a node (lab machines, the lab's client)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence

from hastack.errors import TransportError
from hastack.transport.base import Result, logged


async def run_local(host: str, shown: Sequence[str], argv: Sequence[str], *,
                    stdin: bytes | None, env: Mapping[str, str], timeout: float) -> Result:
    """Run ``argv`` here; ``shown`` is the command as the node sees it (for results and logs).
    The environment goes to the process, never to argv, so secrets stay out of `ps`."""
    started = time.monotonic()
    code, out, err = await communicate(host, shown, argv, stdin=stdin, env=env,
                                       timeout=timeout)
    return logged(Result(host, tuple(shown), code, out.decode(errors="replace"),
                         err.decode(errors="replace")), time.monotonic() - started)


async def communicate(host: str, shown: Sequence[str], argv: Sequence[str], *,
                      stdin: bytes | None, env: Mapping[str, str],
                      timeout: float) -> tuple[int, bytes, bytes]:
    """(returncode, stdout, stderr) of ``argv``. It runs in a process group of its own, so a
    timeout or a cancelled caller stops it with every child (nsenter forks the command into
    a lab machine's namespaces: killing nsenter alone would leave it running)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(env),
        start_new_session=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except asyncio.CancelledError:
        _kill_group(proc)  # a cancelled caller (a drill that failed) leaves nothing running
        raise
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        raise TransportError(host, f"`{' '.join(shown)}` did not finish within "
                             f"{timeout:.0f} s") from None
    return proc.returncode or 0, out, err


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # its group: the session it leads
