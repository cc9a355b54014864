"""Instance HA agents (hastack/agents/evacuate.py): option parsing and evacuation decisions as
pure functions, table-driven; the script itself, installed under its two names in a temporary
directory and run as Pacemaker runs it (no cluster, no nova: the paths that need neither, and
the failures when they are unreachable); and the nova requests, through a recording adapter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hastack.agents import EVACUATE, agent_text
from hastack.agents import evacuate as ev

SECRET = "Sup3rSecretAdminPw"
CLOUDS_YAML = f"""clouds:
  hastack:
    auth:
      auth_url: http://127.0.0.1:9/v3
      username: admin
      password: '{SECRET}'
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    interface: internal
    api_timeout: 5
"""

# --- options ------------------------------------------------------------------------------


@pytest.mark.parametrize(("stdin", "expected"), [
    # How pacemaker-fenced writes them: the device's params plus action, port and nodename.
    ("action=off\nport=cmp1\nnodename=cmp1\nrecord_only=1\nclouds=/etc/x.yaml\n",
     ev.FenceOptions(action="off", plug="cmp1", record_only=True, clouds="/etc/x.yaml")),
    ("action=reboot\nplug=cmp2\nport=other\n",
     ev.FenceOptions(action="reboot", plug="cmp2")),
    ("option=Off\nnodename=cmp1\n# a comment\n\nrecord-only\n",
     ev.FenceOptions(action="off", plug="cmp1", record_only=True)),
    ("action=monitor\nrecord_only=0\ncloud=other\n",
     ev.FenceOptions(action="monitor", cloud="other")),
    ("action=list\npcmk_host_list=cmp1,cmp2;cmp3 cmp4\n",
     ev.FenceOptions(action="list", host_list=("cmp1", "cmp2", "cmp3", "cmp4"))),
    ("action=on\nport=cmp1\nstonith_timeout=60\nfoo=bar\n",
     ev.FenceOptions(action="on", plug="cmp1", ignored=("stonith_timeout", "foo"))),
    ("port=cmp1\n", ev.FenceOptions(action="reboot", plug="cmp1")),  # fencing's default
])
def test_stdin_options(stdin: str, expected: ev.FenceOptions) -> None:
    assert ev.parse_fence_options(stdin, []) == expected


@pytest.mark.parametrize(("argv", "expected"), [
    (["-o", "reboot", "-n", "cmp2", "--record-only"],
     ev.FenceOptions(action="reboot", plug="cmp2", record_only=True)),
    (["--action=status", "--plug=cmp1", "--clouds", "/tmp/c.yaml", "-v"],
     ev.FenceOptions(action="status", plug="cmp1", clouds="/tmp/c.yaml", verbose=True)),
    (["-o", "list", "--pcmk-host-list", "a,b"],
     ev.FenceOptions(action="list", host_list=("a", "b"))),
    (["--action", "metadata", "--record-only=0"], ev.FenceOptions(action="metadata")),
])
def test_argv_options_win_over_stdin(argv: list[str], expected: ev.FenceOptions) -> None:
    assert ev.parse_fence_options("action=off\nport=ignored\n", argv) == expected


@pytest.mark.parametrize(("stdin", "argv", "says"), [
    ("action=destroy\nport=cmp1\n", [], "unknown action"),
    ("action=off\n", [], "needs the node"),
    ("action=status\n", [], "needs the node"),
    ("action=off\nport=cmp1\nrecord_only=maybe\n", [], "not a boolean"),
    ("", ["--bogus", "1"], "unknown option"),
    ("", ["-o"], "needs a value"),
    ("", ["cmp1"], "unexpected argument"),
    ("", ["--help"], "usage:"),
])
def test_bad_options(stdin: str, argv: list[str], says: str) -> None:
    with pytest.raises(ev.UsageError, match=says):
        ev.parse_fence_options(stdin, argv)


def test_ocf_settings() -> None:
    env = {"OCF_RESKEY_clouds": "/etc/c.yaml", "OCF_RESOURCE_INSTANCE": "nova-evacuate",
           "HA_RSCTMP": "/run/x", "OCF_RESKEY_CRM_meta_interval": "10000"}
    assert ev.ocf_settings(env) == ev.OcfSettings(
        clouds="/etc/c.yaml", cloud="hastack", state_file="/run/x/nova-evacuate.active",
        interval_ms=10000)
    probe = ev.ocf_settings({"OCF_RESKEY_CRM_meta_interval": "0"})
    assert probe.interval_ms == 0
    assert probe.state_file == "/run/resource-agents/NovaEvacuate.active"
    assert probe.clouds == ev.DEFAULT_CLOUDS


# --- decisions ----------------------------------------------------------------------------

NODES_XML = """<nodes>
  <node id="1" uname="ctl1"><instance_attributes id="nodes-1">
    <nvpair id="nodes-1-osprole" name="osprole" value="controller"/></instance_attributes></node>
  <node id="cmp1" uname="cmp1" type="remote">
    <instance_attributes id="nodes-cmp1">
      <nvpair id="nodes-cmp1-osprole" name="osprole" value="compute"/>
      <nvpair id="nodes-cmp1-evacuate" name="evacuate" value="yes"/>
    </instance_attributes>
    <utilization id="u"><nvpair id="u-e" name="evacuate" value="ignored"/></utilization>
  </node>
  <node id="cmp2" type="remote"><instance_attributes id="nodes-cmp2">
    <nvpair id="nodes-cmp2-evacuate" name="evacuate" value="no"/></instance_attributes></node>
  <node id="cmp3" uname="cmp3" type="remote"><instance_attributes id="nodes-cmp3">
    <nvpair id="nodes-cmp3-evacuate" name="evacuate" value="YES"/></instance_attributes></node>
</nodes>"""


def test_records_and_pending_nodes() -> None:
    records = ev.parse_records(NODES_XML)
    assert records == {"cmp1": "yes", "cmp2": "no", "cmp3": "YES"}
    assert ev.pending_nodes(records) == ("cmp1", "cmp3")
    assert ev.pending_nodes({}) == ()
    assert ev.pending_nodes({"cmp1": "returning", "cmp2": "yes"}, ev.RETURNING) == ("cmp1",)


@pytest.mark.parametrize(("updated_at", "back"), [
    ("2026-12-02T07:40:30.000000", True),   # reported 30 s ago: nova-compute runs again
    ("2026-12-02T07:38:00.000000", False),  # 3 min ago: still the stale report of before
    (None, False),
    ("not a time", False),
])
def test_a_returning_node_is_back_once_nova_compute_reports(updated_at: str | None,
                                                            back: bool) -> None:
    import datetime
    now = datetime.datetime(2026, 12, 2, 7, 41, 0)
    assert ev.reports_again({"updated_at": updated_at}, now) is back


def service(host: str, binary: str = "nova-compute", **extra: Any) -> dict[str, Any]:
    return {"id": f"id-{host}", "host": host, "binary": binary, **extra}


@pytest.mark.parametrize(("services", "node", "host"), [
    ([service("cmp1"), service("cmp2")], "cmp2", "cmp2"),
    ([service("cmp1.example.org"), service("cmp2.example.org")], "cmp1", "cmp1.example.org"),
    ([service("cmp1")], "cmp1.example.org", "cmp1"),
    ([service("cmp1", binary="nova-conductor")], "cmp1", None),
    ([service("cmp1.a.org"), service("cmp1.b.org")], "cmp1", None),  # ambiguous: none
    ([service("cmp1.a.org"), service("cmp1")], "cmp1", "cmp1"),  # exact wins
    ([], "cmp1", None),
])
def test_find_service(services: list[dict[str, Any]], node: str, host: str | None) -> None:
    found = ev.find_service(services, node)
    assert (found["host"] if found else None) == host


def server(sid: str, vm_state: str, task: str | None = None) -> dict[str, Any]:
    return {"id": sid, "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:task_state": task}


def test_plan_sorts_what_nova_can_move() -> None:
    plan = ev.plan_node("cmp1", [
        server("a", "active"), server("b", "stopped"), server("c", "error"),
        server("d", "active", "rebuilding"),  # an evacuation already under way
        server("e", "building", "spawning"),  # stuck where the host died: reset-state needed
        server("f", "paused"), server("g", "suspended"),
    ])
    assert plan == ev.NodePlan("cmp1", evacuate=("a", "b", "c"),
                               waiting=(("d", "rebuilding"), ("e", "spawning")),
                               refused=(("f", "paused"), ("g", "suspended")))
    assert ev.plan_node("cmp1", []) == ev.NodePlan("cmp1")


@pytest.mark.parametrize(("plan", "failed", "clear", "start", "problem"), [
    (ev.NodePlan("n"), [], True, "evacuation complete, node marked returning node=n", False),
    (ev.NodePlan("n", evacuate=("a", "b")), [], False,
     "evacuation requested instances=2 node=n", False),
    (ev.NodePlan("n", evacuate=("a", "b")), [("b", "HTTP 409")], False,
     "evacuation failed, retried at next monitor node=n failed=b(HTTP 409)", True),
    (ev.NodePlan("n", waiting=(("a", "rebuilding"),)), [], False,
     "evacuation waiting for nova node=n waiting=a(rebuilding)", False),
    (ev.NodePlan("n", refused=(("f", "paused"),)), [], True,
     "evacuation complete, node marked returning node=n not-evacuable=f(paused)", True),
])
def test_judge(plan: ev.NodePlan, failed: list[tuple[str, str]], clear: bool, start: str,
               problem: bool) -> None:
    outcome = ev.judge(plan, failed, 1.25)
    assert (outcome.clear, outcome.problem, outcome.failed) == (clear, problem, bool(failed))
    assert outcome.sentence.startswith(start)
    assert outcome.sentence.endswith(" duration=1.2s")


@pytest.mark.parametrize(("parsed", "says"), [
    ({"clouds": {"hastack": {"auth": {"auth_url": "u", "username": "a", "password": "p"}}}},
     None),
    ({"clouds": {"other": {}}}, "no cloud 'hastack'"),
    ({"clouds": {"hastack": {"auth": {"auth_url": "u"}}}}, "lacks auth username, password"),
    ({"clouds": {"hastack": {}}}, "lacks auth auth_url, username, password"),
    (["not", "a", "mapping"], "no cloud 'hastack'"),
    (None, "no cloud 'hastack'"),
])
def test_check_clouds(parsed: object, says: str | None) -> None:
    problem = ev.check_clouds(parsed, "hastack")
    assert problem == says if says is None else says in (problem or "")


def test_config_problem_codes(tmp_path: Path) -> None:
    good = tmp_path / "clouds.yaml"
    good.write_text(CLOUDS_YAML)
    assert ev.config_problem(str(good), "hastack") is None
    assert ev.config_problem(str(good), "other")[0] == ev.OCF_ERR_CONFIGURED  # type: ignore[index]
    missing = ev.config_problem(str(tmp_path / "absent.yaml"), "hastack")
    assert missing is not None and missing[0] == ev.OCF_ERR_INSTALLED
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"clouds:\n  hastack: {{auth: [password: '{SECRET}'\n")
    problem = ev.config_problem(str(broken), "hastack")
    assert problem is not None and problem[0] == ev.OCF_ERR_CONFIGURED
    assert SECRET not in problem[1]  # a YAML error would quote the line holding it


def test_outputs_and_logs_never_print() -> None:
    """The agent writes its protocol answers to the stream it is given, never print()."""
    assert "print(" not in agent_text(EVACUATE)


# --- the script, run as Pacemaker runs it ---------------------------------------------------


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The script under both installed names, as catalog/compute.py ships it."""
    for name in (ev.FENCE_NAME, ev.OCF_NAME):
        target = tmp_path / name
        target.write_text(agent_text(EVACUATE))
        target.chmod(0o755)
    (tmp_path / "clouds.yaml").write_text(CLOUDS_YAML)
    (tmp_path / "empty-bin").mkdir()
    return tmp_path


def _system_python() -> str:
    """The controllers' interpreter: /usr/bin/python3 with PyYAML and openstacksdk."""
    python = shutil.which("python3", path="/usr/bin")
    if python is None or subprocess.run([python, "-c", "import yaml, openstack.config"],
                                        capture_output=True, check=False).returncode:
        pytest.skip("/usr/bin/python3 lacks python3-openstacksdk (controllers have it)")
    return python


def run(python: str, script: Path, *args: str, stdin: str = "",
        env: dict[str, str] | None = None, path: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    # PATH without Pacemaker's tools: nothing here can reach a cluster, even by mistake.
    base = {"PATH": str(path or script.parent / "empty-bin"), "LANG": "C.UTF-8"}
    done = subprocess.run([python, str(script), *args], input=stdin, capture_output=True,
                          text=True, timeout=60, env={**base, **(env or {})}, check=False)
    assert SECRET not in done.stdout + done.stderr
    return done


def test_metadata_from_both_names(installed: Path) -> None:
    fence = run(sys.executable, installed / ev.FENCE_NAME, "-o", "metadata")
    assert (fence.returncode, fence.stdout) == (0, ev.fence_metadata())
    by_stdin = run(sys.executable, installed / ev.FENCE_NAME, stdin="action=metadata\n")
    assert by_stdin.stdout == fence.stdout
    ocf = run(sys.executable, installed / ev.OCF_NAME, "meta-data")
    assert (ocf.returncode, ocf.stdout) == (0, ev.ocf_metadata())


def test_unknown_name_refuses(tmp_path: Path) -> None:
    script = tmp_path / "evacuate.py"
    script.write_text(agent_text(EVACUATE))
    (tmp_path / "empty-bin").mkdir()
    done = run(sys.executable, script, "start")
    assert done.returncode == 1 and "run me as" in done.stderr


def test_ocf_lifecycle(installed: Path) -> None:
    python = _system_python()
    agent = installed / ev.OCF_NAME
    env = {"OCF_RESKEY_clouds": str(installed / "clouds.yaml"), "HA_RSCTMP": str(installed),
           "OCF_RESOURCE_INSTANCE": "nova-evacuate", "OCF_RESKEY_CRM_meta_interval": "0"}
    recurring = {**env, "OCF_RESKEY_CRM_meta_interval": "10000"}
    assert run(python, agent, "monitor", env=env).returncode == ev.OCF_NOT_RUNNING
    assert run(python, agent, "validate-all", env=env).returncode == ev.OCF_SUCCESS
    assert run(python, agent, "start", env=env).returncode == ev.OCF_SUCCESS
    assert (installed / "nova-evacuate.active").exists()
    assert run(python, agent, "start", env=env).returncode == ev.OCF_SUCCESS
    assert run(python, agent, "monitor", env=env).returncode == ev.OCF_SUCCESS  # a probe
    # Recurring: no cibadmin reachable, so evacuation is postponed, and the agent still runs.
    tick = run(python, agent, "monitor", env=recurring)
    assert tick.returncode == ev.OCF_SUCCESS
    assert "evacuation postponed" in tick.stderr
    assert run(python, agent, "stop", env=env).returncode == ev.OCF_SUCCESS
    assert run(python, agent, "monitor", env=env).returncode == ev.OCF_NOT_RUNNING
    assert run(python, agent, "stop", env=env).returncode == ev.OCF_SUCCESS
    assert run(python, agent, "promote", env=env).returncode == ev.OCF_ERR_UNIMPLEMENTED


def test_ocf_unusable_clouds_file(installed: Path) -> None:
    python = _system_python()
    agent = installed / ev.OCF_NAME
    env = {"OCF_RESKEY_clouds": str(installed / "absent.yaml"), "HA_RSCTMP": str(installed)}
    start = run(python, agent, "start", env=env)
    assert start.returncode == ev.OCF_ERR_INSTALLED
    assert "ocf-exit-reason:cannot read" in start.stderr
    other = {**env, "OCF_RESKEY_clouds": str(installed / "clouds.yaml"),
             "OCF_RESKEY_cloud": "elsewhere"}
    assert run(python, agent, "start", env=other).returncode == ev.OCF_ERR_CONFIGURED
    # Running, then the file goes: the monitor says so (Pacemaker moves it elsewhere).
    assert run(python, agent, "start", env={**other, "OCF_RESKEY_cloud": "hastack"}
               ).returncode == ev.OCF_SUCCESS
    assert run(python, agent, "monitor", env=env).returncode == ev.OCF_ERR_INSTALLED


def test_fence_actions_without_a_cloud(installed: Path) -> None:
    python = _system_python()
    agent = installed / ev.FENCE_NAME
    clouds = f"clouds={installed / 'clouds.yaml'}\n"
    assert run(python, agent, stdin="action=monitor\n" + clouds).returncode == 0
    assert run(python, agent, stdin="action=monitor\nclouds=/absent.yaml\n").returncode == 1
    assert run(python, agent, stdin="action=on\nport=cmp1\n").returncode == 0
    listed = run(python, agent, "-o", "list", "--clouds", str(installed / "clouds.yaml"),
                 "--pcmk-host-list", "cmp1,cmp2")
    assert (listed.returncode, listed.stdout) == (0, "cmp1,\ncmp2,\n")
    assert run(python, agent, stdin="action=off\n").returncode == 1  # no node: usage


def test_fencing_fails_when_it_cannot_record_or_reach_nova(installed: Path) -> None:
    """Fencing must not report success it did not achieve: no crm_attribute here, and the
    cloud's keystone (127.0.0.1:9) refuses connections."""
    python = _system_python()
    device = f"port=cmp1\nnodename=cmp1\nrecord_only=1\nclouds={installed / 'clouds.yaml'}\n"
    done = run(python, installed / ev.FENCE_NAME, stdin=f"action=reboot\n{device}")
    assert done.returncode == 1
    assert "reboot failed node=cmp1: crm_attribute" in done.stderr
    status = run(python, installed / ev.FENCE_NAME, stdin=f"action=status\n{device}")
    assert status.returncode == 1
    assert "status failed node=cmp1" in status.stderr


# --- the nova calls, through a recording adapter (the agent's only transport) --------------


class Answer:
    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code, self._body, self.text = status_code, body, str(body)

    def json(self) -> dict[str, Any]:
        return self._body


class RecordingCompute:
    """Answers like nova; ``max_version`` 2.52 plays a nova before services by UUID (Pike)."""

    def __init__(self, max_version: str, servers: list[dict[str, Any]]) -> None:
        self.max_version, self.servers = max_version, servers
        self.calls: list[tuple[str, str, str, object]] = []

    def request(self, url: str, method: str, **kw: Any) -> Answer:
        self.calls.append((method, url, kw["microversion"], kw.get("json")))
        if tuple(map(int, kw["microversion"].split("."))) > (2, int(self.max_version[2:])):
            return Answer(406, {"computeFault": {"message": "version not supported"}})
        if url.startswith("/os-services?"):
            return Answer(200, {"services": [service("cmp1", forced_down=False)]})
        if url.startswith("/servers/detail"):
            return Answer(200, {"servers": self.servers})
        if url.endswith("/action") and "locked" in url:
            return Answer(409, {"conflictingRequest": {"message": "Instance is locked"}})
        return Answer(200, {})


@pytest.mark.parametrize(("max_version", "force_down"), [
    ("2.93", ("PUT", "/os-services/id-cmp1", "2.53", {"forced_down": True})),
    ("2.52", ("PUT", "/os-services/force-down", "2.11",
              {"host": "cmp1", "binary": "nova-compute", "forced_down": True})),
])
def test_nova_requests(max_version: str, force_down: tuple[str, str, str, object]) -> None:
    compute = RecordingCompute(max_version, [server("a", "active"), server("b", "paused")])
    nova = ev.Nova(compute)
    outcome = ev.evacuate_node(nova, nova.services(), "cmp1")
    assert outcome.sentence.startswith("evacuation requested instances=1 node=cmp1")
    assert force_down in compute.calls
    assert ("GET", "/servers/detail?all_tenants=1&host=cmp1&limit=200", "2.29",
            None) in compute.calls
    # lab-notes: evacuate needs >= 2.29 (openstacksdk 0.101 sends none and gets 400).
    assert compute.calls[-1] == ("POST", "/servers/a/action", "2.29", {"evacuate": {}})


@pytest.mark.parametrize(("max_version", "unforce"), [
    ("2.93", ("PUT", "/os-services/id-cmp1", "2.53", {"forced_down": False})),
    ("2.52", ("PUT", "/os-services/force-down", "2.11",
              {"host": "cmp1", "binary": "nova-compute", "forced_down": False})),
])
def test_a_returning_node_is_unforced(max_version: str,
                                      unforce: tuple[str, str, str, object]) -> None:
    compute = RecordingCompute(max_version, [])
    nova = ev.Nova(compute)
    (svc,) = nova.services()
    nova.unforce(svc)
    assert compute.calls[-1] == unforce


def test_nova_refusal_is_a_failure_with_nova_s_words() -> None:
    compute = RecordingCompute("2.93", [server("locked-1", "active")])
    nova = ev.Nova(compute)
    outcome = ev.evacuate_node(nova, nova.services(), "cmp1")
    assert outcome.failed and not outcome.clear
    assert "HTTP 409 Instance is locked" in outcome.sentence
