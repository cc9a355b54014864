"""crm_simulate on a CIB file: one transition with injected events, no cluster needed.

Part of the pacemaker package because it is the only caller of Pacemaker's tools. The
contract: crm_simulate exits 0 when it computed (and with -S, simulated) a transition, even
when the transition is interrupted ("Transition failed: terminated" means some actions were
blocked); a non-zero exit means the input was refused.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hastack.errors import ToolError
from hastack.process import run

CRM_SIMULATE = "crm_simulate"


@dataclass(frozen=True)
class Simulation:
    output: str  # crm_simulate --output-as=xml (status, actions; executed: revised status)
    graph: str  # the transition graph (--save-graph): actions and what each waits for
    cib: str  # the CIB after the simulated transition (--save-output); "" when not executed
    terminated: bool  # the transition stopped at blocked actions


@dataclass(frozen=True)
class Events:
    """What to inject. ``quorum`` None keeps the CIB's have-quorum."""

    node_fail: tuple[str, ...] = ()
    node_down: tuple[str, ...] = ()
    node_up: tuple[str, ...] = ()
    op_inject: tuple[str, ...] = ()  # resource_task_intervalms@node=rc
    op_fail: tuple[str, ...] = ()
    quorum: bool | None = None

    def argv(self) -> list[str]:
        args: list[str] = []
        for flag, values in (("--node-fail", self.node_fail), ("--node-down", self.node_down),
                             ("--node-up", self.node_up), ("--op-inject", self.op_inject),
                             ("--op-fail", self.op_fail)):
            for value in values:
                args += [flag, value]
        if self.quorum is not None:
            args += ["--quorum", "1" if self.quorum else "0"]
        return args


def simulate(cib_xml: str, events: Events = Events(), *, execute: bool = True,
             timeout: float = 600) -> Simulation:
    """Run ``crm_simulate`` once on ``cib_xml`` with ``events``: with ``execute``, the
    transition is also carried out (``-S``), which costs a copy, diff and digest of the whole
    CIB per action; without, only scheduled (its graph is then the whole answer).

    Raises:
        ToolError: crm_simulate is missing, refused the input or timed out.
    """
    with tempfile.TemporaryDirectory(prefix="hastack-sim-") as tmp:
        base = Path(tmp)
        (base / "in.xml").write_text(cib_xml, encoding="utf-8")
        out = base / "out.xml"
        run_it = ["--simulate", "--save-output", str(out)] if execute else []
        argv: Sequence[str] = [
            CRM_SIMULATE, "--xml-file", str(base / "in.xml"), *run_it,
            "--save-graph", str(base / "graph.xml"), "--output-as=xml", *events.argv()]
        done = run(argv, timeout=timeout, check=False)
        if done.returncode not in (0, 1) or "<pacemaker-result" not in done.stdout \
                or (execute and not out.exists()):
            raise ToolError(CRM_SIMULATE, done.argv, done.returncode,
                            done.stderr or done.stdout)
        return Simulation(output=done.stdout,
                          graph=(base / "graph.xml").read_text(encoding="utf-8"),
                          cib=out.read_text(encoding="utf-8") if execute else "",
                          terminated=done.returncode == 1)
