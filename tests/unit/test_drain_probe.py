"""A drained backend takes requests again only when it passes HAProxy's own check: the probe
deploy runs is checked here against a real HTTP server and a closed port on loopback."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from hastack.catalog.contract import Listener
from hastack.deploy.drain import drained_listeners, probe_argv


def _server(status: int) -> tuple[http.server.HTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def answering() -> Iterator[dict[int, int]]:
    """Ports of loopback servers answering 200, 300, 401 and 500."""
    servers = {code: _server(code) for code in (200, 300, 401, 500)}
    yield {code: port for code, (_, port) in servers.items()}
    for server, _ in servers.values():
        server.shutdown()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _passes(listener: Listener) -> bool:
    return subprocess.run(probe_argv(listener, "127.0.0.1"), capture_output=True).returncode == 0


def test_an_api_answering_below_500_is_ready(answering: dict[int, int]) -> None:
    for code in (200, 300, 401):
        assert _passes(Listener(name="api", vip="x", port=answering[code])), code


def test_an_api_answering_500_or_not_listening_is_not_ready(answering: dict[int, int]) -> None:
    assert not _passes(Listener(name="api", vip="x", port=answering[500]))
    assert not _passes(Listener(name="api", vip="x", port=_closed_port()))


def test_a_check_path_wants_200(answering: dict[int, int]) -> None:
    assert _passes(Listener(name="c", vip="x", port=1, check_port=answering[200],
                            check_path="/"))
    assert not _passes(Listener(name="c", vip="x", port=1, check_port=answering[401],
                                check_path="/"))


def test_a_tcp_backend_is_ready_when_it_accepts(answering: dict[int, int]) -> None:
    assert _passes(Listener(name="vnc", vip="x", port=answering[200], mode="tcp"))
    assert not _passes(Listener(name="vnc", vip="x", port=_closed_port(), mode="tcp"))


def test_the_single_writer_is_not_drained() -> None:
    db = Listener(name="galera", vip="db", port=3306, mode="tcp", single_writer=True)
    api = Listener(name="api", vip="x", port=1)
    assert drained_listeners([db, api]) == [api]
