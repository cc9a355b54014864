"""The catalog's vocabulary: typed, frozen models every service module returns.

A service module states *what* (resources, constraints, listeners, files, one-time actions,
checks); render, deploy and verify do *how*. Nothing here runs anything.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from ipaddress import IPv4Address
from types import ModuleType
from typing import Literal

from hastack.catalog.platform import PlatformInfo, platform_info
from hastack.site.model import Manages, Node, Site
from hastack.site.placement import ClusterPlacement, Placement

# --- secrets and text ---------------------------------------------------------------------


@dataclass(frozen=True)
class SecretRef:
    """A secret by name; its value is only ever resolved by the writer that puts a file."""

    name: str
    # How a missing one is generated; "ipmi": IPMI 2.0 caps passwords at 20 bytes;
    # "tls-ca": the site's CA; "tls-leaf": a certificate the CA issues for ``subject``.
    # "keystone", "rabbitmq": a user's password, which names the account it belongs to (the
    # user, or its alternate after a rotation: keystone revokes a user's tokens when its
    # password changes, and RabbitMQ holds one password per user, so a rotation moves to the
    # other account instead; the one left is retired once nothing uses it).
    kind: Literal["password", "fernet", "key", "ipmi", "tls-ca", "tls-leaf",
                  "keystone", "rabbitmq"] = "password"
    user_supplied: bool = False  # e.g. a real BMC password: never generated, must be given
    subject: str = ""  # tls-leaf: the address its certificate names; keystone: the user
    domain: str = ""  # keystone: the user's domain, when not Default (heat's domain admin)
    issuer: str = ""  # tls-leaf: the tls-ca secret that issues it
    host: str = ""  # tls-leaf: the DNS name its certificate names too (default: its name)
    peer: bool = False  # tls-leaf: also a client's certificate (for mutual TLS)
    # What a file gets of a tls secret: its certificate alone (public), its key alone, or
    # certificate and key; of a keystone one: the password, or the account's name (public).
    form: Literal["value", "certificate", "key", "bundle", "password", "account"] = "value"
    # `secrets rotate`: "named": only when named (a person types it); "never": changing it
    # breaks what it protects (swift's hash path, the Erlang cookie of a running cluster);
    # "device": a BMC's or PDU's, changed on the device first.
    rotation: Literal["live", "named", "never", "device"] = "live"

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return f"SecretRef({self.name!r}, ***)"

    @property
    def private(self) -> bool:
        """What a file gets of it is secret (a certificate alone is public)."""
        return self.form not in ("certificate", "account")


Part = str | SecretRef
ACCOUNT_KINDS = ("keystone", "rabbitmq")  # secrets that name their account (see SecretRef)


def _masked(ref: SecretRef) -> str:
    # An account's name is public, but which of a user's two it is lives with the password.
    if ref.form == "account":
        return f"{{{{account:{ref.subject}}}}}"
    return f"{{{{secret:{ref.name}}}}}"


@dataclass(frozen=True)
class Text:
    """Text made of plain parts and secrets; ``masked()`` is safe to show, ``resolve`` is not."""

    parts: tuple[Part, ...]

    def masked(self) -> str:
        return "".join(p if isinstance(p, str) else _masked(p) for p in self.parts)

    def resolve(self, lookup: Callable[[SecretRef], str]) -> str:
        return "".join(p if isinstance(p, str) else lookup(p) for p in self.parts)

    def secrets(self) -> tuple[SecretRef, ...]:
        return tuple(p for p in self.parts if isinstance(p, SecretRef))

    def __add__(self, other: Text | str) -> Text:
        return Text(self.parts + (other.parts if isinstance(other, Text) else (other,)))


Value = str | int | bool | SecretRef | Text


def compose(*parts: Part | Text) -> Text:
    """Join strings and secrets into one value, e.g. a database URL holding a password."""
    out: list[Part] = []
    for part in parts:
        out.extend(part.parts if isinstance(part, Text) else (part,))
    return Text(tuple(out))


def as_text(value: Value) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, SecretRef):
        return Text((value,))
    if isinstance(value, bool):
        return Text(("true" if value else "false",))
    return Text((str(value),))


# --- services -----------------------------------------------------------------------------


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
    # The user an OCF agent starts the daemon as through a login (galera: `su - mysql`).
    # pacemaker-execd runs every agent at Nice 0, whatever Pacemaker's own priority, so a
    # failover daemon gets its tier from that login's pam_limits session instead.
    login_user: str | None = None
    # Stays under Pacemaker when the site says ``cluster.manages: core`` (VIPs and HAProxy,
    # Galera, RabbitMQ, the cluster base, the computes); other services' active/active
    # clones become systemd units (see HostUnit).
    pacemaker_core: bool = False


# --- pacemaker ids ------------------------------------------------------------------------


CLONE_SUFFIX = "-clone"


def resource_id(service: str, role: str | None = None) -> str:
    """The one place Pacemaker ids are spelled: service, or service-role."""
    return service if role is None or role == service else f"{service}-{role}"


def clone_id(service: str, role: str | None = None) -> str:
    """The id of the clone wrapping ``resource_id(service, role)``."""
    return resource_id(service, role) + CLONE_SUFFIX


def vip_id(vip: str) -> str:
    return f"vip-{vip}"


def stonith_id(node: str) -> str:
    return f"fence-{node}"


def pdu_stonith_id(node: str) -> str:
    """The device that cuts ``node``'s power at its PDU outlet (its second fencing level)."""
    return f"fence-{node}-pdu"


# --- CIB models ---------------------------------------------------------------------------

Pairs = tuple[tuple[str, str], ...]


def pairs(values: Mapping[str, object] | None = None) -> Pairs:
    """Mapping -> sorted-by-insertion tuple of string pairs (booleans as Pacemaker writes them)."""
    if not values:
        return ()
    return tuple((k, ("true" if v else "false") if isinstance(v, bool) else str(v))
                 for k, v in values.items())


@dataclass(frozen=True)
class Op:
    name: str
    interval: str = "0s"
    timeout: str | None = None
    on_fail: str | None = None
    role: str | None = None


def monitor(interval: str, timeout: str, *, role: str | None = None) -> Op:
    return Op("monitor", interval=interval, timeout=timeout, role=role)


def start_stop(start: str, stop: str | None = None) -> tuple[Op, Op]:
    return (Op("start", timeout=start), Op("stop", timeout=stop or start))


NodeKind = Literal["controller", "compute"]
REMOTE_AGENT = "ocf:pacemaker:remote"  # a pacemaker_remote node's connection resource


@dataclass(frozen=True)
class Primitive:
    """One resource: ``agent`` is 'class:provider:type' or 'class:type' (systemd, stonith)."""

    id: str
    agent: str
    params: Pairs = ()
    ops: tuple[Op, ...] = ()
    meta: Pairs = ()
    runs_on: NodeKind = "controller"

    @property
    def ref(self) -> str:
        return self.id

    @property
    def standard(self) -> str:
        return self.agent.split(":")[0]

    @property
    def is_stonith(self) -> bool:
        return self.standard == "stonith"

    @property
    def systemd_unit(self) -> str | None:
        """The unit a systemd-class resource runs (None for other classes)."""
        return self.agent.split(":", 1)[1] if self.standard == "systemd" else None


@dataclass(frozen=True)
class Clone:
    """A clone (active/active) or a promotable clone of one primitive."""

    primitive: Primitive
    meta: Pairs = (("interleave", "true"),)
    promotable: bool = False

    @property
    def id(self) -> str:
        return self.primitive.id + CLONE_SUFFIX

    @property
    def ref(self) -> str:
        return self.id

    @property
    def runs_on(self) -> NodeKind:
        return self.primitive.runs_on


Resource = Primitive | Clone


# Monitor intervals of systemd-class resources. A monitor is one D-Bus query to the node's
# systemd (milliseconds of CPU), and Pacemaker gives the units it runs Restart=no, so the
# interval is how long a killed process stays dead. Failover-path daemons (HAProxy, the bus,
# the token cache) are watched closely; an API service less: HAProxy already routes around
# a dead one at once (its health checks and live traffic), the monitor only repairs it.
FAILOVER_MONITOR = "5s"
SERVICE_MONITOR = "10s"


def systemd(rid: str, unit: str, *, start: str = "200s", stop: str | None = None,
            interval: str = SERVICE_MONITOR, runs_on: NodeKind = "controller") -> Primitive:
    """A systemd-class primitive with the generous timeouts OpenStack services need (a
    monitor times out only when systemd itself does not answer)."""
    return Primitive(id=rid, agent=f"systemd:{unit}", runs_on=runs_on,
                     ops=(*start_stop(start, stop), monitor(interval, "100s")))


def clone(primitive: Primitive, **meta: object) -> Clone:
    return Clone(primitive=primitive, meta=pairs({"interleave": True, **meta}))


@dataclass(frozen=True)
class ClusterProperty:
    name: str
    value: str


@dataclass(frozen=True)
class ResourceDefault:
    name: str
    value: str


@dataclass(frozen=True)
class NodeAttribute:
    node: str
    name: str
    value: str


@dataclass(frozen=True)
class Alert:
    """A Pacemaker alert agent: ``path`` runs on every member on each node event (a node
    lost or back), with the event in CRM_alert_* variables."""

    id: str
    path: str


CibSetting = ClusterProperty | ResourceDefault | NodeAttribute | Alert


@dataclass(frozen=True)
class Order:
    """``first`` then ``then``; Optional orders only when both happen to be scheduled.

    A Mandatory order also stops and restarts ``then`` whenever ``first`` stops, so it
    must say ``why`` a running ``then`` cannot do without ``first`` (tests/unit).
    """

    first: str
    then: str
    first_action: str = "start"
    then_action: str = "start"
    kind: Literal["Mandatory", "Optional", "Serialize"] = "Mandatory"
    require_all: bool = True
    why: str = ""

    @property
    def refs(self) -> tuple[str, ...]:
        return (self.first, self.then)


@dataclass(frozen=True)
class Colocation:
    """``rsc`` runs where ``with_rsc`` runs (score INFINITY unless said).

    A positive colocation takes ``rsc`` off a node ``with_rsc`` can no longer run on, so it
    must say ``why`` ``rsc`` is useless (or harmful) anywhere else (tests/unit).
    """

    rsc: str
    with_rsc: str
    score: str = "INFINITY"
    rsc_role: str | None = None
    with_rsc_role: str | None = None
    why: str = ""

    @property
    def refs(self) -> tuple[str, ...]:
        return (self.rsc, self.with_rsc)


@dataclass(frozen=True)
class Location:
    """A node preference, or a rule on node attributes (all expressions must hold)."""

    rsc: str
    score: str = "INFINITY"
    node: str | None = None
    rule: tuple[tuple[str, str, str], ...] = ()  # (attribute, operation, value)
    resource_discovery: Literal["always", "never", "exclusive"] | None = None

    @property
    def refs(self) -> tuple[str, ...]:
        return (self.rsc,)


@dataclass(frozen=True)
class FencingLevel:
    """Devices tried together, in order, at one level of a node's fencing topology."""

    target: str
    index: int
    devices: tuple[str, ...]

    @property
    def refs(self) -> tuple[str, ...]:
        return self.devices


Constraint = Order | Colocation | Location | FencingLevel


def chain(*refs: str) -> list[Constraint]:
    """The guide's start-up order, each after the previous, as Optional orders: Pacemaker
    keeps it whenever both start in one transition (a cold start, a node joining), and a
    running service is never stopped or restarted because the one before it was (its
    clients reach the other through a VIP or the message bus, on any node)."""
    return [Order(first, then, kind="Optional") for first, then in itertools.pairwise(refs)]


def needs(first: str, then: str, *, why: str) -> list[Constraint]:
    """``then`` runs only on a node where ``first`` runs, and only while it runs there
    (a Mandatory order and a colocation): for what a running service truly cannot do
    without on its own node, said in ``why``."""
    return [Order(first, then, why=why), Colocation(then, first, why=why)]


# --- load balancer ------------------------------------------------------------------------


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


# --- files, actions, checks ---------------------------------------------------------------

IniSections = tuple[tuple[str, tuple[tuple[str, Value], ...]], ...]


PACEMAKER_AUTHKEY = "/etc/pacemaker/authkey"  # members and pacemaker_remote nodes share it
REMOTE_ENVIRONMENT = "/etc/default/pacemaker"  # pacemaker_remote's environment on a compute
REMOTE_PORT = 3121  # pacemaker_remoted's TLS-PSK listener


@dataclass(frozen=True)
class ConfigFile:
    """One file on one node. ``ini`` is rendered as an oslo INI file, ``text`` verbatim."""

    node: str
    path: str
    owner: str = "root"
    group: str = "root"
    mode: int = 0o644
    ini: IniSections | None = None
    text: Text | None = None
    service: str = ""
    # A change here reaches every member at once (deploy restarts them together, not one by
    # one): members on either side of it cannot talk to each other (their link's protocol).
    together: bool = False
    # Other services on the node that read this file: a change restarts them too.
    readers: tuple[str, ...] = ()

    def secrets(self) -> tuple[SecretRef, ...]:
        if self.text is not None:
            return self.text.secrets()
        found: list[SecretRef] = []
        for _, options in self.ini or ():
            for _, value in options:
                found.extend(as_text(value).secrets())
        return tuple(found)


def ini_file(node: str, path: str, sections: Mapping[str, Mapping[str, Value]], *,
             owner: str = "root", group: str = "root", mode: int = 0o640) -> ConfigFile:
    """An INI file from nested mappings (sections and keys keep their order)."""
    return ConfigFile(node=node, path=path, owner=owner, group=group, mode=mode,
                      ini=tuple((name, tuple(opts.items())) for name, opts in sections.items()))


def text_file(node: str, path: str, *parts: Part | Text, owner: str = "root",
              group: str = "root", mode: int = 0o644, together: bool = False) -> ConfigFile:
    return ConfigFile(node=node, path=path, owner=owner, group=group, mode=mode,
                      text=compose(*parts), together=together)


@dataclass(frozen=True)
class Command:
    """A command on a node: argv never holds a secret; secrets go in on stdin."""

    argv: tuple[str, ...]
    stdin: Text | None = None
    user: str | None = None
    env: tuple[tuple[str, Text], ...] = ()  # secrets go here or on stdin, never in argv


@dataclass(frozen=True)
class Sql:
    """SQL run with the local client on a database member, statements in order."""

    statements: tuple[Text, ...]


@dataclass(frozen=True)
class KeystoneEntry:
    """Register a service in keystone: its user (role admin on project 'service'),
    its catalog entry and one endpoint per interface, all on its VIP."""

    service: str
    service_type: str
    url: str
    user: str | None = None
    password: SecretRef | None = None
    extra_roles: tuple[str, ...] = ()
    account: SecretRef | None = None  # the user's current account (see SecretRef "keystone")


@dataclass(frozen=True)
class ApiCall:
    """An OpenStack API operation made in-process with openstacksdk as admin through the VIPs
    (``operation`` is a name the verify layer knows, e.g. 'token.issue')."""

    operation: str
    # A value may be the public form of a secret (an account's name), resolved when sent.
    params: tuple[tuple[str, str | SecretRef], ...] = ()
    secret: SecretRef | None = None  # a password the operation sets (sent by environment)


@dataclass(frozen=True)
class HttpProbe:
    url: str
    expect_status: tuple[int, ...] = (200,)
    contains: str | None = None


Step = Command | Sql | KeystoneEntry | HttpProbe | ApiCall


@dataclass(frozen=True)
class Action:
    """A one-time bootstrap step, run on one member, skipped when ``done`` already holds."""

    name: str
    what: str
    run: Step
    done: Step | None = None
    on: Literal["first", "all"] = "first"
    where: str | None = None  # run on the cluster of this service (e.g. 'galera' for SQL)
    # before-start: prepares what the service needs to start (schema); after-start: needs
    # the service itself running (e.g. users inside the database it is).
    phase: Literal["before-start", "after-start"] = "before-start"


@dataclass(frozen=True)
class Check:
    """A functional check (the guide's *-test.sh actions, asserted) and the drills it serves."""

    name: str
    what: str
    probe: Step
    expect: str
    on: Literal["first", "all", "vip"] = "first"
    drills: tuple[str, ...] = ()


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
        return [HostUnit(self.name, r.id, r.primitive.id, str(r.primitive.systemd_unit),
                         self.service.failover)
                for r in self.module.resources(ctx) if isinstance(r, Clone) and r.id in hosted]

    def constraints(self, ctx: ServiceContext) -> Sequence[Constraint]:
        items: Sequence[Constraint] = self.module.constraints(ctx)
        hosted = self._hosted(ctx)
        return [c for c in items if not hosted.intersection(c.refs)]

    def listeners(self, ctx: ServiceContext) -> Sequence[Listener]:
        items: Sequence[Listener] = self.module.listeners(ctx)
        return [x if x.service else replace(x, service=self.name) for x in items]

    def bootstrap(self, ctx: ServiceContext) -> Sequence[Action]:
        items: Sequence[Action] = self.module.bootstrap(ctx)
        return items

    def checks(self, ctx: ServiceContext) -> Sequence[Check]:
        items: Sequence[Check] = self.module.checks(ctx)
        return items


