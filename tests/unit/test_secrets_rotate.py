"""`hastack secrets rotate`: which secrets change, which never do, and nothing written before
deploy saves it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hastack import catalog
from hastack.catalog.rabbitmq import PROBE_USER, probe_client_env
from hastack.deploy.apply import secret_refs
from hastack.errors import SiteError
from hastack.render.site import render_site
from hastack.secrets import ensure_secrets, read_secrets, rotate, save, write_secrets

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def site(tmp_path: Path) -> tuple[Path, list]:
    shutil.copy(ROOT / "examples" / "lab.yaml", tmp_path / "lab.yaml")
    loaded = catalog.load(tmp_path / "lab.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    refs = secret_refs(loaded, rendering, catalog.SERVICES)
    ensure_secrets(loaded.secrets_path, refs)
    return loaded.secrets_path, refs


def test_rotate_changes_service_passwords_and_certificates_only(site: tuple[Path, list]
                                                                ) -> None:
    path, refs = site
    before = path.read_bytes()
    old = ensure_secrets(path, refs).values
    store = rotate(path, refs)
    changed = {n for n in old if store.values[n] != old[n]}
    assert changed == set(store.generated)
    assert {"nova-db", "nova-keystone", "tls-vip-keystone"} <= changed
    for kept in ("admin-keystone", "rabbitmq-openstack", "swift-hash-prefix",
                 "rabbitmq-erlang-cookie",
                 "corosync-authkey-openstack", "pacemaker-authkey",
                 "tls-site-ca", "bmc-ctl1", "pdu-pdu1"):
        assert kept not in changed, kept
    assert store.unsaved and path.read_bytes() == before  # deploy saves it


def test_rotate_takes_names_and_refuses_what_it_cannot_rotate(site: tuple[Path, list]
                                                             ) -> None:
    path, refs = site
    store = rotate(path, refs, ["admin-keystone"])
    assert store.generated == ("admin-keystone",)
    with pytest.raises(SiteError) as raised:
        rotate(path, refs, ["no-such-secret", "swift-hash-suffix", "tls-site-ca"])
    codes = [(p.code, p.key) for p in raised.value.problems]
    assert codes == [("secrets-unknown-name", "no-such-secret"),
                     ("secrets-not-rotated", "swift-hash-suffix"),
                     ("secrets-not-rotated", "tls-site-ca")]


def test_fernet_keys_rotate_the_way_keystone_does(site: tuple[Path, list]) -> None:
    """Staged (0) becomes primary (2), primary becomes 1, a new key is staged: any node
    reads what another encrypts, whichever has the new set first. Naming one key rotates
    its whole repository, and the credential keys stay as they were."""
    path, refs = site
    old = ensure_secrets(path, refs).values
    new = rotate(path, refs, ["keystone-fernet-1"]).values
    assert new["keystone-fernet-2"] == old["keystone-fernet-0"]
    assert new["keystone-fernet-1"] == old["keystone-fernet-2"]
    assert new["keystone-fernet-0"] not in old.values()
    assert all(new[f"keystone-credential-{i}"] == old[f"keystone-credential-{i}"]
               for i in range(3))
    every = rotate(path, refs).values
    assert every["keystone-credential-2"] == old["keystone-credential-0"]


def test_a_service_users_new_password_goes_to_its_other_account(site: tuple[Path, list]
                                                                ) -> None:
    """Keystone revokes a user's tokens when its password changes, so a rotation moves the
    service to its alternate account (nova-2) with the new password, and the next one back;
    files get the account and the password apart."""
    path, refs = site
    account = next(r for r in refs if r.name == "nova-keystone" and r.form == "account")
    password = next(r for r in refs if r.name == "nova-keystone" and r.form == "password")
    old = ensure_secrets(path, refs)
    assert old.lookup(account) == "nova" and old.lookup(password) == old.values["nova-keystone"]
    moved = rotate(path, refs, ["nova-keystone"])
    assert moved.lookup(account) == "nova-2"
    assert moved.lookup(password) not in (old.lookup(password), "") and \
        ":" not in moved.lookup(password)
    save(moved)
    back = rotate(path, refs, ["nova-keystone"])
    assert back.lookup(account) == "nova" and back.lookup(password) != moved.lookup(password)


def test_rabbitmqs_new_password_goes_to_its_other_account(site: tuple[Path, list]) -> None:
    """RabbitMQ holds one password per user: a rotation moves OpenStack to openstack-2 (the
    old account serves the services not yet restarted), and every transport_url, the
    brokers' default user follow it; hastack's own AMQP clients keep their probe user (a
    running drill would otherwise hold the account the rotation deletes)."""
    path, refs = site
    account = next(r for r in refs if r.name == "rabbitmq-openstack" and r.form == "account")
    old = ensure_secrets(path, refs)
    assert old.lookup(account) == "openstack"
    moved = rotate(path, refs, ["rabbitmq-openstack"])
    assert moved.lookup(account) == "openstack-2"
    assert moved.values["rabbitmq-openstack"].startswith("openstack-2:")
    loaded = catalog.load(path.parent / "lab.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    nova_conf = next(f for f in rendering.files_for("ctl1") if f.path == "/etc/nova/nova.conf")
    url = next(ln for ln in nova_conf.text.resolve(moved.lookup).splitlines()
               if ln.startswith("transport_url"))
    password = moved.values["rabbitmq-openstack"].split(":", 1)[1]
    assert url.count(f"openstack-2:{password}@") == 3, "every broker, with the new account"
    for env in (probe_client_env(loaded.site, old.lookup),
                probe_client_env(loaded.site, moved.lookup)):
        assert env["AMQP_USER"] == PROBE_USER
        assert env["AMQP_PASSWORD"] == old.values["rabbitmq-probe"]


@pytest.mark.parametrize("name", ["nova-keystone", "rabbitmq-openstack", "heat-domain-admin"])
def test_an_account_that_is_not_the_users_is_refused(site: tuple[Path, list], name: str
                                                     ) -> None:
    """A keystone or RabbitMQ secret naming another user's account (a hand edit that would
    give that user's password away) is bad input: refused with the file's problem."""
    path, refs = site
    values = read_secrets(path)
    values[name] = "admin:" + values[name]
    write_secrets(path, values)
    with pytest.raises(SiteError) as raised:
        read_secrets(path, refs)
    [problem] = raised.value.problems
    assert problem.code == "secrets-value-malformed" and "'admin'" in problem.what


def test_the_cluster_authkeys_rotate_only_when_named(site: tuple[Path, list]) -> None:
    path, refs = site
    old = ensure_secrets(path, refs).values
    keys = ("pacemaker-authkey", "corosync-authkey-openstack")
    assert all(rotate(path, refs).values[k] == old[k] for k in keys)
    for key in keys:
        named = rotate(path, refs, [key])
        assert named.values[key] != old[key]
        assert named.previous == {key: old[key]}


def test_heats_domain_admin_moves_to_its_other_account_in_heats_domain(
        site: tuple[Path, list]) -> None:
    """Keystone revokes a user's tokens on a password change, heat-engine's too: its stack
    domain admin moves to heat_domain_admin-2 (in the heat domain) as the service users do."""
    path, refs = site
    moved = rotate(path, refs, ["heat-domain-admin"])
    assert moved.values["heat-domain-admin"].startswith("heat_domain_admin-2:")
    loaded = catalog.load(path.parent / "lab.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    heat_conf = next(f for f in rendering.files_for("ctl1") if f.path == "/etc/heat/heat.conf")
    lines = heat_conf.text.resolve(moved.lookup).splitlines()
    password = moved.values["heat-domain-admin"].split(":", 1)[1]
    assert "stack_domain_admin = heat_domain_admin-2" in lines
    assert f"stack_domain_admin_password = {password}" in lines
    account = next(r for r in refs if r.name == "heat-domain-admin" and r.form == "account")
    assert account.domain == "heat"
