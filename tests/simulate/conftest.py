"""Shared by the simulate tests (real crm_simulate): example sites as simulated clusters, and
a lab-shaped site with any number of compute nodes, built in memory."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from hastack import catalog
from hastack.render.site import render_site
from hastack.simulate.model import SimCluster, sim_clusters
from hastack.site.model import Site
from hastack.site.placement import place
from hastack.site.rules import validate

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


def _lab_with_computes(computes: int) -> tuple[SimCluster, ...]:
    """examples/lab.yaml's controllers with ``computes`` compute nodes."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
    data["networks"]["internal"] = "198.18.0.0/16"
    nodes = [n for n in data["nodes"] if n["role"] == "controller"]
    for i in range(computes):
        nodes.append({"name": f"cmp{i + 1}", "role": "compute",
                      "address": str(IPv4Address("198.18.2.1") + i),
                      "fencing": {"type": "lab", "address": str(IPv4Address("198.18.6.1") + i)}})
    data["nodes"] = nodes
    site = Site.model_validate(data)
    errors = [p for p in validate(site, catalog.SERVICES) if p.is_error]
    assert not errors, errors
    placement = place(site, catalog.SERVICES)
    rendering = render_site(site, placement, catalog.BASE, catalog.SERVICES)
    return sim_clusters(site, placement, rendering, catalog.BASE, catalog.SERVICES)



Clusters = Callable[..., tuple[SimCluster, ...]]


@pytest.fixture
def example_clusters() -> Clusters:
    return _example


@pytest.fixture
def lab_clusters() -> Clusters:
    return _lab_with_computes
