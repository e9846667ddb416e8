"""Figures that flow onto lines whole: a part is never cut, it moves to the next line or,
on the last line there is room for, is left out (the ones that matter most come first)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.views.stack import texts_key

SEP = "  ·  "


def flow(parts: Sequence[Text], width: int, lines: int | None = None, sep: str = SEP) -> list[Text]:
    """``parts`` laid out on lines of ``width`` cells, at most ``lines`` of them.

    A part wider than a whole line is cut with an ellipsis (nothing else could show it).
    """
    out: list[Text] = []
    line: Text | None = None
    for part in parts:
        if line is not None and cell_len(line.plain) + cell_len(sep) + part.cell_len <= width:
            line.append(sep, "dim")
            line.append_text(part)
            continue
        if lines is not None and len(out) >= lines:
            continue  # a later, shorter part may still fit on the last line
        line = part.copy()
        line.no_wrap, line.overflow = True, "ellipsis"
        out.append(line)
    return out


def second_fits(parts: Sequence[Text], width: int, sep: str = SEP) -> Sequence[Text]:
    """``parts`` with the first one cut (or, with no room for a few cells of it, left
    out) so that the second fits on the first line: a header's run state is never
    pushed off by a long name."""
    if len(parts) < 2:
        return parts
    first, second = parts[0], parts[1]
    room = width - cell_len(sep) - second.cell_len
    if first.cell_len <= room:
        return parts
    if room < 4:
        return parts[1:]
    cut = first.copy()
    cut.truncate(room, overflow="ellipsis")
    return [cut, *parts[1:]]


@dataclass(frozen=True)
class Flow:
    """``flow`` as a renderable, on as many lines as the height it is given
    (``squeeze``: the first part gives way to the second, see ``second_fits``)."""

    parts: tuple[Text, ...]
    sep: str = SEP
    squeeze: bool = False

    def cache_key(self) -> Hashable:
        return (texts_key(self.parts), self.sep, self.squeeze)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        parts = second_fits(self.parts, width, self.sep) if self.squeeze else self.parts
        yield from flow(parts, width, options.height, self.sep)
