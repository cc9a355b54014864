"""Keystone: identity, active/active on every member behind the keystone VIP (guide: Keystone).

Every member serves the same fernet and credential keys, kept as secrets and written
identically everywhere, so a token issued by one member validates on all: a VIP move never
logs anyone out (`secrets rotate` shifts them as keystone's own rotation does). Tokens are
cached in every memcached member. In a collapsed cluster keystone starts after HAProxy, a
promoted Galera, RabbitMQ and memcached (Optional orders: once running, it keeps running
when one of them fails on its node).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hastack.catalog import openstack as os_
from hastack.catalog import tls
from hastack.catalog.cib_model import (
    CibSetting,
    Constraint,
    Order,
    Resource,
    clone,
    clone_id,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext, Superseded
from hastack.catalog.secret_text import SecretRef, Text, compose
from hastack.catalog.steps import Action, ApiCall, Check, Command, ConfigFile, ini_file, text_file

SERVICE = Service(
    name="keystone",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("keystone", "openstack-client"),
    requires=("galera", "rabbitmq", "memcached", "loadbalancer"),
    vips=("keystone",),
    summary="identity API (A/A clone behind vip-keystone)",
    first=True,
)

PORT = 5000  # keystone's single API port since Queens (the guide's 35357 admin port is gone)
# Keystone's key repository: 0 is staged (every node can already read it), the highest is
# primary (encrypts), those between are earlier primaries that still decrypt. `secrets rotate`
# shifts them: staged becomes primary, primary becomes 1, a new staged key appears; so every
# node reads what any other node encrypts, whichever has the new set first. A token lives 1 h:
# rotate no more often, or tokens from two rotations ago stop validating.
FERNET_KEYS = 3
KEY_DIRS = {"fernet": "/etc/keystone/fernet-keys", "credential": "/etc/keystone/credential-keys"}


def _keys(node: str) -> list[ConfigFile]:
    """The key repositories. Keystone reads them on every token and credential it encrypts or
    decrypts (keystone.token.token_formatters, keystone.credential.providers.fernet), as
    its own fernet_rotate expects: a rotation writes them and restarts nothing."""
    files = []
    for kind, directory in KEY_DIRS.items():
        for index in range(FERNET_KEYS):
            files.append(text_file(node, f"{directory}/{index}",
                                   SecretRef(f"keystone-{kind}-{index}", kind="fernet"),
                                   owner="keystone", group="keystone", mode=0o600,
                                   restart=False))
    return files


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        sections = os_.merge(
            {"DEFAULT": {"debug": ctx.site.openstack.debug,
                         "public_endpoint": os_.keystone_public_url(ctx)}},
            {"database": os_.database_section(ctx, "keystone")},
            {"cache": os_.cache_section(ctx)},
            {"token": {"provider": "fernet", "expiration": 3600}},
            {"fernet_tokens": {"key_repository": KEY_DIRS["fernet"],
                               "max_active_keys": FERNET_KEYS}},
            {"credential": {"key_repository": KEY_DIRS["credential"]}},
            os_.messaging_sections(ctx, uwsgi=True),
            {"oslo_messaging_notifications": {"driver": "noop"}},
            tls.proxy_headers(ctx),
        )
        files.append(ini_file(node.name, "/etc/keystone/keystone.conf", sections,
                              group="keystone"))
        files.extend(os_.uwsgi_files(ctx, node, component="keystone",
                                     wsgi_file="/usr/bin/keystone-wsgi-public", port=PORT,
                                     user="keystone"))
        files.extend(_keys(node.name))
        files.append(_openrc(ctx, node.name))
    return files


OPENRC = "/root/openrc"


def _openrc(ctx: ServiceContext, node: str) -> ConfigFile:
    """The admin's credentials for the `openstack` CLI on a controller (. /root/openrc).
    Its own owner label: a changed openrc restarts no service."""
    return replace(text_file(
        node, OPENRC, "# Rendered by hastack: the cloud's admin, through the keystone VIP.\n",
        f"export OS_AUTH_URL={os_.keystone_public_url(ctx)}/v3\n",
        "export OS_IDENTITY_API_VERSION=3\n",
        f"export OS_REGION_NAME={ctx.site.openstack.region}\n",
        *([f"export OS_CACERT={tls.ca_path(ctx.site)}\n"] if tls.enabled(ctx.site) else []),
        f"export OS_USERNAME={os_.ADMIN_USER}\nexport OS_PROJECT_NAME={os_.ADMIN_PROJECT}\n",
        "export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n",
        "export OS_PASSWORD='", os_.admin_password(), "'\n", mode=0o600), service="openrc")


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("keystone"), ctx.unit("keystone")))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    # Start-up order only (Optional): keystone reaches the database through the DB VIP,
    # RabbitMQ and memcached through lists of every member, so a running keystone outlives
    # the loss of any one of them on its own node, and restarting it would not help.
    this = clone_id("keystone")
    return [
        Order(clone_id("haproxy"), this, kind="Optional"),
        Order(clone_id("galera"), this, first_action="promote", kind="Optional"),
        Order(clone_id("rabbitmq"), this, kind="Optional"),
        Order(clone_id("memcached"), this, kind="Optional"),
    ]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="keystone", vip="keystone", port=PORT, mode="http")]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    public = os_.keystone_public_url(ctx)
    bootstrap_env = (("OS_BOOTSTRAP_PASSWORD", compose(os_.admin_password())),)
    return [
        *os_.database_actions(ctx, "keystone"),
        os_.db_sync_action("keystone-db-sync", ("keystone-manage", "db_sync"),
                           user="keystone", what="create or upgrade keystone's schema"),
        _bootstrap_action(ctx, bootstrap_env, (
            "keystone-manage", "bootstrap", "--bootstrap-username", os_.ADMIN_USER,
            "--bootstrap-project-name", os_.ADMIN_PROJECT,
            "--bootstrap-admin-url", public, "--bootstrap-internal-url", public,
            "--bootstrap-public-url", public,
            "--bootstrap-region-id", ctx.site.openstack.region)),
        Action(name="keystone-service-project", what="create the 'service' project",
               run=ApiCall("project.ensure", (("name", os_.SERVICE_PROJECT),)),
               phase="after-start"),
        _credential_migrate_action(),
    ]


CREDENTIAL_MARK = f"{os_.ONCE_DIR}/keystone-credential-migrate"


def _credential_migrate_action() -> Action:
    """After a rotation the stored credentials are encrypted again with the new primary key,
    before the next rotation drops the one they were written with. Done: the mark holds the
    primary key file's checksum (keystone's own files; the key never leaves the node)."""
    primary = f"{KEY_DIRS['credential']}/{FERNET_KEYS - 1}"
    stamp = f'"$(sha256sum {primary} | cut -c1-64)"'
    return Action(
        name="keystone-credential-migrate",
        what="encrypt the stored credentials with the primary credential key",
        run=Command(argv=("sh", "-c", "runuser -u keystone -- keystone-manage "
                          f"credential_migrate && mkdir -p {os_.ONCE_DIR} && "
                          f"echo {stamp} > {CREDENTIAL_MARK}")),
        done=Command(argv=("sh", "-c", f'test "$(cat {CREDENTIAL_MARK} 2>/dev/null)" = '
                           f"{stamp}")),
        phase="after-start")


def _bootstrap_action(ctx: ServiceContext, env: tuple[tuple[str, Text], ...],
                      argv: tuple[str, ...]) -> Action:
    """keystone-manage bootstrap, run again when its arguments change or when the admin
    password of the secrets file no longer authenticates: bootstrap resets it (a rotated or
    restored password converges). The password reaches curl on stdin, never in argv."""
    cacert = f"--cacert {tls.ca_path(ctx.site)} " if tls.enabled(ctx.site) else ""
    authenticates = (f"curl -sf -o /dev/null -m 20 {cacert}-H 'Content-Type: application/json' "
                     f"-d @- {os_.keystone_public_url(ctx)}/v3/auth/tokens")
    body = compose('{"auth": {"identity": {"methods": ["password"], "password": {"user": '
                   f'{{"name": "{os_.ADMIN_USER}", "domain": {{"id": "default"}}, '
                   '"password": "', os_.admin_password(), '"}}}}}')
    return os_.once_action("keystone-bootstrap", "create the admin user, project and role "
                           "and keystone's own endpoints", argv, user="keystone", env=env,
                           still=Command(argv=("sh", "-c", authenticates), stdin=body))


def checks(ctx: ServiceContext) -> list[Check]:
    return [
        Check(name="keystone-token", what="keystone issues a token through its VIP",
              probe=ApiCall("token.issue"), expect="a token", on="vip",
              drills=("power-loss", "partition", "service-kill")),
        Check(name="keystone-token-member", what="every member issues a token",
              probe=ApiCall("token.issue.member"), expect="a token from each member",
              on="all"),
        *_tls_checks(ctx),
    ]


def _tls_checks(ctx: ServiceContext) -> list[Check]:
    """The lock, not the door: every endpoint of the catalog (and the dashboard) answers
    over TLS with a certificate of the site CA for its address, and not over plain HTTP."""
    if not tls.enabled(ctx.site):
        return []
    also = (("dashboard", tls.vip_url(ctx, "horizon")),) if "horizon" in ctx.placement.vips \
        else ()
    return [Check(name="tls-endpoints", what="every endpoint in the catalog and the dashboard "
                  "answer over TLS with a certificate of the site CA, none over plain HTTP",
                  probe=ApiCall("catalog.tls", also), expect="https and a verified certificate "
                  "on each", on="first")]


def retire(ctx: ServiceContext, superseded: Sequence[Superseded]) -> list[Action]:
    """The keystone accounts a rotation moved services away from, disabled in one call
    (their tokens revoked with them): only now does the old password stop working, when
    nothing uses it any more."""
    users = tuple(sorted({(s.account, s.ref.domain or "default") for s in superseded
                          if s.ref.kind == "keystone"}))
    if not users:
        return []
    return [Action(name="keystone-retire", what="disable the accounts services no longer use",
                   run=ApiCall("keystone.retire", params=(("users", users),)))]
