"""A drill's recovery timeline: every step from the fault to full strength, from the nodes'
own records (their journals) and the loads' records, so a slow step can be seen and fixed.

Each step has its moment (seconds after the fault), the node that recorded it and a name. The
time between two steps belongs to the later one: it is what the recovery waited for.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import re
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hastack.errors import HastackError
from hastack.transport.base import Transport

# The daemons whose lines tell the story, by their journal identifier.
IDENTIFIERS = ("corosync", "pacemaker-controld", "pacemaker-fenced", "pacemaker-schedulerd",
               "haproxy", "systemd")


@dataclass(frozen=True)
class Step:
    at: float  # seconds after the fault
    node: str  # who recorded it ("load" for the drill's own loads)
    step: str  # what happened, named
    detail: str = ""


SYSTEMD_STARTED = "systemd: started "

# (identifier, pattern, name built from the match): one entry per step worth naming. The
# patterns follow corosync 3.1, Pacemaker 2.1 and HAProxy 2.6 log lines.
Rule = tuple[str, re.Pattern[str], str]
RULES: tuple[Rule, ...] = (
    ("corosync", re.compile(r"A processor failed, forming new configuration"),
     "corosync lost the token"),
    ("corosync", re.compile(r"A new membership \([^)]*\) was formed\.(?P<who>.*)"),
     "corosync membership formed: {who}"),
    ("corosync", re.compile(r"\[QUORUM\] (?P<what>This node is within the (non-)?primary "
                            r"component.*)"), "corosync: {what}"),
    ("pacemaker-controld", re.compile(r"Node (?P<node>\S+) state is now lost"),
     "pacemaker: {node} lost"),
    ("pacemaker-controld", re.compile(r"Requesting fencing \((?P<action>\w+)\) (?:of|targeting)"
                                      r" node (?P<node>\S+)"),
     "fencing of {node} requested ({action})"),
    ("pacemaker-fenced", re.compile(r"Operation '(?P<action>\w+)' targeting (?P<node>\S+) "
                                    r"(?:by|on) (?P<by>\S+) for \S+: (?P<result>.+)"),
     "fencing of {node} by {by}: {result}"),
    ("pacemaker-fenced", re.compile(r"Operation '(?P<action>\w+)' \[\d+\] targeting "
                                    r"(?P<node>\S+) using (?P<device>\S+) returned (?P<rc>-?\d+)"),
     "fence device {device} returned {rc} for {node}"),
    ("pacemaker-schedulerd", re.compile(r"Calculated transition (?P<n>\d+)"),
     "transition {n} computed"),
    ("pacemaker-controld", re.compile(r"Transition (?P<n>\d+) \(Complete=(?P<c>\d+), "
                                      r"Pending=\d+, Fired=\d+, Skipped=(?P<s>\d+), "
                                      r"Incomplete=(?P<i>\d+).*\): (?P<how>\w+)"),
     "transition {n} {how} ({c} actions done, {s} skipped, {i} left)"),
    ("pacemaker-controld", re.compile(r"(?P<level>High|Extreme) (?P<what>CPU|CIB) load "
                                      r"detected: (?P<load>\d+\.\d\d)"),
     "pacemaker throttles actions: {level} {what} load {load}"),
    ("pacemaker-controld", re.compile(r"Initiating (?P<op>start|promote) operation "
                                      r"(?P<rsc>[^_\s:]+)\S* (?:locally )?on (?P<node>\S+)"),
     "{op} {rsc} on {node}: initiated"),
    ("pacemaker-controld", re.compile(r"Result of (?P<op>start|stop|promote|demote) operation "
                                      r"for (?P<rsc>\S+) on (?P<node>\S+): (?P<result>[^|(]+)"),
     "{op} {rsc} on {node}: {result}"),
    ("pacemaker-controld", re.compile(r"Result of monitor operation for (?P<rsc>\S+) on "
                                      r"(?P<node>\S+): (?P<result>(?!ok)[^|(]+)"),
     "monitor of {rsc} on {node}: {result}"),
    ("haproxy", re.compile(r"Server (?P<server>\S+) is (?P<state>DOWN|UP)"),
     "haproxy: {server} {state}"),
    # systemd 252: a service it runs itself (cluster.manages: core) dying and coming back.
    ("systemd", re.compile(r"^(?P<unit>[\w@.-]+)\.service: Main process exited, "
                           r"code=(?P<code>\w+), status=(?P<status>\S+)"),
     "systemd: {unit} exited ({code} {status})"),
    ("systemd", re.compile(r"^(?P<unit>[\w@.-]+)\.service: Scheduled restart job"),
     "systemd: {unit} restart scheduled"),
    ("systemd", re.compile(r"^Started (?P<unit>(?!run-)[\w@.-]+)\.service\b"),
     SYSTEMD_STARTED + "{unit}"),
)


def classify(identifier: str, message: str) -> str | None:
    """The step a journal line names, or None for a line that names none."""
    for ident, pattern, name in RULES:
        if ident != identifier:
            continue
        found = pattern.search(message)
        if found:
            fields = {k: (v or "").strip() for k, v in found.groupdict().items()}
            return name.format(**fields).strip()
    return None


def steps_from_journal(node: str, lines: Iterable[str], fault_at: float) -> list[Step]:
    """Steps from ``journalctl -o json`` lines of one node."""
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("MESSAGE")
        if not isinstance(message, str):
            continue  # journald gives binary messages as byte arrays: none of ours
        name = classify(entry.get("SYSLOG_IDENTIFIER", ""), message)
        at = int(entry["__REALTIME_TIMESTAMP"]) / 1e6 - fault_at
        if name is not None and at >= 0:  # what the cluster did before the fault is not recovery
            out.append(Step(round(at, 2), node, name, message.strip()[:300]))
    return out


async def journal_steps(transports: Mapping[str, Transport], nodes: Sequence[str],
                        fault_at: float, until: float) -> tuple[list[Step], list[str]]:
    """Every node's steps between the fault and ``until`` (unix time); a node that cannot be
    read is named in the second list. (``--since`` takes whole seconds: the lines of the second
    before are read and dropped.)"""
    argv = ["journalctl", "--no-pager", "-o", "json", f"--since=@{fault_at - 1:.0f}",
            f"--until=@{until + 1:.0f}", *(f"--identifier={i}" for i in IDENTIFIERS)]

    async def one(node: str) -> tuple[str, list[Step] | None]:
        try:
            done = await transports[node].run(argv, timeout=60)
        except HastackError:
            return node, None
        if not done.ok:
            return node, None
        return node, steps_from_journal(node, done.stdout.splitlines(), fault_at)

    steps: list[Step] = []
    unread = []
    for node, found in await asyncio.gather(*(one(n) for n in nodes)):
        if found is None:
            unread.append(node)
        else:
            steps += found
    return steps, unread


# Galera writes to its own log file (the agent's `log` parameter), not to the journal, in the
# machine's local time and to the second.
GALERA_LOG = "/var/log/mysql/error.log"
GALERA_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"WSREP: evs::proto\(.*\) suspecting node: "), "galera: suspecting a member"),
    (re.compile(r"WSREP: New COMPONENT: primary = (?P<primary>yes|no),.* memb_num = (?P<n>\d+)"),
     "galera: new component of {n} (primary: {primary})"),
    (re.compile(r"WSREP: Shifting (?P<old>[A-Z]+) -> (?P<new>[A-Z]+)"),
     "galera: {old} -> {new}"),
)
GALERA_STAMP = re.compile(r"^(?P<day>\d{4}-\d\d-\d\d) +(?P<clock>\d+:\d\d:\d\d) ")


def steps_from_galera_log(node: str, text: str, fault_at: float, until: float) -> list[Step]:
    """Steps from Galera's error log; the first line of ``text`` is the machine's UTC offset
    (``date +%z``), the rest log lines."""
    offset, _, body = text.partition("\n")
    sign = -1 if offset.startswith("-") else 1
    shift = sign * (int(offset[1:3] or 0) * 3600 + int(offset[3:5] or 0) * 60) \
        if len(offset) == 5 else 0
    out = []
    for line in body.splitlines():
        stamp = GALERA_STAMP.match(line)
        if stamp is None:
            continue
        clock = stamp["clock"].zfill(8)
        at = calendar.timegm(time.strptime(f"{stamp['day']} {clock}", "%Y-%m-%d %H:%M:%S")) \
            - shift + 0.0
        # The stamp is the second the line fell in: a line of the fault's own second is after it.
        if not fault_at - 1 < at <= until + 1:
            continue
        at = max(at, fault_at)
        for pattern, name in GALERA_RULES:
            found = pattern.search(line)
            if found:
                out.append(Step(round(at - fault_at, 2), node, name.format(**found.groupdict()),
                                line[stamp.end():].strip()[:300]))
                break
    return out


async def galera_steps(transports: Mapping[str, Transport], nodes: Sequence[str],
                       fault_at: float, until: float) -> list[Step]:
    """Every node's Galera membership steps in the window (a node without the log has none)."""
    script = (f'date +%z; grep -E "suspecting node|New COMPONENT|WSREP: Shifting" '
              f'{GALERA_LOG} 2>/dev/null | tail -n 400; true')
    return await _log_steps(transports, nodes, script, lambda node, text: (
        steps_from_galera_log(node, text, fault_at, until)))


async def _log_steps(transports: Mapping[str, Transport], nodes: Sequence[str], script: str,
                     parse: Callable[[str, str], list[Step]]) -> list[Step]:
    """``script``'s output on every node, parsed into steps (a node that cannot be read,
    or has no log, has none)."""

    async def one(node: str) -> list[Step]:
        try:
            done = await transports[node].run(["sh", "-c", script], timeout=60)
        except HastackError:
            return []
        return parse(node, done.stdout) if done.ok else []

    return [s for found in await asyncio.gather(*(one(n) for n in nodes)) for s in found]


def merged(*parts: Iterable[Step]) -> list[Step]:
    """All steps in time order; the same step recorded by several nodes at once (a cluster
    event every member logs) is kept once, from the first node that recorded it."""
    seen: set[tuple[str, float]] = set()
    logged: set[tuple[str, str, float]] = set()
    out: list[Step] = []
    def order(step: Step) -> tuple[float, bool, str]:
        return step.at, not step.step.startswith("fault:"), step.node  # the fault opens its moment

    for step in sorted((s for p in parts for s in p), key=order):
        key = (step.step, round(step.at))
        if key in seen and step.step.startswith(("corosync membership", "transition")):
            continue
        if (step.node, step.step, step.at) in logged:
            continue  # one event logged twice by one daemon (HAProxy: two log targets)
        logged.add((step.node, step.step, step.at))
        seen.add(key)
        out.append(step)
    return out


# RabbitMQ writes to its own log file, with the time to the microsecond and its UTC offset.
# What a confirmed publish waits for after a member's loss: the member seen down, and the
# drill queue's Raft members electing a new leader (Ra logs each state change of a member).
RABBITMQ_LOG = "/var/log/rabbitmq/rabbit@*.log"
RABBITMQ_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # The broker's application seen gone, then (apart, ~0.2 s later in the lab) the Erlang
    # distribution's link to its node, with the reason.
    (re.compile(r"rabbit on node '?(?P<peer>rabbit@[\w.-]+)'? down"),
     "rabbitmq: broker {peer} down"),
    (re.compile(r"node '?(?P<peer>rabbit@[\w.-]+)'? down: (?P<reason>\w+)"),
     "rabbitmq: link to {peer} lost ({reason})"),
    (re.compile(r"queue '(?P<queue>[^']+)' in vhost '[^']*': (?P<old>[a-z_]+) -> "
                r"(?P<new>[a-z_]+) in term: (?P<term>\d+)"),
     "rabbitmq: queue {queue}: {old} -> {new} (term {term})"),
)
RABBITMQ_STAMP = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d) ")


def steps_from_rabbitmq_log(node: str, text: str, fault_at: float, until: float,
                            queue: str) -> list[Step]:
    """Steps from RabbitMQ's log lines: members seen down, and the state changes of
    ``queue``'s Raft members (other queues' are left out: OpenStack has hundreds)."""
    out = []
    for line in text.splitlines():
        stamp = RABBITMQ_STAMP.match(line)
        if stamp is None:
            continue
        at = datetime.fromisoformat(stamp["stamp"]).timestamp()
        if not fault_at <= at <= until:
            continue
        for pattern, name in RABBITMQ_RULES:
            found = pattern.search(line)
            if found and found.groupdict().get("queue", queue) == queue:
                out.append(Step(round(at - fault_at, 2), node, name.format(**found.groupdict()),
                                line[stamp.end():].strip()[:300]))
                break
    return out


async def rabbitmq_steps(transports: Mapping[str, Transport], nodes: Sequence[str],
                         fault_at: float, until: float, queue: str) -> list[Step]:
    """Every node's RabbitMQ steps in the window (a node without the log has none)."""
    wanted = shlex.quote(f" down|queue '{queue}' in vhost '[^']*': [a-z_]+ -> ")
    script = f"grep -hE {wanted} {RABBITMQ_LOG} 2>/dev/null | tail -n 2000; true"
    return await _log_steps(transports, nodes, script, lambda node, text: (
        steps_from_rabbitmq_log(node, text, fault_at, until, queue)))
