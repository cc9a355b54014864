"""Benchmark: lab up time and memory per machine (prints figures; asserts nothing).

Usage (root, no lab running): .venv/bin/python bench/lab_up.py [RUNS] [SITE]
Memory is the PSS of every process in each machine's PID namespace, idle after boot.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

from hastack.commands import lab as lab_commands
from hastack.commands.session import Session

ROOT = Path(__file__).resolve().parents[1]
STATE = Path("/var/lib/hastack/lab/machines")


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_memory() -> dict[str, float]:
    out = {}
    for machine in sorted(STATE.iterdir()):
        init = int((machine / "init.pid").read_text())
        ns = os.readlink(f"/proc/{init}/ns/pid")
        total = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "ns" / "pid") == ns:
                        total += pss_kib(int(entry.name))
                except OSError:
                    continue
        out[machine.name] = total / 1024
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    site = sys.argv[2] if len(sys.argv) > 2 else str(ROOT / "tests" / "lab" / "lab3.yaml")
    times = []
    memory: dict[str, float] = {}
    for _ in range(runs):
        start = time.monotonic()
        lab_commands.up(Session(Path(site)), packages="lab")
        times.append(time.monotonic() - start)
        time.sleep(5)  # let boot-time jobs finish before measuring idle memory
        memory = machine_memory()
        lab_commands.down()
    print(f"host: {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"lab up ({site}, {runs} runs): median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s")
    for name, mib in memory.items():
        print(f"  {name}: {mib:.0f} MiB PSS idle")


if __name__ == "__main__":
    main()
