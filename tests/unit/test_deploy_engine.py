"""The deploy engine's decisions over recording transports (tests/unit/recording.py): the
real ``hastack deploy --scope core`` of tests/lab/lab3.yaml (three controllers: HAProxy and
its VIPs, Galera, memcached, RabbitMQ), assembled as the command assembles it, against nodes
that answer from a model; a run takes a fraction of a second. The same deploy on real
daemons is the lab tier's (tests/lab/test_deploy_core.py).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from recording import Call, Kill, Killed, Restart, World, no_waiting

from hastack.catalog.contract import ServiceContext
from hastack.catalog.platform import platform_info
from hastack.commands import deploy as deploy_command
from hastack.commands.deploy import Deployed
from hastack.commands.progress import Progress
from hastack.commands.session import Scope, Session
from hastack.deploy import apply
from hastack.deploy.apply import JOIN_DROPIN, RESTART_DIR
from hastack.deploy.plan import build_plan
from hastack.errors import UsageError
from hastack.secrets import ensure_secrets, read_secrets
from hastack.transport.base import Transport

ROOT = Path(__file__).resolve().parents[2]
LAB3 = ROOT / "tests" / "lab" / "lab3.yaml"
SCOPE: Scope = "core"
MEMBERS = ("n1", "n2", "n3")
GALERA_CONF = "/etc/mysql/mariadb.conf.d/60-galera.cnf"


@dataclass
class RecordedSession(Session):
    """``hastack deploy``'s session, its nodes a World's."""

    world: World | None = None
    kill: Kill | None = None

    def transports(self) -> dict[str, Transport]:
        assert self.world is not None
        return dict(self.world.transports(self.kill))


def deploy(site: Path, world: World, kill: Kill | None = None) -> Deployed:
    """``hastack deploy --scope core SITE`` on the world's nodes."""
    return deploy_command.deploy(RecordedSession(site, world=world, kill=kill), scope=SCOPE)


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio, "sleep", no_waiting())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lab3.yaml in a folder of its own with its secrets, generated once: every deploy of
    the module writes the same values, so the nodes' states compare."""
    path = tmp_path_factory.mktemp("lab3") / "lab3.yaml"
    shutil.copy(LAB3, path)
    session = Session(path)
    refs, _ = session.secret_refs(SCOPE)
    ensure_secrets(session.loaded.secrets_path, refs)
    return path


@dataclass(frozen=True)
class Run:
    world: World
    deployed: Deployed


@pytest.fixture(scope="module")
def first(site: Path) -> Run:
    """One uninterrupted deploy on fresh nodes (tests copy its world before changing it)."""
    world = World(MEMBERS)
    return Run(world, deploy(site, world))


def changed_site(site: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of the site (and its secrets) with one setting changed, as an operator
    edits it."""
    for path in site.parent.iterdir():
        shutil.copy(path, folder / path.name)
    text = (folder / site.name).read_text()
    assert old in text
    (folder / site.name).write_text(text.replace(old, new))
    return folder / site.name


def calls_since(world: World, start: int, host: str | None = None) -> list[Call]:
    return [c for c in world.calls[start:] if host is None or c.host == host]


def first_index(calls: list[Call], found: Callable[[Call], bool]) -> int:
    return next(i for i, c in enumerate(calls) if found(c))


def last_index(calls: list[Call], found: Callable[[Call], bool]) -> int:
    return max(i for i, c in enumerate(calls) if found(c))


def on(host: str, found: Callable[[Call], bool]) -> Callable[[Call], bool]:
    return lambda call: call.host == host and found(call)


def starts_stack(call: Call) -> bool:
    return call.argv[:2] == ("systemctl", "start") and "pacemaker" in call.argv


# What changes a node: the steps a converged node must never see again.
CHANGES = {"put", "apt-get install", "restart marks", "rekey mark", "tmpfiles",
           "cibadmin replace", "crm_resource restart", "rabbitmqctl delete_user"}
SYSTEMCTL_CHANGES = {"enable", "disable", "start", "stop", "restart", "reload"}


def changes_something(call: Call) -> bool:
    return call.rule in CHANGES or (call.rule == "systemctl"
                                    and call.argv[1] in SYSTEMCTL_CHANGES)


# Ordering.

def test_a_first_deploy_goes_through_the_plans_stages_in_order(site: Path, first: Run
                                                               ) -> None:
    """Every step belongs to a stage of the plan (`hastack plan`: the guide's order), and
    the steps come stage after stage in the plan's order, each stage done."""
    session = Session(site)
    loaded, catalog = session.loaded, session.services(SCOPE)
    stages = [s.name for s in build_plan(loaded.site, loaded.placement,
                                         session.rendering(SCOPE), catalog)]
    platform = platform_info(loaded.site.platform.value)
    owner = {a.name: e.name for e in catalog if loaded.placement.has(e.name)
             for a in e.bootstrap(ServiceContext(site=loaded.site, placement=loaded.placement,
                                                 service=e.name, platform=platform))}

    def stage(step: str) -> str:
        kind, _, name = step.partition(":")
        if kind in ("packages", "prepare"):
            return "prepare"
        if kind == "action":
            return f"service:{owner[name]}"
        if kind in ("restart", "reload", "units", "backends"):
            return f"service:{name}"
        return step

    done = [stages.index(stage(e.stage)) for e in first.deployed.steps]
    seen = [stages[i] for n, i in enumerate(done) if not n or done[n - 1] != i]
    assert done == sorted(done), f"stages out of the plan's order: {seen}"
    # departed:*: only when the site no longer lists a node the cluster has.
    assert {stages[i] for i in done} == {s for s in stages if s != "verify"
                                         and not s.startswith("departed:")}


def test_packages_then_files_then_the_cluster_then_its_configuration(first: Run) -> None:
    calls = first.world.calls
    started = first_index(calls, starts_stack)
    for host in MEMBERS:
        installed = last_index(calls, on(host, lambda c: c.rule == "apt-get install"))
        written = [i for i, c in enumerate(calls) if c.host == host and c.rule == "put"
                   and not c.argv[1].startswith("/run/")]
        assert installed < min(written), f"{host}: a file written before its packages"
        assert max(written) < started, f"{host}: the cluster formed before its files"
    # Every CIB push went to a quorate cluster with every member online, after it formed.
    assert first.world.pushes
    for push in first.world.pushes:
        assert push.call > started and push.quorate and push.online == MEMBERS


def test_galera_and_rabbitmq_are_set_up_once_on_one_member_once_every_member_runs_them(
        site: Path, first: Run) -> None:
    """Their one-time actions (users, grants, the guest account) run on the first member
    only, when the service's clone runs on every member: a member that joins later gets
    them by replication. Galera's clone comes in one CIB transaction."""
    world = first.world
    assert {w.what for w in world.writes} >= {
        "database and user hastack_verify", "drop anonymous users", "delete guest"}
    for write in world.writes:
        assert write.host == MEMBERS[0], write
        assert write.running_on == MEMBERS, write
    with_galera = [p for p in world.pushes if "galera" in p.resources]
    assert with_galera and with_galera[0].call < min(w.call for w in world.writes)
    steps = first.deployed.steps
    per_action = Counter(e.stage for e in steps if e.stage.startswith("action:"))
    assert per_action["action:galera-verify-user"] == 1  # on: first
    assert per_action["action:galera-check-socket"] == len(MEMBERS)  # on: all
    # Actions of phase before-start come before their service's resources, the others after.
    order = [e.stage for e in steps]
    galera = order.index("service:galera")
    assert max(i for i, s in enumerate(order) if s == "action:galera-runtime-dir") < galera
    assert order.index("action:galera-verify-user") > galera


# Re-run.

def test_a_second_deploy_changes_nothing(site: Path, first: Run) -> None:
    world = copy.deepcopy(first.world)
    before, start = world.state(), len(world.calls)
    again = deploy(site, world)
    assert not again.changed
    assert {e.outcome for e in again.steps} == {"unchanged"}
    assert [c.argv for c in calls_since(world, start) if changes_something(c)] == []
    assert world.restarts == [] and world.writes == first.world.writes
    assert world.state() == before


def asks_rabbitmq_accounts(call: Call) -> bool:
    return call.rule == "rabbitmq accounts" and call.argv[3] == "check"


def test_a_rerun_asks_each_action_once_and_again_only_after_a_change(site: Path, first: Run
                                                                     ) -> None:
    """A re-run asks every one-time action whether it is done all at once, before the
    services' stages, and trusts those answers while it has changed nothing; once an action
    ran (the anonymous users Galera's package creates, back), a later one is asked again at
    its stage."""
    world = copy.deepcopy(first.world)
    start = len(world.calls)
    again = deploy(site, world)
    calls = calls_since(world, start)
    asked = [i for i, c in enumerate(calls) if asks_rabbitmq_accounts(c)]
    assert len(asked) == 1
    first_push = first_index(calls, lambda c: c.rule == "cibadmin query")
    assert [e.stage for e in again.steps].index("probes") < \
        [e.stage for e in again.steps].index("service:galera")
    assert asked[0] > first_push  # after the cluster's own stage, before the services'
    world.db.anonymous = True
    start = len(world.calls)
    healed = deploy(site, world)
    assert [e.stage for e in healed.steps if e.outcome == "changed"] == [
        "action:galera-anonymous-users"]
    assert len([c for c in calls_since(world, start) if asks_rabbitmq_accounts(c)]) == 2


# Resume after a kill: the process dies at a step of the first deploy, and a second run
# must end where an uninterrupted deploy ends, without doing twice what must be done once.

def first_call(found: Callable[[Call], bool]) -> Callable[[World], int]:
    return lambda world: first_index(world.calls, found)


def last_call(found: Callable[[Call], bool]) -> Callable[[World], int]:
    return lambda world: max(i for i, c in enumerate(world.calls) if found(c))


# Where a first deploy is killed: its index in the uninterrupted run's calls.
KILL_POINTS: dict[str, Callable[[World], int]] = {
    "installing packages on n2": first_call(on("n2", lambda c: c.rule == "apt-get install")),
    "writing corosync's key on n3": first_call(on("n3", lambda c: c.argv == (
        "put", "/etc/corosync/authkey"))),
    # The last file of a folder whose files a command must read again (sysctl --system,
    # systemctl daemon-reload): the re-run finds them right and writes nothing.
    "writing the sysctl settings on n2": last_call(on("n2", lambda c: c.argv[0] == "put"
                                                      and c.argv[1].startswith("/etc/sysctl.d/"))),
    "writing the systemd drop-ins on n1": last_call(on("n1", lambda c: c.argv[0] == "put" and
                                                       c.argv[1].startswith("/etc/systemd/"))),
    "starting the cluster stack on n2": first_call(on("n2", starts_stack)),
    "pushing the fencing": lambda world: world.pushes[0].call,
    "pushing galera": lambda world: next(p.call for p in world.pushes
                                         if "galera" in p.resources),
    "creating galera's user": lambda world: world.writes[0].call,
    "creating RabbitMQ's account": lambda world: next(
        w.call for w in world.writes if w.what.startswith("account")),
}


def kill_at(reference: World, index: int, after: bool, start: int = 0) -> Kill:
    """The kill at call ``index`` of the reference run that began at call ``start``, by
    its host's count."""
    target = reference.calls[index]
    return Kill(target.host, sum(1 for c in reference.calls[start:index + 1]
                                 if c.host == target.host), after)


# Killed just after each (the node did it, the engine never learned), and before a few:
# "before" a call is "after" the one before it, so every point costs a run (~0.3 s).
KILLS = [(point, True) for point in KILL_POINTS] + [
    ("starting the cluster stack on n2", False), ("pushing galera", False)]


@pytest.mark.parametrize(("point", "after"), KILLS,
                         ids=[f"{p}-{'after' if a else 'before'}" for p, a in KILLS])
def test_a_killed_first_deploy_finishes_when_run_again(site: Path, first: Run, point: str,
                                                        after: bool) -> None:
    index = KILL_POINTS[point](first.world)
    world = World(MEMBERS)
    with pytest.raises(Killed):
        deploy(site, world, kill_at(first.world, index, after))
    assert [c.argv for c in world.calls] == [c.argv for c in first.world.calls[
        :index + after]]  # died exactly there
    deploy(site, world)
    assert world.state() == first.world.state()
    # Done once whatever the kill interrupted: the cluster formed once (no member started
    # twice), each account and grant made once; a first deploy restarts nothing.
    assert Counter(c.host for c in world.calls if starts_stack(c)) == Counter(MEMBERS)
    assert Counter(w.what for w in world.writes) == Counter(w.what for w in
                                                            first.world.writes)
    assert world.restarts == []


def test_a_first_deploy_killed_after_writing_keys_resumes_with_the_same_secrets(
        first: Run, tmp_path: Path) -> None:
    """The secrets a first deploy generates are saved before any node gets one: a run
    killed after writing keys finds them in the file, not new ones the nodes never had."""
    site = tmp_path / LAB3.name
    shutil.copy(LAB3, site)
    index = KILL_POINTS["writing corosync's key on n3"](first.world)
    world = World(MEMBERS)
    with pytest.raises(Killed):
        deploy(site, world, kill_at(first.world, index, after=True))
    deploy(site, world)
    session = Session(site)
    cluster = session.rendering(SCOPE).clusters[0].name
    key = read_secrets(session.loaded.secrets_path)[f"corosync-authkey-{cluster}"]
    assert {n.files["/etc/corosync/authkey"].data for n in world.nodes.values()} == {
        base64.b64decode(key)}


# A change of configuration on a converged site.

def test_a_changed_setting_restarts_its_service_one_node_at_a_time(
        site: Path, first: Run, tmp_path: Path) -> None:
    """A longer corosync token changes Galera's suspect timeout in 60-galera.cnf on every
    member: each member's Galera is restarted in turn, the cluster settled before each,
    and nothing else is restarted. RabbitMQ's accounts, asked once the files were written,
    are asked again after the restarts (what changed may be what a probe sees)."""
    changed = changed_site(site, tmp_path, "token_ms: 1000", "token_ms: 1500")
    world = copy.deepcopy(first.world)
    start = len(world.calls)
    deployed = deploy(changed, world)
    assert world.restarts == [Restart("galera-clone", m, 1) for m in MEMBERS]
    assert [(e.stage, e.node) for e in deployed.steps if e.stage.startswith("restart")] == [
        ("restart:galera", m) for m in MEMBERS]
    calls = calls_since(world, start)
    marker = ("rm", "-f", f"{RESTART_DIR}/galera")
    restarts = [i for i, c in enumerate(calls) if c.rule == "restart bans"]
    for n, (i, member) in enumerate(zip(restarts, MEMBERS, strict=True)):
        before = calls[restarts[n - 1] if n else 0:i]
        assert any(c.rule == "crm_resource wait" for c in before), "restarted unsettled"
        after = calls[i:restarts[n + 1] if n + 1 < len(restarts) else len(calls)]
        assert any(c.host == member and c.argv == marker for c in after), \
            f"{member}'s mark outlived its restart"
    for member in MEMBERS:  # marked before the file is written: a kill between still restarts
        mine = calls_since(world, start, member)
        marked = first_index(mine, lambda c: c.rule == "restart marks" and "galera" in c.argv)
        assert marked < first_index(mine, lambda c: c.argv == ("put", GALERA_CONF))
    asked = [i for i, c in enumerate(calls) if asks_rabbitmq_accounts(c)]
    assert len(asked) == 2 and asked[0] < restarts[0] < asked[1]
    again = deploy(changed, world)
    assert not again.changed


def test_a_run_killed_after_writing_a_new_configuration_still_restarts_its_service(
        site: Path, first: Run, tmp_path: Path) -> None:
    changed = changed_site(site, tmp_path, "token_ms: 1000", "token_ms: 1500")
    uninterrupted = copy.deepcopy(first.world)
    deploy(changed, uninterrupted)
    world = copy.deepcopy(first.world)
    start = len(world.calls)
    kill = kill_at(uninterrupted, first_index(uninterrupted.calls[start:], on(
        "n2", lambda c: c.argv == ("put", GALERA_CONF))) + start, after=True, start=start)
    with pytest.raises(Killed):
        deploy(changed, world, kill)
    assert world.restarts == []
    deploy(changed, world)
    assert sorted(r.node or "" for r in world.restarts) == list(MEMBERS)
    assert world.state() == uninterrupted.state()


def test_a_rolling_restart_killed_with_a_member_stopped_goes_on_from_that_member(
        site: Path, first: Run, tmp_path: Path) -> None:
    """Killed right after n2's Galera was banned for its restart (stopped there): the next
    run lifts the ban, restarts n2 and n3, not n1 again, and ends as an uninterrupted one."""
    changed = changed_site(site, tmp_path, "token_ms: 1000", "token_ms: 1500")
    uninterrupted = copy.deepcopy(first.world)
    start = len(uninterrupted.calls)
    deploy(changed, uninterrupted)
    bans = [i for i, c in enumerate(uninterrupted.calls) if c.rule == "restart bans"]
    world = copy.deepcopy(first.world)
    with pytest.raises(Killed):
        deploy(changed, world, kill_at(uninterrupted, bans[1], after=True, start=start))
    world.settle()
    assert "n2" not in world.running_on("galera-clone")
    restarted = len(world.restarts)
    deploy(changed, world)
    assert [r.node for r in world.restarts[restarted:]] == ["n2", "n3"]
    assert world.state() == uninterrupted.state()


def test_a_change_of_what_members_speak_restarts_them_all_at_once(
        site: Path, first: Run, tmp_path: Path) -> None:
    """TLS between Galera's members (and RabbitMQ's): one member restarted alone could not
    rejoin the others, so each service restarts on every member at once, once."""
    changed = changed_site(site, tmp_path, "openstack: {workers: 1}",
                           "openstack: {workers: 1, internal_tls: true}")
    world = copy.deepcopy(first.world)
    deployed = deploy(changed, world)
    assert world.restarts == [Restart("galera-clone", None, 1),
                              Restart("rabbitmq-clone", None, 1)]
    assert [(e.stage, e.node) for e in deployed.steps if e.stage.startswith("restart")] == [
        ("restart:galera", None), ("restart:rabbitmq", None)]
    assert not [p for n in world.nodes.values() for p in n.files
                if p.startswith(f"{RESTART_DIR}/")]
    assert not deploy(changed, world).changed


def test_a_node_the_site_no_longer_lists_is_removed_from_the_cluster_once(
        site: Path, first: Run) -> None:
    """A remote node the cluster still knows but the site does not (a compute taken out of
    it): the deploy removes it last, with crm_node, and a re-run has nothing left to do."""
    world = copy.deepcopy(first.world)
    world.remotes.append("cmp9")
    start = len(world.calls)
    deployed = deploy(site, world)
    removed = [c for c in calls_since(world, start) if c.rule == "crm_node remove"]
    assert [c.argv[-1] for c in removed] == ["cmp9"] and world.remotes == []
    assert [e.stage for e in deployed.steps if e.outcome == "changed"] == ["departed:openstack"]
    assert not deploy(site, world).changed


N4 = ("  - {name: n4, address: 198.18.0.14, role: controller,\n"
      "     fencing: {type: lab, address: 198.18.0.114, pdu: {name: pdu1, outlet: 4}}}\n"
      "services:")


def _grown(site: Path, first: Run, folder: Path) -> tuple[World, Path]:
    world = copy.deepcopy(first.world)
    world.add_member("n4")
    return world, changed_site(site, folder, "services:", N4)


def test_a_controller_added_joins_in_standby_once_fenceable_and_leaves_it_last(
        site: Path, first: Run, tmp_path: Path) -> None:
    """The running members reload corosync.conf and the new member's fencing is pushed
    before its stack starts, in standby; standby is lifted after the last push, the quorum
    queues are then grown onto its broker, and a re-run has nothing left to do."""
    world, grown = _grown(site, first, tmp_path)
    start = len(world.calls)
    deployed = deploy(grown, world)
    calls = calls_since(world, start)
    stack = first_index(calls, on("n4", starts_stack))
    reloaded = {c.host for c in calls[:stack] if c.rule == "corosync reload"}
    assert reloaded == set(MEMBERS), reloaded
    fencing = next(p for p in world.pushes if p.call >= start)
    assert "fence-n4" in fencing.resources and "n4" not in fencing.online
    assert fencing.call - start < stack
    lifted = first_index(calls, lambda c: c.rule == "standby off")
    assert lifted > max(p.call - start for p in world.pushes)
    assert world.standby() == set() and "n4" in world.running_on("galera-clone")
    grown_at = first_index(calls, lambda c: c.rule == "rabbitmq grow" and "grow" in c.argv[4:5])
    assert grown_at > lifted and "rabbit@n4" in (world.broker.replicas or set())
    assert JOIN_DROPIN not in world.nodes["n4"].files
    assert "join:openstack" in [e.stage for e in deployed.steps if e.outcome == "changed"]
    # As the operator reads it: the fencing stage is reported before the cluster's.
    stages = [e.stage for e in deployed.steps]
    assert stages.index("fencing:openstack") < stages.index("cluster:openstack"), stages
    assert not deploy(grown, world).changed


def test_a_dry_run_asks_nothing_of_a_node_not_deployed_yet(
        site: Path, first: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new member holds none of its files: the one-time actions that would run there are
    reported as owed, never probed there (a probe on a bare node cannot tell), and the dry
    run changes nothing anywhere. (Its crm_simulate proof is test_deploy_preview's: this
    world does not model Pacemaker's tools.)"""

    async def no_preview(d: object) -> None:
        return None

    monkeypatch.setattr(apply, "_preview", no_preview)
    world, grown = _grown(site, first, tmp_path)
    start = len(world.calls)
    dry = deploy_command.deploy(RecordedSession(grown, world=world), scope=SCOPE,
                                dry_run=True)
    owed = [e for e in dry.steps if e.stage.startswith("action:") and e.node == "n4"]
    assert owed and all(e.outcome == "would change" and "once n4 is deployed" in e.detail
                        for e in owed), owed
    assert not [c for c in calls_since(world, start) if changes_something(c)]


def test_a_join_killed_while_in_standby_is_finished_by_the_next_run(
        site: Path, first: Run, tmp_path: Path) -> None:
    """Killed once the new member runs in standby, before the run lifted it: the next run
    (which finds it already in the cluster) still lifts it."""
    world, grown = _grown(site, first, tmp_path)
    reference = copy.deepcopy(world)
    start = len(reference.calls)
    deploy(grown, reference)
    calls = calls_since(reference, start)
    lifted = first_index(calls, lambda c: c.rule == "standby off")
    nth = sum(1 for c in calls[:lifted + 1] if c.host == calls[lifted].host)
    with pytest.raises(Killed):
        deploy(grown, world, Kill(calls[lifted].host, nth))
    assert world.standby() == {"n4"}
    deploy(grown, world)
    assert world.standby() == set() and "n4" in world.running_on("galera-clone")
    assert not deploy(grown, world).changed


def test_a_stopped_controller_taken_out_of_the_site_is_forgotten_everywhere_once(
        site: Path, first: Run) -> None:
    """A member the cluster still knows, stopped, that the site no longer lists: RabbitMQ
    forgets its broker and the cluster the node; a re-run has nothing left to do."""
    world = copy.deepcopy(first.world)
    world.left.append("n4")
    start = len(world.calls)
    deployed = deploy(site, world)
    calls = calls_since(world, start)
    forgot = [c for c in calls if c.rule == "rabbitmq forget" and c.argv[4] == "forget"]
    assert [c.host for c in forgot] == ["n1"] and world.broker.forgotten == {"rabbit@n4"}
    removed = [c.argv[-1] for c in calls if c.rule == "crm_node remove"]
    assert removed == ["n4"] and world.left == []
    assert first_index(calls, lambda c: c.rule == "rabbitmq forget") < \
        first_index(calls, lambda c: c.rule == "crm_node remove")
    assert "departed:openstack" in [e.stage for e in deployed.steps if e.outcome == "changed"]
    assert not deploy(site, world).changed


def test_a_controller_taken_out_of_the_site_while_it_runs_is_refused_untouched(
        site: Path, first: Run, tmp_path: Path) -> None:
    """Its cluster still counts it online: exit 2 naming it and how to stop it first, and
    nothing done on any node."""
    world, grown = _grown(site, first, tmp_path)
    deploy(grown, world)
    start = len(world.calls)
    with pytest.raises(UsageError) as refused:
        deploy(site, world)
    assert refused.value.code == "departing-member-running" and "n4" in refused.value.what
    assert "maintain" in refused.value.fix
    assert not [c for c in calls_since(world, start) if changes_something(c)]


class Steps(Progress):
    """What the CLI's progress hears of a deploy: the steps started and not ended yet."""

    def __init__(self) -> None:
        self.running: list[tuple[str, str | None]] = []
        self.started_ever: list[tuple[str, str | None]] = []
        self.counts: list[tuple[int, int | None]] = []

    def started(self, what: str, where: str | None = None) -> None:
        self.running.append((what, where))
        self.started_ever.append((what, where))

    def ended(self, what: str, where: str | None = None, *, head: str = "", body: str = ""
              ) -> None:
        if (what, where) in self.running:
            self.running.remove((what, where))

    def counted(self, label: str, done: int, total: int | None, current: str = "") -> None:
        self.counts.append((done, total))


def watched_deploy(site: Path, world: World) -> Steps:
    steps = Steps()
    session = RecordedSession(site, world=world, watch=steps,
                              progress=lambda e: steps.ended(e.stage, e.node))
    deploy_command.deploy(session, scope=SCOPE)
    return steps


def test_every_step_said_to_start_ends_with_its_event(site: Path, first: Run,
                                                      tmp_path: Path) -> None:
    """The live progress shows a step from its start to its event: none may be left running
    (a first deploy, a re-run, a controller joining); the services are counted up to all."""
    steps = watched_deploy(site, World(MEMBERS))
    assert steps.running == []
    kinds = {what.split(":")[0] for what, _ in steps.started_ever}
    assert kinds >= {"prepare", "cluster", "fencing", "service", "action", "backends"}
    assert steps.counts[-1][0] == steps.counts[-1][1]
    assert watched_deploy(site, copy.deepcopy(first.world)).running == []
    (tmp_path / "changed").mkdir()
    (tmp_path / "grown").mkdir()
    changed = changed_site(site, tmp_path / "changed", "token_ms: 1000", "token_ms: 1500")
    restarted = watched_deploy(changed, copy.deepcopy(first.world))
    assert restarted.running == [] and ("restart:galera", "n1") in restarted.started_ever
    world, grown = _grown(site, first, tmp_path / "grown")
    joined = watched_deploy(grown, world)
    assert joined.running == [] and ("join:openstack", None) in joined.started_ever
