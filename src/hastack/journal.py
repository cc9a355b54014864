"""The nodes' journals as one time-ordered view: each node's ``journalctl -o json`` read into
entries, merged by time, shown one line each (``hastack logs``, ``hastack report``)."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, order=True)
class Entry:
    """One journal line: when (µs since the epoch), on which node, from which program (as
    journalctl names it: its syslog identifier, else its unit)."""

    micros: int
    node: str
    source: str
    message: str

    def line(self) -> str:
        when = datetime.fromtimestamp(self.micros / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"{when[:-3]} {self.node} {self.source}: {self.message}"


def journal_argv(*, unit: str | None = None, since: str | None = None,
                 lines: int | None = None) -> list[str]:
    """journalctl as each node runs it: JSON, so entries merge by their own timestamps."""
    argv = ["journalctl", "--no-pager", "--output=json", "--output-fields="
            "__REALTIME_TIMESTAMP,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,MESSAGE"]
    if unit:
        argv += ["--unit", unit]
    if since:
        argv += ["--since", since]
    if lines is not None:
        argv += ["--lines", str(lines)]
    return argv


def _message(value: object) -> str:
    # journald gives a message that is not valid UTF-8 as a list of bytes.
    if isinstance(value, list):
        return bytes(v for v in value if isinstance(v, int)).decode(errors="replace")
    return str(value) if value is not None else ""


def parse(node: str, text: str) -> list[Entry]:
    """``journalctl --output=json`` of ``node``: one entry per line; a broken line is
    skipped (a journal rotated while read)."""
    entries = []
    for raw in text.splitlines():
        try:
            fields = json.loads(raw)
            micros = int(fields["__REALTIME_TIMESTAMP"])
        except (ValueError, KeyError, TypeError):
            continue
        source = fields.get("SYSLOG_IDENTIFIER") or fields.get("_SYSTEMD_UNIT") or "-"
        entries.append(Entry(micros, node, str(source), _message(fields.get("MESSAGE"))))
    return entries


def merged(per_node: Iterable[Sequence[Entry]]) -> list[Entry]:
    """Every node's entries in one order of time (each node's journal is already ordered)."""
    return list(heapq.merge(*(sorted(entries) for entries in per_node)))
