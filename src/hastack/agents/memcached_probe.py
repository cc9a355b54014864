# mypy: ignore-errors
"""verify's memcached check (verify/checks.py), on a member: set a key on one member and get
it back; prints "ok", or what the member answered. argv: HOST PORT KEY."""

import socket
import sys

host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=5)
s.sendall(f"set {key} 0 60 2\r\nok\r\nget {key}\r\n".encode())
data = b""
while not data.endswith(b"END\r\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print("ok" if b"\r\nok\r\n" in data else data.decode(errors="replace"))
