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

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hastack.commands import drill as drill_commands
from hastack.commands import secrets as secret_commands
from hastack.commands.results import plain
from hastack.commands.session import Session
from hastack.errors import HastackError

ROOT = Path(__file__).resolve().parents[1]
LOAD_FIRST = 60.0  # the soak's loads run this long before the rotation starts


def main() -> None:
    args = sys.argv[1:]
    site = Path(args[args.index("--site") + 1]) if "--site" in args else \
        ROOT / "examples" / "lab.yaml"
    minutes = float(args[args.index("--minutes") + 1]) if "--minutes" in args else 20.0
    names = [a for i, a in enumerate(args)
             if not a.startswith("--") and (i == 0 or args[i - 1] not in ("--site", "--minutes"))]
    start_load = os.getloadavg()[0]
    with ThreadPoolExecutor(max_workers=1) as pool:
        soak = pool.submit(drill_commands.drill, Session(site), "soak",
                           load_seconds=minutes * 60)
        time.sleep(LOAD_FIRST)  # the soak reports only when it ends: no condition to wait on
        began = time.monotonic()
        failure = None
        try:
            secret_commands.rotate(Session(site), names)
        except HastackError as exc:
            failure = f"[{exc.code}] {exc}"
        took = time.monotonic() - began
        end_load = os.getloadavg()[0]
        try:
            report = plain(soak.result())
        except HastackError as exc:
            sys.exit(f"the soak gave no report: [{exc.code}] {exc}")
    apis = report.get("apis") or {}
    calls = sum(a.get("answered", 0) + a.get("failed", 0) for a in apis.values())
    failed = sum(a.get("failed", 0) for a in apis.values())
    print(f"rotate {' '.join(names) or '(default set)'}: {failure or 'done'}, "
          f"{took / 60:.1f} min")
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
