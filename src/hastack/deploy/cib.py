"""Merging hastack's desired configuration into a live CIB (pure XML work).

hastack owns resources, constraints, fencing topology, resource defaults, alerts, the cluster
properties it sets and the node attributes it sets; Pacemaker owns everything else (its own
properties such as dc-version, the status section). The merge replaces what hastack owns,
keeps the rest, and says whether anything changed, so a re-run pushes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

OWNED_SECTIONS = ("resources", "constraints", "fencing-topology", "rsc_defaults", "alerts")
BOOTSTRAP_SET = "cib-bootstrap-options"


@dataclass(frozen=True)
class Merge:
    xml: str
    changed: bool


def _c14n(el: etree._Element | None) -> bytes:
    if el is None:
        return b""
    clean = copy.deepcopy(el)
    for node in clean.iter():
        node.tail = None
        if node.text is not None and not node.text.strip():
            node.text = None
    return etree.tostring(clean, method="c14n")


def _section(config: etree._Element, tag: str) -> etree._Element | None:
    return config.find(tag)


def _replace_section(live_config: etree._Element, desired_config: etree._Element,
                     tag: str) -> bool:
    live = _section(live_config, tag)
    wanted = _section(desired_config, tag)
    if _c14n(live) == _c14n(wanted):
        return False
    if live is not None:
        live_config.remove(live)
    if wanted is not None:
        # Keep Pacemaker's schema order: sections after crm_config/nodes in desired order.
        live_config.append(copy.deepcopy(wanted))
    return True


def _merge_properties(live_config: etree._Element, desired_config: etree._Element) -> bool:
    crm_config = live_config.find("crm_config")
    if crm_config is None:
        crm_config = etree.SubElement(live_config, "crm_config")
    live_set = crm_config.find(f"cluster_property_set[@id='{BOOTSTRAP_SET}']")
    if live_set is None:
        live_set = etree.SubElement(crm_config, "cluster_property_set", id=BOOTSTRAP_SET)
    changed = False
    for nv in desired_config.iterfind(f"crm_config/cluster_property_set[@id='{BOOTSTRAP_SET}']"
                                      "/nvpair"):
        name, value = nv.get("name"), nv.get("value")
        current = next((x for x in live_set.iterfind("nvpair") if x.get("name") == name), None)
        if current is None:
            live_set.append(copy.deepcopy(nv))
            changed = True
        elif current.get("value") != value:
            current.set("value", value or "")
            changed = True
    return changed


def _merge_nodes(live_config: etree._Element, desired_config: etree._Element) -> bool:
    live_nodes = live_config.find("nodes")
    if live_nodes is None:
        live_nodes = etree.SubElement(live_config, "nodes")
    changed = False
    for wanted in desired_config.iterfind("nodes/node"):
        uname = wanted.get("uname")
        live = next((n for n in live_nodes.iterfind("node") if n.get("uname") == uname), None)
        if live is None and wanted.get("type") != "remote":
            # A cluster node the cluster has never seen: listed before it joins, it would be
            # UNCLEAN (startup-fencing) and fenced at once. Pacemaker lists it when it joins;
            # its attributes follow with the next push.
            continue
        if live is None:
            live_nodes.append(copy.deepcopy(wanted))
            changed = True
            continue
        for nv in wanted.iterfind("instance_attributes/nvpair"):
            attrs = live.find("instance_attributes")
            if attrs is None:
                attrs = etree.SubElement(live, "instance_attributes",
                                         id=f"nodes-{live.get('id')}")
            current = next((x for x in attrs.iterfind("nvpair")
                            if x.get("name") == nv.get("name")), None)
            if current is None:
                attrs.append(copy.deepcopy(nv))
                changed = True
            elif current.get("value") != nv.get("value"):
                current.set("value", nv.get("value") or "")
                changed = True
    return changed


def merge_configuration(live_xml: str, desired_xml: str) -> Merge:
    """The live <configuration> with hastack's sections replaced.

    Only the configuration is pushed (``cibadmin --replace --scope configuration``): one
    transaction, Pacemaker bumps the epoch, and the status section is left alone.
    """
    live = etree.fromstring(live_xml.encode())
    desired = etree.fromstring(desired_xml.encode())
    live_config = live.find("configuration")
    desired_config = desired.find("configuration")
    assert live_config is not None and desired_config is not None
    changed = _merge_properties(live_config, desired_config)
    changed |= _merge_nodes(live_config, desired_config)
    for tag in OWNED_SECTIONS:
        changed |= _replace_section(live_config, desired_config, tag)
    # Pacemaker's schema wants configuration children in order.
    order = ("crm_config", "nodes", "resources", "constraints", "fencing-topology",
             "op_defaults", "rsc_defaults", "alerts", "tags")
    children = sorted(live_config, key=lambda el: order.index(el.tag)
                      if el.tag in order else len(order))
    for child in list(live_config):
        live_config.remove(child)
    live_config.extend(children)
    return Merge(xml=etree.tostring(live_config, encoding="unicode"), changed=changed)


IN_PLACE_MARK = "-hastack-in-place"  # the id suffix of the is-managed=false it sets


def _params_blanked(primitive: etree._Element, names: Collection[str]) -> bytes:
    clean = copy.deepcopy(primitive)
    for nv in clean.iterfind("instance_attributes/nvpair"):
        if nv.get("name") in names:
            nv.set("value", "")
    return _c14n(clean)


def in_place_changes(live_xml: str, desired_xml: str,
                     in_place: Mapping[str, Collection[str]]) -> list[str]:
    """The primitives of ``in_place`` (id: the parameters its agent reads only when it starts
    an instance) whose live definition differs from the desired one in those values only."""
    live = etree.fromstring(live_xml.encode())
    desired = etree.fromstring(desired_xml.encode())
    found = []
    for rid, names in in_place.items():
        have = live.find(f".//resources//primitive[@id='{rid}']")
        want = desired.find(f".//resources//primitive[@id='{rid}']")
        if have is None or want is None or _c14n(have) == _c14n(want):
            continue
        if _params_blanked(have, names) == _params_blanked(want, names):
            found.append(rid)
    return found


def unmanaged(configuration_xml: str, ids: Sequence[str]) -> str:
    """``configuration_xml`` with these primitives unmanaged (is-managed=false, under an id
    that says hastack set it)."""
    config = etree.fromstring(configuration_xml.encode())
    for rid in ids:
        primitive = config.find(f".//resources//primitive[@id='{rid}']")
        assert primitive is not None, rid
        meta = primitive.find("meta_attributes")
        if meta is None:  # before <operations>, where Pacemaker's schema wants it
            meta = etree.Element("meta_attributes", id=f"{rid}-meta_attributes")
            ops = primitive.find("operations")
            if ops is None:
                primitive.append(meta)
            else:
                ops.addprevious(meta)
        etree.SubElement(meta, "nvpair", id=f"{rid}{IN_PLACE_MARK}", name="is-managed",
                         value="false")
    return etree.tostring(config, encoding="unicode")


def left_unmanaged(live_xml: str) -> list[str]:
    """Primitives a run left unmanaged for an in-place change (killed before it ended)."""
    live = etree.fromstring(live_xml.encode())
    return sorted(p.get("id") or "" for p in live.iterfind(".//resources//primitive")
                  if p.find(f"meta_attributes/nvpair[@id='{p.get('id')}{IN_PLACE_MARK}']")
                  is not None)


def configured_resources(cib_xml: str) -> str:
    """The CIB's configured resources section (not the status section's history of what ran)."""
    found = etree.fromstring(cib_xml.encode()).find("configuration/resources")
    return "" if found is None else etree.tostring(found, encoding="unicode")


def as_live(configuration_xml: str, live_xml: str, ids: Sequence[str]) -> str:
    """``configuration_xml`` with these primitives as the live CIB defines them: what
    Pacemaker schedules after an in-place change, whose probes record the new parameters
    as the running ones (a dry run's simulation)."""
    config = etree.fromstring(configuration_xml.encode())
    live = etree.fromstring(live_xml.encode())
    for rid in ids:
        have = live.find(f".//configuration/resources//primitive[@id='{rid}']")
        want = config.find(f".//resources//primitive[@id='{rid}']")
        parent = None if want is None else want.getparent()
        if have is not None and want is not None and parent is not None:
            parent.replace(want, copy.deepcopy(have))
    return etree.tostring(config, encoding="unicode")
