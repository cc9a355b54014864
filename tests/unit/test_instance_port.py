"""The stand-in instance's DHCP client (agents/instance_port.py): the messages it sends and
how it reads a server's, without a namespace or a server (those need root and a cloud)."""

from __future__ import annotations

import importlib.util
import socket
import struct
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).resolve().parents[2] / "src" / "hastack" / "agents" / "instance_port.py"
MAC = "fa:16:3e:12:34:56"
XID = 0x1234ABCD
COOKIE = b"\x63\x82\x53\x63"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("instance_port", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


agent = _load()


def _options(packet: bytes) -> dict[int, bytes]:
    assert packet[236:240] == COOKIE
    options, i = {}, 240
    while packet[i] != 255:
        if packet[i] == 0:
            i += 1
            continue
        options[packet[i]] = packet[i + 2:i + 2 + packet[i + 1]]
        i += 2 + packet[i + 1]
    return options


def _offer() -> bytes:
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, XID, 0, 0x8000,
                       bytes(4), socket.inet_aton("198.19.254.5"),
                       socket.inet_aton("198.19.254.2"), bytes(4),
                       bytes.fromhex(MAC.replace(":", "")), b"", b"")
    options = (b"\x35\x01\x02"                                   # 53: OFFER
               + b"\x00\x00"                                     # pads
               + b"\x36\x04" + socket.inet_aton("198.19.254.2")  # 54: server
               + b"\x01\x04" + socket.inet_aton("255.255.255.0")
               + b"\x00"
               + b"\x03\x04" + socket.inet_aton("198.19.254.1")  # 3: router
               + b"\x33\x04" + struct.pack("!I", 86400)          # 51: lease time
               + b"\xff")
    return head + COOKIE + options + bytes(20)


def test_a_discover_is_broadcast_from_the_ports_mac() -> None:
    packet = agent.dhcp_packet("discover", XID, MAC)
    op, htype, hlen, _, xid, _, flags = struct.unpack_from("!BBBBIHH", packet)
    assert (op, htype, hlen, xid) == (1, 1, 6, XID)
    assert flags & 0x8000
    assert packet[28:34] == bytes.fromhex("fa163e123456")
    options = _options(packet)
    assert options[53] == b"\x01"
    assert set(options[55]) >= {1, 3}
    assert options[61] == b"\x01" + bytes.fromhex("fa163e123456")
    assert 50 not in options and 54 not in options


def test_a_request_names_the_offered_address_and_the_server() -> None:
    options = _options(agent.dhcp_packet("request", XID, MAC, "198.19.254.5", "198.19.254.2"))
    assert options[53] == b"\x03"
    assert options[50] == socket.inet_aton("198.19.254.5")
    assert options[54] == socket.inet_aton("198.19.254.2")


def test_an_offer_is_read_through_pads() -> None:
    offer = agent.parse_dhcp(_offer())
    assert offer is not None
    assert offer["op"] == 2 and offer["type"] == 2 and offer["xid"] == XID
    assert offer["chaddr"] == MAC and offer["yiaddr"] == "198.19.254.5"
    assert offer["server"] == "198.19.254.2" and offer["router"] == "198.19.254.1"
    assert offer["prefix"] == 24 and offer["lease"] == 86400


@pytest.mark.parametrize("data", [
    b"", b"\x02" * 100, bytes(300),                        # short; no magic cookie
    _offer()[:240] + b"\x35\x01\x02\x36\x04\xc6",          # an option cut short
    _offer()[:240] + b"\x36\x04" + bytes(4) + b"\xff",     # no message type: BOOTP
], ids=["empty", "short", "no-cookie", "truncated", "no-type"])
def test_anything_else_is_not_a_reply(data: bytes) -> None:
    assert agent.parse_dhcp(data) is None
