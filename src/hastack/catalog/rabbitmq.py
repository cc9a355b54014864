"""RabbitMQ: the message bus, one disk node per member, run by systemd under Pacemaker.

Guide: Message Bus. Clients are never proxied: every oslo.messaging client lists every member
in its transport_url and fails over itself, with AMQP heartbeats and the kernel's TCP
keepalive catching dead peers. OpenStack's queues are quorum queues (oslo.messaging
rabbit_quorum_queue), replicated by Raft: the guide's ha-all mirroring policy is not set
(classic mirroring is deprecated and RabbitMQ 4 removed it).

Not the rabbitmq-cluster agent: its monitor and notify actions each start an Erlang VM
(``rabbitmqctl``: ~1.4 s of CPU), which made it most of an idle plane's CPU and, during a
recovery, held the one action slot a throttled cluster had for ~4 s per notify; and it wipes
a member's data on every start, losing quorum queues' messages. RabbitMQ forms and re-forms
its cluster itself (classic peer discovery of the members listed in rabbitmq.conf, with its
own lock so members started together form one cluster); Pacemaker starts it as a systemd
unit and a monitor is a cheap D-Bus query. A member that restarts keeps its data and rejoins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from hastack.agents import agent_text
from hastack.catalog import tls
from hastack.catalog.cib_model import (
    FAILOVER_MONITOR,
    CibSetting,
    Constraint,
    Resource,
    clone,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext, Superseded
from hastack.catalog.openstack import (
    RABBIT_PORT,
    rabbit_account,
    rabbit_password,
    rabbit_port,
)
from hastack.catalog.secret_text import SecretRef, Text, compose
from hastack.catalog.steps import Action, Check, Command, ConfigFile, text_file
from hastack.site.model import Node, Site

SERVICE = Service(
    name="rabbitmq",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("rabbitmq",),
    summary="RabbitMQ cluster (systemd unit, classic peer discovery); quorum queues",
    failover=True,
    pacemaker_core=True,
)

# pause_minority: the side of a partition without a majority stops itself instead of
# accepting messages that the majority will never see (the cluster's quorum logic, again).
PARTITION_HANDLING = "pause_minority"
NET_TICKTIME = 15  # a dead peer leaves the cluster in ~15 s instead of 60 (lab-notes: 27 s)
# A member that was not the last to stop waits for its peers' tables, TABLE_WAIT_TRIES x
# TABLE_WAIT_MS at a time, and RabbitMQ 3.10 does so twice (the quorum_queue feature flag's
# check, then the database step): a start that found no peer fails after 2 x 2 x 15 s (66 s
# in the lab; with 4 tries it was 126 s). All three started together formed in 11 s.
TABLE_WAIT_MS = 15000
TABLE_WAIT_TRIES = 2
START = "180s"  # longer than a start that found no peer
FAILURE_TIMEOUT = "240s"  # longer than START: see resources()
COOKIE = "/var/lib/rabbitmq/.erlang.cookie"
TLS_DIR = "/etc/rabbitmq/tls"
DIST_TLS_OPTIONS = "/etc/rabbitmq/inter-node-tls.config"
MEMBERS_FILE = "/etc/rabbitmq/conf.d/10-hastack-members.conf"
DIST_PORT = 25672  # Erlang's distribution: RabbitMQ's AMQP port + 20000


def _rabbitmqctl(*args: str) -> Command:
    return Command(argv=("rabbitmqctl", *args))


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        files.append(text_file(node.name, "/etc/rabbitmq/rabbitmq-env.conf",
                               f"NODENAME=rabbit@{node.name}\n",
                               *_plain_listener_env(ctx, node),
                               # Erlang's distribution (the members' own link, 25672) on the
                               # internal address only, not every address.
                               "SERVER_ADDITIONAL_ERL_ARGS=\"-kernel inet_dist_use_interface "
                               f"{{{str(node.address).replace('.', ',')}}}{_dist_tls(ctx)}\"\n",
                               # rabbitmqctl is a distributed node too: it must speak TLS.
                               *([f"CTL_ERL_ARGS=\"{_dist_tls(ctx).strip()}\"\n"]
                                 if tls.internal(ctx.site) else [])))
        files.append(text_file(node.name, "/etc/rabbitmq/rabbitmq.conf",
                               *_listeners(ctx, node),
                               f"cluster_partition_handling = {PARTITION_HANDLING}\n",
                               f"net_ticktime = {NET_TICKTIME}\n",
                               "collect_statistics_interval = 30000\n",
                               # Give up waiting for peers soon (TABLE_WAIT_TRIES): Pacemaker
                               # computes no new transition while a start is in flight, so a
                               # member started alone holds back the start of the others
                               # (site-power-loss-staggered: two members waited the default
                               # 10 x 30 s for the third, which was started only after;
                               # rabbitmq-cold-start: the first broker found dead was started
                               # alone and waited 126 s with 4 tries).
                               f"mnesia_table_loading_retry_timeout = {TABLE_WAIT_MS}\n",
                               f"mnesia_table_loading_retry_limit = {TABLE_WAIT_TRIES}\n",
                               # A node that starts on an empty database (first boot, or a
                               # member whose disk was replaced) creates OpenStack's user
                               # instead of guest; guest keeps RabbitMQ's own guard (loopback
                               # only) and is deleted after the first start.
                               "default_vhost = /\ndefault_user = ", rabbit_account(), "\n",
                               "default_pass = ", rabbit_password(), "\n",
                               "default_permissions.configure = .*\n",
                               "default_permissions.read = .*\n",
                               "default_permissions.write = .*\n",
                               group="rabbitmq", mode=0o640))
        # The members, read only by a node that starts on an empty database to find a peer
        # to join (RabbitMQ 3.9+ reads conf.d after rabbitmq.conf): a member added or
        # removed restarts none of the others.
        files.append(text_file(node.name, MEMBERS_FILE,
                               "cluster_formation.peer_discovery_backend = classic_config\n",
                               *(f"cluster_formation.classic_config.nodes.{i} = "
                                 f"rabbit@{m.name}\n"
                                 for i, m in enumerate(ctx.members, start=1)),
                               group="rabbitmq", mode=0o640, restart=False))
        # Every member shares one Erlang cookie, or they cannot cluster.
        files.append(text_file(node.name, COOKIE,
                               SecretRef("rabbitmq-erlang-cookie", rotation="never"),
                               owner="rabbitmq", group="rabbitmq", mode=0o400))
        files.append(tls.link_file(node.name, "/etc/rabbitmq/hastack-links", ctx.site))
        if tls.internal(ctx.site):
            files.append(text_file(node.name, DIST_TLS_OPTIONS, _dist_tls_options()))
            files += tls.node_certificate_files(node, TLS_DIR, "rabbitmq")
    return files


def _dist_tls(ctx: ServiceContext) -> str:
    """Erlang's distribution over TLS: the brokers' own links (quorum queues replicate over
    them) and rabbitmqctl's."""
    if not tls.internal(ctx.site):
        return ""
    return f" -proto_dist inet_tls -ssl_dist_optfile {DIST_TLS_OPTIONS}"


def _dist_tls_options() -> str:
    """Both ends present the node's certificate and accept only one the internal CA issued
    for the peer's node name (the host part, which each certificate names)."""
    files = (f'{{cacertfile, "{tls.INTERNAL_CA_PATH}"}}, {{certfile, "{TLS_DIR}/node.crt"}}, '
             f'{{keyfile, "{TLS_DIR}/node.key"}}, {{secure_renegotiate, true}}, '
             "{verify, verify_peer}")
    return (f"[{{server, [{files}, {{fail_if_no_peer_cert, true}}]}},\n"
            f" {{client, [{files}]}}].\n")


def _plain_listener_env(ctx: ServiceContext, node: Node) -> list[str]:
    # RABBITMQ_NODE_IP_ADDRESS/PORT add a plain AMQP listener whatever rabbitmq.conf says:
    # with TLS the listeners are rabbitmq.conf's alone.
    if tls.internal(ctx.site):
        return []
    return [f"NODE_IP_ADDRESS={node.address}\n", f"NODE_PORT={RABBIT_PORT}\n"]


def _listeners(ctx: ServiceContext, node: Node) -> list[str]:
    """AMQP on the member's internal address: plain, or TLS only (no plain port at all).
    Clients present no certificate: they log in with the password, over the encrypted link."""
    if not tls.internal(ctx.site):
        return [f"listeners.tcp.1 = {node.address}:{RABBIT_PORT}\n"]
    return ["listeners.tcp = none\n",
            f"listeners.ssl.1 = {node.address}:{rabbit_port(ctx.site)}\n",
            f"ssl_options.cacertfile = {tls.INTERNAL_CA_PATH}\n",
            f"ssl_options.certfile = {TLS_DIR}/node.crt\n",
            f"ssl_options.keyfile = {TLS_DIR}/node.key\n",
            "ssl_options.verify = verify_none\n",
            "ssl_options.fail_if_no_peer_cert = false\n"]


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    # Start: a member that was not the last to stop waits for its peers (TABLE_WAIT_TRIES x
    # TABLE_WAIT_MS) before it reports ready, or fails and is started again.
    # A member's failure must outlive the transition running beside it: after a kill of every
    # broker, the others' starts wait up to START for their peers, and a failure recorded
    # meanwhile that expired first (the site's 60 s) was dropped, leaving that member
    # "Started" but dead, and the two others waiting for it forever (a CI run's lab).
    return [clone(systemd(resource_id("rabbitmq"), ctx.unit("rabbitmq"), start=START,
                          interval=FAILOVER_MONITOR),
                  # and, failures kept that long, a member is retried in place however
                  # often its start fails (one instance per node: there is nowhere to move).
                  **{"failure-timeout": FAILURE_TIMEOUT, "migration-threshold": "INFINITY"})]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return []



# The account and its password reach the node on stdin, one line each: never in argv.
CREDENTIALS = compose(rabbit_account(), "\n", rabbit_password(), "\n")
# hastack's own AMQP clients (verify's publish/consume, the drills' load) log in as their own
# user, never as OpenStack's: a rotation deletes the account a running drill would hold, and
# the probe needs only its own queues (hastack-*) and the default exchange to publish to.
PROBE_USER = "hastack-probe"
PROBE_PASSWORD = SecretRef("rabbitmq-probe", rotation="named")
PROBE_CREDENTIALS = compose(f"{PROBE_USER}\n", PROBE_PASSWORD, "\n")
PROBE_PERMISSIONS = ("^hastack-", r"^(hastack-.*|amq\.default)$", "^hastack-")
OPENSTACK_PERMISSIONS = (".*", ".*", ".*")


def probe_client_env(site: Site, lookup: Callable[[SecretRef], str]) -> dict[str, str]:
    """What a client program of hastack's own (agents/amqp_client.py) needs to reach the
    brokers: the probe user, its password and, with internal TLS, the CA to trust (public)."""
    env = {"AMQP_USER": PROBE_USER, "AMQP_PASSWORD": lookup(PROBE_PASSWORD)}
    if tls.internal(site):
        env["AMQP_CA_PEM"] = lookup(tls.internal_ca_certificate())
    return env


ACCOUNTS = agent_text("rabbitmq_accounts.py")


def _accounts(mode: str, grants: Sequence[tuple[str, str, str]], absent: Sequence[str],
              credentials: Text | None = None) -> Command:
    """agents/rabbitmq_accounts.py: ``grants`` per account of ``credentials`` (stdin)."""
    return Command(argv=("python3", "-c", ACCOUNTS, mode, json.dumps(list(grants)),
                         json.dumps(list(absent))), stdin=credentials)


def _accounts_action() -> Action:
    """OpenStack's and hastack's probe accounts with the secrets file's passwords and their
    permissions on /, and no guest. Done when each account logs in with its password, so a
    rotated (another account) or restored password converges."""
    credentials = compose(CREDENTIALS, PROBE_CREDENTIALS)
    grants = (OPENSTACK_PERMISSIONS, PROBE_PERMISSIONS)
    return Action(name="rabbitmq-accounts", what="OpenStack's and hastack's probe RabbitMQ "
                  "accounts with the passwords of the secrets file and their permissions on "
                  "/, no guest user",
                  run=_accounts("apply", grants, ("guest",), credentials),
                  done=_accounts("check", grants, ("guest",), credentials),
                  phase="after-start")


FORGET = agent_text("rabbitmq_forget.sh")
GROW = agent_text("rabbitmq_grow.sh")


def bootstrap(ctx: ServiceContext) -> list[Action]:
    listed = [f"rabbit@{m.name}" for m in ctx.members]
    return [
        # A controller taken out of the site (stopped first): its broker forgotten, also by
        # its quorum queues, or RabbitMQ would count a member that never comes back.
        Action(name="rabbitmq-forget-departed", what="members no longer in the site "
               "forgotten", run=Command(argv=("sh", "-c", FORGET, "forget", "forget",
                                              *listed)),
               done=Command(argv=("sh", "-c", FORGET, "forget", "gone", *listed)),
               phase="departed"),
        # A controller added (or a dead one replaced): its broker holds no replica of the
        # queues declared before it joined until they are grown onto it; one taken out took
        # its replicas along, which the others then take back.
        *(Action(name=f"rabbitmq-grow-queues-{phase}", what="every quorum queue replicated "
                 "on each member", run=Command(argv=("sh", "-c", GROW, "grow", "grow", *listed)),
                 done=Command(argv=("sh", "-c", GROW, "grow", "check", *listed)),
                 phase=phase) for phase in ("departed", "joined")),
        _accounts_action(),
    ]


def retire(ctx: ServiceContext, superseded: Sequence[Superseded]) -> list[Action]:
    """The RabbitMQ accounts a rotation moved OpenStack away from, deleted on the first
    broker (RabbitMQ cannot disable one): run at the end of the deploy, when every service
    logs in as the other."""
    accounts = sorted({s.account for s in superseded if s.ref.kind == "rabbitmq"})
    # Deleted only if there: a probe that timed out under load must not fail the re-run.
    return [Action(name="rabbitmq-retire", what=f"delete the account OpenStack no longer "
                   f"uses: {account}", run=_accounts("apply", (), (account,)),
                   done=_accounts("check", (), (account,)))
            for account in accounts]


def checks(ctx: ServiceContext) -> list[Check]:
    return [
        Check(name="rabbitmq-members", what="RabbitMQ lists every member as running",
              probe=_rabbitmqctl("cluster_status", "--formatter", "json"),
              expect=f"{len(ctx.members)} running nodes", on="first",
              drills=("power-loss", "partition")),
        Check(name="rabbitmq-publish-consume",
              what="a message published on one member is consumed on another",
              probe=Command(argv=("rabbitmq.publish-consume",)), expect="the message",
              on="first", drills=("power-loss", "partition")),
        *([Check(name="rabbitmq-tls",
                 what="every member serves AMQP and its links to the others over TLS "
                      "only, with a certificate of the internal CA naming its address; the "
                      "plain AMQP port is closed",
                 probe=Command(argv=("tls.handshake", str(rabbit_port(ctx.site)))),
                 expect="a verified TLS handshake on each member", on="all")]
          if tls.internal(ctx.site) else []),
    ]
