"""HA drills on the lab: break the running cluster on purpose and time the recovery.

power-loss: while a survivor writes rows through the DB VIP and records each acknowledgement,
the node holding the DB VIP loses power through its BMC. The drill times detection, fencing,
the VIP answering again and the load's error window, checks that every acknowledged row is
still there, and waits for the fenced node to come back and rejoin (full strength).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from hastack.catalog.base import vip_id
from hastack.catalog.galera import VERIFY_DB, VERIFY_PASSWORD
from hastack.errors import HastackError, UsageError
from hastack.lab import control
from hastack.pacemaker import live
from hastack.pacemaker.status import ClusterStatus
from hastack.secrets import Secrets
from hastack.site.load import LoadedSite
from hastack.transport.base import Transport

LOAD_TABLE = f"{VERIFY_DB}.drill"
# The load: one INSERT per iteration through the VIP, each with a 3 s client timeout; every
# line says whether that row was acknowledged and when (wall clock, same host as the drill).
LOAD_SCRIPT = f"""
import os, subprocess, sys, time
vip, seconds, run = sys.argv[1], float(sys.argv[2]), sys.argv[3]
env = dict(os.environ)
base = ["mysql", "-h", vip, "-u", "{VERIFY_DB}", "--connect-timeout=3"]
subprocess.run(base, input="CREATE TABLE IF NOT EXISTS {LOAD_TABLE} "
               "(run VARCHAR(32), id INT, PRIMARY KEY (run, id))", text=True, env=env)
end, i = time.time() + seconds, 0
while time.time() < end:
    i += 1
    try:
        ok = subprocess.run(base, input=f"INSERT INTO {LOAD_TABLE} VALUES ('{{run}}', {{i}})",
                            text=True, env=env, timeout=5, capture_output=True).returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    print(("ack" if ok else "err"), i, time.time(), flush=True)
    time.sleep(0.1)
"""


@dataclass
class DrillReport:
    kind: str
    target: str
    load_seconds: float
    detected: float | None = None
    fenced: float | None = None
    vip_back: float | None = None
    error_window: float = 0.0
    acked: int = 0
    lost: int = 0
    rejoined: float | None = None
    load_average: float = field(default_factory=lambda: os.getloadavg()[0])
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.acked > 0 and self.rejoined is not None \
            and self.vip_back is not None


def _survivor(loaded: LoadedSite, cluster_members: tuple[str, ...], target: str) -> str:
    return next(m for m in cluster_members if m != target)


def _error_window(lines: list[str], t0: float) -> tuple[float, int]:
    """Longest run of failed writes after t0 (seconds), and the number of acks."""
    window, start, acked = 0.0, None, 0
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        outcome, when = parts[0], float(parts[2])
        if outcome == "ack":
            acked += 1
            if start is not None:
                window = max(window, when - start)
                start = None
        elif when >= t0 and start is None:
            start = when
    return window, acked


async def power_loss(loaded: LoadedSite, secrets: Secrets, transports: Mapping[str, Transport],
                     *, node: str | None = None, load_seconds: float = 90,
                     rejoin_timeout: float = 900) -> DrillReport:
    """Raises UsageError when the site is not a lab or the DB is not deployed."""
    cluster = loaded.placement.cluster_of("galera")
    members = cluster.members
    first = transports[members[0]]
    status = await live.crm_mon(first)
    holders = status.running_on(vip_id("db"))
    if not holders:
        raise UsageError("drill-no-db-vip", "vip-db runs nowhere: nothing to drill",
                         fix="deploy first (hastack deploy SITE)")
    target = node or holders[0]
    if target not in members:
        raise UsageError("drill-bad-node", f"{target} is not a member of {cluster.name}",
                         fix=f"members: {', '.join(members)}")
    survivor = transports[_survivor(loaded, members, target)]
    report = DrillReport(kind="power-loss", target=target, load_seconds=load_seconds)
    run_id = f"r{time.time_ns()}"
    load = asyncio.create_task(survivor.run(
        ["python3", "-", str(loaded.placement.vips["db"]), str(load_seconds), run_id],
        stdin=LOAD_SCRIPT.encode(), timeout=load_seconds + 120,
        env={"MYSQL_PWD": secrets.lookup(VERIFY_PASSWORD)}))
    await asyncio.sleep(min(10.0, load_seconds / 4))  # a steady load before the fault
    t0 = time.time()
    await asyncio.to_thread(control.power, loaded, target, "off")
    while time.time() - t0 < load_seconds:
        try:
            now = await live.crm_mon(survivor)
        except HastackError:
            await asyncio.sleep(0.5)
            continue
        state = now.node(target)
        if report.detected is None and (state is None or not state.online or state.unclean):
            report.detected = time.time() - t0
        if report.detected is not None and report.fenced is None and state is not None \
                and not state.unclean and not state.online:
            report.fenced = time.time() - t0
        if report.fenced is not None and now.running_on(vip_id("db")) and \
                target not in now.running_on(vip_id("db")):
            break
        await asyncio.sleep(0.5)
    result = await load
    lines = result.stdout.splitlines()
    report.error_window, report.acked = _error_window(lines, t0)
    first_ack_after = next((float(p[2]) for p in (x.split() for x in lines)
                            if len(p) == 3 and p[0] == "ack" and float(p[2]) > t0), None)
    report.vip_back = first_ack_after - t0 if first_ack_after else None
    acked_ids = {int(p[1]) for p in (x.split() for x in lines) if len(p) == 3 and p[0] == "ack"}
    stored = await survivor.run(["mysql", "-N", "-B", "-e",
                                 f"SELECT id FROM {LOAD_TABLE} WHERE run = '{run_id}'"])
    present = {int(x) for x in stored.stdout.split()}
    report.lost = len(acked_ids - present)
    # Fencing rebooted the node through its BMC: wait for it to rejoin at full strength.
    deadline = time.time() + rejoin_timeout
    while time.time() < deadline:
        try:
            latest: ClusterStatus | None = await live.crm_mon(survivor)
        except HastackError:
            latest = None
        if latest is not None and set(latest.online_members) >= set(members) and \
                set(latest.promoted_on("galera-clone")) == set(members) and \
                set(latest.running_on("rabbitmq-clone")) >= set(members):
            report.rejoined = time.time() - t0
            break
        await asyncio.sleep(2)
    if report.rejoined is None:
        report.notes.append(f"{target} did not rejoin at full strength within "
                            f"{rejoin_timeout:.0f} s")
    return report
