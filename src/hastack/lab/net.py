"""The lab network: a bridge inside a switch namespace, one veth per machine, BMC addresses.

The root namespace never gets an interface on the lab network, so lab traffic cannot leave
the namespaces hastack creates. Partitions are nftables bridge rules in the switch.
"""

from __future__ import annotations

from collections.abc import Sequence

from hastack.lab.layout import (
    BRIDGE,
    MACHINE_IF,
    SWITCH_NETNS,
    TUNNEL_BRIDGE,
    LabLayout,
    MachineSpec,
)
from hastack.process import run

NFT_TABLE = "hastack"
# Dead BMCs and PDUs: every request to them dropped as it reaches the switch namespace, as if
# the device had lost power. Not the partition table: `lab heal` must not revive a BMC.
DEAD_TABLE = "hastack_dead"


def netns_exists(name: str) -> bool:
    out = run(["ip", "netns", "list"]).stdout
    return any(line.split()[0] == name for line in out.splitlines() if line.strip())


def in_switch(*argv: str) -> list[str]:
    return ["ip", "netns", "exec", SWITCH_NETNS, *argv]


def create_switch(layout: LabLayout) -> None:
    """The switch namespace, its bridge, and every BMC and PDU address on the bridge."""
    if not netns_exists(SWITCH_NETNS):
        run(["ip", "netns", "add", SWITCH_NETNS])
    run(["ip", "-n", SWITCH_NETNS, "link", "set", "lo", "up"])
    links = run(["ip", "-n", SWITCH_NETNS, "-o", "link", "show"]).stdout
    for bridge in (BRIDGE, *([TUNNEL_BRIDGE] if layout.tunnel_interface else [])):
        if f" {bridge}:" not in links:
            run(["ip", "-n", SWITCH_NETNS, "link", "add", bridge, "type", "bridge"])
        run(["ip", "-n", SWITCH_NETNS, "link", "set", bridge, "up"])
    have = run(["ip", "-n", SWITCH_NETNS, "-o", "addr", "show", "dev", BRIDGE]).stdout
    prefix = layout.network.prefixlen
    addresses = [m.bmc_address for m in layout.machines if m.bmc_address is not None]
    addresses += [p.address for p in layout.pdus]
    for address in addresses:
        if f" {address}/" not in have:
            run(["ip", "-n", SWITCH_NETNS, "addr", "add", f"{address}/{prefix}", "dev", BRIDGE])


def switch_ports() -> set[str]:
    """The machines' ports on the lab's switch (veth names, without their peer)."""
    shown = run(["ip", "-n", SWITCH_NETNS, "-o", "link", "show"]).stdout
    return {line.split(": ")[1].split("@")[0] for line in shown.splitlines() if ": " in line}


def attach_machine(layout: LabLayout, machine: MachineSpec, sysctls: dict[str, str]) -> None:
    """The machine's namespace, its veth to the bridge (and one to the tunnel network's),
    its address and kernel settings."""
    if not netns_exists(machine.netns):
        run(["ip", "netns", "add", machine.netns])
    run(["ip", "-n", machine.netns, "link", "set", "lo", "up"])
    ports = run(["ip", "-n", SWITCH_NETNS, "-o", "link", "show"]).stdout
    links = [(machine.switch_port, MACHINE_IF, BRIDGE)]
    if layout.tunnel_interface:
        links.append((machine.tunnel_port, layout.tunnel_interface, TUNNEL_BRIDGE))
    for port, interface, bridge in links:
        if f" {port}@" not in ports:
            run(["ip", "-n", SWITCH_NETNS, "link", "add", port, "type", "veth",
                 "peer", "name", interface, "netns", machine.netns])
            run(["ip", "-n", SWITCH_NETNS, "link", "set", port, "master", bridge])
        run(["ip", "-n", SWITCH_NETNS, "link", "set", port, "up"])
    have = run(["ip", "-n", machine.netns, "-o", "addr", "show", "dev", MACHINE_IF]).stdout
    if f" {machine.address}/" not in have:
        run(["ip", "-n", machine.netns, "addr", "add",
             f"{machine.address}/{layout.network.prefixlen}", "dev", MACHINE_IF])
    run(["ip", "-n", machine.netns, "link", "set", MACHINE_IF, "up"])
    # The machine's /proc/sys is read-only inside nspawn: per-netns sysctls are set from here.
    for key, value in sysctls.items():
        run(["ip", "netns", "exec", machine.netns, "sysctl", "-q", "-w", f"{key}={value}"])


def set_link(machine: MachineSpec, up: bool) -> None:
    """Cable in or out: the switch port goes down, the machine sees no carrier."""
    run(["ip", "-n", SWITCH_NETNS, "link", "set", machine.switch_port, "up" if up else "down"])


def drop_runtime_addresses(machine: MachineSpec) -> list[str]:
    """What a power loss erases: every address the machine added at runtime (VIPs that
    IPaddr2 put on its interface) goes; its own address stays. The namespace outlives the
    machine, so without this a rebooted node would come back still holding a VIP."""
    shown = run(["ip", "-n", machine.netns, "-o", "-4", "addr", "show", "dev", MACHINE_IF],
                check=False).stdout
    dropped = []
    for line in shown.splitlines():
        parts = line.split()
        cidr = parts[parts.index("inet") + 1] if "inet" in parts else ""
        if cidr and cidr.split("/")[0] != str(machine.address):
            run(["ip", "-n", machine.netns, "addr", "del", cidr, "dev", MACHINE_IF])
            dropped.append(cidr)
    return dropped


def link_is_up(machine: MachineSpec) -> bool:
    out = run(["ip", "-n", SWITCH_NETNS, "-o", "link", "show", machine.switch_port],
              check=False).stdout
    return "state UP" in out or ",UP," in out.split(">")[0]


def partition(groups: Sequence[Sequence[MachineSpec]]) -> None:
    """Drop every frame between machines of different groups (both ways), in the switch."""
    heal()
    lines = [f"table bridge {NFT_TABLE} {{", "  chain forward {",
             "    type filter hook forward priority 0; policy accept;"]
    for i, group in enumerate(groups):
        for other in groups[i + 1:]:
            for a in group:
                for b in other:
                    lines.append(f'    iifname "{a.switch_port}" oifname "{b.switch_port}" drop')
                    lines.append(f'    iifname "{b.switch_port}" oifname "{a.switch_port}" drop')
    lines += ["  }", "}"]
    run(in_switch("nft", "-f", "-"), stdin="\n".join(lines) + "\n")


def heal() -> None:
    tables = run(in_switch("nft", "list", "tables"), check=False).stdout
    if f"table bridge {NFT_TABLE}" in tables:
        run(in_switch("nft", "delete", "table", "bridge", NFT_TABLE))


def set_answering(address: str, answering: bool, netns: str = SWITCH_NETNS) -> None:
    """A BMC or PDU stops (or starts again) answering: its requests are dropped on arrival."""
    ns = ["ip", "netns", "exec", netns]
    if not answering:
        script = f"add element inet {DEAD_TABLE} dead {{ {address} }}\n"
        if not run([*ns, "nft", "list", "table", "inet", DEAD_TABLE], check=False).ok:
            script = (f"table inet {DEAD_TABLE} {{\n"
                      "  set dead { type ipv4_addr; }\n"
                      "  chain input { type filter hook input priority 0; policy accept;\n"
                      "    ip daddr @dead drop; }\n"
                      "}\n") + script
        run([*ns, "nft", "-f", "-"], stdin=script)
    elif address in dead_addresses(netns):
        run([*ns, "nft", "delete", "element", "inet", DEAD_TABLE, "dead", f"{{ {address} }}"])


def dead_addresses(netns: str = SWITCH_NETNS) -> set[str]:
    listed = run(["ip", "netns", "exec", netns, "nft", "list", "set", "inet", DEAD_TABLE,
                  "dead"], check=False)
    if not listed.ok or "elements" not in listed.stdout:
        return set()
    inside = listed.stdout.split("elements", 1)[1].split("{", 1)[1].split("}", 1)[0]
    return {a.strip() for a in inside.split(",") if a.strip()}


def delete_machine_net(machine: MachineSpec) -> None:
    if netns_exists(machine.netns):
        run(["ip", "netns", "delete", machine.netns])


def delete_switch() -> None:
    if netns_exists(SWITCH_NETNS):
        run(["ip", "netns", "delete", SWITCH_NETNS])
