"""The drill's arithmetic on the load's record: error window and acknowledgements."""

from __future__ import annotations

from hastack.verify.drills import _error_window


def test_error_window_is_the_longest_failing_stretch_after_the_fault() -> None:
    lines = ["ack 1 100.0", "err 2 100.5", "ack 3 101.0",  # before the fault: ignored
             "ack 4 110.0", "err 5 110.2", "err 6 113.0", "ack 7 114.6", "ack 8 115.0",
             "garbage"]
    window, acked = _error_window(lines, t0=110.1)
    assert acked == 5
    assert abs(window - 4.4) < 1e-9


def test_no_failure_no_window() -> None:
    assert _error_window(["ack 1 1.0", "ack 2 2.0"], t0=0.0) == (0.0, 2)
