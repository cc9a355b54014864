"""Render a whole placed site: per cluster a CIB, corosync.conf and haproxy.cfg; per node files.

Cross-service constraints whose resources live on another cluster are dropped here (and
reported), which is how a segregated site loses the collapsed cluster's cross-service
ordering, exactly as in the guide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hastack.catalog import tls
from hastack.catalog.cib_model import (
    REMOTE_AGENT,
    Alert,
    CibSetting,
    Clone,
    ClusterProperty,
    Constraint,
    Location,
    NodeAttribute,
    Primitive,
    Resource,
    ResourceDefault,
)
from hastack.catalog.contract import CatalogEntry, HostUnit, Listener, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.secret_text import Text
from hastack.catalog.steps import ConfigFile, text_file
from hastack.errors import PlanError
from hastack.render.cib import ClusterModel, cib_text, resource_refs
from hastack.render.corosync import node_ids, render_corosync
from hastack.render.haproxy import render_haproxy, serves_tls
from hastack.render.hosted import restart_dropins
from hastack.render.ini import render_ini
from hastack.render.pacemaker_units import pacemaker_unit_files
from hastack.render.priority import Tier, priority_files, tier
from hastack.site.model import Site
from hastack.site.placement import ClusterPlacement, Placement

LOADBALANCER = "loadbalancer"
CONTROLLER_RULE = (("osprole", "eq", "controller"),)


@dataclass(frozen=True)
class RenderedFile:
    """A file for one node; ``text`` keeps secrets as references until a writer resolves them."""

    node: str
    path: str
    owner: str
    group: str
    mode: int
    text: Text
    service: str
    together: bool = False  # see ConfigFile.together
    readers: tuple[str, ...] = ()  # see ConfigFile.readers
    restart: bool = True  # see ConfigFile.restart


@dataclass(frozen=True)
class ClusterRendering:
    model: ClusterModel
    cib: str
    corosync: str
    haproxy: str | None
    dropped: tuple[Constraint, ...]  # cross-cluster constraints left out
    host_units: tuple[HostUnit, ...] = ()  # run by systemd on every member (manages: core)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def cib_online(self) -> str:
        """The CIB with every member online: what crm_verify and crm_simulate should judge."""
        return cib_text(self.model, online=True)


@dataclass(frozen=True)
class SiteRendering:
    clusters: tuple[ClusterRendering, ...]
    files: tuple[RenderedFile, ...]

    def cluster(self, name: str) -> ClusterRendering:
        return next(c for c in self.clusters if c.name == name)

    def files_for(self, node: str) -> tuple[RenderedFile, ...]:
        return tuple(f for f in self.files if f.node == node)

    @property
    def host_units(self) -> tuple[HostUnit, ...]:
        return tuple(u for c in self.clusters for u in c.host_units)


def _file(cfg: ConfigFile) -> RenderedFile:
    if cfg.ini is not None:
        text = render_ini(cfg.ini)
    elif cfg.text is not None:
        text = cfg.text
    else:
        text = Text(())
    return RenderedFile(node=cfg.node, path=cfg.path, owner=cfg.owner, group=cfg.group,
                        mode=cfg.mode, text=text, service=cfg.service, together=cfg.together,
                        readers=cfg.readers, restart=cfg.restart)


def _controller_locations(resources: Sequence[Resource]) -> list[Location]:
    """With compute nodes in the cluster, pin every control-plane resource to controllers
    and probe it only there (guide, controller-managed.scenario step 6)."""
    return [Location(r.id, score="0", rule=CONTROLLER_RULE, resource_discovery="exclusive")
            for r in resources
            if r.runs_on == "controller"
            and not (isinstance(r, Primitive) and (r.is_stonith or r.agent == REMOTE_AGENT))]


def _bounded_clones(resources: Sequence[Resource], members: int) -> list[Resource]:
    """With remote nodes, an unbounded controller clone gets one instance per node, computes
    included, and Pacemaker's scheduler weighs each on every node: ~60 s per transition at 100
    computes instead of ~1 s (found by hastack simulate; bench/simulate.py)."""
    return [replace(r, meta=(*r.meta, ("clone-max", str(members))))
            if isinstance(r, Clone) and r.runs_on == "controller"
            and all(k != "clone-max" for k, _ in r.meta) else r
            for r in resources]


def _split(items: Sequence[Resource | CibSetting]) -> tuple[list[Resource], list[CibSetting]]:
    resources = [i for i in items if isinstance(i, Primitive | Clone)]
    settings = [i for i in items if not isinstance(i, Primitive | Clone)]
    return resources, settings


def _tiers(entry: CatalogEntry, ctx: ServiceContext, resources: Sequence[Resource]
           ) -> list[tuple[Tier, list[Resource]]]:
    """The service's resources by priority tier: those serving requests (its API units)
    apart from its workers and agents."""
    apis, own = entry.api_units(ctx), entry.service

    def serves(rsc: Resource) -> bool:
        return (rsc.primitive if isinstance(rsc, Clone) else rsc).systemd_unit in apis

    return [(tier(own.failover, own.first, api), [r for r in resources if serves(r) == api])
            for api in (False, True)]


def _check_unique(resources: Sequence[Resource], cluster: str) -> None:
    seen: set[str] = set()
    for rid in [r.id for r in resources] + [r.primitive.id for r in resources
                                             if isinstance(r, Clone)]:
        if rid in seen:
            raise PlanError("render-duplicate-resource-id",
                            f"two resources of cluster {cluster} are both called '{rid}'",
                            fix="ids come from catalog.cib_model.resource_id: give one a role")
        seen.add(rid)


@dataclass(frozen=True)
class _Built:
    model: ClusterModel
    files: list[ConfigFile]
    dropped: tuple[Constraint, ...]
    host_units: tuple[HostUnit, ...]


def _hosted_everywhere(site: Site, placement: Placement,
                       catalog: Sequence[CatalogEntry]) -> set[str]:
    """Every clone id systemd runs instead of Pacemaker, on any cluster: constraints naming
    one are not cross-cluster, they have nothing to order."""
    platform = platform_info(site.platform.value)
    return {u.id for e in catalog if placement.has(e.name)
            for u in e.host_units(ServiceContext(site=site, placement=placement,
                                                 service=e.name, platform=platform))}


def _cluster_model(site: Site, placement: Placement, cluster: ClusterPlacement,
                   base: CatalogEntry, catalog: Sequence[CatalogEntry]) -> _Built:
    platform = platform_info(site.platform.value)
    contexts = [(base, ServiceContext(site=site, placement=placement, service=base.name,
                                      platform=platform, cluster_name=cluster.name))]
    contexts += [(e, ServiceContext(site=site, placement=placement, service=e.name,
                                    platform=platform))
                 for e in catalog if e.name in cluster.services]
    items: list[Resource | CibSetting] = []
    constraints: list[Constraint] = []
    files: list[ConfigFile] = []
    tiers: list[tuple[Tier, list[Resource]]] = []
    hosted: list[HostUnit] = []
    logins = sorted({e.service.login_user for e, _ in contexts
                     if e.service.failover and e.service.login_user})
    for entry, ctx in contexts:
        made = entry.resources(ctx)
        items.extend(made)
        tiers += _tiers(entry, ctx, _split(made)[0])
        hosted.extend(entry.host_units(ctx))
        constraints.extend(entry.constraints(ctx))
        files.extend(entry.config(ctx))
    # Priority and restart drop-ins belong to the base: writing one restarts no service.
    files += [replace(f, service=base.name) for f in
              priority_files(cluster.members, cluster.remotes, tiers, hosted, logins)
              + pacemaker_unit_files(cluster.members, cluster.remotes,
                                     [r for _, made in tiers for r in made])
              + restart_dropins(cluster.members, hosted)]
    elsewhere = _hosted_everywhere(site, placement, catalog)
    constraints = [c for c in constraints if not elsewhere.intersection(c.refs)]
    resources, settings = _split(items)
    _check_unique(resources, cluster.name)
    # Remote nodes exist once their connection resources do (the compute service); only
    # then are control-plane resources pinned to controllers (osprole comes with them).
    remotes = tuple(r.id for r in resources if isinstance(r, Primitive)
                    and r.agent == REMOTE_AGENT and r.id in cluster.remotes)
    if remotes:
        constraints.extend(_controller_locations(resources))
        resources = _bounded_clones(resources, len(cluster.members))
    refs = resource_refs(resources)
    kept = tuple(c for c in constraints if all(r in refs for r in c.refs))
    dropped = tuple(c for c in constraints if c not in kept)
    model = ClusterModel(
        name=cluster.name,
        node_ids=node_ids(site, cluster),
        remotes=remotes,
        properties=tuple(dict.fromkeys(s for s in settings if isinstance(s, ClusterProperty))),
        defaults=tuple(dict.fromkeys(s for s in settings if isinstance(s, ResourceDefault))),
        attributes=tuple(dict.fromkeys(s for s in settings if isinstance(s, NodeAttribute))),
        alerts=tuple(dict.fromkeys(s for s in settings if isinstance(s, Alert))),
        resources=tuple(resources),
        constraints=kept,
    )
    return _Built(model, files, dropped, tuple(hosted))


def site_listeners(site: Site, placement: Placement,
                   catalog: Sequence[CatalogEntry]) -> list[Listener]:
    platform = platform_info(site.platform.value)
    listeners: list[Listener] = []
    for entry in catalog:
        if placement.has(entry.name):
            ctx = ServiceContext(site=site, placement=placement, service=entry.name,
                                 platform=platform)
            listeners.extend(entry.listeners(ctx))
    return listeners


def _vip_certificates(site: Site, placement: Placement, listeners: Sequence[Listener],
                      members: Sequence[str]) -> list[ConfigFile]:
    """The certificate and key of every VIP that ends TLS, on every HAProxy (root reads them
    before HAProxy drops its privileges)."""
    vips = dict.fromkeys(lst.vip for lst in listeners if serves_tls(site, lst))
    return [replace(text_file(n, tls.certificate_path(vip),
                              tls.vip_certificate(vip, str(placement.vips[vip])), mode=0o600),
                    service=LOADBALANCER)
            for n in members for vip in vips]


def render_site(site: Site, placement: Placement, base: CatalogEntry,
                catalog: Sequence[CatalogEntry]) -> SiteRendering:
    """Every cluster's configuration and every node's files.

    Raises:
        PlanError: when the catalog breaks an invariant (duplicate ids or files).
    """
    clusters: list[ClusterRendering] = []
    files: list[RenderedFile] = []
    listeners = site_listeners(site, placement, catalog)
    for cluster in placement.clusters:
        built = _cluster_model(site, placement, cluster, base, catalog)
        model, cluster_files = built.model, built.files
        corosync = render_corosync(site, cluster)
        cluster_files += [text_file(n, "/etc/corosync/corosync.conf", corosync)
                          for n in cluster.members]
        haproxy = None
        if LOADBALANCER in cluster.services:
            haproxy = render_haproxy(site, placement, listeners)
            cluster_files += [replace(text_file(n, "/etc/haproxy/haproxy.cfg", haproxy),
                                      service=LOADBALANCER)
                              for n in cluster.members]
            cluster_files += _vip_certificates(site, placement, listeners, cluster.members)
        clusters.append(ClusterRendering(model=model, cib=cib_text(model), corosync=corosync,
                                         haproxy=haproxy, dropped=built.dropped,
                                         host_units=built.host_units))
        files.extend(_file(f) for f in cluster_files)
    seen: dict[tuple[str, str], str] = {}
    for f in files:
        key = (f.node, f.path)
        if key in seen:
            raise PlanError("render-duplicate-file",
                            f"{f.path} on {f.node} is written by {seen[key] or 'cluster'} and "
                            f"{f.service or 'cluster'}", fix="one file has one owner")
        seen[key] = f.service
    return SiteRendering(clusters=tuple(clusters), files=tuple(files))

