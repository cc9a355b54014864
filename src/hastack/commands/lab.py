"""The lab: several machines on this computer (systemd-nspawn + netns), their power, links,
BMCs and PDUs. Every command here needs root on a Debian 12 host."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hastack.commands.session import Session
from hastack.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hastack.lab.control import MachineStatus
    from hastack.lab.image import Scope

DEFAULT_SITE = Path("examples/lab.yaml")
PACKAGES: dict[str, Scope] = {"site": "site", "core": "core", "lab": "lab"}


def lab_session(site: Path | None, *, or_recorded_copy: bool = False) -> Session:
    """``site``, else the site file the lab was brought up from, else the default. When that
    file has moved, ``or_recorded_copy`` reads the copy the lab keeps (what needs no secrets:
    status); anything else is told to name the file.

    Raises:
        UsageError: the running lab's site file is gone and a copy will not do.
    """
    from hastack import catalog
    from hastack.lab.control import recorded_copy, running_site

    recorded = running_site()
    if site is None and recorded is not None and not recorded.exists():
        if or_recorded_copy and recorded_copy().exists():
            return Session.of(catalog.load(recorded_copy()))
        raise UsageError("lab-site-moved", f"the lab's site file {recorded} is gone",
                         fix="name where it is now: --site PATH (or `hastack lab up PATH`)")
    return Session(site or recorded or DEFAULT_SITE)


@dataclass(frozen=True)
class LabStatus:
    site: str
    machines: tuple[MachineStatus, ...]


def status(session: Session) -> LabStatus:
    """Machines, power, links, addresses and BMCs."""
    from hastack.lab import control

    return LabStatus(session.loaded.site.name, tuple(control.status(session.loaded)))


def up(session: Session, *, packages: str = "site") -> LabStatus:
    """The lab's machines, network and BMCs brought up (no change on a running lab);
    ``packages``: site (every package the site needs, on the host's image), core (the HA
    core's) or lab (the lab's own tools only)."""
    from hastack.lab import control

    if packages not in PACKAGES:
        raise UsageError("usage", f"--packages {packages}: expected site, core or lab",
                         fix="see --help")
    watch = session.watch
    control.up(session.loaded, packages=PACKAGES[packages], phase=watch.phase,
               installing=lambda i: watch.counted("packages", i.done, i.total, i.doing))
    return status(session)


def down(*, keep_disks: bool = False) -> list[str]:
    """Everything the lab created removed: processes, mounts, namespaces, directories."""
    from hastack.lab import control

    return control.down(keep_disks=keep_disks)


def stop() -> list[str]:
    """Every machine off at once, disks kept: as when this computer loses power."""
    from hastack.lab import control

    return control.stop()


def power(session: Session, node: str, action: str) -> str:
    """A machine powered on, off or cycled through its BMC (IPMI, as fence_ipmilan does), or
    its power state."""
    from hastack.lab import control

    if action not in ("on", "off", "cycle", "status"):
        raise UsageError("usage", f"power {action}: expected on, off, cycle or status",
                         fix="see --help")
    return control.power(session.loaded, node, action)


def fault_switch(session: Session, kind: str, name: str, *, on: bool) -> None:
    """A lab fault switched: ``kind`` bmc (a machine's BMC answers or not), pdu (a PDU answers
    SNMP or not; its outlets stay powered) or link (a machine's cable in or out).

    Raises:
        UsageError: an unknown kind, or a machine or PDU the lab does not have.
    """
    from hastack.lab import control

    loaded = session.loaded
    if kind == "bmc":
        control.set_bmc(loaded, name, on)
    elif kind == "pdu":
        control.set_pdu(loaded, name, on)
    elif kind == "link":
        control.link(loaded, name, on)
    else:
        raise UsageError("usage", f"no lab fault switch '{kind}'", fix="bmc, pdu or link")


def partition(session: Session, groups: Sequence[Sequence[str]]) -> None:
    """All traffic between the groups dropped, both ways."""
    from hastack.lab import control

    control.partition(session.loaded, groups)


def heal() -> None:
    from hastack.lab import control

    control.heal()


def enter_argv(session: Session, node: str, command: Sequence[str]) -> list[str]:
    """The argv that runs ``command`` inside a machine (the CLI execs it)."""
    from hastack.lab import control

    return list(control.enter_argv(session.loaded, node, command))


@dataclass(frozen=True)
class Access:
    """How to reach the lab's cloud: (what, how) pairs."""

    lines: tuple[tuple[str, str], ...]


def access(session: Session) -> Access:
    from hastack.catalog import tls
    from hastack.catalog.keystone import OPENRC
    from hastack.site.model import Role

    loaded = session.loaded
    vips = loaded.placement.vips
    controller = next(n.name for n in loaded.site.nodes if n.role is Role.CONTROLLER)
    lines: list[tuple[str, str]] = []
    if "horizon" in vips:
        url = f"{tls.scheme(loaded.site)}://{vips['horizon']}"
        lines.append(("dashboard", f"{url}/  (user admin; on the lab network only: e.g. "
                      f"hastack lab exec {controller} -- curl -s {url}/auth/login/)"))
    if tls.enabled(loaded.site):
        lines.append(("site CA", f"{tls.ca_path(loaded.site)} on every node (trusted there; "
                      "its certificate signed every VIP's)"))
    if "keystone" in vips:
        lines += [("admin openrc", f"{OPENRC} on every controller (mode 0600; the password "
                   "is in it and in the site's secrets file)"),
                  ("openstack", f"hastack lab exec {controller} -- bash -c '. {OPENRC} && "
                   "openstack server list'"),
                  ("a shell", f"hastack lab shell {controller}   (then: . {OPENRC})")]
    else:
        lines.append(("keystone", "none in this site: no OpenStack to reach"))
    return Access(tuple(lines))
