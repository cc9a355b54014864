"""HAProxy's own view of its backends, read from its admin socket on a node."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Collection

from hastack.errors import TransportError
from hastack.process import Result
from hastack.transport.base import Transport

ADMIN_SOCKET = "/run/haproxy/admin.sock"


async def _admin(node: Transport, command: bytes) -> Result:
    """One command on the admin socket; a reload replaces the socket, so a refused connection
    is tried again for a few seconds."""
    for _ in range(10):
        done = await node.run(["socat", "stdio", ADMIN_SOCKET], stdin=command, timeout=30)
        if done.ok:
            return done
        await asyncio.sleep(1)
    return done


async def _stat_rows(node: Transport) -> list[dict[str, str]]:
    done = await _admin(node, b"show stat\n")
    if not done.ok:
        raise TransportError(node.host, f"haproxy stats socket: {done.stderr.strip()}")
    return list(csv.DictReader(io.StringIO(done.stdout.lstrip("# "))))


async def servers(node: Transport) -> list[tuple[str, str, str]]:
    """(proxy, server, status) of every backend server HAProxy knows on ``node``."""
    return [(row["pxname"], row["svname"], row.get("status", ""))
            for row in await _stat_rows(node)
            if row.get("svname") and row["svname"] not in ("FRONTEND", "BACKEND")]


async def down(node: Transport, proxies: Collection[str] | None = None) -> list[str]:
    """``node:proxy/server=STATUS`` for every server not UP (of ``proxies``, or all)."""
    return [f"{node.host}:{proxy}/{server}={status}"
            for proxy, server, status in await servers(node)
            if (proxies is None or proxy in proxies) and not status.startswith("UP")]


async def set_state(node: Transport, pairs: Collection[tuple[str, str]], state: str) -> None:
    """Set the administrative state (``ready``, ``drain`` or ``maint``) of ``(proxy, server)``
    pairs in one call; HAProxy forgets it on a reload, which starts every server ready."""
    commands = "; ".join(f"set server {proxy}/{server} state {state}"
                         for proxy, server in pairs)
    done = await _admin(node, f"{commands}\n".encode())
    if not done.ok or done.stdout.strip():
        raise TransportError(node.host, f"haproxy: {commands}: "
                             f"{(done.stdout + done.stderr).strip()}")


async def sessions(node: Transport, pairs: Collection[tuple[str, str]]) -> int:
    """Requests or connections in flight to ``(proxy, server)`` pairs on ``node``."""
    return sum(int(row.get("scur") or 0) for row in await _stat_rows(node)
               if (row.get("pxname"), row.get("svname")) in pairs)
