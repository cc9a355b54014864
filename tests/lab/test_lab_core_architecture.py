"""The other architecture for real (`cluster.manages: core`) on three machines: the HA core
under Pacemaker, memcached a systemd unit on every member that systemd itself brings back when
it is killed, with nothing else restarted; a hand-edited file of such a unit is put back and
the unit restarted; a re-run changes nothing; turning the deployed site back into the guide's
layout is refused, not half-done; after every machine lost power at once, `lab up` brings the
same machines back and the core heals itself."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import (
    NODES,
    ROOT,
    changed_stages,
    drill_report,
    hastack,
    hastack_json,
    inside,
    pid1,
    running_lab,
    wait_for,
)

from hastack.pacemaker.status import parse_crm_mon

pytestmark = pytest.mark.lab

SITE = ROOT / "tests" / "lab" / "lab3-core.yaml"


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    with running_lab("--packages", "core", site=SITE,
                     then=[("deploy", str(SITE), "--scope", "core")]):
        yield


def _main_pid(node: str, unit: str) -> str:
    return inside(node, "systemctl", "show", "-P", "MainPID", unit).stdout.strip()


def test_pacemaker_runs_the_core_and_systemd_runs_memcached_everywhere(lab: None) -> None:
    cluster = parse_crm_mon(inside("n1", "crm_mon", "--one-shot", "--output-as=xml").stdout)
    assert cluster.promoted_on("galera-clone") == NODES
    for rid in ("haproxy-clone", "rabbitmq-clone"):
        assert cluster.running_on(rid) == NODES, rid
    assert not cluster.instances("memcached-clone")
    for node in NODES:
        assert inside(node, "systemctl", "is-enabled", "memcached").stdout.strip() == "enabled"
        assert inside(node, "systemctl", "show", "-P", "Restart",
                      "memcached").stdout.strip() == "always"
    (state,) = json.loads(hastack("status", str(SITE), "--format", "json").stdout)
    memcached = next(s for s in state["services"] if s["service"] == "memcached")
    assert memcached["resources"] == {"memcached-clone": list(NODES)}


def test_killed_memcached_is_brought_back_by_systemd_and_nothing_else_restarts(
        lab: None) -> None:
    report = drill_report(str(SITE), "service-kill", "--service", "memcached", "--node", "n2",
                          "--seconds", "45")
    assert report["db_lost"] == 0 and report["bus_lost"] == 0
    steps = [(s["node"], s["step"]) for s in report["timeline"]]
    assert ("n2", "systemd: started memcached") in steps, steps
    assert not any(step.startswith("start ") for _, step in steps), steps  # Pacemaker idle


def test_a_changed_file_restarts_the_unit_and_a_rerun_changes_nothing(lab: None) -> None:
    before = {n: _main_pid(n, "memcached") for n in NODES}
    inside("n1", "sh", "-c", "echo '# edited by hand' >> /etc/memcached.conf")
    again = changed_stages(hastack_json("deploy", str(SITE), "--scope", "core"))
    assert "restart:memcached" in again, again
    after = {n: _main_pid(n, "memcached") for n in NODES}
    assert after["n1"] != before["n1"] and after["n1"] != "0"
    assert after["n2"] == before["n2"] and after["n3"] == before["n3"]
    assert "edited by hand" not in inside("n1", "cat", "/etc/memcached.conf").stdout
    third = hastack_json("deploy", str(SITE), "--scope", "core")
    assert not third["changed"], changed_stages(third)


def test_changing_what_pacemaker_manages_on_a_deployed_site_is_refused_untouched(
        lab: None, tmp_path: Path) -> None:
    """The same site with the guide's layout: deploy would have to move running services
    from systemd to Pacemaker; it says so at the key, exit 2, and touches nothing."""
    everything = tmp_path / "lab3.yaml"
    everything.write_text(SITE.read_text().replace(", manages: core", ""))
    shutil.copy(SITE.with_name("lab3-core.secrets.yaml"), tmp_path / "lab3.secrets.yaml")
    before = {n: _main_pid(n, "memcached") for n in NODES}
    result = hastack("deploy", str(everything), "--scope", "core", check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "cluster.manages" in said and "Traceback" not in said, said
    assert {n: _main_pid(n, "memcached") for n in NODES} == before
    for node in NODES:
        assert inside(node, "systemctl", "is-enabled", "memcached").stdout.strip() == "enabled"


def test_a_lab_that_lost_power_at_once_comes_back_with_lab_up_and_passes_verify(
        lab: None) -> None:
    """Every machine off at once, as when this computer loses power (`lab stop`), then
    `lab up`: the same machines with their disks, and the deployed core heals itself: Galera
    and RabbitMQ cold-start, verify passes with no deploy in between. While it is dark,
    `status` says no member answers and exits 1."""
    inside("n1", "sh", "-c", "echo before-the-outage > /root/kept")
    hastack("lab", "stop")
    machines = hastack_json("lab", "status")["machines"]
    assert {m["name"]: m["power"] for m in machines} == dict.fromkeys(NODES, "off"), machines
    assert all(pid1(n) is None for n in NODES)
    dark = hastack("status", str(SITE), check=False)
    assert dark.returncode == 1 and "no member answers" in dark.stdout, dark
    up = hastack("lab", "up", str(SITE), "--packages", "core", check=False)
    assert up.returncode == 0, up.stdout + up.stderr
    assert inside("n1", "cat", "/root/kept").stdout.strip() == "before-the-outage"
    last: list[str] = []

    def verified() -> bool:
        done = hastack_json("verify", str(SITE), "--scope", "core", check=False)
        last[:] = [str([c for c in done["checks"] if not c["ok"]])]
        return bool(done["ok"])

    try:
        wait_for("hastack verify to pass after the power returned", verified, timeout=900)
    except AssertionError as gave_up:
        raise AssertionError(f"{gave_up}; its last report:\n{last[0]}") from None


def _cluster_pids(node: str) -> dict[str, str]:
    return {"corosync": _main_pid(node, "corosync"), "rabbitmq": _main_pid(node, "rabbitmq-server"),
            "mariadbd": inside(node, "pgrep", "-x", "mariadbd").stdout.strip()}


def test_a_controller_added_joins_and_taken_out_again_leaves_nothing_behind(
        lab: None, tmp_path: Path) -> None:
    """n4 added to a copy of the site: the dry run says it would join in standby; deploy
    proves its fencing before it joins, corosync takes it without a restart, it joins in
    standby, and once out of it Galera and RabbitMQ count four members; no member's
    corosync, mariadbd or RabbitMQ restarted, nobody was fenced, verify passes on four, and
    a re-run changes nothing. Then the site without it: refused while n4 runs; once its
    stack is stopped, deploy leaves three members everywhere (corosync, the CIB, Galera's
    address, RabbitMQ), again restarting nobody."""
    grown = tmp_path / SITE.name
    grown.write_text(SITE.read_text().replace("services:", (
        "  - {name: n4, address: 198.18.0.14, role: controller,\n"
        "     fencing: {type: lab, address: 198.18.0.114, pdu: {name: pdu1, outlet: 4}}}\n"
        "services:"), 1))
    secrets = SITE.with_name(SITE.stem + ".secrets.yaml")
    shutil.copy(secrets, tmp_path / secrets.name)
    up = hastack("lab", "up", str(grown), "--packages", "core", check=False)
    assert up.returncode == 0, up.stdout + up.stderr
    before = {n: _cluster_pids(n) for n in NODES}
    fenced = set(inside("n1", "stonith_admin", "--history", "*").stdout.splitlines())
    dry = hastack_json("deploy", str(grown), "--scope", "core", "--dry-run")
    assert any(s["stage"] == "join:openstack" and "n4 would join in standby" in s["detail"]
               for s in dry["steps"]), dry["steps"]
    # The proof against the live cluster, n4 brought up: HAProxy's clone would start there.
    shown = "\n".join(dry["diffs"])
    assert re.search(r"^  Start haproxy:\d+ \( n4 \)$", shown, re.M), \
        [line for line in shown.splitlines() if "n4" in line][-40:]
    done = hastack_json("deploy", str(grown), "--scope", "core")
    stages = [s["stage"] for s in done["steps"]]
    assert stages.index("fencing:openstack") < stages.index("cluster:openstack"), stages
    assert "join:openstack" in changed_stages(done), stages
    four = (*NODES, "n4")
    cluster = parse_crm_mon(inside("n1", "crm_mon", "--one-shot", "--output-as=xml").stdout)
    assert cluster.promoted_on("galera-clone") == four
    assert cluster.running_on("rabbitmq-clone") == four
    assert {n: _cluster_pids(n) for n in NODES} == before, "a member restarted"
    history = inside("n1", "stonith_admin", "--history", "*").stdout.splitlines()
    assert {e for e in history if " found" not in e} <= fenced, history
    members = inside("n1", "rabbitmqctl", "-q", "cluster_status", "--formatter", "json")
    assert sorted(json.loads(members.stdout)["running_nodes"]) == [f"rabbit@{n}" for n in four]
    verified = hastack_json("verify", str(grown), "--scope", "core", check=False)
    assert verified["ok"], [c for c in verified["checks"] if not c["ok"]]
    again = hastack_json("deploy", str(grown), "--scope", "core")
    assert not again["changed"], changed_stages(again)

    refused = hastack("deploy", str(SITE), "--scope", "core", check=False)
    assert refused.returncode == 2 and "departing-member-running" in refused.stdout + \
        refused.stderr, refused.stdout + refused.stderr
    # Its stack stopped (Pacemaker first stops what runs there: Galera and RabbitMQ see it
    # leave cleanly). `maintain` would drain the OpenStack APIs' backends, which this
    # core-only deploy has not.
    inside("n4", "systemctl", "disable", "--now", "pacemaker")
    inside("n4", "systemctl", "disable", "--now", "corosync")
    left = hastack_json("deploy", str(SITE), "--scope", "core")
    assert "departed:openstack" in changed_stages(left), changed_stages(left)
    cluster = parse_crm_mon(inside("n1", "crm_mon", "--one-shot", "--output-as=xml").stdout)
    assert {n.name for n in cluster.nodes} == set(NODES)
    assert cluster.promoted_on("galera-clone") == NODES
    assert "fence-n4" not in inside("n1", "cibadmin", "--query", "--scope", "resources").stdout
    assert "198.18.0.14" not in inside("n1", "corosync-cmapctl", "nodelist").stdout
    members = inside("n1", "rabbitmqctl", "-q", "cluster_status", "--formatter", "json")
    assert sorted(json.loads(members.stdout)["disk_nodes"]) == [f"rabbit@{n}" for n in NODES]
    assert {n: _cluster_pids(n) for n in NODES} == before, "a member restarted"
    verified = hastack_json("verify", str(SITE), "--scope", "core", check=False)
    assert verified["ok"], [c for c in verified["checks"] if not c["ok"]]
    assert not hastack_json("deploy", str(SITE), "--scope", "core")["changed"]
