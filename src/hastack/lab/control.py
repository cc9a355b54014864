"""The lab's verbs: up, status, down, power, link, partition, heal, bmc dead/alive.

``up`` is idempotent: on a running lab it changes nothing. Everything the lab creates is
recorded under the state directory (PIDs, disks) or named ``hs-*`` (namespaces), and ``down``
removes exactly that, by PID and by name: never by process name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hastack.catalog.cluster import TCP_SYSCTLS, fence_secret, pdu_secret
from hastack.catalog.secret_text import SecretRef
from hastack.errors import Problem, SiteError, UsageError
from hastack.lab import machine as machines
from hastack.lab import net, pids
from hastack.lab.image import Installing, Scope, ensure_image, remote_debs
from hastack.lab.layout import (
    STATE_ROOT,
    SWITCH_NETNS,
    LabLayout,
    MachineSpec,
    PduSpec,
    lab_layout,
)
from hastack.process import run
from hastack.secrets import ensure_secrets
from hastack.site.load import LoadedSite
from hastack.site.model import Role
from hastack.transport.lab import BASE_ENV

log = logging.getLogger(__name__)
# HAProxy binds VIPs it does not hold; the TCP settings shorten stuck connections after a
# VIP moves (catalog.cluster). Per-netns values are set from the host (lab-notes).
MACHINE_SYSCTLS = {"net.ipv4.ip_nonlocal_bind": "1",
                   **{k: str(v) for k, v in TCP_SYSCTLS.items()}}


@dataclass(frozen=True)
class MachineStatus:
    name: str
    role: str
    power: str
    link: str
    address: str
    bmc: str
    bmc_running: bool
    systemd: str
    bmc_answering: bool = True  # False: made dead with `lab bmc dead`


def bmc_refs(loaded: LoadedSite) -> list[SecretRef]:
    """The fencing secrets the lab serves: every BMC's and every PDU's."""
    refs = [fence_secret(n) for n in loaded.site.nodes if n.fencing is not None]
    return refs + [pdu_secret(loaded.site, name) for name in loaded.site.pdus]


def pdu_credentials(loaded: LoadedSite, name: str) -> tuple[str, str]:
    store = ensure_secrets(loaded.secrets_path, bmc_refs(loaded))
    return loaded.site.pdus[name].username, store.lookup(pdu_secret(loaded.site, name))


def bmc_credentials(loaded: LoadedSite, node: str) -> tuple[str, str]:
    spec = loaded.site.node(node)
    assert spec.fencing is not None
    store = ensure_secrets(loaded.secrets_path, bmc_refs(loaded))
    return spec.fencing.username, store.lookup(fence_secret(spec))


def check_host() -> None:
    """Root, systemd-nspawn and overlayfs: exit 2 with the fix when one is missing."""
    problems = []
    if os.geteuid() != 0:
        problems.append(Problem(code="lab-not-root", what="the lab needs root (namespaces, "
                                "mounts, machines)", fix="run it as root"))
    if "overlay" not in Path("/proc/filesystems").read_text():
        problems.append(Problem(code="lab-no-overlayfs", what="the kernel has no overlayfs",
                                fix="modprobe overlay, or use a kernel with overlayfs"))
    if problems:
        raise SiteError(problems)


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_MACHINE = 64  # systemd, journald, udev, the services: a dozen each, with room


def ensure_inotify_instances(machines_count: int, path: Path = INOTIFY_INSTANCES) -> None:
    """Every machine's processes run as the host's users (no user namespace), so they share
    each user's inotify instances: with Debian's 128, about the 20th machine's systemd can no
    longer watch its path units ("Result: resources") and never finishes booting. Raised
    (never lowered) to INOTIFY_PER_MACHINE per machine."""
    wanted = INOTIFY_PER_MACHINE * machines_count
    if int(path.read_text()) < wanted:
        path.write_text(f"{wanted}\n")
        log.info("fs.inotify.max_user_instances raised to %d for %d machines", wanted,
                 machines_count)


AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")


def ensure_priorities_act(path: Path = AUTOGROUP) -> None:
    """The machines' processes share the host's one CPU group (a cgroup v1 host), where the
    kernel's autogroup shares the CPU equally between sessions (every service is one) and
    Nice acts only within each: the failover tier's Nice=-10 lost to the APIs' Nice=10
    (power loss of a member under load: bus window 5.4 s, keystone back after 14.7 s; with
    autogroup off: 0 and 0). Switched off (never on again); a real host gives each unit its
    own cgroup and CPUWeight (render/priority.py), where autogroup does not apply."""
    if path.exists() and path.read_text().strip() != "0":
        path.write_text("0\n")
        log.info("kernel.sched_autogroup_enabled set to 0: the machines' Nice= tiers act")


def _site_marker(layout: LabLayout) -> Path:
    return layout.state_dir / "site.json"


def _record(layout: LabLayout, loaded: LoadedSite) -> None:
    """Which site the lab is, kept with its disks: its path, its name, and a copy of the file
    (what `lab status` reads when the file has moved since)."""
    _site_marker(layout).write_text(json.dumps({"site": str(loaded.path.resolve()),
                                                "name": loaded.site.name}))
    shutil.copyfile(loaded.path, recorded_copy(layout.state_dir))


def _recorded(state_root: Path) -> dict[str, str]:
    try:
        found = json.loads((state_root / "site.json").read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) and "site" in found else {}


def running_site(state_root: Path = STATE_ROOT) -> Path | None:
    """The site file the lab was brought up from (up or stopped), as it was recorded."""
    site = _recorded(state_root).get("site")
    return Path(site) if site else None


def recorded_copy(state_root: Path = STATE_ROOT) -> Path:
    return state_root / "site.yaml"


def _machine_dirs(state_root: Path) -> list[Path]:
    machines_dir = state_root / "machines"
    return sorted(machines_dir.iterdir()) if machines_dir.is_dir() else []


def is_running(state_root: Path = STATE_ROOT) -> bool:
    """Any part of a lab runs: its switch, or one of its machines."""
    return net.netns_exists(SWITCH_NETNS) or any(
        machines.is_on(_spec_from_dir(d)) for d in _machine_dirs(state_root))


def _check_not_half_there(loaded: LoadedSite, layout: LabLayout) -> None:
    recorded = _recorded(layout.state_dir)
    current = running_site(layout.state_dir)
    if current is not None and current != loaded.path.resolve():
        if is_running(layout.state_dir):
            if recorded.get("name") != loaded.site.name:
                raise UsageError("lab-other-site", f"a lab of {current} is up",
                                 fix="run `hastack lab down` first")
            # The same site in another file (an edited copy, grown or shrunk): machines it
            # adds are brought up; those it leaves out stay until `lab down`.
            log.info("lab of site %s now read from %s", loaded.site.name, loaded.path)
            return
        kept = [d.name for d in _machine_dirs(layout.state_dir)]
        if recorded.get("name") != loaded.site.name or \
                sorted(kept) != sorted(m.name for m in layout.machines):
            raise UsageError(
                "lab-other-site", f"a stopped lab of {current} keeps its machines' disks "
                f"under {layout.state_dir}",
                fix=f"`hastack lab up {current}` brings it back; `hastack lab down` removes it")
        log.info("lab of site %s moved from %s: brought back with its disks",
                 loaded.site.name, current)
    if current is None and (net.netns_exists(SWITCH_NETNS)
                            or any(net.netns_exists(m.netns) for m in layout.machines)):
        raise UsageError("lab-half-there", "lab namespaces exist but no lab is recorded: a "
                         "previous lab was left half there", fix="run `hastack lab down`")


def _check_addresses_free(layout: LabLayout) -> None:
    """A machine new to the lab may not take the address of one an earlier copy of the site
    brought up (its switch port, named by the address, is there): refused before anything."""
    if not net.netns_exists(SWITCH_NETNS):
        return
    ports = net.switch_ports()
    for machine in layout.machines:
        if machine.switch_port in ports and not net.netns_exists(machine.netns):
            raise UsageError(
                "lab-address-taken", f"{machine.name}'s address {machine.address} is the "
                "address of another machine of this lab (brought up from another copy of the "
                "site file)", fix=f"give {machine.name} another address, or run `hastack lab "
                "down` first")


def _bmc_pid_file(machine: MachineSpec) -> Path:
    return machine.dir / "bmc.pid"


BMC_MODULE = "hastack.lab.bmc"
PDU_MODULE = "hastack.lab.pdu"


def bmc_running(machine: MachineSpec) -> bool:
    return pids.running(_bmc_pid_file(machine), argv_has=BMC_MODULE) is not None


def start_bmc(layout: LabLayout, loaded: LoadedSite, machine: MachineSpec) -> None:
    if machine.bmc_address is None or bmc_running(machine):
        return
    log_file = (machine.dir / "bmc.out").open("ab")
    # nsenter --net, not `ip netns exec`: the latter remounts /sys without the cgroup
    # hierarchy, and the BMC must be able to boot machines with systemd-nspawn.
    proc = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{SWITCH_NETNS}", sys.executable, "-m",
         BMC_MODULE, str(layout.state_dir), str(loaded.path.resolve()), machine.name],
        stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True)
    log_file.close()
    _bmc_pid_file(machine).write_text(f"{proc.pid}\n")


def _kill(pid_file: Path, module: str) -> None:
    """SIGKILL of the lab's process recorded in ``pid_file``, never of a stranger that got
    its number after a host reboot. (nsenter execs python in place: the recorded PID is the
    server itself.)"""
    pid = pids.running(pid_file, argv_has=module)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def stop_bmc(machine: MachineSpec) -> None:
    _kill(_bmc_pid_file(machine), BMC_MODULE)


def _pdu_pid_file(layout: LabLayout, pdu: PduSpec) -> Path:
    return layout.pdu_dir / f"{pdu.name}.pid"


def start_pdu(layout: LabLayout, loaded: LoadedSite, pdu: PduSpec) -> None:
    """The lab PDU's SNMP agent, in the switch namespace like the BMCs (and for the same
    reason entered with nsenter: it boots machines)."""
    pid_file = _pdu_pid_file(layout, pdu)
    if pids.running(pid_file, argv_has=PDU_MODULE) is not None:
        return
    layout.pdu_dir.mkdir(parents=True, exist_ok=True)
    log_file = (layout.pdu_dir / f"{pdu.name}.out").open("ab")
    proc = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{SWITCH_NETNS}", sys.executable, "-m",
         PDU_MODULE, str(layout.state_dir), str(loaded.path.resolve()), pdu.name],
        stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True)
    log_file.close()
    pid_file.write_text(f"{proc.pid}\n")


def stop_pdus(state_root: Path) -> None:
    """Every lab PDU recorded under the state directory, by PID (no site file needed); its
    directory (outlet states, log) stays."""
    pdu_dir = state_root / "pdus"
    for pid_file in sorted(pdu_dir.glob("*.pid")) if pdu_dir.is_dir() else []:
        _kill(pid_file, PDU_MODULE)


def _ignore(what: object) -> None:
    del what


def up(loaded: LoadedSite, *, packages: Scope = "site", state_root: Path = STATE_ROOT,
       boot_timeout: float = 300, phase: Callable[[str], None] = _ignore,
       installing: Callable[[Installing], None] = _ignore) -> LabLayout:
    """Bring up every machine of the site, its network and its BMC; wait until booted.
    ``phase`` is told each part as it starts, ``installing`` how far the packages are.

    Raises:
        SiteError: not a lab site, not root, no overlayfs.
        UsageError: another lab, or a half-removed one, is there.
        ToolError, TransportError: a step failed (the message names it).
    """
    layout = lab_layout(loaded.site, state_root)
    check_host()
    ensure_inotify_instances(len(layout.machines))
    ensure_priorities_act()
    _check_not_half_there(loaded, layout)
    _check_addresses_free(layout)
    phase("the host's packages")
    ensure_image(loaded, packages, phase=phase, installing=installing)
    phase("the compute machines' own packages")
    debs = remote_debs(loaded, packages, state_root / "debs")
    ensure_secrets(loaded.secrets_path, bmc_refs(loaded))
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    _record(layout, loaded)
    net.create_switch(layout)
    for machine in layout.machines:
        phase(f"machine {machine.name}: its disk, link, power and BMC")
        machine.dir.mkdir(parents=True, exist_ok=True)
        machines.prepare_disk(layout, machine)
        net.attach_machine(layout, machine, MACHINE_SYSCTLS)
        machines.mount_root(machine)
        if not machines.is_on(machine):
            net.set_link(machine, up=True)
            machines.boot(machine)
        start_bmc(layout, loaded, machine)
    for pdu in layout.pdus:
        start_pdu(layout, loaded, pdu)
    deadline = time.monotonic() + boot_timeout
    for machine in layout.machines:
        phase(f"{machine.name}: waiting until its systemd has started")
        machines.wait_booted(machine, timeout=max(10.0, deadline - time.monotonic()))
        if machine.role is Role.COMPUTE and debs:
            phase(f"{machine.name}: {', '.join(d.name.split('_', 1)[0] for d in debs)}")
            machines.install_debs(machine, debs)
    return layout


def status(loaded: LoadedSite, state_root: Path = STATE_ROOT) -> list[MachineStatus]:
    layout = lab_layout(loaded.site, state_root)
    rows = []
    dead = net.dead_addresses() if net.netns_exists(SWITCH_NETNS) else set()
    for m in layout.machines:
        on = machines.is_on(m)
        state = "-"
        if on:
            pid = machines.pid1(m)
            state = run(["nsenter", "-t", str(pid), "-a", "systemctl", "is-system-running"],
                        check=False, timeout=20).stdout.strip() or "unknown"
        rows.append(MachineStatus(
            name=m.name, role=m.role.value, power="on" if on else "off",
            link="up" if net.netns_exists(m.netns) and net.link_is_up(m) else "down",
            address=str(m.address), bmc=str(m.bmc_address or "-"),
            bmc_running=bmc_running(m), systemd=state,
            bmc_answering=str(m.bmc_address) not in dead))
    return rows


def stop(state_root: Path = STATE_ROOT) -> list[str]:
    """Every machine off at once, as when the computer loses power: processes, mounts and
    namespaces go; the disks, the record of the site and the PDUs' outlets stay, and
    `lab up` brings the same machines back (a site-wide power return)."""
    specs = [_spec_from_dir(d) for d in _machine_dirs(state_root)]
    for spec in specs:  # every plug first, so no machine outlives another
        if (pid := machines.pid1(spec)) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for spec in specs:
        stop_bmc(spec)
        machines.power_off(spec)
        machines.unmount_root(spec)
        net.delete_machine_net(spec)
    stop_pdus(state_root)
    for name in _leftover_namespaces():
        run(["ip", "netns", "delete", name])
    net.delete_switch()
    return [s.name for s in specs]


def down(state_root: Path = STATE_ROOT, *, keep_disks: bool = False) -> list[str]:
    """Remove everything a lab created; works from the state directory alone: `stop`, then
    its files."""
    removed = stop(state_root)
    for dir in _machine_dirs(state_root):
        if not keep_disks:
            shutil.rmtree(dir)
        else:
            for item in dir.iterdir():
                if item.name != "upper":
                    shutil.rmtree(item) if item.is_dir() else item.unlink()
    shutil.rmtree(state_root / "pdus", ignore_errors=True)
    if not keep_disks:
        shutil.rmtree(state_root / "shared", ignore_errors=True)  # the controllers' shared dirs
    (state_root / "site.json").unlink(missing_ok=True)
    recorded_copy(state_root).unlink(missing_ok=True)
    return removed


def _leftover_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines()
            if line.strip() and line.split()[0].startswith("hs-")
            and line.split()[0] != SWITCH_NETNS]


def _spec_from_dir(dir: Path) -> MachineSpec:
    """Enough of a machine to take it down, from its directory (no site file needed)."""
    from ipaddress import IPv4Address

    return MachineSpec(name=dir.name, role=Role.CONTROLLER, address=IPv4Address("198.18.0.1"),
                       bmc_address=None, netns=f"hs-{dir.name}", switch_port="", dir=dir)


def power(loaded: LoadedSite, node: str, action: str, *,
          state_root: Path = STATE_ROOT) -> str:
    """Power a machine through its BMC, with the real ipmitool (the path fencing takes)."""
    layout = lab_layout(loaded.site, state_root)
    machine = layout.machine(node)
    if machine.bmc_address is None:
        raise UsageError("lab-no-bmc", f"{node} has no BMC", fix="gateways cannot be powered")
    user, password = bmc_credentials(loaded, node)
    # -E: ipmitool reads the password from IPMI_PASSWORD, never from argv.
    argv = ["ipmitool", "-I", "lanplus", "-H", str(machine.bmc_address), "-U", user, "-E",
            "chassis", "power", action]
    done = _run_in_switch_env(argv, {"IPMI_PASSWORD": password})
    return done.strip()


def set_bmc(loaded: LoadedSite, node: str, answering: bool, *,
            state_root: Path = STATE_ROOT) -> None:
    """``lab bmc dead|alive``: the node's BMC stops answering (as when it loses power with
    its node) or answers again. The machine itself is untouched."""
    machine = lab_layout(loaded.site, state_root).machine(node)
    if machine.bmc_address is None:
        raise UsageError("lab-no-bmc", f"{node} has no BMC", fix="gateways have no BMC")
    net.set_answering(str(machine.bmc_address), answering)


def set_pdu(loaded: LoadedSite, name: str, answering: bool) -> None:
    """``lab pdu dead|alive``: the whole PDU stops answering SNMP (its outlets keep their
    power), or answers again."""
    if name not in loaded.site.pdus:
        raise UsageError("lab-unknown-pdu", f"the site has no PDU '{name}'",
                         fix=f"PDUs of this site: {', '.join(loaded.site.pdus) or 'none'}")
    net.set_answering(str(loaded.site.pdus[name].address), answering)


def pdu_log(loaded: LoadedSite, name: str, *, state_root: Path = STATE_ROOT) -> str:
    """What the lab PDU switched (its log), for drills to show which level fenced a node."""
    try:
        return (lab_layout(loaded.site, state_root).pdu_dir / f"{name}.log").read_text()
    except OSError:
        return ""


def cut_power(loaded: LoadedSite, node: str, *, state_root: Path = STATE_ROOT) -> None:
    """The node's power supply fails: off at once, not through its BMC (which may be dead
    too), by the same steps a BMC's power off takes."""
    from hastack.lab.bmc import LabBmc

    LabBmc(lab_layout(loaded.site, state_root).machine(node)).power_off()


def _run_in_switch_env(argv: Sequence[str], env: dict[str, str]) -> str:
    return run(net.in_switch(*argv), shown=argv, env={**os.environ, **env}, timeout=60).stdout


def link(loaded: LoadedSite, node: str, up_: bool, *, state_root: Path = STATE_ROOT) -> None:
    net.set_link(lab_layout(loaded.site, state_root).machine(node), up=up_)


def partition(loaded: LoadedSite, groups: Sequence[Sequence[str]], *,
              state_root: Path = STATE_ROOT) -> None:
    layout = lab_layout(loaded.site, state_root)
    named = [n for g in groups for n in g]
    if len(groups) < 2 or len(set(named)) != len(named):
        raise UsageError("lab-bad-partition", "a partition needs two or more disjoint groups",
                         fix="write it as A,B / C")
    net.partition([[layout.machine(n) for n in g] for g in groups])


def heal() -> None:
    net.heal()


def enter_argv(loaded: LoadedSite, node: str, command: Sequence[str], *,
               state_root: Path = STATE_ROOT) -> list[str]:
    """argv that runs ``command`` inside a machine (for exec, shell and logs), in the
    machine's environment: the host's PATH found the host's python3 there (a machine's root
    is an overlay of the host's), and the host's variables are none of the machine's business;
    only TERM comes along, for an interactive shell."""
    machine = lab_layout(loaded.site, state_root).machine(node)
    pid = machines.pid1(machine)
    if pid is None:
        raise UsageError("lab-machine-off", f"{node} is powered off",
                         fix=f"hastack lab power on {node}")
    term = {"TERM": os.environ["TERM"]} if "TERM" in os.environ else {}
    env = [f"{name}={value}" for name, value in {**BASE_ENV, **term}.items()]
    return ["nsenter", "-t", str(pid), "-a", "env", "-i", *env, *command]

