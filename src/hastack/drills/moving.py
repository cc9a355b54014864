"""The move-service drill: services moved by ``deploy`` from the cluster that runs them to the
one the site file now places them on, under the drill's load, then moved back.

The site file given is the edited one (in the lab, ``hastack lab up SITE`` first brings up the
machines of a cluster it adds). The drill deploys it: each moving service starts on its new
cluster, and once it answers there its old members are drained and stopped (deploy/moves.py).
Then the drill deploys the site with the services placed back where they ran. After each
deploy, no running cluster may still hold a service the site places elsewhere. Nothing
acknowledged may be lost, nobody fenced, no action fail; the APIs' error windows are what the
moves cost them, reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from hastack import catalog
from hastack.deploy.apply import find_moves
from hastack.deploy.moves import Move
from hastack.drills.run import Drill, DrillReport, planned
from hastack.drills.site_change import for_site, redeploy
from hastack.errors import UsageError
from hastack.site.load import LoadedSite
from hastack.site.placement import WILDCARD, place


def placed_back(loaded: LoadedSite, found: Sequence[Move]) -> LoadedSite:
    """The site as it was: each moved service in its old cluster's list again (unless that
    cluster takes every service not placed elsewhere) and out of its new one's."""
    site = loaded.site
    clusters = dict(site.clusters)
    for move in found:
        target = loaded.placement.service_cluster[move.service]
        clusters[target] = clusters[target].model_copy(update={"services": tuple(
            s for s in clusters[target].services if s != move.service)})
        source = clusters[move.source]
        if WILDCARD not in source.services:
            clusters[move.source] = source.model_copy(
                update={"services": (*source.services, move.service)})
    back = site.model_copy(update={"clusters": clusters})
    return replace(loaded, site=back, placement=place(back, catalog.SERVICES))


async def move_service(drill: Drill, *, load_seconds: float) -> DrillReport:
    found = await find_moves(drill.loaded, catalog.SERVICES, drill.transports)
    if not found:
        raise UsageError("drill-nothing-to-move", "every service runs on the cluster the site "
                         "places it on: nothing to move", fix="place a service on another "
                         "cluster in a copy of the site file (in the lab: `hastack lab up "
                         "COPY` brings up a new cluster's machines), then run the drill on "
                         "the copy")
    moved = drill.loaded
    back = placed_back(moved, found)
    base = for_site(drill, back)  # the loads and full strength: the site as it was
    names = ", ".join(m.service for m in found)
    report = DrillReport("move-service", names, load_seconds)

    async def still_moving(loaded: LoadedSite, label: str) -> None:
        left = await find_moves(loaded, catalog.SERVICES, drill.transports)
        held = [f"{m.source} still holds {m.service}" for m in left]
        if held:
            report.problems.append(f"after the deploy {label}, {', '.join(held)}")

    async def change() -> None:
        took = await redeploy(drill, moved)
        await still_moving(moved, "that moves them")
        report.moved = time.time() - report.fault_at
        report.notes.append(f"{names} moved: deploy {took:.0f} s")
        took = await redeploy(drill, back)
        await still_moving(back, "that moves them back")
        report.moved_back = time.time() - report.fault_at
        report.notes.append(f"{names} moved back: deploy {took:.0f} s")

    return await planned(base, report, change, "change")
