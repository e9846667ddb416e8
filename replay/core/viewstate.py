"""Which view is shown and how it is looked at: selection, filter, sort, level, scroll.

This is the viewer's own state, never the fold's: moving a selection changes nothing
the log says, so it lives here, apart from ``Metrics``. Every change is a pure function
from a state (and a key) to a new state, so sessions and tests drive it the same way
and a snapshot can be asked for any of them (``snapshot --view``, ``--task``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Every view, in Tab order; "task" (one task's detail) is reached with Enter or d.
VIEWS = ("overview", "failures", "tasks", "task", "workers", "timeline", "log")
CYCLE = ("overview", "failures", "tasks", "workers", "timeline", "log")
LISTS = ("failures", "tasks", "workers", "timeline", "log")  # views with a selected row
SORTS = ("start", "duration", "attempts", "end")  # the tasks view's orders (store.SORTS)
LEVELS = ("debug", "info", "warning", "error")  # the log view's lowest level shown
PAGE = 10  # rows PgUp/PgDn move


@dataclass(frozen=True)
class ViewState:
    """One viewer's way of looking at the run; hashable, so frames can be keyed on it."""

    view: str = "overview"
    task: str | None = None  # the task the detail view shows
    back: str = "tasks"  # where Esc goes from the detail view
    signature: str | None = None  # the tasks view shows only this failure group
    rows: tuple[tuple[str, int], ...] = ()  # the selected row of each list view
    sort: str = "start"
    grep: str = ""  # the tasks view's filter (task id or any attempt's error)
    search: str = ""  # the log view's filter (message text)
    level: str = "debug"
    scroll: int = 0  # first line of the detail view
    typing: str | None = None  # the text typed after "/" while it is being typed
    kept: str = ""  # the filter before "/" (Esc while typing puts it back)

    def row(self, view: str | None = None, default: int = 0) -> int:
        """The selected row of ``view`` (the current one by default)."""
        return dict(self.rows).get(view or self.view, default)

    def chosen(self, view: str | None = None) -> int | None:
        """The row selected in ``view``, None when none was."""
        return dict(self.rows).get(view or self.view)


def show(state: ViewState, view: str) -> ViewState:
    """Switch to ``view``; the detail view needs a task (else it stays where it is)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; views: {', '.join(VIEWS)}")
    if view == "task" and state.task is None:
        return state
    back = state.view if view == "task" and state.view != "task" else state.back
    return replace(state, view=view, back=back, typing=None)


def cycle(state: ViewState, forward: bool = True) -> ViewState:
    """The next (previous) view in Tab order; from the detail view, the one after its list."""
    here = state.back if state.view == "task" else state.view
    i = CYCLE.index(here) if here in CYCLE else 0
    return show(state, CYCLE[(i + (1 if forward else -1)) % len(CYCLE)])


def select(state: ViewState, row: int, count: int | None = None) -> ViewState:
    """Select ``row`` of the current list (kept within ``count`` rows when known)."""
    if count is not None:
        row = min(row, count - 1)
    rows = dict(state.rows) | {state.view: max(row, 0)}
    return replace(state, rows=tuple(sorted(rows.items())))


def move(state: ViewState, by: int, count: int | None = None, start: int = 0) -> ViewState:
    """Move the selection of a list (from ``start`` when none was made), or scroll the
    detail view, by ``by`` rows."""
    if state.view == "task":
        return replace(state, scroll=max(state.scroll + by, 0))
    if state.view not in LISTS:
        return state
    return select(state, state.row(default=start) + by, count)


def open_task(state: ViewState, task: str) -> ViewState:
    """The detail view of ``task``, from the list shown now."""
    return show(replace(state, task=task, scroll=0), "task")


def filter_group(state: ViewState, signature: str | None) -> ViewState:
    """The tasks of one failure group (None: every task), first row selected."""
    state = replace(state, signature=signature, grep="")
    return select(show(state, "tasks"), 0)


def back(state: ViewState) -> ViewState:
    """Esc: stop typing, else leave the detail view, else drop the tasks' filter, else
    leave a failure group's tasks for the failures view (its group still selected)."""
    if state.typing is not None:
        return _filtered(replace(state, typing=None), state.kept)
    if state.view == "task":
        return show(state, state.back)
    if state.view == "tasks" and state.grep:
        return select(replace(state, grep=""), 0)
    if state.view == "tasks" and state.signature is not None:
        return show(replace(state, signature=None), "failures")
    if state.view == "log" and state.search:
        return select(replace(state, search=""), 0)
    return state


def next_sort(state: ViewState) -> ViewState:
    return select(replace(state, sort=SORTS[(SORTS.index(state.sort) + 1) % len(SORTS)]), 0)


def next_level(state: ViewState) -> ViewState:
    return select(replace(state, level=LEVELS[(LEVELS.index(state.level) + 1) % len(LEVELS)]), 0)


def can_type(state: ViewState) -> bool:
    """Whether ``/`` starts a filter here (the tasks and log views have one)."""
    return state.view in ("tasks", "log")


def start_typing(state: ViewState) -> ViewState:
    if not can_type(state):
        return state
    text = state.grep if state.view == "tasks" else state.search
    return replace(state, typing=text, kept=text)


def _filtered(state: ViewState, text: str) -> ViewState:
    """The tasks' filter or the log's search set to ``text``, from the first row."""
    if state.view == "tasks":
        return select(replace(state, grep=text), 0)
    return select(replace(state, search=text), 0)


def typed(state: ViewState, key: str) -> ViewState:
    """A key while a filter is typed: text goes in, Backspace takes out, and the filter
    applies as it is typed (the list shows the matches); Enter keeps it, Esc (``back``)
    puts back the one before."""
    text = state.typing or ""
    if key == "enter":
        return replace(state, typing=None)
    if key == "backspace":
        text = text[:-1]
    elif len(key) == 1 and key.isprintable():
        text = (text + key)[:80]
    else:
        return state
    return _filtered(replace(state, typing=text), text)
