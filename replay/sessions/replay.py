"""The replay session: a log re-rendered on a virtual clock, with seek and speed controls.

Same pipeline as live viewing (cursor -> fold -> view), but "now" is a virtual
event time that advances with real time times ``speed``, freezes when paused and
jumps on seeks. Everything drawn depends only on the position and that clock,
so a paused frame equals ``runreel snapshot --at`` for the same position.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.text import Text

from recorder.events import Mark
from replay.core import viewstate as vs
from replay.core.clock import Source, VirtualClock, skip_idle, step_speed
from replay.core.metrics import Metrics
from replay.core.text import hms, safe
from replay.core.views.hints import Hints
from replay.core.views.histogram import bucket_start
from replay.core.views.overview import run_state
from replay.core.views.panels import STOP_WORDS
from replay.core.views.timeline import Timeline
from replay.core.when import When
from replay.index.cursor import Cursor
from replay.index.points import PointList
from replay.index.position import move
from replay.sessions.keymap import with_help
from replay.sessions.keys import SIGNALS
from replay.sessions.pages import Pages
from replay.sessions.replay_keys import KEYS, SPEEDS
from replay.store.moving import STEP, MovingStore


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
        store: MovingStore | None = None,
    ) -> None:
        self.cursor = cursor
        self.pages = Pages()
        # What the post-mortem views read, moved with the cursor when one is shown.
        self.store = (
            store
            if store is not None
            else MovingStore(cursor.index.log, lenient=cursor.lenient, step=STEP)
        )
        self.max_idle = max_idle
        self.pause_at_marks = pause_at_marks
        self.keys = False
        self.reason: str | None = None
        h = cursor.index.header
        self.first_t = h.first_t if h.first_t is not None else 0.0
        self.last_t = h.last_t if h.last_t is not None else self.first_t
        self.stop_t = move(cursor, stop)
        self.pages.end, self.pages.seeks = self.stop_t, True  # the timeline: the whole run
        self.stop_event = cursor.position
        vt = move(cursor, start)
        if cursor.position > self.stop_event:
            cursor.seek(self.stop_event)
            vt = self.stop_t
        self.virtual_clock = VirtualClock(mono, vt, speed)
        self._start = (cursor.position, vt)  # where space at the end plays again from
        self.stopped_at_mark: str | None = None  # the label, while --pause-at-marks holds
        self.message: str | None = None  # why the last key did nothing, until the next one
        self.help_shown = False
        self.marks: PointList = cursor.index.marks
        self.failures: PointList = cursor.index.failures
        self._mark_cols = self._columns(self.marks.times)
        self._fail_cols = self._columns(self.failures.times)

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
            self.to_end()
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
            self.reason = self._end_reason()

    def _end_reason(self) -> str:
        """Why a replay that reached its stop stopped: at the log's own end (nothing runs
        past it) or at the --to mark."""
        return "end" if self.stop_event >= self.cursor.count else "--to"

    def to_end(self) -> None:
        """The end of what is replayed (--to)."""
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

    def jump(self, points: PointList, forward: bool) -> None:
        """To the next or previous mark or failure; says so when there is none."""
        pos = self.cursor.position
        target = points.after(pos) if forward else points.before(pos)
        if target is None or target.event > self.stop_event:
            what = "mark" if points is self.marks else "failure"
            if not len(points):
                self.message = f"no {what}s in this run"
            else:
                self.message = f"no {'later' if forward else 'earlier'} {what}"
            return
        self.cursor.seek(target.event)
        self.vt = target.t
        if points is self.marks:
            self.stopped_at_mark = target.label

    def key(self, key: str) -> None:
        """A key of ``KEYS`` (replay_keys.py): the same rows list the keys in help and the key line.
        While a filter is typed, every key but a signal is text for it."""
        if self.pages.state.typing is not None and key not in SIGNALS:
            self.pages.type(key)
            return
        binding = KEYS.find(key)
        if binding is None:
            return
        self.pages.message = None
        if key != "?":  # a message lasts until the next key (help shows it still)
            self.message = None
        at, mark = self.cursor.position, self.stopped_at_mark
        if binding.moves:
            self.stopped_at_mark = None
        binding.act(self, key)
        if binding.moves and self.cursor.position == at and self.stopped_at_mark is None:
            self.stopped_at_mark = mark  # a move that went nowhere leaves it at the mark
        if self.reason == "quit" and self.at_end and not self.metrics.finished:
            self.reason = self._end_reason()  # the replay had ended there: nothing interrupted

    def enter(self) -> None:
        """Enter: on the timeline, seek to the selected row; elsewhere, open what is selected."""
        if self.pages.shown == "timeline":
            self.paused = True
            row = self.pages.timeline_row(self.metrics, self.vt)
            self.seek_time(bucket_start(self.metrics, row, self.vt, self.stop_t))
        else:
            self.pages.enter()

    def back(self) -> None:
        self.pages.state = vs.back(self.pages.state)

    def space(self) -> None:
        if self.paused and self.at_end:  # play it again
            self.cursor.seek(self._start[0])
            self.vt = self._start[1]
            self.paused = False
        else:
            self.paused = not self.paused

    def step(self, by: int) -> None:
        self.paused = True  # stepping is for looking: the clock would undo it
        self.seek_event(self.cursor.position + by)

    def change_speed(self, up: bool) -> None:
        speed = step_speed(self.speed, SPEEDS, up=up)
        if speed == self.speed:
            self.message = f"{speed:g}x is the {'fastest' if up else 'slowest'}"
        self.virtual_clock.speed = speed

    def jump_to_tenth(self, digit: str) -> None:
        self.seek_time(self.first_t + (self.last_t - self.first_t) * int(digit) / 10)

    def to_start(self) -> None:
        """The start of what is replayed (--from)."""
        self.cursor.seek(self._start[0])
        self.vt = self._start[1]

    def close(self) -> None:
        """The views' temporary store goes (the index is in memory)."""
        self.store.close()

    def check(self) -> None:
        """A replay always has its log (it was indexed before the session began)."""

    # Drawing --------------------------------------------------------------------

    def controls(self) -> Group:
        """The timeline, and a line of whole pieces: news of the last key, the state with
        the speed, the position, then the keys as far as they fit."""
        span = max(self.last_t - self.first_t, 1e-9)
        where = min(max((self.vt - self.first_t) / span, 0.0), 1.0)
        speed = f"{self.speed:g}x" if self.speed > 0 else "instant"
        if self.at_end:
            state = f"end · {speed}"
        elif self.paused and self.stopped_at_mark is not None:
            state = f"paused at mark {safe(self.stopped_at_mark, limit=24)} · {speed}"
        elif self.paused:
            state = f"paused · {speed}"
        else:
            state = f"playing {speed}" if self.speed > 0 else "instant"
        keys = KEYS.hints(self) if self.keys else []
        line = Hints(
            [
                Text(self.message or self.pages.message or "", style="bold yellow"),
                Text(state, style="bold magenta"),
                Text(f"{hms(self.vt - self.first_t)} / {hms(span)}"),
                Text(f"event {self.cursor.position}/{self.cursor.count}", style="dim"),
                *keys,
            ],
            keep=next((k for k in keys if k.key == "?"), None),  # `? help` at every width
        )
        return Group(Timeline(where, self._mark_cols, self._fail_cols), line)

    @property
    def shown_stop(self) -> str | None:
        """The stop as the frame draws it: a replay shows a position, and the viewer
        leaving it (q, a signal) changes nothing of the run's state there, so the last
        frame and ``--snapshot`` are the position as shown; the end of the log or --to
        are said."""
        return None if self.reason in STOP_WORDS else self.reason

    def view(self) -> RenderableType:
        board = self.pages.draw(
            self.metrics,
            self.vt,
            lambda view: self.store.for_view(self.cursor.index, self.cursor.position, view),
            self.cursor.position,
            controls=self.controls,
            stopped=self.shown_stop,
        )
        return with_help(board, "replay", KEYS, shown=self.keys and self.help_shown)

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
            self.message,
            self.help_shown,
            self.pages.state,
            self.pages.message,
            self.store.pending,  # a store built a part per frame: each part draws one
        )

    def status_line(self) -> str:
        m = self.metrics
        state = run_state(m, self.vt, self.shown_stop).plain  # as the header says it
        return (
            f"runreel replay: {hms(self.vt - self.first_t)} {state} {m.status_text} "
            f"event {self.cursor.position}/{self.cursor.count} "
            + (f"speed {self.speed:g}x" if self.speed > 0 else "instant")
        )
