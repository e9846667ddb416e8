"""Keys, help and hints, driven without a terminal (fake clocks, scripted keys).

Each session's key table both handles the keys and lists them (help, key line): these
tests press every key listed, open help over the dashboard, and lay hints out at every
width, so a key that is listed but dead, or a hint cut mid-word, fails here.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import fixture, invoke
from rich.console import Console
from rich.text import Text
from test_live import session as live_session
from test_live import started
from test_replay import H, W, play, screen, session, story

from recorder import codec
from recorder.events import RunFinished, RunStarted, TaskStarted, TaskSucceeded
from replay.core.views.help import Overlay, help_panel
from replay.core.views.hints import Hint, Hints
from replay.core.when import parse_when
from replay.outputs.snapshot import capture_console
from replay.sessions import live as live_keys
from replay.sessions import replay as replay_keys
from replay.sessions.keymap import Binding, KeyMap
from replay.sessions.keys import STOPS
from replay.sessions.pages import Pages

T0 = 1_700_000_000.0


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return story(tmp_path / "story.jsonl")


def draw(renderable: object, width: int, height: int) -> str:
    console = capture_console(width, height, color=False)
    console.print(renderable, height=height)
    return console.export_text(styles=False)


# Hints: whole pieces, the most important first -----------------------------------------

PIECES = [Text("paused · 4x"), Hint("q", "quit"), Hint("?", "help"), Hint("space", "pause")]
PIECES += [Hint("←/→", "5s"), Hint("[/]", "mark"), Hint("+/-", "speed"), Hint("0-9", "jump")]
WORDS = ["paused · 4x", "q quit", "? help", "space pause", "←/→ 5s", "[/] mark", "+/- speed"]
WORDS += ["0-9 jump"]


@pytest.mark.parametrize("width", range(len(WORDS[0]), 90))
def test_hints_fit_whole_pieces_in_order(width: int) -> None:
    line = Hints(PIECES).fit(width)
    assert line.cell_len <= width
    shown = line.plain.split("  ") if line.plain else []
    assert shown == WORDS[: len(shown)], "a prefix of the pieces, each whole"
    if len(shown) < len(WORDS):  # the next piece would not have fitted
        assert line.cell_len + 2 * bool(shown) + len(WORDS[len(shown)]) > width


@pytest.mark.parametrize("width", range(0, len(WORDS[0])))
def test_a_first_piece_wider_than_the_line_is_cut_rather_than_dropped(width: int) -> None:
    line = Hints(PIECES).fit(width).plain
    assert len(line) == width
    assert line == ("paused · 4x"[: width - 1] + "…" if width else "")


def test_hints_render_to_the_width_they_are_given() -> None:
    for width in (20, 33, 80):
        text = draw(Hints(PIECES), width, 1).rstrip("\n")
        assert text.rstrip() == Hints(PIECES).fit(width).plain
        assert "…" not in text


# Help over the dashboard ----------------------------------------------------------------


def test_the_overlay_keeps_the_background_around_the_box() -> None:
    back = "\n".join(f"row{i:02d}" + "x" * 35 for i in range(12))
    box = help_panel("test", [("a", "does a"), ("b/B", "does b")])
    text = draw(Overlay(Text(back), box), 40, 12).splitlines()
    assert len(text) == 12
    top = next(i for i, line in enumerate(text) if "keys · test" in line)
    assert 0 < top < 6, "centred"
    assert text[0].startswith("row00") and text[-1].startswith("row11")
    assert any("a    does a" in line for line in text)
    assert any("b/B  does b" in line for line in text)
    row = text[top + 1]
    assert row.startswith(f"row{top + 1:02d}"[: row.index("│")]), "left of the box: the back"


def test_keys_that_look_like_markup_are_drawn_as_they_are(log: Path) -> None:
    """``[/]`` is a key, not a closing tag, whatever console draws the help."""
    s, _ = session(log)
    s.key("?")
    console = Console(width=100, height=30, record=True, file=io.StringIO(), markup=True)
    console.print(s.view(), height=30)
    assert re.search(r"│ \[/\] +previous / next mark", console.export_text())


def test_a_box_taller_than_the_screen_is_cut_not_the_screen_grown() -> None:
    box = help_panel("tall", [(str(i), f"key {i}") for i in range(30)])
    assert len(draw(Overlay(Text("x\n" * 10), box), 40, 10).splitlines()) == 10


def test_replay_help_lists_every_key_of_the_table(log: Path) -> None:
    s, _ = session(log)
    assert "keys · replay" not in screen(s, styles=False)
    s.key("?")
    for width, height in ((W, H), (120, 40), (80, 24)):
        text = screen(s, width, height, styles=False)
        assert "keys · replay" in text and "runreel story" in text, "over the dashboard"
        for shown, does in replay_keys.KEYS.rows():
            assert any(shown in line and does in line for line in text.splitlines()), does
    s.key("?")
    assert "keys · replay" not in screen(s, styles=False)
    s.key("?")
    s.key("esc")
    assert "keys · replay" not in screen(s, styles=False)
    s.key("esc")  # Esc with help closed: nothing
    assert not s.help_shown and s.reason is None


def test_other_keys_work_while_help_is_open(log: Path) -> None:
    s, clock = session(log)
    s.key("?")
    s.key("]")
    assert s.cursor.position == 4 and s.help_shown
    s.key(" ")
    play(s, clock, 1)
    assert s.paused and s.help_shown
    s.key("q")
    assert s.reason == "quit"


def test_help_is_not_in_the_frame_left_behind(log: Path) -> None:
    s, _ = session(log)
    s.key("?")
    s.keys = False  # what the loop does before printing the final frame
    assert "keys · replay" not in screen(s, styles=False)


def test_help_changes_the_frame_key(log: Path) -> None:
    s, _ = session(log)
    before = s.frame_key()
    s.key("?")
    assert s.frame_key() != before


def test_live_help_lists_its_keys_and_other_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(started())
    s, _, _ = live_session(path, timeout=30)
    s.keys = True
    s.tick()
    s.key("?")
    text = draw(s.view(), 100, 30)
    assert "keys · live" in text and "timeout in 00:30" in text
    for shown, does in live_keys.KEYS.rows():
        assert any(shown in line and does in line for line in text.splitlines()), does
    s.key("c")
    assert s.deadline is None and s.help_shown
    s.key("esc")
    assert "keys · live" not in draw(s.view(), 100, 30)


# Every key listed does something; nothing else does -------------------------------------


def _state(s: replay_keys.ReplaySession) -> tuple[object, ...]:
    return (*s.frame_key(), s.reason)


def test_every_replay_key_in_the_table_does_something(log: Path) -> None:
    for binding in replay_keys.KEYS.bindings:
        for key in binding.keys:
            s, _ = session(log)
            s.key(" ")  # paused between the marks and the failures, off the tenths
            s.seek_time(s.first_t + 17)
            if key == "esc":
                s.key("?")
            before = _state(s)
            s.key(key)
            assert _state(s) != before, f"{key!r} ({binding.does}) did nothing"


def test_every_live_key_in_the_table_does_something(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(started())
    for binding in live_keys.KEYS.bindings:
        for key in binding.keys:
            s, _, _ = live_session(path, timeout=30)
            s.keys = True
            s.tick()
            if key == "esc":
                s.key("?")
            before = (s.deadline, s.help_shown, s.reason, s.pages.state, s.pages.message)
            s.key(key)
            after = (s.deadline, s.help_shown, s.reason, s.pages.state, s.pages.message)
            assert after != before, key


def test_keys_outside_the_table_do_nothing(log: Path) -> None:
    bound = {k for b in replay_keys.KEYS.bindings for k in b.keys}
    s, _ = session(log)
    s.seek_time(s.first_t + 17)
    before = _state(s)
    for key in ("x", "X", "u", "\t", "é", "h", "Z", "\x7f"):
        assert key not in bound
        s.key(key)
    assert _state(s) == before


def test_the_stop_keys_are_the_same_in_every_session() -> None:
    for keymap in (replay_keys.KEYS, live_keys.KEYS):
        assert set(STOPS) <= {k for b in keymap.bindings for k in b.keys}
        assert [b.shown for b in keymap.bindings[:2]] == ["q", "?"], "quit and help first"


def test_a_key_bound_twice_is_refused() -> None:
    def act(s: object, k: str) -> None: ...

    with pytest.raises(ValueError, match="bound twice"):
        KeyMap([Binding(("a",), "a", "one", act), Binding(("a", "b"), "a/b", "two", act)])


# The replay's key line and what it says --------------------------------------------------


def controls_line(s: replay_keys.ReplaySession, width: int) -> str:
    return draw(s.controls(), width, 2).splitlines()[1].rstrip()


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_the_replay_key_line_drops_whole_hints(log: Path, width: int) -> None:
    s, _ = session(log)
    line = controls_line(s, width)
    assert "…" not in line and "? help" in line, "help is shown at every width"
    full = controls_line(s, 400)
    assert_whole_pieces(line, full)


def assert_whole_pieces(line: str, full: str) -> None:
    """``line`` is ``full`` cut at a piece's end, but for ``? help``: kept at any width,
    the pieces before it give way to it."""
    line, full = line.replace("  ? help", ""), full.replace("  ? help", "")
    assert full.startswith(line), "a prefix of the whole line: nothing cut, nothing skipped"
    assert full[len(line) : len(line) + 2] in ("", "  "), "it ends at a piece's end"


def test_the_speed_shows_while_paused(log: Path) -> None:
    s, _ = session(log, speed=4)
    s.key(" ")
    assert controls_line(s, W).startswith("paused · 4x")
    s.key("+")
    assert controls_line(s, W).startswith("paused · 8x")
    s.key("-")
    s.key("-")
    assert controls_line(s, W).startswith("paused · 2x")
    s.key("]")
    assert controls_line(s, W).startswith("paused at mark warm · 2x")
    s.key("G")
    assert controls_line(s, W).startswith("end · 2x")


def test_past_the_last_mark_and_failure_it_says_so(log: Path) -> None:
    s, _ = session(log)
    for _ in range(2):
        s.key("]")
    assert s.message is None
    s.key("]")
    assert controls_line(s, W).startswith("no later mark  ")
    assert s.cursor.position == 10, "and stays"
    s.key("e")
    assert s.message is None, "the next key clears it"
    s.key("e")
    assert controls_line(s, W).startswith("no later failure  ")
    s.key("?")
    assert s.message == "no later failure", "opening help keeps it"
    s.key("g")
    s.key("[")
    assert s.message == "no earlier mark"
    s.key("E")
    assert s.message == "no earlier failure"
    s.key("t")
    assert s.message is None, "a view key is a next key too"


def test_a_jump_that_goes_nowhere_stays_at_its_mark(log: Path) -> None:
    s, _ = session(log)
    s.key(" ")
    for _ in range(3):
        s.key("]")
    assert s.message == "no later mark" and s.paused
    assert controls_line(s, W).startswith("no later mark  ")
    s.key("f")  # the message goes; the place it named stays
    assert controls_line(s, W).startswith("paused at mark ")


def test_a_stop_before_the_next_mark_counts_as_none(log: Path) -> None:
    s, _ = session(log, stop=parse_when("20"))
    s.key("]")
    assert s.cursor.position == 4
    s.key("]")
    assert s.message == "no later mark" and s.cursor.position == 4


def test_a_run_without_marks_says_it_has_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_bytes(
        codec.encode_all(
            [
                RunStarted(t=T0, src="m", seq=1, v=1, run="r", name="plain", total=1),
                TaskStarted(t=T0 + 1, src="m", seq=2, task="a", worker="w"),
                TaskSucceeded(t=T0 + 2, src="m", seq=3, task="a", worker="w"),
                RunFinished(t=T0 + 3, src="m", seq=4, status="ok"),
            ]
        )
    )
    s, _ = session(path)
    s.key("]")
    assert controls_line(s, W).startswith("no marks in this run")
    s.key("e")
    assert s.message == "no failures in this run"


def test_the_speed_ladder_says_where_it_ends(log: Path) -> None:
    s, _ = session(log, speed=64)
    s.key("+")
    assert s.speed == 128 and s.message is None
    s.key("+")
    assert s.speed == 128 and s.message == "128x is the fastest"
    s, _ = session(log, speed=0.125)
    s.key("-")
    assert s.message == "0.125x is the slowest"


def test_instant_says_instant_off_a_terminal() -> None:
    result = invoke(["replay", fixture("with_retries"), "--instant"])
    first = result.stdout.splitlines()[0]
    assert first.endswith(" instant (stopped: end)"), first
    assert "0x" not in first
    result = invoke(["replay", fixture("with_retries"), "--speed", "64", "--to", "#3"])
    assert result.stdout.splitlines()[0].endswith(" event 1/13 speed 64x")


# The live key line -----------------------------------------------------------------------


@pytest.mark.parametrize("width", [30, 50, 64, 80, 120])
def test_the_live_key_line_drops_whole_hints(tmp_path: Path, width: int) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(started())
    s, _, _ = live_session(path, timeout=90)
    s.keys = True
    s.tick()
    bar = s.bar()
    assert bar is not None
    line = draw(bar, width, 2).splitlines()[1].rstrip()
    full = "timeout in 01:30  q quit  ? help  c cancel timeout  + extend  Tab/o/f/t/d/w/i/l views"
    assert "…" not in line and "? help" in line, "help is shown at every width"
    assert_whole_pieces(line, full)


def test_live_hints_follow_the_timeout_and_the_end(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(started())
    s, _, _ = live_session(path)
    s.keys = True
    s.tick()
    assert [n.plain for n in s.notes()] == [
        "q quit",
        "? help",
        "+ set timeout",
        "Tab/o/f/t/d/w/i/l views",
    ]
    s.key("+")
    assert [n.plain for n in s.notes()][1:] == [
        "q quit",
        "? help",
        "c cancel timeout",
        "+ extend",
        "Tab/o/f/t/d/w/i/l views",
    ]
    s.keys = False
    assert [n.plain for n in s.notes()] == ["timeout in 01:00"]


@pytest.mark.parametrize(
    ("command", "keymap"),
    [
        ("replay", replay_keys.KEYS),
        ("live", live_keys.KEYS),
        ("record", live_keys.KEYS),
        ("demo", live_keys.KEYS),
    ],
)
def test_help_lists_the_keys_of_the_table(command: str, keymap: KeyMap[object]) -> None:
    out = invoke([command, "--help"]).stdout
    lines = out[out.index("Keys on a terminal") :].splitlines()[1:]
    assert [line.split(None, 1) for line in lines if line.strip()] == [
        [shown, does] for shown, does in keymap.rows()
    ]


def test_only_replay_says_enter_seeks_the_timeline() -> None:
    """A live session has no position to move: its help and its hint say Enter opens rows."""
    assert "seek to the timeline's row" in invoke(["replay", "--help"]).stdout
    assert "seek to the timeline's row" not in invoke(["live", "--help"]).stdout
    for seeks in (True, False):
        pages = Pages()
        pages.seeks = seeks
        pages.state = replace(pages.state, view="timeline")
        pages.enter()
        assert ("or seeks to a timeline row" in (pages.message or "")) is seeks
