"""haproxy.cfg for a load-balancer cluster: one ``listen`` block per catalog listener.

Identical on every member: each binds the VIP addresses (ip_nonlocal_bind), and Pacemaker
decides which member holds each VIP (guide: Proxy server).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hastack.catalog import tls
from hastack.catalog.contract import Listener
from hastack.site.model import Site
from hastack.site.placement import Placement

# 8000 connections need ~16000 descriptors: within the 20000 a lab machine may have (its
# sandbox cannot raise the hard limit); real hosts get LimitNOFILE=65536 (loadbalancer.py).
MAXCONN = 8000
# Health checks find a backend that is broken while nothing uses it and bring one back; a
# backend that dies under traffic is marked down by that traffic itself (observe layer4: its
# first failed connections), and the request goes to another (redispatch on every retry). So
# checks need not run every second, as in the guide: each API check runs the app on every
# member from every HAProxy (3 x 3 per interval), the largest part of an idle plane's CPU.
# After a failed check, fastinter probes quickly to confirm.
API_CHECK = "inter 3s fastinter 500ms downinter 2s rise 2 fall 2"
DB_CHECK = "inter 2s fastinter 500ms downinter 1s rise 2 fall 2"  # the DB path: faster
# Connection errors that mark a backend down at once; 2, so one refused connection on a
# saturated node does not take a healthy backend out.
OBSERVE = "observe layer4 error-limit 2 on-error mark-down"
# A uwsgi app that failed to load answers 500 forever (lab-notes): an API backend is healthy
# only when it answers below 500 (keystone's / answers 300, others 401).
API_HEALTHY = r"^[234]"

GLOBAL = f"""\
# Rendered by hastack: edit the site file, not this file.
global
    log /dev/log local0
    maxconn {MAXCONN}
    stats socket /run/haproxy/admin.sock mode 660 level admin group haclient
    ssl-default-bind-options ssl-min-ver TLSv1.2
    user haproxy
    group haproxy

defaults
    log global
    mode tcp
    option redispatch 1
    retries 3
    maxconn 10000
    timeout connect 2s
    timeout client 1m
    timeout server 1m
    timeout check 10s
    timeout http-request 30s
    timeout http-keep-alive 1m
"""


@dataclass(frozen=True)
class HealthCheck:
    """HAProxy's HTTP check of a listener's backends: GET ``path``, healthy when the status
    code matches ``status`` (a regular expression)."""

    path: str
    status: str


def health_check(listener: Listener) -> HealthCheck | None:
    """The check of ``listener``'s backends (None: a TCP connect). Deploy's drain asks the
    same question before it gives a restarted backend back (deploy/drain.py)."""
    if listener.single_writer or listener.check_path:
        return HealthCheck(listener.check_path or "/", "^200$")
    if listener.mode == "http":
        return HealthCheck("/", API_HEALTHY)
    return None


def serves_tls(site: Site, listener: Listener) -> bool:
    return tls.enabled(site) and listener.tls


def _frontend(site: Site, vip: str, listener: Listener) -> list[str]:
    """The bind line and mode: TLS ends here when the site serves it, and an HTTP API is then
    proxied as HTTP, telling the servers their client used https."""
    bind = f"    bind {vip}:{listener.port}"
    if not serves_tls(site, listener):
        return [bind, "    mode tcp"]
    bind += f" ssl crt {tls.certificate_path(listener.vip)} alpn http/1.1"
    if listener.mode == "tcp":
        return [bind, "    mode tcp"]
    return [bind, "    mode http", "    option forwardfor",
            "    http-request set-header X-Forwarded-Proto https"]


def _listen_block(site: Site, placement: Placement, listener: Listener) -> list[str]:
    vip = placement.vips[listener.vip]
    backend_port = listener.backend_port or listener.port
    lines = [f"listen {listener.name}", *_frontend(site, str(vip), listener)]
    if listener.tcp_keepalive or listener.single_writer:
        lines.append("    option tcpka")
    check = health_check(listener)
    if check is not None:
        lines.append(f"    option httpchk GET {check.path}")
        lines.append(f"    http-check expect rstatus {check.status}")
    if listener.single_writer:
        # One writer at a time: every connection sticks to one synced member (guide: Galera).
        lines += ["    stick-table type ip size 1000", "    stick on dst"]
    else:
        lines.append(f"    balance {listener.balance}")
    if listener.timeout_client:
        lines.append(f"    timeout client {listener.timeout_client}")
    if listener.timeout_server:
        lines.append(f"    timeout server {listener.timeout_server}")
    for name in placement.backends_of(listener.service):
        timing = DB_CHECK if listener.single_writer else API_CHECK
        server = f"    server {name} {site.node(name).address}:{backend_port} check {timing}"
        if listener.check_port:
            server += f" port {listener.check_port}"
        if listener.single_writer:
            server += " backup"
        # A request in flight to a backend that died gets an error at once, not a hang
        # until its client gives up; the client's retry goes to a live one.
        server += f" {OBSERVE} on-marked-down shutdown-sessions"
        lines.append(server)
    return lines


def render_haproxy(site: Site, placement: Placement, listeners: Sequence[Listener]) -> str:
    blocks = [GLOBAL]
    for listener in listeners:
        blocks.append("\n".join(_listen_block(site, placement, listener)) + "\n")
    return "\n".join(blocks)
