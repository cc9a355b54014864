"""A site's own certificates (openstack.certificates): accepted when HAProxy and a client
would accept them, refused with the key and the reason otherwise, never written to the
secrets file and never rotated by hastack."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from test_tls_secrets import handshake

from hastack import catalog
from hastack.catalog import tls
from hastack.deploy.apply import secret_refs
from hastack.errors import SiteError
from hastack.render.site import render_site
from hastack.secrets import ensure_secrets, read_secrets, refuse_supplied, save, with_supplied

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.datetime.now(datetime.UTC)


def _cert(subject: str, key: object, issuer: tuple[x509.Name, object] | None, *,
          ca: bool, addresses: tuple[str, ...] = (), days: int = 365) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
               .public_key(key.public_key())  # type: ignore[attr-defined]
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=400 if days < 0 else 1))
               .not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if addresses:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
             password: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


class Pki:
    """A root CA, an intermediate it issued, and a leaf per VIP the intermediate issued."""

    def __init__(self, directory: Path, vips: dict[str, str]) -> None:
        self.directory = directory
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = _cert("site root", self.root_key, None, ca=True)
        self.mid_key = ec.generate_private_key(ec.SECP256R1())
        self.mid = _cert("site issuing", self.mid_key, (self.root.subject, self.root_key),
                         ca=True)
        (directory / "ca.pem").write_bytes(_pem(self.root))
        self.section: dict[str, object] = {"ca": "certs/ca.pem", "vips": {}}
        for vip, address in vips.items():
            self.leaf(vip, address)

    def leaf(self, vip: str, address: str, *, key: object = None, days: int = 365,
             issuer: tuple[x509.Name, object] | None = None) -> None:
        own = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _cert(address, own, issuer or (self.mid.subject, self.mid_key), ca=False,
                     addresses=(address,), days=days)
        (self.directory / f"{vip}.pem").write_bytes(_pem(cert, self.mid))
        key_file = self.directory / f"{vip}.key"
        key_file.write_bytes(_key_pem(key or own))  # type: ignore[arg-type]
        key_file.chmod(0o600)
        self.section["vips"][vip] = {"certificate": f"certs/{vip}.pem",  # type: ignore[index]
                                     "key": f"certs/{vip}.key"}


@pytest.fixture()
def lab(tmp_path: Path) -> tuple[Path, Pki]:
    """examples/lab.yaml with a certificate of the site's own CA for every TLS VIP."""
    shutil.copy(ROOT / "examples" / "lab.yaml", tmp_path / "lab.yaml")
    loaded = catalog.load(tmp_path / "lab.yaml")
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    vips = {r.name.removeprefix("tls-vip-"): r.subject
            for r in secret_refs(loaded, rendering, catalog.SERVICES) if r.issuer == tls.CA_SECRET}
    (tmp_path / "certs").mkdir()
    return tmp_path / "lab.yaml", Pki(tmp_path / "certs", vips)


def _load(site: Path, pki: Pki) -> tuple[dict[str, str], list]:
    data = yaml.safe_load(site.read_text())
    data.setdefault("openstack", {})["certificates"] = pki.section
    site.write_text(yaml.safe_dump(data))
    loaded = catalog.load(site)
    rendering = render_site(loaded.site, loaded.placement, catalog.BASE, catalog.SERVICES)
    refs = secret_refs(loaded, rendering, catalog.SERVICES)
    return tls.site_certificates(loaded, refs), refs


def _faults(site: Path, pki: Pki) -> list[tuple[str, str]]:
    with pytest.raises(SiteError) as caught:
        _load(site, pki)
    return [(p.key, p.what) for p in caught.value.problems]


def test_the_sites_certificates_serve_a_handshake_trusting_only_its_root(
        lab: tuple[Path, Pki], tmp_path: Path) -> None:
    site, pki = lab
    supplied, refs = _load(site, pki)
    vip_refs = [r for r in refs if r.issuer == tls.CA_SECRET]
    assert set(supplied) == {tls.CA_SECRET, *(r.name for r in vip_refs)}
    loaded = catalog.load(site)
    store = with_supplied(ensure_secrets(loaded.secrets_path,
                                         [r for r in refs if r.name not in supplied]), supplied)
    keystone = next(r for r in vip_refs if r.name == "tls-vip-keystone")
    bundle = store.lookup(tls.vip_certificate("keystone", keystone.subject))
    ca_pem = store.lookup(tls.ca_certificate())
    assert ca_pem.encode() == _pem(pki.root)
    # HAProxy's file: the leaf, the intermediate, the key; the client knows only the root.
    handshake(tmp_path, bundle, ca_pem, keystone.subject)


def test_supplied_values_are_never_written_to_the_secrets_file(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    supplied, refs = _load(site, pki)
    loaded = catalog.load(site)
    store = ensure_secrets(loaded.secrets_path, [r for r in refs if r.name not in supplied],
                           write=False)
    save(with_supplied(store, supplied))
    kept = read_secrets(loaded.secrets_path)
    assert kept and not set(kept) & set(supplied)
    assert "keystone-db" in kept


def test_a_supplied_certificate_is_not_rotated(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    supplied, _ = _load(site, pki)
    with pytest.raises(SiteError) as caught:
        refuse_supplied(["nova-db", "tls-vip-nova"], supplied)
    assert [(p.code, p.key) for p in caught.value.problems] == [
        ("secrets-not-rotated", "tls-vip-nova")]


def test_a_certificate_for_another_address_is_refused(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    pki.leaf("glance", "198.18.0.250")
    faults = _faults(site, pki)
    assert [k for k, _ in faults] == ["openstack.certificates.vips.glance.certificate"]
    assert "198.18.0.202" in faults[0][1]


def test_a_key_of_another_certificate_is_refused(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    address = str(catalog.load(site).placement.vips["nova"])
    pki.leaf("nova", address, key=rsa.generate_private_key(public_exponent=65537,
                                                            key_size=2048))
    assert [k for k, _ in _faults(site, pki)] == ["openstack.certificates.vips.nova.key"]


def test_a_passphrase_key_or_one_others_can_read_is_refused(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    own = ec.generate_private_key(ec.SECP256R1())
    (pki.directory / "heat.key").write_bytes(_key_pem(own, b"secret"))
    (pki.directory / "swift.key").chmod(0o644)
    faults = dict(_faults(site, pki))
    assert "passphrase" in faults["openstack.certificates.vips.heat.key"]
    assert "readable by others" in faults["openstack.certificates.vips.swift.key"]


def test_an_expired_certificate_or_one_of_another_ca_is_refused(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    placement = catalog.load(site).placement
    pki.leaf("cinder", str(placement.vips["cinder"]), days=-1)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pki.leaf("placement", str(placement.vips["placement"]),
             issuer=(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")]), other))
    faults = dict(_faults(site, pki))
    assert "expired" in faults["openstack.certificates.vips.cinder.certificate"]
    assert "not issued by the CA" in faults["openstack.certificates.vips.placement.certificate"]


def test_every_tls_vip_needs_one_and_unknown_vips_are_named(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    vips = pki.section["vips"]
    vips.pop("horizon")  # type: ignore[attr-defined]
    vips["typo"] = dict(vips["nova"])  # type: ignore[index]
    faults = _faults(site, pki)
    assert ("openstack.certificates.vips.typo",
            "no VIP named 'typo' is served over TLS") in faults
    assert any(k == "openstack.certificates.vips" and "horizon" in w for k, w in faults)


def test_a_missing_file_or_a_ca_that_is_not_one_is_refused(lab: tuple[Path, Pki]) -> None:
    site, pki = lab
    (pki.directory / "keystone.pem").unlink()
    leaf_only = pki.directory / "neutron.pem"
    (pki.directory / "ca.pem").write_bytes(leaf_only.read_bytes().split(b"-----END")[0]
                                           + b"-----END CERTIFICATE-----\n")
    faults = dict(_faults(site, pki))
    assert "cannot read" in faults["openstack.certificates.vips.keystone.certificate"]
    assert "not a CA certificate" in faults["openstack.certificates.ca"]
    assert os.path.exists(pki.directory / "ca.pem")


def test_validate_names_the_key_of_a_bad_certificate(lab: tuple[Path, Pki],
                                                     tmp_path: Path) -> None:
    from test_cli import hastack

    site, pki = lab
    pki.leaf("keystone", "198.18.0.250")
    with pytest.raises(SiteError):
        _load(site, pki)
    result = hastack(tmp_path, "validate", str(site))
    assert result.returncode == 2
    assert "openstack.certificates.vips.keystone.certificate" in result.stderr
    assert "198.18.0.201" in result.stderr
