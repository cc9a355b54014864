"""The lab PDU against the real fence agent: Debian's fence_apc_snmp (net-snmp's tools over
UDP) switches outlets of hastack's SNMP agent, in a network namespace this test creates.

A fake machine stands behind each outlet and records every power change, so what the agent
reported is checked against what was switched. Also: a BMC made dead (`lab bmc dead`) stops
answering, and answers again once alive. Needs root (namespaces) and the `snmp` package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hastack.lab import net

pytestmark = pytest.mark.tool
ROOT = Path(__file__).resolve().parents[2]
NETNS = f"hsf-pdu-{os.getpid()}"
PDU = "198.19.250.10"
FAKE_BMC = "198.19.250.11"  # an SNMP agent on the IPMI port: only reachability is tested
PASSWORD = "lab-pdu-password-1"

# The agent, inside the namespace: outlet 1 powers "ctl1", outlet 2 "ctl2" (off); every
# switch of a fake machine is appended to EVENTS.
SERVER = """
import sys, threading, time
from hastack.lab import pdu
events = open(sys.argv[1], "a", buffering=1)

class Machine:
    def __init__(self, name, on):
        self.name, self.on = name, on
    def is_on(self):
        return self.on
    def power_off(self):
        time.sleep(0.3)  # a machine takes a moment to die
        self.on = False
        events.write(f"{self.name} off\\n")
    def power_on(self):
        self.on = True
        events.write(f"{self.name} on\\n")

mib = pdu.lab_mib({1: ("ctl1", Machine("ctl1", True)), 2: ("ctl2", Machine("ctl2", False))})
agent = pdu.Agent(mib=mib, users={"hastack": sys.argv[2]}, community="public")
threading.Thread(target=pdu.serve, args=(agent, sys.argv[4], 623), daemon=True).start()
pdu.serve(agent, sys.argv[3])
"""


def need(path: str) -> None:
    if not Path(path).exists():
        pytest.skip(f"{path} is not installed (make test installs it)")


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root: the agent runs in a network namespace of its own")
    need("/usr/sbin/fence_apc_snmp")
    need("/usr/bin/snmpget")
    events = tmp_path_factory.mktemp("pdu") / "events"
    events.touch()
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    proc = None
    try:
        subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
        for address in (PDU, FAKE_BMC):
            subprocess.run(["ip", "-n", NETNS, "addr", "add", f"{address}/32", "dev", "lo"],
                           check=True)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", NETNS, sys.executable, "-c", SERVER, str(events), PASSWORD,
             PDU, FAKE_BMC], env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        deadline = time.monotonic() + 20
        while snmp_status(1).returncode != 0:
            assert proc.poll() is None, "the PDU agent exited"
            assert time.monotonic() < deadline, "the PDU agent did not answer within 20 s"
            time.sleep(0.2)
        yield events
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "delete", NETNS], check=False)


def fence(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    """fence_apc_snmp as hastack's devices configure it (SNMPv3 authNoPriv, SHA), the
    password given on stdin as Pacemaker passes parameters."""
    stdin = "".join(f"{k}={v}\n" for k, v in (
        ("ip", PDU), ("snmp_version", "3"), ("snmp_sec_level", "authNoPriv"),
        ("snmp_auth_prot", "SHA"), ("username", "hastack"), ("password", password),
        ("power_timeout", "10"), *(a.split("=", 1) for a in args)))
    return subprocess.run(["ip", "netns", "exec", NETNS, "/usr/sbin/fence_apc_snmp"],
                          input=stdin, capture_output=True, text=True, timeout=120)


def snmp_status(outlet: int, address: str = PDU, port: int = 161,
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", NETNS, "snmpget", "-m", "", "-Oqv", "-v2c", "-c", "public",
         "-r", "0", "-t", "1", f"{address}:{port}", f".1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.{outlet}"],
        capture_output=True, text=True, timeout=30)


def events_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_status_off_on_reboot(agent: Path) -> None:
    on = fence("action=status", "plug=1")
    assert (on.returncode, on.stdout.strip()) == (0, "Status: ON"), on.stderr
    off = fence("action=off", "plug=1")
    assert off.returncode == 0, off.stderr
    assert fence("action=status", "plug=1").returncode == 2  # the agent's "off"
    assert events_of(agent)[-1] == "ctl1 off"
    assert fence("action=on", "plug=1").returncode == 0
    assert events_of(agent)[-1] == "ctl1 on"
    before = len(events_of(agent))
    reboot = fence("action=reboot", "plug=1")
    assert reboot.returncode == 0, reboot.stderr
    assert events_of(agent)[before:] == ["ctl1 off", "ctl1 on"]


def test_outlet_by_name_list_and_monitor(agent: Path) -> None:
    assert fence("action=status", "plug=ctl2").returncode == 2  # ctl2 is off
    listed = fence("action=list")
    assert listed.returncode == 0, listed.stderr
    assert {"1,ctl1", "2,ctl2"} <= set(listed.stdout.split())
    assert fence("action=monitor").returncode == 0


def test_wrong_password_fails(agent: Path) -> None:
    done = fence("action=status", "plug=1", password="not-the-password")
    assert done.returncode not in (0, 2)
    assert "ctl1 off" not in events_of(agent)[-1:]


def test_dead_bmc_does_not_answer(agent: Path) -> None:
    assert snmp_status(1, FAKE_BMC, 623).returncode == 0
    net.set_answering(FAKE_BMC, False, NETNS)
    try:
        assert FAKE_BMC in net.dead_addresses(NETNS)
        assert snmp_status(1, FAKE_BMC, 623).returncode != 0
        assert snmp_status(1).returncode == 0  # the PDU still answers
    finally:
        net.set_answering(FAKE_BMC, True, NETNS)
    assert net.dead_addresses(NETNS) == set()
    assert snmp_status(1, FAKE_BMC, 623).returncode == 0
