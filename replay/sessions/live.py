"""The live session: a followed log folded on the wall clock, with operator controls."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.text import Text

from recorder.errors import LogUnavailable
from replay.core import viewstate as vs
from replay.core.clock import Countdown, LiveClock, Source
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.core.records import Record
from replay.core.text import hms
from replay.core.views.hints import Hints
from replay.core.views.overview import frame_key, run_state
from replay.core.views.panels import elapsed, eta_text
from replay.sessions.keymap import Binding, KeyMap, session_keys, with_help
from replay.sessions.keys import SIGNALS
from replay.sessions.pages import Pages, view_bindings
from replay.sources.follow import FollowSource
from replay.store.following import FollowingStore

_COUNT = re.compile(r"[0-9.]+")  # the figures of a state's text
EXTEND_BY = 60.0  # seconds "+" adds when no --timeout was given
CATCH_UP_POLLS = 1000  # reads of the log at most, to fold what it holds when the view stops


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
        self._mono = mono
        self.reason: str | None = None
        self.changes = 0  # counts folds and resets, so a redraw can be skipped when none happened
        # Anchored at the latest events seen arriving (not while catching up): task times
        # stay in the writer's time.
        self.live_clock = LiveClock(wall, mono)
        self._caught_up = False
        self._more = True
        self.help_shown = False
        # Called with the stop reason when the view stops, before its last frame.
        self.on_stop: Callable[[str | None], None] | None = None
        self.pages = Pages()
        # What the post-mortem views read: written only while one of them is shown (the
        # overview does not pay for it), read on from the file where it stopped when one
        # is shown again; a stream's is fed every event (``FollowingStore``).
        self.store = FollowingStore(follower)
        self._short = False  # the store holds fewer events than the fold (said once)

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
        self.store.polled(poll.events, reset=poll.reset, feed=self._reads_store())
        if poll.events:
            last = self.metrics.last_t
            if self._caught_up and last is not None:
                self.live_clock.arrived(last)
        self._more = poll.more
        self._caught_up = self._caught_up or not poll.more
        if self.reason is None:
            if self.metrics.finished and not (self.stay and self.keys):
                self.reason = "finished"
            elif self.countdown.expired():
                self.reason = "timeout"

    def catch_up(self, polls: int = CATCH_UP_POLLS) -> None:
        """When the view stops: fold what the log already holds, so the last frame counts
        every event written up to the stop (a bounded number of reads: a writer that
        outpaces them does not keep the viewer from ending)."""
        if self.on_stop is not None and self.reason != "finished":
            self.on_stop(self.reason)  # e.g. record stops its command: its end is logged
        for _ in range(polls):
            self.tick()
            if not self._more:
                return

    def key(self, key: str) -> None:
        """A key of ``KEYS`` (below): the same rows list the keys in help and the key line.
        While a filter is typed, every key but a signal is text for it."""
        if self.pages.state.typing is not None and key not in SIGNALS:
            self.pages.type(key)
            return
        binding = KEYS.find(key)
        if binding is not None:
            self.pages.message = None
            binding.act(self, key)

    def enter(self) -> None:
        if self.pages.shown == "timeline":
            self.pages.message = "a live view cannot seek: replay the log for that"
        else:
            self.pages.enter()

    def back(self) -> None:
        self.pages.state = vs.back(self.pages.state)

    def _marks_folded(self) -> bool:
        """Whether the fold holds every mark (it keeps the last RECENT_MARKS): the
        timeline then needs no store."""
        m = self.metrics
        return len(m.marks) == m.mark_count

    def _reads_store(self) -> bool:
        """Whether the view shown reads the store (else the store is not written)."""
        view = self.pages.shown
        return view != "overview" and not (view == "timeline" and self._marks_folded())

    def _read(self, view: str) -> tuple[sqlite3.Connection, None] | Record:
        """What ``view`` reads: the store (raises ``Reading`` while it reads the log to
        where the fold is), or for a timeline whose marks the fold holds, those. The
        store is lean but for the workers view (``store.lean``)."""
        if view == "timeline" and self._marks_folded():
            m = self.metrics
            return Record(first_t=m.first_t, marks=tuple(m.marks))
        conn = self.store.conn(whole=view == "workers")
        missing = self.metrics.events - self.store.held
        if missing > 0 and not self._short:  # the log was cut while no view was shown
            self.pages.message = (
                f"the log was cut while no view was shown: {missing} events are missing "
                "from the views"
            )
        self._short = missing > 0
        return conn, None

    @property
    def done(self) -> bool:
        """Finished, and staying on the final screen until q (--stay)."""
        return self.metrics.finished and self.stay

    def notes(self) -> list[Text]:
        """What the operator must see: file notices, the timeout countdown, the keys."""
        out: list[Text] = []
        if self.follower.notice:
            out.append(Text(self.follower.notice, style="bold yellow"))
        if self.pages.message:
            out.append(Text(self.pages.message, style="bold yellow"))
        left = self.countdown.left()
        if left is not None and not self.done:
            out.append(Text(f"timeout in {hms(left)}", style="bold magenta"))
        if self.done and self.keys:
            out.append(Text("finished", style="bold"))
        if self.keys:
            out.extend(h.text() for h in KEYS.hints(self))
        return out

    def close(self) -> None:
        """Release the log and the views' store (also when the loop failed)."""
        self.follower.close()
        self.store.close()

    def check(self) -> None:
        """A log that never appeared leaves nothing to show: an error, unless a signal
        stopped the wait."""
        if self.follower.appeared or self.reason in ("sigint", "sigterm"):
            return
        unreachable = getattr(self.follower, "unreachable", None)  # a Redis server never reached
        if unreachable:
            raise LogUnavailable(f"{unreachable} (stopped: {self.reason})")
        raise LogUnavailable(f"{self.follower.path} never appeared (stopped: {self.reason})")

    @property
    def shown_stop(self) -> str | None:
        """The stop as the frame draws it: why the view stopped."""
        return self.reason

    def view(self) -> RenderableType:
        board = self.pages.draw(
            self.metrics,
            self.now(),
            self._read,
            self.metrics.events,
            controls=self.bar,
            stopped=self.reason,
            clock=self._mono,
        )
        return with_help(board, "live", KEYS, shown=self.keys and self.help_shown)

    def bar(self) -> Group | None:
        """The notes on two full-width rows above the footer: a file notice, then the
        countdown and the keys, whole ones as far as they fit (on 80 columns the
        footer's figures leave them no room)."""
        notes = self.notes()
        if not notes:
            return None
        notice = notes.pop(0) if self.follower.notice else Text()
        notice.no_wrap, notice.overflow = True, "ellipsis"
        helps = (n for n in notes if n.plain == "? help")
        return Group(notice, Hints(notes, keep=next(helps, None)))  # `? help` at any width

    def frame_key(self) -> tuple[object, ...]:
        """Equal keys draw equal views (see ``views.frame_key``); much cheaper than ``view()``.
        The timeline is the exception: see ``_view_key``."""
        now = self.now()
        notes = tuple(n.plain for n in self.notes())
        if self.pages.shown != "overview":
            return (notes, self.help_shown, self._view_key(now))
        return (self.changes, notes, self.help_shown, frame_key(self.metrics, now))

    def _view_key(self, now: float) -> tuple[object, ...]:
        """What a post-mortem view draws, as cheap values: its header (``overview.header``),
        the view state, and for a view drawn from its record, the record last read, which
        changes only when a read is due (``Pages.due``): events folded between reads do
        not change the screen, so they draw no frame. The timeline draws the metrics,
        whole, at each frame: it is drawn when a second of its header's elapsed time
        passed (its bars count whole buckets; at most a frame a second while events
        stream), at once when the view state or the run's state changes (not its counter:
        a stall's seconds move with the frames); equal keys within a second draw the
        counts of their own moment."""
        m, pages = self.metrics, self.pages
        state = run_state(m, now, self.reason)
        said = state.plain
        if pages.shown == "timeline":  # the state, not its counter ("stalled for 5.3s")
            drawn, said = int(m.elapsed(now)), _COUNT.sub("#", said)
        else:  # a frame that reads draws what the frame after it does
            drawn = pages.read_count + pages.due(m.events, now, self._mono, final=m.finished)
        return (
            pages.state,
            m.name,
            m.run,
            m.first_t,
            elapsed(m, now),
            said,
            str(state.style),
            drawn,
            None if pages.reading is None else (str(pages.reading), pages.reading.done),
            self.store.pending,  # each part of a store read a frame draws one (and reads on)
        )

    def status_line(self) -> str:
        """One plain line for logs and pipes (no escape sequences)."""
        m, now = self.metrics, self.now()
        if not self.follower.appeared:
            notice = self.follower.notice  # why it has not appeared, when it says more
            if notice is None or notice.startswith("waiting for"):
                return f"runreel: waiting for {self.follower.path}"
            return f"runreel: {notice}"
        state = run_state(m, now, self.reason).plain  # as the header says; made safe by lit()
        eta = eta_text(m, now, self.reason)  # as the footer says
        line = (
            f"runreel: {elapsed(m, now)} {state} {m.status_text} "
            f"in flight {len(m.in_flight)} retries {m.retries} "
            f"rate {m.rate(now):.1f}/s ETA {eta}"
        )
        if self.follower.notice:
            line += f" [{self.follower.notice}]"
        return line


def _timed(s: LiveSession) -> bool:
    return s.countdown.left() is not None


def _more_time(s: LiveSession, key: str) -> None:
    s.countdown.extend(s.timeout or EXTEND_BY)


# Every live key, most important first (the key line drops from the end). Help and
# handling both come from these rows.
KEYS: KeyMap[LiveSession] = session_keys(
    "stop watching (exit 3 while the run is unfinished)",
    Binding(
        ("c", "C"),
        "c",
        "cancel the timeout",
        lambda s, k: s.countdown.cancel(),
        hint=lambda s: "cancel timeout" if _timed(s) and not s.done else None,
    ),
    Binding(
        ("+", "="),
        "+",
        f"extend by --timeout s ({EXTEND_BY:g} s if none given); after c, start a new one",
        _more_time,
        hint=lambda s: None if s.done else "extend" if _timed(s) else "set timeout",
    ),
    *view_bindings(seeks=False),
)
