"""Real hosts over SSH (asyncssh): key-based, known_hosts checked, one connection per host.

Environment values are written to a 0600 file and sourced by the remote shell, because sshd
drops unknown environment variables and argv would show them in process lists.

What a caller can rely on:

* a command that ends without an exit status (the connection died under it) is a
  TransportError, never a success; it is not re-run, since it may have run;
* a dead connection is replaced by a fresh one at the next call, and a call whose channel
  could not even be opened (so nothing ran) is retried once on a fresh connection;
* a command past its timeout is stopped on the node with its children (its process group,
  which the wrapper below reports before it starts the command), then a TransportError;
* transfers get a timeout that grows with their size;
* a key file that cannot be used is a UsageError naming it, before any host is touched.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hastack.agents import agent_text, shown_argv
from hastack.errors import TransportError, UsageError
from hastack.process import Result, finished
from hastack.transport.shell import (
    TRANSFER_FLOOR,
    TRANSFER_RATE,
    put_argv,
    quote,
    transfer_timeout,
)

ENV_RUNNER = 'set -a; . "$1"; rm -f "$1"; set +a; shift; exec "$@"'

# Every command starts under this wrapper, which prints what a timeout must kill (a process
# group) and execs the command; the stopper kills that group from a second channel, so it
# needs no "signal" channel request (older OpenSSH servers ignore it; newer ones refuse it
# without privilege separation and for forced commands).
MARK = b"hastack-run "
WRAPPER = agent_text("ssh_run.sh")
STOPPER = agent_text("ssh_stop.sh")
CONNECT_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
# A dead peer (cable, crash, partition) is noticed within a minute, even during a long command.
KEEPALIVE = {"keepalive_interval": 15, "keepalive_count_max": 4}



def load_client_keys(paths: Sequence[str | Path]) -> list[Any]:
    """The key pairs in ``paths``; a UsageError naming the file for one that cannot be used.

    Loaded here, not at connect time, so a bad --ssh-key stops the command before any host
    is touched, and it is said the same way for every node."""
    import asyncssh

    keys: list[Any] = []
    for path in paths:
        try:
            keys.extend(asyncssh.load_keypairs([str(path)]))
        except OSError as exc:
            raise UsageError("ssh-key-unreadable", f"cannot read the SSH key {path}: "
                             f"{exc.strerror or exc}", where=str(path),
                             fix="give --ssh-key (or HASTACK_SSH_KEY) an existing private key "
                             "file readable by this user") from None
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise _key_error(path, str(exc)) from None
    return keys


def _key_error(path: str | Path, reason: str) -> UsageError:
    if "assphrase" in reason:
        return UsageError("ssh-key-encrypted", f"the SSH key {path} is protected by a "
                          "passphrase, and hastack does not ask for one", where=str(path),
                          fix=f"load it into ssh-agent (ssh-add {path}) and leave out "
                          "--ssh-key, or use a key without a passphrase")
    return UsageError("ssh-key-invalid", f"{path} is not a private key hastack can use: "
                      f"{reason}", where=str(path),
                      fix="give --ssh-key the private key (not the .pub), in OpenSSH or PEM "
                      "format, e.g. one made by ssh-keygen -t ed25519")


@dataclass
class _Call:
    """What one command has got so far: for the error, and for stopping it."""

    conn: Any = None
    process: Any = None
    target: str | None = None



class SshTransport:
    # Transfers: a floor for the round trips, plus the time at a slow but working link.
    transfer_floor: float = TRANSFER_FLOOR
    transfer_rate: float = TRANSFER_RATE

    def __init__(self, host: str, address: str, *, user: str = "root", port: int = 22,
                 known_hosts: str | Path | None = None,
                 client_keys: Sequence[str | Path] | None = None) -> None:
        self.host = host
        self._address = address
        self._options: dict[str, Any] = {"username": user, "port": port, **KEEPALIVE}
        if known_hosts is not None:  # otherwise asyncssh's default: ~/.ssh/known_hosts
            self._options["known_hosts"] = str(known_hosts)
        if client_keys is not None:
            self._options["client_keys"] = load_client_keys(client_keys)
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        command = list(argv)
        if env:
            env_file = f"/run/hastack-env.{secrets.token_hex(8)}"
            body = "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()).encode()
            await self.put(env_file, body, mode=0o600)
            command = ["sh", "-c", ENV_RUNNER, "hastack-env", env_file, *command]
        return await self._exec(tuple(argv), command, stdin, timeout)

    async def put(self, path: str, data: bytes, *, owner: str = "root", group: str = "root",
                  mode: int = 0o644) -> None:
        done = await self._exec(("put", path), put_argv(path, owner, group, mode, len(data)),
                                data, self.transfer_timeout(len(data)))
        if not done.ok:
            raise TransportError(self.host, f"cannot write {path}", fix=done.stderr[-500:])

    async def get(self, path: str) -> bytes:
        # The size first, so the read gets a timeout to match it.
        size = await self._exec(("stat", path), ["stat", "-L", "-c", "%s", "--", path], None,
                                self.transfer_floor)
        if not size.ok or not size.stdout.strip().isdigit():
            raise TransportError(self.host, f"cannot read {path}", fix=size.stderr[-500:])
        raw = await self._exec_raw(("get", path), ["cat", "--", path], None,
                                   self.transfer_timeout(int(size.stdout)))
        if raw[0]:
            raise TransportError(self.host, f"cannot read {path}",
                                 fix=raw[2].decode(errors="replace")[-500:])
        return raw[1]

    def transfer_timeout(self, size: int) -> float:
        return transfer_timeout(size, self.transfer_floor, self.transfer_rate)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
            await conn.wait_closed()

    # -- one command on one channel ----------------------------------------------------------

    async def _exec(self, shown: tuple[str, ...], command: list[str], stdin: bytes | None,
                    timeout: float) -> Result:
        started = time.monotonic()
        code, out, err = await self._exec_raw(shown, command, stdin, timeout)
        return finished(self.host, shown, code, out, err, started)

    async def _exec_raw(self, shown: tuple[str, ...], command: list[str], stdin: bytes | None,
                        timeout: float) -> tuple[int, bytes, bytes]:
        """(returncode, stdout, stderr); a lost connection or a timeout raises. The timeout
        covers opening the channel too: a stalled link must not hang the caller."""
        import asyncssh

        call = _Call()
        try:
            async with asyncio.timeout(timeout):
                await self._open(call, shown, ["sh", "-c", WRAPPER, "hastack-run", *command])
                if stdin:
                    call.process.stdin.write(stdin)
                call.process.stdin.write_eof()
                call.target, first = await _marker(call.process)
                out, err = await call.process.communicate()
        except TimeoutError:
            raise await self._timed_out(call, shown, timeout) from None
        except asyncio.CancelledError:
            if call.process is not None:
                call.process.close()  # a cancelled caller (a failed drill) leaves nothing
                self._stop_soon(call.target)  # running
            raise
        except (asyncssh.Error, OSError) as exc:
            raise self._lost(call.conn, shown, str(exc)) from None
        if call.process.returncode is None:  # the channel closed without an exit status
            raise self._lost(call.conn, shown, "the command ended without an exit status")
        return call.process.returncode, first + out, err

    async def _open(self, call: _Call, shown: tuple[str, ...], command: list[str]) -> None:
        """A process for ``command`` on ``call``. When the channel cannot be opened nothing
        has run, so one retry on a fresh connection is safe."""
        import asyncssh

        for attempt in (1, 2):
            call.conn = await self._connection()
            try:
                call.process = await call.conn.create_process(quote(command), encoding=None)
                return
            except asyncssh.ChannelOpenError as exc:
                self._drop(call.conn)
                if attempt == 2:
                    raise TransportError(self.host, f"cannot run `{shown_argv(shown)}` over "
                                         f"SSH on {self._address}: {exc}") from None

    async def _timed_out(self, call: _Call, shown: tuple[str, ...],
                         timeout: float) -> TransportError:
        """Stop what ``call`` started on the node, and say so."""
        if call.process is not None:
            call.process.close()
        if call.target is not None:
            stopped = await self._stop(call.target)
        else:  # the link stalled before the command said what it is: do not trust it
            self._drop(call.conn)
            stopped = "it may have started and still be running"
        return TransportError(self.host, f"`{shown_argv(shown)}` did not finish within "
                              f"{timeout:.0f} s on {self._address}; {stopped}",
                              fix="see whether the node or the link is overloaded; a longer "
                              "step needs a longer timeout")

    def _lost(self, conn: Any, shown: tuple[str, ...], reason: str) -> TransportError:
        """The connection died under a command: it may have run wholly, partly or not at all,
        so it is an error and is not re-run; the next call opens a fresh connection."""
        self._drop(conn)
        return TransportError(self.host, f"lost the SSH connection to {self._address} while "
                              f"running `{shown_argv(shown)}` ({reason})",
                              fix=f"it may have run wholly, partly or not at all: check "
                              f"{self.host}, then run hastack again")

    async def _stop(self, target: str) -> str:
        """Kill ``target`` (a process group) on the node, on a fresh connection if the old one
        died; says how that went."""
        call = _Call(target=target)
        try:
            await asyncio.wait_for(self._kill(call), STOP_TIMEOUT)
        except Exception as exc:  # any failure here is reported with the timeout, not raised
            self._drop(call.conn)  # it answers nothing: the next call starts afresh
            reason = exc.what if isinstance(exc, TransportError) else str(exc)
            return f"stopping it failed ({reason or type(exc).__name__}): it may still run"
        return "it was stopped, with its children"

    async def _kill(self, call: _Call) -> None:
        call.conn = await self._connection()
        await call.conn.run(quote(["sh", "-c", STOPPER, "hastack-stop", str(call.target)]),
                            check=False)

    def _stop_soon(self, target: str | None) -> None:
        if target is not None:
            task = asyncio.get_running_loop().create_task(self._stop(target))
            _background.add(task)
            task.add_done_callback(_background.discard)

    # -- the connection ------------------------------------------------------------------------

    async def _connection(self) -> Any:
        import asyncssh

        async with self._lock:
            if self._conn is not None and self._conn.is_closed():
                self._conn = None  # it died since the last call: nothing of ours is on it
            if self._conn is None:
                try:
                    self._conn = await asyncio.wait_for(
                        asyncssh.connect(self._address, **self._options), CONNECT_TIMEOUT)
                except (OSError, asyncssh.Error, TimeoutError) as exc:
                    raise TransportError(self.host, f"cannot connect over SSH to "
                                         f"{self._address}: {exc or type(exc).__name__}",
                                         fix="check the address, the key and known_hosts"
                                         ) from None
        return self._conn

    def _drop(self, conn: Any) -> None:
        if conn is not None and conn is self._conn:
            self._conn = None
            conn.abort()


# Stops of cancelled commands still under way (the loop holds tasks only weakly).
_background: set[asyncio.Task[str]] = set()


async def _marker(process: Any) -> tuple[str | None, bytes]:
    """The kill target the wrapper printed, and any output that is not the marker."""
    line: bytes = await process.stdout.readline()
    if line.startswith(MARK):
        return line[len(MARK):].strip().decode(), b""
    return None, line
