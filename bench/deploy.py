"""Benchmark: deploy time of the full control plane from nothing, of a no-op re-run, and the
memory of each machine once deployed (issue 6; prints figures, asserts no timing).

Usage (root, no lab running): .venv/bin/python bench/deploy.py [SITE]   (default examples/lab.yaml)
Steps, each timed as a call of hastack.commands (what `hastack lab up SITE` and
`hastack deploy SITE` run): lab up (apart: the first one may install packages on the host), a
deploy from nothing, a deploy again (it must change nothing), then the memory of each machine,
then lab down. A lab already up belongs to someone else: the script says so and exits 2
without touching it; it takes down only the lab it brought up itself.
Memory is RSS and PSS summed over every process in the machine's PID namespace
(/proc/PID/smaps_rollup), measured right after the re-run. PSS shares each page among the
processes mapping it, so PSS adds up across machines; RSS counts shared pages (the host's
libraries, through the overlay) once per process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# hastack itself is imported where it is used, so that --help works outside the venv.

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SITE = ROOT / "examples" / "lab.yaml"
# How `hastack lab up` refuses when a lab is there: the error codes of lab.control.
OTHER_LAB_CODES = ("lab-other-site", "lab-half-there")
# Issue 17's targets, printed beside the figures (never asserted).
TARGET_FIRST = 600.0
TARGET_RERUN = 15.0


@dataclass(frozen=True)
class Memory:
    machine: str
    role: str
    processes: int  # 0 when the machine is off
    rss_kib: int
    pss_kib: int


@dataclass(frozen=True)
class Step:
    seconds: float
    result: Any = None
    error: Exception | None = None  # a HastackError: its code and sentence are the reason


def timed(action: Callable[[], Any]) -> Step:
    """Call a command; its result or its error, and the wall time in seconds."""
    from hastack.errors import HastackError

    start = time.monotonic()
    try:
        result = action()
    except HastackError as exc:
        return Step(time.monotonic() - start, error=exc)
    return Step(time.monotonic() - start, result)


def why(step: Step) -> str:
    error = step.error
    return f"[{getattr(error, 'code', '?')}] {error}" if error else "ok"


def lab_in_use() -> str | None:
    """Why a lab is already on this computer (running, or half there), or None."""
    from hastack.lab.control import running_site
    from hastack.lab.layout import STATE_ROOT

    site = running_site()
    if site is not None:
        return f"a lab of {site} is up"
    machines = STATE_ROOT / "machines"
    if machines.is_dir() and any(machines.iterdir()):
        return f"lab machines are recorded under {machines}"
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                            check=False).stdout
    lab_ns = [line.split()[0] for line in listed.splitlines()
              if line.strip() and line.split()[0].startswith("hs-")]
    if lab_ns:
        return f"lab network namespaces exist ({', '.join(lab_ns)})"
    return None


def rollup_kib(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in KiB; (0, 0) when it is gone or has no memory map."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


def pids_by_pid_ns() -> dict[str, list[int]]:
    """Every host process, grouped by its PID namespace (the /proc/PID/ns/pid link)."""
    groups: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                groups.setdefault(os.readlink(entry / "ns" / "pid"), []).append(int(entry.name))
            except OSError:
                continue  # exited meanwhile
    return groups


def machine_memory(site: Path) -> list[Memory]:
    """RSS and PSS summed over the processes of each machine of the site's lab."""
    from hastack import catalog
    from hastack.lab.layout import lab_layout
    from hastack.lab.machine import pid1

    layout = lab_layout(catalog.load(site).site)
    groups = pids_by_pid_ns()
    rows = []
    for spec in layout.machines:
        init = pid1(spec)
        pids: list[int] = []
        if init is not None:
            with contextlib.suppress(OSError):  # powered off meanwhile
                pids = groups.get(os.readlink(f"/proc/{init}/ns/pid"), [])
        sums = [rollup_kib(pid) for pid in pids]
        rows.append(Memory(machine=spec.name, role=spec.role.value, processes=len(pids),
                           rss_kib=sum(r for r, _ in sums), pss_kib=sum(p for _, p in sums)))
    return rows


def host_line() -> str:
    cpu = "unknown CPU"
    mem_gib = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return (f"host: {platform.node()}, {cpu}, nproc {len(os.sched_getaffinity(0))}, "
            f"{mem_gib:.1f} GiB, kernel {platform.release()}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_memory(rows: list[Memory]) -> None:
    print("\nmemory once deployed (summed over each machine's PID namespace)")
    print(f"{'machine':<10}{'role':<12}{'processes':>10}{'RSS MiB':>10}{'PSS MiB':>10}")
    for m in rows:
        if not m.processes:
            print(f"{m.machine:<10}{m.role:<12}{'off':>10}{'-':>10}{'-':>10}")
            continue
        print(f"{m.machine:<10}{m.role:<12}{m.processes:>10}{m.rss_kib / 1024:>10.0f}"
              f"{m.pss_kib / 1024:>10.0f}")
    print(f"{'total':<22}{sum(m.processes for m in rows):>10}"
          f"{sum(m.rss_kib for m in rows) / 1024:>10.0f}"
          f"{sum(m.pss_kib for m in rows) / 1024:>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Time `hastack lab up`, a deploy from nothing and a no-op re-run, measure "
                    "each machine's memory, then take the lab down. Needs root and no lab up.")
    parser.add_argument("site", nargs="?", type=Path, default=DEFAULT_SITE,
                        help="lab site file (default: examples/lab.yaml)")
    site = parser.parse_args().site.resolve()
    if not site.is_file():
        print(f"bench/deploy.py: no site file {site}", file=sys.stderr)
        sys.exit(2)
    if os.geteuid() != 0:
        print("bench/deploy.py: the lab needs root", file=sys.stderr)
        sys.exit(2)
    busy = lab_in_use()
    if busy:
        print(f"bench/deploy.py: {busy}; it belongs to someone else, so it is left alone.\n"
              "Run this benchmark when no lab is up (`hastack lab status`).", file=sys.stderr)
        sys.exit(2)

    from hastack.commands import deploy as deploy_commands
    from hastack.commands import lab as lab_commands
    from hastack.commands.session import Session

    load_start = load_average()
    times: dict[str, float] = {}
    rerun_unchanged = False
    memory: list[Memory] = []
    ours = False
    try:
        ours = True  # nothing was there: what `lab up` leaves, even half, is this run's
        up = timed(lambda: lab_commands.up(Session(site)))
        times["lab up"] = up.seconds
        if getattr(up.error, "code", None) in OTHER_LAB_CODES:
            ours = False  # a lab appeared between the check and `lab up`: not ours to remove
        print(f"lab up: {up.seconds:.1f} s, {why(up)}", file=sys.stderr)
        if up.error:
            sys.exit(f"hastack lab up failed: {why(up)}")
        first = timed(lambda: deploy_commands.deploy(Session(site)))
        times["deploy"] = first.seconds
        print(f"deploy: {first.seconds:.1f} s, {why(first)}", file=sys.stderr)
        if first.error:
            sys.exit(f"hastack deploy failed: {why(first)}")
        second = timed(lambda: deploy_commands.deploy(Session(site)))
        times["re-run"] = second.seconds
        rerun_unchanged = second.error is None and not second.result.changed
        print(f"re-run: {second.seconds:.1f} s, {why(second)}", file=sys.stderr)
        if not rerun_unchanged and second.error is None:
            changed = [f"{e.stage} {e.node or ''}: {e.detail}" for e in second.result.steps
                       if e.outcome == "changed"]
            print("the re-run changed:\n" + "\n".join(changed), file=sys.stderr)
        memory = machine_memory(site)
    finally:
        if ours:
            down = timed(lab_commands.down)
            times["lab down"] = down.seconds
            if down.error:
                print(f"hastack lab down failed: {why(down)}", file=sys.stderr)

    print(f"# deploy, site {site.relative_to(ROOT) if site.is_relative_to(ROOT) else site}")
    print(host_line())
    print(f"load average (1 5 15 min) at start {load_start}, at end {load_average()}")
    print(f"{'lab up':<24}{times['lab up']:>8.1f} s")
    print(f"{'deploy from nothing':<24}{times['deploy']:>8.1f} s   "
          f"(target {TARGET_FIRST:.0f} s, packages cached)")
    print(f"{'deploy re-run':<24}{times['re-run']:>8.1f} s   (target {TARGET_RERUN:.0f} s) "
          f"{'unchanged' if rerun_unchanged else 'CHANGED SOMETHING (see stderr)'}")
    if "lab down" in times:
        print(f"{'lab down':<24}{times['lab down']:>8.1f} s")
    print_memory(memory)
    if not rerun_unchanged:
        sys.exit(1)


if __name__ == "__main__":
    main()
