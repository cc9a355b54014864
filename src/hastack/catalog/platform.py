"""Per-platform names: packages and systemd units of each logical component, in one table.

Catalog modules speak of components ("nova-api", "galera"); this table says what they are
called on a platform. Adding a RHEL-family platform means adding one ``PlatformInfo``.
Debian 12 names were read from the bookworm packages themselves (their .service files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hastack.errors import PlanError
from hastack.site.model import Site


@dataclass(frozen=True)
class PlatformInfo:
    name: str
    openstack_release: str
    packages: Mapping[str, tuple[str, ...]]
    units: Mapping[str, str]
    galera_provider: str
    # Components Debian runs under uwsgi; glance-api is an eventlet daemon there (lab-notes).
    uwsgi_apps: frozenset[str]
    # Where a module hastack installs is found by the system's python3 (the admin's own
    # directory, not the packages').
    python_local: str

    def packages_for(self, *components: str) -> tuple[str, ...]:
        out: list[str] = []
        for component in components:
            try:
                out.extend(p for p in self.packages[component] if p not in out)
            except KeyError:
                raise PlanError("platform-unknown-component",
                                f"{self.name} has no package entry for '{component}'",
                                fix="add it to catalog/platform.py") from None
        return tuple(out)

    def unit(self, component: str) -> str:
        try:
            return self.units[component]
        except KeyError:
            raise PlanError("platform-unknown-unit",
                            f"{self.name} has no systemd unit for '{component}'",
                            fix="add it to catalog/platform.py") from None


DEBIAN_12 = PlatformInfo(
    name="debian-12",
    openstack_release="zed",
    galera_provider="/usr/lib/galera/libgalera_smm.so",
    python_local="/usr/local/lib/python3.11/dist-packages",
    packages={
        "cluster": ("corosync", "pacemaker", "pacemaker-cli-utils", "crmsh", "pcs",
                    # snmp: net-snmp's tools, which fence_apc_snmp runs (PDU devices)
                    "resource-agents", "fence-agents", "ipmitool", "snmp",
                    "ca-certificates"),  # update-ca-certificates: the site CA (tls.py)
        "pacemaker-remote": ("pacemaker-remote", "resource-agents", "pacemaker-cli-utils",
                             "ca-certificates"),
        "haproxy": ("haproxy", "socat"),  # socat: the alert agent talks to its socket
        # stunnel4: an SST over TLS (openstack.internal_tls) runs rsync through it.
        "galera": ("mariadb-server", "galera-4", "rsync", "socat", "stunnel4"),
        "clustercheck": ("python3",),  # agents/galera_check.py, see galera.py
        "memcached": ("memcached",),
        "rabbitmq": ("rabbitmq-server", "python3-amqp"),  # amqp: verify publishes
        "openstack-client": ("python3-openstackclient", "python3-openstacksdk",
                             "python3-pymysql", "crudini"),
        "keystone": ("keystone", "python3-keystoneclient", "uwsgi-plugin-python3"),
        "glance": ("glance-api", "glance-common"),
        "placement": ("placement-api", "uwsgi-plugin-python3"),
        "nova-api": ("nova-api", "uwsgi-plugin-python3"),
        "nova-conductor": ("nova-conductor",),
        "nova-scheduler": ("nova-scheduler",),
        "nova-novncproxy": ("nova-consoleproxy",),
        "nova-compute": ("nova-compute",),
        "neutron-server": ("neutron-api", "neutron-rpc-server", "neutron-common",
                           "uwsgi-plugin-python3"),
        "neutron-agents": ("neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent"),
        "neutron-openvswitch-agent": ("neutron-openvswitch-agent", "openvswitch-switch"),
        "neutron-linuxbridge-agent": ("neutron-linuxbridge-agent",),
        "cinder-api": ("cinder-api", "uwsgi-plugin-python3"),
        "cinder-scheduler": ("cinder-scheduler",),
        "cinder-volume": ("cinder-volume",),
        "heat": ("heat-api", "heat-api-cfn", "heat-engine", "uwsgi-plugin-python3"),
        "horizon": ("openstack-dashboard-apache", "python3-memcache"),
        "swift-proxy": ("swift-proxy", "python3-keystonemiddleware", "uwsgi-plugin-python3"),
        "swift-storage": ("swift-account", "swift-container", "swift-object",
                          "swift-object-expirer", "xfsprogs", "rsync"),
        "ceilometer": ("ceilometer-agent-central", "ceilometer-agent-notification"),
        "ceilometer-compute": ("ceilometer-agent-compute",),
    },
    units={
        "haproxy": "haproxy",
        "memcached": "memcached",
        "rabbitmq": "rabbitmq-server",
        "galera": "mariadb",
        "keystone": "keystone",
        "glance-api": "glance-api",
        "placement-api": "placement-api",
        "nova-api": "nova-api",
        "nova-metadata": "nova-api-metadata",
        "nova-conductor": "nova-conductor",
        "nova-scheduler": "nova-scheduler",
        "nova-novncproxy": "nova-novncproxy",
        "nova-compute": "nova-compute",
        "neutron-api": "neutron-api",
        "neutron-rpc-server": "neutron-rpc-server",
        "neutron-openvswitch-agent": "neutron-openvswitch-agent",
        "neutron-linuxbridge-agent": "neutron-linuxbridge-agent",
        "neutron-dhcp-agent": "neutron-dhcp-agent",
        "neutron-l3-agent": "neutron-l3-agent",
        "neutron-metadata-agent": "neutron-metadata-agent",
        "openvswitch": "openvswitch-switch",
        "cinder-api": "cinder-api",
        "cinder-scheduler": "cinder-scheduler",
        "cinder-volume": "cinder-volume",
        "heat-api": "heat-api",
        "heat-api-cfn": "heat-api-cfn",
        "heat-engine": "heat-engine",
        "horizon": "apache2",
        "swift-proxy": "swift-proxy",
        "swift-account": "swift-account",
        "swift-container": "swift-container",
        "swift-object": "swift-object",
        "swift-object-expirer": "swift-object-expirer",
        "ceilometer-central": "ceilometer-agent-central",
        "ceilometer-notification": "ceilometer-agent-notification",
        "ceilometer-compute": "ceilometer-agent-compute",
        "pacemaker-remote": "pacemaker_remote",
    },
    uwsgi_apps=frozenset({"keystone", "placement-api", "nova-api",
                          "nova-metadata", "neutron-api", "cinder-api", "heat-api",
                          "heat-api-cfn", "swift-proxy"}),
)

PLATFORMS: Mapping[str, PlatformInfo] = {DEBIAN_12.name: DEBIAN_12}


def platform_info(name: str) -> PlatformInfo:
    return PLATFORMS[name]


# A component that stands for the L2 agent the site chose (services.neutron_l2).
L2_AGENT = "neutron-l2-agent"


def l2_agent_component(site: Site) -> str:
    return f"neutron-{site.services.neutron_l2.value}-agent"


def site_packages_for(site: Site, components: Iterable[str]) -> tuple[str, ...]:
    """The packages of ``components`` on the site's platform, with its choices applied."""
    chosen = (l2_agent_component(site) if c == L2_AGENT else c for c in components)
    return platform_info(site.platform.value).packages_for(*dict.fromkeys(chosen))
