"""How long `hastack simulate` takes for all single failures as compute nodes are added.

Sites are built in memory from examples/lab.yaml's shape: its 3 controllers and N compute
nodes (25, 50, 100, 200). Prints per size: cases, how many crm_simulate ran (identical
computes are simulated once), the baseline and the total time. Figures only, no assertions.

    .venv/bin/python bench/simulate.py [25 50 100 200]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hastack.simulate.cases import Case, enumerate_cases
from hastack.simulate.run import Baseline, baseline, simulate_site
from hastack.simulate.scale import lab_with_computes

ROOT = Path(__file__).resolve().parents[1]


def single_failures(base: Baseline) -> list[Case]:
    return [c for c in enumerate_cases(base.cluster, base.state) if c.failures == 1]


def main(sizes: list[int]) -> None:
    print(f"{'computes':>8} {'cases':>6} {'simulated':>9} {'baseline s':>10} {'total s':>8}"
          f" {'failed':>6}")
    for size in sizes:
        clusters = lab_with_computes(size)
        started = time.monotonic()
        baseline(clusters[0])  # timed alone: the cold start from nothing dominates at scale
        base_s = time.monotonic() - started
        sim = simulate_site(clusters, select=single_failures)
        failed = sum(not r.ok for r in sim.results)
        print(f"{size:>8} {len(sim.results):>6} {sim.simulated:>9} {base_s:>10.1f} "
              f"{sim.seconds:>8.1f} {failed:>6}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [25, 50, 100, 200])
