"""A model of what a cluster's CIB holds: primitives and clones with their operations,
cluster properties and defaults, node attributes, alerts, and the order, colocation,
location and fencing-level constraints; and the one place Pacemaker ids are spelled.
render/cib.py turns it into XML, render/pcs.py into pcs commands."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

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
    # Parameters its agent reads only when it starts an instance (a member list): a change
    # is pushed with the resource unmanaged and re-probed, so no running instance restarts.
    in_place: tuple[str, ...] = ()

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
    symmetrical: bool = True  # False: the order binds starts only; stops run in parallel
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
    clients reach the other through a VIP or the message bus, on any node). Not
    symmetrical: the guide orders starts, and a stop in reverse order would only queue the
    processes one behind another (each oslo.messaging server takes up to 5 s to stop),
    so nova's five took 17 s to stop on a node where together they take 7."""
    return [Order(first, then, kind="Optional", symmetrical=False)
            for first, then in itertools.pairwise(refs)]


def needs(first: str, then: str, *, why: str) -> list[Constraint]:
    """``then`` runs only on a node where ``first`` runs, and only while it runs there
    (a Mandatory order and a colocation): for what a running service truly cannot do
    without on its own node, said in ``why``."""
    return [Order(first, then, why=why), Colocation(then, first, why=why)]
