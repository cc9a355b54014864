"""Nova control plane: api, metadata, conductor, scheduler, novncproxy, all active/active.

Guide: Nova (non-compute). Every process is stateless against the database and the bus, so
each runs on every member; the guide's chain keeps start order and colocation (consoleauth
is gone since Train: tokens live in the database). Schedulers share load with
host_subset_size (the guide: required for A/A schedulers). nova-api and the metadata API run
under uwsgi with the AMQP heartbeat in a pthread, or their RPC calls stall 60 s (lab-notes).
"""

from __future__ import annotations

from hastack.agents import agent_text
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
from hastack.catalog.steps import Action, ApiCall, Check, Command, ConfigFile, ini_file, text_file

SERVICE = Service(
    name="nova",
    ha_mode=HAMode.ACTIVE_ACTIVE,
    packages=("nova-api", "nova-conductor", "nova-scheduler", "nova-novncproxy"),
    requires=("keystone", "glance", "neutron-server", "placement", "galera", "rabbitmq",
              "memcached", "loadbalancer"),
    vips=("nova",),
    summary="compute control plane (api, metadata, conductor, scheduler, novncproxy A/A)",
    apis=("nova-api", "nova-metadata", "nova-novncproxy"),
)

API_PORT = 8774
METADATA_PORT = 8775
NOVNC_PORT = 6080
HOST_SUBSET_SIZE = 30  # the guide: spreads concurrent A/A schedulers over hosts
PROCESSES = ("api", "metadata", "scheduler", "conductor", "novncproxy")
METADATA_SECRET = SecretRef("metadata-proxy-shared-secret")


def nova_conf(ctx: ServiceContext, address: str, *,
              with_database: bool = True) -> os_.Sections:
    """nova.conf shared by the control plane (and, without databases, by computes)."""
    sections = os_.merge(
        {"DEFAULT": {"my_ip": address, "osapi_compute_listen": address,
                     "metadata_listen": address, "enabled_apis": "osapi_compute,metadata",
                     "osapi_compute_workers": os_.workers(ctx) or 4,
                     "metadata_workers": os_.workers(ctx) or 4}},
        os_.messaging_sections(ctx, uwsgi=True),
        {"api": {"auth_strategy": "keystone"}},
        {"keystone_authtoken": os_.authtoken_section(ctx, "nova")},
        tls.proxy_headers(ctx),
        {"service_user": os_.service_credentials(ctx, "nova", send_service_user_token=True)},
        {"placement": os_.service_credentials(ctx, "placement")},
        {"neutron": os_.service_credentials(
            ctx, "neutron", service_metadata_proxy=True,
            metadata_proxy_shared_secret=METADATA_SECRET)},
        {"glance": {"api_servers": tls.vip_url(ctx, "glance", 9292)}},
        {"cinder": {"os_region_name": ctx.site.openstack.region}},
        {"vnc": {"enabled": True, "server_listen": address,
                 "server_proxyclient_address": address, "novncproxy_host": address,
                 "novncproxy_base_url": tls.vip_url(ctx, "nova", NOVNC_PORT, "/vnc_auto.html")}},
        {"filter_scheduler": {"host_subset_size": HOST_SUBSET_SIZE}},
        {"scheduler": {"workers": os_.workers(ctx) or 2}},
        {"conductor": {"workers": os_.workers(ctx) or 2}},
        {"oslo_concurrency": {"lock_path": "/var/lib/nova/tmp"}},
        {"cache": os_.cache_section(ctx)},
    )
    if with_database:
        sections["api_database"] = os_.database_section(ctx, "nova_api", user="nova")
        sections["database"] = os_.database_section(ctx, "nova", user="nova")
    return sections


def config(ctx: ServiceContext) -> list[ConfigFile]:
    files: list[ConfigFile] = []
    for node in ctx.members:
        files.append(ini_file(node.name, "/etc/nova/nova.conf",
                              nova_conf(ctx, str(node.address)), group="nova"))
        files += os_.uwsgi_files(ctx, node, component="nova-api",
                                 wsgi_file="/usr/bin/nova-api-wsgi", port=API_PORT,
                                 user="nova")
        files += os_.uwsgi_files(ctx, node, component="nova-metadata",
                                 wsgi_file="/usr/bin/nova-metadata-wsgi", port=METADATA_PORT,
                                 user="nova")
        # Debian's console proxy unit runs whichever proxy this names (spice by default).
        files.append(text_file(node.name, "/etc/default/nova-consoleproxy",
                               "NOVA_CONSOLE_PROXY_TYPE=novnc\n"))
    return files


def _unit(process: str) -> str:
    return "nova-metadata" if process == "metadata" else f"nova-{process}"


def resources(ctx: ServiceContext) -> list[Resource | CibSetting]:
    out: list[Resource | CibSetting] = []
    for process in PROCESSES:
        primitive = systemd(resource_id("nova", process), ctx.unit(_unit(process)))
        # Computes and nova-evacuate need one running conductor, not one per node.
        out.append(clone(primitive, **({"clone-min": 1} if process == "conductor" else {})))
    return out


def constraints(ctx: ServiceContext) -> list[Constraint]:
    ids = [clone_id("nova", p) for p in PROCESSES]
    return [Order(clone_id("keystone"), ids[0], kind="Optional"),
            Order(clone_id("placement", "api"), ids[0], kind="Optional"), *chain(*ids)]


def listeners(ctx: ServiceContext) -> list[Listener]:
    return [Listener(name="nova-api", vip="nova", port=API_PORT),
            Listener(name="nova-metadata", vip="nova", port=METADATA_PORT, tls=False),
            Listener(name="nova-novncproxy", vip="nova", port=NOVNC_PORT, mode="tcp")]


# Cell mappings hold templates, not URLs: nova fills in the user, password and hosts from its
# own nova.conf, so a rotated database or RabbitMQ password needs no new mapping (a stored
# URL would keep the old password and lock the conductors out of the cells).
CELL_DATABASE = "{scheme}://{username}:{password}@{hostname}/{path}?{query}"
CELL0_DATABASE = "{scheme}://{username}:{password}@{hostname}/nova_cell0?{query}"


def _cell_transport(ctx: ServiceContext) -> str:
    """transport_url as a template: oslo.messaging's list of hosts is numbered from 1."""
    count = len(os_.rabbit_nodes(ctx))
    if count == 1:
        return "{scheme}://{username}:{password}@{hostname}:{port}/{path}"
    hosts = ",".join(f"{{username{i}}}:{{password{i}}}@{{hostname{i}}}:{{port{i}}}"
                     for i in range(1, count + 1))
    return f"{{scheme}}://{hosts}/{{path}}"


NOVA_API_DB = agent_text("nova_api_db.py")


def api_db_holds(question: str, *args: str) -> Command:
    """A done-probe read in nova's API database (agents/nova_api_db.py), as nova."""
    return Command(argv=("python3", "-c", NOVA_API_DB, question, *args), user="nova")


def _cell_urls_action(ctx: ServiceContext) -> Action:
    """Cells mapped before they held templates (or by hand) get them."""
    cell1 = "$(nova-manage cell_v2 list_cells | awk '$2 == \"cell1\" {print $4}')"
    update = ("nova-manage cell_v2 update_cell --cell_uuid "
              f"00000000-0000-0000-0000-000000000000 --database_connection '{CELL0_DATABASE}'"
              f" && nova-manage cell_v2 update_cell --cell_uuid {cell1} --database_connection"
              f" '{CELL_DATABASE}' --transport-url '{_cell_transport(ctx)}'")
    return Action(name="nova-cell-urls", what="map the cells by templates of nova.conf's URLs",
                  run=Command(argv=("sh", "-c", update), user="nova"),
                  # The templates stored as they are: nova expands them with nova.conf's
                  # URLs (a password never reaches the database, nor argv).
                  done=api_db_holds("templates", CELL0_DATABASE, CELL_DATABASE,
                                    _cell_transport(ctx)))


def bootstrap(ctx: ServiceContext) -> list[Action]:
    manage = ("nova-manage",)
    return [
        *os_.database_actions(ctx, "nova_api", user="nova"),
        *os_.database_actions(ctx, "nova", user="nova"),
        *os_.database_actions(ctx, "nova_cell0", user="nova"),
        os_.db_sync_action("nova-api-db-sync", (*manage, "api_db", "sync"), user="nova",
                           what="create or upgrade nova's API schema"),
        os_.db_sync_action("nova-cell0", (*manage, "cell_v2", "map_cell0",
                                          "--database_connection", CELL0_DATABASE),
                           user="nova", what="map cell0"),
        Action(name="nova-cell1", what="create cell1",
               run=Command(argv=(*manage, "cell_v2", "create_cell", "--name", "cell1",
                                 "--database_connection", CELL_DATABASE,
                                 "--transport-url", _cell_transport(ctx)), user="nova"),
               done=api_db_holds("cell", "cell1")),
        _cell_urls_action(ctx),
        os_.db_sync_action("nova-db-sync", (*manage, "db", "sync"), user="nova",
                           what="create or upgrade nova's cell schema"),
        os_.keystone_action("nova", "compute", tls.vip_url(ctx, "nova", API_PORT, "/v2.1"),
                            extra_roles=("service",)),
    ]


def checks(ctx: ServiceContext) -> list[Check]:
    return [
        Check(name="nova-services", what="every nova service is up",
              probe=ApiCall("compute.services-up"), expect="all up", on="vip",
              drills=("power-loss",)),
        Check(name="nova-api-member", what="nova answers on every member",
              probe=ApiCall("compute.versions.member"), expect="200", on="all"),
    ]
