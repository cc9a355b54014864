"""The service contract: what a catalog module declares (its ``Service``, its listeners),
what it may read (``ServiceContext``), and how the rest of hastack sees it
(``CatalogEntry``): the module's functions, with what systemd runs instead of Pacemaker
under ``cluster.manages: core`` taken out. A service module states *what*; render, deploy and
verify do *how*. Nothing here runs anything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from ipaddress import IPv4Address
from types import ModuleType
from typing import Literal

from hastack.catalog.cib_model import (
    CibSetting,
    Clone,
    Colocation,
    Constraint,
    Order,
    Resource,
)
from hastack.catalog.platform import PlatformInfo, platform_info
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import Action, Check, ConfigFile
from hastack.site.model import Manages, Node, Site
from hastack.site.placement import ClusterPlacement, Placement


class HAMode(Enum):
    ACTIVE_ACTIVE = "active-active"
    ACTIVE_PASSIVE = "active-passive"
    PROMOTABLE = "promotable"


@dataclass(frozen=True)
class Service:
    """A service's identity: what it is called, how it is HA, what it needs.

    ``requires`` must be placed for this service to work (validated); ``after`` only orders
    deployment stages. ``vips`` are the VIP names this service answers on. ``toggle`` names
    the ``services:`` key that enables an optional service ('compute' = computes exist).
    """

    name: str
    ha_mode: HAMode
    packages: tuple[str, ...]
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    vips: tuple[str, ...] = ()
    toggle: str | None = None
    summary: str = ""
    remote_packages: tuple[str, ...] = ()  # components installed on pacemaker_remote nodes
    # Daemons an OCF agent drives that their packages enable and start (platform unit names):
    # disabled and stopped before Pacemaker runs, or a reboot would start them behind its back.
    agent_units: tuple[str, ...] = ()
    # Components reloaded in place (systemctl reload) when their files change, instead of a
    # restart through Pacemaker, which would also restart everything ordered after them.
    reload_units: tuple[str, ...] = ()
    # On the failover path (the VIPs' HAProxy, the bus, the token cache): its units get the
    # CPU and I/O priority of corosync and Pacemaker (render/priority.py); APIs get less.
    failover: bool = False
    # What every other API waits on (keystone: each request's token is checked against it):
    # a tier between the failover path and the other APIs, so that after a whole site's power
    # returns it answers before they all start and share the CPU (render/priority.py).
    first: bool = False
    # The components (platform names) that serve a user's request while it waits: the API
    # servers, and what they call and wait for (heat-engine, swift's storage servers); ahead
    # of the service's workers and agents, which react afterwards (render/priority.py).
    apis: tuple[str, ...] = ()
    # The user an OCF agent starts the daemon as through a login (galera: `su - mysql`).
    # pacemaker-execd runs every agent at Nice 0, whatever Pacemaker's own priority, so a
    # failover daemon gets its tier from that login's pam_limits session instead.
    login_user: str | None = None
    # Stays under Pacemaker when the site says ``cluster.manages: core`` (VIPs and HAProxy,
    # Galera, RabbitMQ, the cluster base, the computes); other services' active/active
    # clones become systemd units (see HostUnit).
    pacemaker_core: bool = False


@dataclass(frozen=True)
class Listener:
    """An HAProxy frontend on a VIP and its backend of the service's cluster members.

    ``single_writer`` sends every connection to one healthy server at a time (Galera: avoids
    deadlocks on concurrent writes); ``check_port``/``check_path`` make the health check an
    HTTP request, as clustercheck answers.
    """

    name: str
    vip: str
    port: int
    backend_port: int | None = None
    mode: Literal["tcp", "http"] = "http"
    balance: Literal["roundrobin", "source", "first"] = "roundrobin"
    check_port: int | None = None
    check_path: str | None = None
    single_writer: bool = False
    timeout_client: str | None = None
    timeout_server: str | None = None
    tcp_keepalive: bool = False
    # Ends TLS on the VIP when the site serves TLS (openstack.tls); off for what is not an
    # endpoint of the catalog (the database, nova's metadata API behind neutron's agent).
    tls: bool = True
    service: str = ""  # filled by the catalog from the module that declares it


# --- context ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceContext:
    """What a service module may read: the site, where things are placed, the platform."""

    site: Site
    placement: Placement
    service: str
    platform: PlatformInfo = field(default_factory=lambda: platform_info("debian-12"))
    cluster_name: str | None = None  # set for the per-cluster base, which is not placed

    @property
    def cluster(self) -> ClusterPlacement:
        if self.cluster_name is not None:
            return self.placement.cluster(self.cluster_name)
        return self.placement.cluster_of(self.service)

    @property
    def members(self) -> tuple[Node, ...]:
        return tuple(self.site.node(n) for n in self.cluster.members)

    @property
    def remotes(self) -> tuple[Node, ...]:
        return tuple(self.site.node(n) for n in self.cluster.remotes)

    def members_of(self, service: str) -> tuple[Node, ...]:
        return tuple(self.site.node(n) for n in self.placement.cluster_of(service).members)

    def has(self, service: str) -> bool:
        return self.placement.has(service)

    def here(self, service: str) -> bool:
        """Is ``service`` placed on this service's cluster (so constraints can reach it)?"""
        return self.has(service) and self.placement.service_cluster[service] == self.cluster.name

    def vip(self, name: str) -> IPv4Address:
        return self.placement.vips[name]

    def secret(self, name: str) -> SecretRef:
        return SecretRef(name)

    def unit(self, component: str) -> str:
        return self.platform.unit(component)


# --- where a service runs: Pacemaker or systemd ---------------------------------------------


@dataclass(frozen=True)
class HostUnit:
    """An active/active service systemd runs on every member instead of Pacemaker
    (``cluster.manages: core``): enabled at boot, restarted by systemd when it dies, never
    stopped or restarted because another service failed, retrying its database and bus itself.
    """

    service: str  # the catalog service it belongs to
    id: str  # the clone id it has under Pacemaker: reports name it the same way
    name: str  # the primitive id (what `drill service-kill --service` names)
    unit: str
    failover: bool = False
    first: bool = False
    api: bool = False


def hosted_ids(service: Service, site: Site, resources: Sequence[Resource | CibSetting],
               constraints: Sequence[Constraint]) -> set[str]:
    """The clone ids of ``resources`` that systemd runs under ``cluster.manages: core``:
    controller clones of systemd units, except those that truly need (a Mandatory order or
    a colocation) something that stays under Pacemaker on their node, such as a mount."""
    if site.cluster.manages is not Manages.CORE or service.pacemaker_core:
        return set()
    hosted = {r.id for r in resources if isinstance(r, Clone) and not r.promotable
              and r.runs_on == "controller" and r.primitive.systemd_unit is not None}
    while True:
        tied = {c.then for c in constraints if isinstance(c, Order) and c.kind == "Mandatory"
                and c.then in hosted and c.first not in hosted}
        tied |= {c.rsc for c in constraints if isinstance(c, Colocation)
                 and c.rsc in hosted and c.with_rsc not in hosted}
        if not tied:
            return hosted
        hosted -= tied


@dataclass(frozen=True)
class Superseded:
    """A service user's account a secrets rotation moved away from: ``ref`` the secret (its
    kind says whose account it is: keystone's or RabbitMQ's), ``account`` the old name."""

    ref: SecretRef
    account: str


# --- the module contract ------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """A service module seen through its contract (see catalog/__init__.py)."""

    module: ModuleType

    @property
    def service(self) -> Service:
        svc: Service = self.module.SERVICE
        return svc

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def toggle(self) -> str | None:
        return self.service.toggle

    @property
    def requires(self) -> tuple[str, ...]:
        return self.service.requires

    @property
    def vips(self) -> tuple[str, ...]:
        return self.service.vips

    def config(self, ctx: ServiceContext) -> Sequence[ConfigFile]:
        files: Sequence[ConfigFile] = self.module.config(ctx)
        return [f if f.service else replace(f, service=self.name) for f in files]

    def _hosted(self, ctx: ServiceContext) -> set[str]:
        return hosted_ids(self.service, ctx.site, self.module.resources(ctx),
                          self.module.constraints(ctx))

    def resources(self, ctx: ServiceContext) -> Sequence[Resource | CibSetting]:
        """What Pacemaker runs of this service (without its host units)."""
        items: Sequence[Resource | CibSetting] = self.module.resources(ctx)
        hosted = self._hosted(ctx)
        return [i for i in items if not (isinstance(i, Clone) and i.id in hosted)]

    def host_units(self, ctx: ServiceContext) -> list[HostUnit]:
        """What systemd runs of this service on every member (``cluster.manages: core``)."""
        hosted = self._hosted(ctx)
        apis = self.api_units(ctx)
        return [HostUnit(self.name, r.id, r.primitive.id, str(r.primitive.systemd_unit),
                         self.service.failover, self.service.first,
                         str(r.primitive.systemd_unit) in apis)
                for r in self.module.resources(ctx) if isinstance(r, Clone) and r.id in hosted]

    def api_units(self, ctx: ServiceContext) -> set[str]:
        """The units of this service that serve a request while the user waits."""
        return {ctx.unit(component) for component in self.service.apis}

    def constraints(self, ctx: ServiceContext) -> Sequence[Constraint]:
        items: Sequence[Constraint] = self.module.constraints(ctx)
        hosted = self._hosted(ctx)
        return [c for c in items if not hosted.intersection(c.refs)]

    def listeners(self, ctx: ServiceContext) -> Sequence[Listener]:
        """What HAProxy fronts (the module's optional ``listeners``: none without it)."""
        hook = getattr(self.module, "listeners", None)
        items: Sequence[Listener] = hook(ctx) if hook is not None else []
        return [x if x.service else replace(x, service=self.name) for x in items]

    def bootstrap(self, ctx: ServiceContext) -> Sequence[Action]:
        """One-time actions (the module's optional ``bootstrap``: none without it)."""
        hook = getattr(self.module, "bootstrap", None)
        items: Sequence[Action] = hook(ctx) if hook is not None else []
        return items

    def checks(self, ctx: ServiceContext) -> Sequence[Check]:
        items: Sequence[Check] = self.module.checks(ctx)
        return items

    def retire(self, ctx: ServiceContext, superseded: Sequence[Superseded]) -> Sequence[Action]:
        """What ends the accounts a rotation left behind, run once every service logs in as
        its new one (the module's optional ``retire``; the service decides which are its
        own, by their kind)."""
        hook = getattr(self.module, "retire", None)
        items: Sequence[Action] = hook(ctx, superseded) if hook is not None else []
        return items
