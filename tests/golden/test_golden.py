"""Golden files: each example's whole rendering, compared with a reviewed copy.

`make golden-update` rewrites tests/golden/<example>/ from the current code; review the diff.
XML is compared after C14N (attribute order and whitespace do not matter), text exactly.

Stored so that a change shows once, where it is made (and the tree stays small):
- a node's copy of one of hastack's shipped agents: `shipped: src/hastack/agents/X sha256:..`;
- a file byte-identical to one before it (sorted paths) in the same example: `same as: PATH`;
- a node's file that differs from the first node's copy of the same path (or, in a variant
  example, from its base example's) by less than its size: `diff of: PATH` and a unified
  diff from that file, without context lines;
- the CIB of an example in CIB_AS_PCS: the sha256 of its C14N form; pcs.sh beside it, a
  complete script of the same model (properties, defaults, attributes, resources, alerts,
  constraints), is where its changes are read. collapsed's CIB is kept whole.
Each form determines the rendered file given the files it names, which are checked too: any
byte that changes in a rendering fails the test.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from lxml import etree

from hastack import catalog
from hastack.agents import EVACUATE, GALERA_CHECK, LAB_VOLUME_DRIVER, NEUTRON_API_WSGI, agent_text
from hastack.catalog import cinder
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
# Every CIB but the guide's own site's: that one is kept whole, the XML rendering's reference.
CIB_AS_PCS = set(EXAMPLES) - {"collapsed"}
# A file that is one of hastack's shipped agents, byte for byte, is kept as one line naming
# it and its hash: the agent is reviewed in src/, not in one copy per node and example.
# (cinder's lab driver with its directory filled in, as every lab controller gets it).
SHIPPED = {agent_text(name): name for name in (EVACUATE, GALERA_CHECK, NEUTRON_API_WSGI)}
SHIPPED[agent_text(LAB_VOLUME_DRIVER, VOLUMES=cinder.LAB_VOLUMES)] = LAB_VOLUME_DRIVER


def shipped(text: str) -> str:
    name = SHIPPED.get(text)
    if name is None:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"shipped: src/hastack/agents/{name} sha256:{digest}\n"


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
    """The example's rendering, a variant as its difference from its base example."""
    got = outputs(rendering_of(name))
    if name not in VARIANTS:
        return got
    base = outputs(rendering_of(VARIANTS[name]))
    differ = {rel: text for rel, text in got.items() if base.get(rel) != text}
    return {**differ, REMOVED: "".join(f"{rel}\n" for rel in sorted(set(base) - set(got)))}


def rendering_of(name: str) -> SiteRendering:
    loaded = catalog.load(ROOT / "examples" / f"{name}.yaml")
    return render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)


def diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True),
                                 after.splitlines(keepends=True), n=0)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in list(lines)[2:])  # the ---/+++ header names nothing useful


def stored(name: str, files: dict[str, str]) -> dict[str, str]:
    """Each rendered file in the form it is kept in (see the module's docstring)."""
    base_files = outputs(rendering_of(VARIANTS[name])) if name in VARIANTS else {}
    seen: dict[str, str] = {}
    first_copy: dict[str, str] = {}  # a node file's path below its node -> the first's path
    out: dict[str, str] = {}
    for rel in sorted(files):
        text = files[rel]
        if rel.endswith("cib.xml") and name in CIB_AS_PCS:
            digest = hashlib.sha256(canonical(rel, text).encode()).hexdigest()
            out[rel] = f"c14n sha256: {digest} (its model: pcs.sh beside it)\n"
            continue
        if text in seen:
            out[rel] = f"same as: {seen[text]}\n"
            continue
        seen[text] = rel
        bases = []
        if rel.startswith("nodes/"):
            below = rel.split("/", 2)[2]
            first = first_copy.setdefault(below, rel)
            if first != rel:
                bases.append((first, files[first]))
        if rel in base_files:
            bases.append((f"../{VARIANTS[name]}/{rel}", base_files[rel]))
        forms = [text] + [f"diff of: {path}\n{diff(before, text)}" for path, before in bases]
        out[rel] = min(forms, key=len)
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_rendering_matches_golden(name: str) -> None:
    got = stored(name, rendered(name))
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
        whole_xml = rel.endswith(".xml") and text.startswith("<")
        want = canonical(rel, expected[rel]) if whole_xml else expected[rel]
        assert (canonical(rel, text) if whole_xml else text) == want, f"{name}: {rel} differs"
