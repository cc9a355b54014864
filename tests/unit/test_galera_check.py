"""HAProxy's Galera health check (agents/galera_check.py), served on a real socket: 200 only
while the member is synced, 503 otherwise, and MariaDB asked once for checks that come
together (three HAProxies checking every member)."""

from __future__ import annotations

import socket
import threading
import time

from hastack.agents import galera_check


def _check(address: tuple[str, int]) -> str:
    with socket.create_connection(address, timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return conn.recv(4096).decode().split("\r\n")[0]


def test_answers_follow_the_members_state_and_mariadb_is_asked_once_per_moment() -> None:
    states = [True]
    asked: list[float] = []

    def ask() -> bool:
        asked.append(time.monotonic())
        return states[-1]

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    threading.Thread(target=galera_check.serve, args=(listener, ask), daemon=True).start()
    address = listener.getsockname()
    assert [_check(address) for _ in range(3)] == ["HTTP/1.1 200 OK"] * 3
    assert len(asked) == 1
    states.append(False)
    time.sleep(galera_check.FRESH + 0.1)
    assert _check(address) == "HTTP/1.1 503 Service Unavailable"
    assert len(asked) == 2
