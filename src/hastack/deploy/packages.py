"""Packages on a node: what its services need, installed where missing (real hosts; lab
machines share the host's image, so there this finds nothing to do)."""

from __future__ import annotations

from collections.abc import Sequence

from hastack.catalog.contract import CatalogEntry
from hastack.catalog.platform import site_packages_for
from hastack.site.load import LoadedSite
from hastack.site.model import Role
from hastack.transport.base import Transport

APT_TIMEOUT = 3600
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def node_packages(loaded: LoadedSite, base: CatalogEntry, catalog: Sequence[CatalogEntry],
                  node: str) -> list[str]:
    """Controllers: the cluster base plus every service placed on a cluster they belong to;
    compute nodes: the pacemaker_remote side of the services that reach them."""
    role = next(n.role for n in loaded.site.nodes if n.name == node)
    placement = loaded.placement
    components: list[str] = []
    if role is Role.CONTROLLER:
        components += base.service.packages
    for entry in catalog:
        if not placement.has(entry.name):
            continue
        if role is Role.COMPUTE:
            components += entry.service.remote_packages
        elif node in placement.cluster_of(entry.name).members:
            components += entry.service.packages
    return list(site_packages_for(loaded.site, components))


async def missing_on(node: Transport, packages: Sequence[str]) -> list[str]:
    if not packages:
        return []
    listed = await node.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n",
                             *packages])
    installed = {line.split()[0] for line in listed.stdout.splitlines()
                 if line.endswith(" installed")}
    return [p for p in packages if p not in installed]


async def install(node: Transport, packages: Sequence[str]) -> None:
    (await node.run(["apt-get", "update", "-qq"], env=APT_ENV, timeout=APT_TIMEOUT)).check()
    (await node.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                    env=APT_ENV, timeout=APT_TIMEOUT)).check()
