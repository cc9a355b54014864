"""The ``hastack`` console script, run for real: exit statuses, error lines, JSON outputs.

Bad input exits 2 with ``error[<code>] <file>:<line>:<col>`` on stderr and no traceback
(docs/style.md §5). The log goes to XDG_STATE_HOME, which each test points into its tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HASTACK = Path(sys.executable).with_name("hastack")
BAD_SITES = sorted((ROOT / "tests" / "unit" / "bad_sites").glob("*.yaml"))
EXAMPLES = ("collapsed", "segregated", "mixed", "lab")
HEADER = re.compile(r"^# expect: (?P<code>[a-z-]+) line (?P<line>\d+)\s*$", re.MULTILINE)
SITE_KEYS = {"name", "platform", "topology", "nodes", "networks", "clusters", "services",
             "cluster", "openstack", "secrets_file", "pdus"}


def hastack(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script as a CI job would: pipes, not a terminal, 80 columns."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "COLUMNS": "80"}
    result = subprocess.run([str(HASTACK), *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize("name", EXAMPLES)
def test_validate_example(tmp_path: Path, name: str) -> None:
    result = hastack(tmp_path, "validate", f"examples/{name}.yaml")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    data = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text(encoding="utf-8"))
    clusters = data.get("clusters") or {"openstack": None}
    for word in (name, *clusters, *(n["name"] for n in data["nodes"] if n["role"] != "gateway")):
        assert word in result.stdout
    first_vip = data["networks"]["vip_range"].split("-")[0]
    assert first_vip in result.stdout


@pytest.mark.parametrize("path", BAD_SITES, ids=lambda p: p.stem)
def test_validate_bad_site(tmp_path: Path, path: Path) -> None:
    match = HEADER.search(path.read_text(encoding="utf-8"))
    assert match
    relative = path.relative_to(ROOT)
    result = hastack(tmp_path, "validate", str(relative))
    assert result.returncode == 2
    assert f"error[{match['code']}] {relative}:{match['line']}:" in result.stderr
    assert result.stdout.strip() == ""


def test_missing_site_file(tmp_path: Path) -> None:
    result = hastack(tmp_path, "validate", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    assert f"error[site-not-readable] {tmp_path / 'absent.yaml'}" in result.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    assert hastack(tmp_path, "validate").returncode == 2
    assert hastack(tmp_path, "no-such-command").returncode == 2


def test_render_without_out_is_usage_error(tmp_path: Path) -> None:
    result = hastack(tmp_path, "render", "examples/lab.yaml")
    assert result.returncode == 2
    assert "error[usage]" in result.stderr


def test_schema(tmp_path: Path) -> None:
    result = hastack(tmp_path, "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == SITE_KEYS
    assert {"name", "nodes", "networks"} <= set(schema["required"])


def test_plan_json(tmp_path: Path) -> None:
    result = hastack(tmp_path, "plan", "examples/lab.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    stages = json.loads(result.stdout)
    assert isinstance(stages, list)
    names = [s["name"] for s in stages]
    assert names[0] == "prepare"
    assert names[1:3] == ["cluster:openstack", "fencing:openstack"]
    services = names[3:-2]
    assert services and all(n.startswith("service:") for n in services)
    assert names[-2:] == ["departed:openstack", "verify"]
    assert (services.index("service:galera") < services.index("service:keystone")
            < services.index("service:nova"))
    assert all(s["targets"] for s in stages)


def generated_values(tmp_path: Path) -> tuple[Path, list[str]]:
    """Copy the lab site into tmp_path, have its secrets generated, return the values."""
    site = tmp_path / "lab.yaml"
    shutil.copy(ROOT / "examples" / "lab.yaml", site)
    result = hastack(tmp_path, "secrets", str(site))
    assert result.returncode == 0, result.stderr
    values = yaml.safe_load((tmp_path / "lab.secrets.yaml").read_text(encoding="utf-8"))
    assert values
    return site, [str(v) for v in values.values()]


def test_render_files_without_secrets(tmp_path: Path) -> None:
    site, secrets = generated_values(tmp_path)
    out = tmp_path / "out"
    result = hastack(tmp_path, "render", str(site), "--out", str(out), "--no-verify")
    assert result.returncode == 0, result.stderr
    assert (out / "clusters" / "openstack" / "cib.xml").is_file()
    assert (out / "clusters" / "openstack" / "corosync.conf").is_file()
    for node in ("ctl1", "ctl2", "ctl3"):
        assert [p for p in (out / "nodes" / node / "etc").rglob("*") if p.is_file()]
    written = [p for p in out.rglob("*") if p.is_file()]
    for path in written:
        text = path.read_text(encoding="utf-8")
        leaked = [v for v in secrets if v in text]
        assert not leaked, f"{path.relative_to(out)} holds a generated secret"
    assert not [v for v in secrets if v in result.stdout + result.stderr]


def test_log_goes_to_xdg_state_home(tmp_path: Path) -> None:
    hastack(tmp_path, "validate", "examples/lab.yaml")
    assert (tmp_path / "state" / "hastack" / "hastack.log").is_file()


@pytest.mark.parametrize("args", [
    ("drill", "examples/lab.yaml", "soak", "--minutes", "0"),
    ("drill", "examples/lab.yaml", "power-loss", "--seconds", "-5"),
    ("lab", "bmc", "sideways", "ctl1"),
    ("lab", "link", "dead", "ctl1"),
    ("maintain", "examples/lab.yaml", "ctl1", "sideways"),
])
def test_drill_and_lab_fault_arguments_are_checked_first(tmp_path: Path,
                                                         args: tuple[str, ...]) -> None:
    """Refused with exit 2 before anything is loaded, written or touched."""
    result = hastack(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[usage]" in result.stderr


def test_explain_prints_resource_agents_verbatim(tmp_path: Path) -> None:
    """Data is printed as it is: rich must not turn ':heartbeat:' into an emoji."""
    result = hastack(tmp_path, "explain", "examples/lab.yaml", "vip-db")
    assert result.returncode == 0, result.stderr
    assert "one instance of ocf:heartbeat:IPaddr2" in result.stdout, result.stdout
    assert "clone of systemd:haproxy" in result.stdout
    assert all(ord(c) < 0x2000 for c in result.stdout), "a picture in the output"


def test_data_that_looks_like_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    """A site file whose name reads as rich markup is named as it is."""
    odd = tmp_path / "[bold]lab.yaml"
    shutil.copy(ROOT / "examples" / "lab.yaml", odd)
    result = hastack(tmp_path, "validate", str(odd))
    assert result.returncode == 0, result.stderr
    assert f"valid: {odd}" in result.stdout, result.stdout


def test_logs_and_report_refuse_what_they_cannot_do_before_reaching_a_node(
        tmp_path: Path) -> None:
    """A node the site lacks, an archive that exists or whose folder does not: exit 2,
    the key named, no node asked (no lab runs here) and no archive written."""
    unknown = hastack(tmp_path, "logs", "examples/lab.yaml", "ctl9")
    assert unknown.returncode == 2 and "error[unknown-node]" in unknown.stderr
    assert "ctl1" in unknown.stderr
    there = tmp_path / "there.tar.gz"
    there.write_bytes(b"kept")
    exists = hastack(tmp_path, "report", "examples/lab.yaml", "--out", str(there))
    assert exists.returncode == 2 and "error[report-exists]" in exists.stderr
    assert there.read_bytes() == b"kept"
    nowhere = tmp_path / "absent" / "report.tar.gz"
    folder = hastack(tmp_path, "report", "examples/lab.yaml", "--out", str(nowhere))
    assert folder.returncode == 2 and "error[report-folder]" in folder.stderr
    assert not nowhere.parent.exists()


def test_status_watch_options_are_checked_before_any_node_is_asked(tmp_path: Path) -> None:
    """--count without --watch, or readings closer than half a second: exit 2 with the
    option named (no lab runs here: a node asked would fail otherwise)."""
    alone = hastack(tmp_path, "status", "examples/lab.yaml", "--count", "2")
    assert alone.returncode == 2 and "error[status-count-without-watch]" in alone.stderr
    assert "--watch" in alone.stderr
    eager = hastack(tmp_path, "status", "examples/lab.yaml", "--watch", "--interval", "0.1")
    assert eager.returncode == 2 and "--interval" in eager.stderr
