"""The live session: a followed log folded on the wall clock, with operator controls."""

from __future__ import annotations

from rich.console import Group
from rich.layout import Layout
from rich.text import Text

from recorder.errors import LogUnavailable
from replay.core.clock import Countdown, LiveClock, Source
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.core.text import hms
from replay.core.views.overview import dashboard, frame_key, run_state
from replay.sessions.keys import STOPS
from replay.sources.follow import FollowSource

EXTEND_BY = 60.0  # seconds "+" adds when no --timeout was given


class LiveSession:
    """State of a live view: metrics, the soft timeout, and why (if) it should stop.

    ``wall`` gives the event-time "now" before any event arrived; ``mono`` runs it on and
    measures the timeout. Both are passed in, so tests drive the session without a
    terminal or a real clock.
    """

    def __init__(
        self,
        follower: FollowSource,
        *,
        wall: Source,
        mono: Source,
        timeout: float | None = None,
        stay: bool = False,
    ) -> None:
        self.follower = follower
        self.metrics = Metrics()
        self.stay = stay
        self.keys = False  # set by the runner when a keyboard is attached
        self.timeout = timeout
        self.countdown = Countdown(mono, timeout)
        self.reason: str | None = None
        self.changes = 0  # counts folds and resets, so a redraw can be skipped when none happened
        # Anchored at the latest events seen arriving (not while catching up): task times
        # stay in the writer's time.
        self.live_clock = LiveClock(wall, mono)
        self._caught_up = False

    @property
    def deadline(self) -> float | None:
        return self.countdown.deadline

    def now(self) -> float:
        """Event-time now; a finished run is frozen at its last event."""
        m = self.metrics
        if m.finished and m.last_t is not None:
            return m.last_t
        return self.live_clock.now()

    def tick(self) -> None:
        """Take in what the log gained; decide whether to stop."""
        poll = self.follower.poll()
        if poll.reset:
            self.metrics = Metrics()
            self.live_clock.reset()
            self.changes += 1
        if poll.events:
            apply_all(self.metrics, poll.events)
            self.changes += 1
            last = self.metrics.last_t
            if self._caught_up and last is not None:
                self.live_clock.arrived(last)
        self._caught_up = self._caught_up or not poll.more
        if self.reason is None:
            if self.metrics.finished and not (self.stay and self.keys):
                self.reason = "finished"
            elif self.countdown.expired():
                self.reason = "timeout"

    def key(self, key: str) -> None:
        """q quits; c cancels the timeout; + extends it; signals stop the view."""
        if key in STOPS:
            self.reason = STOPS[key]
        elif key in ("c", "C"):
            self.countdown.cancel()
        elif key in ("+", "="):
            self.countdown.extend(self.timeout or EXTEND_BY)

    def notes(self) -> list[Text]:
        """What the operator must see: file notices, the timeout countdown, the keys."""
        out: list[Text] = []
        if self.follower.notice:
            out.append(Text(self.follower.notice, style="bold yellow"))
        left = self.countdown.left()
        if left is not None:
            out.append(Text(f"timeout in {hms(left)}", style="bold magenta"))
        if self.keys:
            timed = left is not None
            hint = "q quit · " + ("c cancel timeout · + extend" if timed else "+ set timeout")
            if self.metrics.finished and self.stay:
                hint = "finished · q quit"
            out.append(Text(hint, style="dim"))
        return out

    def close(self) -> None:
        """Release the log (also when the loop failed)."""
        self.follower.close()

    def check(self) -> None:
        """A log that never appeared leaves nothing to show: an error, unless a signal
        stopped the wait."""
        if self.follower.appeared or self.reason in ("sigint", "sigterm"):
            return
        unreachable = getattr(self.follower, "unreachable", None)  # a Redis server never reached
        if unreachable:
            raise LogUnavailable(f"{unreachable} (stopped: {self.reason})")
        raise LogUnavailable(f"{self.follower.path} never appeared (stopped: {self.reason})")

    def view(self) -> Layout:
        return dashboard(self.metrics, self.now(), controls=self.bar(), stopped=self.reason)

    def bar(self) -> Group | None:
        """The notes on two full-width rows above the footer: a file notice, then the
        countdown and the keys (on 80 columns the footer's figures leave them no room)."""
        notes = self.notes()
        if not notes:
            return None
        notice = notes.pop(0) if self.follower.notice else Text()
        rows = [notice, Text("  ·  ").join(notes)]
        for row in rows:
            row.no_wrap, row.overflow = True, "ellipsis"
        return Group(*rows)

    def frame_key(self) -> tuple[object, ...]:
        """Equal keys draw equal views (see ``views.frame_key``); much cheaper than ``view()``."""
        now = self.now()
        notes = tuple(n.plain for n in self.notes())
        return (self.changes, notes, frame_key(self.metrics, now))

    def status_line(self) -> str:
        """One plain line for logs and pipes (no escape sequences)."""
        m, now = self.metrics, self.now()
        if not self.follower.appeared:
            notice = self.follower.notice  # why it has not appeared, when it says more
            if notice is None or notice.startswith("waiting for"):
                return f"runreel: waiting for {self.follower.path}"
            return f"runreel: {notice}"
        state = run_state(m, now, self.reason).plain  # as the header says; made safe by lit()
        eta = "done" if m.finished else hms(m.eta(now))
        line = (
            f"runreel: {hms(m.elapsed(now))} {state} {m.status_text} "
            f"in flight {len(m.in_flight)} retries {m.retries} "
            f"rate {m.rate(now):.1f}/s ETA {eta}"
        )
        if self.follower.notice:
            line += f" [{self.follower.notice}]"
        return line
