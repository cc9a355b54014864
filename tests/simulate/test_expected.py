"""Each example's simulated outcomes, recorded: a catalog or renderer change that changes
what Pacemaker would do under a failure fails here until the expectation is updated on
purpose (HASTACK_GOLDEN_UPDATE=1, then review the diff of tests/simulate/expected/)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hastack.simulate.model import SimCluster
from hastack.simulate.report import expectation
from hastack.simulate.run import simulate_site

pytestmark = pytest.mark.tool
EXPECTED = Path(__file__).resolve().parent / "expected"
UPDATE = os.environ.get("HASTACK_GOLDEN_UPDATE") == "1"


def dump(cases: dict[str, Any]) -> str:
    # One case per line: a changed outcome is a one-line diff.
    lines = [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in cases.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


@pytest.mark.parametrize("name", ["collapsed", "lab", "mixed", "segregated"])
def test_outcomes_match_expectations(
        name: str, example_clusters: Callable[[str], tuple[SimCluster, ...]]) -> None:
    sim = simulate_site(example_clusters(name))
    got = expectation(sim)
    path = EXPECTED / f"{name}.json"
    if UPDATE:
        path.write_text(dump(got), encoding="utf-8")
    assert path.exists(), f"no expectations for {name}: run with HASTACK_GOLDEN_UPDATE=1"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(expected), "cases added or removed: update on purpose"
    changed = {k: (expected[k], got[k]) for k in got if got[k] != expected[k]}
    assert not changed, "outcomes changed (expected, got):\n" + "\n".join(
        f"{k}: {v}" for k, v in changed.items())
    # The acceptance: every single failure passes every invariant.
    failing = [r.case.spec for r in sim.results if not r.ok]
    assert not failing, failing
