"""HA drills: break the running lab on purpose under load and time the recovery."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hastack.errors import UsageError

if TYPE_CHECKING:
    from hastack.commands.session import Session
    from hastack.drills.run import Drill, DrillReport

# How long the loads run by default, per kind: long enough to see the recovery end.
LOAD_SECONDS = {"power-loss": 90.0, "partition": 90.0, "service-kill": 60.0,
                "rabbitmq-member-loss": 90.0, "memcached-loss": 60.0,
                "galera-cold-start": 300.0, "compute-loss": 120.0, "soak": 600.0,
                # the whole plane back from nothing: the APIs take minutes
                "site-power-loss": 420.0, "site-power-loss-staggered": 420.0,
                "rabbitmq-cold-start": 120.0,
                # a dead BMC's fencing attempts time out before level 2 is tried
                "fence-failure": 180.0, "fence-failure-no-pdu": 180.0,
                # every controller in turn out of service and back (~93 s each)
                "maintenance": 420.0,
                # computes deployed, serving, then deployed out again
                "scale-computes": 600.0,
                # a controller: every OpenStack service restarted on every member (their
                # lists of members changed), the join, then its departure likewise
                "scale-controllers": 3600.0,
                # a service started on its new cluster (formed first), stopped on the old,
                # and back
                "move-service": 1200.0}


def drill(session: Session, kind: str, *, node: str | None = None, service: str = "galera",
          load_seconds: float | None = None) -> DrillReport:
    """Run drill ``kind`` on the lab: ``node`` to break (default: the DB VIP's holder; for
    compute-loss the first compute), ``service`` for service-kill, the loads running
    ``load_seconds`` (default: LOAD_SECONDS). The report says whether anything acknowledged
    was lost and whether the cluster came back to full strength (``report.ok``).

    Raises:
        UsageError: an unknown kind, a node that cannot be broken this way, or a site that is
            not a lab site.
    """
    from hastack.deploy.targets import is_lab
    from hastack.drills import run as drills
    from hastack.site.model import Role

    if kind not in drills.KINDS:
        raise UsageError("usage", f"unknown drill '{kind}'",
                         fix=f"one of: {', '.join(drills.KINDS)}")
    if load_seconds is not None and load_seconds <= 0:
        raise UsageError("usage", f"the loads must run more than 0 s, not {load_seconds:g}",
                         fix="e.g. --seconds 120")
    loaded = session.loaded
    if not is_lab(loaded):
        raise UsageError("drill-needs-lab", "drills power nodes off and cut links through "
                         "the lab", fix="run drills on a lab site")
    computes = [n.name for n in loaded.site.nodes if n.role is Role.COMPUTE]
    if kind == "compute-loss":
        if node is not None and node not in computes:
            raise UsageError("drill-bad-node", f"{node} is not a compute node of the site",
                             fix=f"one of: {', '.join(computes) or 'none'}")
    elif node is not None and node not in loaded.placement.cluster_of("galera").members:
        raise UsageError("drill-bad-node", f"{node} is not a member of the DB's cluster",
                         fix="name a controller of that cluster")
    # Every service the site has: --service may name any of them; what the live cluster
    # does not run (a core-only deploy) is left out of "full strength" by the drill.
    prepared = drills.prepare(loaded, session.rendering(), session.secrets(),
                              session.transports())
    prepared.phase = session.watch.phase
    seconds = load_seconds or LOAD_SECONDS[kind]
    return asyncio.run(_run(prepared, kind, node=node, service=service, seconds=seconds))


async def _run(d: Drill, kind: str, *, node: str | None, service: str,
               seconds: float) -> DrillReport:
    from hastack.drills import cold
    from hastack.drills import run as drills

    if kind == "power-loss":
        return await drills.power_loss(d, node=node, load_seconds=seconds)
    if kind == "partition":
        return await drills.partition(d, node=node, load_seconds=seconds)
    if kind == "service-kill":
        return await drills.service_kill(d, node=node, service=service, load_seconds=seconds)
    if kind == "compute-loss":
        return await drills.compute_loss(d, node=node, load_seconds=seconds)
    if kind == "rabbitmq-member-loss":
        return await drills.rabbitmq_member_loss(d, node=node, load_seconds=seconds)
    if kind == "memcached-loss":
        return await drills.memcached_loss(d, node=node, load_seconds=seconds)
    if kind == "soak":
        return await drills.soak(d, load_seconds=seconds)
    if kind.startswith("fence-failure"):
        return await drills.fence_failure(d, node=node, load_seconds=seconds,
                                          pdu_dead=kind == "fence-failure-no-pdu")
    if kind.startswith("site-power-loss"):
        return await cold.site_power_loss(d, load_seconds=seconds,
                                          staggered=kind.endswith("staggered"))
    if kind == "maintenance":
        from hastack.drills.maintenance import rolling_maintenance

        return await rolling_maintenance(d, load_seconds=seconds)
    if kind.startswith("scale-"):
        from hastack.drills.scaling import scale
        from hastack.site.model import Role

        return await scale(d, Role.COMPUTE if kind == "scale-computes" else Role.CONTROLLER,
                           load_seconds=seconds)
    if kind == "move-service":
        from hastack.drills.moving import move_service

        return await move_service(d, load_seconds=seconds)
    if kind == "rabbitmq-cold-start":
        return await cold.rabbitmq_cold_start(d, load_seconds=seconds)
    return await cold.galera_cold_start(d, load_seconds=seconds)
