"""haproxy.cfg for a load-balancer cluster: one ``listen`` block per catalog listener.

Identical on every member: each binds the VIP addresses (ip_nonlocal_bind), and Pacemaker
decides which member holds each VIP (guide: Proxy server).
"""

from __future__ import annotations

from collections.abc import Sequence

from hastack.catalog.base import Listener
from hastack.site.model import Site
from hastack.site.placement import Placement

# 8000 connections need ~16000 descriptors: within the 20000 a lab machine may have (its
# sandbox cannot raise the hard limit); real hosts get LimitNOFILE=65536 (loadbalancer.py).
MAXCONN = 8000
CHECK_INTERVAL = "1s"  # the guide checks every backend every second
# A uwsgi app that failed to load answers 500 forever (lab-notes): an API backend is healthy
# only when it answers below 500 (keystone's / answers 300, others 401).
API_HEALTHY = r"^[234]"

GLOBAL = f"""\
# Rendered by hastack: edit the site file, not this file.
global
    log /dev/log local0
    maxconn {MAXCONN}
    stats socket /run/haproxy/admin.sock mode 660 level admin
    user haproxy
    group haproxy

defaults
    log global
    mode tcp
    option redispatch
    retries 3
    maxconn 10000
    timeout connect 10s
    timeout client 1m
    timeout server 1m
    timeout check 10s
"""


def _listen_block(site: Site, placement: Placement, listener: Listener) -> list[str]:
    vip = placement.vips[listener.vip]
    backend_port = listener.backend_port or listener.port
    lines = [f"listen {listener.name}", f"    bind {vip}:{listener.port}", "    mode tcp"]
    if listener.tcp_keepalive or listener.single_writer:
        lines.append("    option tcpka")
    if listener.single_writer or listener.check_path:
        lines.append(f"    option httpchk GET {listener.check_path or '/'}")
        lines.append("    http-check expect status 200")
    elif listener.mode == "http":
        lines.append("    option httpchk GET /")
        lines.append(f"    http-check expect rstatus {API_HEALTHY}")
    if listener.single_writer:
        # One writer at a time: every connection sticks to one synced member (guide: Galera).
        lines += ["    stick-table type ip size 1000", "    stick on dst"]
    else:
        lines.append(f"    balance {listener.balance}")
    if listener.timeout_client:
        lines.append(f"    timeout client {listener.timeout_client}")
    if listener.timeout_server:
        lines.append(f"    timeout server {listener.timeout_server}")
    for name in placement.cluster_of(listener.service).members:
        server = (f"    server {name} {site.node(name).address}:{backend_port} "
                  f"check inter {CHECK_INTERVAL} rise 2 fall 2")
        if listener.check_port:
            server += f" port {listener.check_port}"
        if listener.single_writer:
            server += " backup on-marked-down shutdown-sessions"
        lines.append(server)
    return lines


def render_haproxy(site: Site, placement: Placement, listeners: Sequence[Listener]) -> str:
    blocks = [GLOBAL]
    for listener in listeners:
        blocks.append("\n".join(_listen_block(site, placement, listener)) + "\n")
    return "\n".join(blocks)
