"""What the drills that change the site's shape share: the drill as seen from one version of
the site file, and a deploy of one, as an operator runs it."""

from __future__ import annotations

import time
from dataclasses import replace

from hastack import catalog
from hastack.deploy.apply import Deployment
from hastack.deploy.apply import deploy as converge
from hastack.drills.run import Drill
from hastack.render.site import render_site
from hastack.site.load import LoadedSite


def for_site(drill: Drill, loaded: LoadedSite) -> Drill:
    """``drill`` for the site ``loaded``: its DB cluster's members, its rendering."""
    cluster = loaded.placement.cluster_of("galera")
    return replace(drill, loaded=loaded, members=cluster.members, cluster=cluster.name,
                   rendering=render_site(loaded.site, loaded.placement, catalog.BASE,
                                         catalog.SERVICES))


async def redeploy(drill: Drill, loaded: LoadedSite) -> float:
    """``hastack deploy`` of ``loaded`` with the drill's secrets and transports: seconds."""
    began = time.time()
    await converge(Deployment(
        loaded=loaded, base=catalog.BASE, catalog=catalog.SERVICES,
        rendering=render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES),
        secrets=drill.secrets, transports=drill.transports))
    return time.time() - began
