"""Priority drop-ins: the failover path (cluster stack, HAProxy, RabbitMQ, memcached) above
every unit of the API tier, on the nodes each unit runs on, and nothing Pacemaker does not run."""

from __future__ import annotations

from pathlib import Path

from hastack import catalog
from hastack.render.priority import DROPIN, LIMITS
from hastack.render.site import render_site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _nice_by_node_and_unit(site: str) -> dict[tuple[str, str], int]:
    loaded = catalog.load(EXAMPLES / site)
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    out = {}
    for f in rendering.files:
        if f.path.endswith(f"/{DROPIN}"):
            unit = f.path.split("/")[-2].removesuffix(".service.d")
            text = f.text.masked()
            out[(f.node, unit)] = int(text.split("Nice=")[1].split()[0])
            assert f.service == "cluster", f.path  # written without restarting anything
    return out


def test_the_failover_path_outranks_every_api_service() -> None:
    nice = _nice_by_node_and_unit("lab.yaml")
    failover = {"corosync", "pacemaker", "haproxy", "rabbitmq-server", "memcached"}
    apis = {"nova-api", "nova-api-metadata", "nova-novncproxy", "neutron-api", "glance-api",
            "cinder-api", "placement-api", "heat-api", "heat-api-cfn", "heat-engine",
            "swift-proxy", "swift-object", "apache2"}
    workers = {"nova-conductor", "nova-scheduler", "neutron-rpc-server", "neutron-l3-agent",
               "neutron-dhcp-agent", "neutron-linuxbridge-agent", "cinder-scheduler",
               "cinder-volume", "swift-object-expirer"}
    for node in ("ctl1", "ctl2", "ctl3"):
        here = {u: n for (host, u), n in nice.items() if host == node}
        assert set(here) == failover | apis | workers | {
            "keystone", "neutron-metadata-agent", "swift-account", "swift-container"}, node
        # keystone, which every other API waits on, between the failover path and them;
        # what a request waits on ahead of what reacts to it afterwards.
        assert max(here[u] for u in failover) < here["keystone"], here
        assert here["keystone"] < min(here[u] for u in apis), here
        assert max(here[u] for u in apis) < min(here[u] for u in workers), here
    # Computes: pacemaker_remote is on the failover path, nova-compute is not; neither
    # corosync nor pacemaker runs there.
    assert nice[("cmp1", "pacemaker_remote")] < 0 < nice[("cmp1", "nova-compute")]
    assert ("cmp1", "pacemaker") not in nice and ("ctl1", "pacemaker_remote") not in nice


def test_only_units_pacemaker_runs_on_that_node_get_one() -> None:
    nice = _nice_by_node_and_unit("segregated.yaml")
    loaded = catalog.load(EXAMPLES / "segregated.yaml")
    for (node, unit) in nice:
        cluster = next(c for c in loaded.placement.clusters
                       if node in c.members or node in c.remotes)
        if unit == "haproxy":
            assert "loadbalancer" in cluster.services, node
        if unit == "keystone":
            assert "keystone" in cluster.services, node


def test_galeras_mysqld_keeps_the_failover_tier_through_its_login() -> None:
    """The galera agent starts mysqld through `su - mysql`, whose pam_limits session sets
    the login's priority: the failover tier is written there, on every controller only."""
    loaded = catalog.load(EXAMPLES / "lab.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    limits = {f.node: f.text.masked() for f in rendering.files if f.path == LIMITS}
    assert set(limits) == {"ctl1", "ctl2", "ctl3"}
    assert all("mysql - priority -10" in text for text in limits.values())
