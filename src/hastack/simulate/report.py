"""What the CLI prints and the regression files record, as plain data (no printing here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hastack.simulate.explain import explain
from hastack.simulate.invariants import Violation, blocked_stops, up_nodes
from hastack.simulate.run import Baseline, CaseResult, SiteSimulation, View


@dataclass(frozen=True)
class Row:
    cluster: str
    case: str
    ok: bool
    moved: tuple[str, ...]  # services
    unavailable: tuple[str, ...]  # services
    fenced: tuple[str, ...]
    failing: tuple[Violation, ...]
    simulated_as: str
    restarted: tuple[str, ...] = ()  # RESOURCE@NODE


def _services(base: Baseline, resources: tuple[str, ...]) -> tuple[str, ...]:
    cluster = base.cluster
    return tuple(sorted({cluster.service_of(r.split(" ", 1)[0]) for r in resources}))


def rows(sim: SiteSimulation) -> list[Row]:
    out = []
    for r in sim.results:
        base = sim.baseline(r.case.cluster)
        out.append(Row(cluster=r.case.cluster, case=r.case.spec, ok=r.ok,
                       moved=_services(base, r.moved),
                       unavailable=_services(base, r.unavailable), fenced=r.fenced,
                       failing=r.failing, simulated_as=r.simulated_as,
                       restarted=r.restarted))
    return out


def explanation(base: Baseline, violation: Violation, *, depth: int = 3) -> list[str]:
    """What the CIB lacks (when that is the reason), then the chain the resource depends on."""
    lines = list(violation.notes)
    for ref in violation.resources[:1]:
        chain = explain(base.constraints, ref, depth=depth)
        if chain is not None:
            lines += chain.lines()
    return lines


def _violation(base: Baseline, v: Violation, failing: bool) -> dict[str, Any]:
    return {"invariant": v.invariant, "scope": v.scope, "message": v.message,
            "failing": failing, "resources": list(v.resources),
            "explanation": explanation(base, v) if failing else list(v.notes)}


def case_json(sim: SiteSimulation, r: CaseResult) -> dict[str, Any]:
    base = sim.baseline(r.case.cluster)
    failing = set(r.failing)
    return {"cluster": r.case.cluster, "case": r.case.spec, "failures": r.case.failures,
            "ok": r.ok, "moved": list(r.moved), "unavailable": list(r.unavailable),
            "services_moved": list(_services(base, r.moved)),
            "services_unavailable": list(_services(base, r.unavailable)),
            "fenced": list(r.fenced), "restarted": list(r.restarted),
            "simulated_as": r.simulated_as or None,
            "violations": [_violation(base, v, v in failing) for v in r.violations]}


def as_json(sim: SiteSimulation) -> dict[str, Any]:
    return {"ok": sim.ok, "seconds": round(sim.seconds, 2), "cases": len(sim.results),
            "simulated": sim.simulated,
            "failed": [r.case.spec for r in sim.results if not r.ok],
            "results": [case_json(sim, r) for r in sim.results]}


def expectation(sim: SiteSimulation) -> dict[str, dict[str, Any]]:
    """The compact outcome per case that regression files record."""
    return {f"{r.case.cluster}/{r.case.spec}": {
        "ok": r.ok, "moved": list(r.moved), "unavailable": list(r.unavailable),
        "fenced": list(r.fenced), "restarted": list(r.restarted)} for r in sim.results}


@dataclass(frozen=True)
class ViewDetail:
    label: str
    quorate: bool
    steps: tuple[str, ...]
    placement: tuple[tuple[str, str], ...]  # (resource, "ctl1, ctl2*") * = promoted
    blocked: tuple[str, ...]  # still running although stopped: waits on a lost node
    nodes: tuple[tuple[str, str], ...]  # (node, up/lost)


def view_detail(base: Baseline, view: View) -> ViewDetail:
    state = view.outcome.state
    cluster = base.cluster
    up = up_nodes(state)
    placement: list[tuple[str, str]] = []
    for prim in cluster.primitives():
        nodes = sorted({(n, r.role in ("Promoted", "Master")) for r in state.resources
                        if r.id == prim.id and r.active for n in r.nodes})
        text = ", ".join(f"{n}{'*' if p else ''}{'' if n in up else ' (lost)'}"
                         for n, p in nodes)
        placement.append((cluster.configured_id(prim.id), text or "stopped"))
    return ViewDetail(
        label=view.label or "cluster", quorate=view.quorate,
        steps=tuple(s.text() for s in view.outcome.steps),
        placement=tuple(placement),
        blocked=tuple(f"{rid} on {node}" for rid, node in blocked_stops(view.outcome)),
        nodes=tuple((n.name, "up" if n.name in up else "lost" if n.unclean else "down")
                    for n in state.nodes))
