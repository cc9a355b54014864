"""Deliberately broken clusters (the rendered model mutated in memory) are each caught by a
failing case, with the constraint chain that explains it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from hastack.catalog.cib_model import Clone, Colocation, Constraint, Order, Primitive, Resource
from hastack.simulate.cases import Case
from hastack.simulate.invariants import where
from hastack.simulate.model import SimCluster
from hastack.simulate.report import explanation
from hastack.simulate.run import CaseResult, baseline, run_case

pytestmark = pytest.mark.tool
Examples = Callable[[str], tuple[SimCluster, ...]]


def collapsed(example_clusters: Examples) -> SimCluster:
    (cluster,) = example_clusters("collapsed")
    return cluster


def mutated(cluster: SimCluster, *, drop: Callable[[Constraint], bool] = lambda c: False,
            resources: Callable[[Resource], Resource] = lambda r: r,
            refs: dict[str, str] | None = None) -> SimCluster:
    names = refs or {}

    def rename(c: Constraint) -> Constraint:
        if isinstance(c, Order):
            return replace(c, first=names.get(c.first, c.first), then=names.get(c.then, c.then))
        if isinstance(c, Colocation):
            return replace(c, rsc=names.get(c.rsc, c.rsc),
                           with_rsc=names.get(c.with_rsc, c.with_rsc))
        return replace(c, rsc=names.get(c.rsc, c.rsc)) if hasattr(c, "rsc") else c

    model = replace(cluster.model,
                    resources=tuple(resources(r) for r in cluster.model.resources),
                    constraints=tuple(rename(c) for c in cluster.model.constraints
                                      if not drop(c)))
    return replace(cluster, model=model)


def failing(result: CaseResult, invariant: str) -> list[str]:
    return [v.message for v in result.failing if v.invariant == invariant]


def test_vip_without_colocation_with_haproxy(example_clusters: Examples) -> None:
    broken = mutated(collapsed(example_clusters), drop=lambda c: isinstance(c, Colocation)
                     and c.refs == ("vip-keystone", "haproxy-clone"))
    base = baseline(broken)
    (holder,) = where(base.state, "vip-keystone")
    result = run_case(base, Case("monitor-fail", broken.name, (holder,), "haproxy"))
    assert not result.ok
    assert failing(result, "vip-with-haproxy") == [
        f"vip-keystone is on {holder}, where HAProxy is not running"]
    why = explanation(base, result.failing[0])
    assert why[0] == "the CIB has no colocation of vip-keystone with haproxy-clone"
    assert why[1].startswith("vip-keystone: one instance of ocf:heartbeat:IPaddr2")
    assert not any("runs with haproxy-clone" in line for line in why)


def test_active_passive_service_turned_into_a_clone(example_clusters: Examples) -> None:
    def as_clone(r: Resource) -> Resource:
        return Clone(primitive=r) if isinstance(r, Primitive) and r.id == "heat-engine" else r

    broken = mutated(collapsed(example_clusters), resources=as_clone,
                     refs={"heat-engine": "heat-engine-clone"})
    base = baseline(broken)
    result = run_case(base, Case("node-fail", broken.name, ("ctl1",)))
    assert not result.ok
    (message,) = failing(result, "active-passive-once")
    assert message.startswith("heat-engine runs on ctl2, ctl3")
    why = explanation(base, result.failing[0])
    assert why[0] == ("heat-engine-clone is a clone of systemd:heat-engine "
                      "(one instance per eligible node)")


def test_missing_order_between_galera_and_keystone(example_clusters: Examples) -> None:
    broken = mutated(collapsed(example_clusters), drop=lambda c: isinstance(c, Order)
                     and c.first == "galera-clone" and c.then == "keystone-clone")
    base = baseline(broken)
    result = run_case(base, Case("cold-start", broken.name))
    assert not result.ok
    messages = failing(result, "guide-start-order")
    assert "keystone starts on ctl1 without waiting for promote of galera there" in messages
    why = explanation(base, result.failing[0])
    assert why[0] == "the CIB has no order promote galera-clone then start keystone-clone"
    assert not any("galera-clone" in line for line in why[1:])


def memcached_then_keystone(cluster: SimCluster, why: str = "") -> SimCluster:
    """The start order memcached -> keystone turned back into a Mandatory one."""
    def start_order(c: Constraint) -> bool:
        return isinstance(c, Order) and c.refs == ("memcached-clone", "keystone-clone")

    kept = mutated(cluster, drop=start_order)
    return replace(kept, model=replace(kept.model, constraints=(
        *kept.model.constraints, Order("memcached-clone", "keystone-clone", why=why))))


def test_mandatory_order_re_added_restarts_keystone(example_clusters: Examples) -> None:
    # The fault: memcached failing on one node took keystone down with it.
    cluster = collapsed(example_clusters)
    broken = memcached_then_keystone(cluster)
    base = baseline(broken)
    result = run_case(base, Case("monitor-fail", broken.name, ("ctl3",), "memcached"))
    assert not result.ok
    assert "keystone is stopped on ctl3 when memcached fails on ctl3" in failing(
        result, "one-fault-one-repair")
    assert "keystone-clone@ctl3" in result.restarted
    violation = next(v for v in result.failing if v.invariant == "one-fault-one-repair"
                     and v.resources == ("keystone-clone",))
    why = explanation(base, violation)
    assert why[0] == "the Mandatory order memcached-clone then keystone-clone says no why"
    assert any("starts after start memcached-clone (Mandatory)" in line for line in why)
    # Saying why is not enough: the architecture's own table does not admit it.
    excused = memcached_then_keystone(cluster, why="tokens cached")
    result = run_case(baseline(excused), Case("monitor-fail", excused.name, ("ctl3",),
                                              "memcached"))
    (violation,) = [v for v in result.failing if v.resources == ("keystone-clone",)]
    assert violation.notes == ("the catalog says keystone needs memcached (tokens cached), "
                               "which the architecture does not (RUNNING_DEPENDENCIES)",)


def test_one_fault_restarts_only_itself(example_clusters: Examples) -> None:
    cluster = collapsed(example_clusters)
    base = baseline(cluster)
    for prim in ("memcached", "galera", "rabbitmq", "keystone", "cinder-api"):
        result = run_case(base, Case("monitor-fail", cluster.name, ("ctl3",), prim))
        assert result.ok, [v.message for v in result.failing]
        assert result.restarted == (f"{cluster.configured_id(prim)}@ctl3",)
    # What needs a mount stops with it, and nothing else.
    fs = run_case(base, Case("monitor-fail", cluster.name, ("ctl2",), "glance-fs"))
    assert fs.ok and fs.restarted == ("glance-api-clone@ctl2", "glance-fs-clone@ctl2")


def test_glance_api_without_its_mount(example_clusters: Examples) -> None:
    broken = mutated(collapsed(example_clusters), drop=lambda c: isinstance(
        c, Order | Colocation) and set(c.refs) == {"glance-fs-clone", "glance-api-clone"})
    base = baseline(broken)
    result = run_case(base, Case("monitor-fail", broken.name, ("ctl2",), "glance-fs"))
    assert failing(result, "runs-with-dependency") == [
        "glance-api runs on ctl2 without glance-fs there"]
    why = explanation(base, result.failing[0])
    assert why[0] == "the CIB has no colocation of glance-api-clone with glance-fs-clone"


def test_the_unbroken_site_passes_the_same_cases(example_clusters: Examples) -> None:
    cluster = collapsed(example_clusters)
    base = baseline(cluster)
    for case in (Case("cold-start", cluster.name), Case("node-fail", cluster.name, ("ctl1",)),
                 Case("monitor-fail", cluster.name, ("ctl2",), "galera")):
        result = run_case(base, case)
        assert result.ok, (case.spec, [v.message for v in result.failing])
