"""Glance: the image API, active/active behind the glance VIP (guide: Glance).

Every member serves the same images, so the image store must be shared: with a gateway node
in the site, an NFS export of the gateway is mounted by a Filesystem clone before glance-api
starts on that member (the guide's glance-fs); without one, /var/lib/glance/images must
already be shared storage. glance-registry is gone since Queens (docs/deviations.md).
"""

from __future__ import annotations

from hastack.catalog import openstack as os_
from hastack.catalog import tls
from hastack.catalog.cib_model import (
    CibSetting,
    Clone,
    Constraint,
    Op,
    Order,
    Primitive,
    Resource,
    clone,
    clone_id,
    needs,
    pairs,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext
from hastack.catalog.steps import Action, ApiCall, Check, ConfigFile, ini_file
from hastack.site.model import Role

SERVICE = Service(
    name="glance",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("glance", "openstack-client"),
    requires=("keystone", "galera", "rabbitmq", "memcached", "loadbalancer"),
    vips=("glance",),
    summary="image API (A/A clone behind vip-glance) on shared storage",
    apis=("glance-api",),
)

PORT = 9292
IMAGES = "/var/lib/glance/images"
NFS_EXPORT = "/srv/hastack/glance"  # on the gateway (guide: everything shared lives in /srv)


def _gateway(ctx: ServiceContext) -> str | None:
    gateways = ctx.site.nodes_with(Role.GATEWAY)
    return str(gateways[0].address) if gateways else None


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files = []
    for node in ctx.members:
        sections = os_.merge(
            {"DEFAULT": {"bind_host": str(node.address), "bind_port": PORT,
                         "workers": os_.forked_workers(ctx), "enabled_backends": "file:file"}},
            {"database": os_.database_section(ctx, "glance")},
            {"keystone_authtoken": os_.authtoken_section(ctx, "glance")},
            tls.proxy_headers(ctx),
            {"paste_deploy": {"flavor": "keystone"}},
            os_.messaging_sections(ctx),
            {"oslo_messaging_notifications": {"driver": "messagingv2"}},
            {"glance_store": {"default_backend": "file"}},
            {"file": {"filesystem_store_datadir": IMAGES}},
        )
        files.append(ini_file(node.name, "/etc/glance/glance-api.conf", sections,
                              group="glance"))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    items: list[Resource | CibSetting] = []
    gateway = _gateway(ctx)
    if gateway:
        items.append(Clone(primitive=Primitive(
            id=resource_id("glance", "fs"), agent="ocf:heartbeat:Filesystem",
            params=pairs({"device": f"{gateway}:{NFS_EXPORT}", "directory": IMAGES,
                          "fstype": "nfs", "options": "vers=4.2"}),
            ops=(Op("start", timeout="240s"), Op("stop", timeout="240s"),
                 Op("monitor", interval="20s", timeout="40s")))))
    items.append(clone(systemd(resource_id("glance", "api"), ctx.unit("glance-api"))))
    return items


def constraints(ctx: ServiceContext) -> list[Constraint]:
    api = clone_id("glance", "api")
    out: list[Constraint] = [Order(clone_id("keystone"), api, kind="Optional")]
    if _gateway(ctx):
        out += needs(clone_id("glance", "fs"), api, why=(
            "glance-api stores images under the NFS mount: without it uploads land on the "
            "node's own disk, and the Filesystem agent's stop kills whatever holds the "
            "mount open (force_unmount), so glance-api stops before it and starts after it"))
    return out


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="glance-api", vip="glance", port=PORT)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [
        *os_.database_actions(ctx, "glance"),
        os_.db_sync_action("glance-db-sync", ("glance-manage", "db_sync"), user="glance",
                           what="create or upgrade glance's schema"),
        os_.keystone_action("glance", "image", tls.vip_url(ctx, "glance", PORT)),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="glance-image", what="an image uploaded reads back from every member",
                  probe=ApiCall("image.upload-readback"), expect="identical bytes", on="all",
                  drills=("power-loss",))]

