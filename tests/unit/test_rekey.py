"""deploy/rekey.py's decisions, on members that answer like a cluster would: what is put in
force before the stack stops, what is restored after, and when it refuses. (Its run on real
daemons is the lab test of `secrets rotate`.)"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from hastack.deploy import rekey
from hastack.errors import HastackError
from hastack.process import Result


@dataclass
class Cluster:
    """One cluster's properties and each member's stack, the mark and what was run."""

    properties: dict[str, str] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    marks: dict[str, str] = field(default_factory=dict)
    # (node, what) in order: "stop pacemaker", "set maintenance-mode=true", ...
    events: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Member:
    host: str
    cluster: Cluster

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        c, args = self.cluster, list(argv)
        out, rc = "", 0
        if args[:1] == ["cat"]:
            rc = 0 if self.host in c.marks else 1
            out = c.marks.get(self.host, "")
        elif args[:2] == ["systemctl", "is-active"]:
            rc = 0 if self.host in c.running else 3
        elif args[:2] == ["systemctl", "stop"]:
            if args[2] == "pacemaker":
                c.events.append((self.host, "stop pacemaker with maintenance-mode="
                                 + c.properties.get("maintenance-mode", "unset")))
            c.running.discard(self.host)
        elif args[:2] == ["systemctl", "start"]:
            c.running.add(self.host)
        elif args[0] == "crm_attribute":
            name, action = args[4], args[5]
            if action == "--query":
                rc = 0 if name in c.properties else 105
                out = c.properties.get(name, "")
            elif action == "--update":
                c.properties[name] = args[6]
                c.events.append((self.host, f"set {name}={args[6]}"))
            else:
                c.properties.pop(name, None)
                c.events.append((self.host, f"delete {name}"))
        elif args[:2] == ["sh", "-c"] and "printf" in args[2]:
            c.marks[self.host] = "".join(f"{line}\n" for line in args[4:])
        elif args[:2] == ["rm", "-f"]:
            c.marks.pop(self.host, None)
        else:
            raise AssertionError(f"unexpected command {args}")
        return Result(self.host, tuple(args), rc, out, "")


MEMBERS = ("ctl1", "ctl2", "ctl3")


@pytest.fixture()
def cluster(monkeypatch: pytest.MonkeyPatch) -> Cluster:
    async def nothing(*_: object, **__: object) -> None:
        return None

    for name in ("wait_settled", "wait_quorate"):
        monkeypatch.setattr(rekey.live, name, nothing)
    monkeypatch.setattr(rekey, "_wait_remotes", nothing)
    return Cluster(running=set(MEMBERS))


def _rekey(cluster: Cluster) -> str | None:
    nodes = {m: Member(m, cluster) for m in MEMBERS}
    return asyncio.run(rekey.rekey(nodes))  # type: ignore[arg-type]


def test_no_mark_no_restart(cluster: Cluster) -> None:
    assert _rekey(cluster) is None and cluster.events == []


def test_the_stack_stops_only_in_maintenance_mode_and_every_property_is_restored(
        cluster: Cluster) -> None:
    cluster.properties = {"startup-fencing": "true"}  # the operator's, explicitly
    cluster.marks = {m: "" for m in MEMBERS}
    assert "formed again" in (_rekey(cluster) or "")
    stops = [what for _, what in cluster.events if what.startswith("stop")]
    assert stops == ["stop pacemaker with maintenance-mode=true"] * 3
    assert cluster.properties == {"startup-fencing": "true"}
    assert cluster.marks == {} and cluster.running == set(MEMBERS)
    # maintenance mode lifted before startup-fencing comes back: the computes reconnect first
    after = [what for _, what in cluster.events[cluster.events.index(
        next(e for e in cluster.events if e[1].startswith("stop"))):] if "stop" not in what]
    assert after == ["delete maintenance-mode", "set startup-fencing=true"]


def test_a_mark_left_by_an_earlier_run_is_checked_against_the_live_cluster(
        cluster: Cluster) -> None:
    """The mark says maintenance mode was set by hastack, but it is not in force now (lifted
    by hand): it is set again before anything stops."""
    cluster.marks = {m: "maintenance-mode=\nstartup-fencing=\n" for m in MEMBERS}
    _rekey(cluster)
    stops = [what for _, what in cluster.events if what.startswith("stop")]
    assert stops == ["stop pacemaker with maintenance-mode=true"] * 3
    assert cluster.properties == {}


def test_a_run_killed_with_the_stack_down_restarts_it_and_restores_what_it_set(
        cluster: Cluster) -> None:
    cluster.running = set()
    cluster.properties = {"maintenance-mode": "true", "startup-fencing": "false"}
    cluster.marks = {m: "maintenance-mode=\nstartup-fencing=\n" for m in MEMBERS}
    _rekey(cluster)
    assert cluster.running == set(MEMBERS) and cluster.properties == {}


def test_the_operators_maintenance_mode_is_refused_before_anything_stops(
        cluster: Cluster) -> None:
    cluster.properties = {"maintenance-mode": "true"}
    cluster.marks = {"ctl1": ""}
    with pytest.raises(HastackError) as raised:
        _rekey(cluster)
    assert raised.value.code == "rekey-in-maintenance"
    assert cluster.running == set(MEMBERS) and cluster.properties == {"maintenance-mode": "true"}
