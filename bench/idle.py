"""Benchmark: what the deployed, idle lab costs in CPU, by process group.

Usage (root, a lab up with its site deployed, nothing else running):
    .venv/bin/python bench/idle.py [SECONDS]        (default 60)

Samples every process of the lab's machines at the start and the end of the window and
prints the cores each group used: corosync, pacemaker's daemons, the agents pacemaker-execd
runs (monitors: counted through execd's reaped children), Galera, RabbitMQ, each systemd
unit (the OpenStack services, HAProxy, memcached, ...), and the machines' own systemd.
Target (issue 13): the idle whole plane of examples/lab.yaml at or below 0.4 core.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

TARGET_CORES = 0.4
TICK = os.sysconf("SC_CLK_TCK")
STATE = Path("/var/lib/hastack/lab/machines")
# Long-lived daemons an OCF agent starts under pacemaker.service, named by their group.
AGENT_DAEMONS = {"mariadbd": "galera", "mysqld": "galera", "mysqld_safe": "galera",
                 "beam.smp": "rabbitmq", "epmd": "rabbitmq", "erl_child_setup": "rabbitmq",
                 "inet_gethost": "rabbitmq"}
PACEMAKER = ("pacemakerd", "pacemaker-based", "pacemaker-fenced", "pacemaker-execd",
             "pacemaker-attrd", "pacemaker-schedulerd", "pacemaker-controld",
             "pacemaker-remoted")


@dataclass(frozen=True)
class Sample:
    machine: str
    group: str
    own: int  # clock ticks the process ran itself
    children: int  # ticks of its children that exited and were reaped


def machines() -> dict[str, str]:
    """PID namespace link -> machine name, for every running lab machine."""
    out = {}
    for pid_file in STATE.glob("*/init.pid"):
        try:
            out[os.readlink(f"/proc/{int(pid_file.read_text())}/ns/pid")] = pid_file.parent.name
        except (OSError, ValueError):
            continue
    return out


def init_pids() -> set[int]:
    """The machines' PID 1 (systemd), as the host numbers them."""
    out = set()
    for pid_file in STATE.glob("*/init.pid"):
        try:
            out.add(int(pid_file.read_text()))
        except (OSError, ValueError):
            continue
    return out


def group_of(comm: str, cgroup: str) -> str:
    if comm == "corosync":
        return "corosync"
    if comm in PACEMAKER:
        return "pacemaker daemons"
    if comm in AGENT_DAEMONS:
        return AGENT_DAEMONS[comm]
    unit = cgroup.rsplit("/", 1)[-1]
    if unit == "init.scope":
        return "systemd (PID 1)"
    if unit == "pacemaker.service":
        return "agent processes (live)"
    # Socket-activated instances (unit@N.service) are one group: each is one connection.
    return unit.removesuffix(".service").split("@", 1)[0] or "other"


def snapshot() -> dict[tuple[int, str], Sample]:
    """Every lab process, keyed by (pid, start time) so a reused pid is not mistaken."""
    names = machines()
    inits = init_pids()
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            machine = names.get(os.readlink(entry / "ns" / "pid"))
            if machine is None:
                continue
            stat = (entry / "stat").read_text()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            cgroup = next((line.split(":", 2)[2] for line in
                           (entry / "cgroup").read_text().splitlines()
                           if line.startswith("0::")), "")
        except (OSError, ValueError):
            continue  # exited meanwhile
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        out[(int(entry.name), fields[19])] = Sample(machine, group_of(comm, cgroup),
                                                    utime + stime, cutime + cstime)
        # Short-lived processes are counted through whoever reaped them: the agents
        # pacemaker runs (monitors), and what systemd starts per connection (HAProxy's
        # Galera check) or adopts.
        reaper = {"pacemaker-execd": "agents run by pacemaker (monitors)",
                  "pacemaker-remoted": "agents run by pacemaker (monitors)",
                  "systemd": "short-lived units reaped by systemd (galera-check, ...)"}
        if comm in reaper and (comm != "systemd" or int(entry.name) in inits):
            out[(-int(entry.name), fields[19])] = Sample(machine, reaper[comm], 0,
                                                         cutime + cstime)
    return out


def host_busy() -> float:
    """Busy jiffies of the whole host (every CPU), from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # minus idle and iowait


def measure(seconds: float) -> tuple[dict[tuple[str, str], float], float, float]:
    before, busy0, t0 = snapshot(), host_busy(), time.monotonic()
    time.sleep(seconds)
    after, busy1, elapsed = snapshot(), host_busy(), time.monotonic() - t0
    used: dict[tuple[str, str], float] = defaultdict(float)
    for key, end in after.items():
        start = before.get(key)
        ticks = end.own + (end.children if key[0] < 0 else 0)
        if start is not None:
            ticks -= start.own + (start.children if key[0] < 0 else 0)
        used[(end.machine, end.group)] += ticks / TICK / elapsed
    return used, (busy1 - busy0) / TICK / elapsed, elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    if not machines():
        sys.exit("no lab machine is running: `make lab` first")
    load0 = os.getloadavg()
    used, host, elapsed = measure(seconds)
    by_group: dict[str, float] = defaultdict(float)
    by_machine: dict[str, float] = defaultdict(float)
    for (machine, group), cores in used.items():
        by_group[group] += cores
        by_machine[machine] += cores
    total = sum(used.values())
    print(f"idle lab over {elapsed:.0f} s; host load average before "
          f"{' '.join(f'{x:.2f}' for x in load0)}, after "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; nproc {os.cpu_count()}")
    print(f"\n{'group':<44}{'cores':>8}")
    for group, cores in sorted(by_group.items(), key=lambda kv: -kv[1]):
        if cores >= 0.002:
            print(f"{group:<44}{cores:>8.3f}")
    print(f"\n{'machine':<44}{'cores':>8}")
    for machine, cores in sorted(by_machine.items()):
        print(f"{machine:<44}{cores:>8.3f}")
    print(f"\nlab machines in all: {total:.2f} cores (target <= {TARGET_CORES}); "
          f"the whole host: {host:.2f} cores")


if __name__ == "__main__":
    main()
