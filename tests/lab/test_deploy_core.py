"""Deploy the HA core for real on a three-machine lab: fenced cluster, HAProxy and VIPs,
Galera, memcached, RabbitMQ. A deploy killed midway completes when run again; a finished
deploy run again changes nothing; a row written through the DB VIP is on every member."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import (
    HASTACK,
    NODES,
    ROOT,
    SITE,
    changed_stages,
    enable_sshd,
    hastack,
    hastack_json,
    inside,
    running_lab,
)

from hastack import catalog

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    with running_lab("--packages", "core"):
        yield


def test_deploy_killed_midway_completes_over_ssh_and_rerun_changes_nothing(
        lab: None, tmp_path: Path) -> None:
    """Killed after the load balancer; the rest is deployed over SSH (sshd in the machines,
    the client in the lab's switch namespace); a third run through the lab changes nothing."""
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

    key, known = enable_sshd(NODES, tmp_path)
    again = hastack("deploy", str(SITE), "--scope", "core", "--via", "ssh", "--ssh-key",
                    str(key), "--known-hosts", str(known), "--verbose", "--format", "json",
                    in_switch=True)
    assert "service:galera" in changed_stages(json.loads(again.stdout))
    assert "n1 $ " in again.stderr  # --verbose: the commands, as run on each node

    third = hastack_json("deploy", str(SITE), "--scope", "core")
    assert not third["changed"], changed_stages(third)


def test_a_lost_secrets_file_is_refused_not_regenerated(lab: None, tmp_path: Path) -> None:
    """The same site with its secrets file gone: deploy (and its dry run) stops before
    touching anything, names the mismatch, and writes no new secrets file."""
    site = tmp_path / SITE.name
    site.write_text(SITE.read_text())
    lost = site.with_name("lab3.secrets.yaml")
    for extra in ((), ("--dry-run",)):
        refused = hastack("deploy", str(site), "--scope", "core", *extra, check=False)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "secrets-mismatch" in refused.stdout + refused.stderr
        assert not lost.exists()
    unchanged = hastack_json("deploy", str(SITE), "--scope", "core", "--dry-run")
    assert not unchanged["changed"] and not unchanged["diffs"], unchanged["diffs"]


def test_log_keeps_commands_and_no_secret(lab: None) -> None:
    secrets = SITE.with_name("lab3.secrets.yaml").read_text().splitlines()
    values = [line.split(": ", 1)[1].strip() for line in secrets if ": " in line]
    log = (Path.home() / ".local" / "state" / "hastack" / "hastack.log").read_text()
    assert "$ crm_mon" in log or "$ cibadmin" in log
    leaked = [v for v in values if len(v) >= 6 and v in log]
    assert not leaked, f"{len(leaked)} secret values appear in the log"


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
    (cluster,) = hastack_json("status", str(SITE))
    assert cluster["quorate"] and set(cluster["nodes"].values()) == {"online"}
    assert sorted(m["state"] for m in cluster["galera"]) == ["Synced"] * 3
    assert cluster["rabbitmq_running"] == [f"rabbit@{n}" for n in NODES]
    holders = cluster["vips"]["db"]
    assert len(holders) == 1 and holders[0] in NODES
    galera = next(s for s in cluster["services"] if s["service"] == "galera")
    assert sorted(galera["resources"]["galera-clone"]) == [f"{n}*" for n in NODES]


def test_verify_passes_every_core_check(lab: None) -> None:
    result = hastack_json("verify", str(SITE), "--scope", "core", check=False)
    assert result["ok"], [c for c in result["checks"] if not c["ok"]]
    assert {"cluster-quorum", "fencing-status", "haproxy-backends", "galera-cluster-size",
            "galera-write-through-vip", "memcached-set-get", "rabbitmq-members",
            "rabbitmq-publish-consume"} <= {c["name"] for c in result["checks"]}
