# mypy: ignore-errors
"""A client program's way to a broker (verify's probe, the drills' loads), inlined into each
program that imports it: py-amqp's ``ssl`` argument for a member "address:port", trusting
only the internal CA (given in AMQP_CA_PEM, public) and checking the member's address; False
(plain AMQP) when no CA is given."""

import os


def amqp_tls(host):
    pem = os.environ.get("AMQP_CA_PEM")
    if not pem:
        return False
    return {"context": {"cadata": pem, "check_hostname": True},
            "server_hostname": host.rsplit(":", 1)[0]}
