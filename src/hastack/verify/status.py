"""The site's live state, gathered once into a snapshot: what `hastack status` shows.

Per cluster: Pacemaker's view (crm_mon) of nodes, quorum and each service's resources; each
VIP's holder; Galera as each member sees itself (grastate.dat, wsrep state); RabbitMQ's own
membership beside Pacemaker's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hastack.catalog.cib_model import Clone, Primitive, vip_id
from hastack.catalog.contract import CatalogEntry, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.errors import HastackError
from hastack.pacemaker import live
from hastack.pacemaker.status import ClusterStatus
from hastack.site.load import LoadedSite
from hastack.transport.base import Transport
from hastack.unit_states import unit_states


@dataclass(frozen=True)
class ServiceState:
    service: str
    resources: dict[str, list[str]]  # resource id -> nodes it runs on (promoted: "node*")


@dataclass(frozen=True)
class GaleraMember:
    node: str
    seqno: str
    safe_to_bootstrap: str
    state: str


@dataclass
class ClusterState:
    name: str
    reachable_via: str | None
    quorate: bool = False
    dc: str | None = None
    nodes: dict[str, str] = field(default_factory=dict)  # name -> online/standby/offline...
    services: list[ServiceState] = field(default_factory=list)
    vips: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    galera: list[GaleraMember] = field(default_factory=list)
    rabbitmq_running: list[str] = field(default_factory=list)
    # Members RabbitMQ does not count as cluster members (disk nodes): a broker whose data
    # was lost or diverged cannot rejoin by itself. hastack never resets a broker's data.
    rabbitmq_outside: list[str] = field(default_factory=list)
    error: str | None = None


def _node_word(status: ClusterStatus, name: str) -> str:
    node = status.node(name)
    if node is None:
        return "unknown"
    if node.unclean:
        return "unclean (fencing)"
    if not node.online:
        return "offline"
    return "standby" if node.standby else "online"


def _rids(entry: CatalogEntry, ctx: ServiceContext) -> list[str]:
    return [r.id for r in entry.resources(ctx) if isinstance(r, Primitive | Clone)]


def _grastate(text: str) -> tuple[str, str]:
    values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return (values.get("seqno", "?").strip(), values.get("safe_to_bootstrap", "?").strip())


async def _galera_member(node: Transport) -> GaleraMember:
    state = await node.run(["cat", "/var/lib/mysql/grastate.dat"])
    seqno, safe = _grastate(state.stdout) if state.ok else ("?", "?")
    wsrep = await node.run(["mysql", "-N", "-B", "-e",
                            "SHOW STATUS LIKE 'wsrep_local_state_comment'"], timeout=20)
    comment = wsrep.stdout.split("\t")[-1].strip() if wsrep.ok and wsrep.stdout else "down"
    return GaleraMember(node=node.host, seqno=seqno, safe_to_bootstrap=safe, state=comment)


def brokers_outside(members: Sequence[str], disk_nodes: Sequence[str]) -> list[str]:
    """The members RabbitMQ does not list among its cluster's disk nodes (none when it could
    not say)."""
    if not disk_nodes:
        return []
    return [m for m in members if f"rabbit@{m}" not in disk_nodes]


async def _rabbit_members(node: Transport) -> tuple[list[str], list[str]]:
    """(running nodes, disk nodes) as RabbitMQ sees them; ([], []) when it cannot say."""
    done = await node.run(["rabbitmqctl", "-q", "cluster_status", "--formatter", "json"],
                          timeout=30)
    if not done.ok:
        return [], []
    try:
        seen = json.loads(done.stdout)
    except ValueError:
        return [], []
    return sorted(seen.get("running_nodes", [])), sorted(seen.get("disk_nodes", []))


async def gather(loaded: LoadedSite, catalog: Sequence[CatalogEntry],
                 transports: Mapping[str, Transport]) -> list[ClusterState]:
    """One snapshot of every cluster; a cluster no member answers for says so."""
    platform = platform_info(loaded.site.platform.value)
    states = []
    for cluster in loaded.placement.clusters:
        state = ClusterState(name=cluster.name, reachable_via=None)
        status = None
        for member in cluster.members:
            try:
                status = await live.crm_mon(transports[member])
            except HastackError as exc:
                state.error = exc.what
                continue
            state.reachable_via = member
            state.error = None
            break
        states.append(state)
        if status is None:
            continue
        state.quorate, state.dc = status.quorate, status.dc
        state.nodes = {n: _node_word(status, n) for n in (*cluster.members, *cluster.remotes)}
        for entry in catalog:
            if entry.name not in cluster.services:
                continue
            ctx = ServiceContext(site=loaded.site, placement=loaded.placement,
                                 service=entry.name, platform=platform)
            resources = {}
            for rid in _rids(entry, ctx):
                promoted = set(status.promoted_on(rid))
                resources[rid] = [f"{n}*" if n in promoted else n
                                  for n in status.running_on(rid)]
            hosted = entry.host_units(ctx)
            online = [m for m in cluster.members if _node_word(status, m) == "online"]
            seen = dict(zip(online, await asyncio.gather(
                *(unit_states(transports[m], [u.unit for u in hosted]) for m in online)),
                strict=True)) if hosted else {}
            for unit in hosted:
                resources[unit.id] = [m for m in online if seen[m][unit.unit].active]
            state.services.append(ServiceState(entry.name, resources))
        if "loadbalancer" in cluster.services:
            state.vips = {name: list(status.running_on(vip_id(name)))
                          for name in loaded.placement.vips}
        state.failures = [f"{f.task} {f.resource} on {f.node}: {f.status}"
                          for f in status.failures]
        up = [m for m in cluster.members if _node_word(status, m) == "online"]
        if "galera" in cluster.services:
            state.galera = list(await asyncio.gather(
                *(_galera_member(transports[m]) for m in up)))
        if "rabbitmq" in cluster.services and up:
            running, disk = await _rabbit_members(transports[up[0]])
            state.rabbitmq_running = running
            state.rabbitmq_outside = brokers_outside(cluster.members, disk)
    return states
