"""``grid`` draws the lists' tables as rich's ``Table`` does: every character, every style."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style
from rich.text import Text

from replay.core.views.grid import Grid
from replay.core.views.tasks import COLUMNS as TASKS
from replay.core.views.workers import columns

# The columns of the workers view (at 120 columns) and of the tasks view: fixed, clamped
# and flexible ones.
WORKERS = columns(20)

# Wide, combining and plain characters: widths in cells are what a layout gets wrong.
_CHARS = st.sampled_from(list("ab xyz-_.:0129[]/") + ["漢", "字", "é", "😀", "…", "░", "█"])
_STYLES = st.sampled_from(["", "red", "bold", "cyan", "dim", "green on blue"])


@st.composite
def cells(draw: Any) -> Text | str:
    plain = "".join(draw(st.lists(_CHARS, max_size=40)))
    if draw(st.booleans()):
        return plain
    text = Text(plain, style=draw(_STYLES))
    if plain and draw(st.booleans()):  # a span over part of it
        a = draw(st.integers(0, len(plain) - 1))
        text.stylize(draw(_STYLES) or "italic", a, draw(st.integers(a, len(plain))))
    return text


def drawn(renderable: Any, width: int) -> list[list[tuple[str, Style]]]:
    """Each line as (character, style) pairs: equal lists look the same in any output."""
    console = Console(file=io.StringIO(), width=width, color_system="truecolor")
    out = []
    for line in console.render_lines(renderable, console.options, pad=False):
        chars = []
        for seg in line:
            for ch in seg.text:
                chars.append((ch, seg.style or Style()))
        out.append(chars)
    return out


@settings(max_examples=300, deadline=None)
@given(
    columns=st.sampled_from([WORKERS, TASKS]),
    rows=st.lists(
        st.tuples(st.lists(cells(), min_size=7, max_size=7), st.sampled_from([None, "on grey23"])),
        min_size=1,
        max_size=6,
    ),
    width=st.integers(20, 160),
)
def test_a_grid_draws_what_rich_draws(columns: Any, rows: Any, width: int) -> None:
    grid = Grid(columns, tuple((tuple(c), s) for c, s in rows))
    assert drawn(grid, width) == drawn(grid.table(), width)


def test_the_fast_layout_is_taken_when_the_table_fits() -> None:
    """Not every case falls back to rich: a table that fits is laid out by ``grid``."""
    grid = Grid(WORKERS, ((("w-1", "█" * 20, "80%", "5", "1", "0.6s", "boom"), None),))
    assert grid.widths(120) is not None
    assert grid.widths(30) is None  # the fixed columns alone need more
    assert sum(grid.widths(120) or []) + len(WORKERS) - 1 == 120
