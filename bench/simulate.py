"""How long `hastack simulate` takes for all single failures as compute nodes are added.

Sites are built in memory from examples/lab.yaml's shape: its 3 controllers and N compute
nodes (25, 50, 100, 200). Prints per size: cases, how many were simulated (identical
computes are simulated once), how many crm_simulate runs that took, the baseline's and the
total wall time, the CPU time spent (crm_simulate's included: on a busy host it tells what
the run costs better than the wall time) and the total's growth from the previous size.
The host's CPU and load average come first. Figures only, no assertions.

    .venv/bin/python bench/simulate.py [25 50 100 200]
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path

from hastack.simulate.cases import Case, enumerate_cases
from hastack.simulate.run import Baseline, simulate_site
from hastack.simulate.scale import lab_with_computes


def single_failures(base: Baseline) -> list[Case]:
    return [c for c in enumerate_cases(base.cluster, base.state) if c.failures == 1]


def cpu_seconds() -> float:
    me, children = (resource.getrusage(who) for who in
                    (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main(sizes: list[int]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{cpu_model()}, {os.cpu_count()} cores, load average {load}; single runs")
    print(f"{'computes':>8} {'cases':>6} {'simulated':>9} {'runs':>5} {'baseline s':>10} "
          f"{'total s':>8} {'cpu s':>6} {'growth':>6} {'failed':>6}")
    previous = 0.0
    for size in sizes:
        clusters = lab_with_computes(size)
        cpu = cpu_seconds()
        sim = simulate_site(clusters, select=single_failures)
        cpu = cpu_seconds() - cpu
        failed = sum(not r.ok for r in sim.results)
        growth = f"x{sim.seconds / previous:.1f}" if previous else "-"
        previous = sim.seconds
        print(f"{size:>8} {len(sim.results):>6} {sim.simulated:>9} {sim.scheduled:>5} "
              f"{sim.baseline_seconds:>10.1f} {sim.seconds:>8.1f} {cpu:>6.1f} {growth:>6} "
              f"{failed:>6}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [25, 50, 100, 200])
