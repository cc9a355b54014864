"""The steady load a drill runs through its fault, and what its record says afterwards.

Every load prints one line per attempt, ``ack|err ID UNIXTIME``, so the error window and the
acknowledged set come from the same record: DB rows INSERTed through the DB VIP, messages
published with confirms to a quorum queue (the client fails over between members as
oslo.messaging does), and OpenStack API calls through their VIPs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hastack.agents import agent_text
from hastack.catalog.galera import VERIFY_DB

DB_TABLE = f"{VERIFY_DB}.drill"
BUS_QUEUE = "hastack-drill"

DB_LOAD = agent_text("drill_db_load.py", VERIFY_DB=VERIFY_DB, DB_TABLE=DB_TABLE)

DB_SETUP = (f"CREATE TABLE IF NOT EXISTS {DB_TABLE} (run VARCHAR(32), id INT, "
            "PRIMARY KEY (run, id))")

BUS_LOAD = agent_text("drill_bus_load.py", BUS_QUEUE=BUS_QUEUE)
BUS_DRAIN = agent_text("drill_bus_drain.py", BUS_QUEUE=BUS_QUEUE)
API_LOAD = agent_text("drill_api_load.py")
SERVERS = agent_text("drill_servers.py")  # compute-loss's instances


@dataclass(frozen=True)
class ApiTarget:
    """An API the drill loads: where to call, and how often."""

    name: str
    url: str
    pace: float


@dataclass(frozen=True)
class Attempt:
    ok: bool
    id: int
    at: float  # when it ended
    seconds: float = 0.0  # how long it took (the API loads say; the others do not)


def attempts(lines: Iterable[str]) -> list[Attempt]:
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) in (3, 4) and parts[0] in ("ack", "err"):
            took = float(parts[3]) if len(parts) == 4 else 0.0
            out.append(Attempt(parts[0] == "ack", int(parts[1]), float(parts[2]), took))
    return out


@dataclass(frozen=True)
class LoadRecord:
    """One load's record read against the fault's start time ``t0``."""

    attempts: tuple[Attempt, ...]
    t0: float

    @property
    def acked(self) -> set[int]:
        return {a.id for a in self.attempts if a.ok}

    @property
    def error_window(self) -> float:
        """The longest stretch of failed attempts after t0 (until the next success, or the
        end of the record when nothing succeeded again)."""
        window, start = 0.0, None
        for a in self.attempts:
            if a.ok:
                if start is not None:
                    window = max(window, a.at - start)
                    start = None
            elif a.at >= self.t0 and start is None:
                start = a.at
        if start is not None and self.attempts:
            window = max(window, self.attempts[-1].at - start)
        return window

    @property
    def slowest(self) -> float:
        """The longest an attempt took after t0, answered or not."""
        return max((a.seconds for a in self.attempts if a.at >= self.t0), default=0.0)

    def back_after(self, since: float) -> float | None:
        """Seconds from t0 to the first success at or after ``since``."""
        first = next((a.at for a in self.attempts if a.ok and a.at >= since), None)
        return first - self.t0 if first is not None else None
