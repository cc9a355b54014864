"""Programs sent to nodes (src/hastack/agents/): real files, each shell one valid for bash and
for the node's sh, each Python one whole once rendered, every one of them used."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hastack.agents import agent_text, shown_argv
from hastack.drills import load
from hastack.verify import checks

SRC = Path(__file__).resolve().parents[2] / "src" / "hastack"
AGENTS = SRC / "agents"
SHELL = sorted(AGENTS.glob("*.sh"))
PYTHON = sorted(p for p in AGENTS.glob("*.py") if p.name != "__init__.py")
# Programs as their callers render them (values filled in, shared code inlined).
RENDERED = [load.DB_LOAD, load.BUS_LOAD, load.BUS_DRAIN, load.API_LOAD, load.SERVERS,
            checks.MEMCACHED_PROBE, checks.AMQP_PROBE, checks.TLS_PROBE]


@pytest.mark.parametrize("shell", ["bash", "sh"])
@pytest.mark.parametrize("path", SHELL, ids=lambda p: p.name)
def test_shell_programs_parse(path: Path, shell: str) -> None:
    """``-n``: read without running. Nodes run them with sh (dash on Debian)."""
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here")
    done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, f"{path.name}: {done.stderr}"


@pytest.mark.parametrize("text", RENDERED, ids=lambda t: shown_argv([t]))
def test_rendered_python_programs_are_whole(text: str) -> None:
    """A node has no hastack: what it gets imports nothing of hastack's and compiles."""
    assert "hastack.agents" not in text and not re.search(r"@[A-Z_]+@", text)
    compile(text, "<node>", "exec")


def test_every_program_is_sent_by_someone() -> None:
    """A file here that no module names (or no program inlines) would never reach a node."""
    users = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")
                      if p.parent != AGENTS or p.name == "__init__.py")
    inlined = "\n".join(p.read_text(encoding="utf-8") for p in PYTHON)
    unused = [p.name for p in [*SHELL, *PYTHON] if f'"{p.name}"' not in users
              and f"from hastack.agents.{p.stem} import" not in inlined]
    assert not unused, f"agents nobody sends: {unused}"


def test_values_are_filled_and_plain() -> None:
    script = agent_text("renice_units.sh", PRIORITY_DROPIN="hastack-priority.conf")
    assert "/hastack-priority.conf)" in script and "@" not in script.replace('"$@"', "")
    with pytest.raises(ValueError, match="needs"):
        agent_text("renice_units.sh")
    with pytest.raises(ValueError, match="needs"):
        agent_text("unit_states.sh", PRIORITY_DROPIN="x")
    with pytest.raises(ValueError, match="not plain words"):
        agent_text("renice_units.sh", PRIORITY_DROPIN="x; reboot")


def test_shared_python_is_inlined() -> None:
    probe = agent_text("amqp_probe.py")
    assert "def amqp_tls(host):" in probe
    assert probe.index("def amqp_tls") < probe.index("amqp_tls(publish_host)")


def test_a_program_is_shown_by_its_file() -> None:
    script = agent_text("stat_files.sh")
    assert shown_argv(["sh", "-c", script, "hastack-stat", "/etc/hosts"]) == \
        "sh -c <agents/stat_files.sh> hastack-stat /etc/hosts"


# nova-manage as nova_map_computes.sh calls it (through runuser): a compute is listed once
# discover_hosts has run DISCOVERIES times, as one whose nova-compute registers late.
FAKE_RUNUSER = """#!/bin/sh
shift 3
case "$3" in
list_hosts) cat "$STATE/listed" ;;
discover_hosts) n=$(($(cat "$STATE/runs") + 1)); echo $n >"$STATE/runs"
    [ $n -lt $DISCOVERIES ] || echo cmp1 >>"$STATE/listed" ;;
esac
true
"""


def _map_computes(tmp_path: Path, mode: str, wait: int, *hosts: str
                  ) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "runuser"
    fake.write_text(FAKE_RUNUSER)
    fake.chmod(0o755)
    (tmp_path / "runs").write_text("0\n")
    (tmp_path / "listed").write_text("")
    return subprocess.run(["sh", "-c", agent_text("nova_map_computes.sh", DISCOVER_WAIT=wait),
                           mode, *hosts], capture_output=True, text=True, timeout=60,
                          check=False, env={"PATH": f"{tmp_path}:/usr/bin:/bin",
                                            "STATE": str(tmp_path), "DISCOVERIES": "3"})


def test_computes_are_discovered_again_until_each_is_mapped(tmp_path: Path) -> None:
    """A compute that registers only at the third discovery is mapped; one that never does
    is named after the wait (a missing host must not end the script at the first look)."""
    assert _map_computes(tmp_path, "discover", 30, "cmp1").returncode == 0
    assert (tmp_path / "runs").read_text().strip() == "3"
    never = _map_computes(tmp_path, "discover", 3, "cmp1", "cmp9")
    assert never.returncode == 1 and "cmp9" in never.stderr, never.stderr


def test_a_drill_load_ends_at_its_next_attempt_once_the_stop_file_exists(
        tmp_path: Path) -> None:
    """The drill stops its loads early once everything is back (drills/run.py STEADY): a load
    meant to run 10 minutes whose stop file is there makes no attempt and ends."""
    mysql = tmp_path / "mysql"
    mysql.write_text("#!/bin/sh\ncat >/dev/null\n")
    mysql.chmod(0o755)
    (tmp_path / "stop").touch()
    done = subprocess.run(["python3", "-", "198.18.0.200", "600", "r1"], input=load.DB_LOAD,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": f"{tmp_path}:/usr/bin:/bin",
                               "DRILL_STOP": str(tmp_path / "stop")})
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
