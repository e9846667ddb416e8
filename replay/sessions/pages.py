"""The post-mortem views inside a session: the view state, its keys and what they read.

Both sessions own a ``Pages``: it holds the view state (``core/viewstate.py``), reads
the record the view shows from the session's store at the session's position (once per
position, view state and clock), and turns keys into new view states. The keys are rows
of the sessions' key tables (``view_bindings``), so help lists them with the others.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol, TypeVar

from rich.console import RenderableType

from replay.core import viewstate as vs
from replay.core.metrics import Metrics
from replay.core.records import Record
from replay.core.views.histogram import buckets, here
from replay.core.views.postmortem import page
from replay.sessions.keymap import Binding
from replay.store.pages import read


class Pages:
    """A session's view state and the record last read for it."""

    def __init__(self) -> None:
        self.state = vs.ViewState()
        self.message: str | None = None
        self._read: tuple[object, Record] | None = None

    @property
    def shown(self) -> str:
        return self.state.view

    def record(self, conn: Callable[[], sqlite3.Connection], position: int, now: float) -> Record:
        """The record of the current view at ``position`` and ``now`` (read once for each)."""
        if self.state.view == "overview":
            return Record()
        key = (position, now, self.state)
        if self._read is None or self._read[0] != key:
            self._read = (key, read(conn(), self.state, now))
        return self._read[1]

    def last(self) -> Record:
        return self._read[1] if self._read is not None else Record()

    def draw(
        self,
        m: Metrics,
        now: float,
        conn: Callable[[], sqlite3.Connection],
        position: int,
        *,
        controls: RenderableType | None,
        stopped: str | None,
    ) -> RenderableType:
        record = self.record(conn, position, now)
        return page(self.state, m, now, record, controls=controls, stopped=stopped)

    def rows(self, m: Metrics, now: float) -> int | None:
        """How many rows the current list has (None: not known yet)."""
        r, view = self.last(), self.state.view
        if view == "timeline":
            return buckets(m, now)
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
        start = here(m, now) if self.state.view == "timeline" else 0
        self.state = vs.move(self.state, by, self.rows(m, now), start)

    def timeline_row(self, m: Metrics, now: float) -> int:
        """The timeline's selected row: the one chosen, else the row of now."""
        return self.state.row("timeline", default=here(m, now))

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
    if key == "d":
        s.pages.detail()
    else:
        s.pages.state = vs.show(s.pages.state, _VIEW_KEYS[key])


def _cycle(s: Viewing, key: str) -> None:
    s.pages.state = vs.cycle(s.pages.state, forward=key == "tab")


def _move(s: Viewing, key: str) -> None:
    by = {"up": -1, "k": -1, "down": 1, "j": 1, "pgup": -vs.PAGE, "pgdn": vs.PAGE}[key]
    s.pages.move(by, s.metrics, s.now())


def _ends(s: Viewing, key: str) -> None:
    s.pages.to_end(key == "end", s.metrics, s.now())


def _sort_or_level(s: Viewing, key: str) -> None:
    if key == "s" and s.pages.shown == "tasks":
        s.pages.state = vs.next_sort(s.pages.state)
    elif key == "v" and s.pages.shown == "log":
        s.pages.state = vs.next_level(s.pages.state)
    else:
        s.pages.message = "s sorts the tasks view; v sets the log view's level"


def view_bindings() -> list[Binding[V]]:
    """The keys of the post-mortem views, the same in live and replay."""
    return [
        Binding(
            ("tab", "backtab"), "Tab", "next / previous view (Shift-Tab)", _cycle, hint="views"
        ),
        Binding(("o",), "o", "overview: the dashboard", _show),
        Binding(("f",), "f", "failures: grouped by signature, with when they happened", _show),
        Binding(("t",), "t", "tasks: every task; s sorts, / filters", _show),
        Binding(("d",), "d", "task detail: every attempt, the full error and traceback", _show),
        Binding(("w",), "w", "workers: a lane per worker across the run", _show),
        Binding(("i",), "i", "timeline: tasks and failures per time bucket", _show),
        Binding(("l",), "l", "log: the log messages; v sets the level, / searches", _show),
        Binding(
            ("up", "down", "k", "j", "pgup", "pgdn"),
            "↑/↓",
            "select a row, scroll the detail (also j/k, PgUp/PgDn)",
            _move,
        ),
        Binding(("home", "end"), "Home/End", "first / last row", _ends),
        Binding(
            ("enter",),
            "Enter",
            "open: a group's tasks, a task's detail; seek to a timeline row",
            lambda s, k: s.enter(),
        ),
        Binding(
            ("/",),
            "/",
            "filter the tasks, search the log (Enter applies)",
            lambda s, k: s.pages.slash(),
        ),
        Binding(("s", "v"), "s/v", "sort the tasks / the log's lowest level", _sort_or_level),
    ]
