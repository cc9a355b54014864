"""Swift proxy: the object API, active/active behind the swift VIP (guide: Swift Proxy).

The rings are swift_storage's: built on every storage and proxy member alike.
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
from hastack.catalog.swift_storage import ring_action, swift_conf

SERVICE = Service(
    name="swift-proxy",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("swift-proxy",),
    requires=("keystone", "swift-storage", "memcached", "loadbalancer"),
    vips=("swift",),
    toggle="swift",
    summary="object storage API (A/A clone behind vip-swift)",
    apis=("swift-proxy",),
)

PORT = 8080


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    auth = os_.authtoken_section(ctx, "swift")
    for node in ctx.members:
        files.append(swift_conf(node.name))
        files.append(ini_file(node.name, "/etc/swift/proxy-server.conf", {
            "DEFAULT": {"bind_ip": str(node.address), "bind_port": PORT,
                        "workers": os_.forked_workers(ctx)},
            "pipeline:main": {"pipeline": "catch_errors gatekeeper healthcheck cache "
                              "authtoken keystoneauth proxy-server"},
            "app:proxy-server": {"use": "egg:swift#proxy", "account_autocreate": True},
            "filter:catch_errors": {"use": "egg:swift#catch_errors"},
            "filter:gatekeeper": {"use": "egg:swift#gatekeeper"},
            "filter:healthcheck": {"use": "egg:swift#healthcheck"},
            "filter:cache": {"use": "egg:swift#memcache",
                             "memcache_servers": os_.memcached_servers(ctx)},
            "filter:authtoken": {"paste.filter_factory":
                                 "keystonemiddleware.auth_token:filter_factory",
                                 "delay_auth_decision": True, **auth},
            "filter:keystoneauth": {"use": "egg:swift#keystoneauth",
                                    "operator_roles": "admin,member"},
        }, group="swift"))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [clone(systemd(resource_id("swift", "proxy"), ctx.unit("swift-proxy")))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return [Order(clone_id("swift", "account"), clone_id("swift", "proxy"), kind="Optional")]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="swift-proxy", vip="swift", port=PORT)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [
        ring_action(ctx, "swift-proxy-rings"),  # a proxy of its own cluster needs them too
        os_.keystone_action("swift", "object-store",
                            tls.vip_url(ctx, "swift", PORT, "/v1/AUTH_%(project_id)s")),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="swift-object", what="an object is stored and fetched back",
                  probe=ApiCall("object.put-get"), expect="identical bytes", on="vip")]
