"""SVG and HTML snapshots: self-contained, every character at its cell, the same bytes each run.

What the renderers do with these files was checked by eye (cairosvg, rsvg-convert and
headless Chromium, offline); these tests hold the properties that made them agree.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import clean_env, fixture, invoke, run_runreel
from rich.cells import get_character_cell_size
from rich.console import Console
from rich.text import Text
from svgtext import SVG_NS, placed, rows

from replay.core.when import parse_when
from replay.index.position import fold_at
from replay.outputs import glyphs
from replay.outputs.snapshot import render
from replay.outputs.svg import CELL_H, CELL_W, FONT_STACK

CASES = [
    ("with_retries", "50%"),
    ("hostile", "80%"),
    ("unfinished", "50%"),
    ("many_workers", "end"),
]


def snapshot(name: str, at: str, fmt: str, width: int = 100, height: int = 30) -> str:
    frame = fold_at(fixture(name), parse_when(at))
    return render(frame.metrics, frame.now, width=width, height=height, fmt=fmt)  # type: ignore[arg-type]


# Nothing fetched ------------------------------------------------------------------------

FETCH = re.compile(r"@import|@font-face|<link|\bsrc\s*=|\bhref\s*=|url\((?!#)|https?://", re.I)


def svg_fetches(doc: str) -> list[str]:
    """What in an SVG could load something: its markup and style sheets, not its text."""
    root = ET.fromstring(doc)
    found = []
    for el in root.iter():
        if el.tag in (f"{SVG_NS}image", f"{SVG_NS}script", f"{SVG_NS}foreignObject"):
            found.append(el.tag)
        found += [f"{k}={v}" for k, v in el.attrib.items() if FETCH.search(f"{k}={v}")]
        if el.tag == f"{SVG_NS}style":
            found += FETCH.findall(el.text or "")
    return found


class _HTMLMarkup(HTMLParser):
    """Collects an HTML page's tags, attributes and style sheets (its text is left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.markup: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.markup += [f"{k}={v}" for k, v in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.markup.append(data)


def html_fetches(doc: str) -> list[str]:
    parser = _HTMLMarkup()
    parser.feed(doc)
    loaders = parser.tags & {"link", "script", "img", "iframe", "object", "embed", "video"}
    return sorted(loaders) + [m for m in parser.markup if FETCH.search(m)]


@pytest.mark.parametrize(("name", "at"), CASES)
def test_svg_and_html_snapshots_fetch_nothing(name: str, at: str) -> None:
    svg = snapshot(name, at, "svg")
    assert svg_fetches(svg) == []
    assert "@font-face" not in svg and "https://" not in svg.split("</style>")[0]
    assert html_fetches(snapshot(name, at, "html")) == []


def test_the_fetch_check_finds_what_rich_would_fetch() -> None:
    """Rich's own exports load Fira Code from a CDN: the checks above must see that."""
    console = Console(file=io.StringIO(), record=True, width=20)
    console.print(Text("a [link] <img src=x>"))
    assert svg_fetches(console.export_svg(clear=False))
    assert html_fetches('<html><head><link rel="stylesheet" href="https://x/y.css"></head></html>')
    assert html_fetches("<style>@import url(https://x/f.css);</style>")
    assert not html_fetches(console.export_html(inline_styles=True))  # its text is not markup


def test_fonts_are_local_and_end_in_the_generic_family() -> None:
    fonts = [f.strip().strip('"') for f in FONT_STACK.split(",")]
    assert fonts[-1] == "monospace" and len(fonts) > 2
    svg = snapshot("with_retries", "end", "svg")
    html = snapshot("with_retries", "end", "html")
    assert FONT_STACK in svg
    assert FONT_STACK.replace('"', "'") in html
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert FONT_STACK in " ".join(readme.split()), "the README names another font stack"


# Every character at its own cell -----------------------------------------------------


def text_grid(text: str) -> dict[tuple[int, int], str]:
    """(row, column) -> character of a text snapshot, spaces left out."""
    grid = {}
    for row, line in enumerate(text.split("\n")):
        col = 0
        for ch in line:
            if ch != " ":
                grid[(row, col)] = ch
            col += get_character_cell_size(ch)
    return grid


@pytest.mark.parametrize(("name", "at"), CASES)
@pytest.mark.parametrize(("width", "height"), [(100, 30), (80, 24)])
def test_every_character_of_the_text_snapshot_sits_in_its_cell(
    name: str, at: str, width: int, height: int
) -> None:
    text = text_grid(snapshot(name, at, "text", width, height))
    chars, shapes = placed(snapshot(name, at, "svg", width, height))
    drawn = {cell for cell, ch in text.items() if glyphs.drawable(ch)}
    assert drawn and chars
    assert {c: ch for c, ch in text.items() if c not in drawn} == chars
    assert drawn <= shapes, sorted(drawn - shapes)[:5]


def test_phrases_stay_whole_for_search_and_the_rows_read_back() -> None:
    svg = snapshot("with_retries", "end", "svg")
    assert ">TimeoutError:&#160;upload&#160;took" in svg  # one element: a browser finds it
    text = snapshot("with_retries", "end", "text").split("\n")
    assert [r.rstrip() for r in rows(svg)] == [
        "".join(" " if glyphs.drawable(ch) else ch for ch in line).rstrip()
        for line in text[: len(rows(svg))]
    ]


def test_the_spinner_is_drawn_not_left_to_a_font() -> None:
    svg = snapshot("unfinished", "50%", "svg")
    assert not re.search("[\u2800-\u28ff]", svg)  # no braille character for a font to miss
    frames = [ch for ch in snapshot("unfinished", "50%", "text") if "\u2800" <= ch <= "\u28ff"]
    dots = sum(bin(ord(ch) - 0x2800).count("1") for ch in frames)
    assert frames and svg.count("<circle") == dots + 3  # + the window's three buttons


# Drawn glyphs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ch", "arms"),
    [
        ("─", {"l": 1, "r": 1}),
        ("┃", {"u": 2, "d": 2}),
        ("┬", {"d": 1, "l": 1, "r": 1}),
        ("┡", {"u": 2, "r": 2, "d": 1}),  # "DOWN LIGHT AND RIGHT UP HEAVY"
        ("╼", {"l": 1, "r": 2}),  # "LIGHT LEFT AND HEAVY RIGHT"
        ("╸", {"l": 2}),
        ("═", None),  # double lines, dashes and diagonals come from the font
        ("┄", None),
        ("╱", None),
        ("a", None),
    ],
)
def test_box_arms_come_from_the_unicode_name(ch: str, arms: dict[str, int] | None) -> None:
    assert glyphs.box_arms(ch) == arms


def _boxes(markup: str) -> list[tuple[float, float, float, float]]:
    """Bounding boxes of the shapes ``glyphs.draw`` returned."""
    out = []
    for el in ET.fromstring(f"<g>{markup}</g>"):
        a = {k: float(v) for k, v in el.attrib.items() if re.fullmatch(r"[\d.]+", v)}
        if el.tag == "rect":
            out.append((a["x"], a["y"], a["x"] + a["width"], a["y"] + a["height"]))
        elif el.tag == "circle":
            r = a["r"]
            out.append((a["cx"] - r, a["cy"] - r, a["cx"] + r, a["cy"] + r))
        else:
            nums = [float(v) for v in re.findall(r"[\d.]+", el.get("d", ""))]
            out.append((min(nums[0], nums[-1]), 0, max(nums[0], nums[-1]), 0))
    return out


DRAWABLE = [chr(c) for c in range(0x2500, 0x2900) if glyphs.drawable(chr(c))]


def test_the_drawn_sets_are_whole() -> None:
    braille = [c for c in DRAWABLE if "\u2800" <= c <= "\u28ff"]
    blocks = [c for c in DRAWABLE if "\u2580" <= c <= "\u259f"]
    assert len(braille) == 256 and len(blocks) == 32
    assert {"─", "│", "╭", "╮", "╯", "╰", "━", "╸", "╺", "┼"} <= set(DRAWABLE)


@pytest.mark.parametrize("ch", DRAWABLE)
def test_a_drawn_glyph_stays_in_its_cell(ch: str) -> None:
    x, y, w, h = 36, 48, CELL_W, CELL_H
    boxes = _boxes(glyphs.draw(ch, x, y, w, h, "#fff"))
    assert boxes or ch == "\u2800"  # the blank braille pattern draws nothing
    for x0, y0, x1, y1 in boxes:
        assert x <= x0 <= x1 <= x + w and (y0 == y1 == 0 or y <= y0 <= y1 <= y + h), (ch, x0, y0)


def test_a_line_reaches_both_edges_of_its_cell_so_borders_close() -> None:
    for ch in "─━":
        ((x0, _, x1, _),) = _boxes(glyphs.draw(ch, 0, 0, CELL_W, CELL_H, "#fff"))
        assert (x0, x1) == (0, CELL_W)
    for ch in "│┃":
        ((_, y0, _, y1),) = _boxes(glyphs.draw(ch, 0, 0, CELL_W, CELL_H, "#fff"))
        assert (y0, y1) == (0, CELL_H)


def test_a_run_of_line_is_one_shape_as_long_as_the_run() -> None:
    run = glyphs.draw("─", 12, 0, CELL_W, CELL_H, "#fff", n=5)
    assert _boxes(run) == [(12, 11, 72, 13)]
    assert len(_boxes(glyphs.draw("⠿", 0, 0, CELL_W, CELL_H, "#fff", n=3))) == 6  # not tiled


# The same bytes each run -----------------------------------------------------------------


def test_svg_snapshot_is_byte_identical_across_runs(tmp_path: Path) -> None:
    args = ["snapshot", fixture("hostile"), "--at", "80%", "--format", "svg"]
    runs = [
        run_runreel(args, env=clean_env(PYTHONHASHSEED=seed), cwd=tmp_path).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] and runs[0] == runs[1] == invoke(args).stdout_bytes
    ET.fromstring(runs[0])  # and well-formed XML, hostile text included
