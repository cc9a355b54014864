"""A command the lab runs (nsenter, then the command it forks) stops whole at its timeout."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from hastack.errors import TransportError
from hastack.transport.local import run_local


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_a_timeout_stops_the_command_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    # The shell forks a child, as nsenter does; only killing its group stops the child.
    script = f"sleep 300 >/dev/null 2>&1 & echo $! > {marker}; wait"
    with pytest.raises(TransportError, match="did not finish within 1 s"):
        asyncio.run(run_local("node", ["sh"], ["sh", "-c", script], stdin=None,
                              env=dict(os.environ), timeout=1))
    child = int(marker.read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child), f"the command's child {child} still runs after the timeout"
