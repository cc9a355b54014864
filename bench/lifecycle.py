"""Benchmark: computes added to the whole plane and taken out again under the drill load
(issue 16's targets: adding 10 computes at most 5 minutes, nothing acknowledged lost).

Usage (root): .venv/bin/python bench/lifecycle.py [COMPUTES] [--rounds N] [--keep]
Uses the lab of examples/lab.yaml or of a copy of it (brought up and deployed when another
site's or none is up). Writes a copy of the site with COMPUTES (default 10) more computes under
/var/tmp/hastack-bench/lifecycle/ (the same secrets), brings their machines up (`lab up COPY`),
and runs the scale-computes drill on it N times (default 1): deploy adds them under the load
until nova reports each hypervisor up, then the site without them is deployed. Prints each
round's figures beside the targets, with the host's load average (at the start, and the most)
and the most memory in use while the drill ran. The added machines are powered off at the
end (--keep: left running). Targets are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

# bench/drills.py, found beside this script (bench/ is not a package).
from drills import STATE, ensure_lab  # type: ignore[import-not-found]

from hastack.commands import drill as drill_commands
from hastack.commands import lab as lab_commands
from hastack.commands.results import plain
from hastack.commands.session import Session
from hastack.errors import HastackError

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "examples" / "lab.yaml"
OUT = Path("/var/tmp/hastack-bench/lifecycle")
TARGET_ADD = 300.0  # s: adding 10 computes


def grown_site(computes: int, running: Path) -> Path:
    """A copy of the lab site with ``computes`` more computes (cmp3, cmp4, ...), each with its
    BMC and the next free outlet of the lab's PDU. Its secrets: those of the ``running``
    site's file the first time, then its own (the lab's BMCs keep the passwords they were
    started with)."""
    OUT.mkdir(parents=True, exist_ok=True)
    if not (OUT / "lab.secrets.yaml").exists():
        shutil.copy(running.with_name(running.stem + ".secrets.yaml"),
                    OUT / "lab.secrets.yaml")
    text = SITE.read_text()
    lines = []
    for i in range(computes):
        n = 3 + i
        lines.append(f"  - {{name: cmp{n}, address: 198.18.0.{20 + n}, role: compute,\n"
                     f"     fencing: {{type: lab, address: 198.18.0.{120 + n}, "
                     f"pdu: {{name: pdu1, outlet: {3 + n}}}}}}}\n")
    at = text.index("services:")
    grown = OUT / "lab.yaml"
    grown.write_text(text[:at] + "".join(lines) + text[at:])
    return grown


def ensure_site_lab() -> Path:
    """The lab of examples/lab.yaml, or of a copy of it (the same site: an earlier run's
    grown copy, or one made by hand), up and deployed. Returns the site file it runs."""
    if STATE.exists():
        running = Path(json.loads(STATE.read_text())["site"])
        if running.exists() and Session(running).loaded.site.name == \
                Session(SITE).loaded.site.name:
            return running
    ensure_lab(SITE)
    return SITE


def memory_total_gib() -> float:
    total = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return int(total) / 1024 / 1024


def memory_used_gib() -> float:
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    kib = int(fields["MemTotal"].split()[0]) - int(fields["MemAvailable"].split()[0])
    return kib / 1024 / 1024


def main() -> None:
    args = sys.argv[1:]
    keep = "--keep" in args
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 1
    positional = [a for i, a in enumerate(args) if a.isdigit()
                  and (i == 0 or args[i - 1] != "--rounds")]
    computes = int(positional[0]) if positional else 10
    grown = grown_site(computes, ensure_site_lab())
    print(f"lab up {computes} more computes ...", flush=True)
    started = time.monotonic()
    try:
        lab_commands.up(Session(grown))
    except HastackError as exc:
        sys.exit(f"lab up: [{exc.code}] {exc}")
    print(f"  machines up in {time.monotonic() - started:.0f} s; memory in use "
          f"{memory_used_gib():.1f} GiB", flush=True)
    reports = []
    peak = [memory_used_gib(), os.getloadavg()[0]]  # memory in use, 1-minute load
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(2.0):
            peak[0] = max(peak[0], memory_used_gib())
            peak[1] = max(peak[1], os.getloadavg()[0])

    threading.Thread(target=sample, daemon=True).start()
    try:
        for round_ in range(1, rounds + 1):
            try:
                report = dict(plain(drill_commands.drill(Session(grown), "scale-computes")))
            except HastackError as exc:
                sys.exit(f"round {round_}: no report: [{exc.code}] {exc}")
            (OUT / f"scale-computes-{computes}-{round_}.json").write_text(json.dumps(report))
            reports.append(report)
            verdict = "ok" if report.get("ok") else f"FAILED {report.get('problems')}"
            print(f"round {round_}: {verdict}", flush=True)
    finally:
        stop.set()
        if not keep:
            names = [f"cmp{3 + i}" for i in range(computes)]
            for name in names:
                try:
                    lab_commands.power(Session(grown), name, "off")
                except HastackError as exc:
                    print(f"{name}: not powered off: {exc}", flush=True)
    print(f"\nscale-computes, {computes} computes; nproc {os.cpu_count()}; memory in use at "
          f"most {peak[0]:.1f} GiB of {memory_total_gib():.1f}; load average at most "
          f"{peak[1]:.1f} (the table's: at each drill's start)")
    print(f"{'round':<7}{'added (s)':>11}{'target':>8}{'removed (s)':>13}"
          f"{'API window (s)':>16}{'DB lost':>9}{'bus lost':>10}{'load avg':>10}")
    for round_, r in enumerate(reports, 1):
        apis = r.get("apis") or {}
        assert isinstance(apis, dict)
        window = max((a.get("window", 0.0) for a in apis.values()), default=0.0)
        added, removed = r.get("added"), r.get("removed")
        target = TARGET_ADD * computes / 10
        print(f"{round_:<7}{added if added is None else f'{added:.0f}':>11}{target:>8.0f}"
              f"{removed if removed is None else f'{removed - (added or 0):.0f}':>13}"
              f"{window:>16.1f}{r.get('db_lost')!s:>9}{r.get('bus_lost')!s:>10}"
              f"{r.get('load_average', 0):>10.2f}")
        for note in r.get("notes") or []:
            print(f"       {note}")


if __name__ == "__main__":
    main()
