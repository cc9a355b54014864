"""A dry run's proof against a running cluster (deploy/preview.py): the configuration diff a
push would make, and the transitions Pacemaker's own crm_simulate schedules for it on the
live status, a joining member brought up. Run with the real crm_verify and crm_simulate on a
live-shaped CIB (nodes online in its status section)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from hastack.deploy.cib import as_live, in_place_changes, merge_configuration
from hastack.deploy.preview import (
    Preview,
    configuration_diff,
    pushed_cib,
    simulate_on,
    simulated_cib,
    transition_summary,
)
from hastack.errors import ToolError
from hastack.process import Result, run

pytestmark = pytest.mark.skipif(shutil.which("crm_simulate") is None,
                                reason="Pacemaker's CLI tools are not installed")


def node_state(nid: str, name: str) -> str:
    return (f'<node_state id="{nid}" uname="{name}" in_ccm="true" crmd="online" '
            'crm-debug-origin="do_state_transition" join="member" expected="member">'
            f'<lrm id="{nid}"><lrm_resources/></lrm></node_state>')


FENCING = """<primitive id="fence-all" class="stonith" type="fence_dummy">
  <operations><op id="fence-all-monitor" name="monitor" interval="60s"/></operations>
 </primitive>"""
LIVE = f"""<cib validate-with="pacemaker-3.9" epoch="9"
 num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
<configuration>
 <crm_config><cluster_property_set id="cib-bootstrap-options">
  <nvpair id="o-se" name="stonith-enabled" value="true"/>
 </cluster_property_set></crm_config>
 <nodes><node id="1" uname="ctl1"/><node id="2" uname="ctl2"/></nodes>
 <resources>{FENCING}</resources><constraints/>
</configuration>
<status>{node_state("1", "ctl1")}{node_state("2", "ctl2")}</status></cib>"""
DESIRED = f"""<cib><configuration>
 <crm_config><cluster_property_set id="cib-bootstrap-options">
  <nvpair id="o-se" name="stonith-enabled" value="true"/>
 </cluster_property_set></crm_config>
 <nodes><node id="1" uname="ctl1"/><node id="2" uname="ctl2"/><node id="3" uname="ctl3"/>
 </nodes>
 <resources>{FENCING}
  <clone id="web-clone"><primitive id="web" class="ocf" provider="pacemaker" type="Dummy"/>
  </clone>
 </resources><constraints/>
</configuration><status/></cib>"""


class HereTransport:
    """Runs on this computer: the preview's commands need nothing of a cluster node."""

    host = "here"

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> Result:
        return run(argv, stdin=stdin, timeout=timeout, check=False)

    async def put(self, path: str, data: bytes, *, owner: str = "root", group: str = "root",
                  mode: int = 0o644) -> None:
        Path(path).write_bytes(data)

    async def get(self, path: str) -> bytes:
        return Path(path).read_bytes()

    async def close(self) -> None:
        pass


def preview(joining: Sequence[str], tmp_path: Path) -> tuple[Preview, str]:
    merge = merge_configuration(LIVE, DESIRED)
    pushed = pushed_cib(LIVE, merge.xml)
    transitions, settled = asyncio.run(simulate_on(
        HereTransport(), pushed, simulated_cib(pushed, DESIRED, joining), joining,
        work=str(tmp_path / "work")))
    return Preview("ctl", configuration_diff(LIVE, merge.xml), transitions, settled), merge.xml


def test_a_new_clone_is_shown_as_a_diff_and_started_on_every_member_the_joiner_too(
        tmp_path: Path) -> None:
    shown, merged = preview(["ctl3"], tmp_path)
    assert '+    <clone id="web-clone">' in shown.cib_diff
    # The merge leaves a member that never joined out (it would be fenced as unclean).
    assert 'uname="ctl3"' not in merged
    started = [line for t in shown.transitions for line in t if line.startswith("Start web")]
    assert sorted(line.split("(")[1].strip(" )") for line in started) == [
        "ctl1", "ctl2", "ctl3"], shown.transitions
    assert shown.settled
    # The fencing device is not running in the live status either: it starts too.
    assert "4 resource actions in 1 transition" in shown.summary()
    assert not (tmp_path / "work").exists()


def test_without_the_joiner_the_clone_starts_on_the_running_members_only(
        tmp_path: Path) -> None:
    shown, _ = preview([], tmp_path)
    assert {line.split("(")[1].strip(" )") for t in shown.transitions for line in t} == {
        "ctl1", "ctl2"}


def test_a_configuration_crm_verify_refuses_is_refused_before_any_simulation(
        tmp_path: Path) -> None:
    broken = LIVE.replace('type="fence_dummy"', 'type="fence_dummy" provider="x"')
    with pytest.raises(ToolError, match="crm_verify refused"):
        asyncio.run(simulate_on(HereTransport(), broken, broken, [], work=str(tmp_path / "w")))


def test_the_summary_lines_are_read_from_crm_simulates_text_output() -> None:
    output = """Current cluster status:
  * Node List:
    * Online: [ ctl1 ctl2 ]

Transition Summary:
  * Start      cmp3                  (                 ctl1 )
  * Move       vip-public            ( ctl1 -> ctl2 )

Executing Cluster Transition:
  * Resource action: cmp3            start on ctl1
"""
    assert transition_summary(output) == ("Start cmp3 ( ctl1 )",
                                          "Move vip-public ( ctl1 -> ctl2 )")
    assert transition_summary("Transition Summary:\n\nExecuting Cluster Transition:\n") == ()


def test_a_change_made_in_place_is_simulated_without_the_restart_a_push_would_cause(
        tmp_path: Path) -> None:
    """A parameter the agent reads only at start (Galera's member list) is changed in place
    by the deploy (unmanaged, re-probed): Pacemaker restarts nothing for it, and the dry run's
    simulation must say so, though a plain push of the new definition would restart it."""
    db = ('<primitive id="db" class="ocf" provider="pacemaker" type="Dummy">'
          '<instance_attributes id="db-ia"><nvpair id="db-state" name="state" '
          'value="{}"/></instance_attributes></primitive>')
    before = LIVE.replace(f"<resources>{FENCING}", f"<resources>{FENCING}{db.format('/a')}")
    # The live status: db started by the cluster, its definition's digest recorded.
    (tmp_path / "live.xml").write_text(before)
    run(["crm_simulate", "--xml-file", str(tmp_path / "live.xml"), "--simulate",
         "--save-output", str(tmp_path / "running.xml")])
    running = (tmp_path / "running.xml").read_text()
    desired = DESIRED.replace(f"<resources>{FENCING}", f"<resources>{FENCING}{db.format('/b')}")
    merge = merge_configuration(running, desired)
    assert in_place_changes(running, desired, {"db": ("state",)}) == ["db"]

    def transitions(configuration: str) -> list[str]:
        pushed = pushed_cib(running, configuration)
        found, _ = asyncio.run(simulate_on(HereTransport(), pushed, pushed, [],
                                           work=str(tmp_path / "work")))
        return [line for t in found for line in t if " db " in f" {line} "]

    assert any(line.startswith("Restart db") for line in transitions(merge.xml))
    assert transitions(as_live(merge.xml, running, ["db"])) == []
