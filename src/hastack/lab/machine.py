"""Lab machines: systemd-nspawn over an overlay of the host root, one network namespace each.

Measured recipe (lab-notes): the host root is the overlay's lower layer, each machine's upper
dir is its disk; nspawn needs --register=no --keep-unit; power-off is SIGKILL of the machine's
PID 1 (killing nspawn alone leaves a rogue machine) with its link taken down, so the kernel
stops answering ARP for addresses it held.
"""

from __future__ import annotations

import logging
import os
import pwd
import signal
import subprocess
import time
import uuid
from pathlib import Path

from hastack.catalog import cinder, glance
from hastack.errors import TransportError
from hastack.lab import pids
from hastack.lab.layout import LabLayout, MachineSpec
from hastack.process import run
from hastack.site.model import Role

log = logging.getLogger(__name__)

# Host-enabled units must not start in machines: the machine's copies of these dirs are
# made opaque (lab-notes), and what a machine needs is enabled in its own upper dir.
HIDDEN_WANTS = ("multi-user.target.wants", "timers.target.wants", "getty.target.wants",
                "sysinit.target.wants", "sockets.target.wants")
MASKED_UNITS = ("openipmi.service", "postgresql.service", "apt-daily.service",
                "apt-daily-upgrade.service", "systemd-timesyncd.service")
# Generators run on every systemd reload, and Pacemaker reloads a node's systemd at every
# start and stop of a systemd resource: some 40 in a row when a controller rejoins, each
# behind the last (1.2-1.6 s apiece under the rejoin's load). A machine needs none of them:
# they serve the host's disks, consoles and init scripts, and every unit the lab runs is a
# package's own (the sysv generator found only stunnel4's script, a daemon the lab never
# runs; swift's generators act only on multi-instance configs, which hastack does not write).
GENERATORS = Path("/lib/systemd/system-generators")
OPAQUE_XATTR = "trusted.overlay.opaque"
# Storage every controller shares, as the site's shared storage would on real hosts (the lab
# has no NFS server: a kernel NFS export cannot be made inside a machine): one host dir,
# bind-mounted into each controller. Path in the machines -> owner: glance's images, and
# cinder's volumes (the lab's file backend: a volume stays where cinder-volume moves).
SHARED_DIRS = {glance.IMAGES: "glance", cinder.LAB_VOLUMES: "cinder"}
NSPAWN = "systemd-nspawn"


def _pid_file(machine: MachineSpec, name: str) -> Path:
    return machine.dir / f"{name}.pid"


def pid1(machine: MachineSpec) -> int | None:
    """The host PID of the machine's systemd, when it is running."""
    return pids.running(_pid_file(machine, "init"), namespace_init=True)


def _nspawn(machine: MachineSpec) -> int | None:
    return pids.running(_pid_file(machine, "nspawn"), comm="systemd-nspawn")


def is_on(machine: MachineSpec) -> bool:
    return pid1(machine) is not None


def prepare_disk(layout: LabLayout, machine: MachineSpec) -> None:
    """The machine's own upper dir: identity, hosts, host units kept from starting, and
    systemd's generators masked (written while the machine is off: a disk made before this
    gets them at its next start)."""
    etc = machine.upper / "etc"
    units = etc / "systemd" / "system"
    if not os.path.ismount(machine.root):  # an upper dir is not written under its overlay
        _mask_generators(etc / "systemd" / "system-generators")  # a disk made before too
    if (etc / "machine-id").exists():
        return
    units.mkdir(parents=True, exist_ok=True)
    machine.work.mkdir(parents=True, exist_ok=True)
    machine.root.mkdir(parents=True, exist_ok=True)
    # Each machine needs its own machine-id ("Host and machine ids are equal", lab-notes).
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    (etc / "hostname").write_text(machine.name + "\n")
    hosts = ["127.0.0.1 localhost", f"127.0.1.1 {machine.name}"]
    hosts += [f"{m.address} {m.name}" for m in layout.machines]
    (etc / "hosts").write_text("\n".join(hosts) + "\n")
    for wants in HIDDEN_WANTS:
        path = units / wants
        path.mkdir(exist_ok=True)
        os.setxattr(path, OPAQUE_XATTR, b"y")
    for unit in MASKED_UNITS:
        link = units / unit
        if not link.is_symlink():
            link.symlink_to("/dev/null")


def _mask_generators(masks: Path) -> None:
    masks.mkdir(parents=True, exist_ok=True)
    for generator in sorted(GENERATORS.iterdir()) if GENERATORS.is_dir() else []:
        link = masks / generator.name
        if not link.is_symlink():
            link.symlink_to("/dev/null")


def mount_root(machine: MachineSpec) -> None:
    if os.path.ismount(machine.root):
        return
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir=/,upperdir={machine.upper},workdir={machine.work}", str(machine.root)])


def unmount_root(machine: MachineSpec) -> None:
    if os.path.ismount(machine.root):
        run(["umount", str(machine.root)])


def _shared_binds(machine: MachineSpec) -> list[str]:
    if machine.role is not Role.CONTROLLER:
        return []
    binds = []
    for path, owner in SHARED_DIRS.items():
        try:
            account = pwd.getpwnam(owner)
        except KeyError:
            continue  # the service is not installed in the image
        host_dir = machine.dir.parent.parent / "shared" / path.strip("/").replace("/", "-")
        host_dir.mkdir(parents=True, exist_ok=True)
        os.chown(host_dir, account.pw_uid, account.pw_gid)
        binds.append(f"--bind={host_dir}:{path}")
    return binds


def boot(machine: MachineSpec, *, timeout: float = 60) -> int:
    """Start the machine's systemd; returns its host PID once it exists.

    Raises:
        TransportError: nspawn exited or PID 1 did not appear in time (see console.log).
    """
    if (pid := pid1(machine)) is not None:
        return pid
    console = machine.console.open("ab")
    proc = subprocess.Popen(
        [NSPAWN, "--quiet", "--register=no", "--keep-unit", "--boot",
         "--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_TIME",
         f"--directory={machine.root}", f"--network-namespace-path=/run/netns/{machine.netns}",
         f"--machine={machine.name}", *_shared_binds(machine)],
        stdin=subprocess.DEVNULL, stdout=console, stderr=console, start_new_session=True,
        # neutron's agents set forwarding in the namespaces they create; only the machine's
        # own network sysctls become writable, the rest of /proc/sys stays read-only.
        env={**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"})
    console.close()
    _pid_file(machine, "nspawn").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child = _init_child(proc.pid)
        if child is not None:
            _pid_file(machine, "init").write_text(f"{child}\n")
            return child
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise TransportError(machine.name, "the machine did not start",
                         fix=f"see {machine.console}")


def _init_child(nspawn_pid: int) -> int | None:
    """nspawn's child whose PID in its own namespace is 1: the machine's systemd."""
    try:
        children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children").read_text().split()
    except OSError:
        return None
    for child in children:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:") and line.split()[-1] == "1" and len(line.split()) > 2:
                return int(child)
    return None


def power_off(machine: MachineSpec, *, timeout: float = 30) -> None:
    """Pull the plug: SIGKILL of PID 1 takes every process of the machine with it."""
    pid = pid1(machine)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (pid1(machine) or _nspawn(machine)):
        time.sleep(0.05)
    if pid1(machine):
        raise TransportError(machine.name, "the machine's PID 1 survived SIGKILL")
    _pid_file(machine, "init").unlink(missing_ok=True)


def wait_booted(machine: MachineSpec, *, timeout: float = 180) -> str:
    """Wait until the machine's systemd has finished starting; returns its state.

    Raises:
        TransportError: naming the state it was left in.
    """
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        pid = pid1(machine)
        if pid is None:
            raise TransportError(machine.name, "the machine is powered off while waiting for "
                                 "it to boot")
        left = max(1.0, deadline - time.monotonic())
        done = run(["nsenter", "-t", str(pid), "-a", "systemctl", "is-system-running",
                    "--wait"], check=False, timeout=left + 5)
        state = done.stdout.strip() or state
        if state in ("running", "degraded"):
            return state
        time.sleep(0.5)
    raise TransportError(machine.name, f"systemd did not finish booting within {timeout:.0f} "
                         f"s (state: {state})", fix=f"see {machine.console}")


def install_debs(machine: MachineSpec, debs: list[Path]) -> list[str]:
    """Install .debs inside a running machine's own disk, once. They conflict with what the
    host image has (pacemaker-remote vs pacemaker): the conflicting package is removed inside
    the machine only, its files hidden by the machine's overlay (lab-notes)."""
    pid = pid1(machine)
    if pid is None or not debs:
        return []
    inside = ["nsenter", "-t", str(pid), "-a"]
    installed = []
    for deb in debs:
        package = deb.name.split("_", 1)[0]
        state = run([*inside, "dpkg-query", "-W", "-f", "${db:Status-Status}", package],
                    check=False).stdout.strip()
        if state == "installed":
            continue
        target = machine.root / "var" / "cache" / "hastack" / deb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(deb.read_bytes())
        conflicts = run(["dpkg-deb", "-f", str(deb), "Conflicts"]).stdout
        for other in (c.strip().split()[0] for c in conflicts.split(",") if c.strip()):
            run([*inside, "dpkg", "--remove", "--force-depends", other], check=False,
                timeout=300)
        run([*inside, "env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "-i",
             f"/var/cache/hastack/{deb.name}"], timeout=300)
        installed.append(package)
    return installed
