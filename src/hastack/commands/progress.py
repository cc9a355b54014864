"""What a long command is doing while it runs (lab up, deploy, verify, drills), as data.

A command reports through :class:`Progress`: steps that start and end (several at once, each
on a node or on none), a phase (one at a time: a drill's warm-up, then its fault, ...) and a
count (packages 23/61). The base class ignores all of it: scripts and bench/ see only the
result. :class:`ProgressView` is what the CLI shows: the one line a terminal keeps redrawing
(:meth:`ProgressView.status`), and for a log (not a terminal) plain timestamped lines: each
step that ends as the command words it, a line once a step has run ``announce_after``
seconds, and while anything runs a "running" line whenever ``interval`` seconds passed
without one, so a log is never silent for long and reads line by line. It decides what to
say; the CLI prints it (``write``), and calls :meth:`ProgressView.tick` every second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A log says something at least this often while a step runs (issue 17: `make lab > log`
# never silent for more than 10 s).
INTERVAL = 10.0
# A step is announced once it has run this long: a re-run's hundred quick checks stay out of
# the log, a step that takes a while shows up when it starts.
ANNOUNCE_AFTER = 2.0
# How many steps a line names before "+N more" (a prepare of 16 computes at once).
SHOWN = 4


class Progress:
    """What a command reports while it runs; this one shows nothing."""

    def started(self, what: str, where: str | None = None) -> None:
        """A step starts (``where``: the node it runs on, None for the site or a cluster);
        it ends with :meth:`ended` of the same ``what`` and ``where``."""

    def ended(self, what: str, where: str | None = None, *, head: str = "", body: str = ""
              ) -> None:
        """A step ended; ``head`` (one word: changed, pass, ...) and ``body`` say how
        (nothing to say: both empty)."""

    def phase(self, what: str) -> None:
        """The command moves on to ``what`` (the previous phase is over)."""

    def counted(self, label: str, done: int, total: int | None, current: str = "") -> None:
        """``done`` of ``total`` (None: not known) ``label`` so far; ``current``: the one
        under way."""


@dataclass(frozen=True)
class Line:
    """One line for the screen or the log: ``stamp`` (empty on a terminal), ``head`` (a word
    in a column of its own: changed, started, running, pass; the CLI colours it), ``body``."""

    stamp: str
    head: str
    body: str

    def __str__(self) -> str:
        return " ".join(p for p in (self.stamp, f"{self.head:>12}", self.body) if p)


@dataclass
class _Step:
    what: str
    where: str | None
    since: float
    announced: bool = False


@dataclass
class _Count:
    label: str
    done: int
    total: int | None
    current: str

    def __str__(self) -> str:
        of = f"/{self.total}" if self.total is not None else ""
        return f"{self.label} {self.done}{of}" + (f" {self.current}" if self.current else "")


@dataclass
class ProgressView(Progress):
    """The progress the CLI shows: ``live`` (a terminal: :meth:`status` is redrawn, lines
    carry no time) or a log (timestamped lines, announcements and "running" lines from
    :meth:`tick`). ``write`` prints a line; ``clock`` is time.time (a fake one in tests).
    Safe to call from the command's thread and the CLI's ticker at once; ``write`` is called
    outside the lock (the terminal's redraw holds its own lock while it asks :meth:`status`).
    """

    write: Callable[[Line], None]
    title: str
    live: bool
    unit: str = "steps"
    clock: Callable[[], float] = time.time
    interval: float = INTERVAL
    announce_after: float = ANNOUNCE_AFTER
    _began: float = field(init=False)
    _said: float = field(init=False)  # when the last line went out
    _steps: list[_Step] = field(default_factory=list, init=False)
    _phase: _Step | None = field(default=None, init=False)
    _count: _Count | None = field(default=None, init=False)
    _done: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._began = self._said = self.clock()

    # Reports from the command.

    def started(self, what: str, where: str | None = None) -> None:
        with self._lock:
            self._steps.append(_Step(what, where, self.clock()))

    def ended(self, what: str, where: str | None = None, *, head: str = "", body: str = ""
              ) -> None:
        with self._lock:
            step = next((s for s in self._steps if (s.what, s.where) == (what, where)), None)
            if step is not None:
                self._steps.remove(step)
            self._done += 1
            lines = [self._line(head, body)] if head or body else []
        self._out(lines)

    def phase(self, what: str) -> None:
        with self._lock:
            self._phase = _Step(what, None, self.clock())
            self._count = None  # a count belongs to the phase it was made in
            lines = [self._line(self.title, what)]
        self._out(lines)

    def counted(self, label: str, done: int, total: int | None, current: str = "") -> None:
        with self._lock:
            self._count = _Count(label, done, total, current)

    # What the CLI asks.

    def tick(self) -> None:
        """Once a second: in a log, each step running ``announce_after`` s announced, and a
        "running" line when nothing was said for ``interval`` s while something runs."""
        if self.live:
            return
        with self._lock:
            now = self.clock()
            due = [s for s in self._steps
                   if not s.announced and now - s.since >= self.announce_after]
            for step in due:
                step.announced = True
            lines = [self._line("started", f"{what}{on} ({now - since:.0f} s ago)")
                     for what, on, since in _grouped(due)]
            running = self._running(now)
            if not lines and running and now - self._said >= self.interval:
                lines = [self._line("running", running)]
        self._out(lines)

    def status(self) -> str:
        """The live line: elapsed time, steps done, the phase, the count, what runs."""
        with self._lock:
            now = self.clock()
            parts = [f"{self.title} {_clock(now - self._began)}"]
            if self._done:
                unit = self.unit.removesuffix("s") if self._done == 1 else self.unit
                parts.append(f"{self._done} {unit} done")
            if self._phase is not None:
                parts.append(self._phase.what)
            if self._count is not None:
                parts.append(str(self._count))
            # The newest step on each node (a step nests in another: a move's push), the
            # same step on several nodes at once as one.
            newest: dict[str | None, _Step] = {}
            for step in self._steps:
                newest[step.where] = step
            parts += [f"{what}{on} {now - since:.0f}s" for what, on, since in
                      _grouped(sorted(newest.values(), key=lambda s: s.since))]
            return " · ".join(parts)

    def _running(self, now: float) -> str:
        """What runs, for a log line: the steps by what they do (each with the nodes it runs
        on and its age), or else the phase (with the count); empty when nothing runs."""
        groups = _grouped(self._steps)
        said = [f"{what}{on} ({now - since:.0f} s)" for what, on, since in groups[:SHOWN]]
        if len(groups) > SHOWN:
            said.append(f"+{len(groups) - SHOWN} more")
        if not said and self._phase is not None:
            said.append(f"{self._phase.what} ({now - self._phase.since:.0f} s)"
                        + (f": {self._count}" if self._count is not None else ""))
        return "; ".join(said)

    def _line(self, head: str, body: str) -> Line:
        now = self.clock()
        self._said = now
        stamp = "" if self.live else time.strftime("%H:%M:%S", time.localtime(now))
        return Line(stamp, head, body)

    def _out(self, lines: list[Line]) -> None:
        for line in lines:
            self.write(line)


def _grouped(steps: list[_Step]) -> list[tuple[str, str, float]]:
    """Steps by what they do, in the order they started: (what, " node, node", oldest
    start); the same action on every member at once reads as one."""
    groups: dict[str, list[_Step]] = {}
    for step in steps:
        groups.setdefault(step.what, []).append(step)
    out = []
    for what, same in groups.items():
        nodes = [s.where for s in same if s.where]
        shown = ", ".join(nodes[:SHOWN * 2]) + (f", +{len(nodes) - SHOWN * 2}"
                                                  if len(nodes) > SHOWN * 2 else "")
        out.append((what, f" {shown}" if shown else "", min(s.since for s in same)))
    return out


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
