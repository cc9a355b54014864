# mypy: ignore-errors
"""verify's tenant data path check, on a compute node, as root: a stand-in for an instance on a
neutron port that proves what a real one needs, a DHCP lease and its router answering.
argv: ``up DRIVER PORT_ID MAC NETWORK_ID [SECONDS]`` or ``down DRIVER PORT_ID``; DRIVER is
openvswitch or linuxbridge, SECONDS (default 90) bounds the plugging, the DHCP exchange and the
pings together.

``up`` gives a namespace hs-vm-<PORT_ID[:8]> the port's device, with the port's MAC: for
openvswitch an internal port of br-int named as neutron names a port's device (tap +
PORT_ID[:11]) with the external ids os-vif sets, for linuxbridge a veth whose host side has
that name, put in the network's bridge once the Linux bridge agent made it (as os-vif does).
It then asks for a lease from inside the namespace and pings the router, and prints one JSON
object: address, prefix, router, server, lease_seconds (from the plugging), router_seconds
(from the lease to the first answer), pings; or "error" and what is known, with exit status
1. It leaves everything in place: the caller runs ``down``, which removes what either left
("removed" or "nothing to remove")."""

import ctypes
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
RESEND = 2.0  # DHCP's own retransmission; the agent may take a while to wire the port
COOKIE = b"\x63\x82\x53\x63"
# op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr sname file
HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
RESULT = ("address", "prefix", "router", "server", "lease_seconds", "router_seconds", "pings")
DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6
DRIVERS = ("openvswitch", "linuxbridge")


class Failed(Exception):
    pass


def dhcp_packet(kind, xid, mac, requested=None, server=None):
    """A broadcast DISCOVER or REQUEST (kind "discover" or "request") from MAC "aa:bb:..."."""
    hw = bytes.fromhex(mac.replace(":", ""))
    # BROADCAST flag: eth0 has no address yet to take a unicast answer on.
    head = HEADER.pack(1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4), bytes(4),
                       hw, b"", b"")
    options = {53: bytes([DISCOVER if kind == "discover" else REQUEST]),
               55: bytes([1, 3, 6, 28]), 61: b"\x01" + hw}
    if requested:
        options[50] = socket.inet_aton(requested)
    if server:
        options[54] = socket.inet_aton(server)
    body = b"".join(bytes([code, len(value)]) + value for code, value in options.items())
    return (head + COOKIE + body + b"\xff").ljust(300, b"\0")  # BOOTP's minimum size


def parse_dhcp(data):
    """A DHCP message's fields this client uses, or None for anything else or malformed."""
    if len(data) < HEADER.size + 4 or data[HEADER.size:HEADER.size + 4] != COOKIE:
        return None
    op, _, hlen, _, xid, _, _, _, yiaddr, _, _, chaddr, _, _ = HEADER.unpack_from(data)
    options, i, end = {}, HEADER.size + 4, len(data)
    while i < end and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        if i + 2 > end or i + 2 + data[i + 1] > end:
            return None
        options.setdefault(data[i], data[i + 2:i + 2 + data[i + 1]])
        i += 2 + data[i + 1]

    def address(code):
        value = options.get(code, b"")
        return socket.inet_ntoa(value[:4]) if len(value) >= 4 and len(value) % 4 == 0 else None

    kind, mask, lease = options.get(53, b""), options.get(1, b""), options.get(51, b"")
    if len(kind) != 1:
        return None
    return {"op": op, "type": kind[0], "xid": xid, "chaddr": chaddr[:min(hlen, 16)].hex(":"),
            "yiaddr": socket.inet_ntoa(yiaddr), "server": address(54), "router": address(3),
            "prefix": bin(int.from_bytes(mask, "big")).count("1") if len(mask) == 4 else None,
            "lease": int.from_bytes(lease, "big") if len(lease) == 4 else None}


def names(port_id):
    return "tap" + port_id[:11], "hs-vm-" + port_id[:8]


def run(*argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Failed(f"{' '.join(argv)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def down(driver, port_id):
    tap, ns = names(port_id)
    found = False
    if driver == "openvswitch":  # a Linux bridge node may have OVS installed, not running
        found = subprocess.run(["ovs-vsctl", "--timeout=30", "port-to-br", tap],
                               capture_output=True, check=False).returncode == 0
        run("ovs-vsctl", "--timeout=30", "--if-exists", "del-port", "br-int", tap)
    if os.path.exists(f"/sys/class/net/{tap}"):
        run("ip", "link", "del", tap)  # takes its peer along, wherever that is
        found = True
    if os.path.exists(f"/run/netns/{ns}"):
        run("ip", "netns", "del", ns)
        found = True
    return found


def enter(ns, device):
    # Python 3.11 has no os.setns; the socket must be made inside for eth0 to be its device.
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)
    # The answers come from a server eth0 has no route to yet: reverse path filtering (a new
    # namespace may inherit the node's setting) would drop them before the socket sees them.
    for conf in ("all", device):
        with open(f"/proc/sys/net/ipv4/conf/{conf}/rp_filter", "w") as f:
            f.write("0")


def reply_to(xid, mac, types, server=None):
    """What a reply to our message with this xid must be to be taken."""
    return lambda r: (r["op"] == 2 and r["xid"] == xid and r["chaddr"] == mac.lower()
                      and r["type"] in types and r["server"] in (None, server or r["server"]))


def ask(sock, packet, wanted, deadline, known, counter):
    """Broadcast packet every RESEND s until a reply wanted() takes comes or the deadline."""
    while time.monotonic() < deadline:
        sock.sendto(packet, ("255.255.255.255", 67))
        known[counter] = known.get(counter, 0) + 1
        resend = min(time.monotonic() + RESEND, deadline)
        while (left := resend - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                reply = parse_dhcp(sock.recv(4096))
            except TimeoutError:
                break
            if reply and wanted(reply):
                return reply
            known["ignored"] = known.get("ignored", 0) + 1
    return None


def lease(device, mac, start, deadline, known):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    sock.bind(("", 68))
    while True:  # a NAK starts over
        xid = random.getrandbits(32)
        offer = ask(sock, dhcp_packet("discover", xid, mac), reply_to(xid, mac, (OFFER,)),
                    deadline, known, "discovers")
        if offer is None:
            raise Failed(f"no DHCPOFFER for {known.get('discovers', 0)} DISCOVERs in "
                         f"{time.monotonic() - start:.0f} s")
        known["offer"] = f"{offer['yiaddr']} from {offer['server']}"
        answer = ask(sock, dhcp_packet("request", xid, mac, offer["yiaddr"], offer["server"]),
                     reply_to(xid, mac, (ACK, NAK), offer["server"]), deadline, known, "requests")
        if answer is None:
            raise Failed(f"no DHCPACK for {known.get('requests', 0)} REQUESTs (after the offer of "
                         f"{known['offer']}) in {time.monotonic() - start:.0f} s")
        if answer["type"] == ACK:
            sock.close()
            return dict(answer, server=answer["server"] or offer["server"])
        known["naks"] = known.get("naks", 0) + 1


def up(driver, port_id, mac, network_id, seconds, known):
    tap, ns = names(port_id)
    ipn = ("ip", "-n", ns)
    down(driver, port_id)
    start = time.monotonic()
    deadline = start + seconds
    run("ip", "netns", "add", ns)
    if driver == "openvswitch":
        # An OVS internal port, as the namespaces of neutron's agents have: on the netdev
        # datapath it is a tap device whose packets ovs-vswitchd reads with their checksums
        # complete (a veth read from a packet socket hands over offloaded, unfinished ones).
        run("ovs-vsctl", "--timeout=30", "--", "--may-exist", "add-port", "br-int", tap,
            "--", "set", "Interface", tap, "type=internal", f"external-ids:iface-id={port_id}",
            "external-ids:iface-status=active", f"external-ids:attached-mac={mac}")
        device = tap
        run("ip", "link", "set", tap, "netns", ns)
    else:
        device, peer = "eth0", "vm" + port_id[:8]
        run("ip", "link", "add", tap, "type", "veth", "peer", "name", peer)
        run("ip", "link", "set", peer, "netns", ns)
        run(*ipn, "link", "set", peer, "name", device)
        run("ip", "link", "set", tap, "up")
        # The Linux bridge agent makes the network's bridge once it has seen the tap; an
        # instance's tap it leaves to the hypervisor (os-vif) to put in it.
        bridge = "brq" + network_id[:11]
        while not os.path.exists(f"/sys/class/net/{bridge}"):
            if time.monotonic() >= deadline:
                raise Failed(f"the Linux bridge agent made no bridge {bridge} in {seconds:.0f} s")
            time.sleep(0.5)
        run("ip", "link", "set", tap, "master", bridge)
    run(*ipn, "link", "set", device, "address", mac)
    run(*ipn, "link", "set", "lo", "up")
    run(*ipn, "link", "set", device, "up")
    enter(ns, device)
    ack = lease(device, mac, start, deadline, known)
    prefix, router = ack["prefix"] or 32, ack["router"]
    known.update(address=ack["yiaddr"], prefix=prefix, router=router, server=ack["server"],
                 lease_seconds=round(time.monotonic() - start, 2), router_seconds=None,
                 pings=0)
    run(*ipn, "addr", "add", f"{ack['yiaddr']}/{prefix}", "dev", device)
    if router is None:
        return
    # onlink: without option 1 the address is a /32 and the router still on the link
    run(*ipn, "route", "replace", "default", "via", router, "dev", device, "onlink")
    leased = time.monotonic()
    while True:  # ARP and the router's keepalived may take a few seconds
        known["pings"] += 1
        tried = time.monotonic()
        if subprocess.run(["ping", "-c", "1", "-W", "2", router], capture_output=True,
                          check=False).returncode == 0:
            known["router_seconds"] = round(time.monotonic() - leased, 2)
            return
        if time.monotonic() >= deadline:
            raise Failed(f"router {router} did not answer {known['pings']} pings in "
                         f"{time.monotonic() - leased:.0f} s after the lease")
        time.sleep(max(0.0, tried + 1 - time.monotonic()))  # unreachable fails at once


def main(argv):
    if len(argv) == 3 and argv[0] == "down" and argv[1] in DRIVERS:
        print("removed" if down(argv[1], argv[2]) else "nothing to remove")
        return 0
    if not (5 <= len(argv) <= 6 and argv[0] == "up" and argv[1] in DRIVERS):
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    known = {}
    try:
        up(*argv[1:5], float(argv[5]) if len(argv) == 6 else 90.0, known)
    except Exception as e:
        print(json.dumps({"error": str(e) if isinstance(e, Failed) else repr(e), **known}))
        return 1
    print(json.dumps({key: known[key] for key in RESULT}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
