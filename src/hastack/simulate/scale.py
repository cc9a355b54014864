"""A lab-shaped site with any number of compute nodes, built in memory: examples/lab.yaml's
controllers plus N computes (for the scale tests and bench/simulate.py)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import yaml

from hastack import catalog
from hastack.errors import Problem, SiteError
from hastack.render.site import render_site
from hastack.simulate.model import SimCluster, sim_clusters
from hastack.site.model import Site
from hastack.site.placement import place
from hastack.site.rules import validate

LAB_SITE = Path(__file__).resolve().parents[3] / "examples" / "lab.yaml"


def lab_with_computes(computes: int, template: Path = LAB_SITE) -> tuple[SimCluster, ...]:
    """Raises SiteError when the generated site breaks a rule."""
    data: dict[str, Any] = yaml.safe_load(template.read_text())
    data["networks"]["internal"] = "198.18.0.0/16"
    nodes = [n for n in data["nodes"] if n["role"] == "controller"]
    for i in range(computes):
        nodes.append({"name": f"cmp{i + 1}", "role": "compute",
                      "address": str(IPv4Address("198.18.2.1") + i),
                      "fencing": {"type": "lab", "address": str(IPv4Address("198.18.6.1") + i)}})
    data["nodes"] = nodes
    site = Site.model_validate(data)
    errors: list[Problem] = [p for p in validate(site, catalog.SERVICES) if p.is_error]
    if errors:
        raise SiteError(errors)
    placement = place(site, catalog.SERVICES)
    rendering = render_site(site, placement, catalog.BASE, catalog.SERVICES)
    return sim_clusters(site, placement, rendering, catalog.BASE, catalog.SERVICES)
