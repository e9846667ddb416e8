"""The live screen: rich's Live shows each frame as the console prints it, writing only the
rows that changed; the loop hands it a frame only when the frame's key changed, the
terminal is always restored, and the refresh slows down only while events stream in."""

from __future__ import annotations

import io
import re

import pyte
import pytest
from conftest import fixture
from rich.console import Console, Group, RenderableType
from rich.text import Text

from replay.core.metrics import Metrics
from replay.core.views.overview import dashboard
from replay.core.when import parse_when
from replay.index.position import fold_at
from replay.sessions.loop import STREAMING, STREAMING_HZ, live_screen, pace, run_interactive

WIDTH, HEIGHT = 100, 30


def terminal(width: int = WIDTH, height: int = HEIGHT) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        height=height,
        force_terminal=True,
        force_interactive=True,
        color_system="truecolor",
        legacy_windows=False,
        _environ={},
    )
    return console, out


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
    frames = [fold_at(fixture("busy_run"), parse_when(at)) for at in ("10%", "50%", "60%", "end")]
    with live_screen(console) as live:
        for frame in frames:
            board = dashboard(frame.metrics, frame.now)
            live.update(board, refresh=True)
            assert shown(out.getvalue()) == printed(board)


class Scripted:
    """A session whose frames' keys come from a script, one per tick, and whose view
    names the frame it was drawn for; it stops when the script ends."""

    def __init__(self, keys: list[object], fail_at: int | None = None) -> None:
        self.script = keys
        self.at = 0
        self.fail_at = fail_at
        self.keys = False
        self.reason: str | None = None
        self.views = 0

    @property
    def metrics(self) -> Metrics:
        return Metrics()

    def tick(self) -> None:
        if self.at + 1 >= len(self.script):
            self.reason = "finished"
        else:
            self.at += 1

    def key(self, key: str) -> None:
        self.reason = "quit"

    def now(self) -> float:
        return 0.0

    def view(self) -> RenderableType:
        if self.at == self.fail_at:
            raise RuntimeError("boom")
        self.views += 1
        return Text(f"frame {self.at} of key {self.script[self.at]!r}")

    def frame_key(self) -> object:
        return self.script[self.at]

    def status_line(self) -> str:
        return ""

    def close(self) -> None:
        pass

    def check(self) -> None:
        pass


class Jumps:
    """A clock one second further at each reading: the loop never waits."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def frames_written(written: str) -> list[int]:
    """The frames Live wrote, in order (each is written whole, from the top)."""
    return [int(n) for n in re.findall(r"\x1b\[1;1Hframe (\d+) ", written)]


def test_a_frame_is_rendered_and_written_only_when_its_key_changed() -> None:
    console, out = terminal(40, 5)
    # The loop ticks once before its first frame: the script's first key is never drawn.
    keys: list[object] = [None, "a", "a", "b", "b", "a", ("c", 1), ("c", 1), ("c", 2)]
    session = Scripted(keys)
    run_interactive(session, console, refresh_hz=10.0, clock=Jumps())
    assert frames_written(out.getvalue()) == [1, 3, 5, 6, 8]
    assert session.views == 5  # a frame whose key did not change is not even rendered


def rows(*lines: str) -> Group:
    return Group(*(Text(line, style="bold" if i % 2 else "") for i, line in enumerate(lines)))


def test_only_rows_that_changed_are_written_again() -> None:
    console, out = terminal(40, 5)
    with live_screen(console) as live:
        assert live.paint() == 5  # the first frame (empty): every row
        live.update(rows("one", "two", "three"))
        assert live.paint() == 3
        start = len(out.getvalue())
        assert live.paint() == 0
        assert len(out.getvalue()) == start  # nothing at all written
        live.update(rows("one", "TWO", "three"), refresh=True)
        assert re.findall(r"\x1b\[(\d+);1H", out.getvalue()[start:]) == ["2"]
        written = out.getvalue()
    assert shown(written, 40, 5)[:3] == printed(rows("one", "TWO", "three"), 40, 5)[:3]


def test_a_new_terminal_size_redraws_an_unchanged_frame() -> None:
    console, out = terminal(40, 5)

    class Resized(Scripted):
        def tick(self) -> None:
            super().tick()
            if self.at == 2:
                console.size = (30, 4)

    session = Resized(["a", "a", "a", "a"])
    run_interactive(session, console, refresh_hz=10.0, clock=Jumps())
    assert frames_written(out.getvalue()) == [1, 2]
    assert out.getvalue().count("\x1b[H\x1b[2J") == 2  # cleared at each new size


def test_the_terminal_is_restored_even_after_an_error() -> None:
    console, out = terminal()
    with pytest.raises(RuntimeError):
        run_interactive(Scripted(["a", "b"], fail_at=1), console, refresh_hz=10.0, clock=Jumps())
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
