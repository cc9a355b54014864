"""Merging the desired configuration into a live CIB keeps Pacemaker's own parts and says
whether anything changed (so a re-run pushes nothing)."""

from __future__ import annotations

from lxml import etree

from hastack.deploy.cib import merge_configuration

LIVE = """<cib epoch="7" num_updates="3" admin_epoch="0" validate-with="pacemaker-3.9">
<configuration>
 <crm_config><cluster_property_set id="cib-bootstrap-options">
  <nvpair id="o-dc" name="dc-version" value="2.1.5"/>
  <nvpair id="o-se" name="stonith-enabled" value="false"/>
 </cluster_property_set></crm_config>
 <nodes><node id="1" uname="ctl1"/></nodes>
 <resources/><constraints/>
</configuration>
<status><node_state id="1" uname="ctl1"/></status></cib>"""



def test_merge_replaces_owned_sections_and_keeps_pacemakers_own() -> None:
    want = """<cib><configuration>
 <crm_config><cluster_property_set id="cib-bootstrap-options">
  <nvpair id="a" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
 <nodes><node id="1" uname="ctl1"><instance_attributes id="n1">
  <nvpair id="n1-osprole" name="osprole" value="controller"/></instance_attributes></node></nodes>
 <resources><primitive id="p" class="systemd" type="haproxy"/></resources>
 <constraints/>
</configuration><status/></cib>"""
    merged = merge_configuration(LIVE, want)
    assert merged.changed
    config = etree.fromstring(merged.xml.encode())
    assert config.tag == "configuration"
    props = {nv.get("name"): nv.get("value") for nv in config.iter("nvpair")}
    assert props["dc-version"] == "2.1.5"
    assert props["stonith-enabled"] == "true"
    assert props["osprole"] == "controller"
    assert config.find("resources/primitive").get("id") == "p"
    assert [c.tag for c in config][:4] == ["crm_config", "nodes", "resources", "constraints"]


def test_merging_what_is_already_there_changes_nothing() -> None:
    want = """<cib><configuration>
 <crm_config><cluster_property_set id="cib-bootstrap-options">
  <nvpair id="x" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
 <nodes><node id="1" uname="ctl1"/></nodes><resources/><constraints/>
</configuration></cib>"""
    assert not merge_configuration(LIVE, want).changed


def test_alerts_are_hastacks_to_set_and_a_second_merge_changes_nothing() -> None:
    want = """<cib><configuration><crm_config/><nodes/><resources/><constraints/>
 <alerts><alert id="haproxy-node-lost" path="/usr/local/lib/hastack/haproxy-node-lost">
  <select><select_nodes/></select></alert></alerts>
</configuration><status/></cib>"""
    first = merge_configuration(LIVE, want)
    assert first.changed
    alert = etree.fromstring(first.xml.encode()).find("alerts/alert")
    assert alert is not None and alert.get("id") == "haproxy-node-lost"
    live = LIVE.replace("<resources/><constraints/>", "<resources/><constraints/>" + (
        '<alerts><alert id="haproxy-node-lost" path="/usr/local/lib/hastack/'
        'haproxy-node-lost"><select><select_nodes/></select></alert></alerts>'))
    assert not merge_configuration(live, want).changed
