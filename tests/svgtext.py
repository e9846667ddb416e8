"""Reading an SVG snapshot back: which character each cell shows, and which cells hold shapes.

The SVG places every character by coordinates (``replay/outputs/svg.py``), so its text is
not one string per row; tests that look for text read it back through these helpers.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from rich.cells import get_character_cell_size

from replay.outputs.svg import BASELINE, CELL_H, CELL_W

SVG_NS = "{http://www.w3.org/2000/svg}"

Cell = tuple[int, int]  # (row, column)


def terminal(doc: str) -> ET.Element:
    """The group that holds the terminal's cells (the one clipped to the terminal)."""
    root = ET.fromstring(doc)
    return next(g for g in root.iter(f"{SVG_NS}g") if g.get("clip-path"))


def placed(doc: str) -> tuple[dict[Cell, str], set[Cell]]:
    """Each cell's character as the SVG's texts place it (spaces left out), and the cells
    that hold drawn glyphs (box drawing, blocks, braille)."""
    matrix = terminal(doc)
    drawn = {r for g in matrix if g.get("class", "").endswith("-glyphs") for r in g}
    chars: dict[Cell, str] = {}
    shapes: set[Cell] = set()
    for el in matrix.iter():
        tag = el.tag.removeprefix(SVG_NS)
        if tag == "text":
            row = (float(el.get("y", "0")) - BASELINE) / CELL_H
            assert row == int(row), el.attrib
            xs = [float(v) for v in el.get("x", "").split()]
            text = el.text or ""
            if el.get("text-anchor") == "middle":  # one cluster, centred on its cells
                xs, text = [xs[0] - get_character_cell_size(text[0]) * CELL_W / 2], [text]
            assert len(xs) == len(text), el.attrib
            for x, ch in zip(xs, text, strict=True):
                assert x % CELL_W == 0, (x, ch)
                cell = (int(row), int(x // CELL_W))
                assert cell not in chars, f"two characters in cell {cell}"
                if ch != "\xa0":
                    chars[cell] = ch
        elif tag == "rect" and el in drawn:
            x, y = float(el.get("x", "0")), float(el.get("y", "0"))
            cols = range(
                math.floor(x / CELL_W), math.ceil((x + float(el.get("width", "0"))) / CELL_W)
            )
            shapes |= {(math.floor(y / CELL_H), c) for c in cols}
        elif tag == "circle":
            cx, cy = float(el.get("cx", "0")), float(el.get("cy", "0"))
            shapes.add((math.floor(cy / CELL_H), math.floor(cx / CELL_W)))
        elif tag == "path":
            m = re.match(r"M([\d.]+) [\d.]+V([\d.]+)", el.get("d", ""))
            assert m, el.get("d")
            shapes.add((math.floor(float(m[2]) / CELL_H), math.floor(float(m[1]) / CELL_W)))
    return chars, shapes


def rows(doc: str) -> list[str]:
    """The SVG's text, one string per row; drawn glyphs and empty cells read as spaces."""
    chars, _ = placed(doc)
    out = []
    for r in range(max((row for row, _ in chars), default=-1) + 1):
        line, col = "", 0
        last = max((c for row, c in chars if row == r), default=-1)
        while col <= last:
            ch = chars.get((r, col), " ")
            line += ch
            col += max(1, get_character_cell_size(ch[0]))
        out.append(line)
    return out
