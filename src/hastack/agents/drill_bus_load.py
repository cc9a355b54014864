# mypy: ignore-errors
"""The drills' message bus load (drills/load.py), on the lab's client: a message published
with confirms to a quorum queue every 0.1 s, each printed as ``ack|err ID UNIXTIME``; after an
error the next member is tried, as oslo.messaging fails over. argv: SECONDS RUN HOST...; the
account in AMQP_USER and AMQP_PASSWORD."""

import contextlib
import os
import sys
import time

import amqp

from hastack.agents.amqp_client import amqp_tls

QUEUE = "@BUS_QUEUE@"

seconds, run, hosts = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
user, password = os.environ["AMQP_USER"], os.environ["AMQP_PASSWORD"]
end, i, turn, channel, conn = time.time() + seconds, 0, 0, None, None
stop = os.environ.get("DRILL_STOP", "")  # the drill saw the recovery: end early
while time.time() < end and not (stop and os.path.exists(stop)):
    i += 1
    ok = False
    try:
        if channel is None:
            # confirm_publish: py-amqp's basic_publish waits for the broker's confirm only
            # when the connection asks for it; confirm_select alone does not make it wait.
            conn = amqp.Connection(hosts[turn % len(hosts)], userid=user, password=password,
                                   connect_timeout=3, read_timeout=5, write_timeout=5,
                                   confirm_publish=True, ssl=amqp_tls(hosts[turn % len(hosts)]))
            conn.connect()
            channel = conn.channel()
            channel.queue_declare(QUEUE, durable=True, auto_delete=False,
                                  arguments={"x-queue-type": "quorum"})
        channel.basic_publish(amqp.Message(f"{run}:{i}", delivery_mode=2),
                              routing_key=QUEUE, confirm_timeout=5)
        ok = True
    except (OSError, amqp.exceptions.AMQPError, amqp.exceptions.MessageNacked):  # OSError:
        # socket.timeout too (an alias of TimeoutError, an OSError, since Python 3.10)
        turn += 1
        channel = None
        with contextlib.suppress(Exception):
            conn and conn.collect()
    print(("ack" if ok else "err"), i, time.time(), flush=True)
    time.sleep(0.1)
