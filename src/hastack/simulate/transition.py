"""A transition graph carried out here instead of by ``crm_simulate --simulate``.

crm_simulate executes a graph by writing every action's result into its copy of the CIB, and
each write copies, diffs and digests the whole CIB: at 100 compute nodes the cold start's
~1,700 actions took 218 s, while scheduling the same transition took about one second. So
crm_simulate only schedules (``--save-graph``), and the graph is carried out here, the way
its simulated executor does (Pacemaker 2.1, lib/pacemaker/pcmk_simulate.c): a synapse fires
once every action it waits for has fired, in passes over the graph in document order; every
action succeeds except those in ``never`` (and whatever waits for them).

Two consumers:

- ``execute_on_cib`` writes the results into the CIB's status section exactly as
  crm_simulate does (history ids, call ids, op digests), for the baseline, whose CIB is the
  input of every case. Pacemaker itself then reads that CIB: the baseline's settled state is
  crm_simulate's own reading of it, and a baseline that did not settle would show.
- ``execute_on_state`` applies the graph to a ``ClusterStatus``, for a case, whose resulting
  state is only judged, never scheduled again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable
from dataclasses import replace

from lxml import etree

from hastack.errors import ToolError
from hastack.pacemaker.status import ClusterStatus, NodeState, ResourceState
from hastack.simulate.outcome import Graph, GraphAction

# Actions that leave no history and change no state (pcmk_simulate.c skips or only logs them).
_NO_HISTORY = ("reprobe", "delete", "meta-data", "cancel")
# crm_simulate's placeholder for the controller's UUID in transition keys.
_UUID = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
# Attributes left out of an operation digest (lib/common/operations.c:
# should_filter_for_digest), besides every CRM_meta_* one.
_NOT_DIGESTED = ("id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid",
                 "pcmk_external_ip")
# Actions that leave a resource's state as it was (a probe finds nothing in a simulation).
_NO_CHANGE = (*_NO_HISTORY, "stonith", "monitor", "notify")
_PROMOTABLE_ROLES = ("Promoted", "Unpromoted", "Master", "Slave")


def fired(order: Iterable[int], inputs: dict[int, tuple[int, ...]],
          never: Collection[int] = ()) -> list[int]:
    """The actions that run, in the order crm_simulate's executor runs them: passes over the
    graph, each firing every action whose inputs have all fired (earlier in the same pass
    included), until a pass fires nothing."""
    pending = [a for a in order if a not in never]
    done: set[int] = set()
    out: list[int] = []
    progress = True
    while pending and progress:
        progress = False
        waiting = []
        for action in pending:
            if all(i in done for i in inputs.get(action, ())):
                done.add(action)
                out.append(action)
                progress = True
            else:
                waiting.append(action)
        pending = waiting
    return out


# --- the CIB, for the baseline ---------------------------------------------------------------


def _escape(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def op_digest(params: dict[str, str]) -> str:
    """What Pacemaker stores as ``op-digest`` (lib/common/digest.c: the filtered parameters,
    sorted, as one ``<parameters/>`` line, MD5). Checked against crm_simulate's own digests in
    tests/simulate: a wrong digest makes the scheduler restart the resource."""
    keep = {k: v for k, v in params.items()
            if not k.startswith("CRM_meta_") and k not in _NOT_DIGESTED}
    if params.get("CRM_meta_interval", "0") != "0" and "CRM_meta_timeout" in params:
        keep["CRM_meta_timeout"] = params["CRM_meta_timeout"]
    text = " <parameters" + "".join(f' {k}="{_escape(v)}"' for k, v in sorted(keep.items()))
    return hashlib.md5((text + "/>\n").encode(), usedforsecurity=False).hexdigest()


def _child(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    found = parent.find(tag)
    if found is None:
        found = etree.SubElement(parent, tag, attrs)
    return found


class _Status:
    """The CIB's status section, indexed by node name."""

    def __init__(self, root: etree._Element) -> None:
        self.section = _child(root, "status")
        self.nodes = {n.get("uname", ""): n for n in self.section.iterfind("node_state")}

    def node(self, name: str, uuid: str) -> etree._Element:
        if name not in self.nodes:  # pcmk__inject_node: a bare node_state
            self.nodes[name] = etree.SubElement(self.section, "node_state", id=uuid, uname=name)
        return self.nodes[name]

    def history(self, node: etree._Element, rsc: etree._Element) -> etree._Element:
        resources = _child(_child(node, "lrm", id=node.get("id", "")), "lrm_resources")
        rid = rsc.get("id", "")
        for entry in resources.iterfind("lrm_resource"):
            if entry.get("id") == rid:
                return entry
        attrs = {"id": rid, "class": rsc.get("class", ""), "type": rsc.get("type", "")}
        if rsc.get("provider"):
            attrs["provider"] = rsc.get("provider", "")
        return etree.SubElement(resources, "lrm_resource", attrs)

    def fence(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            return
        node.attrib.update({"in_ccm": "false", "crmd": "offline", "join": "down",
                            "expected": "down"})
        for tag in ("lrm", "transient_attributes"):
            for el in node.findall(tag):
                node.remove(el)


def _record(history: etree._Element, action: etree._Element, params: dict[str, str],
            now: str) -> None:
    """pcmk__inject_action_result: the action's result as its history entry."""
    rsc = history.get("id", "")
    task = action.get("operation", "")
    interval = params.get("CRM_meta_interval", "0")
    rc = params.get("CRM_meta_op_target_rc", "0")
    call_id = 1 + max((int(op.get("call-id", "0")) for op in history.iterfind("lrm_rsc_op")),
                      default=0)
    if task == "notify":
        op_id = (f"{rsc}_{params.get('CRM_meta_notify_type', '')}_notify_"
                 f"{params.get('CRM_meta_notify_operation', '')}_0")
    elif interval != "0":
        op_id = f"{rsc}_{task}_{interval}"
    else:
        op_id = f"{rsc}_last_0"
    key = f"{call_id}:-1:{rc}:{_UUID}"
    entry = next((op for op in history.iterfind("lrm_rsc_op") if op.get("id") == op_id), None)
    if entry is None:
        entry = etree.SubElement(history, "lrm_rsc_op")
    entry.attrib.update({
        "id": op_id, "operation_key": f"{rsc}_{task}_{interval}", "operation": task,
        "crm-debug-origin": "crm_simulate",
        "crm_feature_set": params.get("crm_feature_set", ""), "transition-key": key,
        "transition-magic": f"0:{rc};{key}", "exit-reason": "", "call-id": str(call_id),
        "rc-code": rc, "op-status": "0", "interval": interval, "last-rc-change": now,
        "exec-time": "0", "queue-time": "0", "op-digest": op_digest(params)})


def _params(action: etree._Element) -> dict[str, str]:
    attrs = action.find("attributes")
    return {str(k): str(v) for k, v in attrs.attrib.items()} if attrs is not None else {}


def execute_on_cib(cib_xml: str, graph_xml: str) -> str:
    """The CIB after every action of the graph succeeded.

    Raises:
        ToolError: the graph is not XML.
    """
    try:
        root = etree.fromstring(cib_xml.encode())
        graph = etree.fromstring(graph_xml.encode())
    except etree.XMLSyntaxError as exc:
        raise ToolError("crm_simulate", ("crm_simulate",), 0, str(exc),
                        what="crm_simulate wrote a CIB or graph that is not XML") from None
    actions: dict[int, etree._Element] = {}
    inputs: dict[int, tuple[int, ...]] = {}
    for synapse in graph.iterfind("synapse"):
        needs = tuple(int(t.get("id", "-1")) for t in synapse.iterfind("inputs/trigger/*"))
        for el in synapse.iterfind("action_set/*"):
            actions[int(el.get("id", "-1"))] = el
            inputs[int(el.get("id", "-1"))] = needs
    status = _Status(root)
    now = str(int(time.time()))
    for aid in fired(actions, inputs):
        el = actions[aid]
        params = _params(el)
        if el.tag == "crm_event":
            if el.get("operation") == "stonith" \
                    and params.get("CRM_meta_stonith_action", "reboot") != "on":
                status.fence(el.get("on_node", ""))
            continue
        if el.tag != "rsc_op" or el.get("operation") in _NO_HISTORY:
            continue
        rsc = el.find("primitive")
        if rsc is None:
            continue
        name = el.get("on_node", "")
        uuid = name if el.get("router_node") else el.get("on_node_uuid", name)
        _record(status.history(status.node(name, uuid), rsc), el, params, now)
    return etree.tostring(root, encoding="unicode")


# --- the state, for a case -------------------------------------------------------------------


def lose(state: ClusterStatus, nodes: Collection[str], *, quorate: bool | None = None
         ) -> ClusterStatus:
    """``nodes`` lost (crm_simulate --node-fail): unclean, still holding what they ran."""
    return replace(state, quorate=state.quorate if quorate is None else quorate,
                   nodes=tuple(replace(n, online=False, unclean=True) if n.name in nodes
                               else n for n in state.nodes))


def execute_on_state(before: ClusterStatus, graph: Graph, *, connections: dict[str, str],
                     failed: Collection[tuple[str, str]] = (),
                     never: Collection[int] = ()) -> ClusterStatus:
    """The state after the graph ran from ``before`` (as crm_simulate would read its CIB).

    ``connections`` maps each remote node to its connection resource; ``failed`` lists the
    (resource, node) whose monitor failure was injected; actions in ``never`` and all that
    wait on them do not run.

    Raises:
        ToolError: the graph holds an action this does not know how to carry out.
    """
    running: dict[tuple[str, str], ResourceState] = {}
    for rsc in before.resources:
        for name in rsc.nodes:
            if rsc.active:
                running[(rsc.id, name)] = replace(rsc, nodes=(name,))
    templates = {r.id: r for r in before.resources}
    fenced: set[str] = set()
    for aid in fired(graph.actions, graph.inputs, never):
        act = graph.actions[aid]
        if act.op == "stonith" and not act.pseudo:
            fenced.add(act.node)
            running = {k: v for k, v in running.items() if k[1] != act.node}
        elif act.pseudo or not act.resource or act.op in _NO_CHANGE:
            continue
        elif act.op == "stop":
            running.pop((act.resource, act.node), None)
        elif act.op in ("start", "promote", "demote"):
            running[(act.resource, act.node)] = _instance(act, templates.get(act.resource))
        else:
            raise ToolError("crm_simulate", ("crm_simulate",), 0, act.key,
                            what=f"the transition holds {act.op} of {act.resource}, which "
                            "hastack does not carry out")
    lost_links = {remote for remote, rsc in connections.items()
                  if any(prim == rsc for prim, _ in failed)}
    nodes: list[NodeState] = []
    for node in before.nodes:
        if node.name in lost_links:  # a failed connection: fenced or not, still to reset
            nodes.append(replace(node, online=False, unclean=True))
        elif node.name in fenced:
            nodes.append(replace(node, online=False, unclean=False))
        elif node.name in connections:
            up = any(k[0] == connections[node.name] for k in running)
            nodes.append(replace(node, online=up, unclean=False))
        else:
            nodes.append(node)
    return replace(before, nodes=tuple(nodes), resources=tuple(running.values()))


def _instance(act: GraphAction, template: ResourceState | None) -> ResourceState:
    promotable = template is not None and template.role in _PROMOTABLE_ROLES
    role = ("Promoted" if act.op == "promote" else "Unpromoted" if promotable else "Started")
    return ResourceState(id=act.resource, agent=template.agent if template else "", role=role,
                         active=True, failed=False, blocked=False, nodes=(act.node,),
                         clone=template.clone if template else None)
