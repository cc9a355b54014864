"""The scale-computes drill: computes added to the running site and taken out again by
``deploy``, under the drill's load, as an operator grows a site by editing its file.

The site file given is the grown one: the computes it lists that the cluster does not run yet
are the ones added (in the lab, ``hastack lab up SITE`` brings up their machines first). The
drill deploys it, waits until nova reports each new hypervisor up, then deploys the same site
without them (built in memory) and waits until the cluster no longer knows them. Nothing
acknowledged may be lost, nobody fenced, no action fail; the APIs' error windows are what
the change cost them, reported.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

from hastack import catalog
from hastack.deploy.apply import Deployment
from hastack.deploy.apply import deploy as converge
from hastack.drills.run import Drill, DrillReport, _run, _servers, fencing_history, unplanned
from hastack.errors import UsageError
from hastack.render.site import render_site
from hastack.site.load import LoadedSite
from hastack.site.model import Role
from hastack.site.placement import place

HYPERVISORS_UP = 300.0  # a new nova-compute registers, then is mapped and reports up


def without(loaded: LoadedSite, names: set[str]) -> LoadedSite:
    """The site as it was before ``names`` were added to its file."""
    site = loaded.site.model_copy(
        update={"nodes": [n for n in loaded.site.nodes if n.name not in names]})
    return replace(loaded, site=site, placement=place(site, catalog.SERVICES))


async def _hypervisors(drill: Drill) -> dict[str, str]:
    """Each hypervisor nova lists, by short host name, with its state."""
    found: dict[str, str] = json.loads(
        (await _servers(drill, "hypervisors", "-")).splitlines()[-1])
    return found


def _all_up(hypervisors: dict[str, str], names: list[str]) -> bool:
    return all(hypervisors.get(n) == "up" for n in names)


async def scale_computes(drill: Drill, *, load_seconds: float) -> DrillReport:
    status = await drill.status()
    known = {n.name for n in status.nodes} if status else set()
    added = sorted(n.name for n in drill.loaded.site.nodes
                   if n.role is Role.COMPUTE and n.name not in known)
    if not added:
        raise UsageError("drill-nothing-to-add", "every compute of the site runs already: "
                         "nothing to add", fix="add computes to a copy of the site file "
                         "(in the lab: `hastack lab up COPY` brings up their machines), then "
                         "run the drill on the copy")
    report = DrillReport("scale-computes", ", ".join(added), load_seconds)
    fencing_before = await fencing_history(drill)
    started = time.time()
    smaller = without(drill.loaded, set(added))
    done: list[float] = []

    async def deploy(loaded: LoadedSite) -> float:
        began = time.time()
        await converge(Deployment(
            loaded=loaded, base=catalog.BASE, catalog=catalog.SERVICES,
            rendering=render_site(loaded.site, loaded.placement, catalog.BASE,
                                  catalog.SERVICES),
            secrets=drill.secrets, transports=drill.transports))
        return time.time() - began

    async def fault() -> None:
        report.detected = 0.0
        took = await deploy(drill.loaded)
        deadline = time.time() + HYPERVISORS_UP
        while not _all_up(await _hypervisors(drill), added):
            if time.time() > deadline:
                report.problems.append(f"nova did not report {', '.join(added)} up within "
                                       f"{HYPERVISORS_UP:.0f} s of the deploy")
                break
            await asyncio.sleep(3)
        report.added = time.time() - report.fault_at
        report.notes.append(f"{', '.join(added)} added: deploy {took:.0f} s, hypervisors up "
                            f"{report.added:.0f} s after the start")
        took = await deploy(smaller)
        left = set(await _hypervisors(drill)) & set(added)
        if left:
            report.problems.append(f"nova still lists {', '.join(sorted(left))} after they "
                                   "were taken out")
        report.notes.append(f"{', '.join(added)} taken out again: deploy {took:.0f} s")
        report.removed = time.time() - report.fault_at
        done.append(report.removed)

    async def watch(report: DrillReport, t0: float) -> bool:
        return bool(done)

    await _run(drill, report, fault, watch)
    report.recovered = done[0] if done else None
    if report.recovered is not None and report.recovered > load_seconds:
        report.problems.append(f"the change outlasted the load ({report.recovered:.0f} s): "
                               "run it with a longer --seconds")
    report.problems += await unplanned(drill, started, fencing_before)
    return report
