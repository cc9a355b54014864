"""What a deploy would do to a running cluster, before anything changes (``deploy --dry-run``):
the diff of the CIB's configuration, and the transitions Pacemaker would run for it.

Both come from the cluster itself: the live CIB (``cibadmin --query``) with hastack's
configuration merged in as a push would, scheduled by ``crm_simulate`` on a member against
the live status (the configuration checked by ``crm_verify`` first, as before any push).
Members that would join are simulated as coming up (out of standby: what they carry once the
join ends), and each simulated transition is fed to the next (a new compute's connection
first, then what runs there) until the cluster would be settled.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from hastack.errors import ToolError
from hastack.transport.base import Transport

ROUNDS = 4  # transitions simulated at most: connection, then resources, then what follows
WORK = "/run/hastack-preview"


@dataclass(frozen=True)
class Preview:
    cluster: str
    cib_diff: str  # unified diff of the configuration; "" when the push would change nothing
    transitions: tuple[tuple[str, ...], ...]  # per transition, Pacemaker's summary lines
    settled: bool  # the last transition simulated scheduled nothing

    @property
    def actions(self) -> int:
        return sum(len(t) for t in self.transitions)

    def summary(self) -> str:
        changed = sum(1 for line in self.cib_diff.splitlines()
                      if line[:1] in "+-" and line[:3] not in ("+++", "---"))
        cib = f"CIB: {changed} configuration lines differ" if changed else "CIB unchanged"
        if not self.actions:
            return f"{cib}; Pacemaker would change nothing"
        count = len(self.transitions)
        moves = f"{self.actions} resource actions in {count} transition{'s' * (count > 1)}"
        return f"{cib}; {moves}" + ("" if self.settled else
                                    f" (not settled after {ROUNDS}: more would follow)")

    def text(self) -> str:
        out = [f"--- cluster {self.cluster}: {self.summary()}"]
        if self.cib_diff:
            out.append(self.cib_diff.rstrip("\n"))
        for number, lines in enumerate(self.transitions, 1):
            out.append(f"transition {number} (crm_simulate on the live status):")
            out += [f"  {line}" for line in lines]
        return "\n".join(out)


def _pretty(el: etree._Element) -> list[str]:
    clean = copy.deepcopy(el)
    for node in clean.iter():
        node.tail = None
        if node.text is not None and not node.text.strip():
            node.text = None
    return etree.tostring(clean, pretty_print=True, encoding="unicode").splitlines()


def configuration_diff(live_cib: str, merged_configuration: str) -> str:
    """A unified diff of the live configuration against the one a push would leave."""
    live = etree.fromstring(live_cib.encode()).find("configuration")
    assert live is not None
    merged = etree.fromstring(merged_configuration.encode())
    return "\n".join(difflib.unified_diff(_pretty(live), _pretty(merged), "live CIB",
                                          "after the deploy", lineterm=""))


def pushed_cib(live_cib: str, merged_configuration: str) -> str:
    """The live CIB (status included) with the configuration a push would leave."""
    whole = etree.fromstring(live_cib.encode())
    old = whole.find("configuration")
    assert old is not None
    whole.replace(old, etree.fromstring(merged_configuration.encode()))
    return etree.tostring(whole, encoding="unicode")


def simulated_cib(pushed: str, desired_cib: str, joining: Sequence[str]) -> str:
    """``pushed`` with the joining members listed as the desired configuration lists them
    (the merge leaves a member out until it has joined, and crm_simulate brings up only a
    node it knows)."""
    whole = etree.fromstring(pushed.encode())
    nodes = whole.find("configuration/nodes")
    desired_nodes = etree.fromstring(desired_cib.encode()).find("configuration/nodes")
    if nodes is not None and desired_nodes is not None:
        for node in desired_nodes.iterfind("node"):
            if node.get("uname") in joining:
                nodes.append(copy.deepcopy(node))
    return etree.tostring(whole, encoding="unicode")


_SUMMARY_LINE = re.compile(r"^\s+\*\s+(.*\S)\s*$")


def transition_summary(output: str) -> tuple[str, ...]:
    """The "Transition Summary:" lines of crm_simulate's text output, spaces collapsed
    (``Start      cmp3     (   ctl1 )`` -> ``Start cmp3 ( ctl1 )``)."""
    lines, inside = [], False
    for line in output.splitlines():
        if line.startswith("Transition Summary:"):
            inside = True
            continue
        if inside:
            match = _SUMMARY_LINE.match(line)
            if not match:
                break
            lines.append(" ".join(match.group(1).split()))
    return tuple(lines)


async def simulate_on(node: Transport, verified: str, simulated: str, joining: Sequence[str],
                      *, work: str = WORK) -> tuple[tuple[tuple[str, ...], ...], bool]:
    """crm_verify of ``verified`` (the configuration with every member online, as before a
    push: against the live status, a resource the change removes while it runs is only
    warned about as an orphan, which the transitions show being stopped), then up to ROUNDS
    transitions of crm_simulate from ``simulated`` (the live CIB as the push would leave it,
    the joining members listed), on ``node``. Returns the summary lines of each transition
    that schedules something, and whether the last one simulated scheduled nothing.

    Raises:
        ToolError: crm_verify refused the configuration, or crm_simulate failed.
    """
    await node.run(["mkdir", "-p", "-m", "0700", work])
    state = f"{work}/cib.xml"
    try:
        await node.put(state, verified.encode(), mode=0o600)
        checked = await node.run(["crm_verify", "--xml-file", state], timeout=120)
        if not checked.ok:
            raise ToolError("crm_verify", checked.argv, checked.returncode,
                            checked.stderr or checked.stdout,
                            what="crm_verify refused the configuration the deploy would push")
        await node.put(state, simulated.encode(), mode=0o600)
        transitions: list[tuple[str, ...]] = []
        for number in range(ROUNDS):
            up = [arg for name in joining for arg in ("--node-up", name)] if number == 0 else []
            done = await node.run(["crm_simulate", "--xml-file", state, "--simulate",
                                   "--save-output", f"{work}/next.xml", *up], timeout=300)
            if done.returncode not in (0, 1):
                raise ToolError("crm_simulate", done.argv, done.returncode,
                                done.stderr or done.stdout)
            lines = transition_summary(done.stdout)
            if not lines:
                return tuple(transitions), True
            transitions.append(lines)
            (await node.run(["mv", f"{work}/next.xml", state])).check()
        return tuple(transitions), False
    finally:
        await node.run(["rm", "-rf", work])
