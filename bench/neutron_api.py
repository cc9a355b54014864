"""Benchmark: where a neutron API write spends its seconds in the lab (issue 17 item 3; prints
figures, asserts no timing).

Usage (root, the site's lab up and deployed):
    .venv/bin/python bench/neutron_api.py [SITE] [--rounds N] [--no-settle]
                                            (default examples/lab.yaml, 1 round)

Each round creates a network and a subnet, a router, adds the subnet to it, removes it, and
deletes the router and the network, through openstacksdk on the first controller with the
admin openrc hastack rendered (through the VIP, as verify does). Between the network and the
router the round waits until the network is wired (a DHCP port ACTIVE for every DHCP agent
hosting it) and prints how long that took: the router's figures are then its own, not the
network's wiring running beside them. `--no-settle` times the router right after the
network instead, as a script would that does not wait. Beside each call's wall time:
the neutron-api worker that served it (the one that ran most meanwhile; each controller has
one), its seconds on a CPU and its seconds runnable but waiting for one (the kernel's
schedstat), and the host's load average. What is left of the wall time is the worker
waiting on something else (the database, RabbitMQ) or the client. Every lab process is
visible from the host, so the figures are read there, between calls, not inside the request.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SITE = ROOT / "examples" / "lab.yaml"
HASTACK = str(Path(sys.executable).with_name("hastack"))
TARGET_ROUTER_CREATE = 3.0  # issue 17's target, printed beside the figure (never asserted)
WORKERS = "neutron-api.ini"  # every controller's neutron-api uwsgi process has it in argv
STATE = "/tmp/hastack-bench-neutron.json"  # on the controller: the ids between calls

# One call per run, its ids kept between runs in STATE on the controller.
CALL = """
import json, sys, time, openstack
conn, op, path = openstack.connect(), sys.argv[1], sys.argv[2]
ids = {} if op == "network" else json.load(open(path))
net = conn.network
save = lambda: json.dump(ids, open(path, "w"))  # after each create: cleanup finds it
started = time.monotonic()
if op == "network":
    ids["network"] = net.create_network(name="hastack-bench").id
    save()
    ids["subnet"] = net.create_subnet(network_id=ids["network"], ip_version=4,
                                      name="hastack-bench", cidr="10.254.0.0/24").id
elif op == "settle":  # the network wired: one ACTIVE DHCP port per hosting DHCP agent
    while True:
        agents = list(net.network_hosting_dhcp_agents(ids["network"]))
        ports = list(net.ports(network_id=ids["network"], device_owner="network:dhcp"))
        if agents and len(ports) == len(agents) and all(p.status == "ACTIVE" for p in ports):
            break
        if time.monotonic() - started > 300:
            sys.exit(f"the network was not wired in 300 s: {len(agents)} DHCP agents host it, "
                     f"DHCP ports: {[p.status for p in ports]}")
        time.sleep(0.5)
elif op == "router-create":
    ids["router"] = net.create_router(name="hastack-bench").id
elif op == "cleanup":  # after a failed call: whatever of this run is left, best effort
    for undo in (lambda: net.remove_interface_from_router(ids["router"],
                                                          subnet_id=ids["subnet"]),
                 lambda: net.delete_router(ids["router"]),
                 lambda: net.delete_network(ids["network"])):
        try:
            undo()
        except Exception:
            pass
    ids = {}
elif op == "interface-add":
    net.add_interface_to_router(ids["router"], subnet_id=ids["subnet"])
elif op == "interface-remove":
    net.remove_interface_from_router(ids["router"], subnet_id=ids["subnet"])
elif op == "router-delete":
    net.delete_router(ids["router"])
elif op == "network-delete":
    net.delete_network(ids["network"])
print(time.monotonic() - started)
save()
"""
CALLS = ("network", "router-create", "interface-add", "interface-remove", "router-delete",
         "network-delete")


@dataclass(frozen=True)
class Figure:
    call: str
    seconds: float  # the call itself, measured inside the client
    worker_cpu: float
    worker_runqueue: float
    load: float


def _schedstat(pids: list[str]) -> dict[str, tuple[float, float]]:
    """Per process: seconds on a CPU and seconds runnable waiting for one, over its threads."""
    out: dict[str, tuple[float, float]] = {}
    for pid in pids:
        on = waiting = 0
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                    fields = stat.read().split()
                on, waiting = on + int(fields[0]), waiting + int(fields[1])
        except OSError:
            continue  # gone: a worker restarted meanwhile
        out[pid] = (on / 1e9, waiting / 1e9)
    return out


def _workers() -> list[str]:
    found = subprocess.run(["pgrep", "-f", WORKERS], capture_output=True, text=True,
                           check=False)
    return found.stdout.split()


def _run_call(site: Path, controller: str, op: str) -> subprocess.CompletedProcess[str]:
    script = f". /root/openrc && python3 -c {shlex.quote(CALL)} {op} {STATE}"
    return subprocess.run([HASTACK, "lab", "exec", "--site", str(site), controller, "--",
                           "bash", "-c", script], capture_output=True, text=True,
                          timeout=600, check=False)


def _call(site: Path, controller: str, op: str) -> float:
    done = _run_call(site, controller, op)
    if done.returncode != 0:
        cleaned = _run_call(site, controller, "cleanup").returncode == 0
        sys.exit(f"{op} failed on {controller}; what this run had created was "
                 f"{'deleted' if cleaned else f'left (its ids: {STATE} there)'}:\n"
                 f"{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(site: Path, controller: str, op: str) -> Figure:
    workers = _workers()
    before = _schedstat(workers)
    seconds = _call(site, controller, op)
    after = _schedstat(workers)
    moved = {pid: (after[pid][0] - before[pid][0], after[pid][1] - before[pid][1])
             for pid in after if pid in before}
    cpu, runqueue = max(moved.values(), default=(0.0, 0.0))
    return Figure(op, seconds, cpu, runqueue, os.getloadavg()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-settle", action="store_true",
                        help="create the router right after the network, not once it is wired")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from hastack import catalog
    from hastack.site.model import Role

    loaded = catalog.load(args.site)
    controller = next(n.name for n in loaded.site.nodes if n.role is Role.CONTROLLER)
    print(f"neutron API writes through the VIP, from {controller} ({args.site.name}); "
          f"worker = the busiest neutron-api worker during the call")
    print(f"{'call':<18}{'seconds':>9}{'worker cpu':>12}{'runqueue':>10}{'load':>7}")
    creates = []
    for _ in range(args.rounds):
        for op in CALLS:
            if op == "router-create" and not args.no_settle:
                print(f"{'(network wired)':<18}{_call(args.site, controller, 'settle'):>9.2f}"
                      f"{'':>29}{os.getloadavg()[0]:>7.2f}", flush=True)
            figure = measure(args.site, controller, op)
            if op == "router-create":
                creates.append(figure.seconds)
            print(f"{figure.call:<18}{figure.seconds:>9.2f}{figure.worker_cpu:>12.2f}"
                  f"{figure.worker_runqueue:>10.2f}{figure.load:>7.2f}", flush=True)
    creates.sort()
    when = "right after the network" if args.no_settle else "once the network is wired"
    print(f"router create ({when}): median {creates[len(creates) // 2]:.2f} s over "
          f"{len(creates)} (target <= {TARGET_ROUTER_CREATE:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
