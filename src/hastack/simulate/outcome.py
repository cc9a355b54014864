"""crm_simulate's answer as data: the transition summary, its graph, the resulting state.

The resulting state reuses the crm_mon parser (crm_simulate's revised status has the same
shape). The graph gives what each action waits for, which is how ordering and "nothing
recovered before fencing" are judged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from hastack.errors import ToolError
from hastack.pacemaker.simulator import Simulation
from hastack.pacemaker.status import ClusterStatus, NodeState, parse_crm_mon


@dataclass(frozen=True)
class Step:
    """One line of the transition summary: start, stop, move, restart, recover, promote,
    demote, fence ... (``resource`` without clone instance numbers)."""

    action: str
    resource: str
    node: str = ""
    source: str = ""
    dest: str = ""
    reason: str = ""
    blocked: bool = False

    def text(self) -> str:
        where = f"{self.source} -> {self.dest}" if self.dest else self.node or self.source
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.action} {self.resource} {where}{why}" + (" [blocked]" if self.blocked
                                                                else "")


@dataclass(frozen=True)
class GraphAction:
    id: int
    op: str  # start, stop, promote, demote, notify, monitor, stonith, running ...
    resource: str  # primitive id ('' for pseudo and fencing actions)
    node: str
    pseudo: bool
    key: str


@dataclass(frozen=True)
class Graph:
    actions: dict[int, GraphAction]
    inputs: dict[int, tuple[int, ...]]  # action -> the actions it waits for

    def ops(self, op: str, resource: str | None = None) -> list[GraphAction]:
        return [a for a in self.actions.values() if a.op == op and not a.pseudo
                and (resource is None or a.resource == resource)]

    def fencing(self) -> list[GraphAction]:
        return [a for a in self.actions.values() if a.op == "stonith"]

    def upstream(self, action: int) -> set[int]:
        seen: set[int] = set()
        todo = deque(self.inputs.get(action, ()))
        while todo:
            current = todo.popleft()
            if current not in seen:
                seen.add(current)
                todo.extend(self.inputs.get(current, ()))
        return seen

    def downstream(self, roots: Iterable[int]) -> set[int]:
        users: dict[int, list[int]] = {}
        for action, needs in self.inputs.items():
            for need in needs:
                users.setdefault(need, []).append(action)
        seen: set[int] = set()
        todo = deque(roots)
        while todo:
            current = todo.popleft()
            for user in users.get(current, ()):
                if user not in seen:
                    seen.add(user)
                    todo.append(user)
        return seen


@dataclass(frozen=True)
class Outcome:
    steps: tuple[Step, ...]
    graph: Graph
    state: ClusterStatus
    cib: str  # the CIB after the transition (input of a further transition)

    @property
    def fenced(self) -> tuple[str, ...]:
        return tuple(sorted({s.node for s in self.steps if s.action.startswith("fence")
                             and not s.blocked}))

    @property
    def active(self) -> bool:
        """Would this transition do anything (blocked actions aside)?"""
        return any(not s.blocked for s in self.steps)


def _xml(text: str, what: str) -> etree._Element:
    try:
        return etree.fromstring(text.encode())
    except etree.XMLSyntaxError as exc:
        raise ToolError("crm_simulate", ("crm_simulate",), 0, str(exc),
                        what=f"crm_simulate wrote {what} that is not XML") from None


def _bare(resource: str) -> str:
    return resource.split(":", 1)[0]


def _steps(root: etree._Element) -> tuple[Step, ...]:
    steps: list[Step] = []
    for el in root.iterfind("actions/*"):
        if el.tag == "node_action":
            task = el.get("task", "Fence")
            steps.append(Step(action=task.split(" ", 1)[0].lower(), resource="",
                              node=el.get("node", ""), reason=el.get("reason", "")))
        elif el.tag == "rsc_action":
            steps.append(Step(action=el.get("action", ""), resource=_bare(el.get("resource", "")),
                              node=el.get("node", ""), source=el.get("source", ""),
                              dest=el.get("dest", ""), reason=el.get("reason", ""),
                              blocked=el.get("blocked") == "true"))
    return tuple(steps)


def parse_graph(text: str) -> Graph:
    root = _xml(text, "a graph")
    actions: dict[int, GraphAction] = {}
    inputs: dict[int, tuple[int, ...]] = {}

    def action(el: etree._Element) -> GraphAction:
        prim = el.find("primitive")
        return GraphAction(id=int(el.get("id", "-1")), op=el.get("operation", ""),
                           resource=prim.get("id", "") if prim is not None else "",
                           node=el.get("on_node", ""), pseudo=el.tag == "pseudo_event",
                           key=el.get("operation_key", ""))

    for synapse in root.iterfind("synapse"):
        needs = tuple(int(t.get("id", "-1")) for t in synapse.iterfind("inputs/trigger/*"))
        for el in synapse.iterfind("action_set/*"):
            act = action(el)
            actions[act.id] = act
            inputs[act.id] = needs
    return Graph(actions=actions, inputs=inputs)


def _state(root: etree._Element) -> ClusterStatus:
    revised = root.find("revised_cluster_status")
    if revised is None:
        revised = root.find("cluster_status")
    if revised is None:
        raise ToolError("crm_simulate", ("crm_simulate",), 0, "",
                        what="crm_simulate printed no cluster status")
    return parse_crm_mon(etree.tostring(revised, encoding="unicode"))


def parse_simulation(sim: Simulation) -> Outcome:
    """An executed simulation; without execution, ``state`` is the state it started from."""
    root = _xml(sim.output, "output")
    return Outcome(steps=_steps(root), graph=parse_graph(sim.graph), state=_state(root),
                   cib=sim.cib)


def parse_transition(sim: Simulation) -> tuple[tuple[Step, ...], Graph]:
    """The transition summary and graph of a scheduled (not executed) simulation."""
    return _steps(_xml(sim.output, "output")), parse_graph(sim.graph)


def initial_state(sim: Simulation) -> ClusterStatus:
    """The state crm_simulate started from (before its transition)."""
    root = _xml(sim.output, "output")
    status = root.find("cluster_status")
    if status is None:
        raise ToolError("crm_simulate", ("crm_simulate",), 0, "",
                        what="crm_simulate printed no initial status")
    return parse_crm_mon(etree.tostring(status, encoding="unicode"))


def fencing_fails(outcome: Outcome, target: str) -> tuple[Step, ...]:
    """The transition's summary when fencing ``target`` never succeeds: its fencing shows as
    blocked (what waits for it is left out of the state by ``never`` in the executor)."""
    steps = tuple(s for s in outcome.steps if not (s.action == "fence" and s.node == target))
    return (*steps, Step(action="fence", resource="", node=target, reason="fencing fails",
                         blocked=True))


def fencing_of(graph: Graph, target: str) -> set[int]:
    return {a.id for a in graph.fencing() if a.node == target}


def node_states(state: ClusterStatus) -> dict[str, NodeState]:
    return {n.name: n for n in state.nodes}
