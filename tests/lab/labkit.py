"""What every lab test needs: the hastack command, a command inside a machine, waiting on a
condition, and sshd with a throw-away key in the machines (for the SSH transport)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "tests" / "lab" / "lab3.yaml"
EXAMPLE = ROOT / "examples" / "lab.yaml"  # make lab's site: 3 controllers, 2 computes
STATE = Path("/var/lib/hastack/lab")
HASTACK = str(Path(sys.executable).with_name("hastack"))
NODES = ("n1", "n2", "n3")
ADDRESSES = {"n1": "198.18.0.11", "n2": "198.18.0.12", "n3": "198.18.0.13"}
SWITCH = ["nsenter", "--net=/run/netns/hs-switch"]  # on the lab network, on no machine


def hastack(*args: str, check: bool = True, timeout: float = 1800,
            in_switch: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [*(SWITCH if in_switch else []), HASTACK, *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          check=False)
    if check:
        assert proc.returncode == 0, f"hastack {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def _json_result(args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"hastack {' '.join(args)}: no JSON result (exit "
                             f"{proc.returncode})\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
                             ) from None


def hastack_json(*args: str, check: bool = True, timeout: float = 1800) -> Any:
    """The command's result as `--format json` prints it (its progress goes to stderr)."""
    return _json_result(args, hastack(*args, "--format", "json", check=check, timeout=timeout))


def drill_report(*args: str) -> dict[str, Any]:
    """`hastack drill ARGS`'s report, asserted passed: exit 0 and ok. A drill that printed no
    report (it could not run) fails with what it said on stderr."""
    argv = ("drill", *args)
    proc = hastack(*argv, "--format", "json", check=False)
    report: dict[str, Any] = _json_result(argv, proc)
    assert proc.returncode == 0 and report["ok"], proc.stdout + proc.stderr
    return report


def changed_stages(deployed: Any) -> list[str]:
    """The stages of a deploy's result that changed something."""
    return [step["stage"] for step in deployed["steps"] if step["outcome"] == "changed"]


@contextmanager
def running_lab(*up: str, then: Sequence[Sequence[str]] = (), site: Path = SITE
                ) -> Iterator[None]:
    """`hastack lab up SITE *up`, then each command of ``then``; the lab is removed after,
    whatever happened, and checked to leave nothing behind. Skips without root or when
    another lab is up."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    if (STATE / "site.json").exists():
        pytest.skip("a lab is already up here; `hastack lab down` first")
    try:
        hastack("lab", "up", str(site), *up)
        for command in then:
            hastack(*command)
        yield
    finally:
        lab_down_leaving_nothing()


def lab_down_leaving_nothing() -> None:
    """`hastack lab down`, then proof that nothing it created is left: no lab namespace,
    no mount under the lab's state, no machine's process, no machine directory."""
    pids = []
    for path in (STATE / "machines").glob("*/init.pid"):
        with suppress(OSError, ValueError):
            pids.append(int(path.read_text()))
    hastack("lab", "down")
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                           check=True).stdout
    assert not [line for line in netns.splitlines() if line.startswith("hs-")], netns
    assert str(STATE) not in Path("/proc/mounts").read_text()
    assert not [p for p in pids if Path(f"/proc/{p}").exists()], pids
    assert not (STATE / "machines").exists() or not any((STATE / "machines").iterdir())


def pid1(node: str) -> int | None:
    try:
        pid = int((STATE / "machines" / node / "init.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def inside(node: str, *argv: str, stdin: str | None = None,
           env: dict[str, str] | None = None, timeout: float = 300
           ) -> subprocess.CompletedProcess[str]:
    pid = pid1(node)
    assert pid is not None, f"{node} is not running"
    return subprocess.run(["nsenter", "-t", str(pid), "-a", *argv], input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **(env or {})})


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for: {what}")


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True)
    return path


def enable_sshd(nodes: Sequence[str], workdir: Path) -> tuple[Path, Path]:
    """sshd running in each machine, accepting a new key; returns (private key, known_hosts
    holding each machine's real host key)."""
    key = keygen(workdir / "id_ed25519")
    public = key.with_suffix(".pub").read_text()
    setup = ("set -e; ssh-keygen -A; mkdir -p -m 700 /root/.ssh; cat > /root/.ssh/authorized_keys;"
             " chmod 600 /root/.ssh/authorized_keys; systemctl start ssh")
    lines = []
    for node in nodes:
        done = inside(node, "sh", "-c", setup, stdin=public)
        assert done.returncode == 0, f"{node}: {done.stderr}"
        host_key = inside(node, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()
        lines.append(f"{ADDRESSES[node]} {host_key[0]} {host_key[1]}\n")
    known = workdir / "known_hosts"
    known.write_text("".join(lines))
    return key, known
