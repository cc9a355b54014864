"""The site file's models: what a user writes, typed and frozen (pydantic v2).

Shape checks live here (types, unknown keys, enums); rules that look across the site
(quorum, uniqueness, placement) live in ``rules.py`` so that every problem is reported at once.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Every free string has a pattern: values reach shell files, INI files, the CIB and fence
# agents' name=value input, so no control character, space, quote or '$' gets through.
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
USER_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$"  # a BMC or SNMPv3 user
REGION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SERVICE_PATTERN = r"^(?:\*|[a-z][a-z0-9_-]{0,62})$"  # a catalog service, a toggle or '*'
SYSTEM_ID_PATTERN = r"^/[A-Za-z0-9_.~/-]{1,254}$"  # a Redfish path
PATH_PATTERN = r"^[A-Za-z0-9_./][A-Za-z0-9_./-]{0,254}$"
INTERFACE_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$"  # IFNAMSIZ - 1
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_ADDRESS = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"
RANGE_PATTERN = rf"^{_ADDRESS}-{_ADDRESS}$"
ServiceName = Annotated[str, Field(pattern=SERVICE_PATTERN)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    CONTROLLER = "controller"
    COMPUTE = "compute"
    GATEWAY = "gateway"


class FenceType(StrEnum):
    IPMILAN = "ipmilan"
    REDFISH = "redfish"
    LAB = "lab"  # the lab's virtual BMCs: IPMI lanplus, like a real ipmilan device


class Topology(StrEnum):
    COLLAPSED = "collapsed"
    SEGREGATED = "segregated"
    MIXED = "mixed"


class HAChoice(StrEnum):
    ACTIVE_ACTIVE = "active-active"
    ACTIVE_PASSIVE = "active-passive"


class L2Agent(StrEnum):
    """Neutron's layer-2 agent and ML2 mechanism driver."""

    OPENVSWITCH = "openvswitch"
    LINUXBRIDGE = "linuxbridge"


class OvsDatapath(StrEnum):
    """Where Open vSwitch forwards packets (``services.neutron_ovs_datapath``)."""

    SYSTEM = "system"
    NETDEV = "netdev"


class Manages(StrEnum):
    """What Pacemaker runs (``cluster.manages``)."""

    EVERYTHING = "everything"  # the guide: every service a Pacemaker resource
    CORE = "core"  # VIPs, HAProxy, Galera, RabbitMQ, active/passive services, computes


class Platform(StrEnum):
    DEBIAN_12 = "debian-12"


class PduType(StrEnum):
    APC = "apc"  # an APC switched rack PDU over SNMPv3 (fence_apc_snmp)
    LAB = "lab"  # the lab's simulated APC PDU (hastack lab up starts it)


class Pdu(Model):
    """A switched PDU: one per rack or power feed, many nodes on its outlets."""

    type: PduType
    address: IPv4Address = Field(description="the PDU's management address")
    port: int | None = Field(None, ge=1, le=65535, description="SNMP port (161 when omitted)")
    username: str = Field("hastack", pattern=USER_PATTERN, description="SNMPv3 user "
                          "(authNoPriv, SHA)")
    credentials: Name | None = Field(None, description="name of the secret holding the SNMPv3 "
                                     "authentication password (default: pdu-<pdu>)")


class PduOutlet(Model):
    """Where a node's power comes from: the second fencing level, used when its BMC fails."""

    name: Name = Field(description="the PDU, a key of 'pdus'")
    outlet: int = Field(ge=1, le=1024, description="the outlet number on that PDU")


class Fencing(Model):
    """A node's power-fencing device (its BMC) and, optionally, its PDU outlet."""

    type: FenceType
    address: IPv4Address | None = Field(None, description="BMC address (required for ipmilan, "
                                        "redfish and lab)")
    port: int | None = Field(None, ge=1, le=65535, description="BMC port (623 for IPMI, "
                             "443 for Redfish when omitted)")
    username: str = Field("admin", pattern=USER_PATTERN)
    credentials: Name | None = Field(None, description="name of the secret holding the BMC "
                                     "password (default: bmc-<node>)")
    system_id: str | None = Field(None, pattern=SYSTEM_ID_PATTERN, description="Redfish "
                                  "system path, e.g. /redfish/v1/Systems/1")
    verify_certificate: bool = Field(True, description="Redfish: check the BMC's TLS "
                                     "certificate against the node's CA store; false only for "
                                     "a BMC with a self-signed certificate")
    pdu: PduOutlet | None = Field(None, description="the node's PDU outlet: fencing level 2, "
                                  "tried when the BMC (level 1) fails")


class Node(Model):
    name: Name
    address: IPv4Address = Field(description="address on the internal network")
    role: Role
    fencing: Fencing | None = None


class Networks(Model):
    internal: IPv4Network = Field(description="the internal network every node is on")
    external: IPv4Network | None = Field(None, description="the external network the neutron "
                                         "agents and the gateway reach")
    external_interface: str | None = Field(None, pattern=INTERFACE_PATTERN,
                                           description="linuxbridge: the interface on the "
                                           "external network, mapped to physnet1 (none: tenant "
                                           "networks only)")
    tunnel: IPv4Network | None = Field(None, description="openvswitch: the network VXLAN "
                                       "tenant traffic crosses (the guide's eth1); a node's "
                                       "address on it has the host part of its internal "
                                       "address (none: the internal network)")
    tunnel_interface: str | None = Field(None, pattern=INTERFACE_PATTERN,
                                         description="the interface on the tunnel network; "
                                         "with the netdev datapath hastack puts it in the "
                                         "OVS bridge br-tunnel, which holds the tunnel "
                                         "address")
    vip_range: str | None = Field(None, pattern=RANGE_PATTERN,
                                  description="first-last address to allocate VIPs from")
    vips: dict[Name, IPv4Address] = Field(default_factory=dict,
                                          description="explicit VIPs by name (db, keystone, ...)")


class Cluster(Model):
    nodes: tuple[Name, ...] = Field(description="full members (controllers)")
    services: tuple[ServiceName, ...] = Field(("*",), description="services placed on this "
                                              "cluster; '*' = every service not placed "
                                              "elsewhere")


class NeutronHA(Model):
    server: HAChoice
    agents: HAChoice


class Services(Model):
    """Optional services on/off, and the HA choices the guide leaves open."""

    cinder: bool = True
    swift: bool = True
    heat: bool = True
    ceilometer: bool = False
    horizon: bool = True
    neutron_agents: bool = Field(True, description="the L2, DHCP, L3 and metadata agents on "
                                 "the controllers (and the L2 agent on the computes)")
    neutron_l2: L2Agent = Field(L2Agent.OPENVSWITCH, description="openvswitch (the guide) or "
                                "linuxbridge (where the kernel has no Open vSwitch datapath, "
                                "as in the lab's sandbox)")
    neutron_ovs_datapath: OvsDatapath = Field(OvsDatapath.SYSTEM, description="openvswitch: "
                                              "system (the kernel's module) or netdev (OVS's "
                                              "userspace datapath, for kernels without the "
                                              "module; needs networks.tunnel)")
    neutron_ha: HAChoice | NeutronHA = HAChoice.ACTIVE_ACTIVE
    mongodb: bool = Field(False, description="refused: not packaged for Debian 12")
    qpid: bool = Field(False, description="refused: not packaged for Debian 12")


class ClusterOptions(Model):
    token_ms: int = Field(3000, ge=200, le=60000, description="corosync token timeout")
    allow_large: bool = Field(False, description="allow 17-32 full members (untested by the "
                              "guide; warns)")
    fence_power_wait: int | None = Field(None, ge=0, le=60, description="seconds fence_ipmilan "
                                         "waits after off/on (agent default when omitted)")
    manages: Manages = Field(Manages.EVERYTHING, description="everything: the guide's layout, "
                             "every service a Pacemaker resource; core: only the VIPs, "
                             "HAProxy, Galera, RabbitMQ, the active/passive services and the "
                             "computes, every active/active service a systemd unit that "
                             "restarts itself (TripleO's layout since Newton)")


class CertificateFiles(Model):
    certificate: str = Field(pattern=PATH_PATTERN, description="PEM: the VIP's certificate, "
                             "then any intermediate certificates")
    key: str = Field(pattern=PATH_PATTERN, description="PEM: its private key, unencrypted, "
                     "readable by its owner only")


class SiteCertificates(Model):
    """Certificates of the site's own CA for the VIPs, instead of hastack's generated CA.
    Paths are relative to the site file."""

    ca: str = Field(pattern=PATH_PATTERN, description="PEM: the CA certificate that issued "
                    "them (every node and client trusts it)")
    vips: dict[Name, CertificateFiles] = Field(description="one per VIP served over TLS, "
                                               "by VIP name")


class OpenStack(Model):
    region: str = Field("RegionOne", pattern=REGION_PATTERN)
    workers: int | None = Field(None, ge=1, le=64, description="API/conductor worker count "
                                "(packaged defaults when omitted)")
    debug: bool = False
    tls: bool = Field(True, description="serve the API endpoints, the dashboard and the console "
                      "proxy over TLS on the VIPs (HAProxy), with certificates of a site CA "
                      "that hastack generates and keeps in the secrets file")
    certificates: SiteCertificates | None = Field(None, description="the site's own "
                                                  "certificates for the VIPs (tls on)")
    internal_tls: bool = Field(False, description="AMQP (every client to RabbitMQ) and "
                               "Galera's replication (group communication, IST and SST) over "
                               "TLS, with a certificate per node from a CA of hastack's own")


class Site(Model):
    """A whole site: the one input of every hastack command."""

    name: Name
    platform: Platform = Platform.DEBIAN_12
    topology: Topology = Topology.COLLAPSED
    nodes: tuple[Node, ...]
    networks: Networks
    pdus: dict[Name, Pdu] = Field(default_factory=dict, description="switched PDUs that "
                                  "nodes' fencing.pdu refers to")
    clusters: dict[Name, Cluster] = Field(default_factory=dict, description="collapsed: "
                                          "optional (one cluster of every controller)")
    services: Services = Services()
    cluster: ClusterOptions = ClusterOptions()
    openstack: OpenStack = OpenStack()
    secrets_file: str | None = Field(None, pattern=PATH_PATTERN, description="default: "
                                     "<site file>.secrets.yaml")

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def nodes_with(self, role: Role) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role is role)


COLLAPSED_CLUSTER = "openstack"


NODEID_BITS = 0xFFFF  # knet's node ids are 16 bits


def corosync_node_id(address: IPv4Address) -> int:
    """A member's corosync node id (the CIB's node id too): the low 16 bits of its address.
    Never its place in the list: a member taken out from the middle would renumber every
    one after it while they run, and a new one would take a departed one's id."""
    return int(address) & NODEID_BITS
