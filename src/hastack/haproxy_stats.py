"""HAProxy's own view of its backends, read from its admin socket on a node."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection

from hastack.errors import TransportError
from hastack.transport.base import Transport

ADMIN_SOCKET = "/run/haproxy/admin.sock"


async def servers(node: Transport) -> list[tuple[str, str, str]]:
    """(proxy, server, status) of every backend server HAProxy knows on ``node``."""
    done = await node.run(["socat", "stdio", ADMIN_SOCKET], stdin=b"show stat\n", timeout=30)
    if not done.ok:
        raise TransportError(node.host, f"haproxy stats socket: {done.stderr.strip()}")
    rows = csv.DictReader(io.StringIO(done.stdout.lstrip("# ")))
    return [(row["pxname"], row["svname"], row.get("status", "")) for row in rows
            if row.get("svname") and row["svname"] not in ("FRONTEND", "BACKEND")]


async def down(node: Transport, proxies: Collection[str] | None = None) -> list[str]:
    """``node:proxy/server=STATUS`` for every server not UP (of ``proxies``, or all)."""
    return [f"{node.host}:{proxy}/{server}={status}"
            for proxy, server, status in await servers(node)
            if (proxies is None or proxy in proxies) and not status.startswith("UP")]
