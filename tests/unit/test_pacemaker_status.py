"""crm_mon XML parsed into a snapshot: canned output produced by Pacemaker's own tools
(crm_simulate on a rendered CIB, then crm_mon on the result)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from hastack.errors import ToolError
from hastack.pacemaker.status import expired_monitor_failures, parse_crm_mon

DATA = Path(__file__).parent / "data"


def test_parses_dc_quorum_nodes_and_where_resources_run() -> None:
    status = parse_crm_mon((DATA / "crm_mon_fencing_started.xml").read_text())
    assert status.dc == "ctl1"
    assert status.quorate
    assert status.online_members == ("ctl1", "ctl2", "ctl3")
    assert status.running_on("fence-ctl1") == ("ctl2",)
    assert status.running_on("fence-ctl3") == ("ctl1",)
    assert status.failed == ()


def test_not_xml_is_a_tool_error() -> None:
    with pytest.raises(ToolError):
        parse_crm_mon("crm_mon: Connection to cluster failed")


def test_a_start_still_in_progress_is_not_running() -> None:
    """crm_mon marks a pending start as active; a drill or deploy must not count it."""
    xml = (DATA / "crm_mon_fencing_started.xml").read_text()
    for mark in ('pending="start"', 'pending="Start"'):
        pending = xml.replace('<resource id="fence-ctl1"', f'<resource {mark} id="fence-ctl1"')
        assert pending != xml
        status = parse_crm_mon(pending)
        assert status.running_on("fence-ctl1") == ()
        assert status.running_on("fence-ctl3") == ("ctl1",)
    starting = xml.replace('id="fence-ctl1" resource_agent="stonith:fence_ipmilan" '
                           'role="Started"', 'id="fence-ctl1" resource_agent="stonith:'
                           'fence_ipmilan" role="Starting"')
    assert starting != xml
    assert parse_crm_mon(starting).running_on("fence-ctl1") == ()


def _node(uname: str, counts: str, ops: str) -> str:
    return (f'<node_state id="{uname}" uname="{uname}"><transient_attributes id="{uname}">'
            f'<instance_attributes id="status-{uname}">{counts}</instance_attributes>'
            f'</transient_attributes><lrm id="{uname}"><lrm_resources>'
            f'<lrm_resource id="rabbitmq" class="systemd" type="rabbitmq-server">{ops}'
            '</lrm_resource></lrm_resources></lrm></node_state>')


FAILED_MONITOR = ('<lrm_rsc_op id="rabbitmq_last_failure_0" operation="monitor" '
                  'rc-code="7" interval="5000"/>')
FAIL_COUNT = '<nvpair id="f" name="fail-count-rabbitmq#monitor_5000" value="1"/>'
FAILED_PROBE = ('<lrm_rsc_op id="rabbitmq_last_failure_0" operation="monitor" rc-code="0" '
                'interval="0"/>')


def test_a_monitor_failure_is_expired_once_its_fail_count_is_gone() -> None:
    """Only ctl1's: ctl2's still counts (the cluster acts on it), ctl3's is a probe's (not
    rescheduled), and ctl4 has no failure at all."""
    status = ("<status>" + _node("ctl1", "", FAILED_MONITOR)
              + _node("ctl2", FAIL_COUNT, FAILED_MONITOR) + _node("ctl3", "", FAILED_PROBE)
              + _node("ctl4", "", '<lrm_rsc_op id="rabbitmq_monitor_5000" interval="5000" '
                                  'operation="monitor" rc-code="0"/>') + "</status>")
    assert expired_monitor_failures(status) == [("rabbitmq", "ctl1")]


def test_a_status_that_is_not_xml_is_a_tool_error() -> None:
    with pytest.raises(ToolError):
        expired_monitor_failures("cibadmin: Connection to the CIB manager failed")


def test_failures_since_a_fault_leave_out_those_on_record_from_before() -> None:
    """A drill's fault is detected by failures from its own time on: the record an earlier
    drill left until its failure-timeout (rabbitmq-cold-start run twice: "back at full
    strength" 1.3 s after the kill) is not this fault's."""
    xml = ('<pacemaker-result><summary><current_dc present="true" name="ctl1" '
           'with_quorum="true"/></summary><nodes/><resources/><failures>'
           '<failure op_key="rabbitmq_monitor_5000" node="ctl2" exitreason="failed" '
           'last-rc-change="2026-12-05 06:47:08Z" task="monitor"/>'
           '<failure op_key="rabbitmq_monitor_5000" node="ctl3" exitreason="failed" '
           'last-rc-change="Sat Dec  5 06:49:30 2026" task="monitor"/>'
           '</failures></pacemaker-result>')
    status = parse_crm_mon(xml)
    fault = datetime.datetime(2026, 12, 5, 6, 49, 29, 600000, tzinfo=datetime.UTC).timestamp()
    assert [(f.resource, f.node) for f in status.failures] == [("rabbitmq", "ctl2"),
                                                                ("rabbitmq", "ctl3")]
    assert [f.node for f in status.failures_since(fault)] == ["ctl3"]


def test_a_clone_with_a_failed_member_is_broken_though_it_runs_elsewhere() -> None:
    """Galera promoted on ctl1 while ctl2's instance is FAILED and blocked (its promote
    failed): the deploy's check must see a member missing, not a clone running."""
    def instance(node: str, role: str, failed: bool) -> str:
        flags = 'failed="true" blocked="true"' if failed else 'failed="false" blocked="false"'
        return (f'<resource id="galera" resource_agent="ocf:heartbeat:galera" role="{role}" '
                f'active="true" {flags}><node name="{node}"/></resource>')
    xml = ('<pacemaker-result><summary><current_dc present="true" name="ctl1" '
           'with_quorum="true"/></summary><nodes/><resources>'
           '<clone id="galera-clone">' + instance("ctl1", "Promoted", False)
           + instance("ctl2", "Promoted", True) + '</clone>'
           '<resource id="vip-db" resource_agent="ocf:heartbeat:IPaddr2" role="Started" '
           'active="true" failed="false" blocked="false"><node name="ctl1"/></resource>'
           '</resources></pacemaker-result>')
    status = parse_crm_mon(xml)
    assert status.running_on("galera-clone") == ("ctl1", "ctl2")
    assert status.broken({"galera-clone", "galera"}) == ["galera on ctl2"]
    assert status.broken({"vip-db"}) == []
