"""Identical compute nodes simulated once stand for each other exactly; the CLI's exits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hastack.cli import app
from hastack.simulate.cases import Case, enumerate_cases
from hastack.simulate.model import SimCluster
from hastack.simulate.report import expectation
from hastack.simulate.run import Baseline, simulate_site

pytestmark = pytest.mark.tool
ROOT = Path(__file__).resolve().parents[2]


def compute_cases(base: Baseline) -> list[Case]:
    remotes = set(base.cluster.remotes)
    return [c for c in enumerate_cases(base.cluster, base.state)
            if (c.kind in ("node-fail", "fence-fail") and c.nodes[0] in remotes)
            or (c.kind == "monitor-fail" and c.nodes[0] in remotes
            and c.resource == "compute-nova")]


def test_symmetric_computes_match_exhaustive(
        lab_clusters: Callable[[int], tuple[SimCluster, ...]]) -> None:
    clusters = lab_clusters(7)
    fast = simulate_site(clusters, select=compute_cases)
    slow = simulate_site(clusters, select=compute_cases, exhaustive=True)
    assert fast.simulated < slow.simulated == len(slow.results) == 21
    assert any(r.simulated_as for r in fast.results)
    assert expectation(fast) == expectation(slow)


def test_cli_one_case_in_full_and_errors() -> None:
    runner = CliRunner()
    site = str(ROOT / "examples" / "lab.yaml")
    one = runner.invoke(app, ["simulate", site, "--case", "partition:ctl1"])
    assert one.exit_code == 0, one.output
    assert "majority" in one.output and "ctl1 alone" in one.output
    assert "fence  ctl1" in one.output
    bad = runner.invoke(app, ["simulate", site, "--case", "node-fail:ctl9"])
    assert bad.exit_code == 2 and "unknown node 'ctl9'" in bad.output
    kind = runner.invoke(app, ["simulate", site, "--case", "explode:ctl1"])
    assert kind.exit_code == 2 and "unknown case kind" in kind.output
    chain = runner.invoke(app, ["explain", site, "keystone"])
    assert chain.exit_code == 0, chain.output
    assert "starts after promote galera-clone (Optional)" in chain.output
    vip = runner.invoke(app, ["explain", site, "vip-db"])  # the catalog's why, shown
    assert "a VIP where HAProxy does not run is a dead address" in " ".join(vip.output.split())
    missing = runner.invoke(app, ["explain", site, "keystne"])
    assert missing.exit_code == 2 and "did you mean" in missing.output
