"""Applying a site through transports: the deploy engine (knows no service by name).

Stages, each idempotent (a finished deploy re-run changes nothing) and resumable (a run
killed anywhere completes when run again): prepare every node (packages present, files
written only where they differ, managed units left to Pacemaker), form each cluster and wait
for quorum, push each cluster's base configuration and prove its fencing, then each service
in dependency order: one-time actions, its resources added to the CIB (crm_verify first, one
transaction), the cluster settled, its resources running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from hastack import haproxy_stats
from hastack.catalog import tls
from hastack.catalog.cib_model import Clone, Primitive
from hastack.catalog.contract import (
    CatalogEntry,
    HostUnit,
    Listener,
    ServiceContext,
    Superseded,
)
from hastack.catalog.platform import platform_info
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import (
    REMOTE_PORT,
    Action,
    ApiCall,
    Command,
    KeystoneEntry,
    Sql,
)
from hastack.deploy import departed, drain, in_force, moves, nodeids, preview, probes, rekey
from hastack.deploy import files as file_ops
from hastack.deploy import packages as package_ops
from hastack.deploy.cib import (
    as_live,
    configured_resources,
    in_place_changes,
    left_unmanaged,
    merge_configuration,
    unmanaged,
)
from hastack.deploy.plan import service_order
from hastack.errors import HastackError, Problem, SiteError, TransportError
from hastack.osapi import client as osapi_client
from hastack.pacemaker import live
from hastack.polling import until_nothing_missing
from hastack.render.corosync import KEYFILE as COROSYNC_KEYFILE
from hastack.render.hosted import DROPIN as HOSTED_DROPIN
from hastack.render.priority import DROPIN as PRIORITY_DROPIN
from hastack.render.site import ClusterRendering, RenderedFile, SiteRendering, render_site
from hastack.secrets import Secrets, alternate, save
from hastack.site.load import LoadedSite
from hastack.site.model import Manages, Role
from hastack.transport.base import Transport
from hastack.unit_states import unit_states

log = logging.getLogger(__name__)

Outcome = Literal["changed", "unchanged", "failed", "would change"]


@dataclass(frozen=True)
class Event:
    stage: str
    node: str | None
    outcome: Outcome
    detail: str
    seconds: float = 0.0


@dataclass
class Deployment:
    """Everything a run needs; ``emit`` receives one event per step (the CLI shows them),
    ``started`` the stage and node of a long step as it starts (its event ends it): a step
    of a minute would otherwise look like a hang (issue 17)."""

    loaded: LoadedSite
    base: CatalogEntry
    catalog: Sequence[CatalogEntry]
    rendering: SiteRendering
    secrets: Secrets
    transports: Mapping[str, Transport]
    dry_run: bool = False
    emit: Callable[[Event], None] = lambda event: None
    started: Callable[[str, str | None], None] = lambda stage, node: None
    events: list[Event] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    # Members joining a running cluster in this run: in standby until every service is
    # configured for them (their HAProxy and backends are not waited for meanwhile).
    joining: set[str] = field(default_factory=set)
    # Services moving between clusters in this run (deploy/moves.py), and those moved.
    moving: list[moves.Move] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    # A dry run's nodes where every file differs (never deployed): probes there cannot tell.
    fresh: set[str] = field(default_factory=set)
    # One-time actions found done when asked all at once (deploy/probes.py), with what each
    # said, and the count of events then: trusted while the run changes nothing after.
    probed: dict[probes.Key, str] = field(default_factory=dict)
    probed_at: int = 0

    def record(self, stage: str, node: str | None, outcome: Outcome, detail: str,
               started: float) -> None:
        event = Event(stage, node, outcome, detail, time.monotonic() - started)
        self.events.append(event)
        log.info("step stage=%s node=%s outcome=%s detail=%s seconds=%.1f", stage, node,
                 outcome, detail, event.seconds)
        self.emit(event)

    @property
    def changed(self) -> bool:
        return any(e.outcome in ("changed", "would change") for e in self.events)

    def done_before(self, action: str, target: str) -> str | None:
        """What ``action`` on ``target`` said when asked at once, if that still holds."""
        since = self.events[self.probed_at:]
        if any(e.outcome in ("changed", "would change") for e in since):
            return None
        return self.probed.get((action, target))


def _managed_units(resources: Sequence[Primitive | Clone]) -> list[str]:
    units = []
    for rsc in resources:
        primitive = rsc.primitive if isinstance(rsc, Clone) else rsc
        if primitive.systemd_unit is not None:
            units.append(primitive.systemd_unit)
    return units


async def _prepare_node(d: Deployment, name: str) -> None:
    node = d.transports[name]
    started = time.monotonic()
    d.started("prepare", name)
    absent = await package_ops.missing_on(
        node, package_ops.node_packages(d.loaded, d.base, d.catalog, name))
    if absent:
        if d.dry_run:
            d.record("packages", name, "would change", f"would install {' '.join(absent)}",
                     started)
        else:
            await package_ops.install(node, absent)
            d.record("packages", name, "changed", f"installed {' '.join(absent)}", started)
        started = time.monotonic()
    wanted = d.rendering.files_for(name)
    changes = await file_ops.changes(node, wanted, d.secrets)
    rekeyed = any(c.file.path == COROSYNC_KEYFILE and c.reason != "new" for c in changes)
    if d.dry_run:
        if wanted and len(changes) == len(wanted):
            d.fresh.add(name)
        for change in changes:
            d.diffs.append(await file_ops.diff(node, change, d.secrets))
        if rekeyed:
            d.record("corosync-key", name, "would change", "a new authkey: the cluster stack "
                     "would restart on every member together, in maintenance mode", started)
        d.record("prepare", name, "would change" if changes else "unchanged",
                 f"{len(changes)} of {len(wanted)} files differ", started)
        return
    # Marked before the files are written: a run killed in between still restarts them.
    edited = [c.file for c in changes if c.reason != "new"]
    running = await _running_here(d, name) if edited else set()
    touched = restart_marks(edited, running)
    if touched:
        await node.run(["sh", "-c", f"mkdir -p {RESTART_DIR} && cd {RESTART_DIR} && "
                        'touch "$@"', "mark", *touched])
    if rekeyed:
        await rekey.set_mark(node)
    marks = await in_force.mark(node, in_force.marks_for(c.file.path for c in changes))
    for change in changes:
        await file_ops.write(node, change, d.secrets)
    compute = _role(d, name) is Role.COMPUTE
    remote = {in_force.REMOTE_RESTART, in_force.REMOTE_KEY} if compute else set()
    await in_force.settle(node, marks, keep=remote)
    await _trust_site_ca(d, name)
    if compute:
        await _ensure_remote_daemon(d, name, marks & remote)
    d.record("prepare", name, "changed" if changes else "unchanged",
             f"wrote {len(changes)} of {len(wanted)} files", started)


async def _trust_site_ca(d: Deployment, name: str) -> None:
    """The site CA into the system bundle every client reads, when the bundle lacks it (its
    first base64 line is absent): also after a run stopped between writing and this."""
    if not tls.enabled(d.loaded.site):
        return
    ca = tls.ca_path(d.loaded.site)
    script = (f'[ ! -e {ca} ] || grep -qxF "$(sed -n 2p {ca})" {tls.SYSTEM_BUNDLE} || '
              "update-ca-certificates >/dev/null")
    (await d.transports[name].run(["sh", "-c", script])).check()


def _role(d: Deployment, name: str) -> Role:
    return next(n.role for n in d.loaded.site.nodes if n.name == name)


def restart_marks(edited: Sequence[RenderedFile], running: set[str]) -> list[str]:
    """The restart markers a node gets for files that changed there: each running service
    that owns or reads one (neutron.conf: neutron-server and the agents beside it), and
    ``SERVICE.together`` when what its members speak to each other changed. A new file
    marks nothing: its service starts with it; nor does one read only at start (the list of
    members)."""
    edited = [f for f in edited if f.restart]
    marks = sorted({s for f in edited for s in (f.service, *f.readers) if s in running})
    return marks + sorted({f"{f.service}{TOGETHER}" for f in edited
                           if f.together and f.service in running})


async def _ensure_remote_daemon(d: Deployment, name: str, marks: set[str]) -> None:
    """A compute node's pacemaker_remote: enabled and running before the cluster connects to
    it, restarted for a new environment (the address it listens on), and for a new authkey
    only while no cluster node is connected: the daemon read the package's key when it
    started. A connected one keeps its connection (the key is only for the handshake) and
    reads the new key at the next one, as the cluster nodes do: a rotation."""
    unit = platform_info(d.loaded.site.platform.value).units["pacemaker-remote"]
    node = d.transports[name]
    (await node.run(["systemctl", "enable", "--now", unit])).check()
    restart = in_force.REMOTE_RESTART in marks
    if in_force.REMOTE_KEY in marks and not restart:
        connected = await node.run(["ss", "-Htn", "state", "established",
                                    f"( sport = :{REMOTE_PORT} )"])
        connected.check()  # unknown is not "no connection": a restart would drop one
        restart = not connected.stdout.strip()
    if restart:
        (await node.run(["systemctl", "restart", unit])).check()
    await in_force.clear(node, marks)


RESTART_DIR = "/var/lib/hastack/restart"
TOGETHER = ".together"  # beside a service's marker: its members restart at once


async def _running_here(d: Deployment, name: str) -> set[str]:
    """Services with a resource running on this node now (a controller or a compute): only
    they need a restart for new files (a first deploy starts them with their files; the
    cluster base is not restarted: a changed corosync.conf is reloaded, in_force.py)."""
    node = d.transports[name]
    units = {u.unit: u.service for u in d.rendering.host_units}
    states = await unit_states(node, list(units))
    hosted = {units[u] for u, state in states.items() if state.active}
    # A compute runs pacemaker_remote, through which crm_mon sees the cluster too.
    daemon = "pacemaker" if _role(d, name) is not Role.COMPUTE else \
        platform_info(d.loaded.site.platform.value).units["pacemaker-remote"]
    if not (await node.run(["systemctl", "is-active", "--quiet", daemon])).ok:
        return hosted
    try:
        status = await live.crm_mon(node)
    except HastackError:
        return hosted
    return hosted | {e.name for e in d.catalog
                     if any(name in status.running_on(rid) for rid in _resource_ids(d, e))}


async def _restart_changed(d: Deployment, entry: CatalogEntry, nodes: tuple[str, ...],
                           resources: Sequence[Primitive | Clone], hosted: Sequence[HostUnit],
                           listeners: Sequence[Listener]) -> None:
    """Rolling restart, one node at a time, of a service whose configuration changed on a
    node where it was already running (its marker says so); the marker goes after. A node's
    backends are drained from HAProxy meanwhile (drain.py): a restart loses no request."""
    marker = f"{RESTART_DIR}/{entry.name}"
    found = await asyncio.gather(*(d.transports[n].run(
        ["sh", "-c", 'for f in "$@"; do [ ! -e "$f" ] || echo "$f"; done', "markers",
         marker, marker + TOGETHER]) for n in nodes))
    marks = {n: set(done.stdout.split()) for n, done in zip(nodes, found, strict=True)}
    marked = [n for n in nodes if marker in marks[n]]
    if not marked:
        return
    first = d.transports[nodes[0]]
    if any(marker + TOGETHER in marks[n] for n in marked):
        await _restart_together(d, entry, nodes, marked, resources, hosted)
        return
    platform = platform_info(d.loaded.site.platform.value)
    members = d.loaded.placement.cluster_of(entry.name).members
    balancers = _balancers(d)
    for name in marked:
        started = time.monotonic()
        if d.dry_run:
            d.record(f"restart:{entry.name}", name, "would change", "configuration changed",
                     started)
            continue
        d.started(f"{'reload' if entry.service.reload_units else 'restart'}:{entry.name}", name)
        if entry.service.reload_units:
            units = [platform.units.get(c, c) for c in entry.service.reload_units]
            (await d.transports[name].run(["systemctl", "reload", *units])).check()
            await d.transports[name].run(["rm", "-f", f"{RESTART_DIR}/{entry.name}"])
            d.record(f"reload:{entry.name}", name, "changed",
                     "reloaded for its new configuration", started)
            continue
        async with drain.drained(balancers, listeners if name in members else [], name,
                                 str(d.loaded.site.node(name).address)):
            await live.wait_settled(first)
            status = await live.crm_mon(first)
            here = [r for r in resources if name in status.running_on(r.id)]
            # Clones together, in two transitions; one that runs once restarts in place.
            clones = [r.id for r in here if isinstance(r, Clone)]
            if clones:
                await live.restart_on_node(first, clones, name)
            for rsc in here:
                if not isinstance(rsc, Clone):
                    (await first.run(["crm_resource", "--restart", "--resource", rsc.id,
                                      "--node", name, "--timeout", "600s"],
                                     timeout=900)).check()
            if hosted:
                await _restart_units(d, name, hosted)
        await d.transports[name].run(["rm", "-f", f"{RESTART_DIR}/{entry.name}"])
        d.record(f"restart:{entry.name}", name, "changed",
                 "restarted for its new configuration", started)


async def _restart_together(d: Deployment, entry: CatalogEntry, nodes: tuple[str, ...],
                            marked: Sequence[str], resources: Sequence[Primitive | Clone],
                            hosted: Sequence[HostUnit]) -> None:
    """Every member at once, for a change of what members speak to each other (TLS or plain
    between RabbitMQ's brokers or Galera's members): one restarted alone could not rejoin the
    others, and a rolling restart would wait on it forever. The service is down meanwhile
    (RabbitMQ forms its cluster again, Galera bootstraps from its most advanced member)."""
    started = time.monotonic()
    if d.dry_run:
        d.record(f"restart:{entry.name}", None, "would change", "every member at once: its "
                 "members' link changed", started)
        return
    d.started(f"restart:{entry.name}", None)
    first = d.transports[nodes[0]]
    await live.wait_settled(first)
    for rsc in resources:
        (await first.run(["crm_resource", "--restart", "--resource", rsc.id,
                          "--timeout", "600s"], timeout=900)).check()
    await live.wait_settled(first)
    if hosted:
        await asyncio.gather(*(_restart_units(d, name, hosted) for name in marked))
    await asyncio.gather(*(d.transports[name].run(
        ["rm", "-f", f"{RESTART_DIR}/{entry.name}", f"{RESTART_DIR}/{entry.name}{TOGETHER}"])
        for name in nodes))
    d.record(f"restart:{entry.name}", None, "changed", "restarted every member at once: "
             "its members' link changed (TLS or plain)", started)


async def _restart_units(d: Deployment, name: str, hosted: Sequence[HostUnit]) -> None:
    (await d.transports[name].run(["systemctl", "restart", *(u.unit for u in hosted)],
                                  timeout=600)).check()
    await _wait_units_active(d, name, hosted)


async def _stop_managed_units(d: Deployment, members: Sequence[str],
                              resources: Sequence[Primitive | Clone],
                              hosted: Sequence[HostUnit]) -> None:
    """Units Pacemaker drives must not be enabled or running on their own (packages start
    some of them on install); only done on members whose Pacemaker is not yet running, all
    at once, each recorded as a step of the member's `prepare` stage (not the cluster's: a
    joining member's fencing is proven before anything of the cluster's stage). Units
    systemd runs itself are stopped too: the package started them with its own
    configuration, and their service's stage starts them with hastack's."""
    platform = platform_info(d.loaded.site.platform.value)
    units = _managed_units(resources) + [platform.units[c] for e in d.catalog
                                         for c in e.service.agent_units]
    units += [u.unit for u in hosted]
    if not units:
        return
    running = await live.running_pacemaker({m: d.transports[m] for m in members})

    async def disable(member: str) -> None:
        # Some 40 units take a node 12-13 s to disable and stop: every member at once.
        started = time.monotonic()
        d.started("prepare", member)
        await d.transports[member].run(["systemctl", "disable", "--now", *units])
        d.record("prepare", member, "changed",
                 f"disabled the {len(units)} units Pacemaker drives (packages enable some)",
                 started)

    await asyncio.gather(*(disable(m) for m in members if m not in running))


async def _form_cluster(d: Deployment, cluster: str, members: tuple[str, ...]) -> None:
    started = time.monotonic()
    d.started(f"cluster:{cluster}", None)
    first = d.transports[members[0]]
    running = await live.running_pacemaker({m: d.transports[m] for m in members})
    down = [m for m in members if m not in running]
    if d.dry_run:
        d.record(f"cluster:{cluster}", None, "would change" if down else "unchanged",
                 f"would start pacemaker on {', '.join(down)}" if down else "running", started)
        return
    if down:
        await asyncio.gather(*(d.transports[m].run(
            ["systemctl", "enable", "corosync", "pacemaker"]) for m in down))
        results = await asyncio.gather(*(d.transports[m].run(
            ["systemctl", "start", "corosync", "pacemaker"], timeout=300) for m in down))
        for result in results:
            result.check()
    await live.wait_quorate(first, members)
    d.record(f"cluster:{cluster}", None, "changed" if down else "unchanged",
             f"started on {', '.join(down)}" if down else "quorate, all members online",
             started)


def _resource_ids(d: Deployment, entry: CatalogEntry) -> set[str]:
    return resource_ids(d.loaded, entry)


def _context(loaded: LoadedSite, entry: CatalogEntry) -> ServiceContext:
    return ServiceContext(site=loaded.site, placement=loaded.placement, service=entry.name,
                          platform=platform_info(loaded.site.platform.value))


def resource_ids(loaded: LoadedSite, entry: CatalogEntry) -> set[str]:
    """The ids of ``entry``'s resources (clones and their primitives) in ``loaded``."""
    if not loaded.placement.has(entry.name):
        return set()
    ids: set[str] = set()
    for rsc in entry.resources(_context(loaded, entry)):
        if isinstance(rsc, Clone):
            ids |= {rsc.id, rsc.primitive.id}
        elif isinstance(rsc, Primitive):
            ids.add(rsc.id)
    return ids


def _desired(d: Deployment, cluster: str, catalog: Sequence[CatalogEntry],
             live_cib: str, *, held: bool = True) -> ClusterRendering:
    """The cluster's configuration for ``catalog`` plus every service of the run already in
    ``live_cib``; with ``held``, a service moving away still there until it runs on its new
    cluster (deploy/moves.py)."""
    present = [e for e in d.catalog if e not in catalog
               and any(f'id="{rid}"' in live_cib for rid in _resource_ids(d, e))]
    wanted = [e for e in d.catalog if e in catalog or e in present]
    placement = moves.held(d.loaded.placement, [m for m in d.moving if m.source == cluster]
                           if held else [])
    return render_site(d.loaded.site, placement, d.base, wanted).cluster(cluster)


def _runs_once(loaded: LoadedSite, entry: CatalogEntry) -> bool:
    """A service with a resource that runs on one node at a time (cinder-volume)."""
    return any(isinstance(r, Primitive) and not r.is_stonith
               for r in entry.resources(_context(loaded, entry)))


async def find_moves(loaded: LoadedSite, catalog: Sequence[CatalogEntry],
                     transports: Mapping[str, Transport]) -> list[moves.Move]:
    """Services a running cluster holds that the site now places on another."""
    held: dict[str, str] = {}
    for cluster in loaded.placement.clusters:
        for member in (m for m in cluster.members if m in transports):
            node = transports[member]
            if (await node.run(["systemctl", "is-active", "--quiet", "pacemaker"])).ok:
                held[cluster.name] = configured_resources(await live.query_cib(node))
                break
    by_name = {e.name: e for e in catalog}
    return moves.find(loaded.placement, held,
                      lambda s: resource_ids(loaded, by_name[s]) if s in by_name else set(),
                      lambda s: s in by_name and _runs_once(loaded, by_name[s]))


def _place(d: Deployment) -> None:
    """The rendering for the moves still under way (their old members behind HAProxy)."""
    placement = moves.in_transition(d.loaded.placement, d.moving)
    d.loaded = replace(d.loaded, placement=placement)
    d.rendering = render_site(d.loaded.site, placement, d.base, d.catalog)


async def _leave_source(d: Deployment, move: moves.Move, entry: CatalogEntry,
                        ctx: ServiceContext, done: Sequence[CatalogEntry]) -> None:
    """The moving service's old members drained from every HAProxy, the old cluster's
    configuration pushed without it (Pacemaker stops it there), HAProxy given its final
    backends."""
    started = time.monotonic()
    d.started(f"move:{entry.name}", None)
    balancers = _balancers(d)
    listeners = entry.listeners(ctx)
    await asyncio.gather(*(drain.drain(balancers, listeners, m) for m in move.members))
    d.moving.remove(move)
    source = d.loaded.placement.cluster(move.source)
    await _push(d, f"leave:{entry.name}", source.name, source.members, done)
    _place(d)
    # HAProxy's final backends as any changed file is put in force: written with its restart
    # mark, then reloaded (a run killed in between still owes the reload).
    for name in balancers:
        await _prepare_node(d, name)
    balancer = next(e for e in d.catalog if e.name == "loadbalancer")
    await _restart_changed(d, balancer, tuple(balancers), [], [], [])
    d.moved.append(entry.name)
    d.record(f"move:{entry.name}", None, "changed", moves.summary(move, d.loaded.placement),
             started)


async def _preview(d: Deployment) -> None:
    """A dry run's proof, before the stages: per running cluster, the CIB diff of the whole
    deploy and the transitions Pacemaker would run for it (deploy/preview.py)."""
    for cluster in d.rendering.clusters:
        started = time.monotonic()
        d.started(f"preview:{cluster.name}", None)
        members = [m for m in cluster.model.node_ids if m in d.transports]
        status = await departed.status_of([d.transports[m] for m in members])
        first = next((m for m in members if status is not None
                      and m in status.online_members), None)
        if status is None or first is None:
            d.record(f"preview:{cluster.name}", None, "unchanged",
                     "no cluster running yet: the deploy forms it", started)
            continue
        node = d.transports[first]
        live_cib = await live.query_cib(node)
        desired = _desired(d, cluster.name, d.catalog, live_cib, held=False)
        merge = merge_configuration(live_cib, desired.cib)
        seen = {n.name for n in status.nodes}
        joining = [m for m in members if m not in seen]
        # A change the push makes in place restarts nothing: simulated as it runs then.
        in_place = in_place_changes(live_cib, desired.cib, _in_place(desired))
        pushed = preview.pushed_cib(live_cib, as_live(merge.xml, live_cib, in_place))
        transitions, settled = await preview.simulate_on(
            node, desired.cib_online, preview.simulated_cib(pushed, desired.cib, joining),
            joining)
        shown = preview.Preview(
            cluster.name, preview.configuration_diff(live_cib, merge.xml) if merge.changed
            else "", transitions, settled)
        changes = merge.changed or bool(transitions)
        if changes:  # a dry run of a site that matches shows no diff at all
            d.diffs.append(file_ops.mask(shown.text(), d.secrets))
        d.record(f"preview:{cluster.name}", None, "would change" if changes else "unchanged",
                 shown.summary(), started)


def _in_place(desired: ClusterRendering) -> dict[str, tuple[str, ...]]:
    """Per primitive, the parameters its agent reads only when it starts an instance."""
    return {p.id: p.in_place for r in desired.model.resources
            if isinstance(r, Primitive | Clone)
            for p in [r.primitive if isinstance(r, Clone) else r] if p.in_place}


async def _push(d: Deployment, stage: str, cluster: str, members: tuple[str, ...],
                catalog: Sequence[CatalogEntry]) -> bool:
    """Push the cluster's configuration for ``catalog`` (the services deployed so far) plus
    every service already in the live CIB: a re-run never takes a later service away."""
    started = time.monotonic()
    d.started(stage, None)
    first = d.transports[members[0]]
    live_cib = await live.query_cib(first)
    desired = _desired(d, cluster, catalog, live_cib)
    merge = merge_configuration(live_cib, desired.cib)
    if not merge.changed:
        d.record(stage, None, "unchanged", "CIB already holds this configuration", started)
        return False
    moving = in_place_changes(live_cib, desired.cib, _in_place(desired))
    if d.dry_run:
        d.record(stage, None, "would change", "CIB differs" + (
            f" ({', '.join(moving)} changed in place)" if moving else ""), started)
        return True
    await live.verify_on(first, desired.cib_online)
    if moving:
        # Pushed unmanaged, then re-probed: the probes record the new parameters, so once
        # managed again no running instance restarts for them.
        await live.push_configuration(first, unmanaged(merge.xml, moving))
        await live.wait_settled(first)
    for rid in sorted({*moving, *left_unmanaged(live_cib)}):
        (await first.run(["crm_resource", "--refresh", "--resource", rid])).check()
        await live.wait_settled(first)
    await live.push_configuration(first, merge.xml)
    await live.wait_settled(first)
    d.record(stage, None, "changed", "configuration pushed, cluster settled" + (
        f"; {', '.join(moving)} changed in place, nothing restarted" if moving else ""),
        started)
    return True


async def _check_running(d: Deployment, stage: str, cluster: str, members: tuple[str, ...],
                         resources: Sequence[Primitive | Clone]) -> None:
    first = d.transports[members[0]]
    status = await live.crm_mon(first)
    ids = {r.id for r in resources} | {r.primitive.id for r in resources if isinstance(r, Clone)}
    stale = sorted({f.resource for f in status.failures if f.resource in ids})
    if stale:
        # Failures left by an earlier, interrupted run: clear them and let the cluster retry.
        for rid in stale:
            await first.run(["crm_resource", "--cleanup", "--resource", rid])
        await live.wait_settled(first)
        status = await live.crm_mon(first)
    failed = "; ".join(f"{f.task} of {f.resource} on {f.node}: {f.status}"
                       for f in status.failures) or "none"
    # A clone running somewhere is not enough: an instance left failed or blocked (a Galera
    # member whose promote failed) is a member missing.
    broken = status.broken(ids)
    if broken:
        raise TransportError(cluster, f"{stage}: {', '.join(broken)} failed after the cluster "
                             "settled", fix=f"failed: {failed} — see `crm_mon -1` on "
                             f"{members[0]}")
    for rsc in resources:
        if not status.running_on(rsc.id):
            raise TransportError(cluster, f"{stage}: {rsc.id} is not running after the "
                                 "cluster settled", fix=f"failed: {failed}"
                                 f" — see `crm_mon -1` on {members[0]}")


UNITS_TIMEOUT = 300


async def _start_host_units(d: Deployment, entry: CatalogEntry, members: Sequence[str],
                            hosted: Sequence[HostUnit]) -> None:
    """Units systemd runs itself (``cluster.manages: core``): enabled, so they start at boot
    on their own, and running on every member."""
    if not hosted:
        return
    units = [u.unit for u in hosted]
    for name in members:
        started = time.monotonic()
        node = d.transports[name]
        states = await unit_states(node, units)
        idle = [u for u in units if not (states[u].enabled and states[u].active)]
        if not idle:
            d.record(f"units:{entry.name}", name, "unchanged", "enabled and running", started)
            continue
        if d.dry_run:
            d.record(f"units:{entry.name}", name, "would change",
                     f"would enable and start {' '.join(idle)}", started)
            continue
        d.started(f"units:{entry.name}", name)
        (await node.run(["systemctl", "enable", "--now", *idle], timeout=600)).check()
        await _wait_units_active(d, name, hosted)
        d.record(f"units:{entry.name}", name, "changed", f"enabled and started {' '.join(idle)}",
                 started)


async def _wait_units_active(d: Deployment, name: str, hosted: Sequence[HostUnit]) -> None:
    node = d.transports[name]
    deadline = time.monotonic() + UNITS_TIMEOUT
    while True:
        states = await unit_states(node, [u.unit for u in hosted])
        down = [unit for unit, state in states.items() if not state.active]
        if not down:
            return
        if time.monotonic() > deadline:
            raise TransportError(name, f"{', '.join(down)} not active {UNITS_TIMEOUT} s after "
                                 "being started", fix=f"see `journalctl -u {down[0]}` on {name}")
        await asyncio.sleep(2)


BACKENDS_TIMEOUT = 300


def _balancers(d: Deployment) -> dict[str, Transport]:
    """The HAProxy nodes of the site (none when no load balancer is placed), but for members
    joining in standby: their HAProxy runs once they leave it."""
    if not d.loaded.placement.has("loadbalancer"):
        return {}
    return {n: d.transports[n] for n in d.loaded.placement.cluster_of("loadbalancer").members
            if n not in d.joining}


async def _wait_backends_up(d: Deployment, entry: CatalogEntry, ctx: ServiceContext) -> None:
    """A service is deployed when HAProxy, on every load balancer, sees each of its members
    answer (a unit is active well before its API listens): waited for, not assumed."""
    proxies = {listener.name for listener in entry.listeners(ctx)}
    balancers = _balancers(d)
    if not proxies or not balancers:
        return
    started = time.monotonic()
    d.started(f"backends:{entry.name}", None)
    async def down() -> list[str]:
        return [s for node in balancers.values()
                for s in await haproxy_stats.down(node, proxies)
                if s.split("/", 1)[1].split("=")[0] not in d.joining]

    await until_nothing_missing(down, timeout=BACKENDS_TIMEOUT, host=entry.name,
                                what=f"service:{entry.name}: HAProxy still sees down",
                                fix="see the service's log on those members")
    # A step of its own: up to BACKENDS_TIMEOUT of waiting, shown and logged like the others.
    d.record(f"backends:{entry.name}", None, "unchanged", "HAProxy sees every member answer",
             started)


async def _run_api_actions(d: Deployment, target: str,
                           pending: Sequence[tuple[Action, ServiceContext]]) -> None:
    """API registrations are idempotent by nature: asked to ensure, they say whether they
    changed anything; in a dry run they only say what they would change. ``pending`` runs
    in one program on ``target`` (its start and token shared), one after another."""
    asked = [probes.Asked(action, target, ctx) for action, ctx in pending]
    for known in [a for a in asked if d.done_before(a.action.name, target)]:
        d.record(f"action:{known.action.name}", target, "unchanged", d.probed[known.key],
                 time.monotonic())
        asked.remove(known)
    if not asked:
        return
    for one in asked:
        d.started(f"action:{one.action.name}", target)
    requests = probes.api_requests(asked)
    results = await osapi_client.call_many(d.transports[target], requests, ctx=asked[0].ctx,
                                           secrets=d.secrets, ensure=not d.dry_run)
    for one, request, result in zip(asked, requests, results, strict=True):
        action = one.action
        if not result.ok:
            raise TransportError(target, f"action:{action.name}: {request.operation} failed: "
                                 f"{result.detail}", fix="see the service's log on that node")
        outcome: Outcome = ("would change" if d.dry_run else "changed") if result.changed \
            else "unchanged"
        d.record(f"action:{action.name}", target, outcome, f"{action.what}: {result.detail}",
                 time.monotonic() - result.seconds)


async def _run_action(d: Deployment, action: Action, target: str,
                      ctx: ServiceContext) -> None:
    if d.dry_run and target in d.fresh:
        d.record(f"action:{action.name}", target, "would change",
                 f"{action.what} (asked once {target} is deployed)", time.monotonic())
        return
    if probes.is_api(action):
        await _run_api_actions(d, target, [(action, ctx)])
        return
    node = d.transports[target]
    started = time.monotonic()
    stage = f"action:{action.name}"
    if d.done_before(action.name, target) is not None:
        d.record(stage, target, "unchanged", action.what, started)
        return
    d.started(stage, target)
    if action.done is not None and await probes.holds(node, action.done, d.secrets):
        d.record(stage, target, "unchanged", action.what, started)
        return
    if d.dry_run:
        d.record(stage, target, "would change", action.what, started)
        return
    await probes.execute(node, action.run, d.secrets)
    d.record(stage, target, "changed", action.what, started)


def secret_refs(loaded: LoadedSite, rendering: SiteRendering,
                catalog: Sequence[CatalogEntry]) -> list[SecretRef]:
    """Every secret the files and the one-time actions of ``catalog`` use."""
    refs = [r for f in rendering.files for r in f.text.secrets()]
    platform = platform_info(loaded.site.platform.value)
    for entry in catalog:
        if not loaded.placement.has(entry.name):
            continue
        ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service=entry.name,
                             platform=platform)
        for action in entry.bootstrap(ctx):
            for step in (action.run, action.done):
                if isinstance(step, Command):
                    texts = [v for _, v in step.env] + ([step.stdin] if step.stdin else [])
                elif isinstance(step, Sql):
                    texts = list(step.statements)
                else:
                    texts = []
                refs += [r for t in texts for r in t.secrets()]
                if isinstance(step, KeystoneEntry | ApiCall):
                    refs += osapi_client.secret_refs(step, ctx)
    return refs


def _action_targets(d: Deployment, entry: CatalogEntry, action: Action) -> list[str]:
    placement = d.loaded.placement
    cluster = placement.cluster_of(action.where or entry.name)
    return list(cluster.members) if action.on == "all" else [cluster.members[0]]


async def _run_everywhere(d: Deployment, entry: CatalogEntry, action: Action,
                          ctx: ServiceContext) -> None:
    """An action on its node, or on every member at once (``on: all``: each member's own,
    as each builds its swift rings)."""
    await asyncio.gather(*(_run_action(d, action, target, ctx)
                           for target in _action_targets(d, entry, action)))


async def deployed_architecture(node: Transport, hosted_ids: Sequence[str]) -> str | None:
    """How a member runs its active/active services as deployed: "systemd" when one of
    hastack's restart drop-ins is there, "pacemaker" when its CIB holds one of
    ``hosted_ids`` as a resource; None when neither is there (not deployed yet)."""
    script = f"ls /etc/systemd/system/*.service.d/{HOSTED_DROPIN} >/dev/null 2>&1 && echo systemd"
    if hosted_ids:
        pattern = "|".join(f'id="{i}"' for i in hosted_ids)
        script += (f"; cibadmin --query --scope resources 2>/dev/null | grep -qE '{pattern}' "
                   "&& echo pacemaker")
    found = (await node.run(["sh", "-c", script + "; true"], timeout=60)).stdout.split()
    return found[0] if found else None


async def _refuse_architecture_change(d: Deployment) -> None:
    """Moving a deployed cluster's services between Pacemaker and systemd is a migration
    (stop, hand over, start) deploy does not do: refused before anything is touched."""
    manages = d.loaded.site.cluster.manages
    for cluster in d.rendering.clusters:
        hosted = [u.id for u in cluster.host_units]
        if manages is Manages.CORE and not hosted:
            continue  # nothing of this cluster's would move
        wanted = "systemd" if hosted else "pacemaker"
        members = [m for m in cluster.model.node_ids if m in d.transports]
        found = await asyncio.gather(*(deployed_architecture(d.transports[m], hosted)
                                       for m in members))
        for member, running in zip(members, found, strict=True):
            if running is not None and running != wanted:
                was = Manages.EVERYTHING if running == "pacemaker" else Manages.CORE
                raise SiteError([Problem(
                    code="manages-changed", where=str(d.loaded.path), key="cluster.manages",
                    what=f"cluster {cluster.name} was deployed with cluster.manages: {was} "
                         f"({member} runs its active/active services under {running}); the "
                         f"site file now says {manages}",
                    fix=f"set cluster.manages back to {was}, or tear the site down and deploy "
                        "it again: deploy does not move running services between Pacemaker "
                        "and systemd")])


async def _refuse_foreign_secrets(d: Deployment, nodes: Sequence[str]) -> None:
    """The cluster's authkeys on the nodes hastack deployed must be the secrets file's on
    one node at least: if every one differs the file is not the one the site was deployed
    with (lost and generated again, or another site's), and writing its passwords would lock
    every service out of the database, keystone and RabbitMQ, which keep the old ones.
    Refused before anything is touched. A rotation compares the keys it replaces; a run
    that stopped while writing new keys finds them on some nodes and goes on."""
    known = replace(d.secrets, values={**d.secrets.values, **d.secrets.previous})

    async def foreign(name: str) -> list[str] | None:
        # Packages create keys of their own (pacemaker's postinst writes an authkey): only
        # a node hastack deployed (its priority drop-ins are there) holds the site's.
        marked = await d.transports[name].run(
            ["sh", "-c", f"ls /etc/systemd/system/*.service.d/{PRIORITY_DROPIN}"], timeout=60)
        if not marked.ok:
            return None
        keys = [f for f in d.rendering.files_for(name) if file_ops.is_key_file(f)]
        found = await file_ops.changes(d.transports[name], keys, known)
        return [f"{name}:{c.file.path}" for c in found if c.reason == "content"]

    deployed = [f for f in await asyncio.gather(*(foreign(n) for n in nodes)) if f is not None]
    differ = [k for found in deployed for k in found]
    if deployed and all(deployed):
        raise SiteError([Problem(
            code="secrets-mismatch", where=str(d.secrets.path),
            what="the deployed nodes hold other keys than this secrets file "
                 f"({', '.join(differ[:3])}{' ...' if len(differ) > 3 else ''} differ)"
                 + (f"; {len(d.secrets.generated)} secret(s) were generated just now, so the "
                    "file was probably lost" if d.secrets.generated else ""),
            fix="restore the secrets file the site was deployed with (nothing was written); "
                "deploy never replaces the passwords and keys a running site uses")])


async def deploy(d: Deployment) -> Deployment:
    """Run every stage. Raises TransportError, ToolError or PlanError naming the failed step;
    what was done stays done, and a re-run picks up from there."""
    site = d.loaded.site
    nodes = [n.name for n in site.nodes if n.role is not Role.GATEWAY
             and n.name in d.transports]
    await _refuse_foreign_secrets(d, nodes)
    for cluster in d.rendering.clusters:
        await nodeids.refuse_renumbering({m: d.transports[m] for m in cluster.model.node_ids
                                          if m in d.transports}, cluster.model.node_ids)
    await _refuse_architecture_change(d)
    d.moving = await find_moves(d.loaded, d.catalog, d.transports)
    if d.moving:
        moves.refuse_unmovable(d.moving, d.loaded.placement, site.cluster.manages,
                               d.loaded.path)
        _place(d)
        for planned in d.moving if d.dry_run else ():
            d.record(f"move:{planned.service}", None, "would change",
                     moves.summary(planned, d.loaded.placement), time.monotonic())
    leaving = await _departed(d)
    if d.dry_run:
        await _preview(d)
    if any(leaving.values()):
        await _phase_actions(d, "preflight")
    if not d.dry_run:
        d.secrets = save(d.secrets)
    await asyncio.gather(*(_prepare_node(d, n) for n in nodes))
    platform = platform_info(site.platform.value)
    ordered = service_order(d.catalog, d.loaded.placement)
    base_only = render_site(site, d.loaded.placement, d.base, [])
    for cluster in d.rendering.clusters:
        members = tuple(cluster.model.node_ids)
        all_rsc = [r for r in cluster.model.resources]
        if not d.dry_run:
            await _stop_managed_units(d, members, all_rsc, cluster.host_units)
            started = time.monotonic()
            rekeyed = await rekey.rekey({m: d.transports[m] for m in members})
            if rekeyed:
                d.record(f"corosync-key:{cluster.name}", None, "changed", rekeyed, started)
        # A device runs once its start (a status call to the BMC) succeeded: proven.
        # Only the BMC devices of this stage: a service's own (fence-nova) comes with it.
        devices = [r for r in base_only.cluster(cluster.name).model.resources
                   if isinstance(r, Primitive) and r.is_stonith]
        joining = await _joining(d, members)
        if joining:
            # A new member is fenceable before it joins, and joins in standby.
            await _push(d, f"fencing:{cluster.name}", cluster.name, members, [])
            if d.dry_run:
                d.record(f"join:{cluster.name}", None, "would change",
                         f"{', '.join(joining)} would join in standby", time.monotonic())
                continue
            await _check_running(d, f"fencing:{cluster.name}", cluster.name, members, devices)
            await _start_in_standby(d, joining)
        await _form_cluster(d, cluster.name, members)
        if joining:
            await _drop_join_dropins(d, joining)
        if d.dry_run and d.changed:
            continue
        # (After a join: the new member's node attributes, now that the CIB lists it.)
        await _push(d, f"fencing:{cluster.name}", cluster.name, members, [])
        if not d.dry_run:
            await _check_running(d, f"fencing:{cluster.name}", cluster.name, members, devices)
    # Asked at once when every cluster was running already (files may have changed: the
    # answers are taken after they were written); a cluster just formed answers nothing yet.
    if not any(e.stage.startswith(("cluster:", "join:")) and e.outcome != "unchanged"
               for e in d.events):
        await _ask_at_once(d, ordered)
    done: list[CatalogEntry] = []
    registered: set[str] = set()
    for entry in ordered:
        placed = d.loaded.placement.cluster_of(entry.name)
        ctx = ServiceContext(site=site, placement=d.loaded.placement, service=entry.name,
                             platform=platform)
        actions = [a for a in entry.bootstrap(ctx) if a.name not in registered]
        for action in (a for a in actions if a.phase == "before-start"):
            await _run_everywhere(d, entry, action, ctx)
        done.append(entry)
        if d.dry_run and d.changed:
            d.record(f"service:{entry.name}", None, "would change", "after earlier changes",
                     time.monotonic())
            continue
        move = next((m for m in d.moving if m.service == entry.name), None)
        if move is not None and move.runs_once:
            await _leave_source(d, move, entry, ctx, done)
        await _push(d, f"service:{entry.name}", placed.name, placed.members, done)
        resources = [r for r in entry.resources(ctx) if isinstance(r, Primitive | Clone)]
        hosted = entry.host_units(ctx)
        if not d.dry_run:
            await _check_running(d, f"service:{entry.name}", placed.name, placed.members,
                                 resources)
        await _start_host_units(d, entry, placed.members, hosted)
        # Computes too: their services (nova-compute, the L2 agent) run there as resources.
        await _restart_changed(d, entry, placed.members + placed.remotes, resources, hosted,
                               entry.listeners(ctx))
        if not d.dry_run:
            await _wait_backends_up(d, entry, ctx)
        if move is not None and not move.runs_once:
            await _leave_source(d, move, entry, ctx, done)
        for action in (a for a in actions if a.phase == "after-start"):
            await _run_everywhere(d, entry, action, ctx)
        if entry.name == KEYSTONE:
            registered = await _register_service_users(d, ordered[ordered.index(entry) + 1:])
    if not d.dry_run:
        await _end_joins(d)
    if not (d.dry_run and d.changed):
        await _retire_other_accounts(d)
    await _forget_departed(d, leaving)
    return d


async def _ask_at_once(d: Deployment, ordered: Sequence[CatalogEntry]) -> None:
    """The services' one-time actions (and the end's retirements) asked all at once, for a
    run that has changed nothing so far (deploy/probes.py)."""
    started = time.monotonic()
    d.started("probes", None)
    superseded = superseded_accounts(d)
    work = []
    for entry in ordered:
        ctx = _context(d.loaded, entry)
        actions = [a for a in entry.bootstrap(ctx) if a.phase in ("before-start", "after-start")]
        for action in [*actions, *(entry.retire(ctx, superseded) if superseded else ())]:
            if action.done is None and not probes.is_api(action):
                continue
            work += [probes.Asked(action, target, ctx)
                     for target in _action_targets(d, entry, action) if target not in d.fresh]
    d.probed = await probes.ask_all(d.transports, d.secrets, work)
    d.probed_at = len(d.events)
    d.record("probes", None, "unchanged", f"{len(d.probed)} of {len(work)} one-time actions "
             "found done, asked at once", started)


JOIN_DROPIN = "/run/systemd/system/pacemaker.service.d/hastack-join.conf"


async def _joining(d: Deployment, members: tuple[str, ...]) -> list[str]:
    """Members a running cluster has never seen (a controller added to the site): none when
    no member runs yet (the first deploy forms the cluster with all of them). Those that
    joined in a run killed before they left standby count as joining again (d.joining)."""
    running = await live.running_pacemaker({m: d.transports[m] for m in members})
    if not running:
        return []
    known = await live.cluster_nodes(d.transports[running[0]])
    joining = [m for m in members if m not in known]
    held = await asyncio.gather(*(in_force.mark(d.transports[m], []) for m in running))
    d.joining.update(joining, (m for m, marks in zip(running, held, strict=True)
                               if in_force.JOIN in marks))
    return joining


async def _start_in_standby(d: Deployment, joining: Sequence[str]) -> None:
    """Each joining member's Pacemaker is told to join in standby (for its first start only:
    a runtime drop-in), and marked so that the end of this run, or of the next if this one
    dies, lifts it (``_joining`` finds the mark)."""
    for name in joining:
        node = d.transports[name]
        await in_force.mark(node, [in_force.JOIN])
        await node.put(JOIN_DROPIN, b"[Service]\nEnvironment=PCMK_node_start_state=standby\n")
        (await node.run(["systemctl", "daemon-reload"])).check()


async def _drop_join_dropins(d: Deployment, joining: Sequence[str]) -> None:
    """Once they joined: standby stays in the CIB, the drop-in goes."""
    for name in joining:
        node = d.transports[name]
        (await node.run(["rm", "-f", JOIN_DROPIN])).check()
        (await node.run(["systemctl", "daemon-reload"])).check()


async def _end_joins(d: Deployment) -> None:
    """Members that joined (in this run or a killed one: ``d.joining``) leave standby once
    every service is configured for them: everything starts there in the cluster's order,
    as after a reboot."""
    for cluster in d.rendering.clusters:
        members = tuple(cluster.model.node_ids)
        joined = [m for m in members if m in d.joining]
        if not joined:
            continue
        started = time.monotonic()
        d.started(f"join:{cluster.name}", None)
        first = d.transports[next(m for m in members if m not in joined)]
        for name in joined:
            (await first.run(["crm_attribute", "--node", name, "--name", "standby",
                              "--update", "off"])).check()
        await live.wait_settled(first)
        d.joining.difference_update(joined)
        await _check_running(d, f"join:{cluster.name}", cluster.name, members,
                             [r for r in cluster.model.resources
                              if isinstance(r, Primitive | Clone)])
        await _phase_actions(d, "joined")
        for name in joined:
            await in_force.clear(d.transports[name], [in_force.JOIN])
        d.record(f"join:{cluster.name}", None, "changed",
                 f"{', '.join(joined)} out of standby, the cluster settled", started)


async def _departed(d: Deployment) -> dict[str, list[str]]:
    """Per cluster: the nodes it still knows that the site no longer lists (remote nodes,
    and members, which must be stopped: refused otherwise, before anything changes)."""
    listed = {n.name for n in d.loaded.site.nodes}
    out: dict[str, list[str]] = {}
    for cluster in d.loaded.placement.clusters:
        status = await departed.status_of([d.transports[m] for m in cluster.members
                                           if m in d.transports])
        if status is None:
            out[cluster.name] = []
            continue
        members = departed.departed_members(status, set(cluster.members))
        departed.refuse_running(status, members)
        out[cluster.name] = departed.departed_remotes(status, listed) + members
    return out


async def _phase_actions(d: Deployment, phase: str) -> None:
    """The services' actions for nodes leaving or joining: ``preflight`` (moving them off,
    or refusing) before anything changes, ``departed`` (forgetting their records) at the
    end, ``joined`` once a new member runs everything."""
    platform = platform_info(d.loaded.site.platform.value)
    for entry in d.catalog:
        if not d.loaded.placement.has(entry.name):
            continue
        ctx = ServiceContext(site=d.loaded.site, placement=d.loaded.placement,
                             service=entry.name, platform=platform)
        for action in (a for a in entry.bootstrap(ctx) if a.phase == phase):
            await _run_everywhere(d, entry, action, ctx)


async def _forget_departed(d: Deployment, before: Mapping[str, list[str]]) -> None:
    """Last: each cluster forgets the remote nodes the site no longer lists (their
    connection and fencing went with the pushes), those seen at the start and now."""
    if d.dry_run and d.changed:
        return
    now = await _departed(d)
    if any(before.values()) or any(now.values()) or d.moved:
        await _phase_actions(d, "departed")
    for cluster in d.loaded.placement.clusters:
        gone = sorted({*before.get(cluster.name, ()), *now.get(cluster.name, ())})
        if not gone:
            continue
        started = time.monotonic()
        if d.dry_run:
            d.record(f"departed:{cluster.name}", None, "would change",
                     f"would remove {', '.join(gone)} from the cluster", started)
            continue
        said = await departed.forget(d.transports[cluster.members[0]], gone)
        d.record(f"departed:{cluster.name}", None, "changed", "; ".join(said), started)


KEYSTONE = "keystone"


async def _register_service_users(d: Deployment, later: Sequence[CatalogEntry]) -> set[str]:
    """Every later service's keystone user, registered as soon as keystone runs: a service
    deployed earlier may authenticate as another's user (neutron as nova's, to tell it of
    ports), and after a rotation that account must exist before the first of them restarts.
    Returns the names of the actions done here."""
    platform = platform_info(d.loaded.site.platform.value)
    names = set()
    by_target: dict[str, list[tuple[Action, ServiceContext]]] = {}
    for entry in later:
        ctx = ServiceContext(site=d.loaded.site, placement=d.loaded.placement,
                             service=entry.name, platform=platform)
        for action in entry.bootstrap(ctx):
            if isinstance(action.run, KeystoneEntry) and action.phase == "before-start" \
                    and action.done is None:
                for target in _action_targets(d, entry, action):
                    by_target.setdefault(target, []).append((action, ctx))
                names.add(action.name)
    for target, pending in by_target.items():
        await _run_api_actions(d, target, pending)
    return names


def superseded_accounts(d: Deployment) -> list[Superseded]:
    """The accounts a rotation moved services away from, once this run leaves no service on
    them: only a run of every service the site places (after ``--scope core``, the services
    it left out still log in as the old accounts)."""
    if not set(d.loaded.placement.service_cluster) <= {e.name for e in d.catalog}:
        return []
    refs = secret_refs(d.loaded, d.rendering, d.catalog)
    accounts = {r.name: r for r in refs if r.form == "account"}
    return [Superseded(ref, alternate(ref, d.secrets.lookup(ref))) for ref in accounts.values()]


async def _retire_other_accounts(d: Deployment) -> None:
    """Once every service logs in as its user's current account, the accounts a rotation
    moved away from are ended, as the service that owns each says (its ``retire``)."""
    superseded = superseded_accounts(d)
    platform = platform_info(d.loaded.site.platform.value)
    for entry in d.catalog:
        if not superseded or not d.loaded.placement.has(entry.name):
            continue
        ctx = ServiceContext(site=d.loaded.site, placement=d.loaded.placement,
                             service=entry.name, platform=platform)
        for action in entry.retire(ctx, superseded):
            await _run_everywhere(d, entry, action, ctx)
