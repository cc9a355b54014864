"""A node's backends taken out of HAProxy while its service restarts there, so that a rolling
restart loses no request: no new request reaches a backend about to stop, those in flight
finish first, and the backend takes requests again only once it answers.

HAProxy alone cannot do this: a stopping backend is marked down only after its checks fail
(requests meanwhile fail or are cut), and a server leaving maintenance is UP at once, before
an API that is still loading can answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from hastack import haproxy_stats
from hastack.catalog.contract import Listener
from hastack.errors import TransportError
from hastack.render.haproxy import health_check
from hastack.transport.base import Transport

# In-flight API requests end within HAProxy's `timeout server` (1 min); a long-lived
# connection (a console's websocket) is not waited for beyond this.
IDLE_TIMEOUT = 60
ANSWER_TIMEOUT = 300


def probe_argv(listener: Listener, address: str) -> list[str]:
    """The command that passes when the backend at ``address`` passes HAProxy's own check of
    ``listener`` (render/haproxy.py): the same request and the same expected answer."""
    port = listener.check_port or listener.backend_port or listener.port
    check = health_check(listener)
    if check is None:
        return ["timeout", "5", "bash", "-c", f"</dev/tcp/{address}/{port}"]
    url = f"http://{address}:{port}{check.path}"
    return ["sh", "-c", f"curl -s -o /dev/null -m 5 -w '%{{http_code}}' '{url}' "
                        f"| grep -Eq '{check.status}'"]


def drained_listeners(listeners: Sequence[Listener]) -> list[Listener]:
    """Listeners whose backends are drained: not the database's single writer, whose pooled
    connections never go idle (Galera's own restart moves the writer)."""
    return [listener for listener in listeners if not listener.single_writer]


async def _wait(timeout: float, done: Callable[[], Awaitable[bool]]) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if await done():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(1)


async def drain(balancers: Mapping[str, Transport], listeners: Sequence[Listener],
                server: str) -> None:
    """``server``'s backends of ``listeners`` take no new request on any balancer, and none
    is in flight (or IDLE_TIMEOUT passed)."""
    pairs = _pairs(listeners, server)
    if not pairs or not balancers:
        return
    await asyncio.gather(*(haproxy_stats.set_state(b, pairs, "maint")
                           for b in balancers.values()))

    async def idle() -> bool:
        counts = await asyncio.gather(*(haproxy_stats.sessions(b, pairs)
                                        for b in balancers.values()))
        return sum(counts) == 0
    await _wait(IDLE_TIMEOUT, idle)


async def give_back(balancers: Mapping[str, Transport], listeners: Sequence[Listener],
                    server: str, address: str) -> None:
    """``server``'s backends take requests again once each answers its check (raises
    TransportError if one never does; even then HAProxy is given the server back and its
    checks decide)."""
    pairs = _pairs(listeners, server)
    if not pairs or not balancers:
        return
    try:
        prober = next(iter(balancers.values()))
        targets = drained_listeners(listeners)

        async def answering() -> bool:
            results = await asyncio.gather(*(prober.run(probe_argv(listener, address),
                                                        timeout=30) for listener in targets))
            return all(r.ok for r in results)
        if not await _wait(ANSWER_TIMEOUT, answering):
            raise TransportError(server, f"{', '.join(p for p, _ in pairs)} on {server} did "
                                 f"not answer {ANSWER_TIMEOUT} s after its restart",
                                 fix=f"see the service's log on {server}")
    finally:
        await _ready(balancers, pairs)


@asynccontextmanager
async def drained(balancers: Mapping[str, Transport], listeners: Sequence[Listener],
                  server: str, address: str) -> AsyncIterator[None]:
    """Inside: ``server``'s backends drained (see drain). After: given back (see give_back);
    on any error inside, given back to HAProxy's checks without hiding that error."""
    await drain(balancers, listeners, server)
    try:
        yield
    except BaseException:
        with contextlib.suppress(TransportError):
            await _ready(balancers, _pairs(listeners, server))
        raise
    await give_back(balancers, listeners, server, address)


def _pairs(listeners: Sequence[Listener], server: str) -> list[tuple[str, str]]:
    return [(listener.name, server) for listener in drained_listeners(listeners)]


async def _ready(balancers: Mapping[str, Transport], pairs: list[tuple[str, str]]) -> None:
    await asyncio.gather(*(haproxy_stats.set_state(b, pairs, "ready")
                           for b in balancers.values()))
