"""The lab for real: three machines, their network, IPMI fencing through the virtual BMCs.

Needs root. Every wait is on an observable condition with a generous deadline, and names what
it waited for when it gives up. The lab is removed at the end by its own `down`, checked to
leave nothing behind (labkit.running_lab).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from labkit import (
    SITE,
    enable_sshd,
    hastack,
    hastack_json,
    inside,
    keygen,
    pid1,
    running_lab,
    wait_for,
)

pytestmark = pytest.mark.lab
PROBE = """
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], 9)); print("reachable")
except ConnectionRefusedError: print("reachable")
except OSError: print("unreachable")
"""


def reaches(node: str, address: str) -> bool:
    out = inside(node, "python3", "-", address, stdin=PROBE).stdout.strip()
    assert out in ("reachable", "unreachable"), out
    return out == "reachable"


def bmc_password(node: str) -> str:
    secrets = yaml.safe_load(SITE.with_name("lab3.secrets.yaml").read_text())
    return str(secrets[f"bmc-{node}"])


def fence(from_node: str, target: str, action: str) -> subprocess.CompletedProcess[str]:
    """The real fence_ipmilan, options on stdin (the password never in argv)."""
    bmc = {"n1": "198.18.0.111", "n2": "198.18.0.112", "n3": "198.18.0.113"}[target]
    options = (f"action={action}\nip={bmc}\nusername=admin\npassword={bmc_password(target)}\n"
               "lanplus=1\npower_wait=0\n")
    return inside(from_node, "fence_ipmilan", stdin=options)


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    with running_lab("--packages", "lab"):
        yield


def test_machines_run_systemd_and_reach_each_other(lab: None) -> None:
    for node in ("n1", "n2", "n3"):
        state = inside(node, "systemctl", "is-system-running").stdout.strip()
        assert state in ("running", "degraded"), f"{node}: {state}"
        assert inside(node, "hostname").stdout.strip() == node
    assert reaches("n1", "198.18.0.12")
    assert reaches("n3", "198.18.0.11")
    # A reload (Pacemaker does one at every start and stop) runs no generator in a machine.
    inside("n1", "systemctl", "daemon-reload")
    generated = inside("n1", "sh", "-c", "ls -A /run/systemd/generator* 2>/dev/null").stdout
    assert not generated.strip(), generated
    machines = hastack_json("lab", "status", "--site", str(SITE))["machines"]
    assert {m["name"]: (m["power"], m["link"]) for m in machines} == \
        dict.fromkeys(("n1", "n2", "n3"), ("on", "up")), machines


def test_root_namespace_has_no_lab_interface(lab: None) -> None:
    # Checked structurally: sending a packet from the root namespace to find out would put
    # lab traffic outside the lab's namespaces, which the lab must never do.
    addresses = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True,
                               check=True).stdout
    assert "198.18." not in addresses
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                           check=True).stdout
    assert " hs-" not in links and "br0" not in links


def test_network_sysctls_are_writable_in_namespaces_a_machine_creates(lab: None) -> None:
    """neutron's L3 and DHCP agents turn forwarding on in the namespaces they create inside the
    machine; the rest of the machine's /proc/sys stays read-only."""
    probe = ("ip netns add hs-probe && ip netns exec hs-probe sysctl -w net.ipv4.ip_forward=1;"
             " rc=$?; ip netns delete hs-probe; exit $rc")
    done = inside("n1", "sh", "-c", probe)
    assert done.returncode == 0, done.stderr
    kernel = inside("n1", "sh", "-c", "echo n1 > /proc/sys/kernel/hostname")
    assert kernel.returncode != 0 and "Read-only" in kernel.stderr


def test_fence_ipmilan_powers_a_machine_off_and_on(lab: None) -> None:
    assert fence("n1", "n3", "status").returncode == 0
    assert "ON" in fence("n1", "n3", "status").stdout.upper()
    marker = f"written before power-off {time.time()}"
    assert inside("n3", "sh", "-c", f"echo '{marker}' > /var/lib/hastack-marker && sync")\
        .returncode == 0
    # A VIP added at runtime (as IPaddr2 does) must not survive the power loss.
    assert inside("n3", "ip", "addr", "add", "198.18.0.250/24", "dev", "eth0").returncode == 0
    old_pid = pid1("n3")
    assert fence("n1", "n3", "off").returncode == 0
    wait_for("n3's PID 1 to be gone", lambda: old_pid is not None
             and not Path(f"/proc/{old_pid}").exists())
    assert fence("n1", "n3", "status").returncode == 2  # fence agents: 2 = off
    assert not reaches("n1", "198.18.0.13")
    assert fence("n1", "n3", "on").returncode == 0
    wait_for("n3 to boot again", lambda: pid1("n3") is not None and inside(
        "n3", "systemctl", "is-system-running").stdout.strip() in ("running", "degraded"))
    assert inside("n3", "cat", "/var/lib/hastack-marker").stdout.strip() == marker
    assert reaches("n1", "198.18.0.13")
    addresses = inside("n3", "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout
    assert "198.18.0.13/" in addresses and "198.18.0.250" not in addresses


def test_cli_power_cycle_through_the_bmc(lab: None) -> None:
    assert "on" in hastack("lab", "power", "status", "n2", "--site", str(SITE)).stdout.lower()
    hastack("lab", "power", "off", "n2", "--site", str(SITE))
    wait_for("n2 powered off", lambda: pid1("n2") is None)
    hastack("lab", "power", "on", "n2", "--site", str(SITE))
    wait_for("n2 booted", lambda: pid1("n2") is not None and inside(
        "n2", "systemctl", "is-system-running").stdout.strip() in ("running", "degraded"))


def test_link_down_isolates_a_machine(lab: None) -> None:
    hastack("lab", "link", "down", "n2", "--site", str(SITE))
    try:
        assert not reaches("n1", "198.18.0.12")
        assert not reaches("n2", "198.18.0.11")
        assert reaches("n1", "198.18.0.13")
    finally:
        hastack("lab", "link", "up", "n2", "--site", str(SITE))
    wait_for("n1 to reach n2 again", lambda: reaches("n1", "198.18.0.12"), timeout=60)


def test_partition_drops_traffic_both_ways_and_heal_restores(lab: None) -> None:
    hastack("lab", "partition", "n1,n2", "/", "n3", "--site", str(SITE))
    try:
        assert not reaches("n1", "198.18.0.13")
        assert not reaches("n3", "198.18.0.11")
        assert not reaches("n3", "198.18.0.12")
        assert reaches("n1", "198.18.0.12")
    finally:
        hastack("lab", "heal")
    wait_for("n3 to reach n1 after heal", lambda: reaches("n3", "198.18.0.11"), timeout=60)


def test_lab_up_again_changes_nothing(lab: None) -> None:
    before = {n: pid1(n) for n in ("n1", "n2", "n3")}
    hastack("lab", "up", str(SITE), "--packages", "lab")
    assert {n: pid1(n) for n in ("n1", "n2", "n3")} == before


SSH_CLIENT = """
import asyncio, json, sys
from hastack.errors import TransportError
from hastack.transport.ssh import SshTransport

async def main(key, known, wrong):
    node = SshTransport("n1", "198.18.0.11", known_hosts=known, client_keys=[key])
    out = {}
    out["hostname"] = (await node.run(["hostname"])).stdout.strip()
    await node.put("/etc/hastack-ssh-test/file", b"payload", mode=0o640, group="root")
    out["get"] = (await node.get("/etc/hastack-ssh-test/file")).decode()
    mode = await node.run(["stat", "-c", "%a %U", "/etc/hastack-ssh-test/file"])
    out["mode"] = mode.stdout.strip()
    env = await node.run(["sh", "-c", 'echo "$SECRET"'], env={"SECRET": "s3cr3t"})
    out["env"] = env.stdout.strip()
    out["rc"] = (await node.run(["sh", "-c", "exit 3"])).returncode
    await node.close()
    stranger = SshTransport("n1", "198.18.0.11", known_hosts=wrong, client_keys=[key])
    try:
        await stranger.run(["true"])
        out["unknown_host"] = "accepted"
    except TransportError:
        out["unknown_host"] = "refused"
    print(json.dumps(out))

asyncio.run(main(*sys.argv[1:4]))
"""


def test_ssh_transport_against_sshd_in_a_machine(lab: None, tmp_path: Path) -> None:
    """The SSH transport (asyncssh, key-based, known_hosts checked) against a real sshd in
    n1; the client runs in the switch namespace, the only place that reaches the lab."""
    key, known = enable_sshd(["n1"], tmp_path)
    other = keygen(tmp_path / "other")
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text("198.18.0.11 " + " ".join(other.with_suffix(".pub").read_text()
                                              .split()[:2]) + "\n")
    proc = subprocess.run(["nsenter", "--net=/run/netns/hs-switch", sys.executable, "-",
                           str(key), str(known), str(wrong)], input=SSH_CLIENT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["hostname"] == "n1"
    assert out["get"] == "payload"
    assert out["mode"] == "640 root"
    assert out["env"] == "s3cr3t"
    assert out["rc"] == 3
    assert out["unknown_host"] == "refused"
