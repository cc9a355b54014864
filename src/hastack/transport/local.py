"""A local process standing for a command on a node (lab machines, the lab's client)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from hastack.errors import TransportError
from hastack.transport.base import Result, logged


async def run_local(host: str, shown: Sequence[str], argv: Sequence[str], *,
                    stdin: bytes | None, env: Mapping[str, str], timeout: float) -> Result:
    """Run ``argv`` here; ``shown`` is the command as the node sees it (for results and logs).
    The environment goes to the process, never to argv, so secrets stay out of `ps`."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(env))
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except asyncio.CancelledError:
        proc.kill()  # a cancelled caller (a drill that failed) leaves nothing running
        raise
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise TransportError(host, f"`{' '.join(shown)}` did not finish within "
                             f"{timeout:.0f} s") from None
    return logged(Result(host, tuple(shown), proc.returncode or 0,
                         out.decode(errors="replace"), err.decode(errors="replace")),
                  time.monotonic() - started)
