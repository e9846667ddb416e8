"""Lists taller than their view say which rows are shown ("a-b of N ... (↑/↓)"), as the
failures view does, so rows above or below are never hidden without a sign; the
timeline's window holds the row of the position."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import fixture, invoke
from test_views import copy, press, replay, screen

SHOWN = re.compile(r"(\d+)-(\d+) of (\d+) (rows|tasks|messages) \(↑/↓\)")
STAMP = re.compile(r"^[▶ ] +\d\d:\d\d\.\d+ ", re.MULTILINE)
TASK_ROW = re.compile(r"^[▶ ] img-\d{4} ", re.MULTILINE)


def snapshot(view: str, height: int, *at: str) -> str:
    args = ["snapshot", fixture("postmortem"), "--view", view, "--width", "80"]
    return invoke([*args, "--height", str(height), *at]).stdout


def shown(text: str) -> tuple[int, int, int]:
    found = SHOWN.search(text)
    assert found, text
    return int(found[1]), int(found[2]), int(found[3])


def test_the_timeline_says_which_rows_it_shows_and_holds_the_last_at_the_end() -> None:
    text = snapshot("timeline", 30)
    a, b, n = shown(text)
    assert len(STAMP.findall(text)) == b - a + 1 and a > 1 and b == n, text
    assert "●" in text.split("\n")[-3]  # the position's row, the last, above the line
    everything = snapshot("timeline", n + 8)  # room for every row: no line, every row
    assert not SHOWN.search(everything) and len(STAMP.findall(everything)) == n


def test_the_tasks_view_says_which_tasks_it_shows() -> None:
    text = snapshot("tasks", 14)
    a, b, n = shown(text)
    assert (a, n) == (1, 240) and len(TASK_ROW.findall(text)) == b, text


def test_the_log_view_says_which_messages_it_shows() -> None:
    text = snapshot("log", 12)
    a, b, n = shown(text)
    rows = re.findall(r"^[▶ ] \d\d:\d\d [A-Z]", text, re.MULTILINE)
    assert (a, n) == (1, 11) and len(rows) == b, text


def test_a_replay_s_timeline_shows_the_rows_around_the_position(tmp_path: Path) -> None:
    s = replay(copy(tmp_path))
    press(s, "i", "5")  # the timeline, at half the run
    text = screen(s, 80, 24)
    a, b, n = shown(text)
    assert 1 < a and b < n, "rows hidden above and below, and said"
    rows = [line for line in text.splitlines() if STAMP.match(line)]
    assert len(rows) == b - a + 1
    here = next(i for i, line in enumerate(rows) if "●" in line)
    assert 0 < here < len(rows) - 1, "the position's row, with rows either side"
