"""Cluster base: what every cluster gets — properties, fencing, keys, kernel TCP settings.

The guide's "Cluster Manager": Pacemaker + Corosync on >= 3 members, fencing always on,
resource-stickiness INFINITY so services never move back and forth. Every node (members and
pacemaker_remote computes) has one stonith device for its BMC, never run on the node it
fences. A node plugged into a switched PDU (``fencing.pdu``) also gets a device for its
outlet, and a fencing topology: level 1 its BMC, level 2 its outlet. A BMC often dies with its
node's power supply; without a second level such a node could never be fenced, and the
cluster would (rightly) never recover its resources. BMC and PDU passwords reach fence agents
through ``password_script`` reading a 0600 file, so no secret sits in the CIB.
"""

from __future__ import annotations

from hastack.catalog import tls
from hastack.catalog.cib_model import (
    CibSetting,
    ClusterProperty,
    Constraint,
    FencingLevel,
    Location,
    Op,
    Primitive,
    Resource,
    ResourceDefault,
    pairs,
    pdu_stonith_id,
    stonith_id,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import (
    PACEMAKER_AUTHKEY,
    REMOTE_ENVIRONMENT,
    Check,
    Command,
    ConfigFile,
    text_file,
)
from hastack.site.model import FenceType, Node, PduType, Site

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
MIGRATION_THRESHOLD = 3
FAILURE_TIMEOUT = "60s"
RECHECK = "1min"
DC_DEADTIME_FLOOR_S = 5


def dc_deadtime(ctx: ServiceContext) -> str:
    """How long a starting member waits for the others before electing a DC (Pacemaker's
    default 20 s). Corosync has formed the membership by then; twice its detection time
    (token + consensus, 2.2 x token) is plenty for the members' answers, and a member that
    boots later joins the elected DC. A site-power-loss drill spent 21 s of its recovery
    here, between the membership and the first transition."""
    detection_s = ctx.site.cluster.token_ms * 2.2 / 1000
    return f"{max(DC_DEADTIME_FLOOR_S, round(2 * detection_s))}s"
IPMI_PORT = 623
REDFISH_PORT = 443
# SNMPv3 authNoPriv with SHA: the only SNMP mode whose secret fence_apc_snmp takes through
# password_script; an SNMPv1/v2c community has no *_script option and would sit in the CIB.
SNMP_PARAMS = {"snmp_version": "3", "snmp_sec_level": "authNoPriv", "snmp_auth_prot": "SHA"}
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
    return SecretRef(name, kind="ipmi", user_supplied=node.fencing.type is not FenceType.LAB,
                     rotation="device")


def pdu_secret(site: Site, name: str) -> SecretRef:
    """The SNMPv3 password of PDU ``name``: generated for the lab's, given for real ones."""
    pdu = site.pdus[name]
    return SecretRef(pdu.credentials or f"pdu-{name}",
                     user_supplied=pdu.type is not PduType.LAB, rotation="device")


def pdu_password_file(name: str) -> str:
    return f"{FENCE_DIR}/pdu-{name}.pw"


def has_pdu(node: Node) -> bool:
    return node.fencing is not None and node.fencing.pdu is not None


def fencing_levels(node: Node, *extra: str) -> list[FencingLevel]:
    """Level 1 the BMC, level 2 the PDU outlet, each followed by ``extra`` devices (a
    compute's fence-nova, which must follow whichever power device succeeded). None for a
    node without a PDU: its BMC device is then its only way, as before."""
    if not has_pdu(node):
        return []
    return [FencingLevel(target=node.name, index=1, devices=(stonith_id(node.name), *extra)),
            FencingLevel(target=node.name, index=2, devices=(pdu_stonith_id(node.name), *extra))]


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
        if tls.enabled(ctx.site):
            files.append(text_file(node.name, tls.ca_path(ctx.site), tls.ca_certificate()))
        if tls.internal(ctx.site):  # every AMQP client (computes too) verifies with it
            files.append(text_file(node.name, tls.INTERNAL_CA_PATH,
                                   tls.internal_ca_certificate()))
        # Both ends read it at each connection (kept 60 s): a new key needs no restart.
        files.append(text_file(node.name, PACEMAKER_AUTHKEY,
                               SecretRef("pacemaker-authkey", kind="key", rotation="named"),
                               owner="hacluster", group="haclient", mode=0o640))
    for node in ctx.remotes:
        # pacemaker_remoted listens on every address unless told (Pacemaker's default).
        files.append(text_file(node.name, REMOTE_ENVIRONMENT,
                               "# hastack: pacemaker_remote listens on the internal network\n",
                               f"PCMK_remote_address={node.address}\n"))
    for node in ctx.members:
        # Rotated only when named: the stack restarts on every member (deploy/rekey.py).
        files.append(text_file(node.name, "/etc/corosync/authkey",
                               SecretRef(f"corosync-authkey-{ctx.cluster.name}", kind="key",
                                         rotation="named"),
                               mode=0o400))
        for target in _all_nodes(ctx):
            if target.fencing is not None:
                files.append(text_file(node.name, f"{FENCE_DIR}/{target.name}.pw",
                                       fence_secret(target), mode=0o600))
        for name in _pdus_used(ctx):
            files.append(text_file(node.name, pdu_password_file(name),
                                   pdu_secret(ctx.site, name), mode=0o600))
    return files


def _pdus_used(ctx: ServiceContext) -> list[str]:
    names = [n.fencing.pdu.name for n in _all_nodes(ctx) if n.fencing and n.fencing.pdu]
    return sorted(set(names))


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
        if not fencing.verify_certificate:
            params["ssl_insecure"] = "1"
        if fencing.system_id:
            params["systems_uri"] = fencing.system_id
    else:
        agent = "stonith:fence_ipmilan"
        params["ipport"] = fencing.port or IPMI_PORT
        params["lanplus"] = "1"
    if ctx.site.cluster.fence_power_wait is not None:
        params["power_wait"] = ctx.site.cluster.fence_power_wait
    if fencing.pdu is not None:
        # With a second level, one try: the fencer otherwise retries a dead BMC until the
        # action's timeout (fence-failure drill: 57 s) before it turns to the PDU.
        params["pcmk_reboot_retries"] = "1"
    return Primitive(id=stonith_id(node.name), agent=agent, params=pairs(params),
                     ops=(Op("monitor", interval=STONITH_MONITOR, timeout="30s"),),
                     meta=pairs({"failure-timeout": STONITH_FAILURE_TIMEOUT}))


def pdu_device(ctx: ServiceContext, node: Node) -> Primitive:
    """``node``'s PDU outlet as fence_apc_snmp sees it. One device per node rather than one
    per PDU with a host map of every outlet: each can then be kept off the node it fences,
    like the BMC devices, and a failed outlet bans only its own device."""
    assert node.fencing is not None and node.fencing.pdu is not None
    outlet = node.fencing.pdu
    pdu = ctx.site.pdus[outlet.name]
    params: dict[str, object] = {
        "ip": pdu.address,
        **SNMP_PARAMS,
        "username": pdu.username,
        "password_script": f"cat {pdu_password_file(outlet.name)}",
        # Pacemaker passes the outlet as the agent's plug for this node.
        "pcmk_host_map": f"{node.name}:{outlet.outlet}",
    }
    if pdu.port is not None:
        params["ipport"] = pdu.port
    return Primitive(id=pdu_stonith_id(node.name), agent="stonith:fence_apc_snmp",
                     params=pairs(params),
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
        # A failed start must not keep a service off its node until someone runs a cleanup
        # (a power-loss drill: swift-container's unit came up "inactive" once during the
        # node's boot, and Pacemaker's default made that failure fatal there for good). A
        # start is retried where it failed; after MIGRATION_THRESHOLD failures the node is
        # left alone until they expire (FAILURE_TIMEOUT, looked at every RECHECK at least).
        ClusterProperty("start-failure-is-fatal", "false"),
        ResourceDefault("migration-threshold", str(MIGRATION_THRESHOLD)),
        ResourceDefault("failure-timeout", FAILURE_TIMEOUT),
        ClusterProperty("cluster-recheck-interval", RECHECK),
        ClusterProperty("dc-deadtime", dc_deadtime(ctx)),
    ]
    for node in _all_nodes(ctx):
        if node.fencing is not None:
            items.append(stonith_device(ctx, node))
        if has_pdu(node):
            items.append(pdu_device(ctx, node))
    return items


def constraints(ctx: ServiceContext) -> list[Constraint]:
    # A device never runs on the node it fences: that node cannot fence itself when it fails.
    out: list[Constraint] = [Location(stonith_id(n.name), node=n.name, score="-INFINITY")
                             for n in ctx.members if n.fencing is not None]
    out += [Location(pdu_stonith_id(n.name), node=n.name, score="-INFINITY")
            for n in ctx.members if has_pdu(n)]
    # Computes get their levels from compute.py, where fence-nova joins each level.
    for node in ctx.members:
        out += fencing_levels(node)
    return out




def checks(ctx: ServiceContext) -> list[Check]:
    return [
        Check(name="cluster-quorum", what="the cluster is quorate with every member online",
              probe=Command(argv=("crm_mon", "--one-shot", "--output-as=xml")),
              expect="quorum and all members online", on="first"),
        Check(name="fencing-status", what="every fencing device answers a status query",
              probe=Command(argv=("stonith_admin", "--list-registered")),
              expect="one registered device per node", on="first"),
        Check(name="secret-files", what="files holding secrets have their owner and mode, "
              "none readable by everyone; every authkey is the secrets file's",
              probe=Command(argv=("stat", "-c", "%U:%G:%a")),
              expect="every secret-bearing file as rendered", on="all"),
        Check(name="listening-sockets", what="every TCP listener on loopback, its node's "
              "internal address or a VIP, none on every address",
              probe=Command(argv=("ss", "-Htlnp")),
              expect="no stray listener", on="all"),
    ]
