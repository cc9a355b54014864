# mypy: ignore-errors
"""What the drills' bus load left in its queue (drills/load.py), on the lab's client: the ID
of each message of run RUN, one per line, from the first member that answers. argv: RUN
HOST...; the account in AMQP_USER and AMQP_PASSWORD."""

import os
import sys

import amqp

from hastack.agents.amqp_client import amqp_tls

QUEUE = "@BUS_QUEUE@"

run, hosts = sys.argv[1], sys.argv[2:]
user, password = os.environ["AMQP_USER"], os.environ["AMQP_PASSWORD"]
for host in hosts:
    try:
        with amqp.Connection(host, userid=user, password=password, connect_timeout=5,
                             ssl=amqp_tls(host)) as c:
            ch = c.channel()
            while True:
                msg = ch.basic_get(QUEUE, no_ack=True)
                if msg is None:
                    break
                body = msg.body.decode() if isinstance(msg.body, bytes) else msg.body
                name, _, number = body.partition(":")
                if name == run:
                    print(number)
        break
    except OSError:
        continue
