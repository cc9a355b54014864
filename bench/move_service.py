"""Benchmark: a service moved to a new cluster and back on the whole plane, under the drill
load (issue 16: no acknowledged write or message lost, API error window at most 1 s).

Usage (root): .venv/bin/python bench/move_service.py [SERVICE] [--keep]
Uses the lab of examples/lab.yaml (brought up and deployed unless it is up). Writes a copy of
the site under /var/tmp/hastack-bench/move/ (the same secrets) turned mixed: a new cluster of
three controllers (api1-3, 198.18.0.31-33) runs SERVICE (default nova), the rest stays on the
cluster `openstack`. Brings up their machines, prints what the dry run says of the move, runs
the move-service drill (deploy moves it under the load, then back) and prints its figures
with the host's load average. The new machines are powered off at the end (--keep: left
running). Targets are printed, never asserted. (Its lab test passed in the full local run of
2026-12-06, 485 s; it runs here, outside `make test`, for CI's time budget.)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

# bench/drills.py, found beside this script (bench/ is not a package).
from drills import ensure_lab  # type: ignore[import-not-found]

from hastack.commands import deploy as deploy_commands
from hastack.commands import drill as drill_commands
from hastack.commands import lab as lab_commands
from hastack.commands.results import plain
from hastack.commands.session import Session
from hastack.errors import HastackError

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "examples" / "lab.yaml"
OUT = Path("/var/tmp/hastack-bench/move")
API_CLUSTER = ("api1", "api2", "api3")
TARGET_WINDOW = 1.0  # s: API error window per move


def moved_site(service: str) -> Path:
    """The lab site with a second cluster of three new controllers running ``service``."""
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(SITE.with_name(SITE.stem + ".secrets.yaml"), OUT / "lab.secrets.yaml")
    text = SITE.read_text().replace("topology: collapsed", "topology: mixed")
    nodes = "".join(
        f"  - {{name: api{i}, address: 198.18.0.3{i}, role: controller,\n     fencing: "
        f"{{type: lab, address: 198.18.0.13{i}, pdu: {{name: pdu1, outlet: 1{i}}}}}}}\n"
        for i in (1, 2, 3))
    clusters = ("clusters:\n  openstack: {nodes: [ctl1, ctl2, ctl3], services: ['*']}\n"
                f"  api: {{nodes: [api1, api2, api3], services: [{service}]}}\n")
    at = text.index("services:\n")
    (OUT / "lab.yaml").write_text(text[:at] + nodes + clusters + text[at:])
    return OUT / "lab.yaml"


def main() -> None:
    args = sys.argv[1:]
    keep = "--keep" in args
    service = next((a for a in args if not a.startswith("--")), "nova")
    ensure_lab(SITE)
    moved = moved_site(service)
    try:
        lab_commands.up(Session(moved))
        dry = deploy_commands.deploy(Session(moved), dry_run=True)
        for step in dry.steps:
            if step.stage.startswith("move:"):
                print(f"dry run: {step.stage}: {step.detail}", flush=True)
        stops = [line.strip() for diff in dry.diffs for line in diff.splitlines()
                 if line.startswith("  Stop ")]
        print(f"dry run: Pacemaker would stop {len(stops)} instances on the old cluster "
              f"(first: {stops[0] if stops else '-'})", flush=True)
        report = dict(plain(drill_commands.drill(Session(moved), "move-service")))
    except HastackError as exc:
        sys.exit(f"[{exc.code}] {exc}")
    finally:
        if not keep:
            for name in API_CLUSTER:
                try:
                    lab_commands.power(Session(moved), name, "off")
                except HastackError as exc:
                    print(f"{name}: not powered off: {exc}", flush=True)
    (OUT / f"move-service-{service}.json").write_text(json.dumps(report))
    apis = report.get("apis") or {}
    assert isinstance(apis, dict)
    print(f"\nmove-service {service}; nproc {os.cpu_count()}; load average at the start "
          f"{report.get('load_average', 0.0):.1f}; {'ok' if report.get('ok') else 'FAILED'}"
          f" {report.get('problems') or ''}")
    print(f"moved after {report.get('moved') or 0:.0f} s, back after "
          f"{report.get('moved_back') or 0:.0f} s (from the drill's start)")
    for note in report.get("notes") or []:
        print(f"  {note}")
    for name, api in apis.items():
        print(f"  {name}: error window {api.get('window', 0.0):.1f} s (target "
              f"{TARGET_WINDOW:.0f} s), {api.get('failed', 0)} of "
              f"{api.get('answered', 0) + api.get('failed', 0)} calls failed, slowest "
              f"{api.get('slowest', 0.0):.1f} s")
    print(f"  DB: {report.get('db_lost')} of {report.get('db_acked')} acknowledged writes "
          f"lost; bus: {report.get('bus_lost')} of {report.get('bus_acked')} messages lost")


if __name__ == "__main__":
    main()
