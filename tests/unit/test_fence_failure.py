"""fence-failure's judgement (pure): what the lost node held, what moved before it was
fenced, and the lab PDU's log read back."""

from __future__ import annotations

from datetime import datetime

from hastack.drills import fencing as judge
from hastack.pacemaker.status import ClusterStatus, NodeState, ResourceState


def rsc(rid: str, *nodes: str, agent: str = "ocf:heartbeat:IPaddr2",
        clone: str | None = None) -> ResourceState:
    return ResourceState(id=rid, agent=agent, role="Started", active=True, failed=False,
                         blocked=False, nodes=nodes, clone=clone)


def status(*resources: ResourceState) -> ClusterStatus:
    nodes = tuple(NodeState(n, True, False, False, False, n == "ctl2")
                  for n in ("ctl1", "ctl2", "ctl3"))
    return ClusterStatus(dc="ctl2", quorate=True, nodes=nodes, resources=resources)


BEFORE = status(rsc("vip-db", "ctl1"), rsc("cinder-volume", "ctl1", agent="systemd:cinder"),
                rsc("vip-nova", "ctl2"), rsc("fence-ctl2", "ctl1", agent="stonith:fence_ipmilan"),
                rsc("haproxy", "ctl1", clone="haproxy-clone"),
                rsc("cmp1", "ctl1", agent="ocf:pacemaker:remote"))


def test_held_is_single_instance_and_not_fencing() -> None:
    # A pacemaker_remote connection moves before fencing by design: it holds no state.
    assert judge.held_by(BEFORE, "ctl1") == {"vip-db", "cinder-volume"}


def test_unclean_node_still_listed_is_not_a_move() -> None:
    # crm_mon lists an unclean node's resources as still started there
    assert judge.moved_early(BEFORE, judge.held_by(BEFORE, "ctl1"), "ctl1") == []


def test_started_elsewhere_is_a_move() -> None:
    now = status(rsc("vip-db", "ctl1", "ctl3"), rsc("cinder-volume", "ctl1"))
    assert judge.moved_early(now, judge.held_by(BEFORE, "ctl1"), "ctl1") == ["vip-db"]


def test_running_again_on_a_survivor_or_back_on_the_rebooted_node() -> None:
    held = judge.held_by(BEFORE, "ctl1")
    assert not judge.running_again(status(rsc("vip-db", "ctl3")), held)  # cinder-volume down
    assert judge.running_again(status(rsc("vip-db", "ctl3"), rsc("cinder-volume", "ctl2")), held)
    # fenced by a reboot, rejoined at once, and the VIP placed back on it
    assert judge.running_again(status(rsc("vip-db", "ctl1"), rsc("cinder-volume", "ctl2")), held)


def test_outlet_switches_from_the_pdu_log() -> None:
    log = ("2024-05-01 12:00:00,000 INFO pdu serving address=198.18.0.100 port=161\n"
           "2024-05-01 12:00:10,500 INFO pdu outlet=1 command=off\n"
           "2024-05-01 12:00:11,000 INFO pdu outlet=3 command=off\n"
           "2024-05-01 12:00:12,250 INFO pdu outlet=1 command=on\n"
           "garbage\n")
    since = datetime(2024, 5, 1, 12, 0, 5).timestamp()
    switched = judge.outlet_switches(log, 1, since)
    assert [cmd for _, cmd in switched] == ["off", "on"]
    assert switched[1][0] - since == 7.25
    assert judge.outlet_switches(log, 1, switched[1][0] + 1) == []
