"""hastack carries transitions out itself (simulate/transition.py) instead of letting
crm_simulate --simulate do it: checked here against crm_simulate's own execution, on the
CIB it writes and on the state it reads back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from hastack.pacemaker.simulator import simulate
from hastack.pacemaker.status import ClusterStatus
from hastack.simulate.cases import Case, enumerate_cases
from hastack.simulate.invariants import PROMOTED, unclean_nodes, up_nodes
from hastack.simulate.model import SimCluster
from hastack.simulate.run import Baseline, View, baseline, views_of, with_promotion_scores
from hastack.simulate.transition import execute_on_cib

pytestmark = pytest.mark.tool
Clusters = Callable[[str], tuple[SimCluster, ...]]
History = dict[str, dict[str, dict[str, str]]]


def _history(cib: str) -> dict[str, tuple[dict[str, str], History]]:
    """Each node's state attributes and resource history; times left out."""
    out = {}
    for state in etree.fromstring(cib.encode()).iterfind("status/node_state"):
        ops: History = {}
        for rsc in state.iterfind("lrm/lrm_resources/lrm_resource"):
            ops[rsc.get("id", "")] = {
                op.get("id", ""): {k: v for k, v in op.attrib.items() if k != "last-rc-change"}
                for op in rsc.iterfind("lrm_rsc_op")}
        attrs = {k: v for k, v in state.attrib.items() if k != "crm-debug-origin"}
        out[state.get("uname", "")] = (attrs, ops)
    return out


def test_cold_start_written_as_crm_simulate_writes_it(example_clusters: Clusters) -> None:
    cluster = example_clusters("lab")[0]
    cib = with_promotion_scores(cluster.cib, cluster)
    executed = simulate(cib)
    assert _history(execute_on_cib(cib, executed.graph)) == _history(executed.cib)


def _state(state: ClusterStatus) -> tuple[object, ...]:
    running = sorted({(r.id, r.role in PROMOTED, n) for r in state.resources if r.active
                      for n in r.nodes})
    return sorted(up_nodes(state)), sorted(unclean_nodes(state)), running


def _view(view: View) -> tuple[object, ...]:
    return view.label, view.quorate, view.outcome.steps, _state(view.outcome.state)


def _checked(base: Baseline) -> list[Case]:
    """Every kind crm_simulate can execute (it cannot make fencing fail); monitor failures
    of what runs on compute nodes, of Galera, of a VIP and of HAProxy."""
    remotes = set(base.cluster.remotes)
    db_vip = next(n for r in base.state.resources if r.id == "vip-db" for n in r.nodes)
    picked = {"galera@ctl1", "haproxy@ctl2", f"vip-db@{db_vip}"}
    return [c for c in enumerate_cases(base.cluster, base.state) if c.kind != "fence-fail"
            and (c.kind != "monitor-fail" or c.nodes[0] in remotes or c.resource in remotes
                 or c.resource.startswith("fence-cmp")
                 or f"{c.resource}@{c.nodes[0]}" in picked)]


def test_case_states_as_crm_simulate_reads_them(example_clusters: Clusters) -> None:
    base = baseline(example_clusters("lab")[0])
    cases = _checked(base)
    assert {c.kind for c in cases} == {"cold-start", "node-fail", "partition", "monitor-fail",
                                       "nodes-fail"}
    for case in cases:
        ours = [_view(v) for v in views_of(base, case)]
        theirs = [_view(v) for v in views_of(base, case, by_crm_simulate=True)]
        assert ours == theirs, case.spec
