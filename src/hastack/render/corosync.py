"""corosync.conf for one cluster: knet transport with crypto on, votequorum, one ring."""

from __future__ import annotations

from hastack.site.model import Site, corosync_node_id
from hastack.site.placement import ClusterPlacement

# knet with aes256/sha256: the only transport corosync 3 encrypts (lab-notes: quorate at once).
CRYPTO_CIPHER = "aes256"
CRYPTO_HASH = "sha256"
KEYFILE = "/etc/corosync/authkey"


def node_ids(site: Site, cluster: ClusterPlacement) -> dict[str, int]:
    return {name: corosync_node_id(site.node(name).address) for name in cluster.members}


def render_corosync(site: Site, cluster: ClusterPlacement) -> str:
    lines = [
        "# Rendered by hastack: edit the site file, not this file.",
        "totem {",
        "    version: 2",
        f"    cluster_name: {cluster.name}",
        "    transport: knet",
        f"    crypto_cipher: {CRYPTO_CIPHER}",
        f"    crypto_hash: {CRYPTO_HASH}",
        f"    keyfile: {KEYFILE}",
        "    ip_version: ipv4",
        # token: the failure-detection time; the lab runs 1000 ms (VIP back in ~4 s).
        f"    token: {site.cluster.token_ms}",
        "}",
        "",
        "nodelist {",
    ]
    for name, nodeid in node_ids(site, cluster).items():
        lines += [
            "    node {",
            f"        ring0_addr: {site.node(name).address}",
            f"        name: {name}",
            f"        nodeid: {nodeid}",
            "    }",
        ]
    lines += [
        "}",
        "",
        "quorum {",
        "    provider: corosync_votequorum",
        "}",
        "",
        "logging {",
        "    to_logfile: yes",
        "    logfile: /var/log/corosync/corosync.log",
        "    to_syslog: yes",
        "    timestamp: on",
        "}",
        "",
    ]
    return "\n".join(lines)
