"""``crm_mon --output-as=xml`` parsed into an immutable snapshot (pure: text in, data out).

Decisions (is the cluster settled? where does the VIP run?) read this snapshot, never the
live cluster, so they are testable with canned output.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from lxml import etree

from hastack.errors import ToolError


@dataclass(frozen=True)
class NodeState:
    name: str
    online: bool
    standby: bool
    unclean: bool
    remote: bool
    is_dc: bool


@dataclass(frozen=True)
class ResourceState:
    id: str
    agent: str
    role: str
    active: bool
    failed: bool
    blocked: bool
    nodes: tuple[str, ...]
    clone: str | None = None  # the clone this instance belongs to


@dataclass(frozen=True)
class Failure:
    """A failed resource action, as crm_mon lists it until a cleanup."""

    resource: str
    node: str
    task: str
    status: str
    reason: str
    at: float = 0.0  # unix time of the result (last-rc-change, whole seconds); 0: unknown


@dataclass(frozen=True)
class ClusterStatus:
    dc: str | None
    quorate: bool
    nodes: tuple[NodeState, ...]
    resources: tuple[ResourceState, ...]
    failures: tuple[Failure, ...] = ()

    def node(self, name: str) -> NodeState | None:
        return next((n for n in self.nodes if n.name == name), None)

    def instances(self, rid: str) -> tuple[ResourceState, ...]:
        """A primitive's states, or every instance of a clone (by clone or primitive id)."""
        return tuple(r for r in self.resources if r.id == rid or r.clone == rid)

    def running_on(self, rid: str) -> tuple[str, ...]:
        return tuple(sorted({n for r in self.instances(rid) if r.active for n in r.nodes}))

    def promoted_on(self, rid: str) -> tuple[str, ...]:
        return tuple(sorted({n for r in self.instances(rid)
                             if r.active and r.role in ("Promoted", "Master") for n in r.nodes}))

    def failures_since(self, when: float) -> tuple[Failure, ...]:
        """Failures recorded at ``when`` or after (a failure an earlier fault left on record,
        kept until its failure-timeout, is not this one's); Pacemaker counts whole seconds."""
        return tuple(f for f in self.failures if f.at >= int(when))

    def broken(self, ids: set[str]) -> list[str]:
        """"ID on NODES" for each instance of ``ids`` (primitive or clone ids) left failed or
        blocked: a clone running on some members is not whole when one member's instance
        is FAILED (a Galera member whose promote failed)."""
        return sorted({f"{r.id} on {','.join(r.nodes) or '?'}" for r in self.resources
                       if (r.id in ids or r.clone in ids) and (r.failed or r.blocked)})

    @property
    def failed(self) -> tuple[ResourceState, ...]:
        return tuple(r for r in self.resources if r.failed)

    @property
    def online_members(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes if n.online and not n.remote)


def _unix_time(stamp: str | None) -> float:
    """crm_mon's time of a result as unix time: "2026-12-05 06:47:08Z" (a live cluster's
    failures) or "Sat Dec  5 06:47:08 2026" (crm_simulate's; the nodes run in UTC); 0.0 when
    absent or unreadable."""
    for form in ("%Y-%m-%d %H:%M:%SZ", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.datetime.strptime(stamp or "", form).replace(
                tzinfo=datetime.UTC).timestamp()
        except ValueError:
            continue
    return 0.0


def _flag(el: etree._Element, name: str) -> bool:
    return el.get(name) == "true"


def _resource(el: etree._Element, clone: str | None) -> ResourceState:
    # With record-pending (the default), a start or stop in progress shows as active (role
    # Starting/Stopping): it is not running until the start returns (RabbitMQ's, for one,
    # wipes and re-joins first), and a stopping one is going away.
    starting = el.get("pending", "").lower().startswith(("start", "stop")) or \
        el.get("role") in ("Starting", "Stopping")
    return ResourceState(
        id=el.get("id", ""), agent=el.get("resource_agent", ""), role=el.get("role", ""),
        active=_flag(el, "active") and not starting, failed=_flag(el, "failed"),
        blocked=_flag(el, "blocked"),
        nodes=tuple(n.get("name", "") for n in el.findall("node")), clone=clone)


def parse_crm_mon(xml: str) -> ClusterStatus:
    """Parse crm_mon's XML (API 2.x).

    Raises:
        ToolError: the text is not crm_mon XML.
    """
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError as exc:
        raise ToolError("crm_mon", ("crm_mon", "--output-as=xml"), 0, str(exc),
                        what="crm_mon printed something that is not XML") from None
    dc_el = root.find("summary/current_dc")
    present = dc_el is not None and dc_el.get("present") == "true"
    dc = dc_el.get("name") if present and dc_el is not None else None
    quorate = bool(present and dc_el is not None and dc_el.get("with_quorum") == "true")
    nodes = tuple(NodeState(name=n.get("name", ""), online=_flag(n, "online"),
                            standby=_flag(n, "standby"), unclean=_flag(n, "unclean"),
                            remote=n.get("type") == "remote", is_dc=_flag(n, "is_dc"))
                  for n in root.findall("nodes/node"))
    resources: list[ResourceState] = []
    section = root.find("resources")
    for el in section if section is not None else []:
        if el.tag == "resource":
            resources.append(_resource(el, None))
        elif el.tag == "clone":
            resources.extend(_resource(r, el.get("id")) for r in el.findall("resource"))
        elif el.tag == "group":
            resources.extend(_resource(r, None) for r in el.findall("resource"))
    failures = tuple(
        Failure(resource=f.get("op_key", "").rsplit("_", 2)[0], node=f.get("node", ""),
                task=f.get("task", ""), status=f.get("exitreason") or f.get("status") or "",
                reason=f.get("exitreason", ""), at=_unix_time(f.get("last-rc-change")))
        for f in root.findall("failures/failure"))
    return ClusterStatus(dc=dc, quorate=quorate, nodes=nodes, resources=tuple(resources),
                         failures=failures)


def expired_monitor_failures(status_xml: str) -> list[tuple[str, str]]:
    """(resource, node) pairs whose recurring monitor failed once and whose failure expired
    (failure-timeout: no fail count is left for it), read from the CIB's status section.

    Pacemaker 2.1.5 reschedules such a monitor at every scheduler run for as long as the
    failure stays in the resource's history (lib/pengine/unpack.c: "@TODO We should skip
    this if there is a newer successful monitor"), so ``crm_resource --wait`` never sees the
    cluster settle (a lab's rotation waited 900 s for a RabbitMQ monitor rescheduled every
    minute)."""
    try:
        root = etree.fromstring(status_xml.encode())
    except etree.XMLSyntaxError as exc:
        raise ToolError("cibadmin", ("cibadmin", "--query"), 0, f"unparsable CIB: {exc}") from exc
    found = []
    for state in root.iter("node_state"):
        counts = {nv.get("name") for nv in state.iterfind("transient_attributes//nvpair")}
        for resource in state.iterfind("lrm/lrm_resources/lrm_resource"):
            rid = resource.get("id", "")
            for op in resource.iterfind("lrm_rsc_op"):
                interval = op.get("interval", "0")
                if (op.get("id", "").startswith(f"{rid}_last_failure_") and interval != "0"
                        and f"fail-count-{rid}#{op.get('operation')}_{interval}" not in counts):
                    found.append((rid, state.get("uname", "")))
    return found
