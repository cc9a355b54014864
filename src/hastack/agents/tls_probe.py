# mypy: ignore-errors
"""verify's TLS check of a member's listeners (verify/checks.py), on the member itself, as a
peer sees them: each secure port's handshake must verify against the CA and the member's
address (with the node's own certificate: Galera asks a peer for one), printed as "PORT
VERSION"; each plain port must refuse the connection, else "PORT open in the clear". argv:
CA CERT KEY ADDRESS SECURE_PORTS PLAIN_PORTS (ports comma-separated)."""

import socket
import ssl
import sys

ca, cert, key, address, secure, plain = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
for port in secure.split(","):
    with socket.create_connection((address, int(port)), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=address) as conn:
        print(port, conn.version())
for port in filter(None, plain.split(",")):
    try:
        socket.create_connection((address, int(port)), timeout=10).close()
        print(port, "open in the clear")
    except ConnectionRefusedError:
        pass
