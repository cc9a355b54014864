"""The whole control plane of `make lab` (examples/lab.yaml: 3 controllers, 2 computes):
keystone, glance, placement, nova, neutron with its Linux bridge, DHCP, L3 and metadata agents,
cinder, heat, horizon and swift under Pacemaker behind their VIPs, checked by the guide's test
actions through openstacksdk, a volume made from an image keeping its bytes when cinder-volume
moves to another controller; every drill kind once under its load (power loss, partition,
service kill, RabbitMQ member loss, memcached loss, a dead BMC fenced through the PDU, a dead
BMC and PDU waited for, every RabbitMQ broker killed at once
and last the whole site's power lost at once, after which verify passes with nothing done in
between), each losing nothing acknowledged; a compute's power loss with its instances
evacuated and the compute back in service after; a hand-edited haproxy.cfg put back and
reloaded; what `hastack lab access` prints works; a re-run changes nothing."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from labkit import (
    EXAMPLE,
    changed_stages,
    drill_report,
    hastack,
    hastack_json,
    inside,
    running_lab,
    wait_for,
)

from hastack import catalog, pki
from hastack.agents import agent_text
from hastack.catalog import tls

pytestmark = pytest.mark.lab

SITE = EXAMPLE
CONTROLLERS = ("ctl1", "ctl2", "ctl3")
API_CHECKS = ("keystone-token", "keystone-token-member", "glance-image", "neutron-network",
              "neutron-agents", "neutron-instance-path", "placement-api", "nova-services",
              "nova-api-member", "cinder-volume", "cinder-volume-from-image", "heat-stack",
              "horizon-login", "swift-object")
OPENRC = "/root/openrc"
# Linux bridge, DHCP, L3 and metadata agents on each controller, Linux bridge on each compute.
AGENTS = 3 * 4 + 2


@pytest.fixture(scope="module")
def cloud() -> Iterator[None]:
    # The site's packages (OpenStack's included), then the whole control plane.
    with running_lab(then=[("deploy", str(SITE))], site=SITE):
        yield


def openstack(*argv: str) -> subprocess.CompletedProcess[str]:
    """The openstack CLI on ctl1 with the admin openrc hastack rendered."""
    command = f". {OPENRC} && openstack {shlex.join(argv)}"
    return inside("ctl1", "bash", "-c", command)


def test_verify_passes_every_check_of_the_control_plane(cloud: None) -> None:
    result = hastack_json("verify", str(SITE), check=False)
    failed = [c for c in result["checks"] if not c["ok"]]
    assert result["ok"] and not failed, failed
    assert set(API_CHECKS) <= {c["name"] for c in result["checks"]}


def api_operations(*requests: dict[str, Any]) -> list[dict[str, Any]]:
    """Operations of agents/openstack_api.py (verify's API checks) in one program on ctl1, as
    the admin of its openrc."""
    batch = shlex.quote(json.dumps({"requests": list(requests)}))
    done = inside("ctl1", "bash", "-c", f". {OPENRC} && exec python3 - {batch}",
                  stdin=agent_text("openstack_api.py"), timeout=900)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    answers: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


def cinder_volume_node() -> str | None:
    """The controller cinder-volume (active/passive) runs on, None while it runs nowhere."""
    located = inside("ctl1", "crm_resource", "--resource", "cinder-volume", "--locate")
    found = re.search(r"is running on: (\S+)", located.stdout)
    return found[1] if found else None


def test_a_volume_from_an_image_keeps_its_bytes_when_cinder_volume_moves(cloud: None) -> None:
    """verify's check, its volume kept; cinder-volume banned from its controller and started
    on another; there the kept volume still reads back its image's bytes (the lab backend's
    files are shared) and the check passes again."""
    kept = "hastack-test-moved-volume"
    try:
        (first,) = api_operations({"operation": "volume.from-image-readback",
                                   "params": {"keep": kept}})
        assert first["ok"], first
        before = cinder_volume_node()
        assert before is not None
        banned = inside("ctl1", "crm_resource", "--resource", "cinder-volume", "--ban",
                        "--node", before)
        assert banned.returncode == 0, banned.stderr
        try:
            wait_for(f"cinder-volume running on a controller other than {before}",
                     lambda: cinder_volume_node() not in (None, before), timeout=180)
        finally:
            cleared = inside("ctl1", "crm_resource", "--resource", "cinder-volume", "--clear")
            assert cleared.returncode == 0, cleared.stderr
        after = cinder_volume_node()
        read, again = api_operations({"operation": "volume.readback", "params": {"name": kept}},
                                     {"operation": "volume.from-image-readback"})
        assert read["ok"] and again["ok"], (read, again)
        assert cinder_volume_node() == after  # sticky: the ban lifted, it stayed
    finally:
        openstack("volume", "delete", kept)
        openstack("image", "delete", kept)


NEUTRON_API_LOG = "/var/log/neutron/neutron-api-uwsgi.log"


def _neutron_api_log_lines(needle: str) -> int:
    """How many lines of every controller's neutron-api log match ``needle`` (grep -E)."""
    return sum(int(inside(node, "grep", "-cE", needle, NEUTRON_API_LOG).stdout.strip() or 0)
               for node in CONTROLLERS)


def test_a_deleted_network_removes_its_segment_from_placement_without_a_traceback(
        cloud: None) -> None:
    """neutron loads its segments plugin on a network's delete: with its placement account
    (server.conf) the deleted segment's resource provider is looked up and reported gone,
    where without one each delete logged a MissingAuthPlugin traceback."""
    looked_up = "Segment [0-9a-f-]+ resource provider not found"
    before, tracebacks = _neutron_api_log_lines(looked_up), _neutron_api_log_lines(
        "MissingAuthPlugin")
    made = openstack("network", "create", "hastack-test-segment", "-f", "value", "-c", "id")
    assert made.returncode == 0, made.stderr
    deleted = openstack("network", "delete", made.stdout.strip())
    assert deleted.returncode == 0, deleted.stderr
    wait_for("a neutron-api to ask placement for the deleted network's segment",
             lambda: _neutron_api_log_lines(looked_up) > before, timeout=120)
    assert _neutron_api_log_lines("MissingAuthPlugin") == tracebacks


def test_every_neutron_agent_is_alive(cloud: None) -> None:
    listed = openstack("network", "agent", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    agents = json.loads(listed.stdout)
    alive = {(a["Agent Type"], a["Host"]) for a in agents if a["Alive"] in (True, ":-)")}
    assert len(alive) == AGENTS, agents
    assert {host for kind, host in alive if kind == "Linux bridge agent"} == {
        *CONTROLLERS, "cmp1", "cmp2"}


def test_power_loss_keeps_every_api_answering_through_its_vip(cloud: None) -> None:
    """A controller loses power while keystone tokens and nova/neutron lists run through the
    VIPs: every API answers again, no acknowledged DB write or message is lost."""
    report = drill_report(str(SITE), "power-loss", "--seconds", "75")
    assert set(report["apis"]) == {"keystone", "nova", "neutron"}, report["notes"]
    for name, api in report["apis"].items():
        assert api["answering_at_end"] and api["back"] is not None, (name, api)
    assert report["db_lost"] == 0 and report["bus_lost"] == 0
    assert report["fenced"] is not None
    # The node-lost alert marked the dead node's servers down in the survivors' HAProxy
    # (HAProxy logs such a change as made "from CLI"), and Galera formed a new component.
    target = report["target"]
    marked = [s for s in report["timeline"] if s["step"].startswith("haproxy:")
              and f"/{target} DOWN" in s["step"] and "changed from CLI" in s["detail"]]
    assert {s["node"] for s in marked} == set(CONTROLLERS) - {target}, report["timeline"]
    assert any(s["step"] == "galera: new component of 2 (primary: yes)"
               for s in report["timeline"]), report["timeline"]


def test_the_failover_path_runs_at_a_higher_priority_than_the_apis(cloud: None) -> None:
    """render/priority.py's drop-ins took effect on the running daemons, and Nice acts
    between them: the lab turned the kernel's autogroup off (with it, each service's
    session got an equal share whatever its Nice)."""
    assert Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "0"
    def nice(unit: str) -> int:
        pid = inside("ctl1", "systemctl", "show", "-P", "MainPID", unit).stdout.strip()
        return int(inside("ctl1", "ps", "-o", "ni=", "-p", pid).stdout)

    for unit in ("pacemaker", "haproxy", "rabbitmq-server", "memcached"):
        assert nice(unit) == -10, unit
    assert nice("keystone") == 0  # what every other API waits on: ahead of them
    assert nice("nova-api") == 5  # what a request waits on: ahead of what reacts to it
    assert nice("nova-conductor") == nice("neutron-l3-agent") == 15
    # The galera agent starts mysqld through `su - mysql`, not as a unit: its login's tier.
    mysqld = inside("ctl1", "pgrep", "-o", "-x", "mariadbd").stdout.strip()
    assert int(inside("ctl1", "ps", "-o", "ni=", "-p", mysqld).stdout) == -10


def test_pacemaker_starts_and_stops_a_unit_without_reloading_systemd(cloud: None) -> None:
    """render/pacemaker_units.py: Pacemaker's drop-in is hastack's, in force with Pacemaker's
    start timeout and no ordering against Pacemaker, and a restart of a systemd resource
    reloads no node's systemd (a start queued behind reloads was read as failed)."""
    for node in (*CONTROLLERS, "cmp1"):
        # Pacemaker's start timeouts: 300 s and 200 s, not systemd's 90 s.
        unit, timeout = ("nova-compute", "5min") if node == "cmp1" else \
            ("nova-novncproxy", "3min 20s")
        shown = inside(node, "systemctl", "show", "-p", "Restart", "-p", "After",
                       "-p", "Before", "-p", "TimeoutStartUSec", unit)
        assert "Restart=no" in shown.stdout, shown
        # Ordered against Pacemaker, a stop Pacemaker asks for while its unit stops waits.
        assert "pacemaker.service" not in shown.stdout, shown
        assert f"TimeoutStartUSec={timeout}\n" in shown.stdout, shown
    since = inside("ctl1", "date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    restart = inside("ctl1", "crm_resource", "--restart", "--resource",
                     "nova-novncproxy-clone", "--timeout", "180s", timeout=240)
    assert restart.returncode == 0, restart.stdout + restart.stderr
    for node in CONTROLLERS:
        journal = inside(node, "journalctl", "--since", since, "-o", "cat", "_PID=1",
                         "--no-pager").stdout
        assert "Started nova-novncproxy.service" in journal, (node, journal[-2000:])
        assert "Reloading" not in journal, (node, journal[-2000:])


def drill(kind: str, *extra: str) -> dict[str, Any]:
    """One drill on the whole plane under its load: it passed (nothing acknowledged lost,
    everything back), and its report carries a recovery timeline from the nodes' journals."""
    report = drill_report(str(SITE), kind, *extra)
    assert report["db_lost"] == 0 and report["bus_lost"] == 0
    assert report["db_acked"] > 0 and report["bus_acked"] > 0
    steps = [s["step"] for s in report["timeline"]]
    assert steps[0].startswith("fault:") and "back at full strength" in steps, steps
    return report


def test_partition_fences_the_cut_off_controller_without_split_brain(cloud: None) -> None:
    report = drill("partition", "--seconds", "45")
    assert report["fenced"] is not None and report["minority_stopped"] is not None
    assert any(s["step"].startswith("fencing of") for s in report["timeline"])


def test_killed_memcached_is_repaired_in_place_and_nothing_else_restarts(
        cloud: None) -> None:
    """One fault, one repair: the drill fails when any other resource restarts on the node."""
    report = drill("service-kill", "--service", "memcached", "--seconds", "60")
    assert report["recovered"] is not None and report["fenced"] is None
    starts = {s["step"].split()[1] for s in report["timeline"]
              if s["step"].startswith("start ") and s["step"].endswith(": ok")}
    assert starts <= {"memcached"}, starts


def test_rabbitmq_member_loss_keeps_every_confirmed_message(cloud: None) -> None:
    report = drill("rabbitmq-member-loss", "--seconds", "75")
    assert report["fenced"] is not None and report["bus_acked"] > 0


def test_memcached_loss_reports_the_slowest_api_call(cloud: None) -> None:
    report = drill("memcached-loss", "--seconds", "60")
    assert report["recovered"] is not None  # the frozen member answers again
    assert set(report["apis"]) == {"keystone", "nova", "neutron"}
    assert all(api["slowest"] > 0 for api in report["apis"].values()), report["apis"]


def test_a_node_whose_bmc_is_dead_is_fenced_through_its_pdu_before_anything_moves(
        cloud: None) -> None:
    """The drill itself fails when a VIP or A/P service of the node starts elsewhere before
    the node is fenced; here: fencing took the second level (the lab PDU's outlet)."""
    report = drill("fence-failure", "--seconds", "120")  # fenced ~35 s, all back ~40 s
    assert report["fenced"] is not None and report["recovered"] is not None
    assert any("level 2" in note for note in report["notes"]), report["notes"]
    pdu_done = f"-pdu returned 0 for {report['target']}"
    assert any(pdu_done in s["step"] for s in report["timeline"]), report["timeline"]
    repaired = f"{report['target']} fenced: its dead devices answer again"
    assert any(note.startswith(repaired) for note in report["notes"]), report["notes"]


def test_with_no_working_fence_level_nothing_moves_until_the_bmc_answers_again(
        cloud: None) -> None:
    """BMC and PDU both dead: the cluster must wait (the drill fails if anything of the node
    starts elsewhere unfenced), then fence through the BMC once it answers and recover."""
    report = drill("fence-failure-no-pdu")
    assert report["fenced"] is not None and report["recovered"] is not None
    assert any("after the BMC answered again" in note for note in report["notes"]), \
        report["notes"]
    # Repaired once it was fenced: a dead PDU's failing starts no longer pace its return.
    repaired = f"{report['target']} fenced: its dead devices answer again"
    assert any(note.startswith(repaired) and "-pdu" in note for note in report["notes"]), \
        report["notes"]


def test_rabbitmq_cold_start_keeps_every_confirmed_message(cloud: None) -> None:
    """Every broker SIGKILLed at once: the cluster restarts them, they re-form with their
    data (nothing wipes it), every confirmed message is still there, and every nova service
    reports again through them (so the next drill's instances can be scheduled)."""
    report = drill("rabbitmq-cold-start")
    assert report["detected"] is not None and report["recovered"] is not None
    assert report["bus_back"] is not None and report["bus_lost"] == 0
    assert report["nova_back"] is not None, report["problems"]


def _compute_services() -> dict[str, dict[str, str]]:
    listed = openstack("--os-compute-api-version", "2.11", "compute", "service", "list",
                       "--service", "nova-compute", "--long", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    return {s["Host"]: s for s in json.loads(listed.stdout)}


def test_compute_loss_evacuates_and_the_compute_returns(cloud: None) -> None:
    """cmp1 loses power with instances on it: they come back ACTIVE on cmp2, and cmp1, once
    it booted and its nova-compute reports again, is in service again (not forced down)."""
    report = drill_report(str(SITE), "compute-loss")
    assert report["target"] == "cmp1"
    assert report["instances"] > 0 and report["instances_moved"] == report["instances"]
    assert report["fenced"] is not None and report["evacuated"] is not None
    for name, api in report["apis"].items():
        assert api["answering_at_end"], (name, api)

    def back_in_service() -> bool:
        cmp1 = _compute_services().get("cmp1", {})
        return cmp1.get("State") == "up" and cmp1.get("Forced Down") is False

    wait_for("cmp1's nova-compute up and no longer forced down", back_in_service, timeout=600)
    servers = openstack("server", "list", "--all-projects", "--long", "-f", "json")
    assert servers.returncode == 0, servers.stderr
    assert all(s["Host"] != "cmp1" for s in json.loads(servers.stdout)), servers.stdout


def _haproxy_pid(node: str) -> str:
    return inside(node, "systemctl", "show", "-p", "MainPID", "--value", "haproxy").stdout.strip()


def test_a_controller_in_maintenance_holds_nothing_and_comes_back_moving_nothing(
        cloud: None) -> None:
    """`maintain NODE on`: the node in standby with no VIP left on it (the DB's writer
    moved); a second member is refused while it is out; `off`: it is online again, the VIPs
    stay where they went (nothing rebalanced), and every check passes."""
    (before,) = hastack_json("status", str(SITE))
    node = before["vips"]["db"][0]  # the writer: the move that matters most
    other = next(n for n in CONTROLLERS if n != node)
    out = hastack_json("maintain", str(SITE), node, "on")
    assert out["changed"] and "vip-db" in out["moved"], out
    (state,) = hastack_json("status", str(SITE))
    assert state["nodes"][node] == "standby", state["nodes"]
    assert not [v for v, held in state["vips"].items() if node in held], state["vips"]
    assert not hastack_json("maintain", str(SITE), node, "on")["changed"]
    refused = hastack("maintain", str(SITE), other, "on", check=False)
    assert refused.returncode == 2 and "maintain-second-member" in refused.stderr, \
        refused.stderr
    vips = state["vips"]
    back = hastack_json("maintain", str(SITE), node, "off")
    assert back["changed"], back
    (after,) = hastack_json("status", str(SITE))
    assert after["nodes"][node] == "online" and after["vips"] == vips, after
    verified = hastack_json("verify", str(SITE), check=False)
    assert verified["ok"], [c for c in verified["checks"] if not c["ok"]]


GROWN = ("  - {name: cmp3, address: 198.18.0.23, role: compute,\n"
         "     fencing: {type: lab, address: 198.18.0.123, pdu: {name: pdu1, outlet: 6}}}\n")


def test_a_compute_added_to_the_site_serves_and_taken_out_leaves_nothing_behind(
        cloud: None, tmp_path: Path) -> None:
    """An edited copy of the site with a third compute: `lab up` brings up its machine, a dry
    run shows the transition that would start its services. The scale-computes drill then
    deploys the copy under load (cmp3 becomes a remote node whose nova-compute reports up)
    and the original site again: nothing acknowledged lost, nobody fenced, and no node, nova
    service, hypervisor or neutron agent of cmp3 is left; a re-run changes nothing."""
    for path in (SITE, SITE.with_name(SITE.stem + ".secrets.yaml")):
        shutil.copy(path, tmp_path / path.name)
    grown = tmp_path / SITE.name
    text = grown.read_text()
    last = text.index("services:")
    grown.write_text(text[:last] + GROWN + text[last:])
    hastack("lab", "up", str(grown))
    try:
        dry = hastack_json("deploy", str(grown), "--dry-run")
        assert dry["changed"] and "cmp3" in {s["node"] for s in dry["steps"]}, dry
        # The proof against the live cluster: Pacemaker would start nova-compute there.
        shown = "\n".join(dry["diffs"])
        assert re.search(r"^  Start compute-nova:\d+ \( cmp3 \)$", shown, re.M), \
            [line for line in shown.splitlines() if line.startswith("  ")][-40:]
        report = drill_report(str(grown), "scale-computes")
        assert report["added"] is not None and report["removed"] is not None, report
        assert report["db_lost"] == 0 and report["bus_lost"] == 0, report
        mon = inside("ctl1", "crm_mon", "--one-shot", "--output-as=xml").stdout
        assert 'name="cmp3"' not in mon, "the cluster still lists cmp3"
        assert "cmp3" not in _compute_services()
        hypervisors = openstack("hypervisor", "list", "-f", "value", "-c",
                                "Hypervisor Hostname")
        assert hypervisors.returncode == 0 and "cmp3" not in hypervisors.stdout, \
            hypervisors.stdout + hypervisors.stderr
        agents = openstack("network", "agent", "list", "-f", "value", "-c", "Host")
        assert agents.returncode == 0 and "cmp3" not in agents.stdout, agents.stdout
        assert not hastack_json("deploy", str(SITE))["changed"]
    finally:
        hastack("lab", "power", "off", "cmp3", "--site", str(grown), check=False)


def test_a_hand_edited_haproxy_cfg_is_put_back_and_reloaded(cloud: None) -> None:
    """Horizon's listener is cut out of haproxy.cfg on every controller and HAProxy reloaded
    by hand: the dashboard is gone. A re-run of deploy puts the file back and reloads HAProxy
    (same process, no restart through Pacemaker): the dashboard answers again."""
    pids = {node: _haproxy_pid(node) for node in CONTROLLERS}
    cut = ("python3 - <<'EOF'\n"
           "import re, pathlib\n"
           "p = pathlib.Path('/etc/haproxy/haproxy.cfg')\n"
           "text = p.read_text()\n"
           "cut = re.sub(r'\\nlisten horizon\\n(?:[ \\t].*\\n)*', '\\n', text)\n"
           "assert cut != text\n"
           "p.write_text(cut)\n"
           "EOF\n"
           "systemctl reload haproxy")
    for node in CONTROLLERS:
        done = inside(node, "bash", "-c", cut)
        assert done.returncode == 0, f"{node}: {done.stderr}"
    horizon = _horizon_url()

    def dashboard_answers() -> bool:
        probe = inside("ctl1", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       "--max-time", "10", horizon)
        return probe.stdout == "200"

    wait_for("the dashboard to stop answering once its listener is gone",
             lambda: not dashboard_answers(), timeout=120)
    changed = changed_stages(hastack_json("deploy", str(SITE)))
    assert "reload:loadbalancer" in changed, changed
    assert not [s for s in changed if s.startswith("restart:")], changed
    wait_for(f"the dashboard at {horizon} to answer again", dashboard_answers, timeout=180)
    assert {node: _haproxy_pid(node) for node in CONTROLLERS} == pids


def _access() -> dict[str, str]:
    return dict(hastack_json("lab", "access", "--site", str(SITE))["lines"])


def _horizon_url() -> str:
    return _access()["dashboard"].split()[0] + "auth/login/"


def test_lab_access_says_how_to_reach_the_cloud(cloud: None) -> None:
    """Every command `hastack lab access` prints works as printed."""
    lines = _access()
    assert set(lines) >= {"dashboard", "admin openrc", "openstack", "a shell"}, lines
    command = lines["openstack"]
    argv = shlex.split(command)
    assert argv[:3] == ["hastack", "lab", "exec"], command
    listed = hastack(*argv[1:])
    assert listed.returncode == 0, listed.stderr
    openrc = inside("ctl1", "stat", "-c", "%a", OPENRC).stdout.strip()
    assert openrc == "600"
    page = inside("ctl1", "curl", "-s", "--max-time", "10", _horizon_url()).stdout
    assert "csrfmiddlewaretoken" in page or "Log in" in page, page[:500]


def test_the_openstack_cli_speaks_https_and_checks_the_certificate(cloud: None) -> None:
    """From a controller with /root/openrc: a token, the images and the servers over https,
    verified against the site CA, and every catalog URL https; trusting another CA instead,
    the same call is refused."""
    for argv in (("token", "issue"), ("image", "list"), ("server", "list")):
        done = openstack(*argv, "-f", "json")
        assert done.returncode == 0, (argv, done.stderr)
    urls = json.loads(openstack("endpoint", "list", "-f", "json").stdout)
    assert urls and all(e["URL"].startswith("https://") for e in urls), urls
    other = pki.new_ca().certificate_pem()
    inside("ctl1", "sh", "-c", "cat > /tmp/another-ca.pem", stdin=other)
    refused = inside("ctl1", "bash", "-c", f". {OPENRC} && OS_CACERT=/tmp/another-ca.pem "
                     "openstack token issue")
    assert refused.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr or "certificate verify failed" in \
        refused.stderr, refused.stderr[-500:]


def test_the_sites_own_certificates_replace_hastacks(cloud: None, tmp_path: Path) -> None:
    """A site naming its own CA and VIP certificates (openstack.certificates): deploy serves
    them, every node trusts that CA and the CLI verifies against it; the secrets file never
    holds them. Deploying the site without them puts hastack's own CA back."""
    from hastack.deploy.apply import secret_refs
    from hastack.render.site import render_site

    secrets_file = SITE.with_name(SITE.stem + ".secrets.yaml")
    site = tmp_path / SITE.name
    shutil.copy(secrets_file, tmp_path / secrets_file.name)
    loaded = catalog.load(SITE)
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    vips = {r.name.removeprefix("tls-vip-"): r.subject
            for r in secret_refs(loaded, rendering, catalog.SERVICES)
            if r.issuer == tls.CA_SECRET}
    ca = pki.new_ca()
    (tmp_path / "ca.pem").write_text(ca.certificate_pem())
    given: dict[str, dict[str, str]] = {}
    for vip, address in vips.items():
        leaf = pki.issue(ca, address, f"{vip}.example")
        (tmp_path / f"{vip}.pem").write_text(leaf.certificate_pem())
        (tmp_path / f"{vip}.key").write_text(leaf.key_pem())
        (tmp_path / f"{vip}.key").chmod(0o600)
        given[vip] = {"certificate": f"{vip}.pem", "key": f"{vip}.key"}
    data = yaml.safe_load(SITE.read_text())
    data.setdefault("openstack", {})["certificates"] = {"ca": "ca.pem", "vips": given}
    site.write_text(yaml.safe_dump(data, sort_keys=False))
    kept = (tmp_path / secrets_file.name).read_text()
    try:
        hastack("deploy", str(site))
        assert inside("ctl2", "cat", f"/usr/local/share/ca-certificates/hastack-"
                      f"{loaded.site.name}.crt").stdout == ca.certificate_pem()
        done = openstack("token", "issue", "-f", "json")
        assert done.returncode == 0, done.stderr
        served = inside("ctl1", "bash", "-c", f"openssl s_client -connect {vips['nova']}:8774 "
                        "</dev/null 2>/dev/null | openssl x509 -noout -subject")
        assert vips["nova"] in served.stdout, served.stdout
        assert (tmp_path / secrets_file.name).read_text() == kept, "supplied values saved"
    finally:
        hastack("deploy", str(SITE))
    assert inside("ctl2", "cat", f"/usr/local/share/ca-certificates/hastack-"
                  f"{loaded.site.name}.crt").stdout != ca.certificate_pem()


# One secret of each kind that converges differently (a second of the same kind would only
# restart one more service: the lab tier's time is kept for what differs).
ROTATED = ("nova-db", "nova-keystone", "keystone-fernet-0", "keystone-credential-0",
           "tls-vip-glance", "pacemaker-authkey", "corosync-authkey-openstack",
           "heat-domain-admin")


def _pids(unit: str) -> dict[str, str]:
    return {node: inside(node, "systemctl", "show", "-P", "MainPID", unit).stdout.strip()
            for node in CONTROLLERS}


def _mariadbd() -> dict[str, str]:
    # The galera agent starts mysqld through `su - mysql`, not as a unit.
    return {node: inside(node, "pgrep", "-o", "-x", "mariadbd").stdout.strip()
            for node in CONTROLLERS}


def test_rotated_secrets_converge_and_verify_passes(cloud: None) -> None:
    """`secrets rotate` with one secret of each kind that converges differently: a database
    password (nova's, whose cells must follow), keystone users' (nova's reaches the computes,
    whose nova-compute must restart), the fernet and credential keys (shifted as keystone
    does; keystone not restarted, a token from before still valid), a VIP's certificate,
    pacemaker_remote's authkey (no compute loses its connection or is fenced; every node
    holds the new key, which verify checks) and corosync's (the stack restarted on every
    member, Galera and HAProxy kept running); verify passes right after, and the old values
    are gone from the secrets file. The old database password, accepted beside the new one
    while the services restarted, is refused after; nova's service user and heat's stack
    domain admin moved to their other accounts and the ones they left are disabled."""
    secrets_file = SITE.with_name(SITE.stem + ".secrets.yaml")
    before = secrets_file.read_text()
    old_db = yaml.safe_load(before)["nova-db"]
    compute_pid = inside("cmp1", "systemctl", "show", "-P", "MainPID", "nova-compute").stdout
    remote_pid = inside("cmp1", "systemctl", "show", "-P", "MainPID", "pacemaker_remote").stdout
    fenced_before = inside("ctl1", "stonith_admin", "--history", "*").stdout
    corosync, haproxy, mariadbd = _pids("corosync"), _pids("haproxy"), _mariadbd()
    keystone = _pids("keystone")
    issued = openstack("token", "issue", "-f", "value", "-c", "id")
    assert issued.returncode == 0, issued.stderr
    done = hastack_json("secrets", "rotate", str(SITE), *ROTATED, check=False)
    assert set(done["rotated"]) >= set(ROTATED), done["rotated"]
    after = secrets_file.read_text()
    old = {ln.split(":", 1)[0]: ln for ln in before.splitlines()}
    new = {ln.split(":", 1)[0]: ln for ln in after.splitlines()}
    assert {n for n in new if new[n] != old.get(n)} >= {*ROTATED, "keystone-fernet-2"}
    assert inside("cmp1", "systemctl", "show", "-P", "MainPID",
                  "nova-compute").stdout != compute_pid, "nova-compute kept its old password"
    db_vip = str(catalog.load(SITE).placement.vips["db"])

    def nova_db_login(password: str) -> bool:
        return inside("ctl1", "mysql", "-h", db_vip, "-u", "nova", "-e", "SELECT 1",
                      env={"MYSQL_PWD": password}).returncode == 0
    assert nova_db_login(yaml.safe_load(after)["nova-db"])
    assert not nova_db_login(old_db), "the old database password still works"
    assert "nova-keystone: nova-2:" in after
    # The stack restart for corosync's key empties Pacemaker's fencing history (the fencers
    # keep it in memory): no event may be there that was not there before.
    fenced_after = inside("ctl1", "stonith_admin", "--history", "*").stdout
    events = {ln for ln in fenced_after.splitlines() if " found" not in ln}
    assert events <= set(fenced_before.splitlines()), fenced_after
    restarted = _pids("corosync")
    assert all(restarted[n] != corosync[n] for n in CONTROLLERS), (corosync, restarted)
    assert _mariadbd() == mariadbd and _pids("haproxy") == haproxy, "the stack restart " \
        "stopped a service it should have left running"
    # Keystone reads its keys on every token: new keys need no restart, and a token from
    # before (its key now a secondary one) still validates.
    assert _pids("keystone") == keystone, "keystone restarted for new keys"
    validated = inside("ctl1", "bash", "-c", f". {OPENRC} && curl -s -o /dev/null -w "
                       "'%{http_code}' -H \"X-Auth-Token: $(openstack token issue -f value "
                       "-c id)\" -H 'X-Subject-Token: " + issued.stdout.strip() + "' "
                       "\"$OS_AUTH_URL/auth/tokens\"")
    assert validated.stdout == "200", validated
    assert "corosync-key:openstack" in changed_stages(done), changed_stages(done)
    assert inside("cmp1", "systemctl", "show", "-P", "MainPID",
                  "pacemaker_remote").stdout == remote_pid, "pacemaker_remote restarted"
    users = openstack("user", "list", "--long", "-f", "json")
    enabled = {u["Name"]: u["Enabled"] for u in json.loads(users.stdout)}
    assert enabled.get("nova-2") is True and enabled.get("nova") is False, enabled
    heat_users = openstack("user", "list", "--domain", "heat", "--long", "-f", "json")
    in_heat = {u["Name"]: u["Enabled"] for u in json.loads(heat_users.stdout)}
    assert in_heat.get("heat_domain_admin-2") is True, in_heat
    assert in_heat.get("heat_domain_admin") is False, in_heat
    verified = hastack_json("verify", str(SITE), check=False)
    assert verified["ok"], [c for c in verified["checks"] if not c["ok"]]


def test_logs_and_report_show_every_node_and_no_secret(cloud: None, tmp_path: Path) -> None:
    """A service on ctl2 logs the admin's password (as a careless one would): `hastack logs`
    shows the nodes' journals merged by time with it masked, and `hastack report` writes an
    archive (0600) holding each cluster's live CIB, each node's journal, HAProxy's, Galera's
    and RabbitMQ's state, and no value of the secrets file anywhere."""
    secrets = yaml.safe_load(SITE.with_name(SITE.stem + ".secrets.yaml").read_text())
    password = secrets["admin-keystone"]
    marker = f"hastack-test-{tmp_path.name}"
    inside("ctl2", "logger", "-t", marker, f"connecting with password {password}")
    shown = hastack_json("logs", str(SITE), "--since", "-10min")
    lines = [e for e in shown["entries"] if e["source"] == marker]
    assert len(lines) == 1 and lines[0]["node"] == "ctl2", lines
    assert password not in lines[0]["message"] and "********" in lines[0]["message"]
    assert {e["node"] for e in shown["entries"]} == {*CONTROLLERS, "cmp1", "cmp2"}
    times = [e["micros"] for e in shown["entries"]]
    assert times == sorted(times)
    archive = tmp_path / "report.tar.gz"
    made = hastack_json("report", str(SITE), "--out", str(archive), "--since", "-15min")
    assert made["missing"] == {}, made["missing"]
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        members = {m.name.removeprefix("hastack-report/"):
                   tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                   for m in tar.getmembers()}
    assert "<cib " in members["clusters/openstack/cib.xml"]
    for node in (*CONTROLLERS, "cmp1", "cmp2"):
        assert members[f"nodes/{node}/journal.txt"].strip(), node
    assert marker in members["nodes/ctl2/journal.txt"]
    assert all(f"nodes/{n}/galera-wsrep.txt" in members for n in CONTROLLERS)
    values = [v for v in secrets.values() if isinstance(v, str) and len(v) >= 8]
    leaked = sorted({name for name, text in members.items() for v in values
                     for part in v.splitlines() if len(part) >= 16 and part in text})
    assert not leaked, leaked


def test_status_watch_reads_the_site_again_each_interval(cloud: None) -> None:
    """`status --watch --count 2`: off a terminal, each reading printed after the last under
    a line with its time; with --format json, one line per reading, each the document
    `status --format json` prints."""
    shown = hastack("status", str(SITE), "--watch", "--count", "2", "--interval", "1")
    headings = [ln for ln in shown.stdout.splitlines() if ln.startswith("status at ")]
    assert len(headings) == 2, shown.stdout
    assert shown.stdout.count("cluster openstack: quorate") == 2, shown.stdout
    lines = hastack("status", str(SITE), "--watch", "--count", "2", "--interval", "1",
                    "--format", "json").stdout.splitlines()
    assert len(lines) == 2, lines
    readings = [json.loads(line) for line in lines]
    (once,) = hastack_json("status", str(SITE))
    for (reading,) in readings:
        assert reading.keys() == once.keys()
        assert reading["name"] == "openstack" and reading["quorate"]
        assert reading["nodes"] == once["nodes"]


def test_deploy_again_changes_nothing(cloud: None) -> None:
    again = hastack_json("deploy", str(SITE))
    assert not again["changed"], changed_stages(again)


def test_site_power_loss_brings_the_whole_plane_back_by_itself(cloud: None) -> None:
    """Every controller and compute loses power at once, then it returns: Galera and
    RabbitMQ cold-start with nothing acknowledged lost, every nova service reports up again,
    and verify passes right after, with nothing done in between. Last: it restarts everything."""
    report = drill("site-power-loss")
    assert report["power_back"] is not None and report["nova_back"] is not None
    assert report["nova_back"] > report["power_back"]
    result = hastack_json("verify", str(SITE), check=False)
    assert result["ok"], [c for c in result["checks"] if not c["ok"]]
