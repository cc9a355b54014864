"""Settings every OpenStack service shares: database, message bus, keystone, memcached.

Service modules call these instead of spelling the same sections again (kolla's shared roles):
each helper bakes in one HA lesson, cited where it is set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from hastack.catalog import galera, tls
from hastack.catalog.contract import ServiceContext
from hastack.catalog.secret_text import SecretRef, Text, Value, compose
from hastack.catalog.steps import Action, Command, ConfigFile, KeystoneEntry, ini_file, text_file
from hastack.site.model import FenceType, Node, Site

RABBIT_PORT = 5672
RABBIT_TLS_PORT = 5671  # AMQP over TLS (openstack.internal_tls): the plain port is closed
MEMCACHED_PORT = 11211
KEYSTONE_PORT = 5000
# keystonemiddleware/oslo.cache: retry a dead memcached after 30 s instead of 300 s, and give
# up on a silent one soon. A member answers in well under a millisecond (and runs in the
# failover tier), so the timeout only decides how long a client waits on one that stopped.
MEMCACHE_DEAD_RETRY = 30
# keystonemiddleware's option is an integer: 1 s is its shortest.
MEMCACHE_SOCKET_TIMEOUT = 1
# oslo.cache: every cache region of a process keeps its own pool and its own idea of which
# member is dead, so a silent member costs a request this once per region it touches
# (memcached-loss drill: keystone 3.3 s, nova 5.2 s, neutron 6.2 s at 1 s per region).
CACHE_SOCKET_TIMEOUT = "0.25"  # a FloatOpt; the INI model holds no floats
SERVICE_PROJECT = "service"
ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"
RABBIT_USER = "openstack"

Sections = dict[str, dict[str, Value]]


def db_password(service: str) -> SecretRef:
    return SecretRef(f"{service}-db")


def keystone_password(user: str) -> SecretRef:
    """A service user's password (of its current account)."""
    return SecretRef(f"{user}-keystone", kind="keystone", subject=user, form="password")


def keystone_account(user: str) -> SecretRef:
    """The keystone user a service authenticates as: ``user``, or its alternate after a
    rotation (the old one keeps working until deploy has restarted every service using it)."""
    return SecretRef(f"{user}-keystone", kind="keystone", subject=user, form="account")


def rabbit_password() -> SecretRef:
    """OpenStack's RabbitMQ password (of its current account). Rotated only when named: the
    brokers restart for their new rabbitmq.conf, and every client reconnects."""
    return SecretRef("rabbitmq-openstack", kind="rabbitmq", subject=RABBIT_USER,
                     form="password", rotation="named")


def rabbit_account() -> SecretRef:
    """The RabbitMQ user OpenStack logs in as: ``openstack``, or its alternate after a
    rotation (RabbitMQ has one password per user: the old account serves the services not yet
    restarted, and is deleted at the end of the deploy)."""
    return SecretRef("rabbitmq-openstack", kind="rabbitmq", subject=RABBIT_USER,
                     form="account", rotation="named")


def admin_password() -> SecretRef:
    # People type it and clients outside the site hold it: rotated only when named.
    return SecretRef(f"{ADMIN_USER}-keystone", rotation="named")


def database_url(ctx: ServiceContext, database: str, *, user: str | None = None) -> Text:
    """Through the DB VIP: HAProxy sends every connection to one synced Galera member."""
    user = user or database
    return compose(f"mysql+pymysql://{user}:", db_password(user),
                   f"@{ctx.vip('db')}/{database}?charset=utf8")


def database_section(ctx: ServiceContext, database: str, *,
                     user: str | None = None) -> dict[str, Value]:
    # max_retries -1: retry forever while Galera fails over (the guide sets it everywhere).
    return {"connection": database_url(ctx, database, user=user), "max_retries": -1,
            "connection_recycle_time": 280}


def rabbit_nodes(ctx: ServiceContext) -> tuple[Node, ...]:
    return ctx.members_of("rabbitmq")


def rabbit_port(site: Site) -> int:
    return RABBIT_TLS_PORT if tls.internal(site) else RABBIT_PORT


def transport_url(ctx: ServiceContext) -> Text:
    """Every RabbitMQ member listed: clients fail over themselves, never through a VIP."""
    parts: list[str | SecretRef | Text] = ["rabbit://"]
    for i, node in enumerate(rabbit_nodes(ctx)):
        if i:
            parts.append(",")
        parts.extend([rabbit_account(), ":", rabbit_password(),
                      f"@{node.address}:{rabbit_port(ctx.site)}"])
    parts.append("/")
    return compose(*parts)


def messaging_sections(ctx: ServiceContext, *, uwsgi: bool = False) -> Sections:
    """oslo.messaging: quorum queues (RabbitMQ 4 removed mirrored-queue policies), heartbeats.

    Under uwsgi the heartbeat must run in a pthread, or RPC calls stall 60 s (lab-notes).
    """
    return {
        "DEFAULT": {"transport_url": transport_url(ctx)},
        "oslo_messaging_rabbit": {
            "rabbit_quorum_queue": True,
            "heartbeat_timeout_threshold": 60,
            "heartbeat_in_pthread": uwsgi,
            "kombu_failover_strategy": "round-robin",
            # The broker's certificate must come from the internal CA, which issues only the
            # site's nodes. Not its name: after a failover kombu 5.2 checked the name of
            # another member ("IP address mismatch" in the lab) and never reconnected.
            **({"ssl": True, "ssl_ca_file": tls.INTERNAL_CA_PATH}
               if tls.internal(ctx.site) else {}),
        },
    }


def memcached_servers(ctx: ServiceContext) -> str:
    return ",".join(f"{n.address}:{MEMCACHED_PORT}" for n in ctx.members_of("memcached"))


def keystone_public_url(ctx: ServiceContext) -> str:
    return tls.vip_url(ctx, "keystone", KEYSTONE_PORT)


def authtoken_section(ctx: ServiceContext, user: str) -> dict[str, Value]:
    """keystonemiddleware for an API service; tokens cached in every memcached member."""
    return {
        "www_authenticate_uri": keystone_public_url(ctx),
        "auth_url": keystone_public_url(ctx),
        "auth_type": "password",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": SERVICE_PROJECT,
        "username": keystone_account(user),
        "password": keystone_password(user),
        "memcached_servers": memcached_servers(ctx),
        # keystonemiddleware reads the two memcache_pool_* settings only with its advanced
        # pool (oslo.cache's, which also shares a dead member between its connections);
        # without it each cached token check waits python-memcached's 3 s on a silent
        # member (memcached-loss drill: API calls of 4.5-6.2 s).
        "memcache_use_advanced_pool": True,
        "memcache_pool_dead_retry": MEMCACHE_DEAD_RETRY,
        "memcache_pool_socket_timeout": MEMCACHE_SOCKET_TIMEOUT,
        # Cached tokens are encrypted and signed with a key of this service's own: memcached
        # has no authentication, and anyone on the internal network could otherwise read
        # a valid token from it, or plant a forged validation.
        "memcache_security_strategy": "ENCRYPT",
        "memcache_secret_key": SecretRef(f"{user}-token-cache", kind="password"),
        "service_token_roles_required": True,
    }


def service_credentials(ctx: ServiceContext, user: str, **extra: Value) -> dict[str, Value]:
    """A keystone password auth section (nova's [neutron], [placement], [service_user] ...)."""
    return {
        "auth_type": "password",
        "auth_url": keystone_public_url(ctx),
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": SERVICE_PROJECT,
        "username": keystone_account(user),
        "password": keystone_password(user),
        "region_name": ctx.site.openstack.region,
        **extra,
    }


def cache_section(ctx: ServiceContext) -> dict[str, Value]:
    """oslo.cache through every memcached member (not proxied: the guide gives clients a list)."""
    return {
        "enabled": True,
        "backend": "oslo_cache.memcache_pool",
        "memcache_servers": memcached_servers(ctx),
        "memcache_dead_retry": MEMCACHE_DEAD_RETRY,
        "memcache_socket_timeout": CACHE_SOCKET_TIMEOUT,
    }


def on_lab(nodes: Iterable[Node]) -> bool:
    """Nodes that are lab machines (fenced by the lab's BMCs): no hypervisor, no volume
    backend, no loop devices there, so services pick what a lab machine can run."""
    return all(n.fencing is not None and n.fencing.type is FenceType.LAB for n in nodes)


def workers(ctx: ServiceContext) -> int | None:
    return ctx.site.openstack.workers


def forked_workers(ctx: ServiceContext) -> int:
    """``workers`` for eventlet servers that fork (glance-api, swift): one worker is run as
    0, the server itself, unforked. A forking parent polls its children ~100 times a second
    (strace: swift's), a few % of a core per server while idle; Pacemaker already restarts
    a server process that dies."""
    count = workers(ctx) or 4
    return 0 if count == 1 else count


def merge(*sections: Mapping[str, Mapping[str, Value]]) -> Sections:
    """Merge section maps in order; later keys win, sections keep first-seen order."""
    out: Sections = {}
    for part in sections:
        for name, options in part.items():
            out.setdefault(name, {}).update(options)
    return out


def database_actions(ctx: ServiceContext, database: str, *,
                     user: str | None = None) -> list[Action]:
    """Create a service's database and its user once, on a Galera member; after a new
    password, the old one works until the service was restarted everywhere with the new."""
    user = user or database
    password = db_password(user)
    return [Action(name=f"{database}-database", what=f"create database and user {database}",
                   run=galera.database_and_user(database, user, password),
                   done=galera.user_converged(database, user, password), where="galera"),
            Action(name=f"{database}-database-old-password",
                   what=f"drop the old password of database user {user}",
                   run=galera.password_only(user, password),
                   done=galera.has_password_only(user, password), where="galera",
                   phase="after-start")]


ONCE_DIR = "/var/lib/hastack/once"


def once_action(name: str, what: str, argv: tuple[str, ...], *, user: str,
                env: tuple[tuple[str, Text], ...] = (), still: Command | None = None) -> Action:
    """A command run once on one member and again only when its tool or its arguments change
    (a package upgrade; keystone's endpoints becoming https) or ``still`` (an ``sh -c``
    check) stops holding: done is a marker holding the tool's checksum and the arguments'
    digest, written after success. The tools (db_sync, bootstrap) are idempotent themselves;
    the marker keeps a re-run quiet."""
    marker = f"{ONCE_DIR}/{name}"
    tool = f'"$(command -v {argv[0]})"'
    arguments = hashlib.sha256("\0".join(argv).encode()).hexdigest()[:16]
    stamp = f'"$(sha256sum {tool}) {arguments}"'
    run = Command(argv=("sh", "-c", f'runuser -u {user} -- "$@" && mkdir -p {ONCE_DIR} && '
                        f"echo {stamp} > {marker}", "once", *argv), env=env)
    stamped = f'test "$(cat {marker} 2>/dev/null)" = {stamp}'
    done = Command(argv=("sh", "-c", stamped)) if still is None else \
        Command(argv=("sh", "-c", f"{stamped} && {still.argv[-1]}"), stdin=still.stdin)
    return Action(name=name, what=what, run=run, done=done)


def db_sync_action(name: str, argv: tuple[str, ...], *, user: str, what: str) -> Action:
    """A schema migration, run once on one member (and again after an upgrade)."""
    return once_action(name, what, argv, user=user)


def uwsgi_files(ctx: ServiceContext, node: Node, *, component: str, wsgi_file: str,
                port: int, user: str, extra: dict[str, str] | None = None) -> list[ConfigFile]:
    """hastack's own uwsgi ini and a unit drop-in that runs it.

    Debian's inis load the apparmor plugin (uwsgi dies without AppArmor), bind every
    interface (HAProxy needs the VIP's port), run 8 processes x 32 threads and lack need-app,
    so a broken app answers 500 forever (lab-notes). Ours bind the node's own address.
    """
    unit = ctx.unit(component)
    ini_path = f"/etc/hastack/uwsgi/{component}.ini"
    processes = workers(ctx) or 4
    options = {
        "master": "true", "need-app": "true", "die-on-term": "true", "no-orphans": "true",
        "lazy-apps": "true", "enable-threads": "true", "thunder-lock": "true",
        "http-socket": f"{node.address}:{port}", "processes": str(processes), "threads": "1",
        # http-socket closes every connection after its answer; saying so keeps clients
        # (keystoneauth's pooled sessions) from reusing one that is gone.
        "add-header": "Connection: close",
        "buffer-size": "65535", "listen": "100", "uid": user, "gid": user,
        "wsgi-file": wsgi_file, "name": component,
        "logto": f"/var/log/{user}/{component}-uwsgi.log", **(extra or {}),
    }
    ini = ini_file(node.name, ini_path, {"uwsgi": options}, mode=0o644)
    dropin = text_file(node.name, f"/etc/systemd/system/{unit}.service.d/hastack.conf",
                       "[Service]\nExecStart=\n",
                       f"ExecStart=/usr/bin/uwsgi_python3 --ini {ini_path}\n")
    return [ini, dropin]


def keystone_action(service: str, service_type: str, url: str, *, user: str | None = None,
                    name: str | None = None, extra_roles: tuple[str, ...] = ()) -> Action:
    """Register a service once: its user (admin on 'service'), catalog entry and endpoints."""
    user = user if user is not None else service
    return Action(name=f"{name or service}-keystone", what=f"register {name or service} "
                  f"({service_type}) in keystone at {url}",
                  run=KeystoneEntry(service=name or service, service_type=service_type, url=url,
                                    user=user or None,
                                    password=keystone_password(user) if user else None,
                                    account=keystone_account(user) if user else None,
                                    extra_roles=extra_roles))
