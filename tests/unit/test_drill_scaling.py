"""The scaling drills take added nodes out again by deploying the site as it was before they
were added: built in memory from the grown site, it must be that site exactly (nodes,
clusters and their members, VIPs), or the drill's last deploy would change something else."""

from __future__ import annotations

from pathlib import Path

from hastack import catalog
from hastack.drills.scaling import without

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
ADDED = """  - {name: ctl4, address: 198.18.0.14, role: controller,
     fencing: {type: lab, address: 198.18.0.114, pdu: {name: pdu1, outlet: 16}}}
  - {name: cmp3, address: 198.18.0.23, role: compute,
     fencing: {type: lab, address: 198.18.0.123, pdu: {name: pdu1, outlet: 6}}}
"""


def test_the_site_without_the_added_nodes_is_the_site_before_they_were_added(
        tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    at = text.index("services:")
    grown_file = tmp_path / "lab.yaml"
    grown_file.write_text(text[:at] + ADDED + text[at:])
    grown, before = catalog.load(grown_file), catalog.load(EXAMPLE)
    assert "ctl4" in grown.placement.cluster_of("galera").members
    smaller = without(grown, {"ctl4", "cmp3"})
    assert smaller.site == before.site
    assert smaller.placement == before.placement
