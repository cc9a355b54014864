"""A service moved between clusters (deploy/moves.py): which moves a site asks of the running
clusters, the configurations rendered while one is under way (each checked by the real
crm_verify), and the moves deploy refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hastack import catalog
from hastack.catalog.cib_model import Clone, Primitive
from hastack.catalog.contract import ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import ApiCall
from hastack.deploy import moves
from hastack.drills.moving import placed_back
from hastack.errors import SiteError
from hastack.pacemaker.tools import verify_cib
from hastack.render.site import render_site
from hastack.site.load import LoadedSite, load_site
from hastack.site.model import Manages

EXAMPLE = Path(__file__).parents[2] / "examples" / "lab.yaml"
API_NODES = "".join(
    f"  - {{name: api{i}, address: 198.18.0.3{i}, role: controller,\n"
    f"     fencing: {{type: lab, address: 198.18.0.13{i}, pdu: {{name: pdu1, outlet: 1{i}}}}}}}\n"
    for i in (1, 2, 3))


def mixed(tmp_path: Path, api_services: str) -> LoadedSite:
    """examples/lab.yaml with a second cluster of three controllers running
    ``api_services``, the rest staying on the collapsed cluster (named as before)."""
    text = EXAMPLE.read_text().replace("topology: collapsed", "topology: mixed")
    at = text.index("services:\n")
    clusters = ("clusters:\n  openstack: {nodes: [ctl1, ctl2, ctl3], services: ['*']}\n"
                f"  api: {{nodes: [api1, api2, api3], services: {api_services}}}\n")
    path = tmp_path / "lab.yaml"
    path.write_text(text[:at] + API_NODES + clusters + text[at:])
    return load_site(path, catalog.SERVICES)


def resources_of(loaded: LoadedSite, service: str) -> set[str]:
    ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service=service,
                         platform=platform_info(loaded.site.platform.value))
    ids = set()
    for rsc in catalog.entry(service).resources(ctx):
        if isinstance(rsc, Clone):
            ids |= {rsc.id, rsc.primitive.id}
        elif isinstance(rsc, Primitive):
            ids.add(rsc.id)
    return ids


def live_resources(loaded: LoadedSite, cluster: str) -> str:
    """The resources section of ``cluster`` as ``loaded`` would have deployed it."""
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    cib = rendering.cluster(cluster).cib
    return cib[cib.index("<resources"):cib.index("</resources>")]


def test_a_service_the_old_cluster_runs_and_the_site_places_elsewhere_is_a_move(
        tmp_path: Path) -> None:
    before = load_site(EXAMPLE, catalog.SERVICES)
    after = mixed(tmp_path, "[nova, cinder]")
    found = moves.find(after.placement, {"openstack": live_resources(before, "openstack")},
                       lambda s: resources_of(before, s), lambda s: s == "cinder")
    assert sorted((m.service, m.source, m.members, m.runs_once) for m in found) == [
        ("cinder", "openstack", ("ctl1", "ctl2", "ctl3"), True),
        ("nova", "openstack", ("ctl1", "ctl2", "ctl3"), False)]
    # Once it runs on its new cluster only, nothing is moving.
    settled = {"openstack": live_resources(after, "openstack"),
               "api": live_resources(after, "api")}
    assert moves.find(after.placement, settled, lambda s: resources_of(after, s),
                      lambda s: False) == []


def test_while_a_service_moves_haproxy_sends_its_requests_to_both_clusters(
        tmp_path: Path) -> None:
    after = mixed(tmp_path, "[nova]")
    move = moves.Move("nova", "openstack", ("ctl1", "ctl2", "ctl3"), runs_once=False)
    during = moves.in_transition(after.placement, [move])
    haproxy = render_site(after.site, during, catalog.BASE, catalog.SERVICES
                          ).cluster("openstack").haproxy or ""
    block = haproxy[haproxy.index("listen nova-api"):].split("\n\n")[0]
    assert [line.split()[1] for line in block.splitlines() if "server " in line] == [
        "api1", "api2", "api3", "ctl1", "ctl2", "ctl3"]
    done = moves.in_transition(during, [])
    final = render_site(after.site, done, catalog.BASE, catalog.SERVICES
                        ).cluster("openstack").haproxy or ""
    block = final[final.index("listen nova-api"):].split("\n\n")[0]
    assert [line.split()[1] for line in block.splitlines() if "server " in line] == [
        "api1", "api2", "api3"]


@pytest.mark.skipif(shutil.which("crm_verify") is None, reason="no crm_verify")
def test_the_old_cluster_keeps_the_moving_service_until_it_runs_on_the_new_one(
        tmp_path: Path) -> None:
    """Rendered as held, the old cluster's CIB still holds every resource of the service
    (so a push for another service does not stop it early) and passes crm_verify; the new
    cluster's CIB holds them too."""
    before = load_site(EXAMPLE, catalog.SERVICES)
    after = mixed(tmp_path, "[nova]")
    move = moves.Move("nova", "openstack", ("ctl1", "ctl2", "ctl3"), runs_once=False)
    rendered = render_site(after.site, moves.held(after.placement, [move]), catalog.BASE,
                           catalog.SERVICES).cluster("openstack")
    held = rendered.cib
    nova = resources_of(before, "nova")
    assert all(f'id="{rid}"' in held for rid in nova)
    assert held == render_site(before.site, before.placement, catalog.BASE,
                               catalog.SERVICES).cluster("openstack").cib
    verdict = verify_cib(rendered.cib_online)
    assert verdict.ok, verdict.messages
    released = render_site(after.site, after.placement, catalog.BASE,
                           catalog.SERVICES).cluster("openstack").cib
    assert not any(f'id="{rid}"' in released for rid in nova)


@pytest.mark.parametrize("service", ["galera", "rabbitmq", "loadbalancer"])
def test_moving_the_ha_core_is_refused(tmp_path: Path, service: str) -> None:
    after = mixed(tmp_path, f"[{service}]")
    move = moves.Move(service, "openstack", ("ctl1", "ctl2", "ctl3"), runs_once=False)
    with pytest.raises(SiteError) as refused:
        moves.refuse_unmovable([move], after.placement, Manages.EVERYTHING, after.path)
    problem = refused.value.problems[0]
    assert problem.code == "service-move-unsupported" and service in problem.what
    assert problem.fix == f"place {service} on openstack again"


def test_moving_a_service_systemd_runs_is_refused(tmp_path: Path) -> None:
    after = mixed(tmp_path, "[nova]")
    move = moves.Move("nova", "openstack", ("ctl1", "ctl2", "ctl3"), runs_once=False)
    with pytest.raises(SiteError) as refused:
        moves.refuse_unmovable([move], after.placement, Manages.CORE, after.path)
    assert refused.value.problems[0].key == "cluster.manages"


def test_the_drill_moves_back_to_the_site_as_it_was(tmp_path: Path) -> None:
    """move-service's way back: the service in its old cluster again, the new cluster
    holding nothing, the old cluster's configuration exactly the one it had."""
    before = load_site(EXAMPLE, catalog.SERVICES)
    after = mixed(tmp_path, "[nova]")
    move = moves.Move("nova", "openstack", ("ctl1", "ctl2", "ctl3"), runs_once=False)
    back = placed_back(after, [move])
    assert back.placement.service_cluster["nova"] == "openstack"
    assert back.placement.cluster("api").services == ()
    assert render_site(back.site, back.placement, catalog.BASE, catalog.SERVICES
                       ).cluster("openstack").cib == \
        render_site(before.site, before.placement, catalog.BASE, catalog.SERVICES
                    ).cluster("openstack").cib


def _kept(loaded: LoadedSite, action: str) -> set[str]:
    """The nodes whose records a departed action keeps (its ``keep`` parameter)."""
    ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service="compute",
                         platform=platform_info(loaded.site.platform.value))
    found = next(a for a in catalog.entry("compute").bootstrap(ctx) if a.name == action)
    assert isinstance(found.run, ApiCall)
    return set(str(dict(found.run.params)["keep"]).split(","))


def test_only_the_records_of_controllers_that_no_longer_run_a_service_are_forgotten(
        tmp_path: Path) -> None:
    """After nova moved to the api cluster, nova forgets ctl1-3's scheduler and conductor,
    and neutron keeps every agent of theirs (they still run neutron); on the collapsed site
    every node is kept by both (deleting a live L3 agent would unschedule its routers)."""
    collapsed = load_site(EXAMPLE, catalog.SERVICES)
    everyone = {n.name for n in collapsed.site.nodes}
    assert _kept(collapsed, "nova-forget-departed") == everyone
    assert _kept(collapsed, "neutron-forget-departed") == everyone
    after = mixed(tmp_path, "[nova]")
    assert _kept(after, "nova-forget-departed") == {
        "api1", "api2", "api3", "cmp1", "cmp2"}
    assert _kept(after, "neutron-forget-departed") == {
        "ctl1", "ctl2", "ctl3", "cmp1", "cmp2"}
