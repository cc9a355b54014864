"""crm_mon XML parsed into a snapshot: canned output produced by Pacemaker's own tools
(crm_simulate on a rendered CIB, then crm_mon on the result)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hastack.errors import ToolError
from hastack.pacemaker.status import parse_crm_mon

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
