"""A cluster as the simulator sees it: its model, members, remotes, and who owns what.

The CIB is derived from the model, so a test may mutate the model (drop a constraint, turn a
primitive into a clone) and simulate exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hastack.catalog.cib_model import REMOTE_AGENT, Clone, Colocation, Order, Primitive, Resource
from hastack.catalog.contract import CatalogEntry, Listener, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.render.cib import ClusterModel, cib_text
from hastack.render.site import SiteRendering, site_listeners
from hastack.site.model import Site
from hastack.site.placement import Placement


@dataclass(frozen=True)
class SimCluster:
    """One cluster to simulate. ``services`` maps primitive ids to catalog service names."""

    model: ClusterModel
    services: Mapping[str, str] = field(default_factory=dict)
    listeners: tuple[Listener, ...] = ()

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self.model.node_ids)

    @property
    def remotes(self) -> tuple[str, ...]:
        return self.model.remotes

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.members + self.remotes

    @property
    def cib(self) -> str:
        """Every member online and quorate; nothing running yet (a cold cluster)."""
        return cib_text(self.model, online=True)

    @property
    def whys(self) -> dict[tuple[str, str, str], str]:
        """The catalog's reasons for its orders and colocations (for explanations)."""
        out: dict[tuple[str, str, str], str] = {}
        for con in self.model.constraints:
            if isinstance(con, Order) and con.why:
                out[("order", con.first, con.then)] = con.why
            elif isinstance(con, Colocation) and con.why:
                out[("colocation", con.rsc, con.with_rsc)] = con.why
        return out

    def primitives(self) -> tuple[Primitive, ...]:
        return tuple(r.primitive if isinstance(r, Clone) else r for r in self.model.resources)

    def resource(self, ref: str) -> Resource | None:
        """By configured id (clone or primitive) or by the primitive inside a clone."""
        for rsc in self.model.resources:
            if ref == rsc.id or (isinstance(rsc, Clone) and ref == rsc.primitive.id):
                return rsc
        return None

    def configured_id(self, primitive: str) -> str:
        rsc = self.resource(primitive)
        return rsc.id if rsc is not None else primitive

    def primitive_id(self, ref: str) -> str:
        rsc = self.resource(ref)
        if isinstance(rsc, Clone):
            return rsc.primitive.id
        return ref

    def is_clone(self, ref: str) -> bool:
        return isinstance(self.resource(ref), Clone)

    def is_promotable(self, ref: str) -> bool:
        rsc = self.resource(ref)
        return isinstance(rsc, Clone) and rsc.promotable

    def is_stonith(self, ref: str) -> bool:
        rsc = self.resource(ref)
        return isinstance(rsc, Primitive) and rsc.is_stonith

    def is_remote_connection(self, ref: str) -> bool:
        rsc = self.resource(ref)
        return isinstance(rsc, Primitive) and rsc.agent == REMOTE_AGENT

    def service_of(self, ref: str) -> str:
        return self.services.get(self.primitive_id(ref), "cluster")


def _resources(entry: CatalogEntry, ctx: ServiceContext) -> list[Resource]:
    return [r for r in entry.resources(ctx) if isinstance(r, Primitive | Clone)]


def sim_clusters(site: Site, placement: Placement, rendering: SiteRendering,
                 base: CatalogEntry, catalog: Sequence[CatalogEntry]) -> tuple[SimCluster, ...]:
    """Every rendered cluster with its resources' owners and the listeners it serves."""
    platform = platform_info(site.platform.value)
    listeners = site_listeners(site, placement, catalog)
    out: list[SimCluster] = []
    for cluster in rendering.clusters:
        owners: dict[str, str] = {}
        base_ctx = ServiceContext(site=site, placement=placement, service=base.name,
                                  platform=platform, cluster_name=cluster.name)
        for rsc in _resources(base, base_ctx):
            owners[rsc.primitive.id if isinstance(rsc, Clone) else rsc.id] = base.name
        for entry in catalog:
            if entry.name not in placement.cluster(cluster.name).services:
                continue
            ctx = ServiceContext(site=site, placement=placement, service=entry.name,
                                 platform=platform)
            for rsc in _resources(entry, ctx):
                owners[rsc.primitive.id if isinstance(rsc, Clone) else rsc.id] = entry.name
        # A VIP belongs to the service answering on it (vip-keystone -> keystone), not to
        # the load balancer that happens to hold it.
        for entry in catalog:
            for vip in entry.vips:
                if f"vip-{vip}" in owners:
                    owners[f"vip-{vip}"] = entry.name
        prims = set(owners)
        mine = tuple(x for x in listeners if f"vip-{x.vip}" in prims or x.name in prims)
        out.append(SimCluster(model=cluster.model, services=owners, listeners=mine))
    return tuple(out)
