"""What a deploy asks of each node, decided from the site alone: packages per role, the API
requests behind the catalog's registration steps and the secrets they need."""

from __future__ import annotations

from pathlib import Path

import pytest

from hastack import catalog
from hastack.catalog.contract import ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import ApiCall, KeystoneEntry
from hastack.deploy.apply import restart_marks, secret_refs
from hastack.deploy.packages import node_packages
from hastack.osapi.client import step_request
from hastack.render.site import render_site

ROOT = Path(__file__).resolve().parents[2]


def test_controllers_get_their_services_packages_and_computes_only_the_remote_side() -> None:
    loaded = catalog.load(ROOT / "examples" / "lab.yaml")
    controller = node_packages(loaded, catalog.BASE, catalog.SERVICES, "ctl1")
    compute = node_packages(loaded, catalog.BASE, catalog.SERVICES, "cmp1")
    for package in ("pacemaker", "corosync", "haproxy", "keystone", "nova-api", "mariadb-server"):
        assert package in controller
    assert "nova-compute" in compute and "pacemaker-remote" in compute
    assert "keystone" not in compute and "corosync" not in compute
    core = [e for e in catalog.SERVICES if e.name in catalog.CORE]
    assert "keystone" not in node_packages(loaded, catalog.BASE, core, "ctl1")


@pytest.mark.parametrize(("example", "chosen", "other"), [
    ("lab", "neutron-linuxbridge-agent", "openvswitch-switch"),
    ("collapsed", "openvswitch-switch", "neutron-linuxbridge-agent")])
def test_the_l2_agent_the_site_chose_is_installed_on_controllers_and_computes(
        example: str, chosen: str, other: str) -> None:
    loaded = catalog.load(ROOT / "examples" / f"{example}.yaml")
    for node in ("ctl1", "cmp1"):
        packages = node_packages(loaded, catalog.BASE, catalog.SERVICES, node)
        assert chosen in packages and other not in packages, (node, packages)


def test_segregated_members_get_only_the_services_of_their_own_cluster() -> None:
    loaded = catalog.load(ROOT / "examples" / "segregated.yaml")
    db_member = loaded.placement.cluster_of("galera").members[0]
    api_member = loaded.placement.cluster_of("keystone").members[0]
    assert db_member != api_member
    assert "mariadb-server" in node_packages(loaded, catalog.BASE, catalog.SERVICES, db_member)
    assert "mariadb-server" not in node_packages(loaded, catalog.BASE, catalog.SERVICES,
                                                 api_member)


def test_registration_steps_become_requests_with_their_secrets() -> None:
    loaded = catalog.load(ROOT / "examples" / "collapsed.yaml")
    platform = platform_info(loaded.site.platform.value)
    seen = {}
    for entry in catalog.SERVICES:
        if not loaded.placement.has(entry.name):
            continue
        ctx = ServiceContext(site=loaded.site, placement=loaded.placement, service=entry.name,
                             platform=platform)
        for action in entry.bootstrap(ctx):
            if isinstance(action.run, KeystoneEntry | ApiCall):
                seen[action.name] = step_request(action.run, ctx)
    operation, params, secret = seen["nova-keystone"]
    assert operation == "keystone.register"
    # The user is its current account, resolved from the secrets when the step runs.
    assert params["user"].form == "account" and params["user"].subject == "nova"
    assert params["type"] == "compute"
    assert params["url"].startswith(f"https://{loaded.placement.vips['nova']}:8774")
    assert secret is not None and secret.name == "nova-keystone"
    operation, params, secret = seen["heat-domain"]
    assert operation == "heat.stack-domain" and secret is not None
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    names = {r.name for r in secret_refs(loaded, rendering, catalog.SERVICES)}
    assert {"admin-keystone", "nova-keystone", "heat-domain-admin"} <= names


def test_a_changed_file_marks_the_running_services_that_read_it_for_a_restart() -> None:
    """On a controller of the lab: neutron.conf restarts neutron-server and the agents that
    read it beside it; the brokers' link file restarts RabbitMQ with every member at once;
    a service not running on the node (a first deploy) is not restarted."""
    loaded = catalog.load(ROOT / "examples" / "lab.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    files = {f.path: f for f in rendering.files_for("ctl1")}
    running = {"neutron-server", "neutron-agents", "rabbitmq", "keystone"}
    assert restart_marks([files["/etc/neutron/neutron.conf"]], running) == \
        ["neutron-agents", "neutron-server"]
    assert restart_marks([files["/etc/rabbitmq/hastack-links"]], running) == \
        ["rabbitmq", "rabbitmq.together"]
    assert restart_marks([files["/etc/rabbitmq/rabbitmq.conf"]], running) == ["rabbitmq"]
    assert restart_marks([files["/etc/neutron/neutron.conf"]], {"keystone"}) == []
