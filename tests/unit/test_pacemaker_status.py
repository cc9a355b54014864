"""crm_mon XML parsed into a snapshot: canned output produced by Pacemaker's own tools
(crm_simulate on a rendered CIB, then crm_mon on the result)."""

from __future__ import annotations

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
