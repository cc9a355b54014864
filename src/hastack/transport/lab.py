"""Lab machines: nsenter into every namespace of the machine's PID 1.

The environment is handed to nsenter's process (never argv), so secrets passed through ``env``
do not show in any process list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from hastack.errors import TransportError
from hastack.process import Result, communicate, run_async
from hastack.transport.shell import TRANSFER_FLOOR, put_argv, transfer_timeout

BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": "/root"}


class LabTransport:
    """``pid_of`` is asked for the machine's PID 1 at every call: machines reboot."""

    def __init__(self, host: str, pid_of: Callable[[], int | None]) -> None:
        self.host = host
        self._pid_of = pid_of

    def _enter(self, argv: Sequence[str]) -> list[str]:
        pid = self._pid_of()
        if pid is None:
            raise TransportError(self.host, f"{self.host} is powered off",
                                 fix=f"hastack lab power on {self.host}")
        return ["nsenter", "-t", str(pid), "-a", *argv]

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        return await run_async(self.host, self._enter(argv), shown=argv, stdin=stdin,
                               env={**BASE_ENV, **(env or {})}, timeout=timeout)

    async def put(self, path: str, data: bytes, *, owner: str = "root", group: str = "root",
                  mode: int = 0o644) -> None:
        (await self.run(put_argv(path, owner, group, mode, len(data)), stdin=data,
                        timeout=transfer_timeout(len(data)))).check()

    async def get(self, path: str) -> bytes:
        # The size first, so the read gets a timeout to match it.
        size = await self.run(["stat", "-L", "-c", "%s", "--", path], timeout=TRANSFER_FLOOR)
        if not size.ok or not size.stdout.strip().isdigit():
            raise TransportError(self.host, f"cannot read {path}", fix=size.stderr[-500:])
        argv = ["cat", "--", path]
        code, out, err = await communicate(self.host, argv, self._enter(argv), stdin=None,
                                           env=BASE_ENV,
                                           timeout=transfer_timeout(int(size.stdout)))
        if code:
            raise TransportError(self.host, f"cannot read {path}",
                                 fix=err.decode(errors="replace")[-500:])
        return out

    async def close(self) -> None:
        return None
