"""Writing a rendering to a local directory for review (secrets stay masked)."""

from __future__ import annotations

from pathlib import Path

from hastack.render.site import SiteRendering


def write_rendering(rendering: SiteRendering, out_dir: Path) -> int:
    """DIR/clusters/<cluster>/{cib.xml,corosync.conf,haproxy.cfg}, DIR/nodes/<node>/<path>.

    Returns the number of files written.
    """
    count = 0
    for cluster in rendering.clusters:
        base = out_dir / "clusters" / cluster.name
        base.mkdir(parents=True, exist_ok=True)
        outputs = {"cib.xml": cluster.cib, "corosync.conf": cluster.corosync}
        if cluster.haproxy is not None:
            outputs["haproxy.cfg"] = cluster.haproxy
        for name, text in outputs.items():
            (base / name).write_text(text, encoding="utf-8")
            count += 1
    for f in rendering.files:
        path = out_dir / "nodes" / f.node / f.path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.text.masked(), encoding="utf-8")
        count += 1
    return count
