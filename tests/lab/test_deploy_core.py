"""Deploy the HA core for real on a three-machine lab: fenced cluster, HAProxy and VIPs,
Galera, memcached, RabbitMQ. A deploy killed midway completes when run again; a finished
deploy run again changes nothing; a row written through the DB VIP is on every member."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hastack import catalog

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "tests" / "lab" / "lab3.yaml"
STATE = Path("/var/lib/hastack/lab")
HASTACK = str(Path(sys.executable).with_name("hastack"))
NODES = ("n1", "n2", "n3")


def hastack(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HASTACK, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, check=False)


def inside(node: str, *argv: str, stdin: str | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    pid = int((STATE / "machines" / node / "init.pid").read_text())
    return subprocess.run(["nsenter", "-t", str(pid), "-a", *argv], input=stdin,
                          capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **(env or {})})


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    if (STATE / "site.json").exists():
        pytest.skip("a lab is already up here; `hastack lab down` first")
    try:
        up = hastack("lab", "up", str(SITE), "--packages", "core")
        assert up.returncode == 0, up.stdout + up.stderr
        yield
    finally:
        hastack("lab", "down")


def test_deploy_killed_midway_completes_and_rerun_changes_nothing(lab: None) -> None:
    argv = [HASTACK, "deploy", str(SITE), "--scope", "core"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 900
    for line in proc.stdout:
        seen.append(line)
        if "service:loadbalancer" in line or time.monotonic() > deadline:
            break
    assert any("service:loadbalancer" in s for s in seen), "".join(seen)
    proc.send_signal(signal.SIGKILL)  # midway: before Galera, memcached and RabbitMQ
    proc.wait(timeout=60)

    again = hastack("deploy", str(SITE), "--scope", "core")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "service:galera" in again.stdout and "deployed" in again.stdout

    third = hastack("deploy", str(SITE), "--scope", "core")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "unchanged: the site already matches" in third.stdout
    assert " changed " not in third.stdout


def test_core_runs_everywhere_with_fencing(lab: None) -> None:
    status = inside("n1", "crm_mon", "--one-shot", "--output-as=xml").stdout
    from hastack.pacemaker.status import parse_crm_mon

    cluster = parse_crm_mon(status)
    assert cluster.quorate and set(cluster.online_members) == set(NODES)
    assert cluster.promoted_on("galera-clone") == NODES
    for rid in ("haproxy-clone", "memcached-clone", "rabbitmq-clone"):
        assert cluster.running_on(rid) == NODES, rid
    for node in NODES:
        assert cluster.running_on(f"fence-{node}"), f"fence-{node} not running"
        assert node not in cluster.running_on(f"fence-{node}")
    props = inside("n1", "crm_attribute", "--type", "crm_config", "--name", "stonith-enabled",
                   "--query").stdout
    assert "value=true" in props


def test_row_written_through_the_db_vip_is_on_every_member(lab: None) -> None:
    loaded = catalog.load(SITE)
    vip = str(loaded.placement.vips["db"])
    password = "hastack-test-only"
    setup = ("CREATE USER IF NOT EXISTS 'hstest'@'%' IDENTIFIED BY 'hastack-test-only';"
             "GRANT ALL ON hstest.* TO 'hstest'@'%';")
    assert inside("n1", "mysql", stdin=setup).returncode == 0
    marker = f"row-{time.time()}"
    sql = ("CREATE DATABASE IF NOT EXISTS hstest; CREATE TABLE IF NOT EXISTS hstest.t "
           f"(v VARCHAR(64) PRIMARY KEY); INSERT INTO hstest.t VALUES ('{marker}');")
    written = inside("n2", "mysql", "-h", vip, "-u", "hstest", stdin=sql,
                     env={"MYSQL_PWD": password})
    assert written.returncode == 0, written.stderr
    for node in NODES:
        read = inside(node, "mysql", "-N", "-B", "-e",
                      f"SELECT v FROM hstest.t WHERE v = '{marker}'")
        assert read.stdout.strip() == marker, f"{node}: {read.stderr}"
    size = inside("n1", "mysql", "-N", "-B", "-e", "SHOW STATUS LIKE 'wsrep_cluster_size'")
    assert size.stdout.split() == ["wsrep_cluster_size", "3"]


def test_rabbitmq_lists_every_member_and_no_guest(lab: None) -> None:
    out = inside("n1", "rabbitmqctl", "-q", "cluster_status", "--formatter", "json").stdout
    for node in NODES:
        assert f"rabbit@{node}" in out
    users = inside("n1", "rabbitmqctl", "-q", "list_users").stdout
    assert "openstack" in users and "guest" not in users


def test_status_shows_what_the_cluster_and_the_services_see(lab: None) -> None:
    import json

    result = hastack("status", str(SITE), "--format", "json")
    assert result.returncode == 0, result.stderr
    (cluster,) = json.loads(result.stdout)
    assert cluster["quorate"] and set(cluster["nodes"].values()) == {"online"}
    assert sorted(m["state"] for m in cluster["galera"]) == ["Synced"] * 3
    assert cluster["rabbitmq_running"] == [f"rabbit@{n}" for n in NODES]
    holders = cluster["vips"]["db"]
    assert len(holders) == 1 and holders[0] in NODES
    galera = next(s for s in cluster["services"] if s["service"] == "galera")
    assert sorted(galera["resources"]["galera-clone"]) == [f"{n}*" for n in NODES]


def test_verify_passes_every_core_check(lab: None) -> None:
    result = hastack("verify", str(SITE), "--scope", "core")
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("cluster-quorum", "fencing-status", "haproxy-backends", "galera-cluster-size",
                  "galera-write-through-vip", "memcached-set-get", "rabbitmq-members",
                  "rabbitmq-publish-consume"):
        assert check in result.stdout
    assert "FAIL" not in result.stdout


def test_zz_power_loss_drill_loses_nothing_and_recovers(lab: None) -> None:
    """Last: it fences a member. A survivor's acknowledged writes must all survive, the VIP
    must answer again and the fenced node must come back to full strength."""
    result = hastack("drill", str(SITE), "power-loss", "--seconds", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/ 0 " in result.stdout  # acknowledged / lost
    verify = hastack("verify", str(SITE), "--scope", "core")
    assert verify.returncode == 0, verify.stdout + verify.stderr
