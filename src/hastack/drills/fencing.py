"""Judging the fence-failure drill (pure): what the lost node ran, what moved before it was
fenced, and which fencing level switched its power.

Pacemaker must not start a lost node's resources elsewhere until fencing has confirmed the
node is off: until then the node may still be running them (a split brain on a VIP or an
A/P service). With the BMC dead, that wait lasts until another level (the PDU) or the BMC
itself succeeds.
"""

from __future__ import annotations

from datetime import datetime

from hastack.catalog.cib_model import REMOTE_AGENT
from hastack.pacemaker.status import ClusterStatus


def held_by(status: ClusterStatus, node: str) -> frozenset[str]:
    """Single-instance resources (VIPs, A/P services) that run only on ``node``; clones run
    everywhere, and fencing devices and pacemaker_remote connections may move freely (a
    connection holds no state: the compute's own resources are what Pacemaker protects),
    so none of those is judged."""
    return frozenset(r.id for r in status.resources
                     if r.clone is None and r.active and r.nodes == (node,)
                     and not r.agent.startswith("stonith") and r.agent != REMOTE_AGENT)


def moved_early(status: ClusterStatus, held: frozenset[str], node: str) -> list[str]:
    """Of ``held``, what runs on another node now (before ``node`` is fenced: an error)."""
    return sorted(rid for rid in held
                  if any(n != node for n in status.running_on(rid)))


def running_again(status: ClusterStatus, held: frozenset[str]) -> bool:
    """Once the node is fenced: does everything it held run again? On a survivor, or on the
    node itself when it was fenced by a reboot and rejoined before its resources moved (a
    fast reboot: Pacemaker may place them back there)."""
    return all(status.running_on(rid) for rid in held)


def outlet_switches(log: str, outlet: int, since: float) -> list[tuple[float, str]]:
    """(unix time, command) of each switch of ``outlet`` in a lab PDU's log after ``since``.

    Lines look like ``2024-05-01 12:00:00,123 INFO pdu outlet=3 command=reboot`` (local
    time, logging's default asctime).
    """
    found = []
    for line in log.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[3] != "pdu" or parts[4] != f"outlet={outlet}":
            continue
        command = next((p.split("=", 1)[1] for p in parts if p.startswith("command=")), "")
        try:
            at = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if at >= since:
            found.append((at, command))
    return found
