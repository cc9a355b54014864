"""A service moved between clusters (the site's ``clusters`` map changed): it runs on its new
cluster before it stops on the old one, so its API never goes away.

While a move is under way, the old cluster's CIB is rendered as if the service were still
placed there (``held``), and HAProxy sends the service's requests to both clusters' members
(``Placement.serving_also``). Once the new members answer, the old ones are drained from every
HAProxy, the old cluster's CIB is pushed without the service (Pacemaker stops it there) and
HAProxy gets its final backends. A service with a part that must never run twice (cinder-volume,
heat-engine: one instance each) stops on the old cluster first and then starts on the new one,
as in a failover. The HA core (HAProxy and the VIPs, Galera, RabbitMQ, memcached) and the
computes' side hold data or nodes of their own: moving them is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hastack.errors import Problem, SiteError
from hastack.site.model import Manages
from hastack.site.placement import ClusterPlacement, Placement

UNMOVABLE = ("loadbalancer", "galera", "memcached", "rabbitmq", "compute")


@dataclass(frozen=True)
class Move:
    service: str
    source: str                    # the cluster that runs it now
    members: tuple[str, ...]       # the source's members, serving until the move ends
    runs_once: bool                # has a part that runs once: stopped before it starts again


def find(placement: Placement, live_resources: Mapping[str, str],
         ids_of: Callable[[str], Collection[str]],
         runs_once: Callable[[str], bool]) -> list[Move]:
    """The services a running cluster holds (``live_resources``: cluster -> its CIB's
    resources section) that the site now places on another cluster."""
    moves = []
    for service, target in placement.service_cluster.items():
        for cluster in placement.clusters:
            held = live_resources.get(cluster.name, "")
            if cluster.name != target and any(f'id="{rid}"' in held for rid in ids_of(service)):
                moves.append(Move(service, cluster.name, cluster.members, runs_once(service)))
    return moves


def refuse_unmovable(moves: Sequence[Move], placement: Placement, manages: Manages,
                     path: Path) -> None:
    problems = []
    for move in moves:
        target = placement.service_cluster[move.service]
        if move.service in UNMOVABLE:
            problems.append(Problem(
                code="service-move-unsupported", where=str(path), key="clusters",
                what=f"{move.service} runs on cluster {move.source}; the site now places it on "
                     f"{target}: deploy does not move the HA core or the computes' side "
                     "(their data, members and remote nodes stay with their cluster)",
                fix=f"place {move.service} on {move.source} again"))
        elif manages is Manages.CORE:
            problems.append(Problem(
                code="service-move-unsupported", where=str(path), key="cluster.manages",
                what=f"{move.service} runs on cluster {move.source}; the site now places it on "
                     f"{target}, and with cluster.manages: core systemd runs it: deploy moves "
                     "only services Pacemaker runs",
                fix=f"place {move.service} on {move.source} again, or deploy with "
                    "cluster.manages: everything"))
    if problems:
        raise SiteError(problems)


def in_transition(placement: Placement, moves: Sequence[Move]) -> Placement:
    """The site's placement while ``moves`` are under way: each moving service's old members
    stay behind HAProxy beside its new ones."""
    return replace(placement, serving_also={m.service: m.members for m in moves})


def held(placement: Placement, moves: Sequence[Move]) -> Placement:
    """``placement`` with each moving service still on its old cluster: what the old
    cluster's CIB is rendered from until the service runs on its new one."""
    if not moves:
        return placement
    back = {m.service: m.source for m in moves}
    clusters = tuple(
        ClusterPlacement(
            name=c.name, members=c.members, remotes=c.remotes,
            services=tuple(s for s in c.services if s not in back)
            + tuple(s for s, source in back.items() if source == c.name))
        for c in placement.clusters)
    return replace(placement, clusters=clusters,
                   service_cluster={**placement.service_cluster, **back})


def summary(move: Move, placement: Placement) -> str:
    target = placement.cluster_of(move.service)
    order = (f"stopped on {move.source} first, then started there (it runs once)"
             if move.runs_once else
             f"started there, and once it answers drained and stopped on {move.source}")
    return (f"{move.service} from {move.source} to {target.name} "
            f"({', '.join(target.members)}): {order}")
