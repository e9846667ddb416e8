"""Every view in one frame: the run's header, a line of tabs, the view, the controls.

``page`` is the pure function a session draws and a snapshot saves: (metrics at the
position, now, view state, the record read for it) to a renderable. The overview is the
dashboard itself; the other views share its header so the run's state stays in sight.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.layout import Layout
from rich.text import Text

from replay.core.metrics import Metrics
from replay.core.records import Record
from replay.core.views.detail import Detail
from replay.core.views.failures import Failures
from replay.core.views.hints import Hints
from replay.core.views.histogram import Histogram
from replay.core.views.kept import Kept
from replay.core.views.logview import LogView
from replay.core.views.overview import dashboard, header
from replay.core.views.panels import ended
from replay.core.views.stack import Board
from replay.core.views.tasks import Tasks
from replay.core.views.workers import Workers
from replay.core.viewstate import ViewState

# Each view's key and name, as the tab line and the help show them.
TABS = (
    ("o", "overview"),
    ("f", "failures"),
    ("t", "tasks"),
    ("d", "task"),
    ("w", "workers"),
    ("i", "timeline"),
    ("l", "log"),
)


def tabs(state: ViewState) -> Hints:
    """The views with their keys, the one shown highlighted (Tab moves along them)."""
    pieces, current = [], None
    for key, name in TABS:
        if name == "task" and state.task is None:
            continue
        shown = name == state.view
        style = "bold reverse" if shown else ""
        piece = Text.assemble((key, "bold" if not shown else style), (f" {name}", style or "dim"))
        pieces.append(piece)
        current = piece if shown else current
    return Hints(pieces, separator="  ", keep=current)  # the view shown, at any width


def body(
    state: ViewState,
    m: Metrics,
    now: float,
    record: Record,
    end: float | None = None,
    seeks: bool = False,
    read_at: float | None = None,
    over: bool = False,
) -> RenderableType:
    """The view ``state`` names, drawn from ``record`` (``end``, ``seeks``: a replay's
    timeline covers the whole run and Enter seeks there; ``read_at``: see ``page``;
    ``over``: the tasks still open never end in what is shown, as the header says)."""
    first = record.first_t if record.first_t is not None else (m.first_t or now)
    view = state.view
    if view != "timeline" and read_at is not None:
        now = read_at
    if view == "failures":
        return Failures(record.groups, state.row(), first, now, record.work)
    if view == "tasks":
        return Tasks(
            record.tasks,
            state.row(),
            first,
            now,
            state.sort,
            state.grep,
            state.signature,
            record.counts,
            state.typing,
            over,
        )
    if view == "task":
        return Detail(record.task, state.task, state.scroll, first, now, over)
    if view == "workers":
        return Workers(record.lanes, state.row(), first, now, record.work, over)
    if view == "timeline":
        return Histogram(m, now, record.marks, state.chosen(), end, seeks)
    if view == "log":
        return LogView(record.logs, state.row(), first, state.level, state.search, state.typing)
    raise ValueError(f"no view {view!r}")


def kept(view: RenderableType) -> RenderableType:
    """A view drawn from its record alone is drawn once while it stays the same (the
    timeline draws the metrics, which change in place: it is drawn each frame)."""
    return view if isinstance(view, Histogram) else Kept(view)


def page(
    state: ViewState,
    m: Metrics,
    now: float,
    record: Record,
    *,
    controls: RenderableType | None = None,
    stopped: str | None = None,
    end: float | None = None,
    seeks: bool = False,
    read_at: float | None = None,
    reading: str | None = None,
) -> RenderableType:
    """The whole screen of ``state``'s view at ``now`` (``end``, ``seeks``: see ``body``;
    ``read_at``: the clock ``record`` was read at, when earlier: the view is drawn there;
    ``reading``: what is being read for it, shown instead while it is)."""
    if state.view == "overview":
        return dashboard(m, now, controls=controls, stopped=stopped)
    layout = Board(name="root")  # rich's Layout, drawn without splitting lines again
    rows = [
        Layout(header(m, now, stopped), name="header", size=3),
        Layout(tabs(state), name="tabs", size=1),
        Layout(
            Text(reading, style="bold yellow")
            if reading is not None
            else kept(body(state, m, now, record, end, seeks, read_at, ended(m, stopped))),
            name="body",
            ratio=1,
        ),
    ]
    if controls is not None:
        rows.append(Layout(controls, name="controls", size=2))
    layout.split(*rows)
    return layout
