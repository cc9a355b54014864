"""The maintenance drill: every controller of the DB's cluster in turn taken out of service
and brought back (hastack maintain), under the drill's load. Nothing acknowledged may be
lost, nobody fenced, no action fail; the APIs' error windows are the price of each VIP move,
reported."""

from __future__ import annotations

import time

from hastack import catalog
from hastack.drills.run import Drill, DrillReport, _run, fencing_history, unplanned
from hastack.lifecycle.maintenance import maintain


async def rolling_maintenance(drill: Drill, *, load_seconds: float) -> DrillReport:
    report = DrillReport("maintenance", ", ".join(drill.members), load_seconds)
    fencing_before = await fencing_history(drill)
    started = time.time()
    done: list[float] = []

    async def fault() -> None:
        report.detected = 0.0
        for member in drill.members:
            for on in (True, False):
                result = await maintain(drill.loaded, catalog.SERVICES, drill.transports,
                                        member, on=on)
                report.notes.append(f"{member} {'out' if on else 'back'}: " + ", ".join(
                    f"{s.what} {s.seconds:.1f} s" for s in result.steps))
        done.append(time.time() - report.fault_at)

    async def watch(report: DrillReport, t0: float) -> bool:
        return bool(done)

    await _run(drill, report, fault, watch)
    report.recovered = done[0] if done else None
    if report.recovered is not None and report.recovered > load_seconds:
        report.problems.append(f"the maintenance outlasted the load ({report.recovered:.0f} s):"
                               " run it with a longer --seconds")
    report.problems += await unplanned(drill, started, fencing_before)
    return report
