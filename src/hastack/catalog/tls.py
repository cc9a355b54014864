"""TLS on the VIPs: the site CA every node trusts, one certificate per VIP, https URLs.

HAProxy ends TLS on each API VIP (openstack.tls, on by default) with a certificate the site
CA issued for that VIP's address; the servers behind it speak plain HTTP on the internal
network, and learn from X-Forwarded-Proto that their clients used https (the links they
return must say so). Every node trusts the CA through the system store, so every client of an
API (services, agents, the `openstack` CLI) verifies the VIP's certificate without options of
its own; openrc and clouds.yaml also name it.
"""

from __future__ import annotations

import datetime
import ipaddress
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from hastack import pki
from hastack.catalog.contract import ServiceContext
from hastack.catalog.secret_text import SecretRef, Value
from hastack.catalog.steps import ConfigFile, text_file
from hastack.errors import Problem, SiteError
from hastack.site.load import LoadedSite
from hastack.site.model import CertificateFiles, Node, Site

# update-ca-certificates adds every *.crt of this folder to /etc/ssl/certs/ca-certificates.crt,
# the bundle Debian's requests, openssl and curl read.
CA_DIR = "/usr/local/share/ca-certificates"
CERT_DIR = "/etc/haproxy/tls"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def enabled(site: Site) -> bool:
    return site.openstack.tls


def ca_path(site: Site) -> str:
    return f"{CA_DIR}/hastack-{site.name}.crt"


CA_SECRET = "tls-site-ca"
VIP_SECRET = "tls-vip-"  # + the VIP's name


def ca_certificate() -> SecretRef:
    """The site CA's certificate (public): its key stays in the secrets file."""
    return SecretRef(CA_SECRET, kind="tls-ca", form="certificate")


def vip_certificate(vip: str, address: str) -> SecretRef:
    """The certificate and key HAProxy serves on ``vip`` (issued again when its address
    changes)."""
    return SecretRef(VIP_SECRET + vip, kind="tls-leaf", subject=address, issuer=CA_SECRET,
                     form="bundle")


def certificate_path(vip: str) -> str:
    return f"{CERT_DIR}/{vip}.pem"


def scheme(site: Site) -> str:
    return "https" if enabled(site) else "http"


def vip_url(ctx: ServiceContext, vip: str, port: int | None = None, path: str = "") -> str:
    """A URL on a VIP, https when the site serves TLS (``port`` None: the scheme's own)."""
    where = str(ctx.vip(vip)) + (f":{port}" if port is not None else "")
    return f"{scheme(ctx.site)}://{where}{path}"


def proxy_headers(ctx: ServiceContext) -> dict[str, dict[str, Value]]:
    """oslo.middleware trusts X-Forwarded-Proto only when told: HAProxy sets it (and strips
    a client's own), so the links an API returns say https."""
    if not enabled(ctx.site):
        return {}
    return {"oslo_middleware": {"enable_proxy_headers_parsing": True}}


# --- inside the site: AMQP and Galera's replication (openstack.internal_tls) -------------
# A CA of hastack's own, always (a site's own CA gives no key to issue with), issues one
# certificate per node for its internal address; RabbitMQ and Galera each keep a copy their
# own user can read. Clients verify the chain and the address against this CA alone.

INTERNAL_CA_SECRET = "tls-internal-ca"
NODE_SECRET = "tls-node-"  # + the node's name
INTERNAL_CA_PATH = "/etc/hastack/internal-ca.crt"


def internal(site: Site) -> bool:
    return site.openstack.internal_tls


def link_file(node: str, path: str, site: Site) -> ConfigFile:
    """What a service's members speak to each other, TLS or plain: a member restarted for
    the other cannot reach the rest, so a change restarts every member at once."""
    return text_file(node, path, "tls\n" if internal(site) else "plain\n", together=True)


def internal_ca_certificate() -> SecretRef:
    return SecretRef(INTERNAL_CA_SECRET, kind="tls-ca", form="certificate")


def node_certificate(node: Node, form: Literal["certificate", "key"]) -> SecretRef:
    """A node's certificate (public) or its key, for its internal address and its name
    (Erlang's distribution checks the host part of the peer's node name). Rotated only when
    named: a new one restarts RabbitMQ and Galera on every member."""
    return SecretRef(NODE_SECRET + node.name, kind="tls-leaf", subject=str(node.address),
                     issuer=INTERNAL_CA_SECRET, peer=True, host=node.name, form=form,
                     rotation="named")


def node_certificate_files(node: Node, directory: str, user: str) -> list[ConfigFile]:
    """A service's own copy of its node's certificate and key (``directory``/node.crt and
    node.key), the key readable by the service's ``user`` alone."""
    return [text_file(node.name, f"{directory}/node.crt", node_certificate(node, "certificate")),
            text_file(node.name, f"{directory}/node.key", node_certificate(node, "key"),
                      owner=user, group=user, mode=0o400)]


# --- the site's own certificates (openstack.certificates) ---------------------------------

MAX_PEM_BYTES = 65536


def site_certificates(loaded: LoadedSite, refs: Iterable[SecretRef]) -> dict[str, str]:
    """The secret values of the site's own CA and VIP certificates, read from its files and
    checked as a client and HAProxy would (none when the site has none): they stand in for
    the generated ones and are never written to the secrets file.

    Raises:
        SiteError: naming the site file, the key and what is wrong, for every fault found.
    """
    given = loaded.site.openstack.certificates
    if given is None:
        return {}
    vips = {r.name.removeprefix(VIP_SECRET): r.subject for r in refs
            if r.kind == "tls-leaf" and r.issuer == CA_SECRET}
    problems: list[Problem] = []

    def fault(key: str, what: str, fix: str) -> None:
        problems.append(Problem(code="site-certificate-invalid", where=str(loaded.path),
                                key=f"openstack.certificates.{key}", what=what, fix=fix))

    base = loaded.path.parent
    if not enabled(loaded.site):
        fault("ca", "certificates are given but openstack.tls is false",
              "set openstack.tls: true, or remove openstack.certificates")
    ca_certs = _certificates(base / given.ca, "ca", fault)
    ca = ca_certs[0] if ca_certs else None
    if ca is not None and not _is_ca(ca):
        fault("ca", f"{given.ca} is not a CA certificate (no basicConstraints CA:TRUE)",
              "give the certificate of the CA that issued the VIPs' certificates")
    for vip in sorted(set(given.vips) - set(vips)):
        fault(f"vips.{vip}", f"no VIP named '{vip}' is served over TLS",
              f"the VIPs served over TLS are: {', '.join(sorted(vips))}")
    values = {CA_SECRET: pki.Pair(None, ca).value()} if ca is not None else {}
    for vip, address in sorted(vips.items()):
        files = given.vips.get(vip)
        if files is None:
            fault("vips", f"no certificate for VIP '{vip}' ({address})",
                  "give one for every VIP served over TLS, or remove openstack.certificates "
                  "to have hastack's own CA issue them all")
            continue
        pair = _vip_pair(base, vip, address, files, ca, fault)
        if pair is not None:
            values[VIP_SECRET + vip] = pair.value()
    if problems:
        raise SiteError(problems)
    return values


Fault = Callable[[str, str, str], None]


def _read_pem(path: Path, key: str, fault: Fault, *, private: bool = False) -> bytes | None:
    try:
        if path.stat().st_size > MAX_PEM_BYTES:
            fault(key, f"{path} is larger than {MAX_PEM_BYTES} bytes", "give a PEM file")
            return None
        if private and stat.S_IMODE(path.stat().st_mode) & 0o077:
            fault(key, f"{path} holds a private key and is readable by others "
                  f"(mode {stat.S_IMODE(path.stat().st_mode):04o})",
                  f"chmod 600 {path}")
            return None
        return path.read_bytes()
    except OSError as exc:
        fault(key, f"cannot read {path}: {exc.strerror}", "check the path (relative to the "
              "site file) and its mode")
        return None


def _certificates(path: Path, key: str, fault: Fault) -> list[x509.Certificate]:
    data = _read_pem(path, key, fault)
    if data is None:
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        fault(key, f"{path} holds no PEM certificate", "give the certificate in PEM form "
              "(-----BEGIN CERTIFICATE-----)")
        return []


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _vip_pair(base: Path, vip: str, address: str, files: CertificateFiles,
              ca: x509.Certificate | None, fault: Fault) -> pki.Pair | None:
    where = f"vips.{vip}"
    certs = _certificates(base / files.certificate, f"{where}.certificate", fault)
    data = _read_pem(base / files.key, f"{where}.key", fault, private=True)
    if not certs or data is None:
        return None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        fault(f"{where}.key", f"{files.key} is protected by a passphrase",
              "HAProxy starts unattended: give the key unencrypted (mode 0600)")
        return None
    except ValueError:
        fault(f"{where}.key", f"{files.key} holds no PEM private key", "give the VIP "
              "certificate's private key in PEM form")
        return None
    leaf, *chain = certs
    if not isinstance(key, pki.PrivateKey) or not pki.key_matches(key, leaf):
        fault(f"{where}.key", f"{files.key} is not the key of {files.certificate}",
              "give the private key that belongs to the VIP's certificate")
        return None
    try:
        named = leaf.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)
    except x509.ExtensionNotFound:
        named = []
    if ipaddress.ip_address(address) not in named:
        fault(f"{where}.certificate", f"{files.certificate} does not name the VIP's address "
              f"{address} (clients connect to the address)",
              f"issue it with IP:{address} in its subjectAltName")
    if leaf.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        fault(f"{where}.certificate", f"{files.certificate} expired on "
              f"{leaf.not_valid_after_utc:%Y-%m-%d}", "give a current certificate")
    if ca is not None and not _issued_by(leaf, chain, ca):
        fault(f"{where}.certificate", f"{files.certificate} was not issued by the CA of "
              "openstack.certificates.ca (through the intermediates that follow it)",
              "give the VIP's certificate followed by its intermediates, issued under that CA")
    return pki.Pair(key, leaf, tuple(chain))


def _issued_by(leaf: x509.Certificate, chain: Sequence[x509.Certificate],
               ca: x509.Certificate) -> bool:
    current = leaf
    try:
        for issuer in chain:
            current.verify_directly_issued_by(issuer)
            current = issuer
        if current != ca:
            current.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
