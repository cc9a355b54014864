"""`cluster.manages: core`: Pacemaker keeps the VIPs, HAProxy, Galera, RabbitMQ, the
active/passive services and the computes; systemd runs every active/active OpenStack service
itself, restarts it when it dies, and no constraint names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hastack import catalog
from hastack.errors import SiteError
from hastack.render.hosted import DROPIN as RESTART_DROPIN
from hastack.render.priority import DROPIN as PRIORITY_DROPIN
from hastack.render.site import SiteRendering, render_site
from hastack.site.load import LoadedSite
from hastack.site.model import Manages

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _render(name: str) -> tuple[LoadedSite, SiteRendering]:
    loaded = catalog.load(EXAMPLES / name)
    return loaded, render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)


def test_only_the_core_and_the_active_passive_services_stay_in_the_cib() -> None:
    _, core = _render("lab-core.yaml")
    _, everything = _render("lab.yaml")
    kept = {r.id for r in core.cluster("openstack").model.resources}
    assert {"haproxy-clone", "vip-db", "vip-keystone", "galera-clone", "rabbitmq-clone",
            "heat-engine", "cinder-volume", "nova-evacuate", "cmp1",
            "compute-nova-clone"} <= kept
    hosted = {u.id for u in core.host_units}
    assert {"keystone-clone", "nova-api-clone", "neutron-api-clone", "memcached-clone",
            "neutron-l3-agent-clone", "horizon-clone"} <= hosted
    assert not kept & hosted
    # Together they are exactly what the guide's layout runs under Pacemaker.
    assert kept | hosted == {r.id for r in everything.cluster("openstack").model.resources}


def test_no_constraint_names_a_unit_systemd_runs_and_none_is_reported_dropped() -> None:
    _, core = _render("lab-core.yaml")
    cluster = core.cluster("openstack")
    hosted = {u.id for u in cluster.host_units}
    assert all(not hosted.intersection(c.refs) for c in cluster.model.constraints)
    assert cluster.dropped == ()
    assert "keystone-clone" not in cluster.cib


def test_each_unit_systemd_runs_restarts_itself_and_keeps_its_priority_tier() -> None:
    _, core = _render("lab-core.yaml")
    files = {(f.node, f.path): f for f in core.files}
    for node in ("ctl1", "ctl2", "ctl3"):
        for unit in ("keystone", "nova-api", "memcached"):
            restart = files[(node, f"/etc/systemd/system/{unit}.service.d/{RESTART_DROPIN}")]
            text = restart.text.masked()
            assert "Restart=always" in text and "StartLimitIntervalSec=0" in text
            assert restart.service == "cluster"  # writing it restarts nothing
        nice = {u: files[(node, f"/etc/systemd/system/{u}.service.d/{PRIORITY_DROPIN}")]
                .text.masked() for u in ("memcached", "keystone", "nova-api")}
        assert "Nice=-10" in nice["memcached"] and "Nice=0" in nice["keystone"]
        assert "Nice=5" in nice["nova-api"]
    _, everything = _render("lab.yaml")
    assert not any(f.path.endswith(RESTART_DROPIN) for f in everything.files)


@pytest.mark.parametrize("name", ["collapsed.yaml", "lab.yaml", "mixed.yaml",
                                  "segregated.yaml"])
def test_the_guides_layout_stays_the_default(name: str) -> None:
    loaded, rendering = _render(name)
    assert loaded.site.cluster.manages.value == "everything"
    assert rendering.host_units == ()


def test_a_mount_an_api_needs_keeps_it_under_pacemaker() -> None:
    """glance-api needs the gateway's NFS mount (a Filesystem resource) on its node, so it
    stays a Pacemaker clone in both layouts (collapsed.yaml has a gateway; the lab has none,
    and there glance-api is a host unit)."""
    loaded = catalog.load(EXAMPLES / "collapsed.yaml")
    site = loaded.site.model_copy(update={"cluster": loaded.site.cluster.model_copy(
        update={"manages": Manages.CORE})})
    rendering = render_site(site, loaded.placement, catalog.BASE, catalog.SERVICES)
    ids = {r.id for c in rendering.clusters for r in c.model.resources}
    hosted = {u.id for u in rendering.host_units}
    assert {"glance-fs-clone", "glance-api-clone"} <= ids
    assert "glance-api-clone" not in hosted and "keystone-clone" in hosted
    _, lab = _render("lab-core.yaml")
    assert "glance-api-clone" in {u.id for u in lab.host_units}


def test_an_unknown_layout_is_refused_at_its_key(tmp_path: Path) -> None:
    text = (EXAMPLES / "lab-core.yaml").read_text(encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text(text.replace("manages: core", "manages: coer"), encoding="utf-8")
    with pytest.raises(SiteError) as info:
        catalog.load(site)
    (problem,) = info.value.problems
    assert (problem.code, problem.key) == ("site-invalid-value", "cluster.manages")
    assert "'everything' or 'core'" in problem.what
