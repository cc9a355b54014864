"""The CIB (Pacemaker's configuration XML) of one cluster, one function per element kind.

Built with lxml from the catalog's typed models; ids are booked by ``IdProvider`` so they
never collide. Status is left empty: crm_verify and crm_simulate fill in what they need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from hastack.catalog.cib_model import (
    Alert,
    Clone,
    ClusterProperty,
    Colocation,
    Constraint,
    FencingLevel,
    Location,
    NodeAttribute,
    Op,
    Order,
    Pairs,
    Primitive,
    Resource,
    ResourceDefault,
)

SCHEMA = "pacemaker-3.9"  # the newest schema Pacemaker 2.1.5 (Debian 12) validates


class IdProvider:
    """Books XML ids: a second request for the same id gets a numbered suffix."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def book(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self._used:
            n += 1
            candidate = f"{wanted}-{n}"
        self._used.add(candidate)
        return candidate


@dataclass(frozen=True)
class ClusterModel:
    """Everything the CIB of one cluster holds, as models (also the source of pcs export)."""

    name: str
    node_ids: Mapping[str, int]
    remotes: tuple[str, ...]
    properties: tuple[ClusterProperty, ...]
    defaults: tuple[ResourceDefault, ...]
    attributes: tuple[NodeAttribute, ...]
    resources: tuple[Resource, ...]
    constraints: tuple[Constraint, ...]
    alerts: tuple[Alert, ...] = ()


def _nvpairs(parent: etree._Element, tag: str, set_id: str, values: Iterable[tuple[str, str]],
             ids: IdProvider) -> etree._Element | None:
    values = list(values)
    if not values:
        return None
    block = etree.SubElement(parent, tag, id=ids.book(set_id))
    for name, value in values:
        etree.SubElement(block, "nvpair", id=ids.book(f"{set_id}-{name}"), name=name,
                         value=value)
    return block


def _op(parent: etree._Element, rid: str, op: Op, ids: IdProvider) -> None:
    attrs = {"id": ids.book(f"{rid}-{op.name}-interval-{op.interval}"), "name": op.name,
             "interval": op.interval}
    if op.timeout:
        attrs["timeout"] = op.timeout
    if op.on_fail:
        attrs["on-fail"] = op.on_fail
    if op.role:
        attrs["role"] = op.role
    etree.SubElement(parent, "op", attrs)


def primitive_element(parent: etree._Element, p: Primitive, ids: IdProvider) -> None:
    parts = p.agent.split(":")
    attrs = {"id": ids.book(p.id), "class": parts[0], "type": parts[-1]}
    if len(parts) == 3:
        attrs["provider"] = parts[1]
    el = etree.SubElement(parent, "primitive", attrs)
    _nvpairs(el, "instance_attributes", f"{p.id}-instance_attributes", p.params, ids)
    _nvpairs(el, "meta_attributes", f"{p.id}-meta_attributes", p.meta, ids)
    if p.ops:
        ops = etree.SubElement(el, "operations")
        for op in p.ops:
            _op(ops, p.id, op, ids)


def clone_element(parent: etree._Element, c: Clone, ids: IdProvider) -> None:
    el = etree.SubElement(parent, "clone", id=ids.book(c.id))
    meta: Pairs = c.meta + ((("promotable", "true"),) if c.promotable else ())
    _nvpairs(el, "meta_attributes", f"{c.id}-meta_attributes", meta, ids)
    primitive_element(el, c.primitive, ids)


def order_element(parent: etree._Element, o: Order, ids: IdProvider) -> None:
    attrs = {"id": ids.book(f"order-{o.first}-{o.then}-{o.kind.lower()}"), "first": o.first,
             "first-action": o.first_action, "then": o.then, "then-action": o.then_action,
             "kind": o.kind}
    if not o.require_all:
        attrs["require-all"] = "false"
    if not o.symmetrical:
        attrs["symmetrical"] = "false"
    etree.SubElement(parent, "rsc_order", attrs)


def colocation_element(parent: etree._Element, c: Colocation, ids: IdProvider) -> None:
    attrs = {"id": ids.book(f"colocation-{c.rsc}-{c.with_rsc}-{c.score}"), "rsc": c.rsc,
             "with-rsc": c.with_rsc, "score": c.score}
    if c.rsc_role:
        attrs["rsc-role"] = c.rsc_role
    if c.with_rsc_role:
        attrs["with-rsc-role"] = c.with_rsc_role
    etree.SubElement(parent, "rsc_colocation", attrs)


def location_element(parent: etree._Element, loc: Location, ids: IdProvider) -> None:
    base = f"location-{loc.rsc}-{loc.node or 'rule'}"
    attrs = {"id": ids.book(base), "rsc": loc.rsc}
    if loc.resource_discovery:
        attrs["resource-discovery"] = loc.resource_discovery
    if loc.node is not None:
        attrs.update(node=loc.node, score=loc.score)
    el = etree.SubElement(parent, "rsc_location", attrs)
    if loc.rule:
        rule = etree.SubElement(el, "rule", {"id": ids.book(f"{base}-rule"),
                                             "score": loc.score, "boolean-op": "and"})
        for attribute, operation, value in loc.rule:
            etree.SubElement(rule, "expression", id=ids.book(f"{base}-rule-expr"),
                             attribute=attribute, operation=operation, value=value)


def fencing_level_element(parent: etree._Element, level: FencingLevel, ids: IdProvider) -> None:
    etree.SubElement(parent, "fencing-level",
                     id=ids.book(f"fl-{level.target}-{level.index}"), target=level.target,
                     index=str(level.index), devices=",".join(level.devices))


def alert_element(parent: etree._Element, alert: Alert, ids: IdProvider) -> None:
    """An alert for node events only: resource and fencing events would run it for nothing."""
    el = etree.SubElement(parent, "alert", id=ids.book(alert.id), path=alert.path)
    etree.SubElement(etree.SubElement(el, "select"), "select_nodes")


def nodes_element(parent: etree._Element, model: ClusterModel, ids: IdProvider) -> None:
    nodes = etree.SubElement(parent, "nodes")
    by_node: dict[str, list[tuple[str, str]]] = {}
    for attr in model.attributes:
        by_node.setdefault(attr.node, []).append((attr.name, attr.value))
    for name, nodeid in model.node_ids.items():
        el = etree.SubElement(nodes, "node", id=str(nodeid), uname=name)
        _nvpairs(el, "instance_attributes", f"nodes-{nodeid}", by_node.get(name, ()), ids)
    for name in model.remotes:
        el = etree.SubElement(nodes, "node", id=name, uname=name, type="remote")
        _nvpairs(el, "instance_attributes", f"nodes-{name}", by_node.get(name, ()), ids)


def online_status(cib: etree._Element, model: ClusterModel) -> None:
    """A status section in which every full member is online and the cluster quorate.

    crm_verify and crm_simulate judge a configuration against a status; with none, every node
    is unclean and nothing can run, which says nothing about the configuration.
    """
    cib.set("have-quorum", "1")
    cib.set("dc-uuid", str(next(iter(model.node_ids.values()))))
    status = cib.find("status")
    assert status is not None
    for name, nodeid in model.node_ids.items():
        etree.SubElement(status, "node_state", id=str(nodeid), uname=name, in_ccm="true",
                         crmd="online", join="member", expected="member")


def render_cib(model: ClusterModel, *, online: bool = False) -> etree._Element:
    """The whole <cib> of one cluster: configuration only (for cibadmin), or with every
    member online (``online``: for crm_verify and crm_simulate)."""
    ids = IdProvider()
    cib = etree.Element("cib", {"validate-with": SCHEMA, "admin_epoch": "0", "epoch": "1",
                                "num_updates": "0"})
    config = etree.SubElement(cib, "configuration")
    crm_config = etree.SubElement(config, "crm_config")
    _nvpairs(crm_config, "cluster_property_set", "cib-bootstrap-options",
             ((p.name, p.value) for p in model.properties), ids)
    nodes_element(config, model, ids)
    resources = etree.SubElement(config, "resources")
    for rsc in model.resources:
        if isinstance(rsc, Clone):
            clone_element(resources, rsc, ids)
        else:
            primitive_element(resources, rsc, ids)
    constraints = etree.SubElement(config, "constraints")
    levels = [c for c in model.constraints if isinstance(c, FencingLevel)]
    for con in model.constraints:
        if isinstance(con, Order):
            order_element(constraints, con, ids)
        elif isinstance(con, Colocation):
            colocation_element(constraints, con, ids)
        elif isinstance(con, Location):
            location_element(constraints, con, ids)
    if levels:
        topology = etree.SubElement(config, "fencing-topology")
        for level in levels:
            fencing_level_element(topology, level, ids)
    defaults = etree.SubElement(config, "rsc_defaults")
    _nvpairs(defaults, "meta_attributes", "rsc-options",
             ((d.name, d.value) for d in model.defaults), ids)
    if model.alerts:
        alerts = etree.SubElement(config, "alerts")
        for alert in model.alerts:
            alert_element(alerts, alert, ids)
    etree.SubElement(cib, "status")
    if online:
        online_status(cib, model)
    return cib


def cib_text(model: ClusterModel, *, online: bool = False) -> str:
    return etree.tostring(render_cib(model, online=online), pretty_print=True,
                          encoding="unicode")


def resource_refs(resources: Sequence[Resource]) -> set[str]:
    """Every id a constraint may name in a cluster: clones and the primitives inside them."""
    refs: set[str] = set()
    for rsc in resources:
        refs.add(rsc.id)
        if isinstance(rsc, Clone):
            refs.add(rsc.primitive.id)
    return refs
