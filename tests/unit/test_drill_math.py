"""The drill's arithmetic on the load's record: error window, acknowledgements, recovery."""

from __future__ import annotations

from hastack.drills.load import LoadRecord, attempts
from hastack.drills.run import _back_after


def record(lines: list[str], t0: float) -> LoadRecord:
    return LoadRecord(tuple(attempts(lines)), t0)


def test_error_window_is_the_longest_failing_stretch_after_the_fault() -> None:
    lines = ["ack 1 100.0", "err 2 100.5", "ack 3 101.0",  # before the fault: ignored
             "ack 4 110.0", "err 5 110.2", "err 6 113.0", "ack 7 114.6", "ack 8 115.0",
             "garbage"]
    r = record(lines, t0=110.1)
    assert r.acked == {1, 3, 4, 7, 8}
    assert abs(r.error_window - 4.4) < 1e-9
    assert abs((_back_after(r) or 0) - 4.5) < 1e-9


def test_no_failure_no_window() -> None:
    r = record(["ack 1 1.0", "ack 2 2.0"], t0=0.0)
    assert r.error_window == 0.0
    assert _back_after(r) == 0.0


def test_a_load_that_never_recovers_has_a_window_to_its_end_and_no_recovery() -> None:
    r = record(["ack 1 10.0", "err 2 11.0", "err 3 19.0"], t0=10.5)
    assert r.error_window == 8.0
    assert _back_after(r) is None
