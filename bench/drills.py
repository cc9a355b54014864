"""Benchmark: every drill on the whole plane, repeated, under its load, in both architectures.

Usage (root): .venv/bin/python bench/drills.py [ROUNDS] [KIND ...] [--saved] [--site FILE ...]
Sites (default both): examples/lab.yaml (the guide: everything under Pacemaker) and
examples/lab-core.yaml (only the core under Pacemaker, the active/active services systemd
units). For each site: uses its lab when it is up, otherwise tears down any other lab and
brings this one up and deploys it (`make lab SITE=...`). Runs ROUNDS (default 3) of each KIND
(default: every kind), saves every report as JSON under
/var/tmp/hastack-bench, then prints per figure and site the median, min and max beside its
target (issue 13) and the host's load average during the rounds. Targets are printed, never
asserted. With --saved, runs nothing: prints the same table from the reports saved by earlier
runs (every round found, for a run that was stopped before its table).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from hastack.commands import deploy as deploy_commands
from hastack.commands import drill as drill_commands
from hastack.commands import lab as lab_commands
from hastack.commands.results import plain
from hastack.commands.session import Session
from hastack.errors import HastackError

ROOT = Path(__file__).resolve().parents[1]
SITES = (ROOT / "examples" / "lab.yaml", ROOT / "examples" / "lab-core.yaml")
STATE = Path("/var/lib/hastack/lab/site.json")
OUT = Path("/var/tmp/hastack-bench")
KINDS = ("power-loss", "partition", "service-kill", "rabbitmq-member-loss", "memcached-loss",
         "fence-failure", "fence-failure-no-pdu", "compute-loss", "soak", "galera-cold-start",
         "site-power-loss", "site-power-loss-staggered", "rabbitmq-cold-start", "maintenance")
EXTRA: dict[str, dict[str, Any]] = {"service-kill": {"service": "keystone"},
                                    "soak": {"load_seconds": 120.0}}
# (figure, target in seconds or None): the report's keys; "api_back"/"api_window"/
# "api_slowest" are the worst API's; "power:" counts from the moment the power returned
# (issue 14's targets) instead of from the fault.
COLD = (("power:db_back", 30.0), ("power:bus_back", 30.0), ("power:api_back", 90.0),
        ("power:nova_back", None), ("power:rejoined", 120.0), ("db_lost", 0.0),
        ("bus_lost", 0.0))
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
    "fence-failure-no-pdu": (("fenced", None), ("recovered", None), ("db_window", None)),
    "compute-loss": (("detected", 5.0), ("fenced", None), ("evacuated", 30.0)),
    "soak": (("api_window", 0.0), ("db_window", 0.0), ("bus_window", 0.0)),
    "galera-cold-start": COLD,
    "site-power-loss": COLD,
    "site-power-loss-staggered": COLD,
    "rabbitmq-cold-start": (("recovered", None), ("bus_back", None), ("bus_window", None),
                            ("nova_back", None), ("bus_lost", 0.0)),
    # issue 16: at most 1 s of API errors per VIP move (a cycle moves several VIPs)
    "maintenance": (("recovered", None), ("api_window", None), ("db_window", None),
                    ("db_lost", 0.0), ("bus_lost", 0.0)),
}

Report = dict[str, object]


def figure(report: Report, name: str) -> float | None:
    if name.startswith("power:"):
        value, power = figure(report, name.removeprefix("power:")), report.get("power_back")
        return value - power if value is not None and isinstance(power, int | float) \
            else None
    apis = report.get("apis") or {}
    assert isinstance(apis, dict)
    if name.startswith("api_"):
        key = {"api_back": "back", "api_window": "window", "api_slowest": "slowest"}[name]
        values = [a[key] for a in apis.values() if a.get(key) is not None]
        return max(values) if values else None
    value = report.get(name)
    return float(value) if isinstance(value, int | float) else None


def ensure_lab(site: Path) -> None:
    """This site's lab up and deployed (a re-deploy of a deployed lab changes nothing)."""
    running = json.loads(STATE.read_text())["site"] if STATE.exists() else None
    if running == str(site.resolve()):
        return
    if running is not None:
        lab_commands.down()
    try:
        print(f"{site.name}: lab up ...", flush=True)
        lab_commands.up(Session(site))
        print(f"{site.name}: deploy ...", flush=True)
        deploy_commands.deploy(Session(site))
    except HastackError as exc:
        sys.exit(f"{site.name}: [{exc.code}] {exc}")


def drill(site: Path, kind: str) -> Report:
    try:
        report = drill_commands.drill(Session(site), kind, **EXTRA.get(kind, {}))
    except HastackError as exc:
        sys.exit(f"{site.name} {kind}: no report: [{exc.code}] {exc}")
    return dict(plain(report))


def run_site(site: Path, rounds: int, kinds: list[str]) -> tuple[dict[str, list[Report]],
                                                                 list[float]]:
    ensure_lab(site)
    results: dict[str, list[Report]] = {k: [] for k in kinds}
    loads = []
    OUT.mkdir(parents=True, exist_ok=True)
    for round_ in range(1, rounds + 1):
        for kind in kinds:
            report = drill(site, kind)
            results[kind].append(report)
            loads.append(os.getloadavg()[0])
            (OUT / f"{site.stem}-{kind}-{round_}.json").write_text(json.dumps(report))
            verdict = "ok" if report.get("ok") else f"FAILED {report.get('problems')}"
            print(f"{site.name} round {round_} {kind}: {verdict} "
                  f"(load {report.get('load_average', 0):.2f})", flush=True)
    return results, loads


def saved_site(site: Path, kinds: list[str]) -> tuple[dict[str, list[Report]], list[float]]:
    results: dict[str, list[Report]] = {k: [] for k in kinds}
    for kind in kinds:
        for path in sorted(OUT.glob(f"{site.stem}-{kind}-*.json")):
            if path.stem.removeprefix(f"{site.stem}-{kind}-").isdigit():
                results[kind].append(json.loads(path.read_text()))
    loads = [float(r["load_average"]) for runs in results.values() for r in runs
             if isinstance(r.get("load_average"), int | float)]
    return results, loads or [0.0]


def cell(runs: list[Report], name: str) -> str:
    values = [v for v in (figure(r, name) for r in runs) if v is not None]
    passed = sum(1 for r in runs if r.get("ok"))
    if not values:
        return f"{'-':>20} {passed}/{len(runs)}"
    return (f"{statistics.median(values):>6.1f}{min(values):>7.1f}{max(values):>7.1f} "
            f"{passed}/{len(runs)}")


def main() -> None:
    args = sys.argv[1:]
    sites = [Path(a).resolve() for a in args[args.index("--site") + 1:]] \
        if "--site" in args else list(SITES)
    args = args[:args.index("--site")] if "--site" in args else args
    saved = "--saved" in args
    args = [a for a in args if a != "--saved"]
    rounds = int(args.pop(0)) if args and args[0].isdigit() else 3
    kinds = args or list(KINDS)
    results = {}
    for site in sites:
        runs, loads = saved_site(site, kinds) if saved else run_site(site, rounds, kinds)
        results[site.stem] = runs
        rounds = max((len(r) for r in runs.values()), default=0) if saved else rounds
        print(f"{site.name}: {rounds} round(s); host load average during its drills: median "
              f"{statistics.median(loads):.2f}, max {max(loads):.2f}; nproc {os.cpu_count()}",
              flush=True)
    print("\nper site: median, min, max (s) and drills passed")
    print(f"{'drill':<22}{'figure':<18}{'target':>7}  " +
          "".join(f"{stem:>26}" for stem in results))
    for kind in kinds:
        for name, target in FIGURES.get(kind, ()):
            shown = f"{target:.1f}" if target is not None else ""
            print(f"{kind:<22}{name:<18}{shown:>7}  " +
                  "".join(f"{cell(runs[kind], name):>26}" for runs in results.values()))


if __name__ == "__main__":
    main()
