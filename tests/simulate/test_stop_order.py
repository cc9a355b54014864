"""The guide's chains order starts only: a service's processes stopping on one node (a
rolling restart, a node put in standby) stop together, while a cold start still starts them
one after another (real crm_simulate on the collapsed example)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from lxml import etree

from hastack.pacemaker.simulator import simulate
from hastack.simulate.model import SimCluster
from hastack.simulate.outcome import Graph, parse_transition
from hastack.simulate.run import baseline

pytestmark = pytest.mark.tool
Examples = Callable[[str], tuple[SimCluster, ...]]
NOVA = ("nova-api", "nova-metadata", "nova-scheduler", "nova-conductor", "nova-novncproxy")


def _banned(cib: str, node: str, clones: tuple[str, ...]) -> str:
    root = etree.fromstring(cib.encode())
    constraints = root.find("configuration/constraints")
    assert constraints is not None
    for rid in clones:
        etree.SubElement(constraints, "rsc_location", id=f"ban-{rid}", rsc=rid, node=node,
                         score="-INFINITY")
    return etree.tostring(root, encoding="unicode")


def _action(graph: Graph, op: str, resource: str, node: str) -> int:
    (found,) = [a.id for a in graph.ops(op, resource) if a.node == node]
    return found


def test_a_services_processes_stop_together_and_start_in_the_guides_order(
        example_clusters: Examples) -> None:
    (cluster,) = example_clusters("collapsed")
    base = baseline(cluster)
    cib = _banned(base.settled.cib, "ctl2", tuple(f"{p}-clone" for p in NOVA))
    _, graph = parse_transition(simulate(cib, execute=False))
    stops = {p: _action(graph, "stop", p, "ctl2") for p in NOVA}
    for process, stop in stops.items():
        waits_for = [graph.actions[a].resource
                     for a in graph.upstream(stop) & set(stops.values())]
        assert not waits_for, f"{process} stops after {waits_for}"
    cold = base.cold.graph
    for first, then in itertools.pairwise(NOVA):
        assert _action(cold, "start", first, "ctl2") in cold.upstream(
            _action(cold, "start", then, "ctl2")), f"{then} may start before {first}"
