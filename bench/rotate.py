"""Benchmark: `hastack secrets rotate` on the whole plane, under the soak drill's load.

Usage (root, the lab up and deployed): .venv/bin/python bench/rotate.py [NAME ...]
        [--site FILE] [--minutes M]
Starts the soak drill (API calls through every VIP, DB writes through the DB VIP, messages on
the bus) for M minutes (default 20, longer than a rotation of the default set), rotates NAMEs
(default: what `rotate` changes without names) once the load has run a minute, waits for the
soak to end, and prints how long the rotation took, how many API calls failed, how many
acknowledged DB writes and messages were lost, and the host's load average at the start and
the end. Nothing is asserted: a soak that lost anything says so in its own problems, printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HASTACK = str(Path(sys.executable).with_name("hastack"))
LOAD_FIRST = 60.0  # the soak's loads run this long before the rotation starts


def main() -> None:
    args = sys.argv[1:]
    site = Path(args[args.index("--site") + 1]) if "--site" in args else \
        ROOT / "examples" / "lab.yaml"
    minutes = float(args[args.index("--minutes") + 1]) if "--minutes" in args else 20.0
    names = [a for i, a in enumerate(args)
             if not a.startswith("--") and (i == 0 or args[i - 1] not in ("--site", "--minutes"))]
    start_load = os.getloadavg()[0]
    soak = subprocess.Popen([HASTACK, "drill", str(site), "soak", "--minutes", str(minutes),
                             "--format", "json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(LOAD_FIRST)  # the soak prints nothing until it ends: no condition to wait on
    began = time.monotonic()
    rotated = subprocess.run([HASTACK, "secrets", "rotate", str(site), *names], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    end_load = os.getloadavg()[0]
    out, err = soak.communicate()
    try:
        report = json.loads(out)
    except ValueError:
        sys.exit(f"the soak gave no report:\n{(out + err)[-3000:]}")
    apis = report.get("apis") or {}
    calls = sum(a.get("answered", 0) + a.get("failed", 0) for a in apis.values())
    failed = sum(a.get("failed", 0) for a in apis.values())
    print(f"rotate {' '.join(names) or '(default set)'}: exit {rotated.returncode}, "
          f"{took / 60:.1f} min")
    if rotated.returncode != 0:
        print((rotated.stdout + rotated.stderr)[-3000:])
    by_api = ", ".join(f"{k} {a['failed']}" for k, a in apis.items() if a.get("failed"))
    print(f"API calls failed: {failed} of {calls} ({by_api or 'none'})")
    print(f"DB writes lost: {report.get('db_lost')} of {report.get('db_acked')}; "
          f"messages lost: {report.get('bus_lost')} of {report.get('bus_acked')}")
    print(f"host load average: {start_load:.1f} at the start, {end_load:.1f} at the rotation's "
          f"end; nproc {os.cpu_count()}")
    for problem in report.get("problems") or []:
        print(f"soak problem: {problem}")


if __name__ == "__main__":
    main()
