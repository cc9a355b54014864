"""A lab network power switch (PDU): an APC rack PDU's SNMP agent, served over UDP.

Each lab PDU is its own process inside the switch namespace, bound to the PDU's address, so
the real ``fence_apc_snmp`` in any machine fences any other through its outlet, over the
same path as a real APC PDU: net-snmp's snmpget/snmpset/snmpwalk against the PowerNet MIB.
A BMC often dies with its node's power supply; the PDU sits upstream of that supply, which
is why it is the second fencing level (docs/architecture.md, fencing levels).

What ``fence_apc_snmp`` (fence-agents 4.12) reads and writes, and so all this agent serves:
``sysObjectID.0`` (it picks the device class from it: ``.1.3.6.1.4.1.318.1.3.4.5`` is an APC
rPDU), the outlet names ``rPDUOutletStatusOutletName.N`` (walked for ``list`` and for
outlets given by name), ``rPDUOutletStatusOutletState.N`` (1 on, 2 off) and
``rPDUOutletControlOutletCommand.N`` (set 1 on, 2 off, 3 reboot). Messages: SNMPv3 with USM
authNoPriv (HMAC-SHA-96, RFC 3414), which hastack's devices use so that the secret reaches
the agent through ``password_script`` and never sits in the CIB; SNMPv1/v2c with a community
too, for a quick ``snmpget`` by hand. GET, GETNEXT, GETBULK and SET; a small BER codec.

Run as ``python -m hastack.lab.pdu STATE_ROOT SITE PDU`` (``lab up`` starts it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

Oid = tuple[int, ...]
SNMP_PORT = 161

# BER tags (X.690) and SNMP's application and context tags (RFC 3416).
INTEGER, OCTETS, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
COUNTER32, TIMETICKS = 0x41, 0x43
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB = 0x80, 0x81, 0x82
GET, GETNEXT, RESPONSE, SET, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA8
# error-status values
NO_SUCH_NAME, BAD_VALUE, GEN_ERR, WRONG_VALUE, NOT_WRITABLE = 2, 3, 5, 10, 17

# The APC PowerNet MIB, as fence_apc_snmp's ApcRPDU class names it.
SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
APC_RPDU: Oid = (1, 3, 6, 1, 4, 1, 318, 1, 3, 4, 5)
OUTLET_CONTROL: Oid = (1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 3, 1, 1, 4)
OUTLET_NAME: Oid = (1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 5, 1, 1, 2)
OUTLET_STATE: Oid = (1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 5, 1, 1, 4)
STATE_ON, STATE_OFF = 1, 2
COMMAND_ON, COMMAND_OFF, COMMAND_REBOOT = 1, 2, 3

# USM statistics (RFC 3414 5), sent back as reports.
USM_STATS: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS, UNKNOWN_USER, UNKNOWN_ENGINE_ID, WRONG_DIGEST = 1, 3, 4, 5
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
AUTH_LEN = 12  # HMAC-SHA-96
USM_MODEL = 3
MAX_MESSAGE = 65507
# net-snmp's enterprise number, text format (RFC 3411 SnmpEngineID): any stable ID will do.
ENGINE_PREFIX = b"\x80\x00\x1f\x88\x04"


class BerError(ValueError):
    """A datagram that is not the SNMP this agent speaks: dropped, as real agents do."""


# --- BER codec --------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def enc_int(n: int, tag: int = INTEGER) -> bytes:
    size = max(1, (n.bit_length() + 8) // 8)  # room for the sign bit (BER, even unsigned)
    return tlv(tag, n.to_bytes(size, "big", signed=tag == INTEGER))


def enc_octets(value: bytes | str) -> bytes:
    return tlv(OCTETS, value.encode() if isinstance(value, str) else value)


def enc_oid(oid: Oid) -> bytes:
    if len(oid) < 2:
        raise BerError("an OID has at least two arcs")
    out = bytearray([40 * oid[0] + oid[1]])
    for arc in oid[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(OID, bytes(out))


def seq(*parts: bytes, tag: int = SEQUENCE) -> bytes:
    return tlv(tag, b"".join(parts))


@dataclass(frozen=True)
class Tlv:
    """One decoded element: its tag and where its value lies in the datagram."""

    tag: int
    start: int
    end: int
    data: bytes

    @property
    def value(self) -> bytes:
        return self.data[self.start:self.end]

    def children(self) -> list[Tlv]:
        out, pos = [], self.start
        while pos < self.end:
            item = read_tlv(self.data, pos, self.end)
            out.append(item)
            pos = item.end
        return out

    def integer(self) -> int:
        if self.tag not in (INTEGER, COUNTER32, TIMETICKS) or not self.value:
            raise BerError(f"expected an integer, got tag {self.tag:#x}")
        return int.from_bytes(self.value, "big", signed=self.tag == INTEGER)

    def oid(self) -> Oid:
        if self.tag != OID or not self.value:
            raise BerError("expected an OID")
        first, arcs, arc = self.value[0], [], 0
        arcs = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
        for byte in self.value[1:]:
            arc = (arc << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(arc)
                arc = 0
        return tuple(arcs)


def read_tlv(data: bytes, pos: int, limit: int | None = None) -> Tlv:
    limit = len(data) if limit is None else limit
    if pos + 2 > limit:
        raise BerError("truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > limit:
            raise BerError("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > limit:
        raise BerError("truncated value")
    return Tlv(tag, pos, pos + length, data)


# --- the outlets and the MIB ------------------------------------------------------------


class Outlet(Protocol):
    """What an outlet switches: a lab machine (through the BMC's own power functions) or,
    in tests, a fake."""

    def is_on(self) -> bool: ...

    def power_off(self) -> object: ...

    def power_on(self) -> object: ...


@dataclass
class LoneOutlet:
    """An outlet with nothing plugged in: it keeps the state it was last switched to."""

    on: bool = True

    def is_on(self) -> bool:
        return self.on

    def power_off(self) -> object:
        self.on = False
        return None

    def power_on(self) -> object:
        self.on = True
        return None


@dataclass
class Mib:
    """The PDU's objects: system group and the rPDU outlet tables. Switching runs on one
    worker per outlet, so a SET is answered at once as a PDU's relay is, and the agent polls
    the outlet's state until it reads the new one (fence_apc_snmp does)."""

    outlets: Mapping[int, Outlet]
    names: Mapping[int, str]
    description: str = "hastack lab PDU (APC rPDU, PowerNet MIB)"
    started: float = field(default_factory=time.monotonic)
    _workers: dict[int, ThreadPoolExecutor] = field(default_factory=dict)

    def _scalars(self) -> dict[Oid, bytes]:
        ticks = int((time.monotonic() - self.started) * 100) & 0xFFFFFFFF
        return {SYS_DESCR: enc_octets(self.description), SYS_OBJECT_ID: enc_oid(APC_RPDU),
                SYS_UPTIME: enc_int(ticks, TIMETICKS)}

    def _state(self, n: int) -> bytes:
        return enc_int(STATE_ON if self.outlets[n].is_on() else STATE_OFF)

    def get(self, oid: Oid) -> bytes | None:
        scalars = self._scalars()
        if oid in scalars:
            return scalars[oid]
        table, index = oid[:-1], oid[-1] if oid else -1
        if index not in self.outlets:
            return None
        if table in (OUTLET_STATE, OUTLET_CONTROL):
            return self._state(index)
        if table == OUTLET_NAME:
            return enc_octets(self.names.get(index, f"Outlet {index}"))
        return None

    def _all_oids(self) -> list[Oid]:
        oids = list(self._scalars())
        for table in (OUTLET_CONTROL, OUTLET_NAME, OUTLET_STATE):
            oids += [(*table, n) for n in self.outlets]
        return sorted(oids)

    def next(self, oid: Oid) -> tuple[Oid, bytes] | None:
        for candidate in self._all_oids():
            if candidate > oid:
                value = self.get(candidate)
                assert value is not None
                return candidate, value
        return None

    def check_set(self, oid: Oid, value: Tlv) -> int:
        """0 when the SET can be done, else its error-status (v2c numbering)."""
        if oid[:-1] != OUTLET_CONTROL or oid[-1] not in self.outlets:
            return NOT_WRITABLE
        if value.tag != INTEGER or value.integer() not in (COMMAND_ON, COMMAND_OFF,
                                                           COMMAND_REBOOT):
            return WRONG_VALUE
        return 0

    def set(self, oid: Oid, value: Tlv) -> None:
        n, command = oid[-1], value.integer()
        outlet = self.outlets[n]
        worker = self._workers.setdefault(n, ThreadPoolExecutor(1, f"outlet{n}"))
        log.info("pdu outlet=%d command=%s", n,
                 {COMMAND_ON: "on", COMMAND_OFF: "off", COMMAND_REBOOT: "reboot"}[command])
        if command in (COMMAND_OFF, COMMAND_REBOOT):
            worker.submit(_logged, outlet.power_off, n)
        if command in (COMMAND_ON, COMMAND_REBOOT):
            worker.submit(_logged, outlet.power_on, n)


    def close(self) -> None:
        """Wait for every switching under way (tests)."""
        for worker in self._workers.values():
            worker.shutdown(wait=True)
        self._workers.clear()


def _logged(action: Callable[[], object], n: int) -> None:
    try:
        action()
    except Exception:
        log.exception("pdu outlet=%d switching failed", n)


# --- PDUs and messages ------------------------------------------------------------------


@dataclass(frozen=True)
class Pdu:
    request_id: int
    kind: int
    error: int  # GETBULK: non-repeaters
    index: int  # GETBULK: max-repetitions
    bindings: tuple[tuple[Oid, Tlv], ...]


def parse_pdu(item: Tlv, kinds: tuple[int, ...] = (GET, GETNEXT, SET, GETBULK)) -> Pdu:
    if item.tag not in kinds:
        raise BerError(f"PDU {item.tag:#x} is not one of those expected here")
    reqid, err, idx, binds = item.children()[:4]
    bindings = []
    for bind in binds.children():
        oid, value = bind.children()[:2]
        bindings.append((oid.oid(), value))
    return Pdu(reqid.integer(), item.tag, err.integer(), idx.integer(), tuple(bindings))


def enc_pdu(tag: int, request_id: int, error: int, index: int,
            bindings: list[tuple[Oid, bytes]]) -> bytes:
    binds = seq(*(seq(enc_oid(o), v) for o, v in bindings))
    return seq(enc_int(request_id), enc_int(error), enc_int(index), binds, tag=tag)


def answer(mib: Mib, pdu: Pdu, *, v1: bool) -> bytes:
    """The response PDU to one request."""
    out: list[tuple[Oid, bytes]] = []
    raw = [(oid, tlv(v.tag, v.value)) for oid, v in pdu.bindings]

    def error(status: int, at: int) -> bytes:
        if v1:  # SNMPv1 knows only noSuchName and badValue for these
            status = NO_SUCH_NAME if status == NOT_WRITABLE else \
                BAD_VALUE if status == WRONG_VALUE else status
        return enc_pdu(RESPONSE, pdu.request_id, status, at, raw)

    if pdu.kind == SET:
        for i, (oid, value) in enumerate(pdu.bindings, start=1):
            status = mib.check_set(oid, value)
            if status:
                return error(status, i)
        for oid, value in pdu.bindings:
            mib.set(oid, value)
        return enc_pdu(RESPONSE, pdu.request_id, 0, 0, raw)
    if pdu.kind == GETBULK:
        if v1:
            raise BerError("GETBULK is not SNMPv1")
        fixed, repeat = pdu.bindings[:max(pdu.error, 0)], pdu.bindings[max(pdu.error, 0):]
        for oid, _ in fixed:
            found = mib.next(oid)
            out.append(found if found else (oid, tlv(END_OF_MIB, b"")))
        cursors = [oid for oid, _ in repeat]
        for _ in range(min(max(pdu.index, 0), 50)):
            if not cursors:
                break
            for i, oid in enumerate(cursors):
                found = mib.next(oid)
                out.append(found if found else (oid, tlv(END_OF_MIB, b"")))
                cursors[i] = found[0] if found else oid
        return enc_pdu(RESPONSE, pdu.request_id, 0, 0, out)
    for i, (oid, _) in enumerate(pdu.bindings, start=1):
        if pdu.kind == GET:
            got = mib.get(oid)
            if got is None:
                if v1:
                    return error(NO_SUCH_NAME, i)
                got = tlv(NO_SUCH_OBJECT, b"")
            out.append((oid, got))
        else:
            found = mib.next(oid)
            if found is None:
                if v1:
                    return error(NO_SUCH_NAME, i)
                found = (oid, tlv(END_OF_MIB, b""))
            out.append(found)
    return enc_pdu(RESPONSE, pdu.request_id, 0, 0, out)


def localized_key(password: str, engine_id: bytes) -> bytes:
    """RFC 3414 A.2.2: the password stretched to 1 MiB and hashed, then bound to the
    engine (SHA-1)."""
    pw = password.encode()
    if not pw:
        raise ValueError("an SNMPv3 password cannot be empty")
    stretched = (pw * (1048576 // len(pw) + 1))[:1048576]
    ku = hashlib.sha1(stretched).digest()
    return hashlib.sha1(ku + engine_id + ku).digest()


@dataclass
class Agent:
    """Decodes a datagram, checks who sent it, answers it (or drops it)."""

    mib: Mib
    users: Mapping[str, str]  # SNMPv3 user -> authentication password (SHA)
    community: str | None = None  # SNMPv1/v2c, when set
    engine_id: bytes = ENGINE_PREFIX + b"hastack-pdu"
    boots: int = 1
    started: float = field(default_factory=time.monotonic)
    stats: dict[int, int] = field(default_factory=dict)
    _keys: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._keys = {u: localized_key(p, self.engine_id) for u, p in self.users.items()}

    def handle(self, data: bytes) -> bytes | None:
        try:
            message = read_tlv(data, 0)
            if message.tag != SEQUENCE:
                raise BerError("not a SEQUENCE")
            parts = message.children()
            version = parts[0].integer()
            if version in (0, 1):
                return self._community(parts, v1=version == 0)
            if version == 3:
                return self._usm(data, parts)
        except (BerError, IndexError, ValueError) as exc:
            log.debug("pdu dropped a datagram: %s", exc)
        return None

    def _community(self, parts: list[Tlv], *, v1: bool) -> bytes | None:
        if self.community is None or parts[1].value != self.community.encode():
            return None  # real agents drop a bad community silently
        response = answer(self.mib, parse_pdu(parts[2]), v1=v1)
        return seq(enc_int(0 if v1 else 1), enc_octets(self.community), response)

    def _usm(self, data: bytes, parts: list[Tlv]) -> bytes | None:
        header, secparams, scoped = parts[1], parts[2], parts[3]
        msg_id, _max, flags_item, model = header.children()[:4]
        flags = flags_item.value[0] if flags_item.value else 0
        if model.integer() != USM_MODEL:
            return None
        engine, _boots, _time, user_item, auth, _priv = read_tlv(
            data, secparams.start, secparams.end).children()[:6]
        user = user_item.value.decode(errors="replace")
        reply = _V3Reply(self, msg_id.integer(), user_item.value)
        if flags & FLAG_PRIV or scoped.tag != SEQUENCE:
            return reply.report(UNSUPPORTED_SEC_LEVELS, _request_id(scoped))
        request_id = _request_id(scoped)
        if engine.value != self.engine_id:
            return reply.report(UNKNOWN_ENGINE_ID, request_id)  # discovery (RFC 3414 4)
        if user not in self._keys:
            return reply.report(UNKNOWN_USER, request_id)
        if not flags & FLAG_AUTH:
            return reply.report(UNSUPPORTED_SEC_LEVELS, request_id)
        if len(auth.value) != AUTH_LEN:
            return reply.report(WRONG_DIGEST, request_id)
        zeroed = data[:auth.start] + bytes(AUTH_LEN) + data[auth.end:]
        expected = hmac.new(self._keys[user], zeroed, hashlib.sha1).digest()[:AUTH_LEN]
        if not hmac.compare_digest(expected, auth.value):
            return reply.report(WRONG_DIGEST, request_id)
        # A lab agent skips the time window check (RFC 3414 3.2.7): it guards replays on a
        # network the lab does not have.
        context = scoped.children()
        response = answer(self.mib, parse_pdu(context[2]), v1=False)
        return reply.signed(self._keys[user], context[1].value, response)

    def count(self, stat: int) -> int:
        self.stats[stat] = self.stats.get(stat, 0) + 1
        return self.stats[stat]

    @property
    def engine_time(self) -> int:
        return int(time.monotonic() - self.started)


def _request_id(scoped: Tlv) -> int:
    try:
        return parse_pdu(scoped.children()[2]).request_id
    except (BerError, IndexError):
        return 0


@dataclass(frozen=True)
class _V3Reply:
    agent: Agent
    msg_id: int
    user: bytes

    def _message(self, flags: int, auth: bytes, context_name: bytes, pdu: bytes) -> bytes:
        a = self.agent
        usm = seq(enc_octets(a.engine_id), enc_int(a.boots), enc_int(a.engine_time),
                  enc_octets(self.user), enc_octets(auth), enc_octets(b""))
        header = seq(enc_int(self.msg_id), enc_int(MAX_MESSAGE), enc_octets(bytes([flags])),
                     enc_int(USM_MODEL))
        scoped = seq(enc_octets(a.engine_id), enc_octets(context_name), pdu)
        return seq(enc_int(3), header, enc_octets(usm), scoped)

    def report(self, stat: int, request_id: int) -> bytes:
        count = self.agent.count(stat)
        pdu = enc_pdu(REPORT, request_id, 0, 0,
                      [((*USM_STATS, stat, 0), enc_int(count, COUNTER32))])
        return self._message(0, b"", b"", pdu)

    def signed(self, key: bytes, context_name: bytes, pdu: bytes) -> bytes:
        placeholder = b"\xa5" * AUTH_LEN  # unique in the message; replaced by the digest
        unsigned = self._message(FLAG_AUTH, bytes(AUTH_LEN), context_name, pdu)
        at = self._message(FLAG_AUTH, placeholder, context_name, pdu).index(placeholder)
        digest = hmac.new(key, unsigned, hashlib.sha1).digest()[:AUTH_LEN]
        return unsigned[:at] + digest + unsigned[at + AUTH_LEN:]


def serve(agent: Agent, address: str, port: int = SNMP_PORT,
          stop: threading.Event | None = None) -> None:
    """Answer SNMP on ``address:port`` until killed (or ``stop`` is set)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, port))
        sock.settimeout(0.5)
        log.info("pdu serving address=%s port=%d outlets=%s", address, port,
                 ",".join(str(n) for n in agent.mib.outlets))
        while stop is None or not stop.is_set():
            try:
                data, peer = sock.recvfrom(MAX_MESSAGE)
            except TimeoutError:
                continue
            reply = agent.handle(data)
            if reply is not None:
                sock.sendto(reply, peer)


# --- the lab's PDU process --------------------------------------------------------------


def lab_mib(outlets: Mapping[int, tuple[str, Outlet]], size: int = 8) -> Mib:
    """``size`` outlets (or as many as the highest used), each named for what it powers."""
    count = max([size, *outlets])
    return Mib(outlets={n: outlets[n][1] if n in outlets else LoneOutlet()
                        for n in range(1, count + 1)},
               names={n: name for n, (name, _) in outlets.items()})


def main(argv: list[str]) -> None:
    """``python -m hastack.lab.pdu STATE_ROOT SITE PDU``: serve the lab PDU until killed."""
    from hastack import catalog
    from hastack.lab.bmc import LabBmc
    from hastack.lab.control import pdu_credentials
    from hastack.lab.layout import lab_layout
    from hastack.site.load import load_site

    state_root, site_path, name = Path(argv[1]), Path(argv[2]), argv[3]
    loaded = load_site(site_path, catalog.SERVICES)  # clusters may name services
    layout = lab_layout(loaded.site, state_root)
    spec = loaded.site.pdus[name]
    log_dir = layout.state_dir / "pdus"
    log_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=str(log_dir / f"{name}.log"), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    # Each outlet switches its machine through the BMC's own power functions (link, PID 1,
    # runtime addresses, POST), so a node powered by either path behaves the same.
    outlets: dict[int, tuple[str, Outlet]] = {}
    for node in loaded.site.nodes:
        if node.fencing and node.fencing.pdu and node.fencing.pdu.name == name:
            outlets[node.fencing.pdu.outlet] = (node.name, _MachineOutlet(
                LabBmc(layout.machine(node.name))))
    user, password = pdu_credentials(loaded, name)
    agent = Agent(mib=lab_mib(outlets), users={user: password},
                  engine_id=ENGINE_PREFIX + f"hastack-{name}".encode())
    serve(agent, str(spec.address), spec.port or SNMP_PORT)


class PowerControl(Protocol):
    """A lab BMC's power functions (hastack.lab.bmc.LabBmc)."""

    def get_power_state(self) -> str: ...

    def power_off(self) -> int: ...

    def power_on(self) -> int: ...


@dataclass(frozen=True)
class _MachineOutlet:
    bmc: PowerControl

    def is_on(self) -> bool:
        return self.bmc.get_power_state() == "on"

    def power_off(self) -> object:
        return self.bmc.power_off()

    def power_on(self) -> object:
        return self.bmc.power_on()


if __name__ == "__main__":
    main(sys.argv)
