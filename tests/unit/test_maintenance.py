"""Maintenance of a cluster member (lifecycle/maintenance.py): when the cluster's state
refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from hastack.catalog.contract import Listener
from hastack.lifecycle.maintenance import _configured, refusal
from hastack.pacemaker.status import ClusterStatus, NodeState
from hastack.process import Result

MEMBERS = ("ctl1", "ctl2", "ctl3")


def status(*, quorate: bool = True, standby: tuple[str, ...] = (),
           offline: tuple[str, ...] = ()) -> ClusterStatus:
    nodes = tuple(NodeState(n, n not in offline, n in standby, False, False, n == "ctl2")
                  for n in MEMBERS)
    return ClusterStatus(dc="ctl2", quorate=quorate, nodes=nodes, resources=())


def code(problem: object) -> str | None:
    return getattr(problem, "code", None)


def test_a_member_of_a_healthy_cluster_may_enter_and_leave() -> None:
    assert refusal(status(), MEMBERS, "ctl1", True) is None
    assert refusal(status(standby=("ctl1",)), MEMBERS, "ctl1", False) is None


def test_a_second_member_out_is_refused_while_another_is_away() -> None:
    assert code(refusal(status(standby=("ctl2",)), MEMBERS, "ctl1", True)) == \
        "maintain-second-member"
    assert code(refusal(status(offline=("ctl3",)), MEMBERS, "ctl1", True)) == \
        "maintain-second-member"


@pytest.mark.parametrize(("state", "expected"), [
    ({"quorate": False}, "maintain-no-quorum"),
    ({"offline": ("ctl1",)}, "maintain-node-offline"),
])
def test_an_unhealthy_cluster_or_node_is_refused(state: dict[str, object],
                                                 expected: str) -> None:
    assert code(refusal(status(**state), MEMBERS, "ctl1", True)) == expected  # type: ignore[arg-type]


def test_already_in_maintenance_is_not_refused_and_leaving_never_is() -> None:
    """Re-running on, or off, changes nothing and is not an error (maintain() returns no
    step); leaving is always allowed: it only brings capacity back."""
    assert refusal(status(standby=("ctl1",), quorate=False), MEMBERS, "ctl1", True) is None
    assert refusal(status(quorate=False), MEMBERS, "ctl1", False) is None


def test_an_unknown_node_is_refused() -> None:
    assert code(refusal(status(), MEMBERS, "ctl9", True)) == "maintain-unknown-node"


class Balancer:
    """A load balancer whose HAProxy has the galera and keystone backends only."""

    host = "ctl2"

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        assert stdin == b"show stat\n", stdin
        rows = ["# pxname,svname,status", "galera,FRONTEND,OPEN", "galera,ctl1,UP",
                "keystone,ctl1,UP", "keystone,BACKEND,UP"]
        return Result(self.host, tuple(argv), 0, "\n".join(rows) + "\n", "")


def test_only_the_listeners_haproxy_has_are_drained() -> None:
    """A site deployed with --scope core has no API backends: draining nova's would fail
    ("No such backend"), so maintenance leaves out what HAProxy does not know."""
    listeners = [Listener(name, "198.18.0.201", port) for name, port in
                 (("galera", 3306), ("keystone", 5000), ("nova", 8774))]
    kept = asyncio.run(_configured({"ctl2": Balancer()}, listeners))  # type: ignore[dict-item]
    assert [listener.name for listener in kept] == ["galera", "keystone"]
