"""The maintenance drill: every controller of the DB's cluster in turn taken out of service
and brought back (hastack maintain), under the drill's load. Nothing acknowledged may be
lost, nobody fenced, no action fail; the APIs' error windows are the price of each VIP move,
reported."""

from __future__ import annotations

from hastack import catalog
from hastack.drills.run import Drill, DrillReport, planned
from hastack.lifecycle.maintenance import maintain


async def rolling_maintenance(drill: Drill, *, load_seconds: float) -> DrillReport:
    report = DrillReport("maintenance", ", ".join(drill.members), load_seconds)

    async def cycle() -> None:
        for member in drill.members:
            for on in (True, False):
                result = await maintain(drill.loaded, catalog.SERVICES, drill.transports,
                                        member, on=on)
                report.notes.append(f"{member} {'out' if on else 'back'}: " + ", ".join(
                    f"{s.what} {s.seconds:.1f} s" for s in result.steps))

    return await planned(drill, report, cycle, "maintenance")
