"""What the lab makes of the state it keeps after its computer went off: a stale PID file
is never taken for the lab's process, and `lab up` brings back a stopped lab whose site file
moved, but refuses one of another site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hastack import catalog
from hastack.errors import UsageError
from hastack.lab import control, net, pids
from hastack.lab.layout import lab_layout

ROOT = Path(__file__).resolve().parents[2]


def test_a_pid_file_counts_only_while_its_process_is_what_was_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "bmc.pid"
    proc = subprocess.Popen([sys.executable, "-c", "import time; print(flush=True); "
                             "time.sleep(30)", control.BMC_MODULE], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # it runs: its command line is in place
    try:
        pid_file.write_text(f"{proc.pid}\n")
        assert pids.running(pid_file, argv_has=control.BMC_MODULE) == proc.pid
        # After a reboot the number belongs to someone else: not the lab's BMC, not a machine.
        pid_file.write_text(f"{os.getpid()}\n")
        assert pids.running(pid_file, argv_has=control.BMC_MODULE) is None
        assert pids.running(pid_file, namespace_init=True) is None
        assert pids.running(pid_file, comm="systemd-nspawn") is None
    finally:
        proc.kill()
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped: a zombie
    assert pids.alive(proc.pid) is False
    proc.wait()
    assert pids.running(tmp_path / "absent.pid") is None
    (tmp_path / "garbage.pid").write_text("not a number")
    assert pids.running(tmp_path / "garbage.pid") is None


def _stopped_lab(state: Path, site_path: str, name: str, machines: list[str]) -> None:
    state.mkdir()
    (state / "site.json").write_text(json.dumps({"site": site_path, "name": name}))
    for machine in machines:
        (state / "machines" / machine / "upper").mkdir(parents=True)


@pytest.fixture
def no_lab_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """This computer's namespaces are not the lab under test's: none exists for it."""
    monkeypatch.setattr(net, "netns_exists", lambda name: False)


def test_up_brings_back_a_stopped_lab_whose_site_file_moved(tmp_path: Path,
                                                            no_lab_running: None) -> None:
    loaded = catalog.load(ROOT / "examples" / "lab.yaml")
    state = tmp_path / "lab"
    _stopped_lab(state, "/old/clone/examples/lab.yaml", loaded.site.name,
                 [n.name for n in loaded.site.nodes])
    layout = lab_layout(loaded.site, state)
    control._check_not_half_there(loaded, layout)  # the same machines: no refusal

    other = tmp_path / "other"
    _stopped_lab(other, "/old/clone/examples/lab.yaml", "another-site", ["ctl1"])
    with pytest.raises(UsageError) as refused:
        control._check_not_half_there(loaded, lab_layout(loaded.site, other))
    assert refused.value.code == "lab-other-site"
    assert "stopped lab of /old/clone/examples/lab.yaml" in refused.value.what
    assert "hastack lab down" in refused.value.fix


def test_a_running_lab_of_another_site_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another site's running lab is refused; the same site read from another file (an
    edited copy that grows or shrinks it) is the same lab."""
    monkeypatch.setattr(net, "netns_exists", lambda name: name == "hs-switch")
    loaded = catalog.load(ROOT / "examples" / "lab.yaml")
    state = tmp_path / "lab"
    _stopped_lab(state, "/elsewhere/lab.yaml", "another-site", ["ctl1"])
    with pytest.raises(UsageError) as refused:
        control._check_not_half_there(loaded, lab_layout(loaded.site, state))
    assert refused.value.what == "a lab of /elsewhere/lab.yaml is up"
    same = tmp_path / "same"
    _stopped_lab(same, "/elsewhere/lab.yaml", loaded.site.name, ["ctl1"])
    control._check_not_half_there(loaded, lab_layout(loaded.site, same))


SITE = ROOT / "examples" / "lab.yaml"


def with_node(folder: Path, name: str, role: str, host: int, outlet: int) -> Path:
    """A copy of the lab site with one more node (198.18.0.HOST, its BMC at HOST + 100),
    inserted before the computes as an operator edits it."""
    copy = folder / "lab.yaml"
    copy.write_text(SITE.read_text().replace("  - {name: cmp1,", (
        f"  - {{name: {name}, address: 198.18.0.{host}, role: {role},\n"
        f"     fencing: {{type: lab, address: 198.18.0.{host + 100}, "
        f"pdu: {{name: pdu1, outlet: {outlet}}}}}}}\n"
        "  - {name: cmp1,"), 1))
    return copy


def test_a_node_inserted_mid_list_takes_no_other_machines_switch_port(tmp_path: Path) -> None:
    """An edited copy of the site (a controller added before the computes) is the same lab:
    every machine keeps its port on the lab's switch, and the new one gets its own."""
    grown = with_node(tmp_path, "ctl4", "controller", 14, 7)
    before = {m.name: m.switch_port for m in lab_layout(catalog.load(SITE).site).machines}
    after = {m.name: m.switch_port for m in lab_layout(catalog.load(grown).site).machines}
    assert {n: after[n] for n in before} == before
    assert len(set(after.values())) == len(after)


def test_a_new_machine_on_the_address_of_one_another_copy_brought_up_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's switch has the port of a machine an earlier copy of the site brought up
    (api1 at 198.18.0.31); a copy that puts a new machine at that address is refused before
    anything changes, and the machines it already has are fine."""
    copy = with_node(tmp_path, "cmp9", "compute", 31, 9)
    layout = lab_layout(catalog.load(copy).site, tmp_path / "state")
    existing = {"hs-switch", *(f"hs-{n}" for n in ("ctl1", "ctl2", "ctl3", "cmp1", "cmp2"))}
    monkeypatch.setattr(net, "netns_exists", lambda name: name in existing)
    monkeypatch.setattr(net, "switch_ports", lambda: {
        "br0", "hs-p31", *(m.switch_port for m in layout.machines if m.name != "cmp9")})
    with pytest.raises(UsageError) as refused:
        control._check_addresses_free(layout)
    assert refused.value.code == "lab-address-taken"
    assert "cmp9's address 198.18.0.31" in refused.value.what
    monkeypatch.setattr(net, "switch_ports", lambda: {
        "br0", *(m.switch_port for m in layout.machines if m.name != "cmp9")})
    control._check_addresses_free(layout)


def test_the_inotify_limit_grows_with_the_machines_and_is_never_lowered(
        tmp_path: Path) -> None:
    """The machines share the host users' inotify instances: 20 machines exhausted
    Debian's 128 (a machine's systemd stuck booting)."""
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    control.ensure_inotify_instances(20, limit)
    assert int(limit.read_text()) == 20 * control.INOTIFY_PER_MACHINE
    limit.write_text("100000\n")
    control.ensure_inotify_instances(20, limit)
    assert limit.read_text() == "100000\n"


def test_autogroup_is_switched_off_so_nice_acts_between_services(tmp_path: Path) -> None:
    switch = tmp_path / "sched_autogroup_enabled"
    switch.write_text("1\n")
    control.ensure_priorities_act(switch)
    assert switch.read_text() == "0\n"
    control.ensure_priorities_act(tmp_path / "absent")  # a kernel without autogroup


@pytest.mark.skipif(os.geteuid() != 0, reason="nsenter into a PID's namespaces needs root")
def test_lab_exec_runs_its_command_in_the_machines_environment_not_the_hosts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's PATH and variables stay outside; entered here into this test's own
    namespaces, as root, with the argv `lab exec` runs."""
    from hastack.transport.lab import BASE_ENV

    loaded = catalog.load(ROOT / "examples" / "lab.yaml")
    monkeypatch.setattr(control.machines, "pid1", lambda machine: os.getpid())
    monkeypatch.setenv("PATH", f"/host/only/bin:{os.environ['PATH']}")
    monkeypatch.setenv("HASTACK_HOST_ONLY", "leaked")
    argv = control.enter_argv(loaded, "ctl1", ["sh", "-c", 'echo "$PATH|$HASTACK_HOST_ONLY"'],
                              state_root=tmp_path)
    shown = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"{BASE_ENV['PATH']}|"
