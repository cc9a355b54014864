"""Transitions carried out without crm_simulate (simulate/transition.py), on small graphs;
tests/simulate checks the same code against crm_simulate's own execution."""

from __future__ import annotations

import pytest

from hastack.errors import ToolError
from hastack.pacemaker.status import ClusterStatus, NodeState, ResourceState
from hastack.simulate.outcome import Graph, GraphAction
from hastack.simulate.transition import execute_on_state, fired, lose, op_digest


@pytest.mark.parametrize(("inputs", "never", "order"), [
    ({}, (), [1, 2, 3]),
    ({1: (3,), 2: (1,)}, (), [3, 1, 2]),  # later passes pick up what earlier ones unblocked
    ({2: (1,), 3: (2,)}, (1,), []),  # what waits on an action that never runs never runs
    ({1: (9,)}, (), [2, 3]),  # nor what waits on an action not in the graph
])
def test_fired_order(inputs: dict[int, tuple[int, ...]], never: tuple[int, ...],
                     order: list[int]) -> None:
    assert fired([1, 2, 3], inputs, never) == order


@pytest.mark.parametrize(("params", "digest"), [
    # crm_simulate 2.1.5's own op-digest for memcached's start and 10 s monitor
    ({"CRM_meta_name": "start", "CRM_meta_timeout": "60000", "crm_feature_set": "3.16.1"},
     "f2317cad3d54cec5d7d7aa7d0bf35cf8"),
    ({"CRM_meta_name": "monitor", "CRM_meta_interval": "10000", "CRM_meta_timeout": "100000",
      "crm_feature_set": "3.16.1"}, "2d296eeac3e5f7d1cfdb1557b8eb3457"),
])
def test_op_digest_as_pacemaker(params: dict[str, str], digest: str) -> None:
    assert op_digest(params) == digest


def _node(name: str, *, remote: bool = False) -> NodeState:
    return NodeState(name=name, online=True, standby=False, unclean=False, remote=remote,
                     is_dc=name == "ctl2")


def _rsc(rid: str, node: str, role: str = "Started") -> ResourceState:
    return ResourceState(id=rid, agent="", role=role, active=True, failed=False,
                         blocked=False, nodes=(node,))


BEFORE = ClusterStatus(
    dc="ctl2", quorate=True,
    nodes=(_node("ctl1"), _node("ctl2"), _node("ctl3"), _node("cmp1", remote=True)),
    resources=(_rsc("vip-db", "ctl1"), _rsc("galera", "ctl1", "Promoted"),
               _rsc("galera", "ctl2", "Unpromoted"), _rsc("cmp1", "ctl1"),
               _rsc("compute-nova", "cmp1")))


def _graph(*actions: tuple[int, str, str, str, tuple[int, ...]]) -> Graph:
    return Graph(actions={a: GraphAction(id=a, op=op, resource=rsc, node=node,
                                         pseudo=False, key="") for a, op, rsc, node, _ in actions},
                 inputs={a: needs for a, _, _, _, needs in actions})


CTL1_LOST = _graph((1, "stonith", "", "ctl1", ()), (2, "start", "vip-db", "ctl2", (1,)),
                   (3, "promote", "galera", "ctl2", (1,)), (4, "start", "cmp1", "ctl2", (1,)))


def _where(state: ClusterStatus, rid: str) -> list[tuple[str, str]]:
    return sorted((n, r.role) for r in state.resources if r.id == rid for n in r.nodes)


def _nodes(state: ClusterStatus) -> dict[str, tuple[bool, bool]]:
    return {n.name: (n.online, n.unclean) for n in state.nodes}


def test_member_fenced_then_recovered_elsewhere() -> None:
    after = execute_on_state(lose(BEFORE, ("ctl1",)), CTL1_LOST, connections={"cmp1": "cmp1"})
    assert _nodes(after)["ctl1"] == (False, False)
    assert _where(after, "vip-db") == [("ctl2", "Started")]
    assert _where(after, "galera") == [("ctl2", "Promoted")]
    assert _nodes(after)["cmp1"] == (True, False)  # its connection moved to ctl2
    assert _where(after, "compute-nova") == [("cmp1", "Started")]


def test_fencing_that_never_succeeds_holds_back_the_recovery() -> None:
    after = execute_on_state(lose(BEFORE, ("ctl1",)), CTL1_LOST, connections={"cmp1": "cmp1"},
                             never=(1,))
    assert _nodes(after)["ctl1"] == (False, True)
    assert _where(after, "vip-db") == [("ctl1", "Started")]  # still held by the lost node
    assert _where(after, "galera") == [("ctl1", "Promoted"), ("ctl2", "Unpromoted")]


def test_remote_with_a_failed_connection_stays_unclean_after_fencing() -> None:
    graph = _graph((1, "stonith", "", "cmp1", ()), (2, "stop", "cmp1", "ctl1", (1,)))
    after = execute_on_state(BEFORE, graph, connections={"cmp1": "cmp1"},
                             failed=(("cmp1", "ctl1"),))
    assert _nodes(after)["cmp1"] == (False, True)
    assert _where(after, "compute-nova") == []


def test_remote_whose_connection_stops_is_offline() -> None:
    graph = _graph((1, "stop", "compute-nova", "cmp1", ()), (2, "stop", "cmp1", "ctl1", (1,)))
    after = execute_on_state(BEFORE, graph, connections={"cmp1": "cmp1"})
    assert _nodes(after)["cmp1"] == (False, False)


def test_an_action_it_cannot_carry_out_is_refused() -> None:
    graph = _graph((1, "migrate_to", "vip-db", "ctl1", ()))
    with pytest.raises(ToolError):
        execute_on_state(BEFORE, graph, connections={})
