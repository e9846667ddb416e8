"""Clocks: how a view's "now" is made, as small pieces that never read the time.

Each clock is given its time source (a callable returning seconds): the CLI passes
``time.time`` and ``time.monotonic`` at the edge, tests pass a fake they move by hand.
The pieces, in the spirit of asciinema's ``asciicast/events.py`` time transforms:

- ``LiveClock``: event-time now of a log being written, run on from its latest arrival;
- ``Countdown``: a soft timeout that can be cancelled and extended;
- ``VirtualClock``: event time played back at a speed, paused, seeked, stopped at a mark;
- ``skip_idle`` and ``step_speed``: the idle cap and the speed ladder, plain functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Source = Callable[[], float]  # seconds; only differences matter for a monotonic one


class LiveClock:
    """Event-time now of a followed log.

    ``arrived(t)`` anchors it at the event time of events just seen arriving; now runs on
    from there by the ``mono`` source, so a writer's clock ahead of or behind this machine's
    neither fakes nor hides a stall. Before any anchor it is this machine's ``wall`` time.
    """

    def __init__(self, wall: Source, mono: Source) -> None:
        self.wall, self.mono = wall, mono
        self._anchor: tuple[float, float] | None = None  # (event time, mono time seen)

    def arrived(self, t: float) -> None:
        self._anchor = (t, self.mono())

    def reset(self) -> None:
        """Forget the anchor (the log was replaced)."""
        self._anchor = None

    def now(self) -> float:
        if self._anchor is None:
            return self.wall()
        t, at = self._anchor
        return t + max(self.mono() - at, 0.0)


class Countdown:
    """A soft timeout of ``seconds`` on a monotonic source; None runs forever."""

    def __init__(self, mono: Source, seconds: float | None) -> None:
        self.mono = mono
        self.deadline = None if seconds is None else mono() + seconds

    def expired(self) -> bool:
        return self.deadline is not None and self.mono() >= self.deadline

    def left(self) -> float | None:
        """Seconds until it expires (never below 0); None when cancelled or never set."""
        return None if self.deadline is None else max(self.deadline - self.mono(), 0.0)

    def cancel(self) -> None:
        self.deadline = None

    def extend(self, step: float) -> None:
        """``step`` seconds more; from now when there was no deadline."""
        base = self.deadline if self.deadline is not None else self.mono()
        self.deadline = base + step


class VirtualClock:
    """Event time played back: ``speed`` times the real time of ``mono``, still while paused."""

    def __init__(self, mono: Source, t: float, speed: float = 1.0) -> None:
        self.mono = mono
        self.t = t
        self.speed = speed
        self.paused = False
        self._last = mono()

    def tick(self, *, hold: bool = False) -> None:
        """Take the real time since the last tick; the clock moves by it times ``speed``
        unless paused or held (time passed while held is not made up later)."""
        real = self.mono()
        elapsed, self._last = real - self._last, real
        if not (self.paused or hold):
            self.t += elapsed * self.speed

    def seek(self, t: float) -> None:
        self.t = t

    def stop_at(self, t: float) -> None:
        """Pause at ``t`` (a mark reached with pause at marks on)."""
        self.t, self.paused = t, True


def skip_idle(t: float, shown: float, upcoming: float, max_idle: float | None) -> float | None:
    """The idle cap: where a clock at ``t`` jumps in a quiet gap from ``shown`` (the last
    event drawn) to ``upcoming`` once ``max_idle`` seconds of it have played; None when it
    does not jump (no cap, a short gap, or not yet played long enough)."""
    if max_idle is None:
        return None
    if upcoming - shown > max_idle and t - shown >= max_idle:
        return max(t, upcoming)
    return None


def step_speed(speed: float, ladder: Sequence[float], *, up: bool) -> float:
    """The next speed on ``ladder`` (ascending) above or below ``speed``; at an end, ``speed``."""
    if up:
        return next((s for s in ladder if s > speed), speed)
    return next((s for s in reversed(ladder) if s < speed), speed)
