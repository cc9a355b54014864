"""The accounts a rotation leaves behind: which a deploy ends, and through which service's
``retire`` (decided from the site and the secrets alone, nothing run)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hastack import catalog
from hastack.catalog.contract import CatalogEntry, ServiceContext
from hastack.catalog.platform import platform_info
from hastack.catalog.steps import ApiCall, Command
from hastack.deploy.apply import Deployment, secret_refs, superseded_accounts
from hastack.render.site import render_site
from hastack.secrets import ensure_secrets, rotate

ROOT = Path(__file__).resolve().parents[2]


def _deployment(tmp_path: Path, scope: tuple[CatalogEntry, ...]) -> Deployment:
    """A run of ``scope`` on the lab after `secrets rotate rabbitmq-openstack nova-keystone`."""
    shutil.copy(ROOT / "examples" / "lab.yaml", tmp_path / "lab.yaml")
    loaded = catalog.load(tmp_path / "lab.yaml")
    full = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    refs = secret_refs(loaded, full, catalog.SERVICES)
    ensure_secrets(loaded.secrets_path, refs)
    store = rotate(loaded.secrets_path, refs, ["rabbitmq-openstack", "nova-keystone"])
    return Deployment(loaded=loaded, base=catalog.BASE, catalog=scope,
                      rendering=render_site(loaded.site, loaded.placement, catalog.BASE, scope),
                      secrets=store, transports={})


def test_a_run_of_every_service_ends_the_old_accounts_through_their_services(
        tmp_path: Path) -> None:
    d = _deployment(tmp_path, catalog.SERVICES)
    superseded = superseded_accounts(d)
    assert {(s.ref.name, s.account) for s in superseded} >= {
        ("rabbitmq-openstack", "openstack"), ("nova-keystone", "nova")}
    platform = platform_info(d.loaded.site.platform.value)
    actions = {}
    for entry in d.catalog:
        ctx = ServiceContext(d.loaded.site, d.loaded.placement, entry.name, platform)
        actions.update({(entry.name, a.name): a for a in entry.retire(ctx, superseded)})
    assert set(actions) == {("rabbitmq", "rabbitmq-retire"), ("keystone", "keystone-retire")}
    rabbit = actions["rabbitmq", "rabbitmq-retire"].run
    assert isinstance(rabbit, Command)
    # The accounts agent deletes the old account only if it is there: a re-run after a
    # probe that failed under load must not fail on an account already gone.
    assert rabbit.argv[:2] == ("python3", "-c") and rabbit.argv[3:] == (
        "apply", "[]", '["openstack"]')
    keystone = actions["keystone", "keystone-retire"].run
    assert isinstance(keystone, ApiCall) and keystone.operation == "keystone.retire"
    users = dict(keystone.params)["users"]
    assert isinstance(users, tuple) and ("nova", "default") in users


def test_a_core_run_ends_no_account(tmp_path: Path) -> None:
    """After `deploy --scope core` the OpenStack services it left out still log in to
    RabbitMQ as the old account: deleting it would cut them off the bus."""
    core = tuple(e for e in catalog.SERVICES if e.name in catalog.CORE)
    assert superseded_accounts(_deployment(tmp_path, core)) == []
