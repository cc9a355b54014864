"""Galera: the replicated database, a promotable clone promoted on every member.

Guide: Replicated Database. ocf:heartbeat:galera finds the member with the newest seqno,
bootstraps it and joins the others (also after a cold start of every member). All members
are promoted (multi-master), but HAProxy sends every connection through the DB VIP to one
synced member at a time (single writer: no certification conflicts or deadlocks), judged by
an HTTP health check on port 9200 that passes only on a synced node (the guide's
clustercheck, here hastack's agents/galera_check.py behind a socket unit: Debian 12 ships
no clustercheck).
"""

from __future__ import annotations

from hastack.agents import GALERA_CHECK, agent_text
from hastack.catalog import tls
from hastack.catalog.cib_model import (
    CibSetting,
    Clone,
    Constraint,
    Op,
    Primitive,
    Resource,
    pairs,
    resource_id,
)
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext
from hastack.catalog.secret_text import SecretRef, Value, compose
from hastack.catalog.steps import Action, Check, Command, ConfigFile, Sql, ini_file, text_file
from hastack.site.model import Node

SERVICE = Service(
    name="galera",
    ha_mode=HAMode.PROMOTABLE,
    packages=("galera", "clustercheck"),  # clustercheck: python3 for agents/galera_check.py
    vips=("db",),
    summary="MariaDB Galera, promotable clone; one writer at a time through vip-db",
    agent_units=("galera",),
    failover=True,
    login_user="mysql",
)

PORT = 3306
GCOMM_PORT = 4567  # Galera's replication (group communication)
CHECK_PORT = 9200  # the guide's clustercheck port
SOCKET = "/run/mysqld/mysqld.sock"
DATADIR = "/var/lib/mysql"
# Promotion may include a full state transfer: the guide gives it 300 s and blocks on failure
# rather than fencing a node that is merely slow to sync.
PROMOTE_TIMEOUT = "300s"
CONNECTION_TIMEOUT = "90m"  # the guide's client/server timeouts on the DB listener
CHECK_SCRIPT = "/usr/local/libexec/hastack-galera-check"
TLS_DIR = "/etc/mysql/tls"
VERIFY_DB = "hastack_verify"  # `hastack verify` writes a row through the VIP here
# Rotated only when named: verify and the drills' load use it, and a drill running while it
# changes would count its own refused logins as lost writes.
VERIFY_PASSWORD = SecretRef("galera-verify", rotation="named")
MEMBERS_FILE = "/etc/mysql/mariadb.conf.d/61-galera-members.cnf"  # see config()


def cluster_address(ctx: ServiceContext) -> str:
    # Pacemaker node names: the agent maps members to nodes by name.
    return "gcomm://" + ",".join(n.name for n in ctx.members)


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        files.append(ini_file(node.name, "/etc/mysql/mariadb.conf.d/60-galera.cnf", {
            "mysqld": {
                "bind-address": str(node.address),
                "port": PORT,
                "datadir": DATADIR,
                "socket": SOCKET,
                "binlog_format": "ROW",
                "default_storage_engine": "InnoDB",
                "innodb_autoinc_lock_mode": 2,
                # 1: a commit is on disk before it is acknowledged. With 2 (the usual Galera
                # advice, trusting the other members) a whole-site power loss takes up to a
                # second of acknowledged commits from every member at once.
                "innodb_flush_log_at_trx_commit": 1,
                "skip-name-resolve": 1,
                "max_connections": 4096,
                "wsrep_on": "ON",
                "wsrep_provider": ctx.platform.galera_provider,
                "wsrep_cluster_name": f"hastack_{ctx.cluster.name}",
                "wsrep_node_name": node.name,
                "wsrep_node_address": str(node.address),
                "wsrep_sst_method": "rsync",
                "wsrep_slave_threads": 2,
                "wsrep_provider_options": provider_options(ctx, node),
            },
            **_sst_tls(ctx),
            # The agent calls mysql without --socket (lab-notes).
            "client": {"socket": SOCKET},
        }, mode=0o644))
        # In a file too: mysqld --wsrep-recover aborts without it (lab-notes). Its own file:
        # read only when mysqld starts (the agent passes its own copy to a joining member),
        # so a member added or removed restarts none of the others.
        files.append(text_file(node.name, MEMBERS_FILE, "[mysqld]\n",
                               f"wsrep_cluster_address = {cluster_address(ctx)}\n",
                               restart=False))
        files.append(tls.link_file(node.name, "/etc/mysql/hastack-links", ctx.site))
        if tls.internal(ctx.site):
            files += tls.node_certificate_files(node, TLS_DIR, "mysql")
        files.append(text_file(node.name, "/etc/tmpfiles.d/hastack-mysqld.conf",
                               "d /run/mysqld 0755 mysql mysql -\n",
                               "d /var/log/mysql 0750 mysql adm -\n"))
        files.append(text_file(node.name, CHECK_SCRIPT, agent_text(GALERA_CHECK), mode=0o755))
        # One process answers every check (Accept=no): agents/galera_check.py says why.
        files.append(text_file(
            node.name, "/etc/systemd/system/galera-check.socket",
            "[Unit]\nDescription=Galera health check for HAProxy (hastack)\n\n[Socket]\n",
            f"ListenStream={node.address}:{CHECK_PORT}\nAccept=no\n\n",
            "[Install]\nWantedBy=sockets.target\n"))
        files.append(text_file(
            node.name, "/etc/systemd/system/galera-check.service",
            "[Unit]\nDescription=Galera health check (hastack)\nRequires=galera-check.socket\n"
            "\n[Service]\n",
            f"ExecStart={CHECK_SCRIPT}\nRestart=on-failure\n"))
    return files


# Galera's own failure detector: after evs.suspect_timeout (5 s by default) without a word
# from a member the others evict it, and until then every commit waits for it. Corosync has
# already decided after its token and consensus (2.2 x token): the drill timelines showed the
# DB VIP up on a new node at 4.5 s and writes blocked until Galera's new view at 5.6 s.
GALERA_SUSPECT_DEFAULT_MS = 5000
KEEPALIVE_DEFAULT_MS = 1000
INACTIVE_CHECK_DEFAULT_MS = 500


def suspect_timeout_ms(ctx: ServiceContext) -> int:
    """Corosync's detection time (token + its default consensus of 1.2 x token), never longer
    than Galera's default: both watch the same members on the same network."""
    return min(GALERA_SUSPECT_DEFAULT_MS, round(ctx.site.cluster.token_ms * 2.2))


def _period(ms: int) -> str:
    return f"PT{ms / 1000:g}S"


def provider_options(ctx: ServiceContext, node: Node) -> str:
    """Galera refuses to start unless a member's keepalive is below a third of the suspect
    timeout and its inactivity check below half (gcomm's evs_proto check_range); each
    stays at its default (1 s, 0.5 s) unless that would break the rule. Replication and IST
    listen on the member's internal address only (Galera's default: every address)."""
    suspect = suspect_timeout_ms(ctx)
    keepalive = min(KEEPALIVE_DEFAULT_MS, suspect // 4)
    check = min(INACTIVE_CHECK_DEFAULT_MS, suspect // 4)
    options = "; ".join((f"evs.suspect_timeout={_period(suspect)}",
                         f"evs.keepalive_period={_period(keepalive)}",
                         f"evs.inactive_check_period={_period(check)}",
                         # The write-set cache survives a crash: members that rejoin after a
                         # power loss catch up by IST from it instead of a full SST.
                         "gcache.recover=yes",
                         f"gmcast.listen_addr=tcp://{node.address}:{GCOMM_PORT}",
                         f"ist.recv_addr={node.address}",
                         *_replication_tls(ctx)))
    return f'"{options}"'  # quoted, as Galera's documentation writes a list


def _replication_tls(ctx: ServiceContext) -> list[str]:
    """Group communication and IST over TLS: a member accepts only peers whose certificate
    the internal CA issued (a plain peer cannot join)."""
    if not tls.internal(ctx.site):
        return []
    return [f"socket.ssl_cert={TLS_DIR}/node.crt", f"socket.ssl_key={TLS_DIR}/node.key",
            f"socket.ssl_ca={tls.INTERNAL_CA_PATH}"]


def _sst_tls(ctx: ServiceContext) -> dict[str, dict[str, Value]]:
    """A full state transfer (rsync) through stunnel, each side checking that the other's
    certificate comes from the internal CA, which issues only the site's nodes (VERIFY_CA:
    MariaDB 10.11's VERIFY_IDENTITY checked another name than the joiner's address and
    refused every transfer in the lab)."""
    if not tls.internal(ctx.site):
        return {}
    return {"sst": {"ssl-mode": "VERIFY_CA", "ssl-ca": tls.INTERNAL_CA_PATH,
                    "ssl-cert": f"{TLS_DIR}/node.crt", "ssl-key": f"{TLS_DIR}/node.key"}}


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    primitive = Primitive(
        id=resource_id("galera"), agent="ocf:heartbeat:galera",
        params=pairs({
            "wsrep_cluster_address": cluster_address(ctx),
            "enable_creation": True,
            "config": "/etc/mysql/my.cnf",
            "datadir": DATADIR,
            "socket": SOCKET,
            "pid": "/run/mysqld/mysqld.pid",
            "log": "/var/log/mysql/error.log",
            "additional_parameters": "--open-files-limit=16384",
        }),
        ops=(Op("start", timeout="120s"), Op("stop", timeout="120s"),
             Op("promote", timeout=PROMOTE_TIMEOUT, on_fail="block"),
             Op("demote", timeout="120s"),
             # Each monitor runs the agent (a shell script and the mysql client: ~0.15 s of
             # CPU). HAProxy's check (every 2 s) already steers writes off a member that is
             # not synced; the monitor repairs it, so 10 s for a promoted member is enough.
             Op("monitor", interval="20s", timeout="30s"),
             Op("monitor", interval="10s", timeout="30s", role="Promoted"),
             Op("monitor", interval="30s", timeout="30s", role="Unpromoted")),
        # Read when a member starts (to find its peers, or to bootstrap from all of them):
        # adding or removing a member restarts none of the running ones.
        in_place=("wsrep_cluster_address",))
    # Created with its promotable clone in one step (lab-notes). Not ordered (the guide:
    # ordered=true): the agent's start only reads the member's position (mysqld
    # --wsrep-recover), and ordered starts each waited for a new transition, which waited
    # for every slow start in flight: on a power return the three starts took 26-90 s one
    # after the other (11, 9 and 29 s of work). Promotes, which join the cluster, are not
    # serialized by ordered anyway (two members promoted together).
    return [Clone(primitive=primitive, promotable=True, meta=pairs({
        "promoted-max": len(ctx.members), "interleave": True, "notify": True}))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return []


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="galera", vip="db", port=PORT, mode="tcp", single_writer=True,
                     tls=False,
                     check_port=CHECK_PORT, check_path="/", timeout_client=CONNECTION_TIMEOUT,
                     timeout_server=CONNECTION_TIMEOUT, tcp_keepalive=True)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    member_names = [n.name for n in ctx.members]
    enabled = "systemctl is-enabled -q galera-check.socket && systemctl is-active -q " \
              "galera-check.socket"
    return [
        Action(name="galera-runtime-dir", what="create /run/mysqld and /var/log/mysql",
               run=Command(argv=("systemd-tmpfiles", "--create",
                                 "/etc/tmpfiles.d/hastack-mysqld.conf")),
               done=Command(argv=("test", "-d", "/var/log/mysql")), on="all"),
        Action(name="galera-check-socket",
               what="listen for HAProxy's health check on port 9200",
               run=Command(argv=("systemctl", "enable", "--now", "galera-check.socket")),
               done=Command(argv=("sh", "-c", enabled)), on="all"),
        Action(name="galera-verify-user",
               what="create the database and user `hastack verify` writes through the VIP",
               run=database_and_user(VERIFY_DB, VERIFY_DB, VERIFY_PASSWORD),
               done=user_converged(VERIFY_DB, VERIFY_DB, VERIFY_PASSWORD), phase="after-start"),
        Action(name="galera-verify-user-old-password",
               what="drop the old password of `hastack verify`'s database user",
               run=password_only(VERIFY_DB, VERIFY_PASSWORD),
               done=has_password_only(VERIFY_DB, VERIFY_PASSWORD), phase="after-start"),
        Action(name="galera-anonymous-users", what="remove anonymous database users",
               run=Sql(statements=tuple(compose(f"DROP USER IF EXISTS ''@'{host}'")
                                        for host in ("localhost", *member_names))),
               done=Sql(statements=(compose(
                   "SELECT 1 FROM DUAL WHERE NOT EXISTS "
                   "(SELECT 1 FROM mysql.user WHERE User = '')"),)),
               phase="after-start"),
    ]


def database_and_user(database: str, user: str, password: SecretRef) -> Sql:
    """A database and its user, created or given the password of the secrets file.

    A user that exists with another password accepts both (MariaDB tries each method in
    turn) until every service using it runs with the new one: ``password_only`` then drops
    the old. MariaDB has no dual passwords, so a rotation would otherwise refuse every new
    connection of a node not yet restarted."""
    current = ("(SELECT JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv "
               f"WHERE User = '{user}' AND Host = '%')")
    both = (f"'ALTER USER ''{user}''@''%'' IDENTIFIED VIA mysql_native_password USING ''', "
            "@hastack_new, ''' OR mysql_native_password USING ''', @hastack_old, ''''")
    return Sql(statements=(
        compose(f"CREATE DATABASE IF NOT EXISTS `{database}`"),
        compose(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '", password, "'"),
        compose("SET @hastack_new = PASSWORD('", password, "')"),
        compose(f"SET @hastack_old = {current}"),
        compose(f"SET @hastack_both = IF(@hastack_old = @hastack_new, 'DO 0', CONCAT({both}))"),
        compose("PREPARE hastack_both FROM @hastack_both"),
        compose("EXECUTE hastack_both"),
        compose("DEALLOCATE PREPARE hastack_both"),
        compose(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'"),
    ))


def user_converged(database: str, user: str, password: SecretRef) -> Sql:
    """Done when the user can reach the database (grants are per database) with the password
    of the secrets file: a rotated or restored password converges on the next deploy."""
    return Sql(statements=(compose(
        "SELECT 1 FROM mysql.db d JOIN mysql.user u ON u.User = d.User AND u.Host = d.Host "
        f"WHERE d.Db = '{database}' AND d.User = '{user}' AND d.Host = '%' "
        "AND u.authentication_string = PASSWORD('", password, "')"),))


def password_only(user: str, password: SecretRef) -> Sql:
    """The user's other passwords dropped: run once every service using it was restarted."""
    return Sql(statements=(compose(f"ALTER USER '{user}'@'%' IDENTIFIED BY '", password, "'"),))


def has_password_only(user: str, password: SecretRef) -> Sql:
    """One way in for the user (``auth_or`` keeps a placeholder for the main method)."""
    return Sql(statements=(compose(
        f"SELECT 1 FROM mysql.global_priv WHERE User = '{user}' AND Host = '%' "
        "AND JSON_VALUE(Priv, '$.authentication_string') = PASSWORD('", password, "') "
        "AND IFNULL(JSON_LENGTH(Priv, '$.auth_or'), 1) <= 1"),))


def checks(ctx: ServiceContext) -> list[Check]:
    return [
        Check(name="galera-cluster-size", what="every member is in the Galera cluster, synced",
              probe=Sql(statements=(compose("SHOW STATUS LIKE 'wsrep_cluster_size'"),)),
              expect=f"wsrep_cluster_size = {len(ctx.members)}", on="all",
              drills=("power-loss", "partition", "galera-cold-start")),
        Check(name="galera-write-through-vip",
              what="a row written through the DB VIP reads back on every member",
              probe=Command(argv=("galera.write-readback",)), expect="the row on every member",
              on="vip", drills=("power-loss", "partition", "galera-cold-start")),
        *([Check(name="galera-replication-tls",
                 what="every member's replication port speaks TLS only, with a certificate "
                      "of the internal CA naming its address",
                 probe=Command(argv=("tls.handshake", str(GCOMM_PORT))),
                 expect="a verified TLS handshake on each member", on="all")]
          if tls.internal(ctx.site) else []),
    ]
