"""Neutron server: the networking API (uwsgi) and its RPC server, active/active.

Guide: Neutron. Debian splits neutron-server into neutron-api (uwsgi) and neutron-rpc-server
(lab-notes); both run on every member, the RPC server after the API. With `neutron_ha:
active-passive` the server runs once cluster-wide (a primitive each), as the guide's A/P
option; routers then use one L3 agent instead of VRRP (l3_ha off).
"""

from __future__ import annotations

from dataclasses import replace

from hastack.agents import NEUTRON_API_WSGI, agent_text
from hastack.catalog import openstack as os_
from hastack.catalog import tls
from hastack.catalog.cib_model import (
    CibSetting,
    Constraint,
    Order,
    Primitive,
    Resource,
    chain,
    clone,
    clone_id,
    resource_id,
    systemd,
)
from hastack.catalog.contract import HAMode, Listener, Service, ServiceContext
from hastack.catalog.steps import Action, ApiCall, Check, ConfigFile, ini_file, text_file
from hastack.site.model import HAChoice, L2Agent, NeutronHA

SERVICE = Service(
    name="neutron-server",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("neutron-server",),
    requires=("keystone", "galera", "rabbitmq", "memcached", "loadbalancer"),
    vips=("neutron",),
    summary="networking API and RPC server (A/A, or A/P by site choice)",
    apis=("neutron-api",),
)

PORT = 9696
NEUTRON_CONF = "/etc/neutron/neutron.conf"
ML2 = "/etc/neutron/plugins/ml2/ml2_conf.ini"
# What only the server reads (its database, its accounts at nova and placement): a new
# password there restarts the server alone, not the agents that read neutron.conf beside it.
SERVER_CONF = "/etc/neutron/server.conf"
SERVER_FILES = (NEUTRON_CONF, ML2, SERVER_CONF)


def active_active(ctx: ServiceContext) -> bool:
    mode = ctx.site.services.neutron_ha
    return (mode.server if isinstance(mode, NeutronHA) else mode) is HAChoice.ACTIVE_ACTIVE


def ref(ctx: ServiceContext, role: str) -> str:
    """The constraint id of a neutron resource: its clone when A/A, itself when A/P."""
    return clone_id("neutron", role) if active_active(ctx) else resource_id("neutron", role)


def wrap(ctx: ServiceContext, primitive: Primitive) -> Resource:
    return clone(primitive) if active_active(ctx) else primitive


ROOTWRAP = "/etc/neutron/rootwrap.conf"


def l2_driver(ctx: ServiceContext) -> L2Agent:
    """The site's L2 agent, which is also ML2's mechanism driver and the interface driver."""
    return ctx.site.services.neutron_l2


def neutron_conf(ctx: ServiceContext, address: str) -> os_.Sections:
    """What the server and every agent read."""
    members = len(ctx.members_of("neutron-agents")) if ctx.has("neutron-agents") else 1
    sections = os_.merge(
        {"DEFAULT": {"bind_host": address, "bind_port": PORT, "auth_strategy": "keystone",
                     "core_plugin": "ml2", "service_plugins": "router",
                     "l3_ha": active_active(ctx), "max_l3_agents_per_router": 3,
                     # the guide: "must follow the number of nodes"
                     "dhcp_agents_per_network": members if active_active(ctx) else 1,
                     "notify_nova_on_port_status_changes": True,
                     "notify_nova_on_port_data_changes": True,
                     "api_workers": os_.workers(ctx) or 4,
                     "rpc_workers": os_.workers(ctx) or 2}},
        os_.messaging_sections(ctx, uwsgi=True),
        {"keystone_authtoken": os_.authtoken_section(ctx, "neutron")},
        tls.proxy_headers(ctx),
        {"oslo_concurrency": {"lock_path": "/var/lib/neutron/lock"}},
        # The agents reach root (and privsep) only through rootwrap, as Debian's sudoers allow.
        {"agent": {"root_helper": f"sudo neutron-rootwrap {ROOTWRAP}",
                   "root_helper_daemon": f"sudo neutron-rootwrap-daemon {ROOTWRAP}"}},
    )
    if l2_driver(ctx) is L2Agent.LINUXBRIDGE:
        # Zed marks Linux bridge experimental: server and agents refuse it unless enabled.
        sections["experimental"] = {"linuxbridge": True}
    return sections


def server_conf(ctx: ServiceContext) -> os_.Sections:
    return {"database": os_.database_section(ctx, "neutron"),
            "nova": os_.service_credentials(ctx, "nova"),
            # The segments plugin, which neutron loads on a network's first delete even where
            # it is not configured, removes each deleted segment's resource provider through
            # placement; without an account there each network delete logs a traceback.
            "placement": os_.service_credentials(ctx, "neutron")}


def config_file_args(files: tuple[str, ...] = SERVER_FILES) -> str:
    return " ".join(f"--config-file={f}" for f in files)


def ml2_conf(ctx: ServiceContext, node: str) -> ConfigFile:
    # l2population: Linux bridge VXLAN learns its peers from the server, not by multicast.
    mechanism = ("linuxbridge,l2population"
                 if l2_driver(ctx) is L2Agent.LINUXBRIDGE else "openvswitch")
    return ini_file(node, ML2, {
        "ml2": {"type_drivers": "flat,vlan,vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": mechanism, "extension_drivers": "port_security"},
        "ml2_type_flat": {"flat_networks": "physnet1"},
        "ml2_type_vxlan": {"vni_ranges": "1:10000"},
    }, group="neutron")


# Debian's WSGI script, with a timer that runs neutron's eventlet hub between requests
# (agents/neutron_api_wsgi.py says why).
WSGI_SCRIPT = "/etc/hastack/uwsgi/neutron-api.py"


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        # The agents on a node with the server read it too (their own copy is not rendered
        # there): a new transport_url or password must restart them as well.
        files.append(replace(ini_file(node.name, NEUTRON_CONF,
                                      neutron_conf(ctx, str(node.address)),
                                      group="neutron"), readers=("neutron-agents",)))
        files.append(ini_file(node.name, SERVER_CONF, server_conf(ctx), group="neutron"))
        files.append(ml2_conf(ctx, node.name))
        # Given files, the API reads those alone (its own default: neutron.conf and ML2's).
        files.append(text_file(node.name, WSGI_SCRIPT, agent_text(NEUTRON_API_WSGI)))
        files += os_.uwsgi_files(ctx, node, component="neutron-api", wsgi_file=WSGI_SCRIPT,
                                 port=PORT, user="neutron",
                                 extra={"pyargv": config_file_args()})
        # Sourced after the init script built its arguments: it must name neutron.conf too.
        files.append(text_file(node.name, "/etc/default/neutron-rpc-server",
                               f'DAEMON_ARGS="{config_file_args()}"\n'))
    return files


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    return [wrap(ctx, systemd(resource_id("neutron", "api"), ctx.unit("neutron-api"))),
            wrap(ctx, systemd(resource_id("neutron", "rpc"), ctx.unit("neutron-rpc-server")))]


def constraints(ctx: ServiceContext) -> list[Constraint]:
    return [Order(clone_id("keystone"), ref(ctx, "api"), kind="Optional"),
            *chain(ref(ctx, "api"), ref(ctx, "rpc"))]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="neutron-api", vip="neutron", port=PORT)]


def bootstrap(ctx: ServiceContext) -> list[Action]:
    return [
        *os_.database_actions(ctx, "neutron"),
        os_.db_sync_action("neutron-db-sync", (
            "neutron-db-manage", *config_file_args().split(), "upgrade", "heads"),
            user="neutron",
            what="create or upgrade neutron's schema"),
        os_.keystone_action("neutron", "network", tls.vip_url(ctx, "neutron", PORT)),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [Check(name="neutron-network", what="a network, subnet and router are created and "
                  "deleted; agents are alive", probe=ApiCall("network.create-delete"),
                  expect="all created, agents alive", on="vip", drills=("power-loss",))]
