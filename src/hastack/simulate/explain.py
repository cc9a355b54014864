"""Why is X where it is (or stopped)? The order and colocation chain a resource depends on,
read from the CIB's own constraints, so it explains exactly what Pacemaker was given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

# The reason the catalog gives for a constraint, which the CIB has no room for:
# ("order", first, then) or ("colocation", rsc, with_rsc) -> why.
Whys = Mapping[tuple[str, str, str], str]


@dataclass(frozen=True)
class Link:
    relation: str  # "after" (order), "with" (colocation), "where" (location)
    text: str  # e.g. "starts after promote galera-clone (Mandatory)"
    constraint: str  # the constraint's id in the CIB
    target: str | None  # the resource depended on (None for locations)


@dataclass(frozen=True)
class Chain:
    resource: str
    summary: str  # what the resource is: "clone of systemd:keystone (clone-max 3)"
    links: tuple[tuple[Link, Chain | None], ...]  # None: already shown above

    def lines(self, indent: str = "") -> list[str]:
        out = [f"{indent}{self.resource}: {self.summary}"]
        for link, child in self.links:
            out.append(f"{indent}  {link.text}  [{link.constraint}]")
            if child is not None:
                out += child.lines(indent + "    ")
        return out

    def depends_on(self, other: str) -> bool:
        return any(link.target == other or (child is not None and child.depends_on(other))
                   for link, child in self.links)


class CibConstraints:
    """The resources and constraints of one CIB, indexed for explanations."""

    def __init__(self, cib_xml: str, whys: Whys | None = None) -> None:
        root = etree.fromstring(cib_xml.encode())
        self.whys: Whys = whys or {}
        self.summaries: dict[str, str] = {}
        self.clone_of: dict[str, str] = {}  # primitive id -> clone id
        for el in root.iterfind("configuration/resources/*"):
            self.summaries[el.get("id", "")] = _summary(el)
            if el.tag == "clone":
                prim = el.find("primitive")
                if prim is not None:
                    self.clone_of[prim.get("id", "")] = el.get("id", "")
        self.orders = [dict(c.attrib) for c in root.iterfind("configuration/constraints/"
                                                             "rsc_order")]
        self.colocations = [dict(c.attrib) for c in root.iterfind(
            "configuration/constraints/rsc_colocation")]
        self.locations = list(root.iterfind("configuration/constraints/rsc_location"))

    def resolve(self, ref: str) -> str | None:
        if ref in self.summaries:
            return ref
        return self.clone_of.get(ref)

    def has_order(self, first: str, then: str, first_action: str = "start") -> bool:
        """An order that keeps ``first`` before ``then`` when both start (any kind but
        Serialize: Optional is enough for a start order)."""
        return any(o.get("first") == first and o.get("then") == then
                   and o.get("first-action", "start") == first_action
                   and o.get("kind", "Mandatory") != "Serialize" for o in self.orders)

    def has_colocation(self, rsc: str, with_rsc: str) -> bool:
        return any(c.get("rsc") == rsc and c.get("with-rsc") == with_rsc
                   and c.get("score") in ("INFINITY", "+INFINITY") for c in self.colocations)

    def _why(self, kind: str, a: str, b: str) -> str:
        why = self.whys.get((kind, a, b))
        return f": {why}" if why else ""

    def links(self, rid: str) -> list[Link]:
        found: list[Link] = []
        for o in self.orders:
            if o.get("then") == rid:
                kind = o.get("kind", "Mandatory")
                why = self._why("order", o.get("first", ""), rid)
                found.append(Link("after", f"{o.get('then-action', 'start')}s after "
                                  f"{o.get('first-action', 'start')} {o.get('first')} "
                                  f"({kind}){why}", o.get("id", ""), o.get("first")))
        for c in self.colocations:
            if c.get("rsc") == rid:
                role = f" ({c['with-rsc-role']})" if c.get("with-rsc-role") else ""
                why = self._why("colocation", rid, c.get("with-rsc", ""))
                found.append(Link("with", f"runs with {c.get('with-rsc')}{role} "
                                  f"(score {c.get('score')}){why}", c.get("id", ""),
                                  c.get("with-rsc")))
        for loc in self.locations:
            if loc.get("rsc") == rid:
                found.append(Link("where", _location_text(loc), loc.get("id", ""), None))
        return found


def _summary(el: etree._Element) -> str:
    def meta(node: etree._Element) -> dict[str, str]:
        return {nv.get("name", ""): nv.get("value", "")
                for nv in node.iterfind("meta_attributes/nvpair")}

    def agent(prim: etree._Element) -> str:
        parts = [prim.get("class", ""), prim.get("provider", ""), prim.get("type", "")]
        return ":".join(p for p in parts if p)

    if el.tag == "clone":
        prim = el.find("primitive")
        values = meta(el)
        kind = "promotable clone" if values.get("promotable") == "true" else "clone"
        bound = f" (clone-max {values['clone-max']})" if "clone-max" in values else \
            " (one instance per eligible node)"
        return f"{kind} of {agent(prim) if prim is not None else '?'}{bound}"
    return f"one instance of {agent(el)}"


def _location_text(loc: etree._Element) -> str:
    if loc.get("node"):
        return f"on {loc.get('node')} score {loc.get('score')}"
    exprs = [f"{e.get('attribute')} {e.get('operation')} {e.get('value')}"
             for e in loc.iter("expression")]
    rule = loc.find("rule")
    score = rule.get("score") if rule is not None else "?"
    discovery = f", discovery {loc.get('resource-discovery')}" \
        if loc.get("resource-discovery") else ""
    return f"only where {' and '.join(exprs)} (score {score}{discovery})"


def explain(cib: CibConstraints, ref: str, *, depth: int = 8) -> Chain | None:
    """The chain ``ref`` depends on; None if the CIB has no such resource."""
    rid = cib.resolve(ref)
    if rid is None:
        return None
    shown: set[str] = set()

    def walk(current: str, level: int) -> Chain:
        shown.add(current)
        links: list[tuple[Link, Chain | None]] = []
        for link in cib.links(current):
            child = None
            if link.target is not None and link.target not in shown and level < depth:
                child = walk(link.target, level + 1)
            links.append((link, child))
        return Chain(current, cib.summaries.get(current, "?"), tuple(links))

    return walk(rid, 0)


def resources(cib: CibConstraints) -> list[str]:
    return sorted(set(cib.summaries) | set(cib.clone_of))
