"""The guide's rules, judged on every resulting state and transition.

The rules are stated here independently of the catalog's constraints (the start order of the
guide is a table below, not read from the CIB), so a catalog or renderer that drops a
constraint is caught, and the CIB's actual constraints then explain why.

``scope``: "always" rules hold under any failure (safety); "single" rules are availability
owed under one failure while quorum holds. Under two failures their breaches are the
expected unavailability, reported but not failing the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hastack.pacemaker.status import ClusterStatus
from hastack.simulate.explain import CibConstraints
from hastack.simulate.model import SimCluster
from hastack.simulate.outcome import Outcome

Scope = Literal["always", "single"]

HAPROXY = "haproxy"
HAPROXY_CLONE = "haproxy-clone"
# Guide: cinder-volume and heat-engine are active/passive (one instance, ever).
ACTIVE_PASSIVE = ("cinder-volume", "heat-engine")
# The guide's start order: (first, first's action, then). Pairs whose resources live on
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

    def check(self, outcome: Outcome, quorate: bool) -> list[Violation]:
        found: list[Violation] = []
        for rule in (self.vips, self.apis, self.active_passive, self.galera, self.fencing,
                     self.quorum, self.order):
            found += rule(outcome, quorate)
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
        graph, state = outcome.graph, outcome.state
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
            # The state is judged for clone pairs only: Pacemaker's interleaved orders stop a
            # dependent instance with its node's first. An active/passive primitive ordered
            # after a clone keeps running when the clone's local instance stops (orders do not
            # place resources), which the guide accepts.
            if not quorate or not (self.cluster.is_clone(first) and self.cluster.is_clone(then)):
                continue
            promoted = action == "promote"
            had = where(self.baseline, fp) | where(state, fp, nodes=set(
                n.name for n in state.nodes))
            for node in sorted(where(state, tp)):
                needed = {node} if node in had else up_nodes(state)
                if not where(state, fp, promoted=promoted, nodes=needed):
                    what = "promoted " if promoted else ""
                    out.append(Violation("guide-start-order", "always",
                                         f"{tp} runs on {node} without {what}{fp}"
                                         f"{' there' if node in had else ''}", (then,), notes))
        return out
