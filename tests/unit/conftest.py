"""Shared fixtures: the examples, loaded and rendered with the real catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from hastack import catalog
from hastack.render.site import SiteRendering, render_site
from hastack.site.load import LoadedSite

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.yaml")
                  if not p.name.endswith(".secrets.yaml"))


@pytest.fixture(scope="session", params=[p.stem for p in EXAMPLES])
def example(request: pytest.FixtureRequest) -> LoadedSite:
    return catalog.load(ROOT / "examples" / f"{request.param}.yaml")


@pytest.fixture(scope="session")
def rendered(example: LoadedSite) -> SiteRendering:
    return render_site(example.site, example.placement, catalog.BASE, catalog.SERVICES)
