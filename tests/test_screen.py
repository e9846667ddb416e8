"""The live screen: a frame on the terminal is what the console draws, only changed rows
are written again, and the refresh slows down only while events stream in."""

from __future__ import annotations

import io
import re

import pyte
import pytest
from conftest import fixture
from rich.console import Console, Group, RenderableType
from rich.text import Text

from replay.core.views.overview import dashboard
from replay.core.when import parse_when
from replay.index.position import fold_at
from replay.sessions.loop import STREAMING, STREAMING_HZ, pace
from replay.sessions.screen import Screen, screen_mode

WIDTH, HEIGHT = 100, 30


def terminal(width: int = WIDTH, height: int = HEIGHT) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        height=height,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        _environ={},
    )
    return console, out


def rows(*lines: str) -> Group:
    return Group(*(Text(line, style="bold" if i % 2 else "") for i, line in enumerate(lines)))


def shown(written: str, width: int = WIDTH, height: int = HEIGHT, rows: int = 0) -> list[str]:
    """The terminal's cells after ``written``: each row's characters with their colours
    and weight (the first ``height`` rows of a terminal ``rows`` tall)."""
    screen = pyte.Screen(width, rows or height)
    pyte.Stream(screen).feed(written)
    return [
        "".join(
            f"{c.data}{c.fg}{c.bg}{int(c.bold)}"
            for c in (screen.buffer[y][x] for x in range(width))
        )
        for y in range(height)
    ]


def printed(renderable: RenderableType, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    """The frame as rich prints it on a console of the same size (the reference; one row
    more on the terminal, so that the last newline does not scroll; a tty turns "\\n"
    into "\\r\\n", pyte does not)."""
    console, out = terminal(width, height)
    console.print(renderable, height=height)
    return shown(out.getvalue().replace("\n", "\r\n"), width, height, rows=height + 1)


def test_each_frame_on_the_terminal_is_what_the_console_prints() -> None:
    console, out = terminal()
    screen = Screen(console)
    frames = [fold_at(fixture("busy_run"), parse_when(at)) for at in ("10%", "50%", "60%", "end")]
    for frame in frames:
        board = dashboard(frame.metrics, frame.now)
        screen.paint(board)
        assert shown(out.getvalue()) == printed(board)


def test_only_rows_that_changed_are_written_again() -> None:
    console, out = terminal(40, 5)
    screen = Screen(console)
    assert screen.paint(rows("one", "two", "three")) == 5  # the first frame: every row
    start = len(out.getvalue())
    assert screen.paint(rows("one", "two", "three")) == 0
    assert len(out.getvalue()) == start  # nothing at all written
    assert screen.paint(rows("one", "TWO", "three")) == 1
    assert re.findall(r"\x1b\[(\d+);1H", out.getvalue()[start:]) == ["2"]
    assert shown(out.getvalue(), 40, 5)[:3] == printed(rows("one", "TWO", "three"), 40, 5)[:3]


def test_a_new_size_clears_and_redraws_every_row() -> None:
    console, out = terminal(40, 5)
    screen = Screen(console)
    screen.paint(rows("a", "b"))
    console.size = (30, 4)
    start = len(out.getvalue())
    assert screen.paint(rows("a", "b")) == 4
    assert out.getvalue()[start:].startswith("\x1b[H\x1b[2J")


def test_screen_mode_restores_the_terminal_even_after_an_error() -> None:
    console, out = terminal()
    with pytest.raises(RuntimeError), screen_mode(console):
        raise RuntimeError("boom")
    written = out.getvalue()
    assert "\x1b[?1049h" in written and "\x1b[?25l" in written  # alternate screen, no cursor
    assert written.endswith("\x1b[?25h\x1b[?1049l")  # cursor back, then the normal screen


def test_the_refresh_slows_only_while_events_stream() -> None:
    period = 0.1
    assert pace(period, 0) == period
    assert pace(period, int(STREAMING * period) - 1) == period  # a trickle: every refresh
    assert pace(period, 1000) == pytest.approx(1 / STREAMING_HZ)  # 10k events/s
    assert 1 / STREAMING_HZ <= 0.15  # a change still shows within the latency target
    assert pace(0.5, 10_000) == 0.5  # a slower --refresh stays as slow
    assert pace(period, -5) == period  # the log started over: fewer events than before
