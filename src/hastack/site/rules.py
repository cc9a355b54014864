"""The guide's rules for a site, as validators that return every problem and never raise.

Sources: the guide's "Cluster Manager" section (quorum needs >= 3 nodes, odd counts preferred,
16 corosync members tested, more through pacemaker_remote) and its per-service sections
(cinder-volume active/passive, MongoDB and Qpid optional).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from ipaddress import IPv4Address, IPv4Network

from hastack.errors import Problem, Severity
from hastack.site.model import (
    FenceType,
    HAChoice,
    L2Agent,
    NeutronHA,
    OvsDatapath,
    PduType,
    Role,
    Site,
    Topology,
    corosync_node_id,
)
from hastack.site.placement import (
    WILDCARD,
    ServiceSpec,
    assign_services,
    effective_clusters,
    is_enabled,
    tunnel_address,
    used_addresses,
    vip_names,
    vip_pool,
)

MIN_MEMBERS = 3
MAX_MEMBERS = 16  # the guide: corosync is tested to 16 members
MAX_MEMBERS_FORCED = 32  # possible but untested; only with cluster.allow_large
LAB_NETWORK = IPv4Network("198.18.0.0/15")  # the lab never addresses anything else
MAX_VIP_RANGE = 1024  # a site needs ~20 VIPs; a typo'd range would be listed address by address

Rule = Callable[[Site, Sequence[ServiceSpec]], Iterator[Problem]]


def _error(code: str, key: str, what: str, fix: str) -> Problem:
    return Problem(code=code, key=key, what=what, fix=fix)


def _warning(code: str, key: str, what: str, fix: str) -> Problem:
    return Problem(code=code, key=key, what=what, fix=fix, severity=Severity.WARNING)


def _not_a_host(address: IPv4Address, network: IPv4Network) -> str:
    """'the network address' or 'the broadcast address' of ``network``, else ''.
    /31 and /32 networks have neither (RFC 3021)."""
    if network.prefixlen >= 31:
        return ""
    if address == network.network_address:
        return "the network address"
    if address == network.broadcast_address:
        return "the broadcast address"
    return ""


def _hosts_of(network: IPv4Network) -> str:
    if network.prefixlen >= 31:
        return f"{network[0]}-{network[-1]}"
    return f"{network.network_address + 1}-{network.broadcast_address - 1}"


def _node_index(site: Site) -> dict[str, int]:
    return {n.name: i for i, n in enumerate(site.nodes)}


def unique_nodes(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    seen_names: set[str] = set()
    for i, node in enumerate(site.nodes):
        if node.name in seen_names:
            yield _error("site-duplicate-node", f"nodes.{i}.name",
                         f"node name '{node.name}' is used twice",
                         "give every node its own name")
        seen_names.add(node.name)
        internal = site.networks.internal
        if node.address not in internal:
            yield _error("site-address-outside-network", f"nodes.{i}.address",
                         f"{node.name}'s address {node.address} is not in the internal network "
                         f"{internal}",
                         "use an address inside networks.internal, or widen that network")
        elif reserved := _not_a_host(node.address, internal):
            yield _error("site-address-outside-network", f"nodes.{i}.address",
                         f"{node.name}'s address {node.address} is {reserved} of {internal}, "
                         "not a host address", f"use a host address: {_hosts_of(internal)}")


def unique_addresses(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """Node, BMC and VIP addresses are all distinct."""
    owners: dict[IPv4Address, str] = {}
    places: list[tuple[IPv4Address, str, str]] = []
    for i, node in enumerate(site.nodes):
        places.append((node.address, f"nodes.{i}.address", f"node {node.name}"))
        if node.fencing and node.fencing.address:
            places.append((node.fencing.address, f"nodes.{i}.fencing.address",
                           f"the BMC of {node.name}"))
    for name, pdu in site.pdus.items():
        places.append((pdu.address, f"pdus.{name}.address", f"PDU {name}"))
    for name, address in site.networks.vips.items():
        places.append((address, f"networks.vips.{name}", f"VIP {name}"))
    for address, key, owner in places:
        if address in owners:
            yield _error("site-duplicate-address", key,
                         f"{address} is used by {owner} and by {owners[address]}",
                         "every node, BMC and VIP needs its own address")
        else:
            owners[address] = owner


def cluster_node_ids(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """Controllers' corosync node ids (the low 16 bits of their addresses) are distinct and
    not 0: only an internal network wider than /16 can break this."""
    owners: dict[int, str] = {}
    for i, node in enumerate(site.nodes):
        if node.role is not Role.CONTROLLER:
            continue
        nodeid = corosync_node_id(node.address)
        if nodeid == 0 or nodeid in owners:
            yield _error("site-node-id", f"nodes.{i}.address",
                         f"{node.name}'s address {node.address} gives corosync node id "
                         f"{nodeid}" + (f", as {owners[nodeid]}'s does" if nodeid else ""),
                         "a node id is the address's low 16 bits: give the controllers "
                         "addresses that differ there (an internal network of /16 or less)")
        owners.setdefault(nodeid, node.name)


def fencing(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """Every controller and compute node can be fenced; the guide never runs without it."""
    for i, node in enumerate(site.nodes):
        if node.role is Role.GATEWAY:
            continue
        if node.fencing is None:
            yield _error("site-missing-fencing", f"nodes.{i}",
                         f"{node.role.value} {node.name} has no fencing device",
                         "add 'fencing: {type: ipmilan, address: <BMC>}' (or redfish, or lab "
                         "in the lab): a cluster without fencing cannot recover safely")
        elif node.fencing.address is None:
            yield _error("site-fencing-no-address", f"nodes.{i}.fencing",
                         f"{node.name}'s {node.fencing.type.value} fencing device has no "
                         "address", "add 'address: <BMC address>' under fencing")


def pdus(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """Each node's PDU outlet names a declared PDU, one node per outlet, and a lab PDU only on
    a lab site (and only there): the lab serves its own, real sites have real ones."""
    lab_site = any(n.fencing and n.fencing.type is FenceType.LAB for n in site.nodes)
    for name, pdu in site.pdus.items():
        if (pdu.type is PduType.LAB) != lab_site:
            yield _error("site-pdu-type-mismatch", f"pdus.{name}.type",
                         f"PDU {name} is of type {pdu.type.value} on a "
                         f"{'lab' if lab_site else 'real'} site",
                         "use type: lab on lab sites (the lab serves it) and type: apc on real "
                         "ones" if lab_site else "type: lab is the lab's simulated PDU; use "
                         "type: apc for an APC switched PDU")
    plugged: dict[tuple[str, int], str] = {}
    for i, node in enumerate(site.nodes):
        outlet = node.fencing.pdu if node.fencing else None
        if outlet is None:
            continue
        if outlet.name not in site.pdus:
            known = ", ".join(site.pdus) or "none declared"
            yield _error("site-unknown-pdu", f"nodes.{i}.fencing.pdu.name",
                         f"{node.name}'s fencing names PDU '{outlet.name}', which is not under "
                         "'pdus'", f"declare it under pdus: {{{outlet.name}: {{type: apc, "
                         f"address: ...}}}} (PDUs of this site: {known})")
        elif (outlet.name, outlet.outlet) in plugged:
            yield _error("site-pdu-outlet-shared", f"nodes.{i}.fencing.pdu.outlet",
                         f"{node.name} and {plugged[(outlet.name, outlet.outlet)]} are both "
                         f"on outlet {outlet.outlet} of PDU {outlet.name}",
                         "fencing one would cut the other's power too: give each node its own "
                         "outlet")
        else:
            plugged[(outlet.name, outlet.outlet)] = node.name


def lab_addresses(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """A lab site stays inside 198.18.0.0/15: lab traffic never leaves its namespaces."""
    if not any(n.fencing and n.fencing.type is FenceType.LAB for n in site.nodes):
        return
    for network_key, network in (("networks.internal", site.networks.internal),
                                 ("networks.external", site.networks.external),
                                 ("networks.tunnel", site.networks.tunnel)):
        if network is not None and not network.subnet_of(LAB_NETWORK):
            yield _error("site-lab-outside-range", network_key,
                         f"{network} is outside {LAB_NETWORK}, the only range the lab uses",
                         f"use a network inside {LAB_NETWORK} (for example 198.18.0.0/24)")
    for i, node in enumerate(site.nodes):
        if node.fencing and node.fencing.address and node.fencing.address not in LAB_NETWORK:
            yield _error("site-lab-outside-range", f"nodes.{i}.fencing.address",
                         f"BMC address {node.fencing.address} is outside {LAB_NETWORK}",
                         f"use an address inside {LAB_NETWORK}")
    for name, pdu in site.pdus.items():
        if pdu.address not in LAB_NETWORK:
            yield _error("site-lab-outside-range", f"pdus.{name}.address",
                         f"PDU address {pdu.address} is outside {LAB_NETWORK}",
                         f"use an address inside {LAB_NETWORK}")


def cluster_members(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """Quorum needs >= 3 full members; computes join as pacemaker_remote nodes, never full."""
    if site.topology is Topology.COLLAPSED and len(site.clusters) > 1:
        yield _error("site-collapsed-many-clusters", "clusters",
                     f"a collapsed site has one cluster, this one names {len(site.clusters)}",
                     "use topology: mixed or segregated, or keep one cluster")
    if site.topology is not Topology.COLLAPSED and not site.clusters:
        yield _error("site-clusters-required", "topology",
                     f"a {site.topology.value} site needs a 'clusters' map",
                     "add clusters: {<name>: {nodes: [...], services: [...]}}")
    index = _node_index(site)
    member_of: dict[str, str] = {}
    clusters = effective_clusters(site)
    for name, cluster in clusters.items():
        key = f"clusters.{name}.nodes" if site.clusters else "nodes"
        for j, member in enumerate(cluster.nodes):
            member_key = f"{key}.{j}" if site.clusters else key
            if member not in index:
                yield _error("site-unknown-node", member_key,
                             f"cluster {name} names node '{member}', which is not in 'nodes'",
                             "declare the node under 'nodes' or fix the name")
                continue
            role = site.nodes[index[member]].role
            if role is not Role.CONTROLLER:
                yield _error("site-not-a-full-member", member_key,
                             f"{member} is a {role.value} node; only controllers are full "
                             "cluster members",
                             "compute nodes join as pacemaker_remote nodes on their own: "
                             "remove it from the cluster's nodes")
            if member in member_of and member_of[member] != name:
                yield _error("site-node-in-two-clusters", member_key,
                             f"{member} is a member of {member_of[member]} and {name}",
                             "a node belongs to one cluster")
            member_of[member] = name
        count = len(cluster.nodes)
        if count < MIN_MEMBERS:
            yield _error("site-cluster-too-small", key,
                         f"cluster {name} has {count} full member(s); quorum needs at least "
                         f"{MIN_MEMBERS}",
                         "add controllers: a two-node cluster cannot tell a failed peer from a "
                         "split, so the guide refuses it")
        elif count % 2 == 0:
            yield _warning("site-even-node-count", key,
                           f"cluster {name} has an even number of members ({count}): an N:N "
                           "split leaves neither half quorate",
                           "add or remove one controller")
        if count > MAX_MEMBERS_FORCED or (count > MAX_MEMBERS and not site.cluster.allow_large):
            yield _error("site-cluster-too-large", key,
                         f"cluster {name} has {count} full members; corosync is tested to "
                         f"{MAX_MEMBERS}",
                         f"set cluster.allow_large: true to go up to {MAX_MEMBERS_FORCED}, or "
                         "split the cluster (compute nodes are pacemaker_remote, not members)"
                         if count <= MAX_MEMBERS_FORCED else
                         f"{MAX_MEMBERS_FORCED} is the hard limit: split the cluster")
        elif count > MAX_MEMBERS:
            yield _warning("site-large-cluster", key,
                           f"cluster {name} has {count} full members, beyond the {MAX_MEMBERS} "
                           "the guide has tested", "prefer smaller clusters")


def refused_services(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    for name in ("mongodb", "qpid"):
        if getattr(site.services, name):
            yield _error("site-service-not-packaged", f"services.{name}",
                         f"{name} is optional in the guide and not packaged for Debian 12",
                         f"remove services.{name}: ceilometer runs without MongoDB and "
                         "RabbitMQ is the message bus")


def neutron_mode(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    mode = site.services.neutron_ha
    if isinstance(mode, NeutronHA) and mode.server is not mode.agents:
        yield _error("site-neutron-ha-mismatch", "services.neutron_ha",
                     f"neutron server is {mode.server.value} but its agents are "
                     f"{mode.agents.value}",
                     "the guide runs server and agents in one mode: pick one value, e.g. "
                     f"neutron_ha: {HAChoice.ACTIVE_ACTIVE.value}")
    if site.networks.external_interface and site.services.neutron_l2 is L2Agent.OPENVSWITCH:
        yield _warning("site-external-interface-unused", "networks.external_interface",
                       "only the Linux bridge agent maps physnet1 to an interface; Open "
                       "vSwitch maps it to the bridge br-ex",
                       "add the interface to br-ex on each node and remove "
                       "networks.external_interface, or set services.neutron_l2: linuxbridge")


def tunnel_network(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """The tunnel network and the datapath that needs it agree, and every node has an
    address of its own on it."""
    nets, tunnel = site.networks, site.networks.tunnel
    ovs = site.services.neutron_l2 is L2Agent.OPENVSWITCH
    netdev = site.services.neutron_ovs_datapath is OvsDatapath.NETDEV
    if netdev and ovs and (tunnel is None or nets.tunnel_interface is None):
        yield _error("site-tunnel-missing", "services.neutron_ovs_datapath",
                     "the netdev datapath ends VXLAN tunnels on an OVS bridge of their own, "
                     "and the site names no tunnel network and interface for it",
                     "add networks.tunnel (a network of its own, e.g. 198.18.2.0/24) and "
                     "networks.tunnel_interface (the interface on it, e.g. eth1)")
    if tunnel is None:
        if nets.tunnel_interface is not None:
            yield _error("site-tunnel-missing", "networks.tunnel_interface",
                         "a tunnel interface without a tunnel network",
                         "add networks.tunnel, or remove networks.tunnel_interface")
        return
    if not ovs:
        yield _error("site-tunnel-needs-openvswitch", "networks.tunnel",
                     "only the Open vSwitch agent ends tunnels on a network of their own",
                     "remove networks.tunnel, or set services.neutron_l2: openvswitch")
    if tunnel.overlaps(nets.internal):
        yield _error("site-tunnel-overlaps", "networks.tunnel",
                     f"{tunnel} overlaps the internal network {nets.internal}",
                     "give tunnels a network of their own")
        return
    seen: dict[IPv4Address, str] = {}
    for i, node in enumerate(site.nodes):
        if node.role is Role.GATEWAY:
            continue
        address = tunnel_address(site, node)
        problem = _not_a_host(address, tunnel) or (
            f"{seen[address]}'s too" if address in seen else "")
        if problem:
            yield _error("site-tunnel-address", f"nodes.{i}.address",
                         f"{node.name}'s tunnel address would be {address}, {problem}",
                         f"use a tunnel network at least as large as {nets.internal}")
        seen[address] = node.name


def service_placement(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    """Every enabled service is on exactly one cluster, with everything it needs."""
    known = {s.name for s in services}
    enabled = {s.name for s in services if is_enabled(s, site)}
    claimed: dict[str, str] = {}
    for cname, cluster in site.clusters.items():
        for j, name in enumerate(cluster.services):
            key = f"clusters.{cname}.services.{j}"
            if name == WILDCARD:
                if site.topology is Topology.SEGREGATED:
                    yield _error("site-wildcard-segregated", key,
                                 "a segregated site names every service; '*' is for mixed "
                                 "sites", "list the services of this cluster")
                continue
            toggled = [s.name for s in services if s.toggle == name]
            if name not in known and toggled and not getattr(site.services, name, True):
                yield _error("site-service-disabled", key,
                             f"{name} is placed on cluster {cname} but services.{name} is "
                             "false", f"set services.{name}: true or remove it here")
            elif name not in known:
                hint = (f"services.{name} enables {', '.join(toggled)}: place those"
                        if toggled else f"known services: {', '.join(sorted(known))}")
                yield _error("site-unknown-service", key, f"unknown service '{name}'", hint)
            elif name not in enabled:
                yield _error("site-service-disabled", key,
                             f"service {name} is placed on cluster {cname} but is not enabled",
                             "enable it under 'services' or remove it from this cluster")
            elif name in claimed:
                yield _error("site-service-placed-twice", key,
                             f"service {name} is on cluster {claimed[name]} and {cname}",
                             "place each service on one cluster")
            else:
                claimed[name] = cname
    assigned = assign_services(site, services)
    if not site.clusters and site.topology is not Topology.COLLAPSED:
        return  # site-clusters-required says it once; every service unplaced would be noise
    for spec in services:
        if spec.name not in enabled:
            continue
        if spec.name not in assigned:
            yield _error("site-service-unplaced", "clusters",
                         f"service {spec.name} is enabled but no cluster runs it",
                         f"add {spec.name} to a cluster's services (or '*' on a mixed site)")
            continue
        for need in spec.requires:
            if need not in assigned:
                yield _error("site-missing-dependency", "clusters" if site.clusters else
                             "services", f"{spec.name} needs {need}, which no cluster runs",
                             f"enable and place {need}, or disable {spec.name}")


def vips(site: Site, services: Sequence[ServiceSpec]) -> Iterator[Problem]:
    internal = site.networks.internal
    needed = vip_names(site, services, assign_services(site, services))
    for name, address in site.networks.vips.items():
        key = f"networks.vips.{name}"
        if name not in needed:
            yield _error("site-unknown-vip", key, f"no placed service uses a VIP named '{name}'",
                         f"VIP names of this site: {', '.join(needed) or 'none'}")
        if address not in internal:
            yield _error("site-vip-outside-network", key,
                         f"VIP {name} ({address}) is not in the internal network {internal}",
                         "VIPs live on the internal network; pick an address inside it")
        elif reserved := _not_a_host(address, internal):
            yield _error("site-vip-outside-network", key,
                         f"VIP {name} ({address}) is {reserved} of {internal}, not a host "
                         "address", f"pick a host address: {_hosts_of(internal)}")
    if site.networks.vip_range:
        range_problems = list(_vip_range(site))
        yield from range_problems
        if range_problems:
            return
    missing = [n for n in needed if n not in site.networks.vips]
    if missing:
        used = used_addresses(site)
        free = [a for a in vip_pool(site) if a not in used]  # at most MAX_VIP_RANGE long
        if len(free) < len(missing):
            yield _error("site-vip-missing", "networks", f"{len(missing)} VIP(s) need an "
                         f"address ({', '.join(missing)}) and the range has {len(free)} free",
                         "set networks.vip_range to a range with enough free addresses, or "
                         "give them under networks.vips")


def _vip_range(site: Site) -> Iterator[Problem]:
    """The range is checked by its ends and size before any address of it is listed."""
    assert site.networks.vip_range
    internal = site.networks.internal
    first, last = (IPv4Address(p) for p in site.networks.vip_range.split("-"))
    if first > last:
        yield _error("site-vip-range-empty", "networks.vip_range",
                     "the VIP range's first address is after its last",
                     "write it as first-last")
    elif first not in internal or last not in internal:
        yield _error("site-vip-outside-network", "networks.vip_range",
                     f"the VIP range {site.networks.vip_range} is not inside {internal}",
                     "allocate VIPs from the internal network")
    elif _not_a_host(first, internal) or _not_a_host(last, internal):
        yield _error("site-vip-outside-network", "networks.vip_range",
                     f"the VIP range {site.networks.vip_range} includes the network or "
                     f"broadcast address of {internal}",
                     f"keep the range within the host addresses {_hosts_of(internal)}")
    elif int(last) - int(first) + 1 > MAX_VIP_RANGE:
        yield _error("site-vip-range-too-large", "networks.vip_range",
                     f"the VIP range {site.networks.vip_range} holds "
                     f"{int(last) - int(first) + 1} addresses, more than the "
                     f"{MAX_VIP_RANGE} hastack allocates from",
                     "a site needs about 20 VIPs: give a range of 32 to 64 addresses")


RULES: tuple[Rule, ...] = (unique_nodes, unique_addresses, cluster_node_ids, fencing, pdus,
                           lab_addresses, cluster_members, refused_services, neutron_mode,
                           tunnel_network, service_placement, vips)


def validate(site: Site, services: Sequence[ServiceSpec]) -> list[Problem]:
    """Every problem of the site, errors and warnings; empty when all rules hold."""
    duplicates = [n for n, c in Counter(s.name for s in services).items() if c > 1]
    assert not duplicates, f"catalog names services twice: {duplicates}"
    return [problem for rule in RULES for problem in rule(site, services)]
