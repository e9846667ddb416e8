"""The lists' tables, laid out as rich lays them, without rich's cost per cell.

The tasks and workers views draw a rich ``Table`` (``SIMPLE_HEAD`` box, no edge,
expanded, one flexible column) of one-line cells. Rich measures and renders every cell
through several layers, about 0.4 ms a row: a workers view of 16 lanes cost 7 ms a
frame, a large part of what a live view spends beyond reading the log
(``bench/live_profile.py --view workers``). ``grid`` computes the same column widths
(rich's rules for this shape: each column as wide as its widest cell, clamped to its
``min_width``/``max_width``, padded one cell either side but at the table's edges, the
flexible column given the rest) and draws each row as one ``Text`` with the same cells,
cut and justified by the same ``Text`` methods rich calls, in the same styles.
``tests/test_grid.py`` checks that every character and its style equal rich's. A table
that does not fit its width (rich would shrink columns) is handed to rich as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Span, Text

Cell = Text | str
_DIVIDER = " "  # SIMPLE_HEAD's vertical line between columns: a space


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "left"
    width: int | None = None  # fixed: not measured
    min_width: int | None = None
    max_width: int | None = None
    flexible: bool = False  # takes the width the others leave (rich's ``ratio=1``)


@dataclass(frozen=True)
class Grid:
    """A table of one-line cells: ``rows`` of (cells, the row's style or None)."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[tuple[Cell, ...], str | None], ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.widths(options.max_width)
        if widths is None:
            yield self.table()
            return
        yield self._line(tuple(Text(c.header) for c in self.columns), widths, header=True)
        yield Text("─" * options.max_width, no_wrap=True)
        for cells, style in self.rows:
            yield self._line(cells, widths, style=style)

    def widths(self, width: int) -> list[int] | None:
        """Each column's width with its padding, as rich computes it; None when the
        table needs more than ``width`` (or has no rows: rich draws no rule then)."""
        columns = self.columns
        last = len(columns) - 1
        flexible = [i for i, c in enumerate(columns) if c.flexible]
        if not self.rows or len(flexible) != 1:
            return None
        room = width - last  # the dividers
        out = []
        for i, col in enumerate(columns):
            pad = sum(_pads(i, last))
            if col.flexible:
                out.append(0)
            elif col.width is not None:
                out.append(col.width + pad)
            else:
                widest = max([cell_len(col.header)] + [_len(cells[i]) for cells, _ in self.rows])
                if col.min_width is not None:
                    widest = max(widest, col.min_width)
                if col.max_width is not None:
                    widest = min(widest, col.max_width)
                out.append(widest + pad)
        flex = flexible[0]
        rest = room - sum(out)
        if rest < (columns[flex].width or 1) + sum(_pads(flex, last)):
            return None
        out[flex] = rest
        return out

    def _line(
        self,
        cells: Sequence[Cell],
        widths: list[int],
        *,
        header: bool = False,
        style: str | None = None,
    ) -> Text:
        last = len(widths) - 1
        parts: list[str] = []
        spans: list[Span] = []  # as ``Text.append_text`` would add them, in that order
        at = 0
        for i, (cell, col, w) in enumerate(zip(cells, self.columns, widths, strict=True)):
            left, right = _pads(i, last)
            text = _fitted(cell, w - left - right, col.justify)
            plain = (_DIVIDER + " " if i else "") + text.plain + (" " if right else "")
            start = at + len(_DIVIDER) if i else at
            end = at + len(plain)
            inner = start + left
            if header:
                spans.append(Span(start, end, "table.header"))
            if text.style:
                spans.append(Span(inner, inner + len(text.plain), text.style))
            spans.extend(span.move(inner) for span in text.spans)
            parts.append(plain)
            at = end
        return Text("".join(parts), style=style or "", spans=spans, no_wrap=True)

    def table(self) -> Table:
        """The same table as a rich ``Table``: what a table that does not fit is drawn by."""
        table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
        for col in self.columns:
            table.add_column(
                col.header,
                justify=col.justify,
                no_wrap=True,
                overflow="ellipsis",
                width=col.width,
                min_width=col.min_width,
                max_width=col.max_width,
                ratio=1 if col.flexible else None,
            )
        for cells, style in self.rows:  # strings literally, as ``grid`` draws them
            table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells), style=style)
        return table


def _pads(i: int, last: int) -> tuple[int, int]:
    """Column ``i``'s padding, left and right: one cell, none at the table's edges."""
    return int(i > 0), int(i < last)


def _len(cell: Cell) -> int:
    return cell_len(cell if isinstance(cell, str) else cell.plain)


def _fitted(cell: Cell, width: int, justify: Literal["left", "right"]) -> Text:
    """The cell cut to ``width`` cells and justified, as ``Text.wrap`` does it for a
    cell that does not wrap (its own justify and overflow first, as rich's). A string
    is taken literally, never as markup or emoji codes (``table`` too)."""
    text = Text(cell) if isinstance(cell, str) else cell.copy()
    how = text.justify or justify
    overflow = text.overflow or "ellipsis"
    if how == "right":
        text.rstrip()
        text.truncate(width, overflow=overflow)
        text.pad_left(width - cell_len(text.plain))
    else:
        text.truncate(width, overflow=overflow, pad=True)
    return text
