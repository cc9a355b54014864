"""Placement: resource inventories for nova's scheduler, A/A behind its own VIP.

Not in the guide (nova grew it in Newton); stateless like every API, so a clone behind
HAProxy, ordered after keystone. Runs under uwsgi from hastack's own ini.
"""

from __future__ import annotations

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
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext
from hastack.catalog.steps import Action, ApiCall, Check, ConfigFile, ini_file

SERVICE = Service(
    name="placement",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("placement",),
    requires=("keystone", "galera", "memcached", "loadbalancer"),
    vips=("placement",),
    summary="placement API (A/A clone behind vip-placement)",
    apis=("placement-api",),
)

PORT = 8778


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        sections = os_.merge(
            {"placement_database": os_.database_section(ctx, "placement")},
            {"api": {"auth_strategy": "keystone"}},
            {"keystone_authtoken": os_.authtoken_section(ctx, "placement")},
            tls.proxy_headers(ctx),
        )
        files.append(ini_file(node.name, "/etc/placement/placement.conf", sections,
                              group="placement"))
        files += os_.uwsgi_files(ctx, node, component="placement-api",
                                 wsgi_file="/usr/bin/placement-api", port=PORT,
                                 user="placement")
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("placement", "api"), ctx.unit("placement-api")))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return [Order(clone_id("keystone"), clone_id("placement", "api"), kind="Optional")]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="placement-api", vip="placement", port=PORT)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [
        *os_.database_actions(ctx, "placement"),
        os_.db_sync_action("placement-db-sync", ("placement-manage", "db", "sync"),
                           user="placement", what="create or upgrade placement's schema"),
        os_.keystone_action("placement", "placement", tls.vip_url(ctx, "placement", PORT)),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="placement-api", what="placement lists resource providers",
                  probe=ApiCall("placement.resource-providers"), expect="a list", on="vip")]
