"""The overview's layout and honesty: every figure visible, no contradictions, dense screens.

The figures come from the fixtures' stories (busy_run: 400 tasks on 8 workers with
retries, failures and log messages; unfinished: a log that ends mid-run).
"""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES, fixture, invoke
from rich.spinner import Spinner
from rich.text import Text

from recorder.events import RunFinished, TaskStarted
from replay.core.fold import apply
from replay.core.views.charts import outcome_bar, resample
from replay.core.views.flow import flow
from replay.core.when import END, parse_when
from replay.index.position import fold_at
from replay.outputs.snapshot import render

BOX = set("╭╮╰╯│─━╸╺┃┏┓┗┛═║┌┐└┘├┤┬┴┼")


def text_at(name: str, at: str, width: int, height: int, stopped: str | None = None) -> str:
    frame = fold_at(fixture(name), END if at == "end" else parse_when(at))
    return render(frame.metrics, frame.now, width=width, height=height, fmt="text", stopped=stopped)


def blank_share(text: str) -> float:
    """Blank cells inside the frame, box drawing left out (as tools/screens counts)."""
    cells = [ch for ch in text if ch != "\n" and ch not in BOX]
    return sum(ch == " " for ch in cells) / len(cells)


# Flowing parts: never cut mid-word ---------------------------------------------------


def test_flow_moves_whole_parts_to_the_next_line() -> None:
    parts = [Text(w) for w in ("alpha beta", "gamma", "delta epsilon", "zeta")]
    lines = [line.plain for line in flow(parts, 20)]
    assert lines == ["alpha beta  ·  gamma", "delta epsilon", "zeta"]


def test_flow_on_limited_lines_leaves_out_whole_parts_and_keeps_later_short_ones() -> None:
    parts = [Text("a" * 10), Text("b" * 15), Text("c")]
    lines = [line.plain for line in flow(parts, 20, lines=1)]
    assert lines == ["aaaaaaaaaa  ·  c"]


# The status line ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_every_figure_of_the_status_line_is_visible(size: tuple[int, int]) -> None:
    frame = fold_at(fixture("busy_run"), parse_when("50%"))
    m = frame.metrics
    text = render(m, frame.now, width=size[0], height=size[1], fmt="text")
    waiting = sum(1 for f in m.in_flight.values() if f.state == "backoff")
    assert waiting and m.failed  # the story has both at 50%
    for figure in (
        m.status_text,  # the seed's (errors - processed / total)
        f"{m.processed}/{m.total} done",
        f"{m.succeeded} ok",
        f"{m.failed} failed",
        f"{len(m.in_flight) - waiting} running + {waiting} backing off",
        f"{m.retries} retried",
    ):
        assert figure in text, figure


def test_busy_and_running_agree_or_name_the_difference() -> None:
    text = text_at("busy_run", "50%", 120, 40)
    running = re.search(r"(\d+) running \+ (\d+) backing off", text)
    workers = re.search(r"Workers \((\d+) busy, (\d+) backing off / (\d+)\)", text)
    assert running and workers, text
    assert running.groups() == workers.groups()[:2]


def test_the_two_in_flight_times_name_what_they_measure() -> None:
    """The durations line times a task from its first attempt, the workers panel from
    the current one: the line says "1st try" and which try a retried task is on."""
    frame = fold_at(fixture("busy_run"), parse_when("50%"))
    text = render(frame.metrics, frame.now, width=200, height=60, fmt="text")
    retried = [
        f for f in frame.metrics.in_flight.values() if f.attempt > 1 and f.state == "running"
    ]
    assert retried  # the story has a retried task running at 50%
    assert "in flight from 1st try" in text
    for f in retried:
        assert f"{f.task} (try {f.attempt})" in text, f.task


# Honest end states ---------------------------------------------------------------------


@pytest.mark.parametrize(("stopped", "said"), [("quit", "q"), ("timeout", "timeout")])
def test_a_view_stopped_before_the_end_says_so_and_claims_no_interrupted_run(
    stopped: str, said: str
) -> None:
    """The viewer stopping interrupts no run: the state it stopped at, labelled, still."""
    text = text_at("unfinished", "end", 100, 30, stopped=stopped)
    assert f"(view stopped: {said})" in text and "■ View stopped" in text
    assert "nterrupted" not in text and "unfinished)" not in text  # (the run is r-unfinished)
    assert "unfinished from" not in text
    assert "Done" not in text and "Processing" not in text
    assert "ETA done" not in text  # two tasks remain
    assert "1 running + 1 backing off" in text and "Workers (1 busy, 1 backing off / 3)" in text
    assert not set(text) & set("".join(Spinner("dots").frames)), "a spinner: nothing moves"


def test_the_same_position_without_a_stop_is_still_running() -> None:
    text = text_at("unfinished", "end", 100, 30)
    assert "Processing" in text and "interrupted" not in text


def test_a_finished_run_with_tasks_left_has_no_eta_done() -> None:
    frame = fold_at(fixture("unfinished"), END)
    m = frame.metrics
    last = m.last_t or 0.0
    apply(m, TaskStarted(t=last, src="x", seq=1, task="late", worker="w9"))
    apply(m, RunFinished(t=last + 1, src="x", seq=2, status="failed"))
    assert m.remaining
    text = render(m, last + 1, width=100, height=30, fmt="text")
    assert "ETA done" not in text and "ETA none" in text
    assert "unfinished" in text


def test_a_run_that_ended_well_says_done() -> None:
    text = text_at("all_succeeded", "end", 100, 30)
    assert "✔ Done" in text and "ETA done" in text


# Pictures ------------------------------------------------------------------------------


def test_the_progress_bar_is_stacked_by_outcome() -> None:
    bar = outcome_bar(40, 100, [(50, "green"), (25, "red"), (5, "yellow")])
    cells = [(s.style, bar.plain[s.start : s.end]) for s in bar.spans]
    assert [(style, len(run)) for style, run in cells] == [
        ("green", 20),
        ("red", 10),
        ("yellow", 2),
        ("grey23", 8),
    ]
    whole = outcome_bar(37, 3, [(1, "green"), (1, "red"), (1, "yellow")])
    assert len(whole) == 37 and "─" not in whole.plain  # all done: nothing pending


def test_resample_keeps_rates_comparable_whatever_the_width() -> None:
    values = [4, 4, 8, 8]
    assert resample(values, 8) == [4, 4, 4, 4, 8, 8, 8, 8]
    assert resample(values, 2) == [4.0, 8.0]
    assert resample([1, 5, 2, 0], 2, max) == [5.0, 2.0]


def test_failures_are_marked_on_the_chart_where_they_happened() -> None:
    text = text_at("busy_run", "end", 120, 40)
    axis = next(line for line in text.splitlines() if "failed    " in line)
    assert "✖" in axis and "─" in axis


# Density (the targets) ---------------------------------------------------------


@pytest.mark.parametrize("at", ["50%", "end"])
def test_a_realistic_run_fills_at_least_half_the_screen(at: str) -> None:
    assert blank_share(text_at("busy_run", at, 120, 40)) <= 0.50


@pytest.fixture(scope="module")
def jest_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    log = tmp_path_factory.mktemp("jest") / "jest.jsonl"
    report = FIXTURES / "real" / "dorny-jest-test-results.xml"
    assert invoke(["import", str(report), "-o", str(log)]).exit_code in (0, 2)
    return str(log)


@pytest.mark.parametrize("at", ["50%", "end"])
def test_an_imported_ci_run_with_few_failures_is_not_mostly_blank(jest_log: str, at: str) -> None:
    frame = fold_at(jest_log, END if at == "end" else parse_when(at))
    text = render(frame.metrics, frame.now, width=120, height=40, fmt="text")
    assert blank_share(text) <= 0.60
    if at == "end":  # the failed test ids, whole
        assert "e2e/__tests__/onlyChanged.test.ts: gets changed files for hg" in text
        assert "✖ gets changed files for hg " in text
