"""Heat: orchestration APIs active/active, heat-engine active/passive.

Guide: Heat. heat-api and heat-api-cfn are stateless clones behind the heat VIP. The guide
ran heat-engine on every member; hastack runs one engine cluster-wide (this project's
choice): stack actions are then never raced by two engines, and the engine moves on failure
like cinder-volume. heat-api-cloudwatch is gone upstream (docs/deviations.md). With
ceilometer placed alongside, heat-api starts after it (autoscaling alarms, guide).
"""

from __future__ import annotations

from hastack.catalog import openstack as os_
from hastack.catalog import tls
from hastack.catalog.cib_model import (
    CibSetting,
    Constraint,
    Order,
    Resource,
    chain,
    clone,
    clone_id,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import Action, ApiCall, Check, ConfigFile, ini_file

SERVICE = Service(
    name="heat",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("heat",),
    requires=("keystone", "galera", "rabbitmq", "memcached", "loadbalancer"),
    after=("ceilometer",),
    vips=("heat",),
    toggle="heat",
    summary="orchestration: api and cfn A/A, heat-engine A/P (one instance)",
    apis=("heat-api", "heat-api-cfn", "heat-engine"),  # the APIs call the engine and wait
)

API_PORT = 8004
CFN_PORT = 8000
DOMAIN = "heat"
DOMAIN_ADMIN = "heat_domain_admin"
# A keystone user like the service users: a rotation moves it to its other account
# (heat_domain_admin-2), since keystone would revoke heat-engine's tokens on a password change.
DOMAIN_ADMIN_PASSWORD = SecretRef("heat-domain-admin", kind="keystone", subject=DOMAIN_ADMIN,
                                  domain=DOMAIN, form="password")
DOMAIN_ADMIN_ACCOUNT = SecretRef("heat-domain-admin", kind="keystone", subject=DOMAIN_ADMIN,
                                 domain=DOMAIN, form="account")


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    cfn = tls.vip_url(ctx, "heat", CFN_PORT)
    for node in ctx.members:
        sections = os_.merge(
            {"DEFAULT": {
                # With a scheme: the guide's bare host:port broke wait conditions.
                "heat_metadata_server_url": cfn,
                "heat_waitcondition_server_url": f"{cfn}/v1/waitcondition",
                "stack_domain_admin": DOMAIN_ADMIN_ACCOUNT,
                "stack_domain_admin_password": DOMAIN_ADMIN_PASSWORD,
                "stack_user_domain_name": DOMAIN,
                "num_engine_workers": os_.workers(ctx) or 4}},
            {"database": os_.database_section(ctx, "heat")},
            os_.messaging_sections(ctx, uwsgi=True),
            {"keystone_authtoken": os_.authtoken_section(ctx, "heat")},
            tls.proxy_headers(ctx),
            {"trustee": os_.service_credentials(ctx, "heat")},
            {"clients_keystone": {"auth_uri": os_.keystone_public_url(ctx)}},
            {"heat_api": {"bind_host": str(node.address), "bind_port": API_PORT}},
            {"heat_api_cfn": {"bind_host": str(node.address), "bind_port": CFN_PORT}},
            {"cache": os_.cache_section(ctx)},
        )
        files.append(ini_file(node.name, "/etc/heat/heat.conf", sections, group="heat"))
        files += os_.uwsgi_files(ctx, node, component="heat-api",
                                 wsgi_file="/usr/bin/heat-wsgi-api", port=API_PORT,
                                 user="heat")
        files += os_.uwsgi_files(ctx, node, component="heat-api-cfn",
                                 wsgi_file="/usr/bin/heat-wsgi-api-cfn", port=CFN_PORT,
                                 user="heat")
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("heat", "api"), ctx.unit("heat-api"))),
            clone(systemd(resource_id("heat", "api-cfn"), ctx.unit("heat-api-cfn"))),
            systemd(resource_id("heat", "engine"), ctx.unit("heat-engine"))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    api = clone_id("heat", "api")
    # Start-up order only: heat-engine serves both APIs over the bus from whichever node
    # holds it, so it is neither colocated with them nor restarted with them.
    return [Order(clone_id("keystone"), api, kind="Optional"),
            Order(clone_id("ceilometer", "notification"), api, kind="Optional"),
            *chain(api, clone_id("heat", "api-cfn"), resource_id("heat", "engine"))]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="heat-api", vip="heat", port=API_PORT),
            Listener(name="heat-api-cfn", vip="heat", port=CFN_PORT)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [
        *os_.database_actions(ctx, "heat"),
        os_.db_sync_action("heat-db-sync", ("heat-manage", "db_sync"), user="heat",
                           what="create or upgrade heat's schema"),
        os_.keystone_action("heat", "orchestration",
                            tls.vip_url(ctx, "heat", API_PORT, "/v1/%(project_id)s")),
        os_.keystone_action("heat-cfn", "cloudformation", tls.vip_url(ctx, "heat", CFN_PORT, "/v1"),
                            user=""),
        Action(name="heat-domain", what="create the heat stack domain and its admin",
               run=ApiCall("heat.stack-domain",
                           (("domain", DOMAIN), ("admin", DOMAIN_ADMIN_ACCOUNT)),
                           secret=DOMAIN_ADMIN_PASSWORD)),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="heat-stack", what="a trivial stack is created and deleted",
                  probe=ApiCall("orchestration.stack-create-delete"), expect="CREATE_COMPLETE",
                  on="vip")]
