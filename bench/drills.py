"""Benchmark: every drill on the whole plane of examples/lab.yaml, repeated, under its load.

Usage (root): .venv/bin/python bench/drills.py [ROUNDS] [KIND ...]
Uses the lab of examples/lab.yaml when it is up and deployed (`make lab`); otherwise refuses.
Runs ROUNDS (default 3) of each KIND (default: every kind but galera-cold-start, issue 14),
then prints per figure the median, min and max beside its target (issue 13) and the host's
load average during the rounds. Targets are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HASTACK = str(Path(sys.executable).with_name("hastack"))
SITE = ROOT / "examples" / "lab.yaml"
STATE = Path("/var/lib/hastack/lab/site.json")
KINDS = ("power-loss", "partition", "service-kill", "rabbitmq-member-loss", "memcached-loss",
         "fence-failure", "compute-loss", "soak")
EXTRA = {"service-kill": ("--service", "memcached"), "soak": ("--seconds", "120")}
# (figure, target in seconds or None): the report's keys; "api_back"/"api_window"/
# "api_slowest" are the worst API's.
FIGURES: dict[str, tuple[tuple[str, float | None], ...]] = {
    "power-loss": (("detected", None), ("fenced", None), ("db_back", None),
                   ("db_window", 3.0), ("bus_window", None), ("api_back", 5.0),
                   ("rejoined", None)),
    "partition": (("detected", None), ("fenced", None), ("minority_stopped", None),
                  ("db_back", None), ("db_window", 3.0), ("api_back", 5.0), ("rejoined", None)),
    "service-kill": (("detected", None), ("recovered", 10.0), ("api_window", 0.0)),
    "rabbitmq-member-loss": (("fenced", None), ("bus_window", None), ("rejoined", None)),
    "memcached-loss": (("api_slowest", 2.0),),
    "fence-failure": (("fenced", None), ("recovered", None), ("db_window", None)),
    "compute-loss": (("detected", 5.0), ("fenced", None), ("evacuated", 30.0)),
    "soak": (("api_window", 0.0), ("db_window", 0.0), ("bus_window", 0.0)),
}


def figure(report: dict[str, object], name: str) -> float | None:
    apis = report.get("apis") or {}
    assert isinstance(apis, dict)
    if name.startswith("api_"):
        key = {"api_back": "back", "api_window": "window", "api_slowest": "slowest"}[name]
        values = [a[key] for a in apis.values() if a.get(key) is not None]
        return max(values) if values else None
    value = report.get(name)
    return float(value) if isinstance(value, int | float) else None


def drill(kind: str) -> dict[str, object]:
    done = subprocess.run([HASTACK, "drill", str(SITE), kind, *EXTRA.get(kind, ()),
                           "--format", "json"], capture_output=True, text=True, cwd=ROOT,
                          check=False, timeout=3600)
    try:
        report: dict[str, object] = json.loads(done.stdout)
    except ValueError:
        sys.exit(f"{kind}: no report\n{done.stdout}{done.stderr}"[-3000:])
    return report


def main() -> None:
    args = sys.argv[1:]
    rounds = int(args.pop(0)) if args and args[0].isdigit() else 3
    kinds = args or list(KINDS)
    if not STATE.exists():
        sys.exit("no lab is up: `make lab` first (the whole plane of examples/lab.yaml)")
    results: dict[str, list[dict[str, object]]] = {k: [] for k in kinds}
    loads = []
    for round_ in range(1, rounds + 1):
        for kind in kinds:
            report = drill(kind)
            results[kind].append(report)
            loads.append(os.getloadavg()[0])
            verdict = "ok" if report.get("ok") else f"FAILED {report.get('problems')}"
            print(f"round {round_} {kind}: {verdict} (load {report.get('load_average', 0):.2f})",
                  flush=True)
    print(f"\nwhole plane of {SITE.name}, {rounds} round(s); host load average during the "
          f"drills: median {statistics.median(loads):.2f}, max {max(loads):.2f}; "
          f"nproc {os.cpu_count()}")
    print(f"{'drill':<22}{'figure':<18}{'median':>8}{'min':>8}{'max':>8}{'target':>8}"
          f"{'passed':>8}")
    for kind in kinds:
        runs = results[kind]
        passed = sum(1 for r in runs if r.get("ok"))
        for name, target in FIGURES.get(kind, ()):
            values = [v for v in (figure(r, name) for r in runs) if v is not None]
            if not values:
                print(f"{kind:<22}{name:<18}{'-':>8}{'-':>8}{'-':>8}")
                continue
            shown = f"{target:.1f}" if target is not None else ""
            print(f"{kind:<22}{name:<18}{statistics.median(values):>8.1f}{min(values):>8.1f}"
                  f"{max(values):>8.1f}{shown:>8}{f'{passed}/{len(runs)}':>8}")


if __name__ == "__main__":
    main()
