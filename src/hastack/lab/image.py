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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from hastack.catalog.platform import site_packages_for
from hastack.process import run
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


def ensure_image(loaded: LoadedSite, scope: Scope = "site") -> list[str]:
    """Install what is missing; returns the packages installed (none on a second run)."""
    wanted = list(LAB_TOOLS)
    if scope != "lab":
        wanted += site_packages(loaded, core_only=scope == "core")
    todo = missing(wanted)
    if not todo:
        return []
    log.info("image install packages=%s", " ".join(todo))
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    with no_daemon_starts():
        run(["apt-get", "update", "-qq"], timeout=APT_TIMEOUT)
        run(["env", *(f"{k}={v}" for k, v in env.items()), "apt-get", "install", "-y", "-qq",
             "--no-install-recommends", *todo], timeout=APT_TIMEOUT)
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
