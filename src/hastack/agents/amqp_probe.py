# mypy: ignore-errors
"""verify's RabbitMQ check (verify/checks.py), on a member: publish BODY to a quorum queue on
one member, consume it on another. Prints the body consumed (or "nothing"), then how many
leftovers it drained: a run that published but could not consume (a member still starting)
leaves its message in the durable queue, and later runs drain it, or the check would lag one
behind forever. argv: PUBLISH_HOST CONSUME_HOST QUEUE BODY; the account in AMQP_USER and
AMQP_PASSWORD."""

import os
import sys

import amqp

from hastack.agents.amqp_client import amqp_tls

user, password = os.environ["AMQP_USER"], os.environ["AMQP_PASSWORD"]
publish_host, consume_host, queue, body = sys.argv[1:5]
with amqp.Connection(publish_host, userid=user, password=password, connect_timeout=10,
                     confirm_publish=True, ssl=amqp_tls(publish_host)) as c:
    ch = c.channel()
    ch.queue_declare(queue, durable=True, auto_delete=False,
                     arguments={"x-queue-type": "quorum"})
    ch.basic_publish(amqp.Message(body), routing_key=queue, mandatory=True)
leftovers = 0
with amqp.Connection(consume_host, userid=user, password=password, connect_timeout=10,
                     ssl=amqp_tls(consume_host)) as c:
    ch = c.channel()
    while True:
        msg = ch.basic_get(queue, no_ack=True)
        if msg is None or msg.body == body:
            break
        leftovers += 1
print(msg.body if msg is not None else "nothing")
print(leftovers)
