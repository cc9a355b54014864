#!/usr/bin/python3
"""hastack: HAProxy's health check of one Galera member (HTTP 200 only while it is synced).

Shipped by hastack (catalog/galera.py) and started by systemd on the first check through
galera-check.socket (Accept=no): one process answers every check on the socket systemd passes
it, and asks MariaDB at most every FRESH seconds however many HAProxies ask it. The former
one-service-per-connection check cost the idle plane 0.06 core (a unit, a shell and a mysql
client every 0.7 s per member). If this process dies, systemd starts it again on the next
connection; the socket itself never stops listening.

Standalone: Python's standard library and the mysql client only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable

MYSQL_SOCKET = "/run/mysqld/mysqld.sock"
SYNCED = "4"  # wsrep_local_state 4 = Synced
FRESH = 0.5  # seconds an answer from MariaDB is reused (HAProxy checks every 0.5 s at most)
LISTEN_FD = 3  # SD_LISTEN_FDS_START


def ask_mariadb() -> bool:
    try:
        done = subprocess.run(
            ["mysql", f"--socket={MYSQL_SOCKET}", "-N", "-B", "-e",
             "SHOW STATUS LIKE 'wsrep_local_state'"],
            capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.split("\t")[-1].strip() == SYNCED


def response(synced: bool) -> bytes:
    status, body = ("200 OK", "synced") if synced else ("503 Service Unavailable",
                                                        "not synced")
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            f"{body}\r\n").encode()


def serve(listener: socket.socket, ask: Callable[[], bool] = ask_mariadb) -> None:
    asked_at, synced = float("-inf"), False
    while True:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(4096)  # the request line; every path gets the same answer
                if time.monotonic() - asked_at > FRESH:
                    synced = ask()
                    asked_at = time.monotonic()
                conn.sendall(response(synced))
            except OSError:
                continue


def main() -> None:
    if os.environ.get("LISTEN_FDS") != "1":
        sys.exit("hastack-galera-check: start me through galera-check.socket")
    serve(socket.socket(fileno=LISTEN_FD))


if __name__ == "__main__":
    main()
