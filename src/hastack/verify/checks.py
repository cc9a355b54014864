"""`hastack verify`: the guide's test actions, asserted against the running site.

Each catalog Check is carried out by the verifier registered under its name; a check without
one is reported as not implemented (and fails the run), never as passed. Probes run inside
the nodes through their transports; secrets reach them by environment, never argv.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from hastack import haproxy_stats
from hastack.agents import agent_text
from hastack.catalog import galera, rabbitmq, tls
from hastack.catalog.cib_model import stonith_id
from hastack.catalog.cluster import stonith_device
from hastack.catalog.contract import CatalogEntry, ServiceContext
from hastack.catalog.galera import VERIFY_DB, VERIFY_PASSWORD
from hastack.catalog.glance import PORT as GLANCE_PORT
from hastack.catalog.nova import API_PORT as NOVA_API_PORT
from hastack.catalog.openstack import (
    KEYSTONE_PORT,
    MEMCACHED_PORT,
    RABBIT_PORT,
    rabbit_port,
)
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import ApiCall, Check, HttpProbe
from hastack.deploy import files as file_ops
from hastack.errors import HastackError
from hastack.osapi import client as osapi_client
from hastack.pacemaker import live
from hastack.render.site import SiteRendering, render_site
from hastack.secrets import Secrets
from hastack.site.load import LoadedSite
from hastack.site.model import Node, Role
from hastack.transport.base import Result, Transport


@dataclass(frozen=True)
class CheckResult:
    service: str
    name: str
    what: str
    ok: bool
    detail: str
    seconds: float


@dataclass(frozen=True)
class CheckWatch:
    """Told when each check starts (service, check name) and ends: the CLI shows what runs."""

    started: Callable[[str, str], None] = lambda service, name: None
    ended: Callable[[CheckResult], None] = lambda result: None


@dataclass(frozen=True)
class Env:
    loaded: LoadedSite
    ctx: ServiceContext
    secrets: Secrets
    transports: Mapping[str, Transport]
    rendering: SiteRendering

    def member(self, index: int = 0) -> Transport:
        return self.transports[self.ctx.members[index].name]

    def members(self) -> list[Transport]:
        return [self.transports[n.name] for n in self.ctx.members]


Verifier = Callable[[Env], Awaitable[str]]
VERIFIERS: dict[str, Verifier] = {}


class CheckFailed(Exception):
    pass


def verifier(name: str) -> Callable[[Verifier], Verifier]:
    def register(fn: Verifier) -> Verifier:
        VERIFIERS[name] = fn
        return fn
    return register


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@verifier("cluster-quorum")
async def _quorum(env: Env) -> str:
    status = await live.crm_mon(env.member())
    members = [n.name for n in env.ctx.members]
    offline = [m for m in members if m not in status.online_members]
    expect(status.quorate and not offline,
           f"quorate={status.quorate}, offline={','.join(offline) or 'none'}")
    return f"quorate, {len(members)} members online, DC {status.dc}"


@verifier("fencing-status")
async def _fencing(env: Env) -> str:
    nodes = [n for n in env.ctx.members + env.ctx.remotes if n.fencing is not None]
    first = env.member()
    for node in nodes:
        # The device's own agent, with the CIB's parameters on stdin (the password through
        # password_script), asked for the power status: 0 = on, 2 = off, else unreachable.
        device = stonith_device(env.ctx, node)
        options = "".join(f"{k}={v}\n" for k, v in device.params if not k.startswith("pcmk_"))
        agent = device.agent.split(":", 1)[1]
        done = await first.run([agent], stdin=f"action=status\n{options}".encode(),
                               timeout=120)
        expect(done.returncode in (0, 2),
               f"{stonith_id(node.name)}: {(done.stderr or done.stdout).strip()[-300:]}")
    return f"{len(nodes)} devices answer a status query"


@verifier("secret-files")
async def _secret_files(env: Env) -> str:
    """Every file hastack wrote with a secret in it is on its node with the owner and mode
    the design gives it, and none is readable by everyone; every authkey is the secrets
    file's (a node holding another could not join its cluster or, a compute, be reached at
    the next connection: a check that makes a handshake with pacemaker_remoted instead takes
    over the cluster's connection to it, and the compute is fenced)."""
    nodes = [n.name for n in env.ctx.members + env.ctx.remotes if n.name in env.transports]

    async def wrong(name: str) -> tuple[int, list[str]]:
        files = [f for f in env.rendering.files_for(name)
                 if any(ref.private for ref in f.text.secrets())]
        found = await file_ops.stat_files(env.transports[name], files)
        bad = []
        for f in files:
            digest, meta = found.get(f.path, ("-", "-"))
            mode = int(meta.rsplit(":", 1)[1], 8) if meta != "-" else 0
            if meta == "-":
                bad.append(f"{name}:{f.path} missing")
            elif meta != f"{f.owner}:{f.group}:{f.mode:o}" or mode & 0o007:
                bad.append(f"{name}:{f.path} is {meta}, not {f.owner}:{f.group}:{f.mode:o}")
            elif file_ops.is_key_file(f) and digest != file_ops.digest(f, env.secrets):
                bad.append(f"{name}:{f.path} holds another key than the secrets file")
        return len(files), bad

    seen = await asyncio.gather(*(wrong(n) for n in nodes))
    bad = [b for _, found in seen for b in found]
    expect(not bad, "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
    return f"{sum(count for count, _ in seen)} files holding secrets on {len(nodes)} nodes, " \
        "each with its owner and mode"


# Listening on every address is for what the operator reaches from anywhere (sshd), not for
# a service. epmd, Erlang's name server, is the exception left: systemd's epmd.socket listens
# on every address, and rebinding it means restarting every Erlang node of the host; it only
# maps node names to ports, and RabbitMQ's own ports are bound to the internal address.
WILDCARD_ALLOWED = ("sshd", "epmd")
WILDCARDS = ("0.0.0.0", "::", "*")


def _listeners(ss_output: str) -> list[tuple[str, str, str]]:
    """(address, port, process) of each TCP listener in ``ss -Htlnp`` output."""
    out = []
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        process = line.split('(("', 1)[1].split('"', 1)[0] if '(("' in line else "?"
        out.append((address.strip("[]").split("%", 1)[0], port, process))
    return out


def stray_listeners(ss_output: str, allowed: set[str]) -> list[str]:
    """Listeners bound elsewhere than loopback and ``allowed`` (the node's own address and the
    VIPs): every address, unless WILDCARD_ALLOWED, or an address the site does not know."""
    stray = []
    for address, port, process in _listeners(ss_output):
        if address.startswith("127.") or address == "::1" or address in allowed:
            continue
        if address in WILDCARDS and process in WILDCARD_ALLOWED:
            continue
        stray.append(f"{process} on {address}:{port}")
    return sorted(set(stray))


@verifier("listening-sockets")
async def _sockets(env: Env) -> str:
    """No service listens where it should not: each node's TCP listeners are bound to
    loopback, its own internal address or a VIP, never to every address."""
    vips = {str(a) for a in env.loaded.placement.vips.values()}
    nodes = [n for n in env.ctx.members + env.ctx.remotes if n.name in env.transports]

    async def one(node: Node) -> list[str]:
        done = await env.transports[node.name].run(["ss", "-Htlnp"], timeout=60)
        done.check()
        return [f"{node.name}: {s}" for s in stray_listeners(done.stdout,
                                                             {str(node.address), *vips})]

    stray = [s for found in await asyncio.gather(*(one(n) for n in nodes)) for s in found]
    expect(not stray, "; ".join(stray[:8]) + (" ..." if len(stray) > 8 else ""))
    return f"every TCP listener of {len(nodes)} nodes on loopback, its node's address or a VIP"


@verifier("haproxy-backends")
async def _haproxy(env: Env) -> str:
    down: list[str] = []
    count = 0
    for node in env.members():
        count += len(await haproxy_stats.servers(node))
        down += await haproxy_stats.down(node)
    expect(not down, "down: " + ", ".join(down))
    return f"{count} backend servers up"


@verifier("galera-cluster-size")
async def _galera_size(env: Env) -> str:
    want = str(len(env.ctx.members))
    for node in env.members():
        done = await node.run(["mysql", "-N", "-B", "-e",
                               "SHOW STATUS WHERE Variable_name IN "
                               "('wsrep_cluster_size', 'wsrep_local_state_comment')"])
        values = dict(line.split("\t") for line in done.stdout.splitlines() if "\t" in line)
        expect(values.get("wsrep_cluster_size") == want
               and values.get("wsrep_local_state_comment") == "Synced",
               f"{node.host}: {values or done.stderr.strip()}")
    return f"cluster size {want} and Synced on every member"


@verifier("galera-write-through-vip")
async def _galera_write(env: Env) -> str:
    vip = str(env.ctx.vip("db"))
    marker = f"verify-{time.time_ns()}"
    sql = (f"CREATE TABLE IF NOT EXISTS {VERIFY_DB}.rows (v VARCHAR(64) PRIMARY KEY); "
           f"INSERT INTO {VERIFY_DB}.rows VALUES ('{marker}');")
    password = env.secrets.lookup(VERIFY_PASSWORD)
    wrote = await env.member().run(["mysql", "-h", vip, "-u", VERIFY_DB],
                                   stdin=sql.encode(), env={"MYSQL_PWD": password})
    expect(wrote.ok, f"write through {vip}: {wrote.stderr.strip()}")
    for node in env.members():
        read = await node.run(["mysql", "-N", "-B", "-e",
                               f"SELECT v FROM {VERIFY_DB}.rows WHERE v = '{marker}'"])
        expect(read.stdout.strip() == marker, f"{node.host} lacks the row")
    return f"row written through {vip} read back on {len(env.ctx.members)} members"


MEMCACHED_PROBE = agent_text("memcached_probe.py")


@verifier("memcached-set-get")
async def _memcached(env: Env) -> str:
    first = env.member()
    for node in env.ctx.members:
        done = await first.run(["python3", "-", str(node.address), str(MEMCACHED_PORT),
                                f"hastack-verify-{node.name}"],
                               stdin=MEMCACHED_PROBE.encode(), timeout=30)
        expect(done.stdout.strip() == "ok", f"{node.name}: {done.stdout or done.stderr}")
    return f"set/get on {len(env.ctx.members)} members"


@verifier("rabbitmq-members")
async def _rabbit_members(env: Env) -> str:
    done = await env.member().run(["rabbitmqctl", "-q", "cluster_status", "--formatter",
                                   "json"], timeout=60)
    expect(done.ok, done.stderr.strip())
    running = sorted(json.loads(done.stdout).get("running_nodes", []))
    want = sorted(f"rabbit@{n.name}" for n in env.ctx.members)
    expect(running == want, f"running {running}, want {want}")
    return f"{len(running)} members running"


AMQP_PROBE = agent_text("amqp_probe.py")


@verifier("rabbitmq-publish-consume")
async def _rabbit_publish(env: Env) -> str:
    members = env.ctx.members
    expect(len(members) > 1, "one member: nothing to cross")
    body = f"verify-{time.time_ns()}"
    done = await env.member().run(
        ["python3", "-", f"{members[0].address}:{rabbit_port(env.loaded.site)}",
         f"{members[1].address}:{rabbit_port(env.loaded.site)}", "hastack-verify", body],
        stdin=AMQP_PROBE.encode(), timeout=60,
        env=rabbitmq.probe_client_env(env.loaded.site, env.secrets.lookup))
    lines = done.stdout.split()
    expect(done.ok and len(lines) == 2 and lines[0] == body,
           (done.stdout + done.stderr).strip()[-500:])
    drained = f" (drained {lines[1]} left by earlier runs)" if lines[1] != "0" else ""
    return f"published on {members[0].name}, consumed on {members[1].name}{drained}"


TLS_PROBE = agent_text("tls_probe.py")


async def _tls_handshakes(env: Env, cert_dir: str, ports: Sequence[int],
                          plain: Sequence[int] = ()) -> str:
    """Each member's ``ports`` from the member itself (its address, not loopback), with the
    copy of the node's certificate the service keeps in ``cert_dir``."""

    async def one(node: Node) -> str:
        done = await env.transports[node.name].run(
            ["python3", "-", tls.INTERNAL_CA_PATH, f"{cert_dir}/node.crt",
             f"{cert_dir}/node.key", str(node.address), ",".join(map(str, ports)),
             ",".join(map(str, plain))], stdin=TLS_PROBE.encode(), timeout=60)
        lines = done.stdout.splitlines()
        expect(done.ok and len(lines) == len(ports)
               and all(line.split()[-1].startswith("TLS") for line in lines),
               f"{node.name}: {(done.stdout + done.stderr).strip()[-300:]}")
        return lines[0].split()[-1]

    versions = await asyncio.gather(*(one(n) for n in env.ctx.members))
    return (f"{len(versions)} members, port {', '.join(map(str, ports))}: "
            f"{', '.join(sorted(set(versions)))}, verified"
            + (f"; {', '.join(map(str, plain))} closed" if plain else ""))


@verifier("rabbitmq-tls")
async def _rabbit_tls(env: Env) -> str:
    return await _tls_handshakes(env, rabbitmq.TLS_DIR,
                                 (rabbit_port(env.loaded.site), rabbitmq.DIST_PORT),
                                 plain=(RABBIT_PORT,))


@verifier("galera-replication-tls")
async def _galera_tls(env: Env) -> str:
    return await _tls_handshakes(env, galera.TLS_DIR, (galera.GCOMM_PORT,))


INSTANCE_PORT = agent_text("instance_port.py")  # the stand-in instance, on the compute
# The stand-in instance's tenant network: inside the lab's range, since its packets are real.
INSTANCE_CIDR = "198.19.254.0/24"
INSTANCE_WAIT = 120  # seconds for the lease and the router's answer (the agents react first)


def _json_object(text: str) -> dict[str, object]:
    """An agent's one JSON object, or nothing when it printed something else."""
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@verifier("neutron-instance-path")
async def _instance_path(env: Env) -> str:
    """An instance's first minute, without a hypervisor: a port bound to a compute, plugged
    into the compute's L2 agent by a network namespace that stands in for the instance, its
    DHCP lease from the controllers' DHCP agents, and its router answering a ping."""
    # A compute, where instances live; a site without one: a member (its L2 agent is there).
    computes = [n for n in env.loaded.site.nodes if n.role is Role.COMPUTE
                and n.name in env.transports] if env.ctx.has("compute") else []
    node = (computes or list(env.ctx.members))[0]
    name = f"hastack-verify-path-{time.time_ns()}"
    compute = env.transports[node.name]
    driver = env.loaded.site.services.neutron_l2.value

    async def api(operation: str, **params: str) -> osapi_client.ApiResult:
        return await osapi_client.call(env.member(), operation, params, ctx=env.ctx,
                                       secrets=env.secrets, ensure=False)

    async def agent(*argv: str) -> Result:
        return await compute.run(["python3", "-", *argv], stdin=INSTANCE_PORT.encode(),
                                 timeout=INSTANCE_WAIT + 60)

    port: dict[str, str] = {}
    try:
        created = await api("network.instance-port-create", name=name, host=node.name,
                            cidr=INSTANCE_CIDR)
        expect(created.ok, f"creating the port: {created.detail}")
        port = json.loads(created.detail)
        done = await agent("up", driver, port["port"], port["mac"], port["network"],
                           str(INSTANCE_WAIT))
        seen = _json_object(done.stdout)
        error = seen.pop("error", None)
        expect(done.ok and error is None,
               f"{node.name}: {error or (done.stdout + done.stderr)[-300:]} {seen or ''}")
        expect(seen.get("address") == port["address"],
               f"{node.name}: leased {seen.get('address')}, the port has {port['address']}")
        expect(seen.get("router") == port["gateway"],
               f"{node.name}: the lease names router {seen.get('router')}, the subnet's "
               f"gateway is {port['gateway']}")
    finally:  # a failure of the clean-up is told only when it is the only one
        if port:
            await agent("down", driver, port["port"])
        deleted = await api("network.instance-port-delete", name=name)
    expect(deleted.ok, f"deleting what the check made: {deleted.detail}")
    return (f"an instance's port on {node.name}: lease {seen['address']} in "
            f"{seen['lease_seconds']:.1f} s, router {seen['router']} answered "
            f"{seen['router_seconds']:.1f} s later")


API_LANES = 2
# Checks that mostly wait (the instance's data path: ~40 s, on neutron's agents) run beside
# the API checks instead of before them; the cluster's own checks run first, on their own.
BESIDE_THE_APIS = frozenset({"neutron-instance-path"})
# Operations that ask every member directly (not through the VIP): their port and path.
MEMBER_URLS = {"token.issue.member": (KEYSTONE_PORT, "/v3"),
               "compute.versions.member": (NOVA_API_PORT, "/"),
               "image.upload-readback": (GLANCE_PORT, "")}


def _api_request(env: Env, call: ApiCall) -> osapi_client.ApiRequest:
    """The guide's test action through openstacksdk, run on a member (it reaches the VIPs)."""
    params: dict[str, object] = dict(call.params)
    if call.operation in MEMBER_URLS:
        port, path = MEMBER_URLS[call.operation]
        params["urls"] = [f"http://{n.address}:{port}{path}" for n in env.ctx.members]
    return osapi_client.ApiRequest(call.operation, params, call.secret)


async def _api_checks(work: Sequence[tuple[Env, Check]], watch: CheckWatch
                      ) -> list[CheckResult]:
    """``work``'s API checks in one program per member, two at a time: one start of
    openstacksdk and one token instead of one per check (about a second each)."""
    by_member: dict[str, list[int]] = {}
    for i, (env, _) in enumerate(work):
        by_member.setdefault(env.ctx.members[0].name, []).append(i)
    results: dict[int, CheckResult] = {}
    for indices in by_member.values():
        env = work[indices[0]][0]
        requests = []
        for i in indices:
            probe = work[i][1].probe
            assert isinstance(probe, ApiCall)
            requests.append(_api_request(work[i][0], probe))
            watch.started(work[i][0].ctx.service, work[i][1].name)
        answers = await osapi_client.call_many(env.member(), requests, ctx=env.ctx,
                                               secrets=env.secrets, lanes=API_LANES)
        for i, answer in zip(indices, answers, strict=True):
            check_env, check = work[i]
            results[i] = CheckResult(check_env.ctx.service, check.name, check.what, answer.ok,
                                     answer.detail, answer.seconds)
            watch.ended(results[i])
    return [results[i] for i in range(len(work))]


def _http_verifier(probe: HttpProbe) -> Verifier:
    async def verify(env: Env) -> str:
        done = await env.member().run(["curl", "-sS", "-m", "20", "-o", "/dev/stderr", "-w",
                                       "%{http_code}", probe.url])
        code = done.stdout.strip()
        expect(code.isdigit() and int(code) in probe.expect_status,
               f"{probe.url}: HTTP {code or 'no answer'} {done.stderr.strip()[-200:]}")
        expect(probe.contains is None or probe.contains in done.stderr,
               f"{probe.url}: the page lacks {probe.contains!r}")
        return f"{probe.url}: HTTP {code}"
    return verify


async def _one(env: Env, check: Check) -> CheckResult:
    started = time.monotonic()
    fn = VERIFIERS.get(check.name)
    if fn is None and isinstance(check.probe, HttpProbe):
        fn = _http_verifier(check.probe)
    if fn is None:
        return CheckResult(env.ctx.service, check.name, check.what, False,
                           "not implemented yet", 0.0)
    try:
        detail, ok = await fn(env), True
    except (CheckFailed, HastackError, ValueError) as exc:
        detail, ok = str(exc) or type(exc).__name__, False
    return CheckResult(env.ctx.service, check.name, check.what, ok, detail,
                       time.monotonic() - started)


async def run_checks(loaded: LoadedSite, base: CatalogEntry, catalog: Sequence[CatalogEntry],
                     secrets: Secrets, transports: Mapping[str, Transport],
                     rendering: SiteRendering | None = None,
                     watch: CheckWatch | None = None) -> list[CheckResult]:
    platform = platform_info(loaded.site.platform.value)
    hooks = watch or CheckWatch()
    if rendering is None:
        rendering = render_site(loaded.site, loaded.placement, base, catalog)
    work: list[tuple[Env, Check]] = []
    for cluster in loaded.placement.clusters:
        ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service=base.name,
                             platform=platform, cluster_name=cluster.name)
        env = Env(loaded, ctx, secrets, transports, rendering)
        work += [(env, c) for c in base.checks(ctx)]
    for entry in catalog:
        if loaded.placement.has(entry.name):
            ctx = ServiceContext(site=loaded.site, placement=loaded.placement,
                                 service=entry.name, platform=platform)
            env = Env(loaded, ctx, secrets, transports, rendering)
            work += [(env, c) for c in entry.checks(ctx)]
    # The cluster's own checks run at once; the API checks API_LANES at a time, as two
    # users would, so a small control plane (one worker per API in the lab) is not judged
    # on how it copes with a dozen simultaneous clients, and neutron's network check (the
    # agents react to each write: 30-60 s in the lab) does not hold up the others.
    api = [i for i, (_, c) in enumerate(work)
           if isinstance(c.probe, ApiCall) and c.name not in VERIFIERS]
    http = [i for i, (_, c) in enumerate(work)
            if isinstance(c.probe, HttpProbe) and c.name not in VERIFIERS]
    beside = [i for i, (_, c) in enumerate(work) if c.name in BESIDE_THE_APIS]
    quick = [i for i in range(len(work)) if i not in api + http + beside]

    async def one(i: int) -> CheckResult:
        env, check = work[i]
        hooks.started(env.ctx.service, check.name)
        result = await _one(env, check)
        hooks.ended(result)
        return result

    results = dict(zip(quick, await asyncio.gather(*(one(i) for i in quick)), strict=True))
    done_beside, done_api = await asyncio.gather(asyncio.gather(*(one(i) for i in beside)),
                                                 _api_checks([work[i] for i in api], hooks))
    results.update(zip(beside, done_beside, strict=True))
    results.update(zip(api, done_api, strict=True))
    for i in http:
        results[i] = await one(i)
    return [results[i] for i in range(len(work))]
