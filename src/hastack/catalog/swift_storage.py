"""Swift storage: account, container and object servers on every member (guide: Swift ACO).

Swift replicates by itself (three replicas across members), so the servers are plain A/A
clones, each on its member's own filesystem: a loopback XFS image mounted by a Filesystem
clone (force_clones: a local filesystem on every node is intended, as in the guide). Lab
machines get no loop devices from systemd-nspawn: there the device is a plain directory
(mount_check off) and there is no Filesystem clone. The object expirer runs once
cluster-wide (the guide's single instance).
"""

from __future__ import annotations

import hashlib

from hastack.catalog import openstack as os_
from hastack.catalog.cib_model import (
    CibSetting,
    Clone,
    Constraint,
    Op,
    Order,
    Primitive,
    Resource,
    chain,
    clone,
    clone_id,
    needs,
    pairs,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.secret_text import SecretRef
from hastack.catalog.steps import Action, Check, Command, ConfigFile, ini_file

SERVICE = Service(
    name="swift-storage",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("swift-storage",),
    requires=("keystone",),
    toggle="swift",
    summary="swift account/container/object servers (A/A) on per-node XFS",
    apis=("swift-account", "swift-container", "swift-object"),
)

PORTS = {"account": 6202, "container": 6201, "object": 6200}  # the guide's ports
DEVICES = "/srv/node"
DEVICE = "d1"
IMAGE = "/var/lib/hastack/swift.img"
IMAGE_SIZE = "2G"
SERVERS = ("account", "container", "object")
# Rings: 2^10 partitions, 3 replicas, one device per storage member. They must be identical
# everywhere: every member builds them from the same devices with the same rebalance seed,
# so each gets the same ring without copying files between nodes.
PART_POWER = 10
REPLICAS = 3
MIN_PART_HOURS = 1
RING_SEED = 1
RINGS_MARK = "/etc/swift/hastack-rings"


# swift-ring-builder's own main() for every command in one interpreter: each command as its
# own process cost ~0.8 s of CPU (15 per member, 25 s of a deploy under load), in one 1 s.
# The rings come out byte for byte as the command line's.
RING_BUILDER = """\
import shlex, sys
from swift.cli.ringbuilder import main
for command in sys.argv[1:]:
    try:
        main(["swift-ring-builder", *shlex.split(command)])
    except SystemExit as end:
        if end.code not in (None, 0, 1):  # 1: rebalanced with warnings (fewer zones)
            raise
"""


def ring_action(ctx: ServiceContext, name: str) -> Action:
    """Build the account, container and object rings on every member of this service (the
    units refuse to start without them)."""
    commands = []
    for ring, port in PORTS.items():
        commands.append(f"{ring}.builder create {PART_POWER} {REPLICAS} {MIN_PART_HOURS}")
        for zone, node in enumerate(ctx.members_of("swift-storage"), start=1):
            commands.append(f"{ring}.builder add r1z{zone}-{node.address}:{port}/{DEVICE} 100")
        commands.append(f"{ring}.builder rebalance --seed {RING_SEED}")
    # Built again everywhere when the devices change (a member added or removed): the mark
    # names what the rings were built from, and the servers read new rings on their own.
    built = hashlib.sha256("\n".join(commands).encode()).hexdigest()[:16]
    script = ("set -e; cd /etc/swift; rm -f account.builder container.builder object.builder; "
              'python3 -c "$0" "$@" >/dev/null; '
              f"echo {built} > {RINGS_MARK}")
    return Action(name=name, what="build the account, container and object rings",
                  run=Command(argv=("sh", "-c", script, RING_BUILDER, *commands)),
                  done=Command(argv=("grep", "-qx", built, RINGS_MARK)), on="all")


def swift_conf(node: str) -> ConfigFile:
    return ini_file(node, "/etc/swift/swift.conf", {
        "swift-hash": {"swift_hash_path_prefix": SecretRef("swift-hash-prefix", rotation="never"),
                       "swift_hash_path_suffix": SecretRef("swift-hash-suffix", rotation="never")},
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
                            "devices": DEVICES, "mount_check": not os_.on_lab(ctx.members),
                            "workers": os_.forked_workers(ctx)},
                "pipeline:main": {"pipeline": f"healthcheck recon {server}-server"},
                f"app:{server}-server": {"use": f"egg:swift#{server}"},
                "filter:healthcheck": {"use": "egg:swift#healthcheck"},
                "filter:recon": {"use": "egg:swift#recon"},
            }, group="swift"))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    servers: list[Resource | CibSetting] = [
        clone(systemd(resource_id("swift", s), ctx.unit(f"swift-{s}"))) for s in SERVERS]
    expirer = systemd(resource_id("swift", "object-expirer"), ctx.unit("swift-object-expirer"))
    if os_.on_lab(ctx.members):
        return [*servers, expirer]
    fs = Clone(primitive=Primitive(
        id=resource_id("swift", "fs"), agent="ocf:heartbeat:Filesystem",
        params=pairs({"device": IMAGE, "directory": f"{DEVICES}/{DEVICE}", "fstype": "xfs",
                      "options": "loop", "force_clones": "yes"}),
        ops=(Op("start", timeout="120s"), Op("stop", timeout="120s"),
             Op("monitor", interval="20s", timeout="40s"))),
        meta=pairs({"interleave": True}))
    return [fs, *servers, expirer]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    fs = () if os_.on_lab(ctx.members) else (clone_id("swift", "fs"),)
    servers = [clone_id("swift", s) for s in SERVERS]
    out: list[Constraint] = [Order(clone_id("keystone"), servers[0], kind="Optional"),
                             *chain(*servers)]
    for device in fs:
        for server in servers:
            out += needs(device, server, why=(
                f"{server} serves the device mounted there, and the Filesystem agent's stop "
                "kills whatever holds the mount open (force_unmount), so it stops before "
                "the mount and starts after it"))
    # The expirer deletes through its own in-process client, not through the proxies.
    out.append(Order(clone_id("swift", "proxy"), resource_id("swift", "object-expirer"),
                     kind="Optional"))
    return out



def bootstrap(ctx: ServiceContext) -> list[Action]:
    device = f"{DEVICES}/{DEVICE}"
    rings = ring_action(ctx, "swift-rings")
    if os_.on_lab(ctx.members):
        return [Action(name="swift-device", what="create each member's swift device directory",
                       run=Command(argv=("install", "-d", "-o", "swift", "-g", "swift",
                                         DEVICES, device)),
                       done=Command(argv=("test", "-d", device)), on="all"), rings]
    make = (f"test -f {IMAGE} || {{ mkdir -p {device} && "
            f"truncate -s {IMAGE_SIZE} {IMAGE} && mkfs.xfs -q {IMAGE}; }}")
    return [Action(name="swift-image", what="create each member's XFS image for swift",
                   run=Command(argv=("sh", "-c", make)),
                   done=Command(argv=("test", "-f", IMAGE)), on="all"), rings]


def checks(ctx: ServiceContext) -> list[Check]:
    return []
