"""Cell-filling glyphs drawn as shapes, so SVG snapshots look the same with any font.

Box drawing, block elements and braille (the spinner's frames) must fill their cell
exactly: borders close and bars join only if no font decides the glyph's size, and
a font without braille would show boxes. Terminals such as xterm.js and kitty draw
these characters themselves for the same reason; the SVG writer does too.
"""

from __future__ import annotations

import unicodedata
from functools import cache

# Stroke thickness of light and heavy lines, as a share of the cell's width.
LIGHT = 1 / 6
HEAVY = 1 / 3

_ARMS = {"UP": "u", "DOWN": "d", "LEFT": "l", "RIGHT": "r", "VERTICAL": "ud", "HORIZONTAL": "lr"}
_WEIGHTS = {"LIGHT": 1, "HEAVY": 2}


@cache
def box_arms(ch: str) -> dict[str, int] | None:
    """The arms of a box-drawing line character (``u d l r`` -> 1 light, 2 heavy).

    Read from the Unicode name ("LIGHT DOWN AND RIGHT", "DOWN LIGHT AND RIGHT HEAVY"):
    a weight before the first arm applies to the arms after it, else to those before.
    None for characters drawn from the font (dashes, diagonals, double lines, arcs).
    """
    name = unicodedata.name(ch, "")
    if not name.startswith("BOX DRAWINGS ") or any(
        w in name for w in ("DASH", "DIAGONAL", "DOUBLE", "SINGLE", "ARC")
    ):
        return None
    words = [w for w in name.removeprefix("BOX DRAWINGS ").split() if w != "AND"]
    if not all(w in _ARMS or w in _WEIGHTS for w in words):
        return None
    arms: dict[str, int] = {}
    prefix = words[0] in _WEIGHTS
    weight, pending = 0, ""
    for w in words:
        if w in _WEIGHTS:
            weight = _WEIGHTS[w]
            if not prefix:
                arms.update(dict.fromkeys(pending, weight))
                pending = ""
        elif prefix:
            arms.update(dict.fromkeys(_ARMS[w], weight))
        else:
            pending += _ARMS[w]
    return arms or None


# Arcs: the two arms they join, from the corner's point of view.
_ARCS = {"╭": "dr", "╮": "dl", "╯": "ul", "╰": "ur"}

# Block elements: (x0, y0, x1, y1) as shares of the cell, and an opacity for shades.
_BLOCKS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "▀": ((0, 0, 1, 0.5),),
    **{chr(0x2581 + i): ((0, 1 - (i + 1) / 8, 1, 1),) for i in range(7)},  # ▁ .. ▇
    "█": ((0, 0, 1, 1),),
    **{chr(0x2589 + i): ((0, 0, (7 - i) / 8, 1),) for i in range(7)},  # ▉ .. ▏
    "▐": ((0.5, 0, 1, 1),),
    "▔": ((0, 0, 1, 1 / 8),),
    "▕": ((7 / 8, 0, 1, 1),),
}
_QUADRANTS = {"▘": 1, "▝": 2, "▖": 4, "▗": 8, "▌": 5, "▞": 6, "▚": 9}
_QUADRANTS |= {"▙": 13, "▛": 7, "▜": 11, "▟": 14}
_QUAD_RECTS = ((0, 0, 0.5, 0.5), (0.5, 0, 1, 0.5), (0, 0.5, 0.5, 1), (0.5, 0.5, 1, 1))
_SHADES = {"░": 0.25, "▒": 0.5, "▓": 0.75}

# Braille: bit i of (codepoint - 0x2800) is dot i+1; its (column, row) in the 2x4 grid.
_DOTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))


@cache
def drawable(ch: str) -> bool:
    """Whether ``ch`` is drawn as shapes rather than taken from a font."""
    return (
        ch in _ARCS
        or ch in _BLOCKS
        or ch in _QUADRANTS
        or ch in _SHADES
        or 0x2800 <= ord(ch) <= 0x28FF
        or box_arms(ch) is not None
    )


@cache
def tiles(ch: str) -> bool:
    """Whether a run of ``ch`` is one shape as wide as the run (a line, a bar)."""
    return (
        ch in _SHADES
        or _BLOCKS.get(ch, ((1, 0, 0, 0),))[0][::2] == (0, 1)
        or (box_arms(ch) in ({"l": 1, "r": 1}, {"l": 2, "r": 2}))
    )


def draw(ch: str, x: float, y: float, w: float, h: float, color: str, n: int = 1) -> str:
    """SVG shapes for ``ch`` in the cell at (x, y) of size w x h ("" if not drawable).

    ``n`` > 1 draws a run of n cells of a character that ``tiles`` as one shape.
    """
    if tiles(ch):
        arms = box_arms(ch)
        if arms:
            t = w * (HEAVY if arms["l"] == 2 else LIGHT) / 2
            return _rect(x, y + h / 2 - t, x + n * w, y + h / 2 + t, color)
        return _rects(_BLOCKS.get(ch, ((0, 0, 1, 1),)), x, y, n * w, h, color, _SHADES.get(ch, 1))
    if 0x2800 <= ord(ch) <= 0x28FF:
        return _braille(ord(ch) - 0x2800, x, y, w, h, color)
    if ch in _ARCS:
        return _arc(_ARCS[ch], x, y, w, h, color)
    if ch in _QUADRANTS:
        bits = _QUADRANTS[ch]
        quads = tuple(r for i, r in enumerate(_QUAD_RECTS) if bits >> i & 1)
        return _rects(quads, x, y, w, h, color)
    if ch in _BLOCKS:
        return _rects(_BLOCKS[ch], x, y, w, h, color)
    arms = box_arms(ch)
    return _lines(arms, x, y, w, h, color) if arms else ""


def _n(v: float) -> str:
    return format(round(v, 3), "g")


def _rect(x0: float, y0: float, x1: float, y1: float, color: str, opacity: float = 1) -> str:
    alpha = "" if opacity == 1 else f' fill-opacity="{_n(opacity)}"'
    return (
        f'<rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" height="{_n(y1 - y0)}"'
        f' fill="{color}"{alpha}/>'
    )


def _rects(
    parts: tuple[tuple[float, float, float, float], ...],
    x: float,
    y: float,
    w: float,
    h: float,
    color: str,
    opacity: float = 1,
) -> str:
    return "".join(
        _rect(x + a * w, y + b * h, x + c * w, y + d * h, color, opacity) for a, b, c, d in parts
    )


def _lines(arms: dict[str, int], x: float, y: float, w: float, h: float, color: str) -> str:
    """A rectangle per arm, from the cell's edge to past its centre (so joins are closed);
    two opposite arms of one weight are one rectangle across the cell."""
    cx, cy = x + w / 2, y + h / 2
    reach = w * (HEAVY if max(arms.values()) == 2 else LIGHT) / 2
    spans = {"l": (x, cx + reach), "r": (cx - reach, x + w), "u": (y, cy + reach)}
    spans["d"] = (cy - reach, y + h)
    for a, b in ("lr", "ud"):
        if arms.get(a) and arms.get(a) == arms.get(b):
            spans[a] = (spans[a][0], spans[b][1])
            arms = {k: v for k, v in arms.items() if k != b}
    out = []
    for arm, weight in sorted(arms.items()):
        t = w * (HEAVY if weight == 2 else LIGHT) / 2
        lo, hi = spans[arm]
        if arm in "lr":
            out.append(_rect(lo, cy - t, hi, cy + t, color))
        else:
            out.append(_rect(cx - t, lo, cx + t, hi, color))
    return "".join(out)


def _arc(arms: str, x: float, y: float, w: float, h: float, color: str) -> str:
    """A rounded corner: straight to a quarter circle of radius w/2 around the centre."""
    cx, cy, r = x + w / 2, y + h / 2, w / 2
    vy = y if arms[0] == "u" else y + h  # where the vertical arm meets the cell's edge
    hx = x if arms[1] == "l" else x + w
    sy = cy - r if arms[0] == "u" else cy + r  # the arc's ends
    sx = cx - r if arms[1] == "l" else cx + r
    sweep = 1 if (arms == "dr" or arms == "ul") else 0
    path = f"M{_n(cx)} {_n(vy)}V{_n(sy)}A{_n(r)} {_n(r)} 0 0 {sweep} {_n(sx)} {_n(cy)}H{_n(hx)}"
    return f'<path d="{path}" fill="none" stroke="{color}" stroke-width="{_n(w * LIGHT)}"/>'


def _braille(bits: int, x: float, y: float, w: float, h: float, color: str) -> str:
    r = w / 8
    return "".join(
        f'<circle cx="{_n(x + w * (0.3 + 0.4 * col))}" cy="{_n(y + h * (2 * row + 1) / 8)}"'
        f' r="{_n(r)}" fill="{color}"/>'
        for i, (col, row) in enumerate(_DOTS)
        if bits >> i & 1
    )
