"""TLS on the VIPs: the site CA every node trusts, one certificate per VIP, https URLs.

HAProxy ends TLS on each API VIP (openstack.tls, on by default) with a certificate the site
CA issued for that VIP's address; the servers behind it speak plain HTTP on the internal
network, and learn from X-Forwarded-Proto that their clients used https (the links they
return must say so). Every node trusts the CA through the system store, so every client of an
API (services, agents, the `openstack` CLI) verifies the VIP's certificate without options of
its own; openrc and clouds.yaml also name it.
"""

from __future__ import annotations

from hastack.catalog.base import SecretRef, ServiceContext, Value
from hastack.site.model import Site

# update-ca-certificates adds every *.crt of this folder to /etc/ssl/certs/ca-certificates.crt,
# the bundle Debian's requests, openssl and curl read.
CA_DIR = "/usr/local/share/ca-certificates"
CERT_DIR = "/etc/haproxy/tls"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def enabled(site: Site) -> bool:
    return site.openstack.tls


def ca_path(site: Site) -> str:
    return f"{CA_DIR}/hastack-{site.name}.crt"


def ca_certificate() -> SecretRef:
    """The site CA's certificate (public): its key stays in the secrets file."""
    return SecretRef("tls-site-ca", kind="tls-ca", form="certificate")


def vip_certificate(vip: str, address: str) -> SecretRef:
    """The certificate and key HAProxy serves on ``vip`` (issued again when its address
    changes)."""
    return SecretRef(f"tls-vip-{vip}", kind="tls-leaf", subject=address, form="bundle")


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
