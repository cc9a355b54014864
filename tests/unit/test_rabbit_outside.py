"""status names the members RabbitMQ does not count in its cluster (their data was lost or
diverged; hastack never resets a broker), and nobody when RabbitMQ could not answer."""

from __future__ import annotations

from hastack.verify.status import brokers_outside


def test_a_member_missing_from_the_disk_nodes_is_named() -> None:
    assert brokers_outside(["ctl1", "ctl2", "ctl3"],
                           ["rabbit@ctl1", "rabbit@ctl3"]) == ["ctl2"]


def test_every_member_listed_or_no_answer_names_nobody() -> None:
    assert brokers_outside(["ctl1", "ctl2"], ["rabbit@ctl1", "rabbit@ctl2"]) == []
    assert brokers_outside(["ctl1", "ctl2"], []) == []
