"""Load balancer: HAProxy on every member (A/A clone) and one IPaddr2 VIP per API.

Guide: Proxy server. HAProxy runs everywhere and binds every VIP (ip_nonlocal_bind), so a VIP
move is only an address move: each VIP is colocated with a running HAProxy and ordered after
it optionally (a restart of HAProxy does not bounce the VIPs). The listeners themselves come
from the services that answer on them; render.haproxy writes haproxy.cfg from all of them.
"""

from __future__ import annotations

from hastack.agents import agent_text
from hastack.catalog.cib_model import (
    FAILOVER_MONITOR,
    Alert,
    CibSetting,
    Colocation,
    Constraint,
    Op,
    Order,
    Primitive,
    Resource,
    clone,
    clone_id,
    monitor,
    pairs,
    resource_id,
    systemd,
    vip_id,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.steps import Check, ConfigFile, HttpProbe, text_file

SERVICE = Service(
    name="loadbalancer",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("haproxy",),
    summary="HAProxy clone and the VIPs (IPaddr2)",
    reload_units=("haproxy",),  # a reload keeps open connections and the VIPs where they are
    failover=True,
    pacemaker_core=True,
)

OPEN_FILES = 65536
VIP_MONITOR = "10s"  # a lost VIP is noticed within 10 s even without a node failure

# When the cluster loses a node, every HAProxy marks that node's servers down at once: its own
# checks need 2 failures of up to 2 s each per backend (drill timelines: 2-3 s after corosync
# had decided), and until then requests to a VIP wait on the dead node's servers. A check
# that passes again brings a server back as usual (rise 2), so nothing has to undo this.
# Pacemaker runs alert agents as hacluster: the admin socket's group is haclient.
NODE_LOST_ALERT = "/usr/local/lib/hastack/haproxy-node-lost"
NODE_LOST_SCRIPT = agent_text("haproxy_node_lost.sh")


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files = []
    for node in ctx.members:
        files.append(text_file(node.name, "/etc/sysctl.d/60-hastack-haproxy.conf",
                               "net.ipv4.ip_nonlocal_bind = 1\n"))
        # haproxy needs two descriptors per connection: its maxconn must fit the limit.
        files.append(text_file(node.name, "/etc/systemd/system/haproxy.service.d/hastack.conf",
                               f"[Service]\nLimitNOFILE={OPEN_FILES}\n"))
        files.append(text_file(node.name, NODE_LOST_ALERT, NODE_LOST_SCRIPT, mode=0o755))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    items: list[Resource | CibSetting] = [
        clone(systemd(resource_id("haproxy"), ctx.unit("haproxy"), start="60s",
                      interval=FAILOVER_MONITOR)),
        Alert("haproxy-node-lost", NODE_LOST_ALERT)]
    prefix = ctx.site.networks.internal.prefixlen
    for name, address in ctx.placement.vips.items():
        items.append(Primitive(
            id=vip_id(name), agent="ocf:heartbeat:IPaddr2",
            params=pairs({"ip": address, "cidr_netmask": prefix}),
            ops=(Op("start", timeout="20s"), Op("stop", timeout="20s"),
                 monitor(VIP_MONITOR, "20s"))))
    return items


def constraints(ctx: ServiceContext) -> list[Constraint]:
    haproxy = clone_id("haproxy")
    out: list[Constraint] = []
    for name in ctx.placement.vips:
        out.append(Order(vip_id(name), haproxy, kind="Optional"))
        out.append(Colocation(vip_id(name), haproxy, why=(
            "clients reach the service on the VIP's node through HAProxy: a VIP where "
            "HAProxy does not run is a dead address")))
    return out




def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="haproxy-backends", what="every HAProxy backend server is up",
                  probe=HttpProbe(url="haproxy-stats:/"), expect="no server DOWN", on="all",
                  drills=("power-loss", "partition"))]
