"""The scaling drills: nodes added to the running site and taken out again by ``deploy``,
under the drill's load, as an operator grows a site by editing its file.

The site file given is the grown one: the computes (scale-computes) or controllers
(scale-controllers) it lists that the cluster does not know yet are the ones added (in the
lab, ``hastack lab up SITE`` brings up their machines first). The drill deploys it and waits
until they serve: nova reports each new hypervisor up; a new controller is online, out of
standby, and runs every clone (Galera promoted). Then they leave as the runbook says: a
compute by deploying the site without it; a controller one at a time, through ``maintain
on``, its cluster stack stopped, then deploying the site without it. Nothing acknowledged
may be lost, nobody fenced, no action fail; the loads, and full strength, are those of the
site as it was, and the APIs' error windows are what the change cost them, reported.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from hastack import catalog
from hastack.drills.run import Drill, DrillReport, _servers, planned
from hastack.drills.site_change import for_site, redeploy
from hastack.errors import TransportError, UsageError
from hastack.lifecycle.maintenance import maintain
from hastack.polling import until_nothing_missing
from hastack.site.load import LoadedSite
from hastack.site.model import Role
from hastack.site.placement import place

HYPERVISORS_UP = 300.0  # a new nova-compute registers, then is mapped and reports up
SERVING = 900.0  # a new controller: every clone started there (Galera by state transfer)


def without(loaded: LoadedSite, names: set[str]) -> LoadedSite:
    """The site as it was before ``names`` were added to its file."""
    site = loaded.site.model_copy(
        update={"nodes": tuple(n for n in loaded.site.nodes if n.name not in names)})
    return replace(loaded, site=site, placement=place(site, catalog.SERVICES))


async def _hypervisors(drill: Drill) -> dict[str, str]:
    """Each hypervisor nova lists, by short host name, with its state."""
    found: dict[str, str] = json.loads(
        (await _servers(drill, "hypervisors", "-")).splitlines()[-1])
    return found


async def scale(drill: Drill, role: Role, *, load_seconds: float) -> DrillReport:
    kind = "scale-computes" if role is Role.COMPUTE else "scale-controllers"
    status = await drill.status()
    known = {n.name for n in status.nodes} if status else set()
    added = sorted(n.name for n in drill.loaded.site.nodes
                   if n.role is role and n.name not in known)
    if not added:
        raise UsageError("drill-nothing-to-add", f"every {role.value} of the site is in the "
                         "cluster already: nothing to add", fix=f"add {role.value}s to a copy "
                         "of the site file (in the lab: `hastack lab up COPY` brings up their "
                         "machines), then run the drill on the copy")
    grown = drill.loaded
    before = without(grown, set(added))
    # Loads, full strength and the checks for nothing unplanned: the site as it was.
    base, serving = for_site(drill, before), for_site(drill, grown)
    report = DrillReport(kind, ", ".join(added), load_seconds)

    async def not_up_in_nova() -> list[str]:
        found = await _hypervisors(base)
        return [n for n in added if found.get(n) != "up"]

    async def not_serving() -> list[str]:
        now = await serving.status()
        return [] if now is not None and serving.full_strength(now) else added

    async def change() -> None:
        took = await redeploy(drill, grown)
        missing, patience = (not_up_in_nova, HYPERVISORS_UP) if role is Role.COMPUTE else \
            (not_serving, SERVING)
        try:
            await until_nothing_missing(missing, timeout=patience, host=added[0],
                                        what="not serving after the deploy", fix="see "
                                        "`hastack status SITE` and nova's service list")
        except TransportError as exc:
            report.problems.append(str(exc))
        report.added = time.time() - report.fault_at
        report.notes.append(f"{', '.join(added)} added: deploy {took:.0f} s, serving "
                            f"{report.added:.0f} s after the start")
        if role is Role.COMPUTE:
            took = await redeploy(drill, before)
            left = set(await _hypervisors(base)) & set(added)
            if left:
                report.problems.append(f"nova still lists {', '.join(sorted(left))} after "
                                       "they were taken out")
            report.notes.append(f"{', '.join(added)} taken out again: deploy {took:.0f} s")
        else:
            for i, name in enumerate(added):
                began = time.time()
                await maintain(grown, catalog.SERVICES, drill.transports, name, on=True,
                               secrets=drill.secrets)
                for unit in ("pacemaker", "corosync"):
                    (await drill.transports[name].run(["systemctl", "disable", "--now", unit],
                                                      timeout=300)).check()
                took = await redeploy(drill, without(grown, set(added[:i + 1])))
                report.notes.append(f"{name} taken out (maintain on, stack stopped, deploy "
                                    f"{took:.0f} s): {time.time() - began:.0f} s")
        report.removed = time.time() - report.fault_at

    return await planned(base, report, change, "change")
