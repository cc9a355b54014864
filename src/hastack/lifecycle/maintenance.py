"""A cluster member taken out of service for maintenance, and brought back, with no request
lost: its HAProxy backends drained first on every load balancer, then the node put in standby
(Pacemaker moves its VIPs, the DB's writer role with them, and stops its resources: Galera
and RabbitMQ leave their clusters cleanly); back, standby lifted, and its backends given
requests again once they answer. resource-stickiness INFINITY (catalog/cluster.py) keeps
what moved where it is: nothing is rebalanced that need not move.

One member at a time: a second one in standby would leave Galera and RabbitMQ one failure
from losing their majority, so it is refused. A compute (compute_maintenance) is emptied
through nova first, then put in standby; any number may be out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hastack import haproxy_stats
from hastack.catalog.contract import CatalogEntry, Listener, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.deploy import drain
from hastack.errors import HastackError, TransportError, UsageError
from hastack.osapi import client as osapi
from hastack.pacemaker import live
from hastack.pacemaker.status import ClusterStatus
from hastack.secrets import Secrets
from hastack.site.load import LoadedSite
from hastack.transport.base import Transport


@dataclass(frozen=True)
class Step:
    what: str
    seconds: float


@dataclass
class Maintenance:
    """What was done (``steps`` empty: the node already was where it was asked to be)."""

    node: str
    on: bool
    changed: bool = False
    steps: list[Step] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # single-instance resources it held

    def record(self, what: str, started: float) -> None:
        self.steps.append(Step(what, time.monotonic() - started))
        self.changed = True


def refusal(status: ClusterStatus, members: Sequence[str], node: str,
            on: bool) -> UsageError | None:
    """Why the cluster, as ``status`` shows it, must not have ``node`` enter (``on``) or
    leave maintenance now; None when it may (or when it already is where it is asked to be)."""
    state = status.node(node)
    if state is None:
        return UsageError("maintain-unknown-node", f"{node} is not in the cluster's status",
                          fix="name a member of the cluster (hastack status SITE)")
    if not on:
        return None
    if state.standby:
        return None
    if not status.quorate:
        return UsageError("maintain-no-quorum", "the cluster has no quorum: taking a member "
                          "out now could stop the whole plane", fix="repair the cluster "
                          "first (hastack status SITE)")
    others = [m for m in members if m != node]
    away = [m for m in others if (s := status.node(m)) is None or not s.online or s.standby]
    if away:
        return UsageError("maintain-second-member", f"{', '.join(away)} already out of "
                          f"service: {node} too would leave one failure from losing the "
                          "majority", fix=f"bring {', '.join(away)} back first "
                          f"(hastack maintain SITE {away[0]} off)")
    if not state.online:
        return UsageError("maintain-node-offline", f"{node} is not online",
                          fix="a node that is down needs no maintenance mode: repair it")
    return None


def _listeners(loaded: LoadedSite, catalog: Sequence[CatalogEntry], node: str
               ) -> list[Listener]:
    """Every HAProxy listener with a backend on ``node``."""
    platform = platform_info(loaded.site.platform.value)
    found: list[Listener] = []
    for entry in catalog:
        if not loaded.placement.has(entry.name) or \
                node not in loaded.placement.cluster_of(entry.name).members:
            continue
        ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service=entry.name,
                             platform=platform)
        found += entry.listeners(ctx)
    return found


async def _configured(balancers: Mapping[str, Transport], listeners: list[Listener]
                      ) -> list[Listener]:
    """Those of ``listeners`` HAProxy has: a site deployed with ``--scope core`` has none of
    the APIs' (draining one HAProxy does not know fails: "No such backend")."""
    if not balancers:
        return listeners
    known = {proxy for proxy, _, _ in await haproxy_stats.servers(next(iter(
        balancers.values())))}
    return [listener for listener in listeners if listener.name in known]


def _single_instances(status: ClusterStatus, node: str) -> list[str]:
    return sorted(r.id for r in status.resources
                  if r.clone is None and r.active and r.nodes == (node,)
                  and not r.agent.startswith("stonith"))


async def maintain(loaded: LoadedSite, catalog: Sequence[CatalogEntry],
                   transports: Mapping[str, Transport], node: str, *, on: bool,
                   secrets: Secrets | None = None) -> Maintenance:
    """``node`` (a cluster member, or a compute: see compute_maintenance) into maintenance
    (``on``) or back.

    Raises:
        UsageError: the node is not a member, or the cluster's state refuses it (see
            refusal).
        TransportError: a step did not finish (the message names it); run it again.
    """
    if any(node in c.remotes for c in loaded.placement.clusters):
        assert secrets is not None, "a compute's maintenance speaks to nova"
        return await compute_maintenance(loaded, transports, secrets, node, on=on)
    members = next((c.members for c in loaded.placement.clusters if node in c.members), None)
    if members is None:
        raise UsageError("maintain-unknown-node", f"{node} is not a node of any cluster of "
                         "the site", fix="name a controller or a compute")
    via, status = await _first_answer(transports, [m for m in members if m != node])
    problem = refusal(status, members, node, on)
    if problem is not None:
        raise problem
    result = Maintenance(node, on)
    state = status.node(node)
    assert state is not None
    balancers = {n: transports[n] for n in loaded.placement.cluster_of("loadbalancer").members
                 if n != node} if loaded.placement.has("loadbalancer") else {}
    listeners = await _configured(balancers, _listeners(loaded, catalog, node))

    step = result.record
    # Each half also finishes what a killed run left: standby set but not settled, or
    # lifted with the backends still held out of HAProxy.
    if on:
        started = time.monotonic()
        if not state.standby:
            result.moved = _single_instances(status, node)
            await drain.drain(balancers, listeners, node)
            step("backends drained on every load balancer", started)
            started = time.monotonic()
            await _standby(via, node, True)
        await live.wait_settled(via)
        if not state.standby:
            step("standby: its resources moved or stopped, cluster settled", started)
        left = _single_instances(await live.crm_mon(via), node)
        if left:
            raise TransportError(node, f"still running in standby: {', '.join(left)}",
                                 fix="see hastack status SITE; run maintain again")
        return result
    if state.standby:
        started = time.monotonic()
        await _standby(via, node, False)
        await live.wait_settled(via)
        step("standby lifted: its clones started again, cluster settled", started)
    if state.standby or await _held_out(balancers, node):
        started = time.monotonic()
        await drain.give_back(balancers, listeners, node, str(loaded.site.node(node).address))
        step("backends answering and given requests again", started)
    return result


async def _first_answer(transports: Mapping[str, Transport], members: Sequence[str]
                        ) -> tuple[Transport, ClusterStatus]:
    """The first of ``members`` whose crm_mon answers, and what it sees."""
    failure: HastackError | None = None
    for member in members:
        try:
            return transports[member], await live.crm_mon(transports[member])
        except HastackError as exc:
            failure = exc
    raise TransportError(", ".join(members), "no other member answers crm_mon",
                         fix=failure.what if failure else "")


async def _held_out(balancers: Mapping[str, Transport], node: str) -> bool:
    """Is one of ``node``'s backends still in maintenance on a load balancer?"""
    for balancer in balancers.values():
        if any(server == node and status.startswith("MAINT")
               for _, server, status in await haproxy_stats.servers(balancer)):
            return True
    return False


async def _standby(via: Transport, node: str, on: bool) -> None:
    """The node's standby attribute (permanent, in the CIB's nodes section)."""
    argv = ["crm_attribute", "--node", node, "--name", "standby"]
    (await via.run([*argv, "--update", "on"] if on else [*argv, "--delete"])).check()


async def compute_maintenance(loaded: LoadedSite, transports: Mapping[str, Transport],
                              secrets: Secrets, node: str, *, on: bool) -> Maintenance:
    """A compute out of service: nova schedules nothing more to it and live-migrates its
    instances away (refused, naming them, when one cannot move), then the node goes into
    standby (Pacemaker stops nova-compute and the L2 agent there; nothing is fenced). Back:
    standby lifted, nova-compute enabled. Any number of computes may be out at once.
    """
    cluster = next(c for c in loaded.placement.clusters if node in c.remotes)
    via, status = await _first_answer(transports, cluster.members)
    state = status.node(node)
    if state is None:
        raise UsageError("maintain-unknown-node", f"{node} is not in the cluster's status",
                         fix="deploy the site first")
    if on and not state.standby and not status.quorate:
        raise UsageError("maintain-no-quorum", "the cluster has no quorum", fix="repair the "
                         "cluster first (hastack status SITE)")
    if on and not state.standby and not state.online:
        raise UsageError("maintain-node-offline", f"{node} is not online", fix="a compute "
                         "that is down is fenced and evacuated by the cluster: repair it")
    result = Maintenance(node, on)
    ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service="compute",
                         platform=platform_info(loaded.site.platform.value))

    async def nova(operation: str, started: float) -> None:
        done = await osapi.call(via, operation, {"host": node}, ctx=ctx, secrets=secrets,
                                timeout=1200)
        if not done.ok:
            raise TransportError(node, f"{operation}: {done.detail}",
                                 fix="run maintain again once that is solved")
        if done.changed:
            result.record(f"nova: {done.detail}", started)

    async def standby(to: bool, what: str) -> None:
        if state.standby != to:
            started = time.monotonic()
            await _standby(via, node, to)
            await live.wait_settled(via)
            result.record(what, started)

    if on:
        await nova("compute.maintenance-on", time.monotonic())
        await standby(True, "standby: nova-compute and the L2 agent stopped there, cluster "
                      "settled")
        return result
    await standby(False, "standby lifted: its services started again, cluster settled")
    await nova("compute.maintenance-off", time.monotonic())
    return result
