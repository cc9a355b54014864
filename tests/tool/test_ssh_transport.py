"""The SSH transport against a real OpenSSH server (Debian's openssh-server).

Each module run starts a private sshd: 127.0.0.1 only, a free high port, its own host key,
config, authorized key and PID file in a temp dir, in the foreground (-D -e) as a child of
this process, stopped by its PID. The server is on this machine, so what a command left
running is checked in /proc. Needs root (sshd logs in as root) and /usr/sbin/sshd.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hastack.errors import TransportError, UsageError
from hastack.transport import ssh
from hastack.transport.ssh import SshTransport

pytestmark = pytest.mark.tool
T = TypeVar("T")
SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without it (Debian's unit makes it)
CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
"""


def unavailable() -> str | None:
    """Why a private sshd cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root: the private sshd logs in as root with a generated key"
    if not Path(SSHD).exists() or not shutil.which("ssh-keygen"):
        return f"{SSHD} or ssh-keygen is missing (apt-get install openssh-server)"
    return None


def keygen(path: Path, *, passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "hastack-test",
                    "-f", str(path)], check=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Sshd:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.client_key = keygen(workdir / "id_ed25519")
        host_key = keygen(workdir / "host_ed25519")
        (workdir / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        self.known_hosts = workdir / "known_hosts"
        self.known_hosts.write_text(
            f"[127.0.0.1]:{self.port} {Path(f'{host_key}.pub').read_text()}")
        self.config = workdir / "sshd_config"
        self.config.write_text(CONFIG.format(port=self.port, dir=workdir))
        self.log = workdir / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        self.log.write_bytes(b"")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while b"Server listening" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """The server goes away: the listener and every connection it serves."""
        if self.proc is None:
            return
        self.drop_connections()
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def sessions(self) -> list[int]:
        """The sshd processes serving connections (descendants of the listener)."""
        assert self.proc is not None
        return [p for p in descendants(self.proc.pid) if comm(p) == "sshd"]

    def drop_connections(self) -> None:
        """Kill the server side of every connection, as a crash or a reset link would."""
        for pid in self.sessions():
            kill(pid, signal.SIGKILL)

    def commands(self, needle: str) -> list[int]:
        """Processes under the server whose command line contains ``needle``."""
        assert self.proc is not None
        return [p for p in descendants(self.proc.pid) if needle in cmdline(p)]

    def transport(self) -> SshTransport:
        return SshTransport("node1", "127.0.0.1", port=self.port, known_hosts=self.known_hosts,
                            client_keys=[self.client_key])


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        try:
            tasks = list(Path(f"/proc/{todo.pop()}/task").iterdir())
        except OSError:  # it ended while the tree was walked
            continue
        for task in tasks:
            with contextlib.suppress(OSError):
                children = [int(c) for c in (task / "children").read_text().split()]
                out.extend(children)
                todo.extend(children)
    return out


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_for(check: Callable[[], T], seconds: float = 10) -> T:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {check}")
        time.sleep(0.05)
    return found


async def wait_async(check: Callable[[], T], seconds: float = 10) -> T:
    return await asyncio.to_thread(wait_for, check, seconds)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def up(sshd: Sshd) -> Sshd:
    """The server, running (a test before may have stopped it)."""
    if sshd.proc is None:
        sshd.start()
    return sshd


def test_commands_and_files(up: Sshd, tmp_path: Path) -> None:
    target = tmp_path / "etc" / "conf"

    async def go() -> None:
        t = up.transport()
        try:
            done = await t.run(["cat"], stdin=b"in\n")
            assert (done.ok, done.stdout) == (True, "in\n")
            failed = await t.run(["sh", "-c", "echo no >&2; exit 3"])
            assert (failed.returncode, failed.stderr) == (3, "no\n")
            shown = await t.run(["sh", "-c", 'echo "$GREETING"'], env={"GREETING": "a b'c"})
            assert shown.stdout == "a b'c\n"
            await t.put(str(target), b"\x00data\n", mode=0o640)
            assert await t.get(str(target)) == b"\x00data\n"
            with pytest.raises(TransportError, match="cannot read"):
                await t.get(str(tmp_path / "missing"))
        finally:
            await t.close()

    run(go())
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert [p.name for p in target.parent.iterdir()] == ["conf"]


def test_connection_dropped_mid_command_is_an_error_then_reconnects(up: Sshd) -> None:
    async def go() -> None:
        t = up.transport()
        try:
            task = asyncio.create_task(t.run(["sleep", "31.25"]))
            sleeper = (await wait_async(lambda: up.commands("sleep 31.25")))[0]
            up.drop_connections()
            with pytest.raises(TransportError) as lost:
                await task
            kill(sleeper, signal.SIGKILL)  # the command outlives its connection
            assert lost.value.host == "node1"
            assert "lost the SSH connection" in lost.value.what
            assert "sleep 31.25" in lost.value.what
            assert (await t.run(["echo", "again"])).stdout == "again\n"
        finally:
            await t.close()

    run(go())


def test_server_gone_mid_command_is_an_error_then_back(up: Sshd) -> None:
    async def go() -> None:
        t = up.transport()
        try:
            task = asyncio.create_task(t.run(["sleep", "32.25"]))
            sleeper = (await wait_async(lambda: up.commands("sleep 32.25")))[0]
            up.stop()
            with pytest.raises(TransportError, match=r"sleep 32\.25"):
                await task
            kill(sleeper, signal.SIGKILL)
            with pytest.raises(TransportError, match="cannot connect"):
                await t.run(["true"])
            up.start()
            assert (await t.run(["true"])).ok
        finally:
            await t.close()

    run(go())


def test_put_cut_mid_transfer_writes_nothing(up: Sshd, tmp_path: Path) -> None:
    target = tmp_path / "big"
    puts: list[int] = []

    async def go() -> None:
        t = up.transport()
        try:
            task = asyncio.create_task(t.put(str(target), b"x" * (64 << 20)))
            puts.extend(await wait_async(lambda: up.commands("hastack-put"), 30))
            up.drop_connections()
            with pytest.raises(TransportError, match="lost the SSH connection"):
                await task
        finally:
            await t.close()

    run(go())
    # Its session killed, the script is orphaned (no longer under sshd) and ends on its own.
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in puts), 30)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temp file


def test_short_stream_is_not_committed(up: Sshd, tmp_path: Path) -> None:
    """What a cut transfer looks like to the node: fewer bytes than announced."""
    target = tmp_path / "short"

    async def go() -> None:
        t = up.transport()
        try:
            done = await t.run(ssh.put_argv(str(target), "root", "root", 0o644, 10),
                               stdin=b"12345")
            assert not done.ok and "only 5 of 10 bytes" in done.stderr
        finally:
            await t.close()

    run(go())
    assert list(tmp_path.iterdir()) == []


def test_timeout_stops_the_command_and_its_children(up: Sshd, tmp_path: Path) -> None:
    # The child ignores TERM, so this also shows the KILL that follows.
    script = (f"sh -c 'trap \"\" TERM; exec sleep 333' & echo $! > {tmp_path}/child; "
              f"echo $$ > {tmp_path}/parent; wait")

    async def go() -> None:
        t = up.transport()
        try:
            with pytest.raises(TransportError) as late:
                await t.run(["sh", "-c", script], timeout=2)
            assert "did not finish within 2 s" in late.value.what
            assert "it was stopped, with its children" in late.value.what
            assert (await t.run(["true"])).ok  # the connection is still good
        finally:
            await t.close()

    run(go())
    pids = [int((tmp_path / name).read_text()) for name in ("parent", "child")]
    assert not [p for p in pids if alive(p)]
    assert not up.commands("sleep 333")


def test_transfer_timeout_is_a_clean_error(up: Sshd, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody writes: reading it never ends

    async def go() -> None:
        t = up.transport()
        t.transfer_floor = 1
        try:
            with pytest.raises(TransportError, match=r"`get .*fifo` did not finish within 1 s"):
                await t.get(str(fifo))
        finally:
            await t.close()

    run(go())
    assert not up.commands(str(fifo))


def test_stalled_link_times_out(up: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                ) -> None:
    """A server that stops answering (its side of the connection frozen) does not hang a
    transfer: the timeout covers opening the channel, and the next call reconnects."""
    monkeypatch.setattr(ssh, "STOP_TIMEOUT", 1)

    async def go() -> None:
        t = up.transport()
        t.transfer_floor = 1
        try:
            assert (await t.run(["true"])).ok
            frozen = up.sessions()
            for pid in frozen:
                kill(pid, signal.SIGSTOP)
            try:
                with pytest.raises(TransportError, match="did not finish within 1 s"):
                    await t.put(str(tmp_path / "f"), b"data")
            finally:
                for pid in frozen:
                    kill(pid, signal.SIGCONT)
            assert (await t.run(["true"])).ok
        finally:
            await t.close()

    run(go())
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("kind", ["encrypted", "malformed", "public", "missing"])
def test_unusable_key_is_a_usage_error(kind: str, tmp_path: Path) -> None:
    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen is missing (apt-get install openssh-client)")
    key = tmp_path / "key"
    if kind == "encrypted":
        keygen(key, passphrase="a passphrase")
    elif kind == "malformed":
        key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    elif kind == "public":
        keygen(tmp_path / "pair")
        key.write_text((tmp_path / "pair.pub").read_text())
    with pytest.raises(UsageError) as bad:
        SshTransport("node1", "127.0.0.1", client_keys=[key])
    assert bad.value.exit_status == 2
    assert str(key) in bad.value.what and bad.value.where == str(key)
    assert bad.value.fix
    if kind == "encrypted":
        assert "passphrase" in bad.value.what and "ssh-add" in bad.value.fix


def test_key_the_server_refuses_is_a_clean_error(up: Sshd, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")

    async def go() -> None:
        t = SshTransport("node1", "127.0.0.1", port=up.port, known_hosts=up.known_hosts,
                         client_keys=[stranger])
        with pytest.raises(TransportError, match=r"cannot connect over SSH to 127\.0\.0\.1"):
            await t.run(["true"])

    run(go())
