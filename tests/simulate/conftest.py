"""Shared by the simulate tests (real crm_simulate): example sites as simulated clusters, and
a lab-shaped site with any number of compute nodes, built in memory."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hastack import catalog
from hastack.render.site import render_site
from hastack.simulate.model import SimCluster, sim_clusters
from hastack.simulate.scale import lab_with_computes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _crm_simulate() -> None:
    if shutil.which("crm_simulate") is None:
        pytest.skip("crm_simulate is not installed (make test installs it)")


def _example(name: str) -> tuple[SimCluster, ...]:
    loaded = catalog.load(ROOT / "examples" / f"{name}.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    return sim_clusters(loaded.site, loaded.placement, rendering, catalog.BASE,
                        catalog.SERVICES)



Clusters = Callable[..., tuple[SimCluster, ...]]


@pytest.fixture
def example_clusters() -> Clusters:
    return _example


@pytest.fixture
def lab_clusters() -> Clusters:
    return lab_with_computes
