"""The lab PDU's pure parts: BER round trips, RFC 3414's key localization test vector, and
the agent's answers to requests built by hand (no socket)."""

from __future__ import annotations

from hastack.lab import pdu


def test_oid_round_trip() -> None:
    for oid in (pdu.APC_RPDU, (*pdu.OUTLET_CONTROL, 300), (1, 3, 6, 1, 4, 1, 8072, 2**31)):
        assert pdu.read_tlv(pdu.enc_oid(oid), 0).oid() == oid


def test_integer_round_trip() -> None:
    for n in (0, 1, 127, 128, 255, 256, -1, -129, 2**31 - 1):
        assert pdu.read_tlv(pdu.enc_int(n), 0).integer() == n
    assert pdu.read_tlv(pdu.enc_int(2**32 - 1, pdu.COUNTER32), 0).integer() == 2**32 - 1


def test_localized_key_matches_rfc3414() -> None:
    # RFC 3414 A.3.2: "maplesyrup", engine 00..02, SHA.
    key = pdu.localized_key("maplesyrup", bytes(11) + b"\x02")
    assert key.hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def outlet_request(kind: int, oid: pdu.Oid, value: bytes = pdu.tlv(pdu.NULL, b"")) -> bytes:
    request = pdu.seq(pdu.enc_int(7), pdu.enc_int(0), pdu.enc_int(0),
                      pdu.seq(pdu.seq(pdu.enc_oid(oid), value)), tag=kind)
    return pdu.seq(pdu.enc_int(1), pdu.enc_octets("public"), request)


def bindings(reply: bytes) -> tuple[int, list[tuple[pdu.Oid, pdu.Tlv]]]:
    message = pdu.read_tlv(reply, 0).children()
    response = pdu.parse_pdu(message[2], (pdu.RESPONSE,))
    return response.error, list(response.bindings)


def test_set_switches_the_outlet_and_get_reads_it() -> None:
    outlet = pdu.LoneOutlet()
    agent = pdu.Agent(mib=pdu.lab_mib({3: ("ctl3", outlet)}), users={}, community="public")
    state = (*pdu.OUTLET_STATE, 3)
    error, got = bindings(agent.handle(outlet_request(pdu.GET, state)) or b"")
    assert error == 0 and got[0][1].integer() == pdu.STATE_ON
    off = outlet_request(pdu.SET, (*pdu.OUTLET_CONTROL, 3), pdu.enc_int(pdu.COMMAND_OFF))
    assert bindings(agent.handle(off) or b"")[0] == 0
    agent.mib.close()
    assert not outlet.on


def test_refusals() -> None:
    agent = pdu.Agent(mib=pdu.lab_mib({}), users={}, community="public")
    bad = outlet_request(pdu.SET, pdu.SYS_DESCR, pdu.enc_octets("x"))
    assert bindings(agent.handle(bad) or b"")[0] == pdu.NOT_WRITABLE
    assert agent.handle(b"\x30\x03\x02\x01\x01") is None  # truncated: dropped
    wrong = outlet_request(pdu.GET, pdu.SYS_DESCR).replace(b"public", b"privat")
    assert agent.handle(wrong) is None  # bad community: dropped, as real agents do
