"""The guide's rules, judged on every resulting state and transition.

The rules are stated here independently of the catalog's constraints (the start order of the
guide and what a running service needs on its node are tables below, not read from the CIB),
so a catalog or renderer that drops a constraint, or adds one that spreads a failure, is
caught, and the CIB's actual constraints then explain why.

``scope``: "always" rules hold under any failure (safety); "single" rules are availability
owed under one failure while quorum holds. Under two failures their breaches are the
expected unavailability, reported but not failing the case.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from hastack.catalog.cib_model import Colocation, Constraint, Order
from hastack.pacemaker.status import ClusterStatus
from hastack.simulate.cases import Case
from hastack.simulate.explain import CibConstraints
from hastack.simulate.model import SimCluster
from hastack.simulate.outcome import Outcome

Scope = Literal["always", "single"]

HAPROXY = "haproxy"
HAPROXY_CLONE = "haproxy-clone"
# Guide: cinder-volume and heat-engine are active/passive (one instance, ever).
ACTIVE_PASSIVE = ("cinder-volume", "heat-engine")
# The guide's start order: (first, first's action, then), judged in every transition that
# starts both (the catalog states it as Optional orders). Pairs whose resources live on
# different clusters are not judged (segregated sites lose that ordering, as in the guide).
GUIDE_ORDER: tuple[tuple[str, str, str], ...] = (
    ("galera-clone", "promote", "keystone-clone"),
    ("rabbitmq-clone", "start", "keystone-clone"),
    ("memcached-clone", "start", "keystone-clone"),
    (HAPROXY_CLONE, "start", "keystone-clone"),
    ("keystone-clone", "start", "glance-api-clone"),
    ("glance-fs-clone", "start", "glance-api-clone"),
    ("keystone-clone", "start", "cinder-api-clone"),
    ("cinder-api-clone", "start", "cinder-scheduler-clone"),
    ("cinder-scheduler-clone", "start", "cinder-volume"),
    ("keystone-clone", "start", "swift-account-clone"),
    ("keystone-clone", "start", "neutron-api-clone"),
    ("keystone-clone", "start", "placement-api-clone"),
    ("keystone-clone", "start", "nova-api-clone"),
    ("placement-api-clone", "start", "nova-api-clone"),
    ("keystone-clone", "start", "ceilometer-central-clone"),
    ("keystone-clone", "start", "heat-api-clone"),
    ("heat-api-cfn-clone", "start", "heat-engine"),
    ("nova-conductor-clone", "start", "compute-nova-clone"),
)
L2_AGENTS = ("neutron-openvswitch-agent", "neutron-linuxbridge-agent")
# What a running service cannot do without on its own node (docs/architecture.md, "One
# fault, one repair"), as (needed, dependent) primitive ids, shell patterns allowed: the
# dependent must not run where the needed one does not, and it is the only thing a failure
# of the needed one may stop besides itself. Everything else is start-up order only.
RUNNING_DEPENDENCIES: tuple[tuple[str, str], ...] = (
    ("glance-fs", "glance-api"),  # images on the NFS mount (with a gateway node)
    ("swift-fs", "swift-account"),  # each server serves the mounted device
    ("swift-fs", "swift-container"),
    ("swift-fs", "swift-object"),
    (HAPROXY, "vip-*"),  # a VIP answers through HAProxy on its node
    # The L2 agent wires the ports of the other agents' namespaces and of instances.
    *((l2, f"neutron-{agent}-agent") for l2 in L2_AGENTS for agent in ("dhcp", "l3", "metadata")),
    ("compute-neutron-agent", "compute-nova"),
)
PROMOTED = ("Promoted", "Master")


@dataclass(frozen=True)
class Violation:
    invariant: str
    scope: Scope
    message: str
    resources: tuple[str, ...]  # what to explain (configured ids)
    notes: tuple[str, ...] = ()  # what the CIB lacks, when that is the reason


def up_nodes(state: ClusterStatus) -> set[str]:
    return {n.name for n in state.nodes if n.online and not n.unclean}


def unclean_nodes(state: ClusterStatus) -> set[str]:
    return {n.name for n in state.nodes if n.unclean}


def where(state: ClusterStatus, prim: str, *, promoted: bool = False,
          nodes: set[str] | None = None) -> set[str]:
    """Nodes (of ``nodes``, default: those up) with an active instance of ``prim``."""
    pool = up_nodes(state) if nodes is None else nodes
    return {n for r in state.resources if r.id == prim and r.active
            and (not promoted or r.role in PROMOTED) for n in r.nodes if n in pool}


def _stopping(outcome: Outcome, prim: str, node: str, ops: tuple[str, ...]) -> bool:
    return any(a.resource == prim and a.node == node for op in ops
               for a in outcome.graph.ops(op))


def blocked_stops(outcome: Outcome) -> list[tuple[str, str]]:
    """(primitive, node) still running although the transition stops it: the stop waits on
    an action that cannot run (a stop on a lost node that cannot be fenced)."""
    up = up_nodes(outcome.state)
    return sorted({(r.id, n) for r in outcome.state.resources if r.active for n in r.nodes
                   if n in up and _stopping(outcome, r.id, n, ("stop",))})


@dataclass(frozen=True)
class Judge:
    cluster: SimCluster
    cib: CibConstraints
    baseline: ClusterStatus

    def check(self, outcome: Outcome, quorate: bool, case: Case | None = None
              ) -> list[Violation]:
        found: list[Violation] = []
        for rule in (self.vips, self.apis, self.active_passive, self.galera, self.fencing,
                     self.quorum, self.order, self.dependencies):
            found += rule(outcome, quorate)
        if case is not None:
            found += self.single_fault(outcome, case)
        return found

    def _present(self, ref: str) -> bool:
        return self.cluster.resource(ref) is not None

    def vips(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        state, out = outcome.state, []
        haproxy = where(state, HAPROXY) if self._present(HAPROXY) else None
        for prim in self.cluster.primitives():
            vip = prim.id
            if not vip.startswith("vip-") or not quorate:
                continue
            holders = where(state, vip)
            stale = where(state, vip, nodes=unclean_nodes(state))
            if not holders:
                out.append(Violation("vip-one-holder", "single", f"{vip} is held by no node",
                                     (vip,)))
            if len(holders | stale) > 1:
                out.append(Violation("vip-one-holder", "always", f"{vip} is held by "
                                     f"{', '.join(sorted(holders | stale))}", (vip,)))
            for node in sorted(holders - (haproxy or holders)):
                notes = () if self.cib.has_colocation(vip, HAPROXY_CLONE) else (
                    f"the CIB has no colocation of {vip} with {HAPROXY_CLONE}",)
                out.append(Violation("vip-with-haproxy", "always",
                                     f"{vip} is on {node}, where HAProxy is not running",
                                     (vip,), notes))
        return out

    def apis(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        out = []
        for listener in self.cluster.listeners:
            backend = listener.name
            if not quorate or not self._present(backend):
                continue
            promoted = self.cluster.is_promotable(backend)
            if not where(outcome.state, backend, promoted=promoted):
                what = "promoted " if promoted else ""
                out.append(Violation("api-behind-vip", "single",
                                     f"no {what}{backend} running behind vip-{listener.vip}",
                                     (self.cluster.configured_id(backend),)))
        return out

    def active_passive(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        out, state = [], outcome.state
        for prim in ACTIVE_PASSIVE:
            if not self._present(prim):
                continue
            rid = self.cluster.configured_id(prim)
            running = where(state, prim) | where(state, prim, nodes=unclean_nodes(state))
            if len(running) > 1:
                out.append(Violation("active-passive-once", "always",
                                     f"{prim} runs on {', '.join(sorted(running))} "
                                     "(active/passive: exactly one instance)", (rid,),
                                     (f"{rid} is a {self.cib.summaries.get(rid, '?')}",)
                                     if self.cluster.is_clone(prim) else ()))
            elif quorate and not where(state, prim):
                out.append(Violation("active-passive-once", "single", f"{prim} runs nowhere",
                                     (rid,)))
        return out

    def galera(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        out = []
        for prim in self.cluster.primitives():
            if not self.cluster.is_promotable(prim.id) or quorate:
                continue
            rid = self.cluster.configured_id(prim.id)
            for act in outcome.graph.ops("promote", prim.id):
                out.append(Violation("promoted-only-with-quorum", "always",
                                     f"{prim.id} promoted on {act.node} without quorum", (rid,)))
            for node in sorted(where(outcome.state, prim.id, promoted=True)):
                if not _stopping(outcome, prim.id, node, ("demote", "stop")):
                    out.append(Violation("promoted-only-with-quorum", "always",
                                         f"{prim.id} stays promoted on {node} without quorum "
                                         "and no demote is scheduled", (rid,)))
        return out

    def _recoverable(self, prim: str) -> bool:
        # Fence devices may (must) start before the fencing they perform.
        return not (self.cluster.is_stonith(prim) or self.cluster.is_remote_connection(prim))

    def fencing(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        out, graph, state = [], outcome.graph, outcome.state
        for fence in graph.fencing():
            lost = fence.node
            for prim in sorted({r.id for r in self.baseline.resources
                                if r.active and lost in r.nodes}):
                if not self._recoverable(prim):
                    continue
                before = where(self.baseline, prim)
                for start in graph.ops("start", prim):
                    if start.node != lost and start.node not in before \
                            and fence.id not in graph.upstream(start.id):
                        out.append(Violation(
                            "fenced-before-recovery", "always",
                            f"{prim} starts on {start.node} before {lost} is fenced",
                            (self.cluster.configured_id(prim),)))
        for lost in sorted(unclean_nodes(state)):
            for prim in sorted({r.id for r in self.baseline.resources
                                if r.active and lost in r.nodes}):
                if self._recoverable(prim) and not self.cluster.is_clone(prim):
                    moved = where(state, prim) - where(self.baseline, prim)
                    if moved:
                        out.append(Violation(
                            "fenced-before-recovery", "always",
                            f"{prim} runs on {', '.join(sorted(moved))} while {lost} "
                            "is not fenced", (self.cluster.configured_id(prim),)))
        return out

    def _controlled(self, state: ClusterStatus) -> set[str]:
        """Nodes this partition acts on: its members that are up, and the remote nodes whose
        connection runs on one of them."""
        up = up_nodes(state)
        return {n for n in up if n not in self.cluster.remotes
                or where(state, n, nodes=up & set(self.cluster.members))}

    def quorum(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        """Without quorum nothing starts, and everything running is being stopped. A stop may
        wait on a stop on an unfenceable lost node (Pacemaker keeps the order): that is
        reported by ``blocked_stops``, and ended by the majority fencing this partition."""
        if quorate:
            return []
        out = [Violation("nothing-without-quorum", "always",
                         f"{a.resource} starts on {a.node} without quorum",
                         (self.cluster.configured_id(a.resource),))
               for a in outcome.graph.ops("start")]
        up = self._controlled(outcome.state)
        for rid, node in sorted({(r.id, n) for r in outcome.state.resources if r.active
                                 for n in r.nodes if n in up}):
            if not _stopping(outcome, rid, node, ("stop",)):
                out.append(Violation("nothing-without-quorum", "always",
                                     f"{rid} runs on {node} without quorum and no stop is "
                                     "scheduled", (self.cluster.configured_id(rid),)))
        return out

    def order(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        out: list[Violation] = []
        graph = outcome.graph
        for first, action, then in GUIDE_ORDER:
            if not (self._present(first) and self._present(then)):
                continue
            fp, tp = self.cluster.primitive_id(first), self.cluster.primitive_id(then)
            notes = () if self.cib.has_order(first, then, action) else (
                f"the CIB has no order {action} {first} then start {then}",)
            firsts = graph.ops(action, fp)
            for start in graph.ops("start", tp):
                before = graph.upstream(start.id)
                late = [f for f in firsts if f.node == start.node and f.id not in before]
                if late:
                    out.append(Violation("guide-start-order", "always",
                                         f"{tp} starts on {start.node} without waiting for "
                                         f"{action} of {fp} there", (then,), notes))
        return out

    def _needed(self) -> list[tuple[str, str]]:
        """RUNNING_DEPENDENCIES as (needed, dependent) primitives of this cluster."""
        prims = [p.id for p in self.cluster.primitives()]
        return [(a, b) for a in prims for b in prims if _allowed(a, b)]

    def dependencies(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        """A dependent never runs on a node without what it needs there (while quorate: the
        minority stops everything anyway). Clone pairs are judged per node; a dependent on a
        node its needed clone never had instances on needs one anywhere."""
        out: list[Violation] = []
        state = outcome.state
        if not quorate:
            return out
        everywhere = {n.name for n in state.nodes}
        for needed, dependent in self._needed():
            if dependent.startswith("vip-"):
                continue  # judged by vips (vip-with-haproxy)
            rn, rd = self.cluster.configured_id(needed), self.cluster.configured_id(dependent)
            notes = () if self.cib.has_colocation(rd, rn) else (
                f"the CIB has no colocation of {rd} with {rn}",)
            had = where(self.baseline, needed) | where(state, needed, nodes=everywhere)
            for node in sorted(where(state, dependent)):
                pool = {node} if node in had else up_nodes(state)
                if not where(state, needed, nodes=pool):
                    out.append(Violation("runs-with-dependency", "always",
                                         f"{dependent} runs on {node} without {needed}"
                                         f"{' there' if node in had else ''}", (rd,), notes))
        return out

    def _unexplained(self, needed: str, dependent: str) -> tuple[str, ...]:
        """The catalog's constraints from ``needed`` to ``dependent`` that spread a failure
        without saying why."""
        out = []
        for con in self.cluster.model.constraints:
            if not isinstance(con, Order | Colocation) or con.why:
                continue
            pair = spreading(con)
            if pair is not None and \
                    tuple(self.cluster.primitive_id(r) for r in pair) == (needed, dependent):
                what = (f"the Mandatory order {con.first} then {con.then}"
                        if isinstance(con, Order) else
                        f"the colocation of {con.rsc} with {con.with_rsc}")
                out.append(f"{what} says no why")
        return tuple(out)

    def single_fault(self, outcome: Outcome, case: Case) -> list[Violation]:
        """One fault, one repair: a resource failing on one node stops nothing on a node that
        stays up but itself and what is stated as depending on it (``dependents``)."""
        if case.kind != "monitor-fail" or outcome.fenced \
                or self.cluster.is_remote_connection(case.resource):
            return []
        allowed = dependents(self.cluster, case.resource) | {case.resource}
        edges = stated_edges(self.cluster)
        out = []
        for prim, node in interrupted(outcome):
            if prim in allowed:
                continue
            rid = self.cluster.configured_id(prim)
            why = edges.get(case.resource, {}).get(prim)
            notes = (f"the catalog says {prim} needs {case.resource} ({why}), which the "
                     "architecture does not (RUNNING_DEPENDENCIES)",) if why else \
                self._unexplained(case.resource, prim)
            out.append(Violation("one-fault-one-repair", "always",
                                 f"{prim} is stopped on {node} when {case.resource} fails "
                                 f"on {case.nodes[0]}", (rid,), notes))
        return out


def _allowed(needed: str, dependent: str) -> bool:
    for first, then in RUNNING_DEPENDENCIES:
        if fnmatchcase(needed, first) and fnmatchcase(dependent, then):
            return True
    return False


def spreading(con: Constraint) -> tuple[str, str] | None:
    """(needed, dependent) when ``con`` stops its dependent with what it needs: a Mandatory
    order (first -> then) or a positive colocation (with_rsc -> rsc)."""
    if isinstance(con, Order) and con.kind == "Mandatory":
        return (con.first, con.then)
    if isinstance(con, Colocation) and not con.score.startswith("-"):
        return (con.with_rsc, con.rsc)
    return None


def _together(cluster: SimCluster, con: Constraint) -> bool:
    """A colocation of two single-instance resources: they move as one (Pacemaker moves the
    one depended on where the dependent can run, ``influence`` being on by default)."""
    return isinstance(con, Colocation) and not cluster.is_clone(con.rsc) \
        and not cluster.is_clone(con.with_rsc)


def stated_edges(cluster: SimCluster) -> dict[str, dict[str, str]]:
    """needed -> {dependent: why}, primitive ids: the catalog's spreading constraints that
    carry a ``why`` (both ways for resources that move together)."""
    edges: dict[str, dict[str, str]] = {}
    for con in cluster.model.constraints:
        pair = spreading(con)
        if pair is not None and isinstance(con, Order | Colocation) and con.why:
            needed, dependent = (cluster.primitive_id(r) for r in pair)
            edges.setdefault(needed, {})[dependent] = con.why
            if _together(cluster, con):
                edges.setdefault(dependent, {})[needed] = con.why
    return edges


def dependents(cluster: SimCluster, prim: str) -> set[str]:
    """What may stop with ``prim``: reachable through constraints the catalog states with a
    ``why`` and that RUNNING_DEPENDENCIES admits, either way between single instances that
    move together (primitive ids, ``prim`` excluded)."""
    edges = stated_edges(cluster)
    seen: set[str] = set()
    todo = deque([prim])
    while todo:
        current = todo.popleft()
        for dependent in edges.get(current, {}):
            admitted = _allowed(current, dependent) or (
                _allowed(dependent, current) and not cluster.is_clone(current)
                and not cluster.is_clone(dependent))  # single instances move together
            if dependent not in seen and admitted:
                seen.add(dependent)
                todo.append(dependent)
    seen.discard(prim)
    return seen


def interrupted(outcome: Outcome) -> list[tuple[str, str]]:
    """(primitive, node) the transition stops or demotes on a node that stays up: restarted,
    moved away, or stopped there for good."""
    up = up_nodes(outcome.state)
    return sorted({(a.resource, a.node) for op in ("stop", "demote")
                   for a in outcome.graph.ops(op) if a.node in up})
