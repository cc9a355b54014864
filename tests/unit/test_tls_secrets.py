"""The site CA and the VIP certificates: generated with the secrets, kept stable, issued again
when they no longer fit, and accepted by a real TLS handshake only for their own address."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from hastack import catalog, pki
from hastack.catalog import tls
from hastack.errors import SiteError
from hastack.secrets import ensure_secrets, read_secrets, rotate, write_secrets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VIP = "198.18.0.201"


def refs(address: str = VIP) -> list:
    return [tls.ca_certificate(), tls.vip_certificate("keystone", address)]


def handshake(tmp_path: Path, bundle: str, ca_pem: str, server_name: str) -> None:
    """A TLS handshake over a socket pair: the server serves ``bundle``, the client trusts
    ``ca_pem`` and checks ``server_name``. Raises ssl.SSLError when the client refuses."""
    (tmp_path / "bundle.pem").write_text(bundle)
    (tmp_path / "ca.pem").write_text(ca_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "bundle.pem")
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    left, right = socket.socketpair()

    def serve() -> None:
        try:
            with server_ctx.wrap_socket(right, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_ctx.wrap_socket(left, server_hostname=server_name):
            pass
    finally:
        thread.join(10)


def test_a_vip_certificate_is_accepted_for_its_address_only(tmp_path: Path) -> None:
    store = ensure_secrets(tmp_path / "s.yaml", refs())
    bundle = store.lookup(tls.vip_certificate("keystone", VIP))
    ca_pem = store.lookup(tls.ca_certificate())
    assert "PRIVATE KEY" in bundle and "PRIVATE KEY" not in ca_pem
    handshake(tmp_path, bundle, ca_pem, VIP)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tmp_path, bundle, ca_pem, "198.18.0.202")


def test_certificates_are_kept_and_issued_again_when_the_address_changes(tmp_path: Path
                                                                       ) -> None:
    path = tmp_path / "s.yaml"
    first = ensure_secrets(path, refs())
    assert set(first.generated) == {"tls-site-ca", "tls-vip-keystone"}
    again = ensure_secrets(path, refs())
    assert again.generated == () and again.values == first.values
    moved = ensure_secrets(path, refs("198.18.0.210"))
    assert moved.generated == ("tls-vip-keystone",)
    assert moved.values["tls-site-ca"] == first.values["tls-site-ca"]
    bundle = moved.lookup(tls.vip_certificate("keystone", "198.18.0.210"))
    handshake(tmp_path, bundle, moved.lookup(tls.ca_certificate()), "198.18.0.210")


def test_a_new_ca_reissues_every_certificate(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    first = ensure_secrets(path, refs())
    values = dict(first.values)
    del values["tls-site-ca"]
    write_secrets(path, values)
    second = ensure_secrets(path, refs())
    assert set(second.generated) == {"tls-site-ca", "tls-vip-keystone"}
    leaf = pki.parse(second.values["tls-vip-keystone"])
    assert pki.still_good(leaf, pki.parse(second.values["tls-site-ca"]), VIP, "tls-vip-keystone")


def test_a_mangled_certificate_in_the_secrets_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    values = dict(ensure_secrets(path, refs()).values)
    values["tls-vip-keystone"] = values["tls-vip-keystone"][:40]
    write_secrets(path, values)
    with pytest.raises(SiteError) as raised:
        read_secrets(path, refs())
    (problem,) = raised.value.problems
    assert problem.code == "secrets-value-malformed" and problem.key == "tls-vip-keystone"


def test_node_certificates_come_from_the_internal_ca_and_name_their_node(tmp_path: Path
                                                                        ) -> None:
    """openstack.internal_tls: a node's certificate verifies for its address against the
    internal CA only (not the site CA of the VIPs), and a default rotation leaves it alone
    (a new one restarts RabbitMQ and Galera everywhere)."""
    site = catalog.load(EXAMPLES / "lab.yaml").site
    ctl1, ctl2 = site.node("ctl1"), site.node("ctl2")
    wanted = [*refs(), tls.internal_ca_certificate(),
              tls.node_certificate(ctl1, "certificate"), tls.node_certificate(ctl2, "key")]
    store = ensure_secrets(tmp_path / "s.yaml", wanted)
    assert {"tls-internal-ca", "tls-node-ctl1", "tls-node-ctl2"} <= set(store.generated)
    internal_ca = store.lookup(tls.internal_ca_certificate())
    cert = store.lookup(tls.node_certificate(ctl1, "certificate"))
    key = store.lookup(tls.node_certificate(ctl1, "key"))
    assert "PRIVATE KEY" not in cert and "PRIVATE KEY" in key
    handshake(tmp_path, cert + key, internal_ca, str(ctl1.address))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tmp_path, cert + key, internal_ca, str(ctl2.address))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tmp_path, cert + key, store.lookup(tls.ca_certificate()), str(ctl1.address))
    rotated = rotate(tmp_path / "s.yaml", wanted)
    assert "tls-vip-keystone" in rotated.generated
    assert not {"tls-node-ctl1", "tls-node-ctl2"} & set(rotated.generated)
    by_name = rotate(tmp_path / "s.yaml", wanted, ["tls-node-ctl1"])
    assert by_name.values["tls-node-ctl1"] != store.values["tls-node-ctl1"]
    handshake(tmp_path, by_name.lookup(tls.node_certificate(ctl1, "certificate"))
              + by_name.lookup(tls.node_certificate(ctl1, "key")), internal_ca,
              str(ctl1.address))
    # Galera's members connect to each other: each presents its certificate as a client too.
    purposes = pki.parse(store.values["tls-node-ctl1"]).certificate.extensions \
        .get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in purposes
    # Erlang's distribution checks the peer's node name (rabbit@ctl1): the certificate names it.
    handshake(tmp_path, cert + key, internal_ca, "ctl1")
