"""Cinder: volume API and scheduler active/active; cinder-volume active/passive.

Guide: Cinder. One cinder-volume cluster-wide (BZ 1193229): a plain primitive that moves on
failure, under a host name every member shares (`[DEFAULT] host`), so the volumes it manages
belong to one service wherever it runs. The chain api -> scheduler -> volume keeps the guide's
order and colocation. The lab has no volume group (no loop devices, lab-notes): its volumes
are sparse files in a directory every controller shares (agents/cinder_lab_volume.py, a
driver installed as a module), so a volume's bytes follow cinder-volume when it moves.
"""

from __future__ import annotations

from hastack.agents import LAB_VOLUME_DRIVER, agent_text
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
from hastack.catalog.steps import Action, ApiCall, Check, ConfigFile, ini_file, text_file

SERVICE = Service(
    name="cinder",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("cinder-api", "cinder-scheduler", "cinder-volume"),
    requires=("keystone", "galera", "rabbitmq", "memcached", "loadbalancer"),
    vips=("cinder",),
    toggle="cinder",
    summary="block storage: api/scheduler A/A, cinder-volume A/P (one instance)",
    apis=("cinder-api",),
)

PORT = 8776
SHARED_HOST = "hastack-cinder"  # every member's cinder-volume is the same service
# The lab's backend: a module of its own where python3 finds it, and its volumes' directory,
# which every controller shares (lab/machine.py bind-mounts one host directory there).
LAB_DRIVER_MODULE = "hastack_lab_volume"
LAB_DRIVER = f"{LAB_DRIVER_MODULE}.LabFileVolumeDriver"
LAB_VOLUMES = "/var/lib/cinder/lab-volumes"


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    lab = os_.on_lab(ctx.members)
    backend = ({"volume_driver": LAB_DRIVER, "volume_backend_name": "lab"} if lab
               else {"volume_driver": "cinder.volume.drivers.lvm.LVMVolumeDriver",
                     "volume_group": "cinder-volumes", "target_helper": "tgtadm",
                     "volume_backend_name": "lvm"})
    for node in ctx.members:
        sections = os_.merge(
            {"DEFAULT": {"host": SHARED_HOST, "auth_strategy": "keystone",
                         "osapi_volume_listen": str(node.address),
                         "osapi_volume_workers": os_.workers(ctx) or 4,
                         "glance_api_servers": tls.vip_url(ctx, "glance", 9292),
                         "enabled_backends": "default", "my_ip": str(node.address)}},
            {"database": os_.database_section(ctx, "cinder")},
            {"keystone_authtoken": os_.authtoken_section(ctx, "cinder")},
            tls.proxy_headers(ctx),
            os_.messaging_sections(ctx, uwsgi=True),
            {"oslo_concurrency": {"lock_path": "/var/lib/cinder/tmp"}},
            {"default": backend},
        )
        files.append(ini_file(node.name, "/etc/cinder/cinder.conf", sections, group="cinder"))
        files += os_.uwsgi_files(ctx, node, component="cinder-api",
                                 wsgi_file="/usr/bin/cinder-wsgi", port=PORT, user="cinder")
        if lab:
            # cinder's service: a new driver restarts cinder-volume where it runs.
            files.append(text_file(
                node.name, f"{ctx.platform.python_local}/{LAB_DRIVER_MODULE}.py",
                agent_text(LAB_VOLUME_DRIVER, VOLUMES=LAB_VOLUMES)))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [
        clone(systemd(resource_id("cinder", "api"), ctx.unit("cinder-api"))),
        clone(systemd(resource_id("cinder", "scheduler"), ctx.unit("cinder-scheduler"))),
        systemd(resource_id("cinder", "volume"), ctx.unit("cinder-volume")),
    ]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    # Start-up order only: cinder-volume talks to the scheduler and API over the bus, on
    # any node, so it is neither colocated with them nor restarted with them.
    return [Order(clone_id("keystone"), clone_id("cinder", "api"), kind="Optional"),
            *chain(clone_id("cinder", "api"), clone_id("cinder", "scheduler"),
                   resource_id("cinder", "volume"))]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="cinder-api", vip="cinder", port=PORT)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [
        *os_.database_actions(ctx, "cinder"),
        os_.db_sync_action("cinder-db-sync", ("cinder-manage", "db", "sync"), user="cinder",
                           what="create or upgrade cinder's schema"),
        os_.keystone_action("cinder", "volumev3",
                            tls.vip_url(ctx, "cinder", PORT, "/v3/%(project_id)s"),
                            name="cinderv3"),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="cinder-volume", what="a volume is created, becomes available, is "
                  "deleted", probe=ApiCall("volume.create-delete"), expect="available",
                  on="vip", drills=("power-loss",)),
            # The image's bytes go through glance, cinder-volume's conversion into the
            # backend and back out as a new image: only the volume's own bytes can match.
            Check(name="cinder-volume-from-image", what="a volume created from an image "
                  "becomes available and reads back the image's bytes",
                  probe=ApiCall("volume.from-image-readback"), expect="identical bytes",
                  on="vip")]
