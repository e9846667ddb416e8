"""The clock pieces, driven by hand-moved sources: every expectation is worked out by hand."""

from __future__ import annotations

import time

import pytest

from replay.core.clock import (
    Countdown,
    LiveClock,
    VirtualClock,
    skip_idle,
    step_speed,
)


class Source:
    """A time source that moves only when told to."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# LiveClock --------------------------------------------------------------------------


def test_live_clock_is_the_wall_clock_until_an_event_arrives() -> None:
    wall, mono = Source(1000.0), Source(5.0)
    c = LiveClock(wall, mono)
    assert c.now() == 1000.0
    wall.t = 1003.0
    assert c.now() == 1003.0


def test_live_clock_runs_on_from_the_last_arrival_by_the_monotonic_clock() -> None:
    wall, mono = Source(1000.0), Source(5.0)
    c = LiveClock(wall, mono)
    c.arrived(50.0)  # the writer's clock is far behind ours: its times win
    assert c.now() == 50.0
    mono.t = 7.5
    wall.t = 9999.0  # the wall clock no longer matters
    assert c.now() == 52.5
    c.arrived(51.0)  # a newer arrival re-anchors: 51 at mono 7.5
    mono.t = 8.0
    assert c.now() == 51.5


def test_live_clock_never_runs_backwards_from_its_anchor() -> None:
    mono = Source(10.0)
    c = LiveClock(Source(0.0), mono)
    c.arrived(20.0)
    mono.t = 9.0  # a source that stepped back
    assert c.now() == 20.0


def test_live_clock_reset_returns_to_the_wall_clock() -> None:
    wall, mono = Source(1000.0), Source(0.0)
    c = LiveClock(wall, mono)
    c.arrived(50.0)
    c.reset()
    assert c.now() == 1000.0


# Countdown --------------------------------------------------------------------------


def test_countdown_expires_at_its_deadline() -> None:
    mono = Source(100.0)
    c = Countdown(mono, 5.0)
    assert c.deadline == 105.0 and c.left() == 5.0 and not c.expired()
    mono.t = 104.0
    assert c.left() == 1.0 and not c.expired()
    mono.t = 105.0
    assert c.left() == 0.0 and c.expired()
    mono.t = 200.0
    assert c.left() == 0.0  # never below 0


def test_countdown_without_seconds_never_expires() -> None:
    mono = Source(0.0)
    c = Countdown(mono, None)
    mono.t = 1e9
    assert c.deadline is None and c.left() is None and not c.expired()


def test_countdown_cancel_and_extend() -> None:
    mono = Source(100.0)
    c = Countdown(mono, 5.0)
    c.extend(5.0)  # from the deadline, not from now
    assert c.deadline == 110.0
    c.cancel()
    assert c.deadline is None and not c.expired()
    mono.t = 150.0
    c.extend(60.0)  # no deadline: from now
    assert c.deadline == 210.0 and c.left() == 60.0


# VirtualClock -----------------------------------------------------------------------


def test_virtual_clock_runs_at_its_speed() -> None:
    mono = Source(100.0)
    c = VirtualClock(mono, 1000.0, speed=4.0)
    mono.t = 100.5
    c.tick()
    assert c.t == 1002.0  # 0.5 s real at 4x
    c.speed = 0.5
    mono.t = 102.5
    c.tick()
    assert c.t == 1003.0  # 2 s real at 0.5x


def test_virtual_clock_pause_and_hold_drop_the_time_that_passed() -> None:
    mono = Source(0.0)
    c = VirtualClock(mono, 10.0)
    c.paused = True
    mono.t = 3.0
    c.tick()
    assert c.t == 10.0
    c.paused = False
    mono.t = 4.0
    c.tick()
    assert c.t == 11.0  # only the second after the pause counts
    mono.t = 6.0
    c.tick(hold=True)
    mono.t = 6.5
    c.tick()
    assert c.t == 11.5


def test_virtual_clock_seek_and_stop_at() -> None:
    mono = Source(0.0)
    c = VirtualClock(mono, 10.0, speed=2.0)
    c.seek(30.0)
    mono.t = 1.0
    c.tick()
    assert c.t == 32.0
    c.stop_at(31.0)  # a mark: the clock stands there
    mono.t = 5.0
    c.tick()
    assert c.t == 31.0 and c.paused


# Pure transforms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "shown", "upcoming", "max_idle", "expected"),
    [
        (12.0, 10.0, 40.0, None, None),  # no cap
        (12.0, 10.0, 11.5, 2.0, None),  # a gap no longer than the cap
        (11.9, 10.0, 40.0, 2.0, None),  # only 1.9 s of the gap played
        (12.0, 10.0, 40.0, 2.0, 40.0),  # 2 s played: jump to the next event
        (12.0, 10.0, 12.5, 2.0, 12.5),
        (13.0, 10.0, 12.5, 2.0, 13.0),  # never backwards
    ],
)
def test_skip_idle(
    t: float, shown: float, upcoming: float, max_idle: float | None, expected: float | None
) -> None:
    assert skip_idle(t, shown, upcoming, max_idle) == expected


def test_step_speed_moves_along_the_ladder_and_stops_at_its_ends() -> None:
    ladder = (0.5, 1.0, 2.0, 4.0)
    assert step_speed(1.0, ladder, up=True) == 2.0
    assert step_speed(1.0, ladder, up=False) == 0.5
    assert step_speed(4.0, ladder, up=True) == 4.0
    assert step_speed(0.5, ladder, up=False) == 0.5
    assert step_speed(3.0, ladder, up=True) == 4.0  # off the ladder: the next rung
    assert step_speed(3.0, ladder, up=False) == 2.0


def test_the_clocks_read_no_time_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden() -> float:
        raise AssertionError("a clock read the time itself")

    for name in ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, forbidden)
    mono = Source(0.0)
    live, countdown, virtual = LiveClock(mono, mono), Countdown(mono, 1.0), VirtualClock(mono, 0.0)
    mono.t = 1.0
    live.arrived(5.0)
    virtual.tick()
    assert (live.now(), countdown.expired(), virtual.t) == (5.0, True, 1.0)
