"""Golden files: each example's whole rendering, compared with a reviewed copy.

`make golden-update` rewrites tests/golden/<example>/ from the current code; review the diff.
XML is compared after C14N (attribute order and whitespace do not matter), text exactly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from lxml import etree

from hastack import catalog
from hastack.agents import EVACUATE, GALERA_CHECK, agent_text
from hastack.render.pcs import render_pcs
from hastack.render.site import SiteRendering, render_site

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")
                  if not p.name.endswith(".secrets.yaml"))
UPDATE = os.environ.get("HASTACK_GOLDEN_UPDATE") == "1"
# An example that is another with one setting changed is kept as its difference from that
# one's rendering: the files that differ or are new, and REMOVED naming those it lacks.
VARIANTS = {"lab-core": "lab"}
REMOVED = "REMOVED"
# A file that is one of hastack's shipped agents, byte for byte, is kept as one line naming
# it and its hash: the agent is reviewed in src/, not in one copy per node and example.
SHIPPED = {agent_text(name): name for name in (EVACUATE, GALERA_CHECK)}


def shipped(text: str) -> str:
    name = SHIPPED.get(text)
    if name is None:
        return text
    return f"shipped: src/hastack/agents/{name} sha256:{hashlib.sha256(text.encode()).hexdigest()}\n"


def outputs(rendering: SiteRendering) -> dict[str, str]:
    files: dict[str, str] = {}
    for cluster in rendering.clusters:
        base = f"clusters/{cluster.name}"
        files[f"{base}/cib.xml"] = cluster.cib
        files[f"{base}/corosync.conf"] = cluster.corosync
        files[f"{base}/pcs.sh"] = render_pcs(cluster.model)
        if cluster.haproxy is not None:
            files[f"{base}/haproxy.cfg"] = cluster.haproxy
    for f in rendering.files:
        files[f"nodes/{f.node}{f.path}"] = shipped(f.text.masked())
    return files


def canonical(path: str, text: str) -> str:
    if path.endswith(".xml"):
        parser = etree.XMLParser(remove_blank_text=True)
        return etree.tostring(etree.fromstring(text.encode(), parser), method="c14n").decode()
    return text


def rendered(name: str) -> dict[str, str]:
    loaded = catalog.load(ROOT / "examples" / f"{name}.yaml")
    got = outputs(render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES))
    if name not in VARIANTS:
        return got
    base = rendered(VARIANTS[name])
    differ = {rel: text for rel, text in got.items() if base.get(rel) != text}
    return {**differ, REMOVED: "".join(f"{rel}\n" for rel in sorted(set(base) - set(got)))}


@pytest.mark.parametrize("name", EXAMPLES)
def test_rendering_matches_golden(name: str) -> None:
    got = rendered(name)
    expected_dir = HERE / name
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, text in got.items():
            target = expected_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    assert expected_dir.is_dir(), f"no golden files for {name}: run `make golden-update`"
    expected = {str(p.relative_to(expected_dir)): p.read_text(encoding="utf-8")
                for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(got) == sorted(expected), "files added or removed: run make golden-update"
    for rel, text in got.items():
        assert canonical(rel, text) == canonical(rel, expected[rel]), f"{name}: {rel} differs"
