"""Cluster base: what every cluster gets — properties, fencing, keys, kernel TCP settings.

The guide's "Cluster Manager": Pacemaker + Corosync on >= 3 members, fencing always on,
resource-stickiness INFINITY so services never move back and forth. Every node (members and
pacemaker_remote computes) has one stonith device for its BMC, never run on the node it
fences. BMC passwords reach fence agents through ``password_script`` reading a 0600 file, so
no secret sits in the CIB.
"""

from __future__ import annotations

from hastack.catalog.base import (
    PACEMAKER_AUTHKEY,
    Action,
    Check,
    CibSetting,
    ClusterProperty,
    Command,
    ConfigFile,
    Constraint,
    HAMode,
    Listener,
    Location,
    Op,
    Primitive,
    Resource,
    ResourceDefault,
    SecretRef,
    Service,
    ServiceContext,
    pairs,
    stonith_id,
    text_file,
)
from hastack.site.model import FenceType, Node

SERVICE = Service(
    name="cluster",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("cluster",),
    summary="corosync + pacemaker, fencing, cluster properties",
)

FENCE_DIR = "/etc/hastack/fence"
# failure-timeout: a device whose monitor failed (BMC briefly unreachable) is retried after
# 2 minutes instead of staying banned until someone runs a cleanup.
STONITH_FAILURE_TIMEOUT = "120s"
STONITH_MONITOR = "60s"
LOAD_THRESHOLD = "1000%"  # see resources(): throttling by load average is off in effect
NODE_ACTION_LIMIT = 16
IPMI_PORT = 623
REDFISH_PORT = 443
# Client side of a VIP move: a dead peer is noticed after 5 s idle + 5 probes x 1 s (guide,
# lb.scenario) and an unanswered write gives up after ~6 retransmits instead of ~15 minutes.
TCP_SYSCTLS = {
    "net.ipv4.tcp_keepalive_time": 5,
    "net.ipv4.tcp_keepalive_intvl": 1,
    "net.ipv4.tcp_keepalive_probes": 5,
    "net.ipv4.tcp_retries2": 6,
}


def fence_secret(node: Node) -> SecretRef:
    assert node.fencing is not None
    name = node.fencing.credentials or f"bmc-{node.name}"
    return SecretRef(name, kind="ipmi", user_supplied=node.fencing.type is not FenceType.LAB)


def _all_nodes(ctx: ServiceContext) -> tuple[Node, ...]:
    return ctx.members + ctx.remotes


def _hosts(ctx: ServiceContext) -> str:
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    lines += [f"{n.address} {n.name}" for n in ctx.site.nodes]
    return "\n".join(lines) + "\n"


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    sysctl = "".join(f"{k} = {v}\n" for k, v in TCP_SYSCTLS.items())
    for node in _all_nodes(ctx):
        files.append(text_file(node.name, "/etc/sysctl.d/60-hastack-tcp.conf", sysctl))
        files.append(text_file(node.name, "/etc/hosts", _hosts(ctx)))
        files.append(text_file(node.name, PACEMAKER_AUTHKEY,
                               SecretRef("pacemaker-authkey", kind="key"),
                               owner="hacluster", group="haclient", mode=0o640))
    for node in ctx.members:
        files.append(text_file(node.name, "/etc/corosync/authkey",
                               SecretRef(f"corosync-authkey-{ctx.cluster.name}", kind="key"),
                               mode=0o400))
        for target in _all_nodes(ctx):
            if target.fencing is not None:
                files.append(text_file(node.name, f"{FENCE_DIR}/{target.name}.pw",
                                       fence_secret(target), mode=0o600))
    return files


def stonith_device(ctx: ServiceContext, node: Node) -> Primitive:
    """The BMC device of ``node``: fence_ipmilan (lab BMCs speak IPMI too) or fence_redfish."""
    assert node.fencing is not None and node.fencing.address is not None
    fencing = node.fencing
    params: dict[str, object] = {
        "ip": fencing.address,
        "username": fencing.username,
        "password_script": f"cat {FENCE_DIR}/{node.name}.pw",
        "pcmk_host_list": node.name,
    }
    if fencing.type is FenceType.REDFISH:
        agent = "stonith:fence_redfish"
        params["ipport"] = fencing.port or REDFISH_PORT
        params["ssl_insecure"] = "1"
        if fencing.system_id:
            params["systems_uri"] = fencing.system_id
    else:
        agent = "stonith:fence_ipmilan"
        params["ipport"] = fencing.port or IPMI_PORT
        params["lanplus"] = "1"
    if ctx.site.cluster.fence_power_wait is not None:
        params["power_wait"] = ctx.site.cluster.fence_power_wait
    return Primitive(id=stonith_id(node.name), agent=agent, params=pairs(params),
                     ops=(Op("monitor", interval=STONITH_MONITOR, timeout="30s"),),
                     meta=pairs({"failure-timeout": STONITH_FAILURE_TIMEOUT}))


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    items: list[Resource | CibSetting] = [
        ClusterProperty("stonith-enabled", "true"),
        ClusterProperty("cluster-name", ctx.cluster.name),
        # Without quorum stop everything: the minority of a partition must not keep VIPs.
        ClusterProperty("no-quorum-policy", "stop"),
        ResourceDefault("resource-stickiness", "INFINITY"),
        # Pacemaker throttles recovery by the load average: above 2 x load-threshold per
        # core it runs one action at a time cluster-wide. The load average counts the API
        # workers, which run at a lower priority than recovery (render/priority.py), so a
        # busy API would make failover wait for it. The threshold is set where it never
        # applies.
        ClusterProperty("load-threshold", LOAD_THRESHOLD),
        # Actions one node runs at once (default 2 x cores): a VIP's start (0.2 s) waited
        # for slow starts of services moved with it (heat-engine, cinder-volume: seconds)
        # that filled a 2-core node's 4 slots (drill timeline). Starts are cheap to run
        # side by side; the slow ones run at the API services' lower priority.
        ClusterProperty("node-action-limit", str(NODE_ACTION_LIMIT)),
    ]
    items += [stonith_device(ctx, n) for n in _all_nodes(ctx) if n.fencing is not None]
    return items


def constraints(ctx: ServiceContext) -> list[Constraint]:
    # A device never runs on the node it fences: that node cannot fence itself when it fails.
    return [Location(stonith_id(n.name), node=n.name, score="-INFINITY") for n in ctx.members
            if n.fencing is not None]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return []


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return []


def checks(ctx: ServiceContext) -> list[Check]:
    return [
        Check(name="cluster-quorum", what="the cluster is quorate with every member online",
              probe=Command(argv=("crm_mon", "--one-shot", "--output-as=xml")),
              expect="quorum and all members online", on="first"),
        Check(name="fencing-status", what="every fencing device answers a status query",
              probe=Command(argv=("stonith_admin", "--list-registered")),
              expect="one registered device per node", on="first"),
    ]
