"""Run every case: a settled baseline per cluster, then one crm_simulate per case, in parallel.

crm_simulate only schedules; the transitions are carried out by ``transition`` (the reason
and the contract are there). The baseline is the rendered CIB with every member online,
scheduled and carried out until Pacemaker has nothing left to do. Galera's promotion scores
come from its agent at runtime (crm_master), so they are injected as the transient
attributes the agent sets once every member has reported its position; without them
crm_simulate leaves Galera unpromoted.

Compute nodes whose situation is identical up to their name (same controller holding their
connection, same controller holding their fence device, same resources) are interchangeable:
by default one of them is simulated and its outcome stands, renamed, for the others
(``simulated_as``); ``exhaustive`` simulates each.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from lxml import etree

from hastack.catalog.cib_model import stonith_id
from hastack.errors import UsageError
from hastack.pacemaker.simulator import Events, simulate
from hastack.pacemaker.status import ClusterStatus
from hastack.simulate.cases import Case, enumerate_cases, rename
from hastack.simulate.explain import CibConstraints
from hastack.simulate.invariants import Judge, Violation, interrupted, where
from hastack.simulate.model import SimCluster
from hastack.simulate.outcome import (
    Outcome,
    fencing_fails,
    fencing_of,
    parse_simulation,
    parse_transition,
)
from hastack.simulate.transition import execute_on_cib, execute_on_state, lose

log = logging.getLogger(__name__)
# crm_simulate is single-threaded and the cases are independent: one per core.
WORKERS = os.cpu_count() or 2
SETTLE_ROUNDS = 4
PROMOTION_SCORE = "100"  # what ocf:heartbeat:galera sets with crm_master once bootstrapped
RC_NOT_RUNNING = 7
RC_NOT_INSTALLED = 5  # a hard error: the resource may not run on that node any more


@dataclass(frozen=True)
class Baseline:
    cluster: SimCluster
    cold: Outcome  # the first transition from nothing (the cold start)
    settled: Outcome  # the steady state every other case starts from
    constraints: CibConstraints
    monitors: dict[tuple[str, str], str]  # (primitive, node) -> current monitor op key
    # Scheduled transitions by injected events: node-fail:ctl1, the majority of
    # partition:ctl1 and fence-fail:ctl1 schedule the same one.
    schedules: dict[Events, Outcome] = field(
        default_factory=dict, compare=False, repr=False)

    @property
    def state(self) -> ClusterStatus:
        return self.settled.state

    @property
    def judge(self) -> Judge:
        return Judge(self.cluster, self.constraints, self.state)


@dataclass(frozen=True)
class View:
    label: str  # "" for a whole cluster; "majority" / "minority" for a partition
    quorate: bool
    outcome: Outcome


@dataclass(frozen=True)
class CaseResult:
    case: Case
    views: tuple[View, ...]
    violations: tuple[Violation, ...]
    moved: tuple[str, ...]
    unavailable: tuple[str, ...]
    fenced: tuple[str, ...]
    seconds: float
    simulated_as: str = ""  # the equivalent case actually simulated, when not this one
    # RESOURCE@NODE (configured ids) stopped or demoted on a node that stays up: restarted
    # there, moved away, or stopped for good (a lost node's resources are not listed).
    restarted: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations
                     if v.scope == "always" or self.case.failures == 1)

    @property
    def ok(self) -> bool:
        return not self.failing


def with_promotion_scores(cib_xml: str, cluster: SimCluster) -> str:
    root = etree.fromstring(cib_xml.encode())
    promotable = [p.id for p in cluster.primitives() if cluster.is_promotable(p.id)]
    for state in root.iterfind("status/node_state"):
        nid = state.get("id", "")
        attrs = etree.SubElement(state, "transient_attributes", id=nid)
        block = etree.SubElement(attrs, "instance_attributes", id=f"status-{nid}")
        for prim in promotable:
            etree.SubElement(block, "nvpair", id=f"status-{nid}-master-{prim}",
                             name=f"master-{prim}", value=PROMOTION_SCORE)
    return etree.tostring(root, encoding="unicode")


def _monitors(cib_xml: str) -> dict[tuple[str, str], str]:
    """The recurring monitor of each resource on each node, from the status history."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    root = etree.fromstring(cib_xml.encode())
    for state in root.iterfind("status/node_state"):
        node = state.get("uname") or state.get("id") or ""
        for rsc in state.iterfind("lrm/lrm_resources/lrm_resource"):
            for op in rsc.iterfind("lrm_rsc_op"):
                interval = int(op.get("interval", "0") or "0")
                if op.get("operation") == "monitor" and interval > 0:
                    key = (rsc.get("id", ""), node)
                    if key not in found or interval < found[key][0]:
                        found[key] = (interval, op.get("operation_key", ""))
    return {k: v[1] for k, v in found.items()}


def baseline(cluster: SimCluster) -> Baseline:
    """Schedule and carry out transitions from nothing until Pacemaker has nothing left to
    do. The settled state is crm_simulate's own reading of the resulting CIB."""
    cib = with_promotion_scores(cluster.cib, cluster)
    sim = simulate(cib, execute=False)
    cold = settled = parse_simulation(sim)
    for _ in range(1 + SETTLE_ROUNDS):  # the cold start's transition, then up to 4 more
        if not settled.active:
            break
        cib = execute_on_cib(cib, sim.graph)
        sim = simulate(cib, execute=False)
        settled = parse_simulation(sim)
    if settled.active:
        log.warning("baseline not settled cluster=%s rounds=%d", cluster.name, SETTLE_ROUNDS)
    settled = replace(settled, cib=cib)
    return Baseline(cluster=cluster, cold=cold, settled=settled,
                    constraints=CibConstraints(cluster.cib, cluster.whys), monitors=_monitors(cib))


def _quorate(cluster: SimCluster, alive: Iterable[str]) -> bool:
    return 2 * len(set(alive) & set(cluster.members)) > len(cluster.members)


def _host(base: Baseline, prim: str) -> str | None:
    hosts = sorted(where(base.state, prim))
    return hosts[0] if hosts else None


@dataclass(frozen=True)
class Loss:
    """What a case injects: crm_simulate's events, and what they mean for the state."""

    events: Events
    quorate: bool = True
    lost: tuple[str, ...] = ()  # members failed (unclean until fenced)
    failed: tuple[tuple[str, str], ...] = ()  # (primitive, node) whose monitor fails


def _monitor_failure(base: Baseline, prim: str, node: str, rc: int) -> Loss:
    key = base.monitors.get((prim, node))
    if key is None:
        raise UsageError("simulate-unknown-case", f"{prim} has no recurring monitor on {node} "
                         "in the baseline", fix="pick a node where it runs (see hastack "
                         "simulate SITE)")
    return Loss(Events(op_inject=(f"{key}@{node}={rc}",)), failed=((prim, node),))


def _members_lost(cluster: SimCluster, lost: Sequence[str]) -> Loss:
    quorate = _quorate(cluster, [m for m in cluster.members if m not in lost])
    return Loss(Events(node_fail=tuple(lost), quorum=None if quorate else False),
                quorate=quorate, lost=tuple(lost))


def _node_loss(base: Baseline, node: str) -> Loss:
    """Losing ``node``, a member or a remote node."""
    if node in base.cluster.remotes:
        # A remote node cannot be "failed" in crm_simulate: its connection's monitor fails,
        # which is what the cluster sees when a compute dies.
        host = _host(base, node)
        if host is None:
            return Loss(Events())
        return _monitor_failure(base, node, host, RC_NOT_RUNNING)
    return _members_lost(base.cluster, (node,))


def _run(base: Baseline, loss: Loss, *, never_fenced: str = "",
         by_crm_simulate: bool = False) -> Outcome:
    """Schedule the transition after ``loss`` (once per distinct loss) and carry it out on
    the baseline's state; with ``never_fenced``, fencing that node never succeeds.
    ``by_crm_simulate`` has crm_simulate carry it out instead (the slow reference the
    executor is checked against; it cannot make fencing fail)."""
    if by_crm_simulate and not never_fenced:
        return parse_simulation(simulate(base.settled.cib, loss.events))
    outcome = base.schedules.get(loss.events)
    if outcome is None:
        steps, graph = parse_transition(simulate(base.settled.cib, loss.events, execute=False))
        outcome = base.schedules[loss.events] = Outcome(steps=steps, graph=graph,
                                                        state=base.state, cib="")
    never: Collection[int] = ()
    if never_fenced:
        never = outcome.graph.downstream(fencing_of(outcome.graph, never_fenced)) \
            | fencing_of(outcome.graph, never_fenced)
        outcome = replace(outcome, steps=fencing_fails(outcome, never_fenced))
    cluster = base.cluster
    connections = {r: r for r in cluster.remotes if cluster.is_remote_connection(r)}
    before = lose(base.state, loss.lost, quorate=loss.quorate)
    state = execute_on_state(before, outcome.graph, connections=connections,
                             failed=loss.failed, never=never)
    return replace(outcome, state=state)


def views_of(base: Baseline, case: Case, *, by_crm_simulate: bool = False
             ) -> tuple[View, ...]:
    """The case as each side sees it (a partition has two)."""
    cluster = base.cluster

    def run(loss: Loss, never_fenced: str = "") -> Outcome:
        return _run(base, loss, never_fenced=never_fenced, by_crm_simulate=by_crm_simulate)

    if case.kind == "cold-start":
        return (View("", True, replace(base.cold, state=base.state)),)
    if case.kind == "node-fail":
        loss = _node_loss(base, case.nodes[0])
        return (View("", loss.quorate, run(loss)),)
    if case.kind == "fence-fail":
        loss = _node_loss(base, case.nodes[0])
        return (View("", loss.quorate, run(loss, case.nodes[0])),)
    if case.kind == "nodes-fail":
        loss = _members_lost(cluster, case.nodes)
        return (View("", loss.quorate, run(loss)),)
    if case.kind == "partition":
        node = case.nodes[0]
        major = _members_lost(cluster, (node,))
        minor = _members_lost(cluster, tuple(m for m in cluster.members if m != node))
        return (View("majority", major.quorate, run(major)),
                View(f"{node} alone", minor.quorate, run(minor)))
    if case.kind == "monitor-fail":
        loss = _monitor_failure(base, case.resource, case.nodes[0], RC_NOT_INSTALLED)
        return (View("", True, run(loss)),)
    raise UsageError("simulate-unknown-case", f"unknown case kind {case.kind}")


def _summary(base: Baseline, view: View) -> tuple[tuple[str, ...], tuple[str, ...],
                                                  tuple[str, ...]]:
    """Moved, unavailable (configured ids) and fenced, comparing with the baseline."""
    cluster, before, after = base.cluster, base.state, view.outcome.state
    moved: set[str] = set()
    unavailable: set[str] = set()
    for prim in cluster.primitives():
        rid = cluster.configured_id(prim.id)
        was, now = where(before, prim.id), where(after, prim.id)
        if was and not now:
            unavailable.add(rid)
        elif not cluster.is_clone(prim.id) and was and now != was:
            moved.add(rid)
        if cluster.is_promotable(prim.id) and where(before, prim.id, promoted=True) \
                and now and not where(after, prim.id, promoted=True):
            unavailable.add(f"{rid} (promoted)")
    fenced = list(view.outcome.fenced)
    fenced += [f"{s.node} (fails)" for s in view.outcome.steps
               if s.action == "fence" and s.blocked]
    return tuple(sorted(moved)), tuple(sorted(unavailable)), tuple(fenced)


def run_case(base: Baseline, case: Case) -> CaseResult:
    started = time.monotonic()
    views = views_of(base, case)
    judge = base.judge
    violations: list[Violation] = []
    for view in views:
        prefix = f"[{view.label}] " if view.label else ""
        violations += [replace(v, message=prefix + v.message)
                       for v in judge.check(view.outcome, view.quorate, case)]
    moved, unavailable, fenced = _summary(base, views[0])
    restarted = tuple(sorted(f"{base.cluster.configured_id(prim)}@{node}"
                             for prim, node in interrupted(views[0].outcome)))
    return CaseResult(case=case, views=views, violations=tuple(violations), moved=moved,
                      unavailable=unavailable, fenced=fenced,
                      seconds=time.monotonic() - started, restarted=restarted)


# --- symmetric compute nodes --------------------------------------------------------------


def _signature(base: Baseline, remote: str) -> tuple[object, ...]:
    state = base.state
    on_it = tuple(sorted(r.id for r in state.resources if r.active and remote in r.nodes))
    return (_host(base, remote), _host(base, stonith_id(remote)), on_it)


def representatives(base: Baseline) -> dict[str, str]:
    """Each remote node -> the remote node simulated in its place (itself for the first)."""
    first: dict[tuple[object, ...], str] = {}
    out: dict[str, str] = {}
    for remote in base.cluster.remotes:
        out[remote] = first.setdefault(_signature(base, remote), remote)
    return out


def _subject(base: Baseline, case: Case) -> str | None:
    """The remote node a case is about, if any."""
    for remote in base.cluster.remotes:
        if remote in case.nodes or case.resource in (remote, stonith_id(remote)):
            return remote
    return None


def _swap(text: str, a: str, b: str) -> str:
    marker = "\x00"
    return rename(rename(rename(text, a, marker), b, a), marker, b)


def _as(result: CaseResult, case: Case, rep: str, remote: str) -> CaseResult:
    def names(items: Sequence[str]) -> tuple[str, ...]:
        return tuple(_swap(i, rep, remote) for i in items)

    violations = tuple(replace(v, message=_swap(v.message, rep, remote),
                               resources=names(v.resources),
                               notes=names(v.notes)) for v in result.violations)
    return replace(result, case=case, violations=violations, moved=names(result.moved),
                   unavailable=names(result.unavailable), fenced=names(result.fenced),
                   restarted=tuple(sorted(names(result.restarted))),
                   seconds=0.0, simulated_as=result.case.spec)


@dataclass(frozen=True)
class SiteSimulation:
    baselines: tuple[Baseline, ...]
    results: tuple[CaseResult, ...]
    seconds: float
    simulated: int  # cases actually simulated (the rest are symmetric copies)
    baseline_seconds: float = 0.0

    @property
    def scheduled(self) -> int:
        """crm_simulate runs for the cases (cases with the same events share one)."""
        return sum(len(b.schedules) for b in self.baselines)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def baseline(self, cluster: str) -> Baseline:
        return next(b for b in self.baselines if b.cluster.name == cluster)


def simulate_site(clusters: Sequence[SimCluster], *,
                  select: Callable[[Baseline], list[Case]] | None = None,
                  exhaustive: bool = False, workers: int = WORKERS) -> SiteSimulation:
    """Baselines, then every case ``select`` picks (default: all), in parallel."""
    started = time.monotonic()
    pick = select or (lambda b: enumerate_cases(b.cluster, b.state))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        baselines = tuple(pool.map(baseline, clusters))
        baseline_seconds = time.monotonic() - started
        planned: list[tuple[Baseline, Case, str | None, str | None]] = []
        for base in baselines:
            reps = {} if exhaustive else representatives(base)
            for case in pick(base):
                remote = _subject(base, case)
                rep = reps.get(remote) if remote is not None else None
                if rep is not None and rep != remote and remote is not None:
                    planned.append((base, case, rep, remote))
                else:
                    planned.append((base, case, None, None))
        own = {(b.cluster.name, c.spec): (b, c) for b, c, rep, _ in planned if rep is None}
        needed = dict(own)
        for base, case, rep, remote in planned:
            if rep is not None and remote is not None:
                twin = case.renamed(remote, rep)
                needed.setdefault((base.cluster.name, twin.spec), (base, twin))
        done = dict(zip(needed, pool.map(lambda bc: run_case(*bc), needed.values()),
                        strict=True))
    results: list[CaseResult] = []
    for base, case, rep, remote in planned:
        if rep is None or remote is None:
            results.append(done[(base.cluster.name, case.spec)])
        else:
            simulated = done[(base.cluster.name, case.renamed(remote, rep).spec)]
            results.append(_as(simulated, case, rep, remote))
    return SiteSimulation(baselines=baselines, results=tuple(results),
                          seconds=time.monotonic() - started, simulated=len(needed),
                          baseline_seconds=baseline_seconds)
