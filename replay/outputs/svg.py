"""The SVG snapshot: a terminal picture that fetches nothing and aligns with any font.

Rich's ``export_svg`` loads Fira Code from a CDN and positions each run of text by
its start and ``textLength``: offline, or in a renderer that ignores ``textLength``
(rsvg, cairosvg), columns drift and braille shows as boxes. Here every character is
placed at its own cell: ASCII words by a list of x positions (one per letter), any
other character alone and centred in its cell, and box drawing, block elements and
braille drawn as shapes (``glyphs``). The font only decides how letters look.
"""

from __future__ import annotations

import re
from html import escape

from rich.cells import get_character_cell_size
from rich.color import blend_rgb
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import SVG_EXPORT_THEME, TerminalTheme

from replay.outputs import glyphs

# Common monospace fonts, then the generic family. The first is what cairosvg uses (it
# reads only the first name); browsers and rsvg take the first one installed.
FONT_STACK = (
    '"DejaVu Sans Mono", Menlo, "Cascadia Mono", Consolas, "Liberation Mono", '
    '"Noto Sans Mono", monospace'
)
TITLE_FONTS = 'Arial, "Liberation Sans", "DejaVu Sans", sans-serif'

CELL_W = 12  # px: 0.6 of the font size, the advance of the fonts above
CELL_H = 24
FONT_SIZE = 20
BASELINE = 18  # px below a row's top
PAD_TOP, PAD = 40, 8  # room for the window's title bar; the other sides
MARGIN = 1

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def svg_document(
    lines: list[list[Segment]],
    *,
    width: int,
    title: str,
    unique_id: str,
    theme: TerminalTheme = SVG_EXPORT_THEME,
) -> str:
    """An SVG picture of ``lines`` (``width`` cells wide) in a window titled ``title``."""
    styles = _Styles(theme, unique_id)
    backgrounds: list[str] = []
    shapes: list[str] = []
    texts: list[str] = []
    for row, line in enumerate(lines):
        col = 0
        for seg in line:
            if seg.control or not seg.text:
                continue
            style = seg.style or Style()
            fg, bg, css = styles.of(style)
            cells = _cells(seg.text, col)
            end = cells[-1][0] + cells[-1][2] if cells else col
            if bg is not None:
                backgrounds.append(_rect(col, row, end - col, bg))
            shapes.extend(_shapes(cells, row, fg))
            texts.extend(_texts(cells, row, css))
            col = end
    rows = len(lines)
    term_w, term_h = width * CELL_W, rows * CELL_H
    win_w, win_h = term_w + 2 * PAD, term_h + PAD_TOP + PAD
    uid = unique_id
    return _TEMPLATE.format(
        uid=uid,
        margin=MARGIN,
        view_w=win_w + 2 * MARGIN,
        view_h=win_h + 2 * MARGIN,
        win_w=win_w,
        win_h=win_h,
        term_w=term_w,
        term_h=term_h,
        term_x=MARGIN + PAD,
        term_y=MARGIN + PAD_TOP,
        title_x=MARGIN + win_w // 2,
        title=_escape(title),
        font_stack=FONT_STACK,
        title_fonts=TITLE_FONTS,
        font_size=FONT_SIZE,
        background=theme.background_color.hex,
        foreground=theme.foreground_color.hex,
        styles="\n".join(styles.rules()),
        backgrounds="\n".join(backgrounds),
        lines="\n".join(s for s in shapes if s.startswith("<rect")),  # crisp: no seams
        shapes="\n".join(s for s in shapes if not s.startswith("<rect")),
        texts="\n".join(texts),
    )


_TEMPLATE = """\
<svg class="rich-terminal" viewBox="0 0 {view_w} {view_h}" xmlns="http://www.w3.org/2000/svg">
<!-- runreel snapshot: self-contained; fonts are the viewer's own, every glyph has its cell -->
<style>
.{uid}-matrix {{ font-family: {font_stack}; font-size: {font_size}px; }}
.{uid}-title {{ font-family: {title_fonts}; font-size: 18px; font-weight: bold; }}
{styles}
</style>
<defs>
<clipPath id="{uid}-clip-terminal"><rect x="0" y="0" width="{term_w}" height="{term_h}"/></clipPath>
</defs>
<rect x="{margin}" y="{margin}" width="{win_w}" height="{win_h}" rx="8" fill="{background}" \
stroke="rgba(255,255,255,0.35)" stroke-width="1"/>
<text class="{uid}-title" fill="{foreground}" text-anchor="middle" x="{title_x}" y="27">\
{title}</text>
<g transform="translate(26,22)">
<circle cx="0" cy="0" r="7" fill="#ff5f57"/>
<circle cx="22" cy="0" r="7" fill="#febc2e"/>
<circle cx="44" cy="0" r="7" fill="#28c840"/>
</g>
<g transform="translate({term_x},{term_y})" clip-path="url(#{uid}-clip-terminal)">
<g class="{uid}-backgrounds" shape-rendering="crispEdges">
{backgrounds}
</g>
<g class="{uid}-glyphs" shape-rendering="crispEdges">
{lines}
</g>
<g class="{uid}-glyphs">
{shapes}
</g>
<g class="{uid}-matrix">
{texts}
</g>
</g>
</svg>
"""


class _Styles:
    """Colours of a Rich style under the theme, and one CSS class per distinct text style."""

    def __init__(self, theme: TerminalTheme, unique_id: str) -> None:
        self.theme, self.uid = theme, unique_id
        self.classes: dict[str, int] = {}
        self._seen: dict[Style, tuple[str, str | None, str]] = {}

    def of(self, style: Style) -> tuple[str, str | None, str]:
        """Foreground, background and CSS class of ``style`` (worked out once per style)."""
        if style not in self._seen:
            fg, bg = self.colors(style)
            self._seen[style] = (fg, bg, self.css_class(style))
        return self._seen[style]

    def colors(self, style: Style) -> tuple[str, str | None]:
        """Foreground and background (None: the terminal's own) as hex."""
        t, color, bgcolor = self.theme, style.color, style.bgcolor
        fg = t.foreground_color if color is None or color.is_default else color.get_truecolor(t)
        has_bg = bgcolor is not None and not bgcolor.is_default
        bg = (
            t.background_color
            if bgcolor is None or bgcolor.is_default
            else bgcolor.get_truecolor(t)
        )
        if style.reverse:
            fg, bg, has_bg = bg, fg, True
        if style.dim:
            fg = blend_rgb(fg, bg, 0.4)
        return fg.hex, bg.hex if has_bg else None

    def css_class(self, style: Style) -> str:
        rules = [f"fill: {self.colors(style)[0]}"]
        if style.bold:
            rules.append("font-weight: bold")
        if style.italic:
            rules.append("font-style: italic")
        decorations = [
            d for d, on in (("underline", style.underline), ("line-through", style.strike)) if on
        ]
        if decorations:
            rules.append(f"text-decoration: {' '.join(decorations)}")
        css = "; ".join(rules)
        number = self.classes.setdefault(css, len(self.classes) + 1)
        return f"{self.uid}-r{number}"

    def rules(self) -> list[str]:
        return [f".{self.uid}-r{n} {{ {css} }}" for css, n in self.classes.items()]


def _cells(text: str, col: int) -> list[tuple[int, str, int]]:
    """(column, cluster, width) for each character, combining marks kept with their base."""
    out: list[tuple[int, str, int]] = []
    for ch in _XML_INVALID.sub("\ufffd", text):
        size = get_character_cell_size(ch)
        if size == 0 and out:
            c, cluster, w = out[-1]
            out[-1] = (c, cluster + ch, w)
            continue
        out.append((col, ch, size))
        col += size
    return out


def _shapes(cells: list[tuple[int, str, int]], row: int, color: str) -> list[str]:
    """Drawn glyphs; a run of a line or bar character is one shape."""
    out: list[str] = []
    i = 0
    while i < len(cells):
        col, ch, _ = cells[i]
        n = 1
        if len(ch) == 1 and glyphs.drawable(ch):
            while glyphs.tiles(ch) and i + n < len(cells) and cells[i + n][1] == ch:
                n += 1
            out.append(glyphs.draw(ch, col * CELL_W, row * CELL_H, CELL_W, CELL_H, color, n))
        i += n
    return out


def _texts(cells: list[tuple[int, str, int]], row: int, css: str) -> list[str]:
    """ASCII phrases with one x per letter (searchable in a browser, spaces kept as
    no-break spaces so no renderer collapses them); any other character alone, centred
    on its cells, so a glyph from a fallback font cannot shift its neighbours."""
    y = row * CELL_H + BASELINE
    out: list[str] = []
    run: list[tuple[int, str, int]] = []

    def flush() -> None:
        while run and run[-1][1] == " ":
            run.pop()
        if run:
            xs = " ".join(str(c * CELL_W) for c, _, _ in run)
            letters = _escape("".join(ch for _, ch, _ in run)).replace(" ", "&#160;")
            out.append(f'<text class="{css}" x="{xs}" y="{y}">{letters}</text>')
            run.clear()

    for cell in cells:
        col, ch, size = cell
        if len(ch) == 1 and (" " < ch <= "~" or (ch == " " and run)):
            run.append(cell)
        elif ch != " " and not (len(ch) == 1 and glyphs.drawable(ch)):
            flush()
            x = col * CELL_W + size * CELL_W // 2
            out.append(
                f'<text class="{css}" x="{x}" y="{y}" text-anchor="middle">{_escape(ch)}</text>'
            )
        else:
            flush()
    flush()
    return out


def _rect(col: int, row: int, cells: int, color: str) -> str:
    return (
        f'<rect x="{col * CELL_W}" y="{row * CELL_H}" width="{cells * CELL_W}"'
        f' height="{CELL_H}" fill="{color}"/>'
    )


def _escape(text: str) -> str:
    return escape(text, quote=False)
