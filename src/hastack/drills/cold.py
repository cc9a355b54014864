"""The drills where everything goes at once: the whole site's power, every Galera member,
every RabbitMQ broker. Each must come back by itself with nothing acknowledged lost.

galera-cold-start     every cluster member powered off through its BMC, then on;
site-power-loss       every controller and compute loses power at once (a datacenter
                      outage), then it returns: all at once, or (--staggered) machine by
                      machine in a random order with random delays;
rabbitmq-cold-start   every RabbitMQ broker killed at once (SIGKILL, no clean stop): the
                      cluster restarts them and the brokers must re-form with their data.
"""

from __future__ import annotations

import asyncio
import random
import time

from hastack.drills.client import PYTHON
from hastack.drills.load import SERVERS
from hastack.drills.run import Drill, DrillReport, Watch, _run, killable, unit_state
from hastack.errors import UsageError
from hastack.lab import control
from hastack.process import Result
from hastack.site.model import Role

OUTAGE_SECONDS = 3.0  # site-power-loss: how long the site stays dark
STAGGER_SECONDS = 10.0  # --staggered: at most this long between two machines' power
NOVA_WATCH_SECONDS = 900.0


def _cold_start_watch(drill: Drill) -> Watch:
    """Detected at once (the fault is total); recovered once Galera is promoted somewhere
    again; done at full strength."""

    async def watch(report: DrillReport, t0: float) -> bool:
        if report.detected is None:
            report.detected = time.time() - t0
        status = await drill.status()
        if status is None or not status.quorate:
            return False
        if report.recovered is None and status.promoted_on("galera-clone"):
            report.recovered = time.time() - t0
        return drill.full_strength(status)
    return watch


async def galera_cold_start(drill: Drill, *, load_seconds: float) -> DrillReport:
    """Every member loses power at once and gets it back: Galera bootstraps from the most
    advanced member, RabbitMQ re-forms from the members' own data; nothing acknowledged lost."""
    report = DrillReport("galera-cold-start", "all members", load_seconds)

    async def fault() -> None:
        for member in drill.members:
            await asyncio.to_thread(control.power, drill.loaded, member, "off")
        for member in drill.members:
            await asyncio.to_thread(control.power, drill.loaded, member, "on")
        report.power_back = time.time() - report.fault_at

    await _run(drill, report, fault, _cold_start_watch(drill))
    if report.recovered is None:
        report.problems.append("Galera was promoted nowhere while the load ran")
    return report


def _nova_services_watch(drill: Drill, since: float) -> asyncio.Task[Result] | None:
    """Polls nova's service list until every service reported itself up after ``since``
    (a service record stays "up" for a minute after its host died: only a fresh report
    counts)."""
    if "nova" not in drill.loaded.placement.vips:
        return None
    try:
        env = drill.api_env()
    except KeyError:
        return None
    return asyncio.create_task(drill.client.run(
        [PYTHON, "-", "services", str(since), str(NOVA_WATCH_SECONDS)], stdin=SERVERS.encode(),
        env=env, timeout=NOVA_WATCH_SECONDS + 60))


async def _nova_back(report: DrillReport, watcher: asyncio.Task[Result], after: str) -> None:
    """``report.nova_back`` from the watch's polls, or a problem saying how many reported."""
    watched = await watcher
    polls = [p for p in (line.split() for line in watched.stdout.splitlines()) if len(p) == 3]
    fresh = next((float(p[0]) for p in polls if p[1] == p[2]), None)
    if fresh is None:
        seen = f"{polls[-1][1]} of {polls[-1][2]}" if polls else \
            f"no answer: {watched.stderr.strip()[-300:]}"
        report.problems.append(f"nova's services did not all report up after {after} ({seen})")
    else:
        report.nova_back = fresh - report.fault_at


async def site_power_loss(drill: Drill, *, load_seconds: float,
                          staggered: bool = False) -> DrillReport:
    machines = [n.name for n in drill.loaded.site.nodes if n.role is not Role.GATEWAY]
    how = "back in a random order" if staggered else "back all at once"
    report = DrillReport("site-power-loss", f"every machine, {how}", load_seconds)
    nova_watch: list[asyncio.Task[Result]] = []

    async def power_on(machine: str) -> None:
        await asyncio.to_thread(control.power, drill.loaded, machine, "on")

    async def fault() -> None:
        await asyncio.gather(*(asyncio.to_thread(control.cut_power, drill.loaded, m)
                               for m in machines))
        await asyncio.sleep(OUTAGE_SECONDS)
        if staggered:
            order = random.sample(machines, len(machines))
            delays = [round(random.uniform(0, STAGGER_SECONDS), 1) for _ in order]
            for machine, delay in zip(order, delays, strict=True):
                await asyncio.sleep(delay)
                await power_on(machine)
            report.notes.append("power returned in this order: " + ", ".join(
                f"{m} after {d:.1f} s" for m, d in zip(order, delays, strict=True)))
        else:
            await asyncio.gather(*(power_on(m) for m in machines))
        report.power_back = time.time() - report.fault_at
        watcher = _nova_services_watch(drill, time.time())
        if watcher is not None:
            nova_watch.append(watcher)

    async def after() -> None:  # whatever failed, no machine is left without power
        await asyncio.gather(*(power_on(m) for m in machines))  # a BMC ignores "on" when on

    try:
        await _run(drill, report, fault, _cold_start_watch(drill), after=after)
        if nova_watch:
            await _nova_back(report, nova_watch[0], "the power returned")
    finally:
        for task in nova_watch:
            task.cancel()
    if report.recovered is None:
        report.problems.append("Galera was promoted nowhere while the load ran")
    return report


async def rabbitmq_cold_start(drill: Drill, *, load_seconds: float) -> DrillReport:
    """Every broker SIGKILLed at once; the cluster (or systemd) starts them again and they
    must re-form one cluster keeping every confirmed message, and every nova service must
    report again through them (``nova_back``)."""
    broker = killable(drill).get("rabbitmq")
    if broker is None or broker.unit is None:
        raise UsageError("drill-no-rabbitmq", "this cluster runs no RabbitMQ unit to stop",
                         fix="rabbitmq-cold-start needs the rabbitmq service deployed")
    report = DrillReport("rabbitmq-cold-start", "every broker", load_seconds)
    unit = broker.unit
    killed: dict[str, str] = {}  # member -> the broker's MainPID that was killed there
    nova_watch: list[asyncio.Task[Result]] = []

    async def main_pids(members: list[str]) -> dict[str, str]:
        states = await asyncio.gather(*(unit_state(drill.transports[m], unit)
                                        for m in members))
        return {m: pid for m, (pid, _) in zip(members, states, strict=True)}

    async def fault() -> None:
        found = await main_pids(list(drill.members))
        killed.update({m: pid for m, pid in found.items() if pid not in ("", "0")})
        # systemd's unit MainPID is the broker's wrapper; its control group holds the VM:
        # `systemctl kill` signals every process of it at once, as a crash would.
        await asyncio.gather(*(drill.transports[m].run(
            ["systemctl", "kill", "--signal=KILL", unit]) for m in killed))
        # nova's computes report through the bus: a report after this moment means they
        # reconnected to the re-formed brokers and can be given instances again.
        watcher = _nova_services_watch(drill, time.time())
        if watcher is not None:
            nova_watch.append(watcher)

    async def watch(report: DrillReport, t0: float) -> bool:
        status = await drill.status()
        if status is None:
            return False
        running = status.running_on(broker.resource)
        # Detected once the cluster sees it (a failed monitor, a broker not running): until
        # then it still looks whole, and full strength is only judged after detection.
        failed = any(f.resource in (broker.name, broker.resource)
                     for f in status.failures_since(t0))
        if report.detected is None and (set(drill.members) - set(running) or failed):
            report.detected = time.time() - t0
        if report.recovered is None and set(drill.members) <= set(running):
            now = await main_pids(list(killed))
            if all(now[m] not in ("", "0", killed[m]) for m in killed):
                report.recovered = time.time() - t0
        return report.recovered is not None

    try:
        await _run(drill, report, fault, watch)
        if nova_watch:
            await _nova_back(report, nova_watch[0], "the brokers were killed")
    finally:
        for task in nova_watch:
            task.cancel()
    if not killed:
        report.problems.append("no broker was running to kill")
    if report.recovered is None:
        report.problems.append("the brokers did not all run again while the load ran")
    return report

