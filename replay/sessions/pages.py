"""The post-mortem views inside a session: the view state, its keys and what they read.

Both sessions own a ``Pages``: it holds the view state (``core/viewstate.py``), reads
the record the view shows from the session's store at the session's position (once per
position, view state and clock), and turns keys into new view states. The keys are rows
of the sessions' key tables (``view_bindings``), so help lists them with the others.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from rich.console import RenderableType

from replay.core import viewstate as vs
from replay.core.clock import Source
from replay.core.metrics import Metrics
from replay.core.records import Record
from replay.core.views.histogram import buckets, here
from replay.core.views.postmortem import page
from replay.sessions.keymap import Binding
from replay.store.moving import Reading
from replay.store.pages import read

# A view's store, given the view: a connection, and the events its answer covers when
# the store holds more (``store.pages.read``'s ``upto``; None: all it holds); or the
# record itself when the session holds it (a live timeline's marks, from the fold).
Reader = Callable[[str], tuple[sqlite3.Connection, int | None] | Record]
SETTLE = 1.0  # seconds: a live view's store is read at most once per this many
STALE = 5.0  # seconds without events after which a live view's record is read again
SHARE = 0.02  # of a core at most for a live view's reads: a slow read waits longer


@dataclass(frozen=True)
class _Read:
    """A record, what it was read for, and (live) when the next read may be."""

    state: vs.ViewState
    position: int
    now: float
    record: Record
    due: float = 0.0  # on the session's clock: no read before this while events stream
    stale: float = 0.0  # and this without events


class Pages:
    """A session's view state and the record last read for it."""

    def __init__(self) -> None:
        self.state = vs.ViewState()
        self.end: float | None = None  # a replay's end: its timeline covers the whole run
        self.seeks = False  # whether Enter on the timeline seeks (a replay)
        self.message: str | None = None
        self.reading: Reading | None = None  # the view's store is being built: how far
        self._read: _Read | None = None
        self._reads = 0

    @property
    def shown(self) -> str:
        return self.state.view

    def record(
        self,
        conn: Reader,
        position: int,
        now: float,
        clock: Source | None = None,
        final: bool = False,
    ) -> Record:
        """The record of the current view at ``position`` and ``now``, read once for each.

        A live session passes its ``clock``: while events stream, its view's store is
        written and read at most once per SETTLE seconds, and a read (the query, not the
        writing) that took ``c`` seconds waits ``c / SHARE`` (reads stay within SHARE of
        a core; writing costs the same per event at any pace); with no
        event arriving, once per STALE seconds (the record's times move); at once when
        the view state changes or the run ended (``final``)."""
        if self.state.view == "overview":
            return Record()
        last = self._read
        if last is not None and not self.due(position, now, clock, final):
            return last.record
        began = took = 0.0
        self.reading = None
        try:
            source = conn(self.state.view)  # a live store writes what arrived: not timed,
            began = clock() if clock is not None else 0.0  # its cost is per event, not per read
            if isinstance(source, Record):
                record = source
            else:
                record = read(source[0], self.state, now, source[1])
            took = clock() - began if clock is not None else 0.0
        except Reading as exc:  # a part of the store was built: the next frame goes on
            self.reading = exc
            return Record()
        except (sqlite3.Error, OSError) as exc:  # no room for a store: say so, go on
            self.message = f"the views cannot read a store: {exc}"
            record = Record()
        due = stale = 0.0
        if clock is not None:
            due = max((began // SETTLE + 1) * SETTLE, began + took + took / SHARE)
            stale = max(due, began + STALE)
        self._read = _Read(self.state, position, now, record, due, stale)
        self._reads += 1
        return record

    def due(
        self, position: int, now: float, clock: Source | None = None, final: bool = False
    ) -> bool:
        """Whether ``record`` would read the store again (see there): a live frame whose
        read is not due draws what the frame before it drew, but for its header."""
        last = self._read
        if self.state.view == "overview":
            return False
        if last is None or last.state != self.state:
            return True
        if last.position == position and last.now == now:
            return False
        if clock is not None and not final:
            t = clock()
            if t < last.due or (position == last.position and t < last.stale):
                return False
        return True

    @property
    def read_count(self) -> int:
        """Reads so far: a new one may draw a new view."""
        return self._reads

    def last(self) -> Record:
        return self._read.record if self._read is not None else Record()

    def draw(
        self,
        m: Metrics,
        now: float,
        conn: Reader,
        position: int,
        *,
        controls: Callable[[], RenderableType | None],
        stopped: str | None,
        clock: Source | None = None,
    ) -> RenderableType:
        """The frame; ``controls`` are made after the read, so they can say what it found.
        The view is drawn at the clock its record was read at (the header at ``now``): a
        live view's body stays the same, and is drawn once, until its next read."""
        record = self.record(conn, position, now, clock, final=m.finished)
        return page(
            self.state,
            m,
            now,
            record,
            controls=controls(),
            stopped=stopped,
            end=self.end,
            seeks=self.seeks,
            read_at=self._read.now if self._read is not None else None,
            reading=None if self.reading is None else f"{self.reading} (q quits)",
        )

    def rows(self, m: Metrics, now: float) -> int | None:
        """How many rows the current list has (None: not known yet)."""
        r, view = self.last(), self.state.view
        if view == "timeline":
            return buckets(m, now, self.end)
        if self._read is None:
            return None
        return {
            "failures": len(r.groups),
            "tasks": r.tasks.total,
            "workers": len(r.lanes),
            "log": r.logs.total,
        }.get(view)

    # Keys ---------------------------------------------------------------------------

    def move(self, by: int, m: Metrics, now: float) -> None:
        start = here(m, now, self.end) if self.state.view == "timeline" else 0
        self.state = vs.move(self.state, by, self.rows(m, now), start)

    def timeline_row(self, m: Metrics, now: float) -> int:
        """The timeline's selected row: the one chosen, else the row of now."""
        return self.state.row("timeline", default=here(m, now, self.end))

    def to_end(self, last: bool, m: Metrics, now: float) -> None:
        n = self.rows(m, now)
        self.state = vs.select(self.state, (n or 1) - 1 if last else 0, n)

    def selected_task(self) -> str | None:
        """The task Enter or d opens: the selected row's, or the group's latest failure."""
        r, row = self.last(), self.state.row()
        if self.state.view == "tasks":
            i = row - r.tasks.first
            return r.tasks.rows[i].task if 0 <= i < len(r.tasks.rows) else None
        if self.state.view == "failures" and r.groups:
            return r.groups[min(row, len(r.groups) - 1)].latest
        return self.state.task

    def enter(self) -> None:
        """Enter: a failure group's tasks, a task's detail (a timeline row: the session seeks)."""
        r, view = self.last(), self.state.view
        if view == "failures" and r.groups:
            group = r.groups[min(self.state.row(), len(r.groups) - 1)]
            self.state = vs.filter_group(self.state, group.signature)
        elif view == "tasks":
            self.detail()
        else:
            self.message = "Enter opens a row of failures or tasks" + (
                ", or seeks to a timeline row" if self.seeks else " (a replay seeks the timeline)"
            )

    def detail(self) -> None:
        name = self.selected_task()
        if name is None:
            self.message = "no task to show: select one in tasks or failures"
            return
        self.state = vs.open_task(self.state, name)

    def type(self, key: str) -> None:
        self.state = vs.back(self.state) if key == "esc" else vs.typed(self.state, key)

    def slash(self) -> None:
        if not vs.can_type(self.state):
            self.message = "/ filters the tasks and the log views"
            return
        self.state = vs.start_typing(self.state)


class Viewing(Protocol):
    """What the view keys act on: a session with pages, its metrics and clock."""

    pages: Pages
    help_shown: bool

    @property
    def metrics(self) -> Metrics: ...

    def now(self) -> float: ...
    def enter(self) -> None: ...


V = TypeVar("V", bound=Viewing)

_VIEW_KEYS = {key: name for key, name in (("o", "overview"), ("f", "failures"), ("t", "tasks"))}
_VIEW_KEYS |= {"d": "task", "w": "workers", "i": "timeline", "l": "log"}


def _show(s: Viewing, key: str) -> None:
    if key in ("tab", "backtab"):
        s.pages.state = vs.cycle(s.pages.state, forward=key == "tab")
    elif key == "d":
        s.pages.detail()
    elif s.pages.shown == _VIEW_KEYS[key]:
        s.pages.message = f"this is the {_VIEW_KEYS[key]} view"
    else:
        s.pages.state = vs.show(s.pages.state, _VIEW_KEYS[key])


_STEPS = {"up": -1, "k": -1, "down": 1, "j": 1, "pgup": -vs.PAGE, "pgdn": vs.PAGE}


def _move(s: Viewing, key: str) -> None:
    if s.pages.shown not in vs.LISTS and s.pages.shown != "task":
        s.pages.message = "↑/↓ move in the lists of the other views (Tab)"
    elif s.pages.shown == "task" and key in ("home", "end"):
        s.pages.move(-(10**9) if key == "home" else 10**9, s.metrics, s.now())
    elif key in ("home", "end"):
        s.pages.to_end(key == "end", s.metrics, s.now())
    else:
        s.pages.move(_STEPS[key], s.metrics, s.now())


def _filter_sort_level(s: Viewing, key: str) -> None:
    if key == "/":
        s.pages.slash()
    elif key == "s" and s.pages.shown == "tasks":
        s.pages.state = vs.next_sort(s.pages.state)
    elif key == "v" and s.pages.shown == "log":
        s.pages.state = vs.next_level(s.pages.state)
    else:
        s.pages.message = "s sorts the tasks view; v sets the log view's level"


def view_bindings(*, seeks: bool) -> list[Binding[V]]:
    """The keys of the post-mortem views, the same in live and replay but for Enter on
    the timeline, which seeks a replay (``seeks``). Only Enter may move a replay, so only
    it ends a pause at a mark."""
    rows: list[Binding[V]] = [
        Binding(
            ("tab", "backtab", *_VIEW_KEYS),
            "Tab/o/f/t/d/w/i/l",
            "the next view (Shift-Tab: previous), or one by its key",
            _show,
            hint="views",
        ),
        Binding(
            ("up", "down", "k", "j", "pgup", "pgdn", "home", "end"),
            "↑/↓/PgUp/PgDn",
            "select a row; scroll a detail (also j/k, Home/End)",
            _move,
        ),
        Binding(
            ("enter",),
            "Enter",
            "open a group or a task" + ("; seek to the timeline's row" if seeks else ""),
            lambda s, k: s.enter(),
        ),
        Binding(
            ("/", "s", "v"),
            "/,s,v",
            "filter tasks, search the log; sort tasks; log level",
            _filter_sort_level,
        ),
    ]
    return [replace(b, moves=b.keys == ("enter",)) for b in rows]
