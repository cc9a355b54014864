"""The nodes' journals read from ``journalctl --output=json`` and merged by time."""

from __future__ import annotations

import json

from hastack import journal


def _line(micros: int, message: object, ident: str = "corosync") -> str:
    return json.dumps({"__REALTIME_TIMESTAMP": str(micros), "MESSAGE": message,
                       "SYSLOG_IDENTIFIER": ident, "_SYSTEMD_UNIT": "corosync.service"})


def test_entries_of_every_node_come_in_one_order_of_time() -> None:
    ctl1 = journal.parse("ctl1", "\n".join([_line(1_000, "a"), _line(3_000, "c")]))
    ctl2 = journal.parse("ctl2", "\n".join([_line(2_000, "b"), _line(4_000, "d")]))
    merged = journal.merged([ctl1, ctl2])
    assert [(e.node, e.message) for e in merged] == [
        ("ctl1", "a"), ("ctl2", "b"), ("ctl1", "c"), ("ctl2", "d")]


def test_a_line_shows_its_time_node_unit_and_message() -> None:
    (entry,) = journal.parse("ctl3", _line(1_765_015_200_123_456, "quorum regained"))
    assert entry.line() == "2025-12-06 10:00:00.123 ctl3 corosync: quorum regained"


def test_odd_lines_are_read_as_well_as_they_can_be() -> None:
    """A message journald could not store as UTF-8 comes as a list of bytes; an entry
    without a syslog identifier names its unit; a broken line (a journal rotated while
    read) is skipped, not fatal."""
    text = "\n".join([
        _line(1, [104, 105, 255]),
        json.dumps({"__REALTIME_TIMESTAMP": "2", "_SYSTEMD_UNIT": "haproxy.service",
                    "MESSAGE": "x"}),
        '{"__REALTIME_TIMESTAMP": ',
        json.dumps({"MESSAGE": "no time"}),
    ])
    entries = journal.parse("cmp1", text)
    assert [(e.source, e.message) for e in entries] == [
        ("corosync", "hi\ufffd"), ("haproxy.service", "x")]


def test_journalctl_is_asked_for_json_of_one_unit_since_a_time() -> None:
    argv = journal.journal_argv(unit="pacemaker", since="-10min", lines=50)
    assert argv[:3] == ["journalctl", "--no-pager", "--output=json"]
    assert argv[4:] == ["--unit", "pacemaker", "--since", "-10min", "--lines", "50"]
