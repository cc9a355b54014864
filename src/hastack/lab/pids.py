"""The PID files of what the lab starts, read so that a stale one is never trusted.

After the host reboots, a lab's PID files remain while the numbers in them may belong to any
other process by now: a PID counts as the lab's only while its process still looks like the
one that was started (a machine's PID 1, or a command line naming the lab's module).
"""

from __future__ import annotations

from pathlib import Path


def read(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _status(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None


def _field(status: str, name: str) -> list[str]:
    for line in status.splitlines():
        if line.startswith(f"{name}:"):
            return line.split()[1:]
    return []


def alive(pid: int | None, *, comm: str | None = None, argv_has: str | None = None,
          namespace_init: bool = False) -> bool:
    """``pid`` runs (not a zombie) and is what was started: its name is ``comm``, its
    command line contains ``argv_has``, or it is PID 1 of its own namespace."""
    status = None if pid is None else _status(pid)
    if status is None or _field(status, "State")[:1] == ["Z"]:
        return False
    if comm is not None and _field(status, "Name") != [comm]:
        return False
    if namespace_init:
        nspid = _field(status, "NSpid")
        if len(nspid) < 2 or nspid[-1] != "1":
            return False
    if argv_has is not None:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        if argv_has.encode() not in argv:
            return False
    return True


def running(pid_file: Path, *, comm: str | None = None, argv_has: str | None = None,
            namespace_init: bool = False) -> int | None:
    """The PID in ``pid_file`` when that process is alive and is what was started."""
    pid = read(pid_file)
    return pid if alive(pid, comm=comm, argv_has=argv_has, namespace_init=namespace_init) \
        else None
