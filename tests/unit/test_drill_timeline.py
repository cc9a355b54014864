"""The recovery timeline: journal lines of corosync, Pacemaker and HAProxy named as steps."""

from __future__ import annotations

import calendar
import json

from hastack.drills.timeline import (
    Step,
    classify,
    merged,
    steps_from_galera_log,
    steps_from_journal,
    steps_from_rabbitmq_log,
)


def test_the_lines_of_a_failover_are_named() -> None:
    lines = {
        ("corosync", "[TOTEM ] A processor failed, forming new configuration: token timed "
                     "out (1650ms), waiting 1980ms for consensus."): "corosync lost the token",
        ("corosync", "[TOTEM ] A new membership (1.11) was formed. Members left: 1"):
            "corosync membership formed: Members left: 1",
        ("pacemaker-controld", "Requesting fencing (reboot) of node ctl1"):
            "fencing of ctl1 requested (reboot)",
        ("pacemaker-fenced", "Operation 'reboot' targeting ctl1 by ctl2 for "
                             "pacemaker-controld.1234@ctl2: OK (complete)"):
            "fencing of ctl1 by ctl2: OK (complete)",
        ("pacemaker-schedulerd", "Calculated transition 23, saving inputs in "
                                 "/var/lib/pacemaker/pengine/pe-input-23.bz2"):
            "transition 23 computed",
        ("pacemaker-controld", "Transition 23 (Complete=14, Pending=0, Fired=0, Skipped=2, "
                               "Incomplete=1, Source=/var/lib/pacemaker/pengine/pe-input-23"
                               ".bz2): Stopped"):
            "transition 23 Stopped (14 actions done, 2 skipped, 1 left)",
        ("pacemaker-controld", "Initiating start operation vip-db_start_0 on ctl2"):
            "start vip-db on ctl2: initiated",
        ("pacemaker-controld", "Initiating promote operation galera_promote_0 locally on "
                               "ctl3"): "promote galera on ctl3: initiated",
        ("pacemaker-controld", "Result of start operation for vip-db on ctl2: ok"):
            "start vip-db on ctl2: ok",
        ("pacemaker-controld", "Result of monitor operation for memcached on ctl3: not "
                               "running"): "monitor of memcached on ctl3: not running",
        ("pacemaker-controld", "High CPU load detected: 15.710000"):
            "pacemaker throttles actions: High CPU load 15.71",
        ("haproxy", "Server galera/ctl1 is DOWN, reason: Layer4 timeout, check duration: "
                    "2001ms."): "haproxy: galera/ctl1 DOWN",
        # systemd 252 on a service it runs itself (cluster.manages: core), seen in the lab.
        ("systemd", "keystone.service: Main process exited, code=killed, status=9/KILL"):
            "systemd: keystone exited (killed 9/KILL)",
        ("systemd", "keystone.service: Scheduled restart job, restart counter is at 1."):
            "systemd: keystone restart scheduled",
        ("systemd", "Started keystone.service - OpenStack Identity service."):
            "systemd: started keystone",
    }
    for (identifier, message), step in lines.items():
        assert classify(identifier, message) == step, message


def test_routine_lines_name_no_step() -> None:
    assert classify("pacemaker-controld", "Result of monitor operation for vip-db on ctl2: "
                    "ok") is None
    assert classify("corosync", "[QUORUM] Members[3]: 1 2 3") is None
    # A line is judged by the daemon that wrote it, not by its words alone.
    assert classify("haproxy", "Calculated transition 4") is None
    # The transient units and sessions a command run in the machine creates.
    assert classify("systemd", "Started run-u12.service - /usr/bin/true.") is None
    assert classify("systemd", "Started session-4.scope - Session 4 of User root.") is None


def test_journal_entries_are_timed_from_the_fault() -> None:
    fault = 1_700_000_000.0
    entries = [
        {"SYSLOG_IDENTIFIER": "pacemaker-controld", "__REALTIME_TIMESTAMP": "1700000004500000",
         "MESSAGE": "Requesting fencing (reboot) targeting node ctl1"},
        {"SYSLOG_IDENTIFIER": "pacemaker-controld", "__REALTIME_TIMESTAMP": "1700000005000000",
         "MESSAGE": [104, 105]},  # a binary message: skipped, not a crash
        # journalctl --since reads from the whole second before the fault: not recovery.
        {"SYSLOG_IDENTIFIER": "pacemaker-schedulerd", "__REALTIME_TIMESTAMP": "1699999999600000",
         "MESSAGE": "Calculated transition 18, saving inputs in /var/lib/pacemaker/pengine/x"},
    ]
    lines = [json.dumps(e) for e in entries] + ["not json"]
    assert steps_from_journal("ctl2", lines, fault) == [
        Step(4.5, "ctl2", "fencing of ctl1 requested (reboot)",
             "Requesting fencing (reboot) targeting node ctl1")]


def test_merged_keeps_time_order_and_one_copy_of_a_cluster_wide_event() -> None:
    formed = "corosync membership formed: Members left: 1"
    steps = merged([Step(3.1, "ctl2", formed), Step(3.2, "ctl3", formed),
                    Step(0.0, "ctl1", "galera: suspecting a member")],
                   [Step(0.0, "drill", "fault: power-loss of ctl2"), Step(9.0, "load", "DB back")])
    # The fault opens its moment, whichever node shares it.
    assert [s.step for s in steps] == ["fault: power-loss of ctl2", "galera: suspecting a member",
                                       formed, "DB back"]
    assert steps[2].node == "ctl2"


def test_merged_keeps_one_copy_of_a_line_a_daemon_logged_twice() -> None:
    """HAProxy logs each event to syslog and stderr: two journal lines, one step."""
    down = "haproxy: galera/ctl2 DOWN"
    steps = merged([Step(6.09, "ctl1", down, "[WARNING]  (4509) : Backup Server ..."),
                    Step(6.09, "ctl1", down, "Backup Server ..."),
                    Step(6.34, "ctl3", down, "Backup Server ...")])
    assert [(s.node, s.step) for s in steps] == [("ctl1", down), ("ctl3", down)]
    # Every backend of the lost node at once, each line twice, interleaved.
    many = [Step(3.57, "ctl3", f"haproxy: api{i}/ctl2 DOWN") for i in range(12)]
    assert len(merged(many, many)) == 12


def test_galeras_own_log_names_its_membership_steps_in_the_machines_time() -> None:
    """MariaDB 10.11 lines as the galera agent's log file has them (local time, to the
    second): the member suspected and the new primary component, the step every DB write
    waits for after a member's power loss."""
    fault = calendar.timegm((2026, 12, 4, 6, 31, 5, 0, 0, 0)) + 0.37
    text = "+0100\n" + "\n".join([
        "2026-12-04  7:31:04 0 [Note] WSREP: New COMPONENT: primary = yes, bootstrap = no, "
        "my_idx = 1, memb_num = 3",  # before the fault: left out
        "2026-12-04  7:31:05 0 [Note] WSREP: evs::proto(4eb9c6ba-a48e, OPERATIONAL, "
        "view_id(REG,46bea367-96be,4)) suspecting node: 11",  # the fault's second: at the fault
        "2026-12-04  7:31:09 0 [Note] WSREP: evs::proto(4eb9c6ba-a48e, OPERATIONAL, "
        "view_id(REG,46bea367-96be,4)) suspecting node: 498611a5-917e",
        "2026-12-04  7:31:11 0 [Note] WSREP: New COMPONENT: primary = yes, bootstrap = no, "
        "my_idx = 1, memb_num = 2",
        "2026-12-04  7:31:11 0 [Note] WSREP: Shifting SYNCED -> JOINED (TO: 1234)",
    ])
    steps = steps_from_galera_log("ctl1", text, fault, fault + 60)
    assert [(s.at, s.step) for s in steps] == [
        (0.0, "galera: suspecting a member"),
        (3.63, "galera: suspecting a member"),
        (5.63, "galera: new component of 2 (primary: yes)"),
        (5.63, "galera: SYNCED -> JOINED")]


def test_rabbitmqs_own_log_names_the_members_lost_and_the_drill_queues_new_leader() -> None:
    """RabbitMQ 3.10 lines as its log file has them (to the microsecond, with the offset):
    the member seen down, and the drill queue's Raft members changing state until one leads
    (what a confirmed publish waits for); another queue's elections are left out."""
    fault = calendar.timegm((2026, 12, 7, 3, 30, 0, 0, 0, 0)) + 0.5
    text = "\n".join([
        "2026-12-07 03:29:59.900000+00:00 [info] <0.9.0> node 'rabbit@ctl1' up",
        "2026-12-07 04:30:02.100000+01:00 [info] <0.512.0> queue 'hastack-drill' in vhost "
        "'/': follower -> pre_vote in term: 2 machine version: 2",
        "2026-12-07 03:30:03.250000+00:00 [info] <0.512.0> queue 'hastack-drill' in vhost "
        "'/': candidate -> leader in term: 3 machine version: 2",
        "2026-12-07 03:30:03.300000+00:00 [info] <0.600.0> queue 'q-l3-plugin' in vhost "
        "'/': candidate -> leader in term: 5 machine version: 2",
        "2026-12-07 03:30:15.300000+00:00 [info] <0.531.0> rabbit on node rabbit@ctl1 down",
        "2026-12-07 03:30:15.500000+00:00 [info] <0.9.0> node rabbit@ctl1 down: "
        "net_tick_timeout",
    ])
    steps = steps_from_rabbitmq_log("ctl2", text, fault, fault + 60, "hastack-drill")
    assert [(s.at, s.step) for s in steps] == [
        (1.6, "rabbitmq: queue hastack-drill: follower -> pre_vote (term 2)"),
        (2.75, "rabbitmq: queue hastack-drill: candidate -> leader (term 3)"),
        (14.8, "rabbitmq: broker rabbit@ctl1 down"),
        (15.0, "rabbitmq: link to rabbit@ctl1 lost (net_tick_timeout)")]
