"""The site's own certificate authority and the certificates of its VIPs.

A CA or a leaf is kept in the secrets file as one line, ``<key> <certificate>``, both DER in
base64 (a secret holds no line break). Leaves name their VIP's address and are issued again
when they no longer match: another address, another CA, or close to their end.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest a browser accepts for a server certificate
RENEW_BEFORE = datetime.timedelta(days=30)  # a deploy this close to the end issues a new one
CLOCK_SKEW = datetime.timedelta(hours=1)  # valid from a little before now: nodes' clocks differ


class MalformedPair(ValueError):
    """A secret that is not ``<base64 key> <base64 certificate>``."""


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Pair:
    """A key and its certificate. Generated ones are EC and alone; a site's own may be RSA,
    come with intermediate certificates (``chain``) or, for its CA, without the key."""

    key: PrivateKey | None
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def value(self) -> str:
        key = "-" if self.key is None else _b64(self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        certs = (self.certificate, *self.chain)
        return " ".join([key, *(_b64(c.public_bytes(serialization.Encoding.DER))
                                for c in certs)])

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def chain_pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)

    def key_pem(self) -> str:
        if self.key is None:
            raise MalformedPair("no key")
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse(value: str) -> Pair:
    """Raises MalformedPair."""
    try:
        key_b64, *certs_b64 = value.split(" ")
        if not certs_b64:
            raise ValueError("no certificate")
        key = None if key_b64 == "-" else serialization.load_der_private_key(
            base64.b64decode(key_b64, validate=True), password=None)
        cert, *chain = (x509.load_der_x509_certificate(base64.b64decode(c, validate=True))
                        for c in certs_b64)
    except ValueError as exc:
        raise MalformedPair(str(exc)) from None
    if key is not None and not isinstance(key, PrivateKey):
        raise MalformedPair("neither an elliptic-curve nor an RSA key")
    if key is not None and not key_matches(key, cert):
        raise MalformedPair("the key does not belong to the certificate")
    return Pair(key, cert, tuple(chain))


def key_matches(key: PrivateKey, certificate: x509.Certificate) -> bool:
    def spki(public: object) -> bytes:
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            return b""
        return public.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki(key.public_key()) == spki(certificate.public_key())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _serial(*parts: str) -> int:
    """Unique per issue (time included), positive and within 20 bytes (RFC 5280)."""
    digest = hashlib.sha256("\0".join([*parts, _now().isoformat()]).encode()).digest()
    return int.from_bytes(digest[:16], "big") >> 1


def new_ca() -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hastack"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "hastack site CA")])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(_serial("ca"))
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return Pair(key, cert)


def issue(ca: Pair, address: str, name: str, *, peer: bool = False) -> Pair:
    """A server certificate for one address (what clients connect to) and a DNS name; a
    ``peer``'s also authenticates it as a client (Galera's members connect to each other)."""
    if ca.key is None:
        raise MalformedPair("the CA has no key: hastack issues only with a CA of its own")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    end = min(now + datetime.timedelta(days=LEAF_DAYS), ca.certificate.not_valid_after_utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .issuer_name(ca.certificate.subject).public_key(key.public_key())
            .serial_number(_serial(address, name)).not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address(address)), x509.DNSName(name)]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(_purposes(peer)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Pair(key, cert)


def _purposes(peer: bool) -> list[x509.ObjectIdentifier]:
    return [ExtendedKeyUsageOID.SERVER_AUTH, *([ExtendedKeyUsageOID.CLIENT_AUTH] if peer else [])]


def still_good(leaf: Pair, ca: Pair, address: str, name: str, *, peer: bool = False) -> bool:
    """The leaf names ``address`` and ``name``, was signed by ``ca`` for the purposes wanted
    and is not close to its end."""
    try:
        leaf.certificate.verify_directly_issued_by(ca.certificate)
    except (InvalidSignature, ValueError, TypeError):
        return False
    sans = leaf.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    named = sans.value.get_values_for_type(x509.IPAddress)
    try:
        purposes = list(leaf.certificate.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        purposes = []
    return (named == [ipaddress.ip_address(address)] and purposes == _purposes(peer)
            and sans.value.get_values_for_type(x509.DNSName) == [name]
            and leaf.certificate.not_valid_after_utc - _now() > RENEW_BEFORE)


def bundle_pem(leaf: Pair) -> str:
    """What HAProxy's ``crt`` reads: the certificate, its intermediates, then its key
    (clients hold the CA)."""
    return leaf.certificate_pem() + leaf.chain_pem() + leaf.key_pem()
