"""Redfish fencing checks the BMC's certificate unless the site says the BMC's is
self-signed (fencing.verify_certificate: false)."""

from __future__ import annotations

from pathlib import Path

from hastack import catalog
from hastack.catalog.cluster import stonith_device
from hastack.catalog.contract import ServiceContext

ROOT = Path(__file__).resolve().parents[2]


def _redfish_params(tmp_path: Path, extra: str) -> dict[str, str]:
    text = (ROOT / "examples" / "collapsed.yaml").read_text()
    old = "system_id: /redfish/v1/Systems/1}"
    assert old in text
    site = tmp_path / "collapsed.yaml"
    site.write_text(text.replace(old, old[:-1] + extra + "}"))
    loaded = catalog.load(site)
    node = next(n for n in loaded.site.nodes
                if n.fencing is not None and n.fencing.type.value == "redfish")
    ctx = ServiceContext(loaded.site, loaded.placement, "cluster",
                         cluster_name=loaded.placement.cluster_of("galera").name)
    return dict(stonith_device(ctx, node).params)


def test_certificate_checked_by_default(tmp_path: Path) -> None:
    assert "ssl_insecure" not in _redfish_params(tmp_path, "")


def test_a_self_signed_bmc_is_said_so(tmp_path: Path) -> None:
    assert _redfish_params(tmp_path, ", verify_certificate: false")["ssl_insecure"] == "1"
