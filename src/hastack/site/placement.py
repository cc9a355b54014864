"""Placement: which cluster runs which service, who its members are, and every VIP's address.

Collapsed puts every service on one cluster of all controllers; segregated and mixed follow
the site's ``clusters`` map, where ``'*'`` stands for every service not placed elsewhere.
The site layer never imports the catalog: the catalog's services come in as ``ServiceSpec``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Protocol

from hastack.site.model import COLLAPSED_CLUSTER, Cluster, Node, Role, Site, Topology

WILDCARD = "*"


class ServiceSpec(Protocol):
    """What placement and validation need to know of a catalog service."""

    @property
    def name(self) -> str: ...
    @property
    def toggle(self) -> str | None: ...
    @property
    def requires(self) -> tuple[str, ...]: ...
    @property
    def vips(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ClusterPlacement:
    name: str
    members: tuple[str, ...]
    services: tuple[str, ...]
    remotes: tuple[str, ...] = ()  # compute nodes joining as pacemaker_remote nodes


@dataclass(frozen=True)
class Placement:
    clusters: tuple[ClusterPlacement, ...]
    service_cluster: Mapping[str, str]
    vips: Mapping[str, IPv4Address]
    # A service moving between clusters (deploy/moves.py): the members of the cluster it is
    # leaving, which keep serving behind HAProxy until its new members answer.
    serving_also: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def cluster(self, name: str) -> ClusterPlacement:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def cluster_of(self, service: str) -> ClusterPlacement:
        return self.cluster(self.service_cluster[service])

    def has(self, service: str) -> bool:
        return service in self.service_cluster

    def backends_of(self, service: str) -> tuple[str, ...]:
        """The nodes HAProxy sends ``service``'s requests to."""
        members = self.cluster_of(service).members
        return members + tuple(n for n in self.serving_also.get(service, ())
                               if n not in members)


def is_enabled(spec: ServiceSpec, site: Site) -> bool:
    """Core services always run; optional ones follow their toggle; compute needs computes."""
    if spec.toggle is None:
        return True
    if spec.toggle == "compute":
        return bool(site.nodes_with(Role.COMPUTE))
    return bool(getattr(site.services, spec.toggle))


def effective_clusters(site: Site) -> dict[str, Cluster]:
    """The clusters map with collapsed's implicit single cluster filled in."""
    if site.clusters or site.topology is not Topology.COLLAPSED:
        return dict(site.clusters)
    controllers = tuple(n.name for n in site.nodes_with(Role.CONTROLLER))
    return {COLLAPSED_CLUSTER: Cluster(nodes=controllers, services=(WILDCARD,))}


def assign_services(site: Site, services: Sequence[ServiceSpec]) -> dict[str, str]:
    """service name -> cluster name, for enabled services that a cluster claims."""
    clusters = effective_clusters(site)
    enabled = [s.name for s in services if is_enabled(s, site)]
    assigned: dict[str, str] = {}
    for cluster_name, cluster in clusters.items():
        for name in cluster.services:
            if name != WILDCARD and name in enabled:
                assigned.setdefault(name, cluster_name)
    wildcard = [n for n, c in clusters.items() if WILDCARD in c.services]
    if wildcard:
        for name in enabled:
            assigned.setdefault(name, wildcard[0])
    return assigned


def tunnel_address(site: Site, node: Node) -> IPv4Address:
    """Where the node's VXLAN tunnels end: on ``networks.tunnel``, the host part of its
    internal address (198.18.0.11 in 198.18.0.0/24, tunnel 198.18.2.0/24: 198.18.2.11);
    without a tunnel network, its internal address."""
    tunnel = site.networks.tunnel
    if tunnel is None:
        return node.address
    host = int(node.address) & int(site.networks.internal.hostmask)
    return tunnel.network_address + (host & int(tunnel.hostmask))


def vip_names(site: Site, services: Sequence[ServiceSpec],
              assigned: Mapping[str, str]) -> list[str]:
    """VIP names needed by the placed services, in catalog order."""
    names: list[str] = []
    for spec in services:
        if spec.name in assigned:
            names.extend(v for v in spec.vips if v not in names)
    return names


def vip_pool(site: Site) -> list[IPv4Address]:
    if not site.networks.vip_range:
        return []
    first, last = (IPv4Address(p) for p in site.networks.vip_range.split("-"))
    return [IPv4Address(i) for i in range(int(first), int(last) + 1)]


def used_addresses(site: Site) -> set[IPv4Address]:
    used = {n.address for n in site.nodes}
    used |= {n.fencing.address for n in site.nodes if n.fencing and n.fencing.address}
    used |= {p.address for p in site.pdus.values()}
    used |= set(site.networks.vips.values())
    return used


def allocate_vips(site: Site, names: Sequence[str],
                  every_name: Sequence[str]) -> dict[str, IPv4Address]:
    """Explicit VIPs first, the rest from the range, skipping addresses in use.

    When the range has an address for every VIP name the catalog knows (``every_name``), each
    name keeps its own slot, so turning a service on or off moves no other VIP; a smaller range
    is packed in order."""
    vips = {n: site.networks.vips[n] for n in names if n in site.networks.vips}
    used = used_addresses(site)
    free = [a for a in vip_pool(site) if a not in used]
    wanted = [n for n in names if n not in vips]
    if len(free) >= len(every_name) and set(wanted) <= set(every_name):
        slot = {name: i for i, name in enumerate(every_name)}
        return vips | {n: free[slot[n]] for n in wanted}
    return vips | dict(zip(wanted, free, strict=False))


def place(site: Site, services: Sequence[ServiceSpec]) -> Placement:
    """Place a validated site's services on its clusters (see ``rules.validate``)."""
    clusters = effective_clusters(site)
    assigned = assign_services(site, services)
    compute_cluster = assigned.get("compute")
    remotes = tuple(n.name for n in site.nodes_with(Role.COMPUTE))
    placed = tuple(
        ClusterPlacement(
            name=name,
            members=cluster.nodes,
            services=tuple(s.name for s in services if assigned.get(s.name) == name),
            remotes=remotes if name == compute_cluster else (),
        )
        for name, cluster in clusters.items()
    )
    return Placement(clusters=placed, service_cluster=assigned,
                     vips=allocate_vips(site, vip_names(site, services, assigned),
                                        _every_vip_name(services)))


def _every_vip_name(services: Sequence[ServiceSpec]) -> list[str]:
    return list(dict.fromkeys(v for spec in services for v in spec.vips))
