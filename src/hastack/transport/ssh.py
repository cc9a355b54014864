"""Real hosts over SSH (asyncssh): key-based, known_hosts checked, one connection per host.

Environment values are written to a 0600 file and sourced by the remote shell, because sshd
drops unknown environment variables and argv would show them in process lists.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hastack.errors import TransportError
from hastack.transport.base import Result, logged
from hastack.transport.shell import put_argv, quote

ENV_RUNNER = 'set -a; . "$1"; rm -f "$1"; set +a; shift; exec "$@"'


class SshTransport:
    def __init__(self, host: str, address: str, *, user: str = "root", port: int = 22,
                 known_hosts: str | Path | None = None,
                 client_keys: Sequence[str | Path] | None = None) -> None:
        self.host = host
        self._address = address
        self._options: dict[str, Any] = {
            "username": user, "port": port,
            "known_hosts": str(known_hosts) if known_hosts else (),
        }
        if known_hosts is None:
            self._options.pop("known_hosts")  # asyncssh's default: ~/.ssh/known_hosts
        if client_keys is not None:
            self._options["client_keys"] = [str(k) for k in client_keys]
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import asyncssh

        async with self._lock:
            if self._conn is None:
                try:
                    self._conn = await asyncio.wait_for(
                        asyncssh.connect(self._address, **self._options), 30)
                except (OSError, asyncssh.Error, TimeoutError) as exc:
                    raise TransportError(self.host, f"cannot connect over SSH to "
                                         f"{self._address}: {exc}",
                                         fix="check the address, the key and known_hosts"
                                         ) from None
        return self._conn

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        started = time.monotonic()
        command = list(argv)
        if env:
            env_file = f"/run/hastack-env.{secrets.token_hex(8)}"
            body = "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()).encode()
            await self.put(env_file, body, mode=0o600)
            command = ["sh", "-c", ENV_RUNNER, "hastack-env", env_file, *command]
        conn = await self._connection()
        try:
            done = await asyncio.wait_for(
                conn.run(quote(command), input=stdin, encoding=None, check=False), timeout)
        except TimeoutError:
            raise TransportError(self.host, f"`{' '.join(argv)}` did not finish within "
                                 f"{timeout:.0f} s") from None
        out = done.stdout or b""
        err = done.stderr or b""
        return logged(Result(self.host, tuple(argv), done.exit_status or 0,
                             out.decode(errors="replace"), err.decode(errors="replace")),
                      time.monotonic() - started)

    async def put(self, path: str, data: bytes, *, owner: str = "root", group: str = "root",
                  mode: int = 0o644) -> None:
        conn = await self._connection()
        done = await asyncio.wait_for(conn.run(quote(put_argv(path, owner, group, mode)),
                                               input=data, encoding=None, check=False), 120)
        if done.exit_status:
            raise TransportError(self.host, f"cannot write {path}",
                                 fix=(done.stderr or b"").decode(errors="replace")[-500:])

    async def get(self, path: str) -> bytes:
        conn = await self._connection()
        done = await asyncio.wait_for(conn.run(quote(["cat", "--", path]), encoding=None,
                                               check=False), 120)
        if done.exit_status:
            raise TransportError(self.host, f"cannot read {path}",
                                 fix=(done.stderr or b"").decode(errors="replace")[-500:])
        data: bytes = done.stdout or b""
        return data

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
            self._conn = None
