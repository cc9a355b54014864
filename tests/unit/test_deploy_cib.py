"""Merging the desired configuration into a live CIB keeps Pacemaker's own parts and says
whether anything changed (so a re-run pushes nothing)."""

from __future__ import annotations

from lxml import etree

from hastack.deploy.cib import in_place_changes, left_unmanaged, merge_configuration, unmanaged

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


def test_a_cluster_node_never_seen_is_left_out_and_a_remote_one_put_in() -> None:
    """Listed before it joins, a cluster node would be UNCLEAN (startup-fencing) and fenced
    at once; a remote node is only offline until its connection starts."""
    want = """<cib><configuration><nodes>
 <node id="1" uname="ctl1"/><node id="4" uname="ctl4"/>
 <node id="cmp3" uname="cmp3" type="remote"/>
</nodes><resources/><constraints/></configuration><status/></cib>"""
    config = etree.fromstring(merge_configuration(LIVE, want).xml.encode())
    assert [n.get("uname") for n in config.iterfind("nodes/node")] == ["ctl1", "cmp3"]


GALERA = """<cib><configuration><nodes/><resources><clone id="galera-clone">
 <primitive id="galera" class="ocf" provider="heartbeat" type="galera">
  <instance_attributes id="galera-instance_attributes">
   <nvpair id="galera-ia-a" name="wsrep_cluster_address" value="{address}"/>
   <nvpair id="galera-ia-d" name="datadir" value="{datadir}"/>
  </instance_attributes>
  <operations><op id="galera-monitor" name="monitor" interval="20s"/></operations>
 </primitive></clone></resources><constraints/></configuration><status/></cib>"""
THREE = GALERA.format(address="gcomm://ctl1,ctl2,ctl3", datadir="/var/lib/mysql")
FOUR = GALERA.format(address="gcomm://ctl1,ctl2,ctl3,ctl4", datadir="/var/lib/mysql")
MOVED = GALERA.format(address="gcomm://ctl1,ctl2,ctl3,ctl4", datadir="/srv/mysql")
IN_PLACE = {"galera": ("wsrep_cluster_address",)}


def test_only_a_change_of_in_place_parameters_alone_is_made_in_place() -> None:
    assert in_place_changes(THREE, FOUR, IN_PLACE) == ["galera"]
    assert in_place_changes(THREE, MOVED, IN_PLACE) == [], "datadir needs a restart"
    assert in_place_changes(FOUR, FOUR, IN_PLACE) == []
    assert in_place_changes(THREE, FOUR, {}) == []


def test_a_resource_left_unmanaged_by_an_in_place_change_is_found_again() -> None:
    merged = merge_configuration(THREE, FOUR)
    pushed = unmanaged(merged.xml, ["galera"])
    primitive = etree.fromstring(pushed.encode()).find(".//primitive")
    assert primitive is not None
    assert [c.tag for c in primitive] == ["instance_attributes", "meta_attributes",
                                          "operations"], "Pacemaker's schema order"
    assert {nv.get("name"): nv.get("value") for nv in primitive.iterfind(
        "meta_attributes/nvpair")} == {"is-managed": "false"}
    live = f"<cib>{pushed}<status/></cib>"
    assert left_unmanaged(live) == ["galera"]
    assert left_unmanaged(FOUR) == []
    again = merge_configuration(live, FOUR)
    assert again.changed, "the next push manages it again"
