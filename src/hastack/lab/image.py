"""The lab's image: the host root, with the Debian packages the site needs installed once.

Machines see the host root as their lower layer, so a package installed here appears in
every machine. Installing must not start daemons on the host: a policy-rc.d refusing every
start is in place while apt runs (the host has no systemd, so invoke-rc.d would use init
scripts). pacemaker-remote conflicts with pacemaker on Debian 12 and is never installed here:
compute machines get it inside their own disk (lab-notes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hastack.catalog.platform import site_packages_for
from hastack.process import run, run_reporting
from hastack.site.load import LoadedSite

log = logging.getLogger(__name__)

# What the lab itself uses: machines, the switch's partitions, BMC clients and fencing.
LAB_TOOLS = ("systemd-container", "nftables", "ipmitool", "fence-agents", "snmp", "iproute2",
             "dbus", "util-linux", "openssh-server", "openssh-client")
NEVER_ON_HOST = frozenset({"pacemaker-remote"})
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
APT_TIMEOUT = 3600

Scope = Literal["lab", "core", "site"]


def site_packages(loaded: LoadedSite, *, core_only: bool = False) -> list[str]:
    """Every package of every service the site places (or of its HA core), on this platform."""
    from hastack import catalog

    components: list[str] = list(catalog.BASE.service.packages)
    for entry in catalog.SERVICES:
        if core_only and entry.name not in catalog.CORE:
            continue
        if loaded.placement.has(entry.name):
            components += entry.service.packages
            components += entry.service.remote_packages
    packages = site_packages_for(loaded.site, components)
    return [p for p in packages if p not in NEVER_ON_HOST]


def missing(packages: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(packages))
    if not wanted:
        return []
    out = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *wanted],
              check=False).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}
    return [p for p in wanted if p not in installed]


@contextmanager
def no_daemon_starts() -> Iterator[None]:
    """policy-rc.d exit 101: Debian's maintainer scripts then start nothing."""
    existed = POLICY_RC_D.exists()
    if not existed:
        fd = os.open(POLICY_RC_D, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
        with os.fdopen(fd, "w") as out:
            out.write("#!/bin/sh\n# hastack lab: no daemon starts on the host\nexit 101\n")
    try:
        yield
    finally:
        if not existed:
            POLICY_RC_D.unlink(missing_ok=True)


@dataclass(frozen=True)
class AptStatus:
    """One line apt-get writes to its ``APT::Status-Fd`` (apt's doc/progress-reporting.md):
    ``kind`` dlstatus (a download), pmstatus (dpkg's work on ``item``, a package), pmerror or
    pmconffile; ``percent`` of the whole operation; ``text`` in apt's words ("Unpacking
    nova-api (amd64)", "Retrieving file 3 of 60")."""

    kind: str
    item: str
    percent: float
    text: str


def apt_status(line: str) -> AptStatus | None:
    """``line`` read, or None for a line of another kind (media-change) or a broken one."""
    parts = line.rstrip("\n").split(":", 3)  # the text may hold colons, the rest never does
    if len(parts) != 4 or parts[0] not in ("dlstatus", "pmstatus", "pmerror", "pmconffile"):
        return None
    try:
        percent = float(parts[2])
    except ValueError:
        return None
    return AptStatus(parts[0], parts[1], percent, parts[3])


@dataclass(frozen=True)
class Installing:
    """How far an installation is: ``done`` packages installed of ``total`` (dependencies
    included; None: not known), ``doing``: apt's words for what it does now."""

    done: int
    total: int | None
    doing: str


def apt_total(simulated: str) -> int | None:
    """How many packages ``apt-get install --simulate`` said it would install."""
    count = sum(line.startswith("Inst ") for line in simulated.splitlines())
    return count or None


class InstallCounter:
    """apt's status lines turned into Installing reports: a package counts once apt says
    "Installed" of it (its last step)."""

    def __init__(self, total: int | None, report: Callable[[Installing], None]) -> None:
        self.total = total
        self.report = report
        self.installed: set[str] = set()

    def __call__(self, line: str) -> None:
        status = apt_status(line)
        if status is None or status.item == "dpkg-exec":
            return
        if status.kind == "pmstatus" and status.text.startswith("Installed "):
            self.installed.add(status.item)
        self.report(Installing(len(self.installed), self.total, status.text))


def _ignore(what: object) -> None:
    del what


def ensure_image(loaded: LoadedSite, scope: Scope = "site", *,
                 phase: Callable[[str], None] = _ignore,
                 installing: Callable[[Installing], None] = _ignore) -> list[str]:
    """Install what is missing; returns the packages installed (none on a second run).
    ``phase`` is told what starts, ``installing`` how far apt is (it takes minutes on a
    fresh host: issue 17)."""
    wanted = list(LAB_TOOLS)
    if scope != "lab":
        wanted += site_packages(loaded, core_only=scope == "core")
    todo = missing(wanted)
    if not todo:
        return []
    log.info("image install packages=%s", " ".join(todo))
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["env", *(f"{k}={v}" for k, v in env.items()), "apt-get", "install", "-y", "-qq",
               "--no-install-recommends", *todo]
    with no_daemon_starts():
        phase("apt-get update")
        run(["apt-get", "update", "-qq"], timeout=APT_TIMEOUT)
        total = apt_total(run([*install, "--simulate"], check=False).stdout)
        phase(f"installing {len(todo)} packages on the host"
              + (f" ({total} with their dependencies)" if total else ""))
        run_reporting(lambda fd: [*install, "-o", f"APT::Status-Fd={fd}"],
                      InstallCounter(total, installing), timeout=APT_TIMEOUT)
    return todo


def remote_debs(loaded: LoadedSite, scope: Scope, cache: Path) -> list[Path]:
    """The packages compute machines install inside their own disk (those NEVER_ON_HOST the
    site's computes need), fetched once into ``cache`` as .debs."""
    from hastack.site.model import Role

    if scope != "site" or not any(n.role is Role.COMPUTE for n in loaded.site.nodes):
        return []
    from hastack import catalog

    components = [c for e in catalog.SERVICES if loaded.placement.has(e.name)
                  for c in e.service.remote_packages]
    wanted = [p for p in site_packages_for(loaded.site, components) if p in NEVER_ON_HOST]
    cache.mkdir(parents=True, exist_ok=True)
    debs = []
    for package in wanted:
        found = sorted(cache.glob(f"{package}_*.deb"))
        if not found:
            run(["sh", "-c", 'cd "$1" && apt-get download -qq "$2"', "download", str(cache),
                 package], timeout=APT_TIMEOUT)
            found = sorted(cache.glob(f"{package}_*.deb"))
        debs += found[-1:]
    return debs
