"""Swift storage: account, container and object servers on every member (guide: Swift ACO).

Swift replicates by itself (three replicas across members), so the servers are plain A/A
clones, each on its member's own filesystem: a loopback XFS image mounted by a Filesystem
clone (force_clones: a local filesystem on every node is intended, as in the guide). The
object expirer runs once cluster-wide (the guide's single instance).
"""

from __future__ import annotations

from hastack.catalog.base import (
    Action,
    Check,
    CibSetting,
    Clone,
    Command,
    ConfigFile,
    Constraint,
    HAMode,
    Listener,
    Op,
    Order,
    Primitive,
    Resource,
    SecretRef,
    Service,
    ServiceContext,
    chain,
    clone,
    clone_id,
    ini_file,
    pairs,
    resource_id,
    systemd,
)

SERVICE = Service(
    name="swift-storage",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("swift-storage",),
    requires=("keystone",),
    toggle="swift",
    summary="swift account/container/object servers (A/A) on per-node XFS",
)

PORTS = {"account": 6202, "container": 6201, "object": 6200}  # the guide's ports
DEVICES = "/srv/node"
DEVICE = "d1"
IMAGE = "/var/lib/hastack/swift.img"
IMAGE_SIZE = "2G"
SERVERS = ("account", "container", "object")


def swift_conf(node: str) -> ConfigFile:
    return ini_file(node, "/etc/swift/swift.conf", {
        "swift-hash": {"swift_hash_path_prefix": SecretRef("swift-hash-prefix"),
                       "swift_hash_path_suffix": SecretRef("swift-hash-suffix")},
        "storage-policy:0": {"name": "Policy-0", "default": "yes"},
    }, group="swift")


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        if not ctx.here("swift-proxy"):
            files.append(swift_conf(node.name))
        for server in SERVERS:
            files.append(ini_file(node.name, f"/etc/swift/{server}-server.conf", {
                "DEFAULT": {"bind_ip": str(node.address), "bind_port": PORTS[server],
                            "devices": DEVICES, "mount_check": True},
                "pipeline:main": {"pipeline": f"healthcheck recon {server}-server"},
                f"app:{server}-server": {"use": f"egg:swift#{server}"},
                "filter:healthcheck": {"use": "egg:swift#healthcheck"},
                "filter:recon": {"use": "egg:swift#recon"},
            }, group="swift"))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    fs = Clone(primitive=Primitive(
        id=resource_id("swift", "fs"), agent="ocf:heartbeat:Filesystem",
        params=pairs({"device": IMAGE, "directory": f"{DEVICES}/{DEVICE}", "fstype": "xfs",
                      "options": "loop", "force_clones": "yes"}),
        ops=(Op("start", timeout="120s"), Op("stop", timeout="120s"),
             Op("monitor", interval="20s", timeout="40s"))),
        meta=pairs({"interleave": True}))
    servers: list[Resource | CibSetting] = [
        clone(systemd(resource_id("swift", s), ctx.unit(f"swift-{s}"))) for s in SERVERS]
    expirer = systemd(resource_id("swift", "object-expirer"), ctx.unit("swift-object-expirer"))
    return [fs, *servers, expirer]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return [Order(clone_id("keystone"), clone_id("swift", "account")),
            *chain(clone_id("swift", "fs"), *(clone_id("swift", s) for s in SERVERS)),
            Order(clone_id("swift", "proxy"), resource_id("swift", "object-expirer"))]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return []


def bootstrap(ctx: ServiceContext) -> list[Action]:
    make = (f"test -f {IMAGE} || {{ mkdir -p {DEVICES}/{DEVICE} && "
            f"truncate -s {IMAGE_SIZE} {IMAGE} && mkfs.xfs -q {IMAGE}; }}")
    return [Action(name="swift-image", what="create each member's XFS image for swift",
                   run=Command(argv=("sh", "-c", make)),
                   done=Command(argv=("test", "-f", IMAGE)), on="all")]


def checks(ctx: ServiceContext) -> list[Check]:
    return []
