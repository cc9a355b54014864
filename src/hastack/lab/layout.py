"""The lab's layout, derived from a site (pure): machines, namespaces, links, BMCs, dirs.

One lab runs on a computer at a time. Every name the lab creates starts with ``hs-`` (network
namespaces) or lives under the state directory, so ``lab down`` removes exactly what it made.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from hastack.errors import Problem, SiteError
from hastack.site.model import FenceType, Role, Site

STATE_ROOT = Path("/var/lib/hastack/lab")
SWITCH_NETNS = "hs-switch"
BRIDGE = "br0"
TUNNEL_BRIDGE = "br1"  # the tunnel network's switch, when the site has one
MACHINE_IF = "eth0"
BMC_PORT = 623
SNMP_PORT = 161


@dataclass(frozen=True)
class PduSpec:
    """A lab PDU: an SNMP agent in the switch namespace, on its own address."""

    name: str
    address: IPv4Address
    port: int


@dataclass(frozen=True)
class MachineSpec:
    name: str
    role: Role
    address: IPv4Address
    bmc_address: IPv4Address | None  # gateways have no BMC
    netns: str
    switch_port: str  # the veth end on the bridge, inside the switch namespace
    dir: Path

    @property
    def tunnel_port(self) -> str:
        """The switch end of the machine's link to the tunnel network."""
        return self.switch_port.replace("hs-p", "hs-t", 1)

    @property
    def upper(self) -> Path:
        return self.dir / "upper"

    @property
    def work(self) -> Path:
        return self.dir / "work"

    @property
    def root(self) -> Path:
        return self.dir / "root"

    @property
    def console(self) -> Path:
        return self.dir / "console.log"


@dataclass(frozen=True)
class LabLayout:
    site_name: str
    network: IPv4Network
    state_dir: Path
    machines: tuple[MachineSpec, ...]
    pdus: tuple[PduSpec, ...] = ()
    # The machines' interface on the tunnel network (networks.tunnel_interface), unaddressed:
    # the deploy puts the tunnel address on the OVS bridge that takes the interface.
    tunnel_interface: str | None = None

    def machine(self, name: str) -> MachineSpec:
        for machine in self.machines:
            if machine.name == name:
                return machine
        known = ", ".join(m.name for m in self.machines)
        raise SiteError([Problem(code="lab-unknown-machine", where=name,
                                 what=f"the lab has no machine '{name}'",
                                 fix=f"machines of this lab: {known}")])

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def pdu_dir(self) -> Path:
        return self.state_dir / "pdus"


def lab_layout(site: Site, state_root: Path = STATE_ROOT) -> LabLayout:
    """The lab for ``site``: every non-gateway node must use lab fencing.

    Raises:
        SiteError: when a node is not fenced by a lab BMC (real hardware is not a lab).
    """
    problems = [Problem(code="lab-not-a-lab-site", where=node.name,
                        what=f"{node.name} is not fenced by a lab BMC (fencing type "
                             f"{node.fencing.type.value if node.fencing else 'none'})",
                        fix="lab sites use 'fencing: {type: lab, address: <BMC address>}' for "
                            "every node; see examples/lab.yaml")
                for node in site.nodes
                if node.role is not Role.GATEWAY
                and (node.fencing is None or node.fencing.type is not FenceType.LAB)]
    if problems:
        raise SiteError(problems)
    machines = []
    for node in site.nodes:
        bmc = node.fencing.address if node.fencing else None
        machines.append(MachineSpec(
            name=node.name, role=node.role, address=node.address, bmc_address=bmc,
            # Named by its address within 198.18.0.0/15, not its place in the file: a node
            # added in the middle of the list (a grown copy of the site) gets a port of its
            # own, and none of the others' changes.
            netns=f"hs-{node.name}", switch_port=f"hs-p{int(node.address) & 0x1FFFF}",
            dir=state_root / "machines" / node.name))
    pdus = tuple(PduSpec(name=name, address=pdu.address, port=pdu.port or SNMP_PORT)
                 for name, pdu in site.pdus.items())
    return LabLayout(site_name=site.name, network=site.networks.internal,
                     state_dir=state_root, machines=tuple(machines), pdus=pdus,
                     tunnel_interface=site.networks.tunnel_interface
                     if site.networks.tunnel else None)
