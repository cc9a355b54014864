"""A rolling restart's drain (deploy/drain.py) against a real HAProxy on loopback: while a
backend is drained no new request reaches it, the request it was serving finishes first (not
cut), and it takes requests again only once it answers HAProxy's check after its restart."""

from __future__ import annotations

import asyncio
import http.server
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from hastack import haproxy_stats
from hastack.catalog.contract import Listener
from hastack.deploy import drain
from hastack.process import Result, run_async
from hastack.render.haproxy import API_HEALTHY, health_check

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("haproxy", "socat", "curl")),
                                reason="needs haproxy, socat and curl (make test installs them)")

PORT = 18775  # every backend's port, on its own loopback address (as nodes share one)
ADDRESSES = {"s1": "127.0.0.2", "s2": "127.0.0.3"}
SLOW = 2.0  # seconds a /slow request takes


class Backend:
    """An API member: answers its check at once and /slow after SLOW seconds; counts what
    it served and remembers when its slow requests started and ended."""

    def __init__(self, address: str) -> None:
        self.served = 0
        self.slow_started = threading.Event()
        self.slow_done_at: float | None = None
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/slow":
                    backend.slow_started.set()
                    time.sleep(SLOW)
                elif self.path != "/":
                    backend.served += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if self.path == "/slow":
                    backend.slow_done_at = time.monotonic()

            def log_message(self, *args: object) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer((address, PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Here:
    """The balancer's node is this machine."""

    host = "here"

    async def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 60) -> Result:
        return await run_async(self.host, argv, stdin=stdin,
                               env={**os.environ, **(env or {})}, timeout=timeout)


LISTENER = Listener(name="api", vip="api", port=PORT, service="api")


@pytest.fixture
def balancer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, dict]]:
    """HAProxy in front of s1 and s2 with the check the catalog renders for an HTTP API
    (faster), its admin socket in tmp_path; yields the frontend's port and the backends."""
    check = health_check(LISTENER)
    assert check is not None and check.status == API_HEALTHY
    backends = {name: Backend(address) for name, address in ADDRESSES.items()}
    front = PORT + 1
    socket_path = tmp_path / "admin.sock"
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        f"global\n    stats socket {socket_path} mode 600 level admin\n"
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n"
        "    timeout server 30s\n"
        f"listen {LISTENER.name}\n    bind 127.0.0.1:{front}\n"
        f"    option httpchk GET {check.path}\n    http-check expect rstatus {check.status}\n"
        "    balance roundrobin\n"
        + "".join(f"    server {name} {address}:{PORT} check inter 300ms rise 1 fall 1\n"
                  for name, address in ADDRESSES.items()))
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    monkeypatch.setattr(haproxy_stats, "ADMIN_SOCKET", str(socket_path))
    try:
        deadline = time.monotonic() + 30
        while asyncio.run(haproxy_stats.down(Here())) if socket_path.exists() else True:
            assert time.monotonic() < deadline, "HAProxy's backends were not UP within 30 s"
            time.sleep(0.2)
        yield front, backends
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
        for backend in backends.values():
            backend.stop()


def _get(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
        return answer.status


def test_a_drained_backend_finishes_its_requests_and_comes_back_only_when_it_answers(
        balancer: tuple[int, dict]) -> None:
    front, backends = balancer
    statuses: list[int] = []
    # Slow requests until one is in flight on s1 (round robin: every other one).
    slow = [threading.Thread(target=lambda: statuses.append(_get(front, "/slow")))
            for _ in range(2)]
    for thread in slow:
        thread.start()
    assert backends["s1"].slow_started.wait(10), "no request reached s1"
    restarted: dict[str, float] = {}

    async def restart_s1() -> None:
        async with drain.drained({"here": Here()}, [LISTENER], "s1", ADDRESSES["s1"]):
            entered = time.monotonic()
            # The request in flight on s1 finished (200) before the drain let the restart go.
            assert backends["s1"].slow_done_at is not None
            assert backends["s1"].slow_done_at <= entered
            before = backends["s1"].served
            for _ in range(10):
                assert await asyncio.to_thread(_get, front, "/api") == 200
            assert backends["s1"].served == before, "a drained backend got new requests"
            backends["s1"].stop()  # the service's restart: it answers again 2 s later
            threading.Timer(2.0, back).start()
        restarted["given_back"] = time.monotonic()

    def back() -> None:
        backends["s1"] = Backend(ADDRESSES["s1"])
        restarted["at"] = time.monotonic()

    meanwhile: list[int] = []
    stop = threading.Event()

    def clients() -> None:  # while s1 is down, its requests must not go there
        while not stop.is_set():
            meanwhile.append(_get(front, "/api"))
            time.sleep(0.05)

    client = threading.Thread(target=clients)
    client.start()
    try:
        asyncio.run(restart_s1())
    finally:
        stop.set()
        client.join(30)
    for thread in slow:
        thread.join(30)
    assert statuses == [200, 200]
    assert restarted["given_back"] >= restarted.get("at", float("inf")), \
        "given back before it answered"
    assert meanwhile and set(meanwhile) == {200}
    for _ in range(10):
        assert _get(front, "/api") == 200
    assert backends["s1"].served > 0, "s1 got no request after it was given back"
    assert asyncio.run(haproxy_stats.down(Here())) == []
