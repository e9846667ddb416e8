"""Small terminals, from the documented minimum (``--height 8``, ``--width 20``) up: the
run's state and its status figures are always on screen, rich's empty-Layout placeholder
(a panel titled ``'body' (W x H)``) never is, and a replay always shows ``? help``."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import fixture, invoke
from test_live import session as live_session
from test_replay import screen, session

from replay.core.views.panels import run_state
from replay.core.views.postmortem import TABS
from replay.core.when import END, parse_when
from replay.index.position import fold_at
from replay.outputs.snapshot import render

WIDTHS = (20, 24, 32, 40, 50, 60, 80, 100)
HEIGHTS = (8, 9, 10, 11, 12, 14, 16)


@pytest.mark.parametrize("at", ["end", "50%"])
@pytest.mark.parametrize("name", ["partial_failure", "many_workers", "with_retries"])
def test_the_overview_shows_the_state_and_the_figures_at_every_small_size(
    name: str, at: str
) -> None:
    frame = fold_at(fixture(name), END if at == "end" else parse_when(at))
    m, now = frame.metrics, frame.now
    state = run_state(m, now).plain
    for width in WIDTHS:
        for height in HEIGHTS:
            text = render(m, now, width=width, height=height, fmt="text")
            where = f"{name} at {at}, {width}x{height}:\n{text}"
            assert "'body'" not in text and "Layout(" not in text, where
            assert m.status_text in text, where  # (errors - processed / total)
            assert state[: width - 6] in text or state[: width - 7] + "…" in text, where
            if width >= 40:
                assert f"{m.processed}/{m.total} done" in text, where
                assert f"{m.failed} failed" in text, where


@pytest.mark.parametrize("view", ["failures", "tasks", "workers", "timeline", "log"])
def test_every_view_shows_the_run_state_and_no_placeholder_when_small(view: str) -> None:
    log = fixture("postmortem")
    frame = fold_at(log, END)
    state = run_state(frame.metrics, frame.now).plain
    for width, height in ((20, 8), (40, 9), (60, 12)):
        args = ["snapshot", log, "--view", view, "--width", str(width), "--height", str(height)]
        text = invoke(args).stdout
        assert "'body'" not in text, text
        assert state[: width - 6] in text or state[: width - 7] + "…" in text, text
        key = {name: key for key, name in TABS}[view]
        assert f"{key} {view}" in text, "the view's own tab, at every width"


def test_a_small_replay_shows_help_and_the_figures() -> None:
    s, _ = session(Path(fixture("partial_failure")), speed=0)
    s.tick()
    m = s.metrics
    for width in WIDTHS:
        for height in HEIGHTS:
            text = screen(s, width, height, styles=False)
            assert "? help" in text, f"{width}x{height}:\n{text}"
            assert "'body'" not in text, f"{width}x{height}:\n{text}"
            if height >= 9:  # 8 rows: the header, controls and footer fill them
                assert m.status_text in text, f"{width}x{height}:\n{text}"


def test_a_small_live_view_shows_help_and_the_figures(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_bytes(Path(fixture("unfinished")).read_bytes())
    s, _, _ = live_session(log, timeout=600)  # a countdown before the keys in the key line
    s.keys = True
    s.tick()
    m = s.metrics
    for width in WIDTHS:
        for height in HEIGHTS:
            text = screen(s, width, height, styles=False)
            assert "? help" in text and "'body'" not in text, f"{width}x{height}:\n{text}"
            if height >= 9:
                assert m.status_text in text, f"{width}x{height}:\n{text}"
