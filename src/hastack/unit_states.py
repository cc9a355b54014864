"""systemd's view of some units on a node, in one round trip: enabled, active.

Deploy, status and the drills all ask it of the services systemd runs itself
(``cluster.manages: core``); one script, one parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hastack.agents import agent_text
from hastack.transport.base import Transport

SCRIPT = agent_text("unit_states.sh")


@dataclass(frozen=True)
class UnitState:
    enabled: bool
    active: bool


def parse(stdout: str) -> dict[str, UnitState]:
    """``unit enabled active`` lines (1 or 0) -> states; anything else is ignored."""
    out = {}
    for line in stdout.splitlines():
        words = line.split()
        if len(words) == 3 and words[1] in "01" and words[2] in "01":
            out[words[0]] = UnitState(enabled=words[1] == "1", active=words[2] == "1")
    return out


async def unit_states(node: Transport, units: Sequence[str]) -> dict[str, UnitState]:
    """Every unit of ``units``: one not reported (a node that did not answer) is neither."""
    if not units:
        return {}
    found = parse((await node.run(["sh", "-c", SCRIPT, "units", *units])).stdout)
    return {u: found.get(u, UnitState(enabled=False, active=False)) for u in units}
