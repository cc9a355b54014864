"""The drill's arithmetic on the load's record: error window, acknowledgements, recovery."""

from __future__ import annotations

from hastack.drills.load import LoadRecord, attempts
from hastack.drills.run import _back_after, _load_steps


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


def test_slowest_call_after_the_fault_comes_from_the_api_load_s_durations() -> None:
    r = record(["ack 1 10.0 9.0", "ack 2 12.0 1.5", "err 3 15.0 3.0", "ack 4 16.0"], t0=11.0)
    assert r.slowest == 3.0  # the 9 s call ended before the fault; a 3-field line took 0 s


def test_load_steps_name_each_failing_stretch_and_its_end() -> None:
    r = record(["ack 1 9.0", "err 2 11.0", "err 3 12.0", "ack 4 13.5", "err 5 20.0"], t0=10.0)
    steps = [(s.at, s.step) for s in _load_steps("db", r)]
    assert steps == [(1.0, "DB writes through the VIP: failing"),
                     (3.5, "DB writes through the VIP: answered again"),
                     (10.0, "DB writes through the VIP: failing")]
    assert _load_steps("api:nova", r)[0].step == "nova API through its VIP: failing"
