"""A Box draws what rich's Panel draws, segment for segment, alone and in the regions of a
rich Layout, and a panel's kept lines are never shown for content that changed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console, Group, RenderableType
from rich.layout import Layout
from rich.panel import Panel
from rich.segment import Segment
from rich.text import Text

from replay.core.views.listing import Head, Tail
from replay.core.views.stack import Board, Box, forget, lines_of
from replay.outputs.snapshot import capture_console

STYLES = ["", "bold", "red", "dim", "bold green", "cyan on blue"]
WORDS = st.text(alphabet="ab cd✔✖↻…世界[]/\t\n", min_size=0, max_size=30)


@st.composite
def texts(draw: st.DrawFn) -> Text:
    text = Text(
        no_wrap=draw(st.booleans()),
        overflow=draw(st.sampled_from(["ellipsis", "fold", "crop"])),
        justify=draw(st.sampled_from([None, "default", "left", "center", "right"])),
        end=draw(st.sampled_from(["\n", "\n", ""])),
    )
    for _ in range(draw(st.integers(0, 3))):
        text.append(draw(WORDS), draw(st.sampled_from(STYLES)))
    return text


@st.composite
def boxes(draw: st.DrawFn) -> tuple[Box, Panel]:
    lines = tuple(draw(st.lists(texts(), max_size=6)))
    kind = draw(st.sampled_from(["tail", "head", "group"]))  # a group: Texts as they come
    content: RenderableType = (
        Tail(lines, "none yet")
        if kind == "tail"
        else Head(lines)
        if kind == "head"
        else Group(*lines)
    )
    title = draw(
        st.one_of(st.none(), st.sampled_from(["Status", "Workers (3 busy / 8)", "x" * 90]))
    )
    border = draw(st.sampled_from(["cyan", "red", "none"]))
    return Box(content, title, border), Panel(content, title=title, border_style=border)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[Layout, Layout]:
    """A Layout of boxes in rows (some side by side, one taking the rest), and its twin
    with rich's own panels."""
    rows, twins = [], []
    for i in range(draw(st.integers(1, 4))):
        size = draw(st.one_of(st.none(), st.integers(1, 9)))
        row, twin = Layout(name=f"row{i}", size=size), Layout(name=f"row{i}", size=size)
        if draw(st.booleans()):
            (left, left_ref), (right, right_ref) = draw(boxes()), draw(boxes())
            row.split_row(Layout(left), Layout(right))
            twin.split_row(Layout(left_ref), Layout(right_ref))
        else:
            box, ref = draw(boxes())
            row.update(box)
            twin.update(ref)
        rows.append(row)
        twins.append(twin)
    root, twin_root = Layout(), Layout()
    root.split_column(*rows)
    twin_root.split_column(*twins)
    return root, twin_root


def console(width: int, height: int) -> Console:
    return capture_console(width, height, color=True)


def lines(c: Console, renderable: RenderableType, width: int, height: int) -> list[list[Segment]]:
    return c.render_lines(renderable, c.options.update_dimensions(width, height))


@settings(max_examples=150, deadline=None)
@given(layouts(), st.integers(1, 130), st.integers(1, 45))
def test_a_layout_of_boxes_draws_the_segments_of_a_layout_of_panels(
    pair: tuple[Layout, Layout], width: int, height: int
) -> None:
    boxed, panelled = pair
    c = console(width, height)
    assert lines(c, boxed, width, height) == lines(c, panelled, width, height)
    printed = []
    for renderable in pair:
        out = console(width, height)
        out.print(renderable, height=height)
        printed.append(out.export_text(styles=True))
    assert printed[0] == printed[1]


@settings(max_examples=150, deadline=None)
@given(layouts(), st.integers(1, 130), st.integers(1, 45), st.booleans())
def test_a_board_draws_the_lines_of_a_layout(
    pair: tuple[Layout, Layout], width: int, height: int, nested: bool
) -> None:
    """A Board (and a Board in a Board's region) gives rich's Layout's lines, whole or
    taken unsplit (``lines_of``, as the terminal gets them), also where regions of fixed
    sizes leave rows empty or run past the bottom."""
    boxed, _ = pair
    rows = boxed.children
    tops, twins = rows, rows
    if nested and len(rows) > 1:  # the rows after the first in a board of their own
        inner, inner_twin = Board(), Layout()
        inner.split_column(*rows[1:])
        inner_twin.split_column(*rows[1:])
        tops, twins = [rows[0], Layout(inner)], [rows[0], Layout(inner_twin)]
    board, twin = Board(), Layout()
    board.split_column(*tops)
    twin.split_column(*twins)
    c = console(width, height)
    expected = lines(c, twin, width, height)
    assert lines(c, board, width, height) == expected
    assert lines_of(c, board, c.options.update_dimensions(width, height)) == expected


@settings(max_examples=100, deadline=None)
@given(boxes(), st.integers(1, 100), st.integers(1, 12))
def test_a_box_draws_the_segments_of_a_panel(
    pair: tuple[Box, Panel], width: int, height: int
) -> None:
    box, panel = pair
    c = console(width, height)
    expected = lines(c, panel, width, height)
    assert lines(c, box, width, height) == expected
    assert box.frame_lines(c, c.options.update_dimensions(width, height)) == expected
    free = c.options.update_width(width)  # no height given: as tall as the panel is
    assert c.render_lines(box, free) == c.render_lines(panel, free)


def drawn(box: Box, width: int = 30, height: int = 4) -> str:
    out = console(width, height)
    out.print(Layout(box), height=height)
    return out.export_text(styles=True)


def test_kept_lines_are_never_drawn_for_changed_content() -> None:
    forget()
    first = drawn(Box(Tail((Text("one"),)), "T", "cyan"))
    assert drawn(Box(Tail((Text("one"),)), "T", "cyan")) == first  # kept: the same bytes
    for changed in (
        Box(Tail((Text("two"),)), "T", "cyan"),  # the words
        Box(Tail((Text("one", style="red"),)), "T", "cyan"),  # only the style
        Box(Tail((Text.assemble("o", ("ne", "bold")),)), "T", "cyan"),  # a span
        Box(Tail((Text("one"),)), "U", "cyan"),  # the title
        Box(Tail((Text("one"),)), "T", "red"),  # the border
    ):
        assert drawn(changed) != first, changed
        forget()
        assert drawn(changed) == drawn(changed)  # and it draws as it does from nothing
    assert drawn(Box(Tail((Text("one"),)), "T", "cyan"), width=31) != first  # another size
    rows = (Text("a"), Text("b"), Text("c"))  # the same rows in another kind of content
    assert drawn(Box(Head(rows), "T", "cyan")) != drawn(Box(Tail(rows), "T", "cyan"))
    # Content with no cache_key: only its single lines are kept from frame to frame.
    once = drawn(Box(Group(Text("one")), "T", "cyan"))
    for other in (Text("two"), Text("one", style="red"), Text.assemble("o", ("ne", "bold"))):
        assert drawn(Box(Group(other), "T", "cyan")) != once, other
    assert drawn(Box(Group(Text("one")), "T", "cyan")) == once
    empty = drawn(Box(Tail((), "none yet"), "T", "cyan"))
    assert drawn(Box(Tail((), "nothing"), "T", "cyan")) != empty  # what an empty list says
