"""The one parser of systemd's unit states that deploy, status and the drills share."""

from __future__ import annotations

from hastack.unit_states import UnitState, parse


def test_each_line_gives_a_units_enabled_and_active_state() -> None:
    assert parse("keystone 1 1\nnova-api 1 0\nmemcached 0 1\n") == {
        "keystone": UnitState(enabled=True, active=True),
        "nova-api": UnitState(enabled=True, active=False),
        "memcached": UnitState(enabled=False, active=True)}


def test_lines_of_another_shape_are_ignored() -> None:
    assert parse("Failed to connect to bus\nkeystone 1\nx 2 1\n") == {}
