"""The one runner of commands on this computer (hastack.process): a host tool waited for, or a
command the lab runs in a machine (nsenter, then the command it forks), both stop whole at
their timeout, and every command ends as one Result, logged the same way."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import pytest

from hastack.agents import agent_text
from hastack.errors import ToolError, TransportError
from hastack.process import LOCAL, Result, run, run_async, run_reporting


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def forks_and_waits(marker: Path) -> list[str]:
    """A shell that forks a child, as nsenter does; only killing its group stops the child."""
    return ["sh", "-c", f"sleep 300 >/dev/null 2>&1 & echo $! > {marker}; wait"]


def assert_stopped(marker: Path) -> None:
    child = int(marker.read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child), f"the command's child {child} still runs after the timeout"


def test_a_timeout_stops_the_command_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    with pytest.raises(TransportError, match="`sh` did not finish within 1 s") as caught:
        asyncio.run(run_async("node", forks_and_waits(marker), shown=["sh"], stdin=None,
                              env=dict(os.environ), timeout=1))
    assert caught.value.host == "node"
    assert_stopped(marker)


def test_a_host_tool_past_its_timeout_stops_whole(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    with pytest.raises(ToolError, match="sh did not finish within 1 s"):
        run(forks_and_waits(marker), timeout=1)
    assert_stopped(marker)


def test_a_host_tool_that_fails_is_a_tool_error_naming_it() -> None:
    with pytest.raises(ToolError) as caught:
        run(["sh", "-c", "echo broken >&2; exit 3", "probe"], shown=["probe", "--now"])
    assert (caught.value.tool, caught.value.argv, caught.value.returncode) == \
        ("probe", ("probe", "--now"), 3)
    assert caught.value.fix == "broken"
    with pytest.raises(ToolError, match="hastack-no-such-tool is not installed"):
        run(["hastack-no-such-tool"])


def test_a_host_tool_gets_stdin_and_its_environment() -> None:
    done = run(["sh", "-c", 'cat; printf %s "$HASTACK_T"'], stdin="in ",
               env={"HASTACK_T": "env", "PATH": os.environ["PATH"]})
    assert done == Result(LOCAL, ("sh", "-c", 'cat; printf %s "$HASTACK_T"'), 0, "in env", "")
    assert not run(["false"], check=False).ok


def test_check_names_a_tool_here_and_a_host_elsewhere() -> None:
    with pytest.raises(ToolError, match="crm_verify exited with status 1"):
        Result(LOCAL, ("crm_verify", "-L"), 1, "", "invalid").check()
    with pytest.raises(TransportError, match="`crm_verify -L` exited with status 1") as caught:
        Result("ctl1", ("crm_verify", "-L"), 1, "", "invalid").check()
    assert caught.value.where == "ctl1"
    assert Result("ctl1", ("true",), 0, "", "").check().ok


def test_commands_are_logged_one_line_with_programs_by_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """A node's command at INFO (what --verbose shows), a host tool's at DEBUG; a program's
    text is shown as its file, so a line stays one line."""
    caplog.set_level(logging.DEBUG, logger="hastack.command")
    script = agent_text("unit_states.sh")
    asyncio.run(run_async("node", ["sh", "-c", script, "units", "x.service"], stdin=None,
                          env=dict(os.environ), timeout=30))
    run(["true"])
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert lines[0][0] == logging.INFO
    assert lines[0][1].startswith("node $ sh -c <agents/unit_states.sh> units x.service -> 0")
    assert lines[1][0] == logging.DEBUG
    assert lines[1][1].startswith("local $ true -> 0")


def test_a_tool_reporting_on_a_descriptor_of_its_own_is_read_as_it_goes(tmp_path: Path
                                                                        ) -> None:
    """apt-get's APT::Status-Fd: each line to the reader as it comes, stdout and stderr kept;
    a child that keeps the descriptor open (a maintainer script's daemon) does not hold the
    run up once the tool ended."""
    marker = tmp_path / "child.pid"
    said: list[str] = []

    def argv(fd: int) -> list[str]:  # bash: dash cannot name a descriptor past 9
        return ["bash", "-c", f"echo pmstatus:a:50:Unpacking a >&{fd}; echo out; echo err >&2; "
                f"sleep 300 >/dev/null 2>&1 & echo $! > {marker}; "
                f"printf pmstatus:a:100:Installed >&{fd}"]

    done = run_reporting(argv, said.append, timeout=60)
    try:
        assert said == ["pmstatus:a:50:Unpacking a", "pmstatus:a:100:Installed"]
        assert (done.stdout, done.stderr, done.ok) == ("out\n", "err\n", True)
    finally:
        os.kill(int(marker.read_text()), 9)
    with pytest.raises(ToolError, match="exited with status 3"):
        run_reporting(lambda fd: ["sh", "-c", "exit 3"], said.append, timeout=60)
    with pytest.raises(ToolError, match="hastack-no-such-tool is not installed"):
        run_reporting(lambda fd: ["hastack-no-such-tool"], said.append)


def test_a_reporting_tool_past_its_timeout_stops_whole(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    with pytest.raises(ToolError, match="sh did not finish within 1 s"):
        run_reporting(lambda fd: forks_and_waits(marker), [].append, timeout=1)
    assert_stopped(marker)
