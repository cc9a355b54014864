"""The drills: one fault each, under a steady DB and message-bus load, then the recovery.

power-loss         the node (default: the DB VIP's holder) loses power through its BMC;
partition          the node is cut off from the others at the switch: the minority loses
                   quorum and must stop its resources, the majority fences it (no split brain);
service-kill       SIGKILL of a service's main process on the node (any service Pacemaker or,
                   with cluster.manages: core, systemd runs on the controllers): its monitor
                   (or systemd) sees it and recovers it in place, nobody is fenced and nothing
                   else restarts;
rabbitmq-member-loss  power loss of a member that does not hold the DB VIP: the bus loses a
                   broker and no confirmed message;
memcached-loss     one memcached member frozen for 30 s: how slow the APIs get meanwhile;
galera-cold-start, site-power-loss(-staggered), rabbitmq-cold-start: everything at once
                   (drills/cold.py).
compute-loss       a compute node running instances loses power: it is fenced and nova runs
                   every instance on another compute (instance HA); it returns to service.
soak               the load and no fault: no fencing, no failed action, no error.

Each drill reports a recovery timeline (drills/timeline.py) and: time to detect, to fence,
until the DB VIP, the bus and each OpenStack API (keystone tokens, nova and neutron lists,
when deployed) answer again, the error window and slowest call each load saw, acknowledged
vs lost, and when the cluster was at full strength.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from hastack.catalog import neutron_server, nova, tls
from hastack.catalog import openstack as os_
from hastack.catalog.cib_model import Clone, Primitive, pdu_stonith_id, stonith_id, vip_id
from hastack.catalog.contract import HostUnit
from hastack.catalog.galera import VERIFY_DB, VERIFY_PASSWORD
from hastack.catalog.openstack import rabbit_port
from hastack.catalog.rabbitmq import probe_client_env
from hastack.drills.client import PYTHON, SwitchClient
from hastack.drills.load import (
    API_LOAD,
    BUS_DRAIN,
    BUS_LOAD,
    BUS_QUEUE,
    DB_LOAD,
    DB_SETUP,
    DB_TABLE,
    SERVERS,
    ApiTarget,
    LoadRecord,
    attempts,
)
from hastack.drills.timeline import (
    SYSTEMD_STARTED,
    Step,
    galera_steps,
    journal_steps,
    merged,
    rabbitmq_steps,
)
from hastack.errors import HastackError, UsageError
from hastack.lab import control
from hastack.pacemaker import live
from hastack.pacemaker.status import ClusterStatus
from hastack.process import Result
from hastack.render.site import SiteRendering
from hastack.secrets import Secrets
from hastack.site.load import LoadedSite
from hastack.site.model import Role
from hastack.transport.base import Transport
from hastack.unit_states import unit_states

KINDS = ("power-loss", "partition", "service-kill", "rabbitmq-member-loss", "memcached-loss",
         "galera-cold-start", "site-power-loss", "site-power-loss-staggered",
         "rabbitmq-cold-start", "compute-loss", "fence-failure", "fence-failure-no-pdu", "soak",
         "maintenance", "scale-computes", "scale-controllers", "move-service")
MEMCACHED_GONE = 30.0  # memcached-loss: how long the member stays frozen
INSTANCES = 2  # compute-loss: instances booted on the compute that fails
EVACUATE_TIMEOUT = 600
WARMUP = 8.0  # seconds of steady load before the fault, so the record has a baseline
# Once recovered, back at full strength and every loaded API answers: this much more load,
# so the record ends on a steady stretch; then the loads stop (not at their full length).
STEADY = 6.0
POLL = 0.5
# service-kill of a daemon an OCF agent starts: its main process (systemd-class resources:
# the unit's MainPID).
OCF_PROCESSES = {"galera": "mariadbd"}


@dataclass
class ApiFigures:
    """One API's record through its VIP."""

    back: float | None = None  # from the fault to the end of its first failing stretch
    window: float = 0.0
    answered: int = 0
    failed: int = 0
    answering_at_end: bool = False
    slowest: float = 0.0  # the longest one call took after the fault


@dataclass
class DrillReport:
    kind: str
    target: str
    load_seconds: float
    detected: float | None = None
    fenced: float | None = None
    recovered: float | None = None  # service-kill: the resource running again in place
    minority_stopped: float | None = None  # partition: the cut-off node holds no VIP
    db_back: float | None = None
    bus_back: float | None = None
    db_window: float = 0.0
    bus_window: float = 0.0
    db_acked: int = 0
    db_lost: int = 0
    bus_acked: int = 0
    bus_lost: int = 0
    rejoined: float | None = None
    instances: int = 0  # compute-loss: booted on the failing compute
    instances_moved: int = 0  # ... and ACTIVE on another compute afterwards
    evacuated: float | None = None  # ... all of them, after the fault
    power_back: float | None = None  # cold starts: the last machine powered on again
    nova_back: float | None = None  # cold starts: every nova service reported up again
    added: float | None = None  # scale-computes: deployed, and nova reports them up
    removed: float | None = None  # ... then taken out again: deployed without them
    moved: float | None = None  # move-service: deployed on the new cluster, stopped on the old
    moved_back: float | None = None  # ... and back again
    fault_at: float = 0.0  # unix time of the fault: every figure counts from it
    apis: dict[str, ApiFigures] = field(default_factory=dict)
    bus_keeps_messages: bool = True  # False: losing them is expected (reported, not failed)
    load_average: float = field(default_factory=lambda: os.getloadavg()[0])
    # Every step from the fault to full strength (seconds after the fault), from the nodes'
    # journals and the loads' records; nodes whose journal could not be read are noted.
    timeline: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bus_kept = self.bus_lost == 0 or not self.bus_keeps_messages
        return (not self.problems and self.db_lost == 0 and bus_kept and self.db_acked > 0
                and self.bus_acked > 0 and self.bus_back is not None
                and self.rejoined is not None
                and all(api.answering_at_end for api in self.apis.values()))


@dataclass
class Drill:
    loaded: LoadedSite
    rendering: SiteRendering
    secrets: Secrets
    transports: Mapping[str, Transport]
    members: tuple[str, ...]
    cluster: str
    client: SwitchClient = field(default_factory=SwitchClient)
    # Told each phase as the drill moves on (the CLI shows it): a drill runs for minutes.
    phase: Callable[[str], None] = lambda what: None

    @property
    def db_vip(self) -> str:
        return str(self.loaded.placement.vips["db"])

    @property
    def bus_hosts(self) -> list[str]:
        by_name = {n.name: n for n in self.loaded.site.nodes}
        return [f"{by_name[m].address}:{rabbit_port(self.loaded.site)}" for m in self.members]

    def db_env(self) -> dict[str, str]:
        return {"MYSQL_PWD": self.secrets.lookup(VERIFY_PASSWORD)}

    def bus_env(self) -> dict[str, str]:
        return probe_client_env(self.loaded.site, self.secrets.lookup)

    def api_targets(self) -> list[ApiTarget]:
        """keystone, nova and neutron through their VIPs, those the site runs."""
        site, vips = self.loaded.site, self.loaded.placement.vips
        wanted = [("keystone", os_.KEYSTONE_PORT, "/v3", 1.0),
                  ("nova", nova.API_PORT, "/v2.1/servers", 0.5),
                  ("neutron", neutron_server.PORT, "/v2.0/networks", 0.5)]
        return [ApiTarget(name, f"{tls.scheme(site)}://{vips[name]}:{port}{path}", pace)
                for name, port, path, pace in wanted if name in vips]

    def api_env(self) -> dict[str, str]:
        site = self.loaded.site
        return {"OS_AUTH_URL": f"{tls.scheme(site)}://{self.loaded.placement.vips['keystone']}:"
                               f"{os_.KEYSTONE_PORT}/v3",
                "OS_USERNAME": os_.ADMIN_USER, "OS_PROJECT_NAME": os_.ADMIN_PROJECT,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_PASSWORD": self.secrets.lookup(os_.admin_password()),
                **({"OS_CACERT_PEM": self.secrets.lookup(tls.ca_certificate())}
                   if tls.enabled(site) else {})}

    async def status(self, prefer: Sequence[str] = ()) -> ClusterStatus | None:
        """The cluster as the first answering member sees it (``prefer`` first)."""
        for name in [*prefer, *(m for m in self.members if m not in prefer)]:
            try:
                return await live.crm_mon(self.transports[name])
            except HastackError:
                continue
        return None

    @property
    def host_units(self) -> tuple[HostUnit, ...]:
        return self.rendering.cluster(self.cluster).host_units

    async def units_down(self) -> list[str]:
        """'unit on node' for every service systemd runs itself (``cluster.manages: core``)
        that deploy enabled on a member and that is not active there."""
        down = []
        for member in self.members:
            try:
                states = await unit_states(self.transports[member],
                                           [u.unit for u in self.host_units])
            except HastackError:
                return [f"every unit on {member}"]
            down += [f"{unit} on {member}" for unit, state in states.items()
                     if state.enabled and not state.active]
        return down

    def full_strength(self, status: ClusterStatus) -> bool:
        """Every member online; every clone the cluster runs on every member (promotable ones
        promoted); every single-instance resource on exactly one node."""
        if set(status.online_members) < set(self.members) or status.failed or \
                any(n.unclean for n in status.nodes):
            return False
        for rsc in self.rendering.cluster(self.cluster).model.resources:
            if not status.instances(rsc.id):
                continue  # not configured in the live cluster (a core-only deploy)
            if isinstance(rsc, Clone):
                where = status.promoted_on(rsc.id) if rsc.promotable else \
                    status.running_on(rsc.id)
                if set(where) < set(self.members):
                    return False
            elif isinstance(rsc, Primitive) and rsc.runs_on == "controller" and \
                    len(status.running_on(rsc.id)) != 1:
                return False
        return True


def prepare(loaded: LoadedSite, rendering: SiteRendering, secrets: Secrets,
            transports: Mapping[str, Transport]) -> Drill:
    cluster = loaded.placement.cluster_of("galera")
    return Drill(loaded, rendering, secrets, transports, cluster.members, cluster.name)


async def _db_vip_holder(drill: Drill) -> str:
    status = await drill.status()
    holders = status.running_on(vip_id("db")) if status else ()
    if not holders:
        raise UsageError("drill-no-db-vip", "vip-db runs nowhere: nothing to drill",
                         fix="deploy first (hastack deploy SITE), then check `hastack status`")
    return holders[0]


Loads = dict[str, asyncio.Task[str]]  # "db", "bus", then "api:NAME"


async def _answering_apis(drill: Drill, report: DrillReport) -> list[ApiTarget]:
    """The APIs that answer before the fault (one attempt each); the others are noted, not
    loaded: a site deployed with --scope core has no API to load."""
    targets = drill.api_targets()
    if not targets:
        return []
    try:
        env = drill.api_env()
    except KeyError:  # a site deployed with --scope core has no admin password yet
        report.notes.append("no admin password stored yet: the APIs were not loaded")
        return []
    answering = []
    for target, answers in zip(targets, await _answer_once(drill, targets, env), strict=True):
        if answers:
            answering.append(target)
        else:
            report.notes.append(f"{target.name} did not answer through its VIP before the "
                                "fault: not loaded (is the control plane deployed?)")
    return answering


async def _start_loads(drill: Drill, report: DrillReport, run_id: str) -> Loads:
    seconds = report.load_seconds
    setup = await drill.client.run(["mysql", "-h", drill.db_vip, "-u", VERIFY_DB,
                                    "--connect-timeout=5", "-e", DB_SETUP], env=drill.db_env())
    setup.check()
    apis = await _answering_apis(drill, report)

    async def out(argv: list[str], script: str, env: dict[str, str]) -> str:
        done = await drill.client.run(argv, stdin=script.encode(),
                                      env={**env, "DRILL_STOP": _stop_file(run_id)},
                                      timeout=seconds + 120)
        return done.stdout

    loads = {
        "db": asyncio.create_task(out([PYTHON, "-", drill.db_vip, str(seconds), run_id],
                                      DB_LOAD, drill.db_env())),
        "bus": asyncio.create_task(out([PYTHON, "-", str(seconds), run_id, *drill.bus_hosts],
                                       BUS_LOAD, drill.bus_env()))}
    for api in apis:
        loads[f"api:{api.name}"] = asyncio.create_task(out(
            [PYTHON, "-", api.name, api.url, str(seconds), str(api.pace)], API_LOAD,
            drill.api_env()))
    return loads


def _back_after(record: LoadRecord) -> float | None:
    """From the fault to the end of the first failing stretch after it (0: never failed)."""
    first_err = next((a.at for a in record.attempts if not a.ok and a.at >= record.t0), None)
    if first_err is None:
        return 0.0
    return record.back_after(first_err)


async def _count_losses(drill: Drill, report: DrillReport, run_id: str, db: LoadRecord,
                        bus: LoadRecord) -> None:
    report.db_window, report.db_acked = db.error_window, len(db.acked)
    report.bus_window, report.bus_acked = bus.error_window, len(bus.acked)
    report.db_back, report.bus_back = _back_after(db), _back_after(bus)
    stored = await drill.client.run(
        ["mysql", "-h", drill.db_vip, "-u", VERIFY_DB, "--connect-timeout=10", "-N", "-B",
         "-e", f"SELECT id FROM {DB_TABLE} WHERE run = '{run_id}'"], env=drill.db_env())
    if not stored.ok:
        report.problems.append(f"could not read the rows back through the DB VIP: "
                               f"{stored.stderr.strip()[-300:]}")
    report.db_lost = len(db.acked - {int(x) for x in stored.stdout.split()})
    drained = await drill.client.run([PYTHON, "-", run_id, *drill.bus_hosts],
                                     stdin=BUS_DRAIN.encode(), env=drill.bus_env(), timeout=300)
    missing = sorted(bus.acked - {int(x) for x in drained.stdout.split()})
    report.bus_lost = len(missing)
    if missing:  # which ones, against the fault's time, to find where they went
        when = {a.id: a.at - report.fault_at for a in bus.attempts}
        report.problems.append("confirmed messages lost: " + ", ".join(
            f"#{i} (confirmed at {when[i]:+.1f} s)" for i in missing[:10]))


async def _wait_full_strength(drill: Drill, report: DrillReport, t0: float,
                              timeout: float) -> None:
    """Runs beside the watch and the loads: once the fault has been seen (before that the
    cluster still looks whole), the first moment everything is back."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = await drill.status() if report.detected is not None else None
        if status is not None and drill.full_strength(status) and not await drill.units_down():
            report.rejoined = time.time() - t0
            return
        await asyncio.sleep(1)
    report.problems.append(f"the cluster was not back at full strength (every member online, "
                           f"every clone everywhere, every VIP once) within {timeout:.0f} s")


Watch = Callable[[DrillReport, float], Awaitable[bool]]


async def _run(drill: Drill, report: DrillReport, fault: Callable[[], Awaitable[None]],
               watch: Watch, *, after: Callable[[], Awaitable[None]] | None = None,
               rejoin_timeout: float = 900) -> DrillReport:
    """Loads on, warm-up, the fault, watch until recovered (or the load ends), loads read
    against the fault's time, then wait for full strength."""
    run_id = f"r{time.time_ns()}"
    drill.phase("starting the loads")
    loads = await _start_loads(drill, report, run_id)
    try:
        return await _fault_and_recovery(drill, report, run_id, loads, fault, watch, after,
                                         rejoin_timeout)
    finally:
        for task in loads.values():
            task.cancel()  # no-op once done; stops the loads when the fault itself failed
        await drill.client.run(["rm", "-f", _stop_file(run_id)])


async def _fault_and_recovery(drill: Drill, report: DrillReport, run_id: str, loads: Loads,
                              fault: Callable[[], Awaitable[None]], watch: Watch,
                              after: Callable[[], Awaitable[None]] | None,
                              rejoin_timeout: float) -> DrillReport:
    drill.phase(f"warm-up: {WARMUP:.0f} s of load before the fault")
    await asyncio.sleep(WARMUP)
    t0 = report.fault_at = time.time()
    strength: asyncio.Task[None] | None = None
    try:
        drill.phase(f"fault: {report.kind} of {report.target}")
        await fault()
        drill.phase("watching the recovery")
        strength = asyncio.create_task(_wait_full_strength(drill, report, t0, rejoin_timeout))
        seen = False
        while time.time() - t0 < report.load_seconds - WARMUP:
            if seen := await watch(report, t0):
                break
            await asyncio.sleep(POLL)
        if seen and await _until_steady(drill, report, t0, strength,
                                        [n for n in loads if ":" in n]):
            (await drill.client.run(["touch", _stop_file(run_id)])).check()
    finally:
        if after is not None:
            await after()
    drill.phase("the loads ending")
    records = {name: LoadRecord(tuple(attempts((await task).splitlines())), t0)
               for name, task in loads.items()}
    if strength is not None:
        drill.phase("waiting for full strength")
        await strength
    drill.phase("counting what the loads had acknowledged; the timeline from the journals")
    load_steps = [s for name, record in records.items() for s in _load_steps(name, record)]
    await _count_losses(drill, report, run_id, records.pop("db"), records.pop("bus"))
    for name, record in records.items():
        api = report.apis[name.removeprefix("api:")] = _api_figures(record)
        if not api.answering_at_end:
            report.problems.append(f"the {name.removeprefix('api:')} API was not answering "
                                   "through its VIP when the load ended")
    await _timeline(drill, report, load_steps)
    return report


async def _answer_once(drill: Drill, targets: list[ApiTarget], env: dict[str, str]
                       ) -> list[bool]:
    """One attempt of the API load per target: did it answer through its VIP?"""
    tries = await asyncio.gather(*(drill.client.run(
        [PYTHON, "-", t.name, t.url, "0.01", "0"], stdin=API_LOAD.encode(), env=env,
        timeout=60) for t in targets))
    return [any(a.ok for a in attempts(t.stdout.splitlines())) for t in tries]


def _stop_file(run_id: str) -> str:
    """On the client: the loads of run ``run_id`` end at their next attempt once it exists."""
    return f"/run/hastack-drill-{run_id}.stop"


async def _until_steady(drill: Drill, report: DrillReport, t0: float,
                        strength: asyncio.Task[None], loaded: list[str]) -> bool:
    """Recovered: until the cluster is back at full strength and every loaded API answers
    through its VIP, then STEADY s more (True), or until the loads' full length is up."""
    deadline = t0 + report.load_seconds - WARMUP
    drill.phase("recovered: until full strength and every loaded API answers, then "
                f"{STEADY:.0f} s of steady load")
    names = {name.removeprefix("api:") for name in loaded}
    targets = [t for t in drill.api_targets() if t.name in names]
    env = drill.api_env() if targets else {}
    while time.time() < deadline:
        if strength.done() and all(await _answer_once(drill, targets, env)):
            await asyncio.sleep(max(0.0, min(STEADY, deadline - time.time())))
            report.notes.append(f"the loads ended {time.time() - t0:.0f} s after the "
                                f"fault, {STEADY:.0f} s after everything was back")
            return True
        await asyncio.sleep(POLL if not strength.done() else 2)
    return False


def _load_steps(name: str, record: LoadRecord) -> list[Step]:
    """Each stretch of failures the load saw after the fault: its first failure and the
    first success after it."""
    label = {"db": "DB writes through the VIP", "bus": "confirmed publishes"}.get(
        name, f"{name.removeprefix('api:')} API through its VIP")
    out: list[Step] = []
    failing_since: float | None = None
    for attempt in record.attempts:
        if attempt.at < record.t0:
            continue
        if not attempt.ok and failing_since is None:
            failing_since = attempt.at
            out.append(Step(round(attempt.at - record.t0, 2), "load", f"{label}: failing"))
        elif attempt.ok and failing_since is not None:
            out.append(Step(round(attempt.at - record.t0, 2), "load",
                            f"{label}: answered again",
                            f"after {attempt.at - failing_since:.1f} s of errors"))
            failing_since = None
    return out


async def _timeline(drill: Drill, report: DrillReport, load_steps: list[Step]) -> None:
    """The recovery, step by step, from every node's journal up to full strength."""
    t0 = report.fault_at
    end = t0 + (report.rejoined if report.rejoined is not None else report.load_seconds)
    nodes = [n.name for n in drill.loaded.site.nodes if n.name in drill.transports]
    journal, unread = await journal_steps(drill.transports, nodes, t0, end)
    journal += await galera_steps(drill.transports, drill.members, t0, end)
    journal += await rabbitmq_steps(drill.transports, drill.members, t0, end, BUS_QUEUE)
    marks = [Step(0.0, "drill", f"fault: {report.kind} of {report.target}")]
    if report.rejoined is not None:
        marks.append(Step(round(report.rejoined, 2), "drill", "back at full strength"))
    report.timeline = merged(marks, journal, load_steps)
    if unread:
        report.notes.append(f"timeline: the journal of {', '.join(unread)} could not be read")


def _api_figures(record: LoadRecord) -> ApiFigures:
    answered = len(record.acked)
    return ApiFigures(back=_back_after(record), window=record.error_window, answered=answered,
                      failed=len(record.attempts) - answered,
                      answering_at_end=bool(record.attempts) and record.attempts[-1].ok,
                      slowest=round(record.slowest, 2))


def _fencing_watch(drill: Drill, target: str) -> Watch:
    """Detected: the survivors see the target offline or unclean. Fenced: clean and offline
    again after that (the fencing device confirmed the reboot). Done: the DB VIP runs on a
    survivor."""
    survivors = [m for m in drill.members if m != target]

    async def watch(report: DrillReport, t0: float) -> bool:
        status = await drill.status(prefer=survivors)
        if status is None:
            return False
        state = status.node(target)
        now = time.time() - t0
        if report.detected is None and (state is None or not state.online or state.unclean):
            report.detected = now
        if report.detected is not None and report.fenced is None and state is not None \
                and not state.unclean and not state.online:
            report.fenced = now
        holders = status.running_on(vip_id("db"))
        return report.fenced is not None and bool(holders) and target not in holders
    return watch


async def power_loss(drill: Drill, *, node: str | None, load_seconds: float) -> DrillReport:
    target = node or await _db_vip_holder(drill)
    report = DrillReport("power-loss", target, load_seconds)

    async def fault() -> None:
        await asyncio.to_thread(control.power, drill.loaded, target, "off")
    return await _run(drill, report, fault, _fencing_watch(drill, target))


async def rabbitmq_member_loss(drill: Drill, *, node: str | None,
                               load_seconds: float) -> DrillReport:
    """Power loss of a member that does not hold the DB VIP: the bus loses one broker, its
    clients move to the others, nothing confirmed is lost, and the member rejoins."""
    holder = await _db_vip_holder(drill)
    target = node or next(m for m in reversed(drill.members) if m != holder)
    report = DrillReport("rabbitmq-member-loss", target, load_seconds)

    async def fault() -> None:
        await asyncio.to_thread(control.power, drill.loaded, target, "off")
    return await _run(drill, report, fault, _fencing_watch(drill, target))


async def memcached_loss(drill: Drill, *, node: str | None, load_seconds: float) -> DrillReport:
    """One memcached member stops answering (frozen, so its clients wait on it rather than
    being refused: the worst case) for MEMCACHED_GONE seconds, then answers again. The APIs'
    slowest call meanwhile is the figure; Pacemaker sees the process alive throughout."""
    target = node or await _db_vip_holder(drill)
    report = DrillReport("memcached-loss", target, load_seconds)
    machine = drill.transports[target]
    victim = killable(drill)["memcached"]
    frozen: list[str] = []

    async def fault() -> None:
        pid = await _main_pid(machine, victim)
        (await machine.run(["kill", "-STOP", pid])).check()
        frozen.append(pid)
        report.detected = 0.0  # nothing to detect: the fault is the drill's own

    async def watch(report: DrillReport, t0: float) -> bool:
        if frozen and time.time() - t0 >= MEMCACHED_GONE:
            (await machine.run(["kill", "-CONT", frozen.pop()])).check()
            report.recovered = time.time() - t0
        return False  # the load runs to its end: the figure is the slowest call throughout

    async def thaw() -> None:
        for pid in frozen:  # the drill stopped early: never leave memcached frozen
            await machine.run(["kill", "-CONT", pid])
    return await _run(drill, report, fault, watch, after=thaw)


async def soak(drill: Drill, *, load_seconds: float) -> DrillReport:
    """The load and no fault: zero fencing, zero failed actions, zero errors."""
    report = DrillReport("soak", "no fault", load_seconds)
    fencing_before = await fencing_history(drill)
    # Failures an earlier fault left on record (a fencing device's monitor while its BMC was
    # dead) are not the soak's: only those from its start on count.
    started = time.time()

    async def fault() -> None:
        report.detected = 0.0

    async def watch(report: DrillReport, t0: float) -> bool:
        return False

    await _run(drill, report, fault, watch)
    report.problems += await unplanned(drill, started, fencing_before)
    errors = {name: api.failed for name, api in report.apis.items() if api.failed}
    if report.db_window or report.bus_window or errors:
        report.problems.append(f"errors with no fault: DB window {report.db_window:.1f} s, bus "
                               f"window {report.bus_window:.1f} s, API calls failed {errors}")
    return report


async def unplanned(drill: Drill, since: float, fencing_before: int) -> list[str]:
    """What must not happen when nothing is broken: an action failing since ``since``, a
    fencing action beyond the ``fencing_before`` the history held."""
    problems = []
    status = await drill.status()
    new = status.failures_since(since) if status else ()
    if new:
        problems.append("failed actions: " + ", ".join(f"{f.resource} on {f.node}"
                                                       for f in new))
    fencing_after = await fencing_history(drill)
    if fencing_after > fencing_before:
        problems.append(f"{fencing_after - fencing_before} fencing actions happened while "
                        "nothing was broken")
    return problems


async def planned(drill: Drill, report: DrillReport, change: Callable[[], Awaitable[None]],
                  what: str) -> DrillReport:
    """A planned change under the loads (maintenance, scaling): nothing is broken, so the
    change runs as the fault and its end is the recovery; no action may fail and nobody be
    fenced meanwhile."""
    fencing_before = await fencing_history(drill)
    started = time.time()
    done: list[float] = []

    async def fault() -> None:
        report.detected = 0.0
        await change()
        done.append(time.time() - report.fault_at)

    async def watch(report: DrillReport, t0: float) -> bool:
        return bool(done)

    await _run(drill, report, fault, watch)
    report.recovered = done[0] if done else None
    if report.recovered is not None and report.recovered > report.load_seconds:
        report.problems.append(f"the {what} outlasted the load ({report.recovered:.0f} s): "
                               "run it with a longer --seconds")
    report.problems += await unplanned(drill, started, fencing_before)
    return report


async def fencing_history(drill: Drill) -> int:
    """How many fencing actions the cluster has recorded."""
    for name in drill.members:
        done = await drill.transports[name].run(["stonith_admin", "--history", "*",
                                                 "--output-as=xml"], timeout=60)
        if done.ok:
            return done.stdout.count("<fence_event ")
    return 0


async def _holds_vip(drill: Drill, node: str) -> bool | None:
    """Whether ``node`` itself has any of the site's VIPs on an interface (None: no answer,
    e.g. rebooting after fencing)."""
    try:
        shown = await drill.transports[node].run(["ip", "-o", "-4", "addr", "show"], timeout=10)
    except HastackError:
        return None
    if not shown.ok:
        return None
    addresses = {f" {vip}/" for vip in drill.loaded.placement.vips.values()}
    return any(a in shown.stdout for a in addresses)


async def partition(drill: Drill, *, node: str | None, load_seconds: float) -> DrillReport:
    target = node or await _db_vip_holder(drill)
    others = [m for m in drill.members if m != target]
    report = DrillReport("partition", target, load_seconds)
    fencing = _fencing_watch(drill, target)
    both_seen: list[float] = []

    async def fault() -> None:
        await asyncio.to_thread(control.partition, drill.loaded, [[target], others])

    async def watch(report: DrillReport, t0: float) -> bool:
        done = await fencing(report, t0)
        minority = await _holds_vip(drill, target)
        if report.minority_stopped is None and minority is not True:
            report.minority_stopped = time.time() - t0
        if minority:
            majority = await drill.status(prefer=others)
            if majority is not None and majority.running_on(vip_id("db")) and \
                    target not in majority.running_on(vip_id("db")):
                both_seen.append(time.time() - t0)
        return done and report.minority_stopped is not None

    async def heal() -> None:
        await asyncio.to_thread(control.heal)

    await _run(drill, report, fault, watch, after=heal)
    if both_seen:
        report.problems.append(f"split brain: the cut-off node still held a VIP while the "
                               f"majority ran the DB VIP, at {both_seen[0]:.1f} s")
    if report.fenced is None:
        report.problems.append(f"the majority never fenced {target}")
    return report


@dataclass(frozen=True)
class Killable:
    """A service-kill target: the resource Pacemaker recovers and how its process is found."""

    name: str  # the primitive's id, what --service names
    resource: str  # the clone or primitive id crm_mon reports
    unit: str | None  # systemd-class: the unit whose MainPID is killed
    process: str | None  # OCF-class: the daemon's process name
    promotable: bool = False
    hosted: bool = False  # systemd runs it, not Pacemaker (cluster.manages: core)


def killable(drill: Drill) -> dict[str, Killable]:
    """Every service of the drilled cluster that runs on controllers and has a process to
    kill: systemd-class resources and the OCF-driven daemons (Galera, RabbitMQ)."""
    out = {}
    for rsc in drill.rendering.cluster(drill.cluster).model.resources:
        primitive = rsc.primitive if isinstance(rsc, Clone) else rsc
        if primitive.runs_on != "controller":
            continue
        unit = primitive.systemd_unit
        process = OCF_PROCESSES.get(primitive.id)
        if unit or process:
            out[primitive.id] = Killable(primitive.id, rsc.id, unit, process,
                                         isinstance(rsc, Clone) and rsc.promotable)
    for own in drill.host_units:
        out[own.name] = Killable(own.name, own.id, own.unit, None, hosted=True)
    return out


async def unit_state(machine: Transport, unit: str) -> tuple[str, str]:
    """(MainPID, ActiveState) of a unit, as systemd sees it now."""
    found = await machine.run(["systemctl", "show", "--property=MainPID,ActiveState", unit])
    values = dict(line.split("=", 1) for line in found.stdout.splitlines() if "=" in line)
    return values.get("MainPID", "0"), values.get("ActiveState", "unknown")


async def _main_pid(machine: Transport, target: Killable) -> str:
    if target.unit is not None:
        found = await machine.run(["systemctl", "show", "-P", "MainPID", target.unit])
    else:
        found = await machine.run(["pgrep", "-o", "-x", str(target.process)])
    pid = found.stdout.strip()
    if not found.ok or pid in ("", "0"):
        raise UsageError("drill-no-process", f"no process of {target.name} runs on "
                         f"{machine.host}", fix="check `hastack status`")
    return pid


async def service_kill(drill: Drill, *, node: str | None, service: str,
                       load_seconds: float) -> DrillReport:
    targets = killable(drill)
    if service not in targets:
        raise UsageError("drill-bad-service", f"service-kill knows no service '{service}'",
                         fix=f"one of: {', '.join(sorted(targets))}")
    victim = targets[service]
    if node is None:
        status = await drill.status()
        where = status.running_on(victim.resource) if status and not victim.hosted else ()
        holder = await _db_vip_holder(drill)
        node = holder if holder in where or not where else where[0]
    target = node
    report = DrillReport(f"service-kill of {service}", target, load_seconds)
    machine = drill.transports[target]

    killed: list[str] = []

    async def fault() -> None:
        pid = await _main_pid(machine, victim)
        killed.append(pid)
        (await machine.run(["kill", "-KILL", pid])).check()

    gone: list[float] = []  # when the instance was first seen not running on the target

    async def watch(report: DrillReport, t0: float) -> bool:
        status = await drill.status(prefer=[target])
        if status is None:
            return False
        rid = victim.resource
        if victim.hosted and victim.unit is not None:
            pid, active = await unit_state(machine, victim.unit)
            here = active == "active" and pid not in ("0", *killed)
            failed = False
        else:
            here = target in (status.promoted_on(rid) if victim.promotable
                              else status.running_on(rid))
            failed = any(f.resource in (rid, victim.name) and f.node == target
                         for f in status.failures_since(t0))
        now = time.time() - t0
        if report.detected is None and (failed or not here):
            report.detected = now
        if not here and not gone:
            gone.append(now)
        node_state = status.node(target)
        if node_state is not None and not node_state.online:
            report.problems.append(f"{target} was fenced: a killed {service} must be "
                                   "recovered in place")
            return True
        if gone and here:
            report.recovered = now
            return True
        return False

    await _run(drill, report, fault, watch)
    if report.recovered is None:
        report.problems.append(f"{victim.resource} did not run on {target} again while the "
                               "load ran")
    # Pacemaker's starts on the target, and systemd's of the units it runs itself there.
    restarted = {s.step.split()[1] for s in report.timeline
                 if s.step.startswith("start ") and f" on {target}:" in s.step
                 and s.step.split()[1] not in (victim.name, victim.resource)}
    units = {u.unit: u.name for u in drill.host_units if u.unit != victim.unit}
    started = (s.step.removeprefix(SYSTEMD_STARTED) for s in report.timeline
               if s.node == target and s.step.startswith(SYSTEMD_STARTED))
    restarted |= {units[unit] for unit in started if unit in units}
    others = sorted(restarted)
    if others:
        report.problems.append(f"one fault, one repair: killing {service} also restarted "
                               f"{', '.join(others)} on {target}")
    return report


async def _servers(drill: Drill, *argv: str, timeout: float = 600) -> str:
    done = await drill.client.run([PYTHON, "-", *argv], stdin=SERVERS.encode(),
                                  env=drill.api_env(), timeout=timeout)
    if not done.ok:
        raise HastackError("compute-loss", f"instances ({argv[0]}): "
                           f"{(done.stderr or done.stdout).strip()[-400:]}",
                           fix="check `hastack verify SITE` (nova, glance, the computes)")
    return done.stdout


async def compute_loss(drill: Drill, *, node: str | None, load_seconds: float) -> DrillReport:
    computes = [n.name for n in drill.loaded.site.nodes if n.role is Role.COMPUTE]
    if not computes:
        raise UsageError("drill-no-compute", "the site has no compute node to lose",
                         fix="add compute nodes (role: compute) to the site")
    target = node or computes[0]
    report = DrillReport("compute-loss", target, load_seconds)
    ids = (await _servers(drill, "create", target, str(INSTANCES))).split()
    report.instances = len(ids)
    watcher: list[asyncio.Task[Result]] = []

    async def fault() -> None:
        await asyncio.to_thread(control.power, drill.loaded, target, "off")
        watcher.append(asyncio.create_task(drill.client.run(
            [PYTHON, "-", "watch", target, str(EVACUATE_TIMEOUT), *ids],
            stdin=SERVERS.encode(), env=drill.api_env(), timeout=EVACUATE_TIMEOUT + 60)))

    try:
        await _run(drill, report, fault, _fencing_watch(drill, target))
        if watcher:
            polls = [line.split() for line in (await watcher[0]).stdout.splitlines()]
            polls = [p for p in polls if len(p) == 3]
            report.instances_moved = int(polls[-1][1]) if polls else 0
            all_moved = next((float(p[0]) for p in polls if p[1] == p[2]), None)
            if all_moved is not None:
                report.evacuated = all_moved - report.fault_at
    finally:
        for task in watcher:
            task.cancel()
        await _servers(drill, "delete", target, *ids)
    if report.instances_moved != report.instances:
        report.problems.append(f"{report.instances - report.instances_moved} of "
                               f"{report.instances} instances were not running on another "
                               f"compute within {EVACUATE_TIMEOUT} s")
    return report


# fence-failure without a working second level: how long the BMC stays dead. Long enough for
# several fencing attempts to fail, so that the wait (nothing recovered) is visible.
BMC_DEAD_SECONDS = 30.0


async def fence_failure(drill: Drill, *, node: str | None, load_seconds: float,
                        pdu_dead: bool = False) -> DrillReport:
    """The node's BMC stops answering, then the node loses power (a failed power supply
    takes both). Until fencing succeeds, nothing the node ran may start elsewhere. With a PDU
    outlet (level 2) the node is fenced through it and everything recovers; without one
    (``pdu_dead``: the PDU made dead too, or none configured) the cluster must wait, and
    recover once the BMC answers again after BMC_DEAD_SECONDS. Once the node is fenced the
    dead devices are repaired (see ``repaired``), and at the end in every case."""
    from hastack.drills import fencing as judge

    target = node or await _db_vip_holder(drill)
    fencing = drill.loaded.site.node(target).fencing
    outlet = fencing.pdu if fencing else None
    second_level = outlet is not None and not pdu_dead
    report = DrillReport("fence-failure-no-pdu" if pdu_dead else "fence-failure", target,
                         load_seconds)
    survivors = [m for m in drill.members if m != target]
    before = await drill.status()
    if before is None:
        raise UsageError("drill-no-cluster", "no member answers crm_mon",
                         fix="check `hastack status SITE`")
    held = judge.held_by(before, target)
    revived: list[float] = []  # seconds after the fault when the BMC answered again
    early: set[str] = set()  # what started elsewhere before fencing (must stay empty)
    timers: list[asyncio.Task[None]] = []

    async def answering(bmc: bool, pdu: bool) -> None:
        await asyncio.to_thread(control.set_bmc, drill.loaded, target, bmc)
        if pdu_dead and outlet is not None:
            await asyncio.to_thread(control.set_pdu, drill.loaded, outlet.name, pdu)

    async def repaired() -> None:
        """Once the node is fenced the point is made: the dead devices are mended and their
        failed monitors and starts cleaned up, as an operator would after the repair.
        Otherwise the drill could not see full strength before the failures expire, and
        every failing start of a dead device (its status call timing out, ~15 s) keeps
        aborting the transitions that bring the fenced node back."""
        await answering(True, True)
        devices = [stonith_id(target)]
        if pdu_dead and outlet is not None:
            devices += [pdu_stonith_id(n.name) for n in drill.loaded.site.nodes
                        if n.fencing is not None and n.fencing.pdu is not None
                        and n.fencing.pdu.name == outlet.name]
        for device in devices:
            await drill.transports[survivors[0]].run(
                ["crm_resource", "--cleanup", "--resource", device], timeout=60)
        report.notes.append(f"{target} fenced: its dead devices answer again and their "
                            f"failures were cleaned up ({', '.join(devices)})")

    async def revive_bmc(t0: float) -> None:
        await asyncio.sleep(BMC_DEAD_SECONDS)
        await asyncio.to_thread(control.set_bmc, drill.loaded, target, True)
        revived.append(time.time() - t0)

    async def fault() -> None:
        t0 = report.fault_at
        await answering(False, False)
        await asyncio.to_thread(control.cut_power, drill.loaded, target)
        if not second_level:
            timers.append(asyncio.create_task(revive_bmc(t0)))

    async def watch(report: DrillReport, t0: float) -> bool:
        status = await drill.status(prefer=survivors)
        if status is None:
            return False
        now = time.time() - t0
        state = status.node(target)
        if report.detected is None and (state is None or not state.online or state.unclean):
            report.detected = now
        if report.detected is not None and report.fenced is None and state is not None \
                and not state.unclean and not state.online:
            report.fenced = now
            timers.append(asyncio.create_task(repaired()))
        if report.fenced is None:
            for rid in judge.moved_early(status, held, target):
                if rid not in early:  # reported once
                    early.add(rid)
                    report.problems.append(f"{rid} started on a survivor at {now:.1f} s, "
                                           f"before {target} was fenced")
            return False
        if report.recovered is None and judge.running_again(status, held):
            report.recovered = now
        return report.recovered is not None and bool(status.running_on(vip_id("db")))

    async def after() -> None:
        for timer in timers:
            timer.cancel()
        await answering(True, True)

    await _run(drill, report, fault, watch, after=after)
    if report.fenced is None:
        report.problems.append(f"{target} was never fenced while the load ran")
    if second_level and outlet is not None:
        log = await asyncio.to_thread(control.pdu_log, drill.loaded, outlet.name)
        switched = judge.outlet_switches(log, outlet.outlet, report.fault_at)
        if switched:
            report.notes.append(f"fenced through level 2: PDU {outlet.name} outlet "
                                f"{outlet.outlet} switched " + ", ".join(
                                    f"{cmd} at {at - report.fault_at:.1f} s"
                                    for at, cmd in switched))
        else:
            report.problems.append(f"PDU {outlet.name} never switched outlet {outlet.outlet}: "
                                   "level 2 was not used")
    elif revived:
        report.notes.append(f"no working second level: the BMC was dead {BMC_DEAD_SECONDS:.0f}"
                            f" s and nothing of {target}'s moved meanwhile")
        if report.fenced is not None and report.fenced < revived[0]:
            report.problems.append(f"{target} counted as fenced at {report.fenced:.1f} s, "
                                   f"while its BMC was dead (until {revived[0]:.1f} s) and no "
                                   "other level could work")
        elif report.fenced is not None:
            report.notes.append(f"recovery waited for fencing: fenced {report.fenced:.1f} s "
                                f"after the fault, {report.fenced - revived[0]:.1f} s after "
                                "the BMC answered again")
    return report
