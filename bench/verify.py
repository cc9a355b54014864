"""Benchmark: how long `hastack verify` takes on a deployed site, and which checks take it
(issue 17 item 3; prints figures, asserts no timing).

Usage (root, the site's lab up and deployed):
    .venv/bin/python bench/verify.py [SITE] [--rounds N] [--slowest K]
                                     (default examples/lab.yaml, 1 round, 6 slowest)

Each round runs verify as `hastack verify SITE` does (hastack.commands.running.verify) and
prints its wall time beside the target and the host's load average before and after, then
its slowest checks with their own seconds. Checks run side by side, so those seconds
overlap: the wall time is what a user waits for. A round where a check fails says which;
its time still counts, but it is not a passing verify's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SITE = ROOT / "examples" / "lab.yaml"
TARGET_SECONDS = 90.0  # issue 17's target for the whole verify, printed (never asserted)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--slowest", type=int, default=6)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from hastack.commands import running
    from hastack.commands.session import Session
    from hastack.errors import HastackError

    walls = []
    print(f"# verify, site {args.site}; target <= {TARGET_SECONDS:.0f} s; "
          f"load average 1 5 15 min")
    for round_ in range(1, args.rounds + 1):
        before = load()
        start = time.monotonic()
        try:
            result = running.verify(Session(args.site.resolve()))
        except HastackError as exc:
            print(f"round {round_}: verify could not run: [{exc.code}] {exc}", file=sys.stderr)
            return 1
        wall = time.monotonic() - start
        walls.append(wall)
        failed = ", ".join(f"{c.service}: {c.name}" for c in result.failed)
        print(f"round {round_}: {wall:6.1f} s, {len(result.checks)} checks, "
              f"{'all pass' if result.ok else 'FAILED ' + failed}; "
              f"load {before} before, {load()} after")
        for check in sorted(result.checks, key=lambda c: -c.seconds)[:args.slowest]:
            print(f"    {check.seconds:6.1f} s  {check.service}: {check.name}")
    walls.sort()
    print(f"verify: median {walls[len(walls) // 2]:.1f} s over {len(walls)} "
          f"(target <= {TARGET_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
