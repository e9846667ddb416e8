"""One line of whole pieces (key hints, states, figures) laid out to the width it is given.

Like htop's bottom bar: the pieces come most important first, and the first one that
does not fit is dropped whole with everything after it. A hint is never cut mid-word,
so a narrow terminal shows fewer keys, not broken ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

SEPARATOR = "  "


@dataclass(frozen=True)
class Hint:
    """A key and what it does, as the key line shows it: ``q quit``."""

    key: str  # as written for people: "q", "space", "←/→"
    label: str

    def text(self) -> Text:
        return Text.assemble((self.key, "bold"), " ", (self.label, "dim"))


class Hints:
    """The pieces that fit ``width`` cells, most important first, each whole or not at all
    (but the first: wider than the whole line, it is cut rather than dropped)."""

    def __init__(
        self,
        pieces: Iterable[Text | Hint],
        separator: str = SEPARATOR,
        style: str = "",
        keep: Text | Hint | None = None,
    ) -> None:
        pieces = list(pieces)
        self.keep = pieces.index(keep) if keep is not None and keep in pieces else None
        self.pieces = [p.text() if isinstance(p, Hint) else p for p in pieces]
        self.separator = separator
        self.style = style  # the separator's

    def fit(self, width: int) -> Text:
        """As many whole pieces as fit in ``width`` cells, in order; the piece to ``keep``
        (``? help``) is shown even when those before it fill the line: they give way."""
        line, placed = self._fit(self.pieces, width)
        if self.keep is None or placed > self.keep:
            return line
        kept = self.pieces[self.keep]
        room = width - len(self.separator) - kept.cell_len
        line, _ = self._fit(self.pieces[: self.keep], room) if room > 0 else (Text(), 0)
        if not line.plain:
            return self._fit([kept], width)[0]
        line.append(self.separator, self.style)
        line.append_text(kept)
        return line

    def _fit(self, pieces: list[Text], width: int) -> tuple[Text, int]:
        """The line of ``pieces`` that fit, and how many of them were looked at."""
        line = Text(no_wrap=True, overflow="crop")
        placed = 0
        for placed, piece in enumerate(pieces, 1):
            if not piece.plain:
                continue
            gap = self.separator if line.plain else ""
            if line.cell_len + len(gap) + piece.cell_len > width:
                if not line.plain and width > 0:  # a first piece wider than the line: cut
                    piece = piece.copy()  # rather than show nothing
                    piece.truncate(width, overflow="ellipsis")
                    line.append_text(piece)
                    return line, placed
                return line, placed - 1
            line.append(gap, self.style)
            line.append_text(piece)
        return line, placed

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fit(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        whole = self.fit(10**6).cell_len
        first = next((p.cell_len for p in self.pieces if p.plain), 0)
        return Measurement(min(first, whole), whole)
