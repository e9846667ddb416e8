"""The log view shows levels whole: ``runreel record``'s stdout and stderr, and any level a
writer chose, in a column as wide as the widest level shown (WARN and CRIT are the usual
short forms; a level past 12 cells is cut with an ellipsis)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import invoke
from test_live import T0, ev, started

from recorder.events import Log


def log_view(path: Path, *levels: str) -> list[str]:
    lines = [ev(Log, 2 + i, T0 + i, level=lvl, msg=f"m{i}") for i, lvl in enumerate(levels)]
    path.write_bytes(started() + b"".join(lines))
    text = invoke(["snapshot", str(path), "--view", "log", "--width", "80"]).stdout
    return [line for line in text.splitlines() if re.match(r"^[▶ ] \d\d:\d\d ", line)]


def test_stdout_and_stderr_are_shown_whole(tmp_path: Path) -> None:
    rows = log_view(tmp_path / "rec.jsonl", "stdout", "stderr", "info")
    assert [r[8:].rstrip() for r in rows] == ["STDOUT m0", "STDERR m1", "INFO   m2"]


def test_the_usual_levels_keep_a_column_of_five_with_their_short_forms(tmp_path: Path) -> None:
    rows = log_view(tmp_path / "run.jsonl", "info", "warning", "critical", "error")
    assert [r[8:].rstrip() for r in rows] == ["INFO  m0", "WARN  m1", "CRIT  m2", "ERROR m3"]


def test_a_level_longer_than_the_column_s_most_is_cut_with_an_ellipsis(tmp_path: Path) -> None:
    rows = log_view(tmp_path / "run.jsonl", "notice", "a-very-long-level-name")
    assert [r[8:].rstrip() for r in rows] == ["NOTICE       m0", "A-VERY-LONG… m1"]
