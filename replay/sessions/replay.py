"""The replay session: a log re-rendered on a virtual clock, with seek and speed controls.

Same pipeline as live viewing (cursor -> fold -> view), but "now" is a virtual
event time that advances with real time times ``speed``, freezes when paused and
jumps on seeks. Everything drawn depends only on the position and that clock,
so a paused frame equals ``runreel snapshot --at`` for the same position.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group
from rich.layout import Layout
from rich.text import Text

from recorder.events import Mark
from replay.core.clock import Source, VirtualClock, skip_idle, step_speed
from replay.core.metrics import Metrics
from replay.core.text import hms, safe
from replay.core.views.overview import dashboard, run_state
from replay.core.views.timeline import Timeline
from replay.core.when import When
from replay.index.cursor import Cursor
from replay.index.points import PointList
from replay.index.position import move
from replay.sessions.keys import STOPS

SPEEDS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
SEEK_STEP = 5.0
KEY_HELP = (  # the most needed first: a narrow terminal cuts the end
    "q quit · space pause · ←/→ 5s · ,/. step · [/] mark · e/E failure · +/- speed · "
    "0-9 jump · g/G start/end"
)


class ReplaySession:
    """Where a replay stands and how it moves; drives the same loop as the live view."""

    def __init__(
        self,
        cursor: Cursor,
        *,
        start: When,
        stop: When,
        speed: float = 1.0,
        max_idle: float | None = None,
        pause_at_marks: bool = False,
        mono: Source,
    ) -> None:
        self.cursor = cursor
        self.max_idle = max_idle
        self.pause_at_marks = pause_at_marks
        self.keys = False
        self.reason: str | None = None
        h = cursor.index.header
        self.first_t = h.first_t if h.first_t is not None else 0.0
        self.last_t = h.last_t if h.last_t is not None else self.first_t
        self.stop_t = move(cursor, stop)
        self.stop_event = cursor.position
        vt = move(cursor, start)
        if cursor.position > self.stop_event:
            cursor.seek(self.stop_event)
            vt = self.stop_t
        self.virtual_clock = VirtualClock(mono, vt, speed)
        self._start = (cursor.position, vt)  # where space at the end plays again from
        self.stopped_at_mark: str | None = None  # the label, while --pause-at-marks holds
        self._marks = cursor.index.marks
        self._failures = cursor.index.failures
        self._mark_cols = self._columns(self._marks.times)
        self._fail_cols = self._columns(self._failures.times)

    def _columns(self, times: Iterable[float]) -> frozenset[int]:
        """Per-mille positions in the run, for the timeline."""
        first, span = self.first_t, max(self.last_t - self.first_t, 1e-9)
        return frozenset(min(max(int((t - first) / span * 1000), 0), 1000) for t in times)

    @property
    def metrics(self) -> Metrics:
        return self.cursor.metrics

    # The clock's state, under the names the controls and the footer use.
    @property
    def vt(self) -> float:
        return self.virtual_clock.t

    @vt.setter
    def vt(self, t: float) -> None:
        self.virtual_clock.seek(t)

    @property
    def speed(self) -> float:
        return self.virtual_clock.speed

    @property
    def paused(self) -> bool:
        return self.virtual_clock.paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        self.virtual_clock.paused = paused

    def now(self) -> float:
        return self.vt

    @property
    def at_end(self) -> bool:
        """Every event up to the stop is folded and the clock reached it."""
        return self.cursor.position >= self.stop_event and self.vt >= self.stop_t

    # Playback -------------------------------------------------------------------

    def tick(self) -> None:
        """Advance the virtual clock by the real time elapsed (times speed) and fold."""
        self.virtual_clock.tick(hold=self.reason is not None)
        if self.paused or self.reason is not None:
            return
        if self.speed <= 0:
            self._to_end()
            return
        self._fold_to_clock()

    def _fold_to_clock(self) -> None:
        c = self.cursor
        marks = Mark if self.pause_at_marks and self.keys else None
        while c.position < self.stop_event:
            if c.advance(self.vt, self.stop_event, stop_after=marks):
                # Frozen at the mark's time, as ``snapshot --at mark:LABEL`` draws it.
                t = self.vt
                if c.metrics.marks:
                    t, self.stopped_at_mark = c.metrics.marks[-1]
                self.virtual_clock.stop_at(t)
                return
            nxt = c.peek()
            if nxt is None or c.position >= self.stop_event:
                break
            if not self._skip_idle(nxt.t):
                return
        # Every event is in; the clock still runs to the stop (a time may lie past them).
        if self.vt >= self.stop_t or self._skip_idle(self.stop_t):
            self._reached_end()

    def _skip_idle(self, upcoming: float) -> bool:
        """Cap a quiet gap before ``upcoming``: jump the clock there once --max-idle
        seconds of it have played. The times shown stay event times."""
        m = self.cursor.metrics
        shown = m.last_t if m.last_t is not None else self.vt
        jump = skip_idle(self.vt, shown, upcoming, self.max_idle)
        if jump is None:
            return False
        self.vt = jump
        return True

    def _reached_end(self) -> None:
        self.vt = self.stop_t
        if self.keys:
            self.paused = True  # stay on the last frame until q
        else:
            self.reason = "end"

    def _to_end(self) -> None:
        self.cursor.seek(self.stop_event)
        self._reached_end()

    # Seeking --------------------------------------------------------------------

    def seek_time(self, t: float) -> None:
        t = max(self.first_t, min(t, self.stop_t))
        self.cursor.seek_time(t)
        if self.cursor.position > self.stop_event:
            self.cursor.seek(self.stop_event)
        self.vt = t

    def seek_event(self, n: int) -> None:
        self.cursor.seek(max(1, min(n, self.stop_event)))
        m = self.cursor.metrics
        self.vt = m.last_t if m.last_t is not None else self.first_t

    def _jump(self, points: PointList, forward: bool) -> None:
        pos = self.cursor.position
        target = points.after(pos) if forward else points.before(pos)
        if target is not None and target.event <= self.stop_event:
            self.cursor.seek(target.event)
            self.vt = target.t
            if points is self._marks:
                self.stopped_at_mark = target.label

    def key(self, key: str) -> None:
        """Every replay control, one key each (listed in the footer)."""
        self.stopped_at_mark = None
        if key in STOPS:
            self.reason = STOPS[key]
        elif key == " " and self.paused and self.at_end:  # play it again
            self.cursor.seek(self._start[0])
            self.vt = self._start[1]
            self.paused = False
        elif key == " ":
            self.paused = not self.paused
        elif key == "left":
            self.seek_time(self.vt - SEEK_STEP)
        elif key == "right":
            self.seek_time(self.vt + SEEK_STEP)
        elif key == "[":
            self._jump(self._marks, forward=False)
        elif key == "]":
            self._jump(self._marks, forward=True)
        elif key == "e":
            self._jump(self._failures, forward=True)
        elif key == "E":
            self._jump(self._failures, forward=False)
        elif key == ",":
            self.paused = True  # stepping is for looking: the clock would undo it
            self.seek_event(self.cursor.position - 1)
        elif key == ".":
            self.paused = True
            self.seek_event(self.cursor.position + 1)
        elif key in ("+", "="):
            self.virtual_clock.speed = step_speed(self.speed, SPEEDS, up=True)
        elif key in ("-", "_"):
            self.virtual_clock.speed = step_speed(self.speed, SPEEDS, up=False)
        elif key.isdigit() and len(key) == 1:
            self.seek_time(self.first_t + (self.last_t - self.first_t) * int(key) / 10)
        elif key == "g":  # the start of what is replayed (--from)
            self.cursor.seek(self._start[0])
            self.vt = self._start[1]
        elif key == "G":
            self._to_end()

    def close(self) -> None:
        """Nothing to release: the index is in memory."""

    def check(self) -> None:
        """A replay always has its log (it was indexed before the session began)."""

    # Drawing --------------------------------------------------------------------

    def controls(self) -> Group:
        span = max(self.last_t - self.first_t, 1e-9)
        where = min(max((self.vt - self.first_t) / span, 0.0), 1.0)
        if self.at_end:
            state = "end"
        elif self.paused and self.stopped_at_mark is not None:
            state = f"paused at mark {safe(self.stopped_at_mark, limit=24)}"
        elif self.paused:
            state = "paused"
        else:
            state = f"playing {self.speed:g}x" if self.speed > 0 else "instant"
        info = Text.assemble(
            (f"{state}  ", "bold magenta"),
            (f"{hms(self.vt - self.first_t)} / {hms(span)}  ", ""),
            (f"event {self.cursor.position}/{self.cursor.count}  ", "dim"),
            (KEY_HELP if self.keys else "", "dim"),
        )
        info.no_wrap, info.overflow = True, "ellipsis"
        return Group(Timeline(where, self._mark_cols, self._fail_cols), info)

    def view(self) -> Layout:
        return dashboard(self.metrics, self.vt, controls=self.controls(), stopped=self.reason)

    def frame_key(self) -> tuple[object, ...]:
        """Equal keys draw equal views: the state is a function of the position, the
        picture of the state and the clock (so a paused replay is not redrawn)."""
        return (
            self.cursor.position,
            self.vt,
            self.paused,
            self.speed,
            self.keys,
            self.stopped_at_mark,
        )

    def status_line(self) -> str:
        m = self.metrics
        state = run_state(m, self.vt, self.reason).plain  # as the header says it
        return (
            f"runreel replay: {hms(self.vt - self.first_t)} {state} {m.status_text} "
            f"event {self.cursor.position}/{self.cursor.count} speed {self.speed:g}x"
        )
