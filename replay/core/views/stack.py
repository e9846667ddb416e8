"""Panels drawn straight into lines: the segments of a rich ``Panel``, for a fraction of
the cost, so that a rich ``Layout`` of them only places a few regions.

A ``Panel`` re-splits and re-measures every line at each level of nesting (panel,
padding, content): most of a dashboard frame's time once the frame is redrawn several
times a second. A ``Box`` renders its content into lines once and joins the border and
padding to them as segments. The segments are the ones rich would produce, one for one,
so every output (text, ANSI, SVG, HTML) stays byte-identical; ``tests/test_stack.py``
checks that against rich's own Panel, alone and in a Layout.

A box whose content offers ``cache_key()`` (a value that is equal exactly when the content
draws the same) reuses the content's lines from an earlier frame: in a live view most
panels do not change from one frame to the next; a line drawn in an earlier frame is
reused too (a chart's bars change only at their tip).

A ``Board`` is a rich ``Layout`` that takes each region's lines straight from its
renderable's ``frame_lines`` (a Box, a Board, the overview's body): rich's Layout turns
every region's lines back into one stream of segments and splits it into lines again at
each level of nesting, and once more for the terminal; at 10,000 events/s, when every
panel changes at every frame, that was about a quarter of a frame's cost.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.layout import Layout, LayoutRender, RenderMap
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

Lines = list[list[Segment]]


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


@dataclass(frozen=True)
class Box:
    """A rich ``Panel`` (rounded, expanded, padding 0 1, a title): the same segments."""

    content: RenderableType
    title: str | None = None
    border_style: str = "none"

    def panel(self) -> Panel:
        return Panel(self.content, title=self.title, border_style=self.border_style)

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        """The lines ``console.render_lines(self.panel(), options)`` gives."""
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
        """In a ``Layout`` region (a height given): the kept lines, ready to be placed."""
        if options.height is None:  # a free height: the panel decides how tall it is
            yield from console.render(self.panel(), options)
            return
        new_line = Segment.line()
        for line in self.frame_lines(console, options):
            yield from line
            yield new_line


def lines_of(console: Console, renderable: RenderableType, options: ConsoleOptions) -> Lines:
    """``console.render_lines(renderable, options)``, taken from the renderable's
    ``frame_lines`` when it has one and the height is known (the same lines, unsplit)."""
    frame_lines = getattr(renderable, "frame_lines", None)
    if frame_lines is None or options.height is None:
        return console.render_lines(renderable, options)
    lines: Lines = frame_lines(console, options)
    return lines


class Board(Layout):
    """A rich ``Layout`` whose regions are drawn with ``lines_of``: the same lines as
    ``Layout`` draws (``tests/test_stack.py``), without splitting them again."""

    def render(self, console: Console, options: ConsoleOptions) -> RenderMap:
        width, height = options.max_width, options.height or console.height
        update = options.update_dimensions
        return {
            layout: LayoutRender(
                region, lines_of(console, layout.renderable, update(region.width, region.height))
            )
            for layout, region in self._make_region_map(width, height).items()
            if not layout.children
        }

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        """The lines ``console.render_lines(self, options)`` gives: the regions' lines
        placed side by side, and a row the regions do not fill padded as rich pads it."""
        width = options.max_width or console.width
        height = options.height or console.height
        rows: Lines = [[] for _ in range(height)]
        filled = [0] * height
        regions = self.render(console, options.update_dimensions(width, height))
        for region, lines in regions.values():
            for y, line in enumerate(lines[: max(height - region.y, 0)], region.y):
                rows[y].extend(line)
                filled[y] += region.width
        adjust = Segment.adjust_line_length
        return [
            row if n == width else adjust(row, width, pad=True)
            for row, n in zip(rows, filled, strict=True)
        ]


_CONTENT: dict[Hashable, Lines] = {}
_CONTENT_KEPT = 256  # panels' lines kept from earlier frames (emptied when past this)


def options_key(options: ConsoleOptions) -> tuple[object, ...]:
    """What of ``options`` changes the lines drawn: part of a key for kept lines."""
    return (
        options.max_width,
        options.height,
        options.ascii_only,
        options.legacy_windows,
        options.justify,
        options.overflow,
        options.no_wrap,
        options.markup,
        options.highlight,
    )


def _content_lines(
    console: Console, content: RenderableType, options: ConsoleOptions, style: Style | None
) -> Lines:
    """The lines of a box's content (as ``Padding`` renders them), reused when its
    ``cache_key()`` and the options it is drawn with are as in an earlier frame."""
    cache_key = getattr(type(content), "cache_key", None)
    if cache_key is None:
        return text_lines(console, content, options, style)
    key = (type(content), cache_key(content), *options_key(options), style)
    lines = _CONTENT.get(key)
    if lines is None:
        lines = text_lines(console, content, options, style)
        if len(_CONTENT) >= _CONTENT_KEPT:
            _CONTENT.clear()
        _CONTENT[key] = lines
    return lines


_JOIN = Text("\n")
_LINES: dict[Hashable, list[Segment]] = {}  # single lines drawn in earlier frames
_LINES_KEPT = 1024


def text_lines(
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
            key = (text_key(text), width, style)
            line = _LINES.get(key)
            if line is None:
                whole = _JOIN.join([text]) if text.style else text  # a base style: as a span
                line = adjust(list(whole.render(console)), width, style=style, pad=True)
                if len(_LINES) >= _LINES_KEPT:
                    _LINES.clear()
                _LINES[key] = line
            lines.append(line)
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
    _LINES.clear()
    _EDGES.clear()
