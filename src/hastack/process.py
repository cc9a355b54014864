"""Running a command on this computer, the one way: argv lists only, a timeout always, secrets
only on stdin (or in the process's environment), every command logged.

``Result`` is a finished command wherever it ran: here (host ``LOCAL``), in a lab machine or
over SSH (hastack.transport). ``run`` runs a host tool and waits for it; ``run_async`` is the
same runner for the event loop (the lab's transport and the drills' client enter a machine's
namespaces with a local process). Both start the command in a process group of its own, so a
timeout, a cancelled caller or Ctrl-C stops it with every child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hastack.agents import shown_argv
from hastack.errors import HastackError, ToolError, TransportError

log = logging.getLogger("hastack.command")

LOCAL = "local"  # the host of a command run on this computer


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
        """Raises ToolError (a tool on this computer) or TransportError (a command on a node)
        when the command failed."""
        if not self.ok:
            if self.host == LOCAL:
                raise ToolError(self.argv[0], self.argv, self.returncode,
                                self.stderr or self.stdout)
            raise TransportError(self.host, f"`{shown_argv(self.argv)}` exited with status "
                                 f"{self.returncode}", fix=(self.stderr or self.stdout)[-2000:])
        return self


def logged(result: Result, seconds: float) -> Result:
    """Every command goes to the log (argv never carries secrets): one run on a node at INFO
    (``--verbose`` shows those), a host tool's at DEBUG; its output only at DEBUG, and the
    log's filter masks any secret value that shows up there."""
    level = logging.DEBUG if result.host == LOCAL else logging.INFO
    log.log(level, "%s $ %s -> %d (%.1fs)", result.host, shown_argv(result.argv),
            result.returncode, seconds)
    if result.returncode:
        log.debug("%s stderr: %s", result.host, result.stderr[-2000:])
    return result


def finished(host: str, shown: Sequence[str], code: int, out: bytes, err: bytes,
             started: float) -> Result:
    """The logged Result of a command that ended with ``code`` (``started``: monotonic)."""
    return logged(Result(host, tuple(shown), code, out.decode(errors="replace"),
                         err.decode(errors="replace")), time.monotonic() - started)


def run(argv: Sequence[str], *, stdin: str | bytes | None = None,
        env: Mapping[str, str] | None = None, timeout: float = 120, check: bool = True,
        shown: Sequence[str] | None = None) -> Result:
    """Run ``argv`` here and wait; with ``check``, a non-zero exit raises ToolError naming the
    tool. ``env`` replaces the environment (None: this process's); ``shown`` is the command as
    errors and the log name it (a wrapper such as ``ip netns exec`` left out).

    Raises:
        ToolError: the command failed (check), is not installed or did not finish within
            ``timeout``.
    """
    args, named = tuple(argv), tuple(shown or argv)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    started = time.monotonic()
    try:
        with subprocess.Popen(args, **_pipes(data, env)) as proc:
            try:
                out, err = proc.communicate(data, timeout=timeout)
            except BaseException as exc:  # a timeout, Ctrl-C: nothing of it keeps running
                _kill_group(proc.pid)
                if isinstance(exc, subprocess.TimeoutExpired):
                    raise _timed_out(LOCAL, named, timeout) from None
                raise
    except FileNotFoundError:
        raise _missing(args) from None
    done = finished(LOCAL, named, proc.returncode, out, err, started)
    return done.check() if check else done


def run_reporting(argv: Callable[[int], Sequence[str]], report: Callable[[str], None], *,
                  env: Mapping[str, str] | None = None, timeout: float = 120) -> Result:
    """``run`` (checked) of a tool that reports its progress on a descriptor of its own
    (apt-get's ``APT::Status-Fd``): ``argv(fd)`` is the command told to write there, and each
    line it writes goes to ``report`` as it comes. Its stdout and stderr go to files, read
    once it ends: a pipe nobody drains while the reports are read would stall it.

    Raises:
        ToolError: the command failed, is not installed or did not finish within ``timeout``.
    """
    reading, writing = os.pipe()
    args = tuple(argv(writing))
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=dict(env) if env is not None else None,
                                    start_new_session=True, pass_fds=(writing,))
        except FileNotFoundError:
            os.close(reading)
            raise _missing(args) from None
        finally:
            os.close(writing)
        try:
            _read_reports(reading, proc, report, started + timeout)
            proc.wait(timeout=max(0.1, started + timeout - time.monotonic()))
        except BaseException as exc:  # a timeout, Ctrl-C: nothing of it keeps running
            _kill_group(proc.pid)
            proc.wait()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise _timed_out(LOCAL, args, timeout) from None
            raise
        finally:
            os.close(reading)
        out.seek(0)
        err.seek(0)
        done = finished(LOCAL, args, proc.returncode, out.read(), err.read(), started)
    return done.check()


def _read_reports(fd: int, proc: subprocess.Popen[bytes], report: Callable[[str], None],
                  deadline: float) -> None:
    """Lines from ``fd`` to ``report`` until it closes or the process ended (a child it
    started may hold the descriptor open); past ``deadline``, TimeoutExpired."""
    pending = b""
    while True:
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, 0)
        ready, _, _ = select.select([fd], [], [], 0.5)
        chunk = os.read(fd, 65536) if ready else b""
        if ready and not chunk:
            break  # closed by every writer
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            report(line.decode(errors="replace"))
        if not ready and proc.poll() is not None:
            break
    if pending:
        report(pending.decode(errors="replace"))


async def run_async(host: str, argv: Sequence[str], *, shown: Sequence[str] | None = None,
                    stdin: bytes | None, env: Mapping[str, str], timeout: float) -> Result:
    """``run`` for the event loop, as the command ``shown`` on ``host`` (a lab machine's
    name): never raises for a non-zero exit (see Result.check). The environment goes to the
    process, never to argv, so secrets stay out of `ps`.

    Raises:
        TransportError: the command did not finish within ``timeout`` (it was stopped).
        ToolError: ``argv[0]`` is not installed here.
    """
    named = tuple(shown or argv)
    started = time.monotonic()
    code, out, err = await communicate(host, named, argv, stdin=stdin, env=env,
                                       timeout=timeout)
    return finished(host, named, code, out, err, started)


async def communicate(host: str, shown: Sequence[str], argv: Sequence[str], *,
                      stdin: bytes | None, env: Mapping[str, str],
                      timeout: float) -> tuple[int, bytes, bytes]:
    """(returncode, stdout, stderr) of ``argv``, unlogged (a file read whole). A timeout or a
    cancelled caller stops it with every child (nsenter forks the command into a lab
    machine's namespaces: killing nsenter alone would leave it running)."""
    try:
        proc = await asyncio.create_subprocess_exec(*argv, **_pipes(stdin, env))
    except FileNotFoundError:
        raise _missing(tuple(argv)) from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except asyncio.CancelledError:
        _kill_group(proc.pid)  # a cancelled caller (a drill that failed) leaves nothing running
        raise
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        raise _timed_out(host, shown, timeout) from None
    return proc.returncode or 0, out, err


def _pipes(stdin: bytes | None, env: Mapping[str, str] | None) -> dict[str, Any]:
    """How both runners start a process: output captured, stdin only when there is some, in
    a session (so a process group) of its own."""
    return {"stdin": subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            "stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
            "env": dict(env) if env is not None else None, "start_new_session": True}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # its group: the session it leads


def _timed_out(host: str, shown: Sequence[str], timeout: float) -> HastackError:
    if host == LOCAL:
        return ToolError(shown[0], tuple(shown), -1, "",
                         what=f"{shown[0]} did not finish within {timeout:.0f} s")
    return TransportError(host, f"`{shown_argv(shown)}` did not finish within {timeout:.0f} s")


def _missing(argv: tuple[str, ...]) -> ToolError:
    return ToolError(argv[0], argv, -1, "", what=f"{argv[0]} is not installed")
