"""Neutron agents: the L2 (Open vSwitch or Linux bridge), DHCP, L3 and metadata agents on
every member; the L2 agent on every compute node too.

Guide: Neutron agents. Active/active by default: DHCP served by every agent, routers made
highly available by VRRP across L3 agents (l3_ha); active/passive when the site says so
(one instance each, moving together). The guide's NeutronScale/OVSCleanup/NetnsCleanup
agents were RDO-only and are not in Debian: ovs and netns cleanup run as the agents' own
start-up (docs/deviations.md). The chain keeps the guide's start order (Optional); the DHCP,
L3 and metadata agents are colocated with the L2 agent that wires their namespaces' ports.
Linux bridge (``services.neutron_l2: linuxbridge``) is for kernels without an Open vSwitch
datapath, as in the lab: VXLAN tenant networks with l2population, so no multicast leaves.
"""

from __future__ import annotations

from hastack.catalog import neutron_server
from hastack.catalog import openstack as os_
from hastack.catalog.cib_model import (
    CibSetting,
    Colocation,
    Constraint,
    Order,
    Resource,
    chain,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Service, ServiceContext
from hastack.catalog.nova import METADATA_PORT, METADATA_SECRET
from hastack.catalog.platform import L2_AGENT, l2_agent_component
from hastack.catalog.secret_text import Text, Value, compose
from hastack.catalog.steps import ApiCall, Check, ConfigFile, ini_file, text_file
from hastack.site.model import L2Agent, Node, OvsDatapath
from hastack.site.placement import tunnel_address

SERVICE = Service(
    name="neutron-agents",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("neutron-agents", L2_AGENT),
    requires=("neutron-server", "rabbitmq"),
    toggle="neutron_agents",
    summary="L2, DHCP, L3 and metadata agents (A/A, or A/P by site choice)",
)

OTHER_AGENTS = ("dhcp-agent", "l3-agent", "metadata-agent")


def l2_unit(ctx: ServiceContext) -> str:
    return ctx.unit(l2_agent_component(ctx.site))


def agents(ctx: ServiceContext) -> tuple[str, ...]:
    return (f"{neutron_server.l2_driver(ctx).value}-agent", *OTHER_AGENTS)


# What neutron-openvswitch-agent expects before it starts: the bridge its bridge_mappings
# name and, with the netdev datapath, the bridge that ends VXLAN tunnels. The netdev datapath
# sends a tunnel's packets out through the OVS bridge that holds the local address (OVS's
# userspace tunnelling), so the tunnel interface is put in br-tunnel and the address on it.
BRIDGES_SCRIPT = "/usr/local/sbin/hastack-ovs-bridges"
EXTERNAL_BRIDGE = "br-ex"
TUNNEL_BRIDGE = "br-tunnel"
BRIDGES_DROPIN = "hastack-bridges.conf"


def _netdev(ctx: ServiceContext) -> bool:
    return ctx.site.services.neutron_ovs_datapath is OvsDatapath.NETDEV


def _bridges_script(ctx: ServiceContext, node: Node) -> Text:
    datapath = ctx.site.services.neutron_ovs_datapath.value
    lines = ["#!/bin/sh\n", "# hastack: the bridges neutron-openvswitch-agent expects\n",
             "set -e\n", "vsctl() { ovs-vsctl --timeout=30 \"$@\"; }\n",
             f"vsctl --may-exist add-br {EXTERNAL_BRIDGE} -- "
             f"set Bridge {EXTERNAL_BRIDGE} datapath_type={datapath}\n"]
    tunnel, interface = ctx.site.networks.tunnel, ctx.site.networks.tunnel_interface
    if _netdev(ctx) and tunnel is not None and interface is not None:
        lines += [f"vsctl --may-exist add-br {TUNNEL_BRIDGE} -- set Bridge {TUNNEL_BRIDGE} "
                  f"datapath_type={datapath} -- --may-exist add-port {TUNNEL_BRIDGE} "
                  f"{interface}\n",
                  f"ip link set {interface} up\n", f"ip link set {TUNNEL_BRIDGE} up\n",
                  f"ip addr replace {tunnel_address(ctx.site, node)}/{tunnel.prefixlen} "
                  f"dev {TUNNEL_BRIDGE}\n"]
    return compose(*lines)


def _l2_agent_files(ctx: ServiceContext, node: Node) -> list[ConfigFile]:
    if neutron_server.l2_driver(ctx) is L2Agent.LINUXBRIDGE:
        interface = ctx.site.networks.external_interface
        return [ini_file(node.name, "/etc/neutron/plugins/ml2/linuxbridge_agent.ini", {
            "linux_bridge": {"physical_interface_mappings":
                             f"physnet1:{interface}" if interface else ""},
            "vxlan": {"enable_vxlan": True, "local_ip": str(node.address),
                      "l2_population": True},
            "securitygroup": {"firewall_driver": "iptables", "enable_security_group": True},
        }, group="neutron")]
    ovs: dict[str, Value] = {"local_ip": str(tunnel_address(ctx.site, node)),
                             "bridge_mappings": f"physnet1:{EXTERNAL_BRIDGE}"}
    if _netdev(ctx):
        ovs["datapath_type"] = OvsDatapath.NETDEV.value
    # The agent runs as neutron: the bridges are made with root's rights ("+").
    return [ini_file(node.name, "/etc/neutron/plugins/ml2/openvswitch_agent.ini", {
                "ovs": ovs,
                "agent": {"tunnel_types": "vxlan", "l2_population": False},
                "securitygroup": {"firewall_driver": "openvswitch"},
            }, group="neutron"),
            text_file(node.name, BRIDGES_SCRIPT, _bridges_script(ctx, node), mode=0o755),
            text_file(node.name, f"/etc/systemd/system/{l2_unit(ctx)}.service.d/"
                      f"{BRIDGES_DROPIN}",
                      "[Unit]\nRequires=openvswitch-switch.service\n"
                      "After=openvswitch-switch.service\n\n",
                      f"[Service]\nExecStartPre=+{BRIDGES_SCRIPT}\n")]


def agent_files(ctx: ServiceContext, node: Node, *,
                neutron_conf: bool = True) -> list[ConfigFile]:
    """What an L2 agent needs: its agent file (and, for Open vSwitch, its bridges), and
    neutron.conf (messaging) unless the node gets it from neutron-server already."""
    conf = [ini_file(node.name, neutron_server.NEUTRON_CONF,
                     neutron_server.neutron_conf(ctx, str(node.address)), group="neutron")]
    return [*(conf if neutron_conf else []), *_l2_agent_files(ctx, node)]


def _namespace_agent(ctx: ServiceContext, options: dict[str, Value]) -> dict[str, Value]:
    """The DHCP and L3 agents' interface options. Their namespaces get OVS internal ports,
    never veths (ovs_use_veth): on the netdev datapath OVS reads a veth through a packet
    socket, where checksums left to offload arrive unfinished (DHCP answers were dropped)."""
    return {"interface_driver": neutron_server.l2_driver(ctx).value, **options}


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        address = str(node.address)
        files += agent_files(ctx, node, neutron_conf=not ctx.here("neutron-server"))
        files.append(ini_file(node.name, "/etc/neutron/dhcp_agent.ini", {"DEFAULT":
            _namespace_agent(ctx, {"enable_isolated_metadata": True})}, group="neutron"))
        files.append(ini_file(node.name, "/etc/neutron/l3_agent.ini", {"DEFAULT":
            _namespace_agent(ctx, {"agent_mode": "legacy",
                                   # the guide: gratuitous ARPs after a router fails over
                                   "send_arp_for_ha": 3})}, group="neutron"))
        files.append(ini_file(node.name, "/etc/neutron/metadata_agent.ini", {"DEFAULT": {
            "nova_metadata_host": str(ctx.vip("nova")) if ctx.has("nova") else address,
            "nova_metadata_port": METADATA_PORT,
            "metadata_proxy_shared_secret": METADATA_SECRET,
            "metadata_workers": os_.workers(ctx) or 4}}, group="neutron"))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [neutron_server.wrap(ctx, systemd(resource_id("neutron", a),
                                             ctx.unit(f"neutron-{a}")))
            for a in agents(ctx)]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    # The guide's start order, Optional: a running agent outlives a restart of the server or
    # of the L2 agent (which resyncs every port when it comes back). What is colocated with
    # the L2 agent cannot work on a node where the L2 agent cannot run.
    l2, *others = [neutron_server.ref(ctx, a) for a in agents(ctx)]
    out = [Order(neutron_server.ref(ctx, "rpc"), l2, kind="Optional"), *chain(l2, *others)]
    for agent in others:
        out.append(Colocation(agent, l2, why=(
            f"{agent} serves from namespaces whose ports the L2 agent of its node wires: on "
            "a node where the L2 agent cannot run, it would take networks and routers it "
            "cannot connect")))
    return out




def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="neutron-agents", what="every agent of every member is alive",
                  probe=ApiCall("network.agents-alive"), expect="all alive", on="vip"),
            # verify/checks.py plugs a stand-in instance into the port on the compute.
            Check(name="neutron-instance-path", what="an instance's port on a compute gets "
                  "its DHCP lease across a tunnel and reaches its router",
                  probe=ApiCall("network.instance-port-create"),
                  expect="leased the port's address, router answers", on="vip")]
