"""The last frame of a view that stopped never contradicts itself or claims work that is
not happening (review items 17 and 18): a log that ends mid-run, a quit, a stale log,
footer and status line agreeing on the ETA, and every event written up to the stop."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import fixture, invoke
from rich.spinner import Spinner
from test_live import T0, append, ev, session, started

from recorder.events import RunFinished, RunStarted, TaskStarted, TaskSucceeded
from replay.core.fold import apply
from replay.core.metrics import Metrics
from replay.core.views.panels import eta_text
from replay.core.when import END, parse_when
from replay.index.position import fold_at
from replay.outputs.snapshot import render

YEARS = 3 * 365 * 86400.0
SPINNER_CHARS = set("".join(Spinner("dots").frames))


def test_a_replay_of_an_unfinished_log_ends_saying_the_log_ends() -> None:
    result = invoke(["replay", fixture("unfinished"), "--instant"])
    text = result.stdout
    assert "(stopped: end)" in text
    assert "the log ends here" in text and "Log ends" in text
    assert "Processing" not in text and " running " not in text.split("\n", 1)[0]
    assert not set(text) & SPINNER_CHARS, "a spinner where nothing runs"
    assert "ended with tasks left" not in text  # the run did not end: its log did
    assert "busy" not in text


def test_a_replay_stopped_at_to_before_the_end_is_the_state_then() -> None:
    text = invoke(["replay", fixture("unfinished"), "--instant", "--to", "50%"]).stdout
    assert "(stopped: --to)" in text and "the log ends" not in text


def test_q_before_the_end_says_no_ending_it_did_not_see() -> None:
    frame = fold_at(fixture("busy_run"), parse_when("#2"))
    text = render(frame.metrics, frame.now, width=120, height=40, fmt="text", stopped="quit")
    assert "running (view stopped: q)" in text and "■ View stopped" in text
    assert "ended with tasks left" not in text and "interrupted" not in text


def test_footer_and_status_line_say_the_same_eta(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_bytes(started(total=None) + ev(TaskStarted, 2, task="a", worker="w1"))
    s, wall, mono = session(log)
    s.tick()
    append(log, ev(TaskSucceeded, 3, T0 + 1, task="a", worker="w1"))
    append(log, ev(RunFinished, 4, T0 + 2, status="ok"))
    s.tick()
    frame = render(s.metrics, s.now(), width=100, height=30, fmt="text", stopped=s.reason)
    eta = re.search(r"ETA (\S+)", frame)
    assert eta and eta.group(1) == "done", frame  # total unknown, nothing left: done
    assert "ETA done" in s.status_line()
    assert "Remaining 0" in frame  # not "?" beside "done"


def test_remaining_is_unknown_while_a_run_without_a_total_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_bytes(started(total=None) + ev(TaskStarted, 2, task="a", worker="w1"))
    s, wall, mono = session(log)
    s.tick()
    append(log, ev(TaskSucceeded, 3, T0 + 1, task="a", worker="w1"))
    s.tick()
    frame = render(s.metrics, s.now(), width=100, height=30, fmt="text", stopped=s.reason)
    assert "Remaining ?" in frame and "ETA done" not in frame, frame


def test_the_eta_never_reads_zero_while_tasks_remain() -> None:
    m = Metrics()
    apply(m, RunStarted(t=T0, src="s", seq=1, v=1, run="r", total=1000))
    for i in range(991):  # 991 ended in one second: 9 left at a rate far above 9/s
        apply(m, TaskStarted(t=T0, src="s", seq=2 + 2 * i, task=f"t{i}", worker="w"))
        apply(m, TaskSucceeded(t=T0 + 0.5, src="s", seq=3 + 2 * i, task=f"t{i}", worker="w"))
    assert m.remaining == 9
    assert eta_text(m, T0 + 0.5, None) == "00:01"
    assert eta_text(m, T0 + 0.5, "quit") == "00:01 at the stop"


def test_a_stale_live_log_is_dated_not_timed_in_years() -> None:
    frame = fold_at(fixture("unfinished"), END)
    m = frame.metrics
    text = render(m, (m.last_t or 0.0) + YEARS, width=120, height=40, fmt="text")
    assert "stalled since 2023-" in text and "UTC" in text
    assert not re.search(r"stalled for \d+h", text, re.IGNORECASE), text
    assert "elapsed 00:26 to its last event" in text and "--:--" not in text.split("\n")[1]


def test_the_last_live_frame_counts_every_event_written_up_to_the_stop(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_bytes(started(total=3) + ev(TaskStarted, 2, task="a", worker="w1"))
    s, wall, mono = session(log)
    s.tick()
    s.key("q")
    assert s.reason == "quit"
    append(log, ev(TaskSucceeded, 3, T0 + 1, task="a", worker="w1"))
    append(log, ev(TaskStarted, 4, T0 + 1, task="b", worker="w1"))
    s.catch_up()
    assert s.metrics.events == 4 and s.reason == "quit"
    frame = render(s.metrics, s.now(), width=100, height=30, fmt="text", stopped=s.reason)
    assert "Events 4" in frame


def test_utc_dates_agree_with_the_calendar() -> None:
    from datetime import datetime, timezone

    from replay.core.views.panels import utc

    for t in (0.0, 951782400.0, 1700000026.5, 4102444800.0, 1709164800.0, 1234567890.0):
        expected = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        assert utc(t) == expected
