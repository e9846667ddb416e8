"""Panels stacked in rows, drawn straight into lines: what rich's Layout and Panel draw,
for a fraction of the cost.

A rich ``Layout`` of ``Panel``s re-splits and re-measures every line at each level of
nesting (layout, panel, padding, content): most of a dashboard frame's time. Here each
panel's content is rendered into lines once, and the borders, padding and neighbours are
joined to them as segments. The segments are the ones rich would produce, one for one,
so every output (text, ANSI, SVG, HTML) stays byte-identical; ``tests/test_stack.py``
checks that against rich's own Layout and Panel.

Any renderable can be a part; ``Box``, ``Beside`` and ``Stack`` offer ``frame_lines()``
(the same lines ``console.render_lines`` would give them, without the extra pass), and a
view that wants the fast path for its own parts can do the same.

A box whose content offers ``cache_key()`` (a value that is equal exactly when the content
draws the same) reuses the content's lines from an earlier frame: in a live view most
panels do not change from one frame to the next.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from rich._ratio import ratio_resolve
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

Lines = list[list[Segment]]


def render_lines(console: Console, part: RenderableType, options: ConsoleOptions) -> Lines:
    """``console.render_lines(part, options)``, without the extra pass when ``part`` can
    give its lines itself (a ``frame_lines`` method)."""
    frame_lines = getattr(type(part), "frame_lines", None)
    if frame_lines is not None:
        return frame_lines(part, console, options)  # type: ignore[no-any-return]
    return console.render_lines(part, options)


def text_key(text: Text) -> Hashable:
    """Everything about a ``Text`` that decides how it draws, as a hashable value."""
    return (
        text.plain,
        text.style,
        tuple(text.spans),
        text.justify,
        text.overflow,
        text.no_wrap,
        text.end,
        text.tab_size,
    )


def texts_key(texts: Iterable[Text]) -> tuple[Hashable, ...]:
    return tuple(map(text_key, texts))


@dataclass
class Part:
    """One row of a ``Stack``: a fixed ``size`` in rows, or a share (``ratio``) of the rest.

    The fields are the ones rich's ``ratio_resolve`` reads, with a Layout's defaults.
    """

    renderable: RenderableType
    size: int | None = None
    ratio: int = 1
    minimum_size: int = 1


@dataclass(frozen=True)
class Stack:
    """Parts one under the other, as a rich ``Layout`` split into rows draws them."""

    parts: tuple[Part, ...]

    def rows(self, console: Console, options: ConsoleOptions) -> Lines:
        """The rows as ``Layout`` yields them: a row no part reaches is empty."""
        width = options.max_width or console.width
        height = options.height or console.height
        sized = options.update_dimensions(width, height)
        out: Lines = [[] for _ in range(height)]
        y = 0
        for part, rows in zip(self.parts, ratio_resolve(height, self.parts), strict=True):
            lines = render_lines(console, part.renderable, sized.update_dimensions(width, rows))
            for row, line in zip(out[y : y + rows], lines, strict=False):
                row.extend(line)
            y += rows
        return out

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        width, adjust = options.max_width, Segment.adjust_line_length
        return [adjust(row, width) for row in self.rows(console, options)]  # as render_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        new_line = Segment.line()
        for row in self.rows(console, options):
            yield from row
            yield new_line


@dataclass(frozen=True)
class Beside:
    """Parts side by side, each given a share (``ratio``) of the width."""

    parts: tuple[Part, ...]

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        width, height = options.max_width, options.height
        if height is None:  # a free height: rich's own pass decides the lines
            return console.render_lines(self, options)
        out: Lines = [[] for _ in range(height)]
        for part, cols in zip(self.parts, ratio_resolve(width, self.parts), strict=True):
            lines = render_lines(console, part.renderable, options.update_dimensions(cols, height))
            for row, line in zip(out, lines, strict=False):
                row.extend(line)
        adjust = Segment.adjust_line_length
        return [adjust(row, width) for row in out]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        new_line = Segment.line()
        sized = options.update_dimensions(options.max_width, options.height or console.height)
        for row in self.frame_lines(console, sized):
            yield from row
            yield new_line


@dataclass(frozen=True)
class Box:
    """A rich ``Panel`` (rounded, expanded, padding 0 1, a title): the same segments."""

    content: RenderableType
    title: str | None = None
    border_style: str = "none"

    def panel(self) -> Panel:
        return Panel(self.content, title=self.title, border_style=self.border_style)

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        width, height = options.max_width, options.height
        if height is None or height < 2 or width < 5:  # the rare shapes: rich decides
            return console.render_lines(self.panel(), options)
        top, start, left, right, end, bottom = _edges(
            console, options, self.title, self.border_style, width
        )
        inner = (
            options.update(width=width - 2, height=height - 2, highlight=False)
            .update_width(width - 4)
            .update_height(height - 2)
        )
        content = _content_lines(console, self.content, inner, left.style)
        return [list(top), *([start, left, *line, right, end] for line in content), list(bottom)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.panel(), options)  # at this height, as a Layout would


_CONTENT: dict[Hashable, Lines] = {}
_CONTENT_KEPT = 256  # panels' lines kept from earlier frames (emptied when past this)


def _content_lines(
    console: Console, content: RenderableType, options: ConsoleOptions, style: Style | None
) -> Lines:
    """The lines of a box's content (as ``Padding`` renders them), reused when its
    ``cache_key()`` and the options it is drawn with are as in an earlier frame."""
    cache_key = getattr(type(content), "cache_key", None)
    if cache_key is None:
        return _text_lines(console, content, options, style)
    key = (
        type(content),
        cache_key(content),
        options.max_width,
        options.height,
        options.ascii_only,
        options.legacy_windows,
        options.justify,
        options.overflow,
        options.no_wrap,
        options.markup,
        options.highlight,
        style,
    )
    lines = _CONTENT.get(key)
    if lines is None:
        lines = _text_lines(console, content, options, style)
        if len(_CONTENT) >= _CONTENT_KEPT:
            _CONTENT.clear()
        _CONTENT[key] = lines
    return lines


_JOIN = Text("\n")


def _text_lines(
    console: Console, content: RenderableType, options: ConsoleOptions, style: Style | None
) -> Lines:
    """``console.render_lines(content, options, style=style, pad=True)``, quicker for
    content that yields only one-line ``Text``s: such a line is drawn as rich draws it
    once its wrapping finds nothing to do (it fits, has no tab or newline, default
    justification), so that work is skipped; any other ``Text`` goes through rich."""
    render = getattr(content, "__rich_console__", None)
    if render is None:
        return console.render_lines(content, options, style=style, pad=True)
    texts = list(render(console, options))
    if not all(type(t) is Text and t.end == "\n" for t in texts):
        return console.render_lines(content, options, style=style, pad=True)
    width, height = options.max_width, options.height
    free = options.reset_height()  # as console.render passes on to what a renderable yields
    adjust = Segment.adjust_line_length
    lines: Lines = []
    for text in texts:
        plain = text.plain
        if (
            len(plain) <= width
            and "\n" not in plain
            and "\t" not in plain
            and (text.justify or options.justify or "default") == "default"
            and cell_len(plain) <= width
        ):
            line = list(_JOIN.join([text]).render(console))
            lines.append(adjust(line, width, style=style, pad=True))
        else:
            lines.extend(console.render_lines(text, free, style=style, pad=True))
        if height is not None and len(lines) >= height:
            return lines[:height]
    if height is not None and len(lines) < height:
        lines.extend([[Segment(" " * width, style)]] * (height - len(lines)))
    return lines


_Edges = tuple[tuple[Segment, ...], Segment, Segment, Segment, Segment, tuple[Segment, ...]]
_EDGES: dict[tuple[object, ...], _Edges] = {}
_EDGES_KEPT = 512  # titles carry counts: the cache is emptied when it grows past this


def _edges(
    console: Console, options: ConsoleOptions, title: str | None, border: str, width: int
) -> _Edges:
    """The top and bottom lines and the segments either side of a line, as ``Panel``
    draws them: taken from a panel rich renders, and kept for the next frame (keyed on
    everything else the border's look depends on; consoles share the default theme)."""
    key = (
        title,
        border,
        width,
        options.ascii_only,
        options.legacy_windows,
        options.justify,
        options.overflow,
        options.no_wrap,
        console.safe_box,
    )
    edges = _EDGES.get(key)
    if edges is None:
        sample = Panel(Text(""), title=title, border_style=border)
        top, middle, bottom = console.render_lines(sample, options.update_dimensions(width, 3))
        edges = (tuple(top), middle[0], middle[1], middle[-2], middle[-1], tuple(bottom))
        if len(_EDGES) >= _EDGES_KEPT:
            _EDGES.clear()
        _EDGES[key] = edges
    return edges


def forget() -> None:
    """Drop every kept border and panel (benchmarks measure a frame drawn from nothing)."""
    _CONTENT.clear()
    _EDGES.clear()
