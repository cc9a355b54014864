"""A recording transport for the deploy engine's unit tests (docs/style.md §6).

Each node of a site gets a ``RecordingTransport`` over one shared ``World``: the nodes'
files, packages and systemd units, the Pacemaker cluster they form (its CIB, who is online,
what runs where) and the state of the replicated services the engine's one-time actions
change (Galera's users, RabbitMQ's accounts). Every call is recorded in order, across nodes.

Commands are answered from ``RULES``, a table of the exact commands the engine sends, each
with what it does to the world and what it prints, in the shapes the engine's parsers read
(crm_mon's XML, ``cibadmin --query``, HAProxy's ``show stat`` CSV, the stat script's lines).
A command no rule knows fails the test naming its argv: a new engine command needs a rule
here, never a silent success.

Time is modelled by what the engine looks at, not by clocks: a started member joins the
membership while the engine looks (the first crm_mon after its start does not see it yet),
and a pushed configuration runs once the cluster has settled (``crm_resource --wait``, or a
new run: time passed). An engine that sleeps more than a few times is waiting for something
this world never does, and fails the test (``no_waiting``). Not modelled: resource failures,
Pacemaker's placement beyond "a clone runs on every online member, a primitive on the first
one not banned from it", and what runs inside a resource agent (Galera's own bootstrap of
its most advanced member is ocf:heartbeat:galera's, not the engine's).
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import hashlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from posixpath import dirname

from lxml import etree

from hastack.catalog.rabbitmq import ACCOUNTS as RABBITMQ_ACCOUNTS
from hastack.catalog.rabbitmq import FORGET as RABBITMQ_FORGET
from hastack.catalog.rabbitmq import GROW as RABBITMQ_GROW
from hastack.deploy import rekey
from hastack.deploy.apply import JOIN_DROPIN, RESTART_DIR
from hastack.deploy.files import STAT_SCRIPT
from hastack.deploy.in_force import COROSYNC_CONF, PENDING_DIR, RENICE
from hastack.errors import TransportError
from hastack.haproxy_stats import ADMIN_SOCKET
from hastack.pacemaker.live import RESTART_BAN
from hastack.render.hosted import DROPIN as HOSTED_DROPIN
from hastack.render.pacemaker_units import TMPFILES as PACEMAKER_PATHS_FILE
from hastack.render.priority import DROPIN as PRIORITY_DROPIN
from hastack.transport.base import Result
from hastack.unit_states import SCRIPT as UNIT_STATES_SCRIPT

# Taken before a test replaces asyncio.sleep (no_waiting): the transport's own yields.
_yield = asyncio.sleep


class Killed(BaseException):
    """The deploy process dies here (kill -9): a BaseException, so that nothing in the
    engine catches it and carries on."""


class UnexpectedCommand(AssertionError):
    """The engine ran a command no rule answers."""


@dataclass(frozen=True)
class File:
    data: bytes
    owner: str = "root"
    group: str = "root"
    mode: int = 0o644


@dataclass
class Node:
    name: str
    files: dict[str, File] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)
    enabled: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)  # by systemctl (Pacemaker's: derived)
    # The files under a folder of READ_BY as they were when its command last read them.
    read: dict[str, bytes] = field(default_factory=dict)

    def not_in_force(self) -> list[str]:
        """Files under a folder of READ_BY that changed since its command last read them."""
        return sorted(p for p, f in self.files.items()
                      if p.startswith(tuple(READ_BY)) and self.read.get(p) != f.data)

    def reread(self, folder: str) -> None:
        self.read.update({p: f.data for p, f in self.files.items() if p.startswith(folder)})


@dataclass(frozen=True)
class Call:
    host: str
    argv: tuple[str, ...]  # ("put", path) for a put, ("get", path) for a get
    rule: str
    returncode: int


@dataclass(frozen=True)
class Push:
    """A ``cibadmin --replace``: the primitives the CIB held after it, and the cluster."""

    call: int  # its index in World.calls
    resources: tuple[str, ...]
    online: tuple[str, ...]
    quorate: bool


@dataclass(frozen=True)
class Restart:
    resource: str
    node: str | None  # None: on every node at once
    concurrent: int  # restarts in flight when this one began, itself included


@dataclass(frozen=True)
class Write:
    """A one-time action that changed a replicated service, and where that ran then."""

    call: int
    host: str
    what: str
    running_on: tuple[str, ...]


@dataclass
class Database:
    """Galera's replicated grant tables, as far as the catalog's SQL reads and writes them."""

    passwords: dict[str, set[str]] = field(default_factory=dict)  # user -> accepted
    grants: dict[str, str] = field(default_factory=dict)  # user -> database
    anonymous: bool = True


@dataclass
class Broker:
    """RabbitMQ's accounts (replicated to every member); guest exists from the first start."""

    passwords: dict[str, str] = field(default_factory=lambda: {"guest": "guest"})
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)  # members rabbitmqctl forgot
    # Members holding a replica of the quorum queues; None: every member (declared before
    # any joined later), until rabbitmq-queues grow names one.
    replicas: set[str] | None = None


@dataclass(frozen=True)
class Kill:
    """Kill the deploy at ``host``'s ``nth`` call (put or command) of a run: before it takes
    effect, or just after (the node did it; the engine never learns)."""

    host: str
    nth: int
    after: bool = False


# Debian's maintainer scripts: a daemon's package enables and starts it on install, and
# some leave configuration of their own (pacemaker an authkey, corosync a corosync.conf)
# which the deploy finds and replaces.
PACKAGE_UNITS = {"haproxy": "haproxy", "memcached": "memcached",
                 "rabbitmq-server": "rabbitmq-server", "mariadb-server": "mariadb"}
PACKAGE_FILES = {
    "pacemaker": {"/etc/pacemaker/authkey": File(b"key of the package", "hacluster",
                                                 "haclient", 0o440)},
    "corosync": {"/etc/corosync/corosync.conf": File(b"totem {\n    cluster_name: debian\n}\n")},
}
# Folders whose files take effect when a command reads them again (see Node.read).
READ_BY = {"/etc/sysctl.d/": ("sysctl", "--system"),
           "/etc/systemd/system/": ("systemctl", "daemon-reload"),
           COROSYNC_CONF: ("corosync-cfgtool", "-R")}  # or corosync's start
# A fresh Debian node's own files that the deploy rewrites.
BASE_FILES = {"/etc/hosts": File(b"127.0.0.1\tlocalhost\n")}
# HAProxy's backend checks: which resource must run on a server's node, and which unit
# answers the check there (galera: hastack's check socket on port 9200).
BACKENDS = {"galera": ("galera-clone", "galera-check.socket")}
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
LOCAL_CAS = "/usr/local/share/ca-certificates/"
NOT_RUNNING = (102, "Connection to cluster failed: Transport endpoint is not connected")

Answer = tuple[int, str, str]  # returncode, stdout, stderr


def ok(stdout: str = "") -> Answer:
    return 0, stdout, ""


def fail(returncode: int, stderr: str) -> Answer:
    return returncode, "", stderr


class World:
    """The nodes of one site, the cluster they form, and everything run on them."""

    def __init__(self, members: Sequence[str]) -> None:
        self.members = tuple(members)
        self.nodes = {m: Node(m, files=dict(BASE_FILES)) for m in members}
        self.cib: etree._Element | None = None
        self.settled: etree._Element | None = None  # the configuration that runs
        self.joining: set[str] = set()  # started, not yet seen in the membership
        self.db = Database()
        self.broker = Broker()
        self.calls: list[Call] = []
        self.pushes: list[Push] = []
        self.restarts: list[Restart] = []
        self.writes: list[Write] = []
        self.in_flight = 0
        # Remote nodes the cluster knows (offline: no connection resource of this site's).
        self.remotes: list[str] = []
        self.left: list[str] = []  # members the site no longer lists, stopped, still known
        self.kill: Kill | None = None
        self.dead = False

    def add_member(self, name: str) -> None:
        """A fresh machine added to the site (a controller joining)."""
        if self.broker.replicas is None:  # the queues were declared before it joined
            self.broker.replicas = {f"rabbit@{m}" for m in self.members}
        self.members += (name,)
        self.nodes[name] = Node(name, files=dict(BASE_FILES))

    def standby(self) -> set[str]:
        if self.cib is None:
            return set()
        return {n.get("uname", "") for n in self.cib.iterfind("configuration/nodes/node")
                if n.find("instance_attributes/nvpair[@name='standby'][@value='on']")
                is not None}

    def node_id(self, name: str) -> int:
        """The corosync node id the member's own corosync.conf gives it."""
        conf = self.nodes[name].files[COROSYNC_CONF].data.decode()
        found = re.search(rf"name: {re.escape(name)}\n\s*nodeid: (\d+)", conf)
        assert found, f"{name} is not in its own corosync.conf"
        return int(found.group(1))

    def seen(self, name: str) -> None:
        """Pacemaker lists a member in the CIB when it first joins, in standby when its
        start said so (PCMK_node_start_state in the deploy's drop-in)."""
        nodes = self.cib.find("configuration/nodes") if self.cib is not None else None
        if nodes is None or nodes.find(f"node[@uname='{name}']") is not None:
            return
        node = etree.SubElement(nodes, "node", id=str(self.node_id(name)), uname=name)
        if JOIN_DROPIN in self.nodes[name].files:
            attrs = etree.SubElement(node, "instance_attributes", id=f"nodes-{name}")
            etree.SubElement(attrs, "nvpair", id=f"nodes-{name}-standby", name="standby",
                             value="on")

    def transports(self, kill: Kill | None = None) -> dict[str, RecordingTransport]:
        """Fresh transports for one deploy run (the process starts again: alive, counting
        its calls from one), killed per ``kill``."""
        self.kill, self.dead, self.in_flight = kill, False, 0
        self.settle()
        self.joining.clear()
        return {m: RecordingTransport(m, self) for m in self.members}

    # The cluster, derived from the units started and the CIB.

    def online(self) -> tuple[str, ...]:
        return tuple(m for m in self.members if m not in self.joining
                     and {"corosync", "pacemaker"} <= self.nodes[m].started)

    def settle(self) -> None:
        """The cluster acts on its configuration: what the CIB holds runs from now on."""
        if self.cib is not None:
            self.settled = copy.deepcopy(self.cib.find("configuration"))

    def quorate(self) -> bool:
        return 2 * len(self.online()) > len(self.members)

    def placed(self) -> Iterator[tuple[etree._Element, str | None, tuple[str, ...]]]:
        """(primitive, its clone's id, the nodes it runs on) for every primitive of the CIB;
        nothing runs without quorum (no-quorum-policy=stop)."""
        if self.settled is None:
            return
        standby = self.standby()
        online = tuple(m for m in self.online() if m not in standby) if self.quorate() else ()
        banned = {(c.get("rsc"), c.get("node")) for c in self.settled.iterfind(
            "constraints/rsc_location") if c.get("score") == "-INFINITY"}
        for top in self.settled.iterfind("resources/*"):
            rid = top.get("id", "")
            allowed = tuple(m for m in online if (rid, m) not in banned)
            for primitive in top.iter("primitive"):
                if top.tag == "clone":
                    yield primitive, rid, allowed
                else:
                    yield primitive, None, allowed[:1]

    def running_on(self, rid: str) -> tuple[str, ...]:
        """Where a primitive, or any instance of a clone, runs."""
        return tuple(sorted({n for p, clone, nodes in self.placed()
                             if rid in (p.get("id"), clone) for n in nodes}))

    def unit_active(self, node: str, unit: str) -> bool:
        if unit in self.nodes[node].started:
            return True
        return any(p.get("class") == "systemd" and p.get("type") == unit and node in nodes
                   for p, _, nodes in self.placed())

    def _promotable(self, clone: str) -> bool:
        assert self.settled is not None
        return any(nv.get("name") == "promotable" and nv.get("value") == "true"
                   for nv in self.settled.iterfind(
                       f"resources/clone[@id='{clone}']/meta_attributes/nvpair"))

    def crm_mon(self) -> str:
        """``crm_mon --output-as=xml --inactive`` as parse_crm_mon reads it."""
        online = self.online()
        dc = online[0] if online else None
        root = etree.Element("pacemaker-result", {"api-version": "2.25",
                                                  "request": "crm_mon --output-as=xml"})
        summary = etree.SubElement(root, "summary")
        etree.SubElement(summary, "current_dc", {
            "present": str(dc is not None).lower(), "name": dc or "",
            "with_quorum": str(self.quorate()).lower()})
        nodes = etree.SubElement(root, "nodes")
        for index, m in enumerate(self.members, start=1):
            etree.SubElement(nodes, "node", {
                "name": m, "id": str(index), "online": str(m in online).lower(),
                "standby": str(m in self.standby()).lower(), "unclean": "false",
                "is_dc": str(m == dc).lower(), "type": "member"})
        for name in self.remotes:
            etree.SubElement(nodes, "node", {
                "name": name, "id": name, "online": "false", "standby": "false",
                "unclean": "false", "is_dc": "false", "type": "remote"})
        for name in self.left:
            etree.SubElement(nodes, "node", {
                "name": name, "id": name, "online": "false", "standby": "false",
                "unclean": "false", "is_dc": "false", "type": "member"})
        resources = etree.SubElement(root, "resources")
        clones: dict[str, etree._Element] = {}
        for primitive, clone, where in self.placed():
            parent = resources
            if clone is not None:
                if clone not in clones:
                    clones[clone] = etree.SubElement(resources, "clone", id=clone)
                parent = clones[clone]
            started = "Promoted" if clone is not None and self._promotable(clone) else "Started"
            agent = ":".join(x for x in (primitive.get("class"), primitive.get("provider"),
                                         primitive.get("type")) if x)
            for node in where or (None,):
                el = etree.SubElement(parent, "resource", {
                    "id": primitive.get("id", ""), "resource_agent": agent,
                    "role": started if node else "Stopped",
                    "active": str(node is not None).lower(), "failed": "false",
                    "blocked": "false"})
                if node is not None:
                    etree.SubElement(el, "node", name=node)
        return etree.tostring(root, encoding="unicode")

    def form(self) -> None:
        """The CIB a new cluster starts with: Pacemaker's own properties and the nodes."""
        if self.cib is not None:
            return
        nodes = "".join(f'<node id="{i}" uname="{m}"/>'
                        for i, m in enumerate(self.members, start=1))
        self.cib = etree.fromstring(
            '<cib validate-with="pacemaker-3.9" admin_epoch="0" epoch="4" num_updates="0">'
            '<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">'
            '<nvpair id="cib-bootstrap-options-dc-version" name="dc-version" '
            'value="2.1.5-a3f44794f94"/><nvpair id="cib-bootstrap-options-cluster-name" '
            'name="cluster-name" value="debian"/></cluster_property_set></crm_config>'
            f"<nodes>{nodes}</nodes><resources/><constraints/></configuration><status/></cib>")

    def state(self) -> dict[str, object]:
        """Everything a deploy leaves behind, comparable between two worlds."""
        config = self.cib.find("configuration") if self.cib is not None else None
        return {
            "nodes": {n.name: {
                "files": dict(sorted(n.files.items())), "dirs": sorted(n.dirs),
                "packages": sorted(n.packages), "enabled": sorted(n.enabled),
                "not in force": n.not_in_force(),
                "active": sorted(u for u in {*n.started, *PACKAGE_UNITS.values()}
                                 if self.unit_active(n.name, u))}
                for n in self.nodes.values()},
            "cib": b"" if config is None else etree.tostring(config, method="c14n"),
            "online": self.online(),
            "remotes": list(self.remotes),
            "db": (self.db.passwords, self.db.grants, self.db.anonymous),
            "broker": (self.broker.passwords, self.broker.permissions),
        }


@dataclass(frozen=True)
class Ask:
    """One command as a rule sees it."""

    world: World
    host: str
    argv: tuple[str, ...]
    stdin: bytes | None

    @property
    def node(self) -> Node:
        return self.world.nodes[self.host]

    @property
    def index(self) -> int:
        """The index this command's Call gets in World.calls."""
        return len(self.world.calls)


@dataclass(frozen=True)
class Rule:
    what: str
    matches: Callable[[tuple[str, ...]], bool]
    answer: Callable[[Ask], Answer | Awaitable[Answer]]


class RecordingTransport:
    """One node, answering from RULES; see the module's docstring."""

    def __init__(self, host: str, world: World) -> None:
        self.host = host
        self.world = world
        self.count = 0

    def _enter(self, what: tuple[str, ...]) -> None:
        world = self.world
        if world.dead:
            raise Killed(f"{self.host}: {what} after the kill")
        self.count += 1
        kill = world.kill
        if kill and kill.host == self.host and kill.nth == self.count and not kill.after:
            world.dead = True
            raise Killed(f"{self.host}: killed at {what}")

    def _leave(self, what: tuple[str, ...]) -> None:
        kill = self.world.kill
        if kill and kill.host == self.host and kill.nth == self.count and kill.after:
            self.world.dead = True
            raise Killed(f"{self.host}: killed after {what}")

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        args = tuple(argv)
        self._enter(args)
        rule = next((r for r in RULES if r.matches(args)), None)
        if rule is None:
            raise UnexpectedCommand(f"no rule answers {self.host} $ {list(args)}")
        answer = rule.answer(Ask(self.world, self.host, args, stdin))
        if inspect.isawaitable(answer):
            answer = await answer
        rc, out, err = answer
        self.world.calls.append(Call(self.host, args, rule.what, rc))
        self._leave(args)
        return Result(self.host, args, rc, out, err)

    async def put(self, path: str, data: bytes, *, owner: str = "root", group: str = "root",
                  mode: int = 0o644) -> None:
        self._enter(("put", path))
        node = self.world.nodes[self.host]
        _mkdir(node, dirname(path))
        node.files[path] = File(bytes(data), owner, group, mode)
        self.world.calls.append(Call(self.host, ("put", path), "put", 0))
        self._leave(("put", path))

    async def get(self, path: str) -> bytes:
        self._enter(("get", path))
        found = self.world.nodes[self.host].files.get(path)
        self.world.calls.append(Call(self.host, ("get", path), "get", 0 if found else 1))
        self._leave(("get", path))
        if found is None:
            raise TransportError(self.host, f"{path}: no such file")
        return found.data

    async def close(self) -> None:
        return None


def _mkdir(node: Node, path: str) -> None:
    while path not in ("/", ""):
        node.dirs.add(path)
        path = dirname(path)


# The rules: matchers.

def exact(*argv: str) -> Callable[[tuple[str, ...]], bool]:
    return lambda args: args == argv


def prefix(*argv: str) -> Callable[[tuple[str, ...]], bool]:
    return lambda args: args[:len(argv)] == argv


def script(text: str, name: str | None = None) -> Callable[[tuple[str, ...]], bool]:
    """``sh -c TEXT [NAME args...]``: the engine's script, word for word."""
    return lambda args: args[:3] == ("sh", "-c", text) and (
        len(args) == 3 if name is None else args[3:4] == (name,))


def script_like(pattern: str) -> Callable[[tuple[str, ...]], bool]:
    return lambda args: len(args) == 3 and args[:2] == ("sh", "-c") and bool(
        re.fullmatch(pattern, args[2]))


# The rules: answers.

def _ls(pattern: str) -> Callable[[Ask], Answer]:
    def answer(ask: Ask) -> Answer:
        found = sorted(p for p in ask.node.files if fnmatch.fnmatchcase(p, pattern))
        if not found:
            return fail(2, f"ls: cannot access '{pattern}': No such file or directory")
        return ok("".join(f"{p}\n" for p in found))
    return answer


def _architecture(ask: Ask) -> Answer:
    hosted = _ls(f"/etc/systemd/system/*.service.d/{HOSTED_DROPIN}")(ask)[0] == 0
    return ok("systemd\n" if hosted else "")


def _stat(ask: Ask) -> Answer:
    lines = []
    for path in ask.argv[4:]:
        f = ask.node.files.get(path)
        lines.append(f"- - {path}" if f is None else
                     f"{hashlib.sha256(f.data).hexdigest()} {f.owner}:{f.group}:{f.mode:o} "
                     f"{path}")
    return ok("".join(f"{line}\n" for line in lines))


def _dpkg_query(ask: Ask) -> Answer:
    wanted = ask.argv[4:]
    missing = [p for p in wanted if p not in ask.node.packages]
    return (1 if missing else 0,
            "".join(f"{p} installed\n" for p in wanted if p in ask.node.packages),
            "".join(f"dpkg-query: no packages found matching {p}\n" for p in missing))


def _apt_install(ask: Ask) -> Answer:
    node = ask.node
    for package in ask.argv[5:]:
        if package in node.packages:
            continue
        node.packages.add(package)
        if package in PACKAGE_UNITS:
            node.enabled.add(PACKAGE_UNITS[package])
            node.started.add(PACKAGE_UNITS[package])
        for path, f in PACKAGE_FILES.get(package, {}).items():
            _mkdir(node, dirname(path))
            node.files.setdefault(path, f)
    return ok()


def _touch(directory: str, paths: Sequence[str]) -> Callable[[Ask], Answer]:
    """``mkdir -p DIRECTORY && touch``: ``paths``, or the script's arguments in it."""
    def answer(ask: Ask) -> Answer:
        _mkdir(ask.node, directory)
        for path in paths or [f"{directory}/{name}" for name in ask.argv[4:]]:
            ask.node.files.setdefault(path, File(b""))
        return ok()
    return answer


def _trust_ca(ask: Ask) -> Answer:
    """The site CA into the system bundle unless its second line is there already (what
    update-ca-certificates makes of the local CAs: modelled as their concatenation)."""
    found = re.fullmatch(r'\[ ! -e (\S+) \] \|\| grep -qxF "\$\(sed -n 2p \1\)" (\S+) \|\| '
                         r"update-ca-certificates >/dev/null", ask.argv[2])
    if found is None or found[2] != SYSTEM_BUNDLE:
        raise UnexpectedCommand(f"no rule answers {ask.host} $ {list(ask.argv)}")
    files = ask.node.files
    if found[1] not in files:
        return ok()
    second = files[found[1]].data.decode().split("\n")[1]
    if second not in files.get(SYSTEM_BUNDLE, File(b"")).data.decode().split("\n"):
        files[SYSTEM_BUNDLE] = File(b"".join(f.data for p, f in sorted(files.items())
                                             if p.startswith(LOCAL_CAS)))
    return ok()


def _systemctl(ask: Ask) -> Answer:
    verb, *rest = ask.argv[1:]
    node, world = ask.node, ask.world
    now = rest[:1] == ["--now"]
    units = set(rest[1:] if now or rest[:1] == ["--quiet"] else rest)
    if verb == "is-active" and len(units) == 1:
        return (0 if world.unit_active(ask.host, units.pop()) else 3), "", ""
    if verb == "enable":
        node.enabled |= units
        if now:
            node.started |= units
    elif verb == "disable":
        node.enabled -= units
        if now:
            node.started -= units
    elif verb == "start":
        if "corosync" in units - node.started:
            node.reread(COROSYNC_CONF)
        if "pacemaker" in units - node.started:
            world.joining.add(ask.host)
            world.form()
            world.seen(ask.host)
        node.started |= units
    elif verb == "stop":
        node.started -= units
    elif verb == "reload":
        down = sorted(u for u in units if not world.unit_active(ask.host, u))
        if down:
            return fail(1, f"{down[0]}.service is not active, cannot reload.")
    elif verb == "daemon-reload" and not units:
        node.reread("/etc/systemd/system/")
    else:
        raise UnexpectedCommand(f"no rule answers {ask.host} $ {list(ask.argv)}")
    return ok()


def _enabled_and_active(ask: Ask) -> Answer:
    unit = ask.argv[2].split()[3]
    on = unit in ask.node.enabled and ask.world.unit_active(ask.host, unit)
    return (0 if on else 1), "", ""


def _unit_states(ask: Ask) -> Answer:
    return ok("".join(f"{u} {int(u in ask.node.enabled)} "
                      f"{int(ask.world.unit_active(ask.host, u))}\n" for u in ask.argv[4:]))


def _tmpfiles(ask: Ask) -> Answer:
    for line in ask.node.files[ask.argv[2]].data.decode().splitlines():
        words = line.split()
        if words[:1] == ["d"]:
            _mkdir(ask.node, words[1])
    return ok()


def _cat(ask: Ask) -> Answer:
    f = ask.node.files.get(ask.argv[1])
    if f is None:
        return fail(1, f"cat: {ask.argv[1]}: No such file or directory")
    return ok(f.data.decode())


def _rm(ask: Ask) -> Answer:
    for path in ask.argv[2:]:
        ask.node.files.pop(path, None)
    return ok()


def _pending(ask: Ask) -> Answer:
    """in_force.mark: the marks given set, every mark there listed."""
    _mkdir(ask.node, PENDING_DIR)
    files = ask.node.files
    for name in ask.argv[4:]:
        files[f"{PENDING_DIR}/{name}"] = File(b"")
    return ok("".join(f"{p.rsplit('/', 1)[1]}\n" for p in sorted(files)
                      if dirname(p) == PENDING_DIR))


def _cib_nodes(ask: Ask) -> Answer:
    nodes = etree.fromstring(_cib(ask)[1].encode()).find("configuration/nodes")
    return ok(etree.tostring(nodes, encoding="unicode") if nodes is not None else "<nodes/>")


def _rabbitmq_forget(ask: Ask) -> Answer:
    """The brokers know every member that ever ran RabbitMQ, until forgotten."""
    world = ask.world
    known = {f"rabbit@{m}" for m in (*world.members, *world.left)
             if m in world.left or world.unit_active(m, "rabbitmq-server")}
    known -= world.broker.forgotten
    others = known - set(ask.argv[5:])
    if ask.argv[4] == "gone":
        return (1 if others else 0), "", ""
    world.broker.forgotten |= others
    return ok()


def _rabbitmq_grow(ask: Ask) -> Answer:
    """Quorum queues keep the replicas they were declared with: a member that joined later
    holds none until grown onto it (only where its broker runs)."""
    world, broker = ask.world, ask.world.broker
    if broker.replicas is None:
        broker.replicas = {f"rabbit@{m}" for m in world.members}
    running = {f"rabbit@{m}" for m in world.running_on("rabbitmq-clone")}
    lacking = (running & set(ask.argv[5:])) - broker.replicas
    if ask.argv[4] == "check":
        return (1 if lacking else 0), "", ""
    broker.replicas |= lacking
    return ok()


def _standby_off(ask: Ask) -> Answer:
    assert ask.world.cib is not None
    name = ask.argv[2]
    for nv in ask.world.cib.iterfind(f"configuration/nodes/node[@uname='{name}']"
                                     "/instance_attributes/nvpair[@name='standby']"):
        nv.set("value", "off")
    return ok()


def _corosync_reload(ask: Ask) -> Answer:
    if "corosync" not in ask.node.started:
        return fail(1, "Could not initialize corosync configuration API error 2")
    ask.node.reread(COROSYNC_CONF)
    return ok()


def _sysctl(ask: Ask) -> Answer:
    ask.node.reread("/etc/sysctl.d/")
    return ok()


def _markers(ask: Ask) -> Answer:
    return ok("".join(f"{p}\n" for p in ask.argv[4:] if p in ask.node.files))


def _pacemaker(answer: Callable[[Ask], Answer]) -> Callable[[Ask], Answer]:
    """Pacemaker's tools answer only where the cluster stack runs."""
    def guarded(ask: Ask) -> Answer:
        if ask.host not in ask.world.online():
            return fail(*NOT_RUNNING)
        return answer(ask)
    return guarded


def _crm_mon(ask: Ask) -> Answer:
    world = ask.world
    answer = ok(world.crm_mon()) if ask.host in world.online() else fail(*NOT_RUNNING)
    world.joining.clear()  # the membership formed while the engine looked
    return answer


def _settle(ask: Ask) -> Answer:
    ask.world.settle()
    return ok()


def _cib(ask: Ask) -> Answer:
    assert ask.world.cib is not None
    return ok(etree.tostring(ask.world.cib, encoding="unicode"))


def _verify(ask: Ask) -> Answer:
    f = ask.node.files.get(ask.argv[2])
    if f is None or etree.fromstring(f.data).find("configuration/resources") is None:
        return fail(2, "crm_verify: no CIB in that file")
    return ok()


def _replace(ask: Ask) -> Answer:
    """The configuration replaced in one transaction (refused without quorum)."""
    world = ask.world
    assert world.cib is not None
    if not world.quorate():
        return fail(1, "Call cib_replace failed (-1): No quorum")
    config = etree.fromstring(ask.node.files[ask.argv[5]].data)
    old = world.cib.find("configuration")
    assert old is not None
    world.cib.replace(old, config)
    world.cib.set("epoch", str(int(world.cib.get("epoch", "0")) + 1))
    world.pushes.append(Push(ask.index, tuple(p.get("id", "") for p in config.iterfind(
        "resources//primitive")), world.online(), world.quorate()))
    return ok()


async def _restart(ask: Ask) -> Answer:
    """crm_resource --restart: stops and starts a resource (on one node, or everywhere),
    taking a few turns of the event loop, so that restarts run side by side overlap."""
    world, args = ask.world, ask.argv
    if ask.host not in world.online():
        return fail(*NOT_RUNNING)
    rid = args[3]
    node = args[5] if args[4] == "--node" else None
    if node is not None and node not in world.running_on(rid):
        return fail(1, f"{rid} is not running on {node}")
    world.in_flight += 1
    world.restarts.append(Restart(rid, node, world.in_flight))
    for _ in range(3):
        await _yield(0)
    world.in_flight -= 1
    return ok()


def _ban(ask: Ask) -> Answer:
    """live.restart_on_node's bans (cibadmin --modify of the constraints): each is a restart
    begun, side by side with those of the other nodes banned at the same time."""
    world = ask.world
    assert world.cib is not None
    constraints = world.cib.find("configuration/constraints")
    assert constraints is not None
    for ban in etree.fromstring(ask.argv[-1].encode()):
        constraints.append(ban)
        nodes = {c.get("node") for c in constraints.iterfind("rsc_location")
                 if c.get("id", "").startswith(RESTART_BAN)}
        world.restarts.append(Restart(ban.get("rsc", ""), ban.get("node"), len(nodes)))
    return ok()


def _delete_all(ask: Ask) -> Answer:
    assert ask.world.cib is not None
    for found in ask.world.cib.xpath(ask.argv[-1]):
        found.getparent().remove(found)
    return ok()


def _crm_node_remove(ask: Ask) -> Answer:
    name = ask.argv[-1]
    known = ask.world.left if name in ask.world.left else ask.world.remotes
    if name not in known:
        return fail(1, f"crm_node: {name} is not a known node")
    known.remove(name)
    return ok()


def _show_stat(ask: Ask) -> Answer:
    """HAProxy's ``show stat`` CSV for the proxies of this node's haproxy.cfg: a server is
    UP when what BACKENDS says answers its check runs on its node."""
    world = ask.world
    if ask.stdin != b"show stat\n":
        raise UnexpectedCommand(f"no rule answers {ask.host} $ socat <<< {ask.stdin!r}")
    if not world.unit_active(ask.host, "haproxy"):
        return fail(1, f"socat: connect({ADMIN_SOCKET}): No such file or directory")
    rows = ["# pxname,svname,scur,status"]
    proxy = None
    for line in ask.node.files["/etc/haproxy/haproxy.cfg"].data.decode().splitlines():
        words = line.split()
        if words[:1] in (["listen"], ["backend"]):
            proxy = words[1]
        elif words[:1] == ["server"] and proxy is not None:
            if proxy not in BACKENDS:
                raise UnexpectedCommand(f"no fixture says what answers HAProxy's {proxy}")
            rid, unit = BACKENDS[proxy]
            up = words[1] in world.running_on(rid) and world.unit_active(words[1], unit)
            rows.append(f"{proxy},{words[1]},0,{'UP' if up else 'DOWN'}")
    return ok("\n".join(rows) + "\n")


def _mysql(ask: Ask) -> Answer:
    """The catalog's SQL: reads and writes of the grant tables, only where Galera runs."""
    world, db = ask.world, ask.world.db
    running = world.running_on("galera-clone")
    if ask.host not in running:
        return fail(1, "ERROR 2002 (HY000): Can't connect to local server through socket "
                       "'/run/mysqld/mysqld.sock' (2)")
    sql = (ask.stdin or b"").decode()

    def wrote(what: str) -> Answer:
        world.writes.append(Write(ask.index, ask.host, what, running))
        return ok()

    if found := re.search(r"d\.Db = '(\w+)' AND d\.User = '(\w+)' .* PASSWORD\('(\w+)'\)", sql):
        database, user, password = found.groups()
        return ok("1\n" if db.grants.get(user) == database
                  and password in db.passwords.get(user, set()) else "")
    if found := re.search(r"global_priv WHERE User = '(\w+)' .* PASSWORD\('(\w+)'\) AND IFNULL",
                          sql):
        return ok("1\n" if db.passwords.get(found[1]) == {found[2]} else "")
    if "NOT EXISTS (SELECT 1 FROM mysql.user WHERE User = '')" in sql:
        return ok("" if db.anonymous else "1\n")
    if found := re.match(r"CREATE DATABASE IF NOT EXISTS `(\w+)`;\nCREATE USER IF NOT EXISTS "
                         r"'(\w+)'@'%' IDENTIFIED BY '(\w+)';\n", sql):
        database, user, password = found.groups()
        db.passwords.setdefault(user, set()).add(password)
        db.grants[user] = database
        return wrote(f"database and user {user}")
    if found := re.fullmatch(r"ALTER USER '(\w+)'@'%' IDENTIFIED BY '(\w+)';\n", sql):
        db.passwords[found[1]] = {found[2]}
        return wrote(f"password only {found[1]}")
    if sql.startswith("DROP USER IF EXISTS ''@"):
        db.anonymous = False
        return wrote("drop anonymous users")
    raise UnexpectedCommand(f"no rule answers {ask.host} $ mysql <<< {sql[:200]!r}")


def _rabbitmq_accounts(ask: Ask) -> Answer:
    """agents/rabbitmq_accounts.py (credentials on stdin), only where RabbitMQ runs."""
    world, broker = ask.world, ask.world.broker
    running = world.running_on("rabbitmq-clone")
    if ask.host not in running:
        return fail(1, "Error: unable to perform an operation on node 'rabbit@...'")
    mode, grants, absent = ask.argv[3], json.loads(ask.argv[4]), json.loads(ask.argv[5])
    lines = (ask.stdin or b"").decode().split("\n")
    accounts = list(zip(lines[0::2], lines[1::2], strict=False))[:len(grants)]
    wrong_password = [(n, p) for n, p in accounts if broker.passwords.get(n) != p]
    wrong_grant = [(n, tuple(g)) for (n, _), g in zip(accounts, grants, strict=True)
                   if broker.permissions.get(n) != tuple(g)]
    left = [n for n in absent if n in broker.passwords]
    if mode == "check":
        return (1 if wrong_password or wrong_grant or left else 0), "", ""
    for name, password in wrong_password:
        broker.passwords[name] = password
        world.writes.append(Write(ask.index, ask.host, f"account {name}", running))
    for name, grant in wrong_grant:
        broker.permissions[name] = grant
        world.writes.append(Write(ask.index, ask.host, f"permissions {name}", running))
    for name in left:
        broker.passwords.pop(name)
        world.writes.append(Write(ask.index, ask.host, f"delete {name}", running))
    return ok()


def _delete_user(ask: Ask) -> Answer:
    world, broker = ask.world, ask.world.broker
    running = world.running_on("rabbitmq-clone")
    if ask.host not in running:
        return fail(69, "Error: unable to perform an operation on node 'rabbit@...'")
    if broker.passwords.pop(ask.argv[2], None) is None:
        return fail(70, f"Error: user '{ask.argv[2]}' does not exist")
    world.writes.append(Write(ask.index, ask.host, f"delete {ask.argv[2]}", running))
    return ok()


RULES: tuple[Rule, ...] = (
    # Before anything: has hastack deployed this node (its drop-ins), and how.
    Rule("deployed?", script(f"ls /etc/systemd/system/*.service.d/{PRIORITY_DROPIN}"),
         _ls(f"/etc/systemd/system/*.service.d/{PRIORITY_DROPIN}")),
    Rule("architecture", script(f"ls /etc/systemd/system/*.service.d/{HOSTED_DROPIN} "
                                ">/dev/null 2>&1 && echo systemd; true"), _architecture),
    # Packages, files, units.
    Rule("dpkg-query", prefix("dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n"),
         _dpkg_query),
    Rule("apt-get update", exact("apt-get", "update", "-qq"), lambda ask: ok()),
    Rule("apt-get install", prefix("apt-get", "install", "-y", "-qq",
                                   "--no-install-recommends"), _apt_install),
    Rule("stat", script(STAT_SCRIPT, "hastack-stat"), _stat),
    Rule("restart marks", script(f"mkdir -p {RESTART_DIR} && cd {RESTART_DIR} && "
                                 'touch "$@"', "mark"), _touch(RESTART_DIR, ())),
    Rule("rekey mark", script(f"mkdir -p {dirname(rekey.MARK)} && touch {rekey.MARK}"),
         _touch(dirname(rekey.MARK), (rekey.MARK,))),
    Rule("markers", script('for f in "$@"; do [ ! -e "$f" ] || echo "$f"; done', "markers"),
         _markers),
    Rule("pending marks", script(f"mkdir -p {PENDING_DIR} && cd {PENDING_DIR} && "
                                 'for m in "$@"; do : >"$m"; done && ls -1', "mark"), _pending),
    Rule("sysctl", exact("sysctl", "--system"), _sysctl),
    Rule("corosync reload", exact("corosync-cfgtool", "-R"), _corosync_reload),
    Rule("crm_resource refresh", lambda args: args[:3] == ("crm_resource", "--refresh",
                                                         "--resource"),
         _pacemaker(lambda ask: ok())),
    Rule("rabbitmq forget", script(RABBITMQ_FORGET, "forget"), _rabbitmq_forget),
    Rule("rabbitmq grow", script(RABBITMQ_GROW, "grow"), _rabbitmq_grow),
    Rule("standby off", lambda args: args[:2] == ("crm_attribute", "--node")
         and args[3:] == ("--name", "standby", "--update", "off"), _pacemaker(_standby_off)),
    Rule("trust CA", script_like(r"\[ ! -e .* update-ca-certificates >/dev/null"), _trust_ca),
    Rule("renice", script(RENICE, "renice"), lambda ask: ok()),
    Rule("pacemaker paths", exact("systemd-tmpfiles", "--create", PACEMAKER_PATHS_FILE),
         lambda ask: ok()),
    Rule("unit states", script(UNIT_STATES_SCRIPT, "units"), _unit_states),
    Rule("enabled and active", script_like(
        r"systemctl is-enabled -q (\S+) && systemctl is-active -q \1"), _enabled_and_active),
    Rule("systemctl", prefix("systemctl"), _systemctl),
    Rule("tmpfiles", prefix("systemd-tmpfiles", "--create"), _tmpfiles),
    Rule("test -d", lambda args: len(args) == 3 and args[:2] == ("test", "-d"),
         lambda ask: ((0 if ask.argv[2] in ask.node.dirs else 1), "", "")),
    Rule("cat", lambda args: len(args) == 2 and args[0] == "cat", _cat),
    Rule("rm", prefix("rm", "-f"), _rm),
    # Pacemaker.
    Rule("crm_mon", exact("crm_mon", "--one-shot", "--output-as=xml", "--inactive"),
         _crm_mon),
    Rule("cibadmin query", exact("cibadmin", "--query"), _pacemaker(_cib)),
    Rule("cibadmin nodes", exact("cibadmin", "--query", "--scope", "nodes"),
         _pacemaker(_cib_nodes)),
    Rule("cibadmin status", exact("cibadmin", "--query", "--scope", "status"),
         _pacemaker(lambda ask: ok("<status/>"))),  # no expired failure to clear
    Rule("crm_verify", prefix("crm_verify", "--xml-file"), _verify),
    Rule("cibadmin replace", prefix("cibadmin", "--replace", "--scope", "configuration",
                                    "--xml-file"), _pacemaker(_replace)),
    Rule("crm_resource wait", lambda args: len(args) == 3 and args[:2] == (
        "crm_resource", "--wait"), _pacemaker(_settle)),
    Rule("restart bans", prefix("cibadmin", "--modify", "--allow-create", "--scope",
                                "constraints", "--xml-text"), _pacemaker(_ban)),
    Rule("lift restart bans", prefix("cibadmin", "--delete-all", "--force", "--xpath"),
         _pacemaker(_delete_all)),
    Rule("crm_node remove", prefix("crm_node", "--force", "--remove"),
         _pacemaker(_crm_node_remove)),
    Rule("crm_resource restart", lambda args: args[:3] == (
        "crm_resource", "--restart", "--resource") and args[-2:] == ("--timeout", "600s"),
         _restart),
    # HAProxy, Galera, RabbitMQ.
    Rule("haproxy stats", exact("socat", "stdio", ADMIN_SOCKET), _show_stat),
    Rule("mysql", exact("mysql", "--batch", "--skip-column-names"), _mysql),
    Rule("rabbitmq accounts", prefix("python3", "-c", RABBITMQ_ACCOUNTS), _rabbitmq_accounts),
    Rule("rabbitmqctl delete_user", prefix("rabbitmqctl", "delete_user"), _delete_user),
)


def no_waiting(limit: int = 20) -> Callable[..., Awaitable[None]]:
    """A stand-in for asyncio.sleep: the world answers at once, so an engine that waits
    waits for something the model will never give it; after ``limit`` waits the test fails
    instead of sitting out the engine's real deadlines (minutes)."""
    waits = 0

    async def sleep(delay: float, result: object = None) -> None:
        nonlocal waits
        if delay > 0:
            waits += 1
            if waits > limit:
                raise AssertionError(f"the engine waited {waits} times for something this "
                                     "world never does")
        await _yield(0)
    return sleep
