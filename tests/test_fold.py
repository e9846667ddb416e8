"""The fold: the numbers each fixture's story implies, and the fold's own properties.

Expectations come from the stories in fixtures/generate.py, worked out by hand.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import pytest
from conftest import T0, fixture, fold_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.codec import Unknown
from recorder.events import (
    Event,
    Log,
    Mark,
    Metric,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TotalChanged,
)
from replay import exitcodes
from replay.core.fold import apply, apply_all, fold
from replay.core.metrics import (
    RECENT_ERRORS,
    RECENT_GAPS,
    RECENT_LOGS,
    RECENT_MARKS,
    SERIES,
    SERIES_WIDTH,
    SLOWEST,
    Gap,
    Metrics,
)
from replay.outputs.snapshot import to_dict
from replay.sources.file import read_batches


def counts(m: Metrics) -> dict[str, Any]:
    return {
        "events": m.events,
        "total": m.total,
        "started": m.started,
        "succeeded": m.succeeded,
        "failed": m.failed,
        "skipped": m.skipped,
        "retries": m.retries,
        "in_flight": sorted(m.in_flight),
        "finished": m.finished,
        "exit": exitcodes.for_metrics(m),
    }


def worker_counts(m: Metrics) -> dict[str, tuple[int, int, int]]:
    return {n: (w.succeeded, w.failed, w.retries) for n, w in m.workers.items()}


# Each valid fixture: the fold's headline numbers -------------------------------------


EXPECTED: dict[str, dict[str, Any]] = {
    "all_succeeded": dict(
        events=19, total=5, started=5, succeeded=5, failed=0, skipped=0, retries=0,
        in_flight=[], finished=True, exit=0,
    ),
    "partial_failure": dict(
        events=10, total=4, started=4, succeeded=3, failed=1, skipped=0, retries=0,
        in_flight=[], finished=True, exit=2,
    ),
    "total_failure": dict(
        events=9, total=3, started=3, succeeded=0, failed=3, skipped=0, retries=0,
        in_flight=[], finished=True, exit=1,
    ),
    "with_retries": dict(
        events=13, total=3, started=5, succeeded=3, failed=0, skipped=0, retries=2,
        in_flight=[], finished=True, exit=0,
    ),
    "no_tasks": dict(
        events=3, total=0, started=0, succeeded=0, failed=0, skipped=0, retries=0,
        in_flight=[], finished=True, exit=1,
    ),
    "unfinished": dict(
        events=13, total=6, started=6, succeeded=3, failed=1, skipped=0, retries=1,
        in_flight=["v5", "v6"], finished=False, exit=3,
    ),
    "torn_tail": dict(
        events=6, total=3, started=3, succeeded=2, failed=0, skipped=0, retries=0,
        in_flight=["t3"], finished=False, exit=3,
    ),
    "unknown_type": dict(
        events=9, total=2, started=2, succeeded=2, failed=0, skipped=0, retries=0,
        in_flight=[], finished=True, exit=0,
    ),
    "seq_gap": dict(
        events=8, total=4, started=3, succeeded=3, failed=0, skipped=0, retries=0,
        in_flight=["g2"], finished=True, exit=2,
    ),
    "many_workers": dict(
        events=261, total=120, started=128, succeeded=108, failed=12, skipped=0, retries=8,
        in_flight=[], finished=True, exit=2,
    ),
    "hostile": dict(
        events=17, total=6, started=5, succeeded=1, failed=2, skipped=1, retries=1,
        in_flight=[], finished=False, exit=3,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fold_of_each_fixture(name: str, gen: ModuleType) -> None:
    m, _ = fold_file(fixture(name))
    expected = dict(EXPECTED[name])
    if name == "hostile":  # task ids are the hostile strings: t2 backs off, t5 runs
        expected["in_flight"] = sorted([gen.HOSTILE_TASKS[1], gen.HOSTILE_TASKS[4]])
    assert counts(m) == expected


def test_all_succeeded_details() -> None:
    m, _ = fold_file(fixture("all_succeeded"))
    assert (m.run, m.name, m.meta) == (
        "r-all-ok",
        "nightly import",
        {"host": "build-7", "commit": "abc123"},
    )
    assert (m.first_t, m.last_t) == (T0, T0 + 7.0)
    assert (m.status, m.exit_status) == ("ok", 0)
    assert worker_counts(m) == {"w1": (3, 0, 0), "w2": (2, 0, 0)}
    assert all(w.state == "idle" and w.task is None for w in m.workers.values())
    assert list(m.marks) == [(T0 + 3.0, "halfway")]
    assert m.mark_count == 1
    assert m.counters == {
        ("rows", (("table", "users"),)): 350.0,
        ("rows", (("table", "orders"),)): 7.0,
    }
    assert m.gauges == {("queue_depth", ()): 0.0}
    assert [(e.level, e.msg) for e in m.recent_logs] == [("info", "import complete")]
    assert list(m.recent_errors) == []
    assert (m.processed, m.remaining, m.status_text) == (5, 0, "(0 - 5 / 5)")
    assert m.elapsed(m.last_t) == pytest.approx(7.0)
    assert (m.gap_count, m.lost_events, m.unknown_events) == (0, 0, {})
    # Durations a 1.5, b 2.4, c 1.9, d 1.8, e 1.9 s: the median bucket holds 1.9 s.
    p50 = m.duration_percentile(0.5)
    assert p50 is not None and 1.9 <= p50 <= 1.9 * 1.26
    p99 = m.duration_percentile(0.99)
    assert p99 is not None and 2.4 <= p99 <= 2.4 * 1.26


def test_partial_failure_details() -> None:
    m, _ = fold_file(fixture("partial_failure"))
    assert (m.status, m.exit_status) == ("failed", 1)
    assert worker_counts(m) == {"w1": (2, 0, 0), "w2": (1, 1, 0)}
    [err] = m.recent_errors
    assert (err.task, err.worker, err.final) == ("img-2", "w2", True)
    assert err.error == "OSError: [Errno 28] No space left on device"
    assert err.t == T0 + 2.2
    assert m.status_text == "(1 - 4 / 4)"


def test_total_failure_details() -> None:
    m, _ = fold_file(fixture("total_failure"))
    assert worker_counts(m) == {"w1": (0, 3, 0)}
    assert [e.task for e in m.recent_errors] == ["t1", "t2", "t3"]
    assert all(e.final for e in m.recent_errors)
    assert [(e.level, e.msg) for e in m.recent_logs] == [("error", "giving up")]


def test_a_failed_attempt_that_later_succeeds_counts_as_succeeded() -> None:
    m, _ = fold_file(fixture("with_retries"))
    # up-a: task_retrying then success; up-c: task_failed (attempt 1) then success.
    assert (m.succeeded, m.failed, m.retries) == (3, 0, 2)
    # Per worker too: a failed attempt that is re-run is a retry, not a failure.
    assert worker_counts(m) == {"w1": (1, 0, 1), "w2": (2, 0, 1)}
    assert [(e.task, e.final) for e in m.recent_errors][0] == ("up-a", False)
    assert exitcodes.for_metrics(m) == exitcodes.OK


def test_with_retries_mid_backoff() -> None:
    events = list(_events(fixture("with_retries")))
    m = fold(e for e in events if e.t <= T0 + 3.0)
    f = m.in_flight["up-a"]
    assert (f.state, f.attempt, f.worker) == ("backoff", 1, "w1")
    assert f.retry_at == pytest.approx(T0 + 4.0)  # retried at 2.0 with a 2 s backoff
    assert f.error == "TimeoutError: upload took longer than 30s"
    assert m.workers["w1"].state == "backoff"
    assert m.workers["w2"].state == "idle"  # up-b succeeded at 3.0


def test_unfinished_details() -> None:
    m, _ = fold_file(fixture("unfinished"))
    v5, v6 = m.in_flight["v5"], m.in_flight["v6"]
    assert (v5.state, v5.worker, v5.attempt, v5.started) == ("backoff", "w2", 1, T0 + 13.0)
    assert v5.retry_at == pytest.approx(T0 + 50.0)
    assert (v6.state, v6.worker, v6.started) == ("running", "w3", T0 + 15.0)
    states = {n: (w.state, w.task) for n, w in m.workers.items()}
    assert states == {"w1": ("idle", None), "w2": ("backoff", "v5"), "w3": ("running", "v6")}
    assert worker_counts(m) == {"w1": (2, 0, 0), "w2": (1, 0, 1), "w3": (0, 1, 0)}
    assert (m.processed, m.remaining, m.status) == (4, 2, "")
    assert m.last_t == T0 + 26.0
    # 4 tasks ended between T0+10 and T0+25: 4 in the 30 s window, over 26 s of run.
    assert m.rate(T0 + 26.0) == pytest.approx(4 / 26)
    assert m.eta(T0 + 26.0) == pytest.approx(2 / (4 / 26))


def test_unknown_types_are_counted_not_folded() -> None:
    m, _ = fold_file(fixture("unknown_type"))
    assert m.unknown_events == {"task_progress": 2, "checkpoint": 1}
    assert (m.gap_count, m.lost_events) == (0, 0)  # unknown events keep their seq
    assert m.run == "r-newer"


def test_seq_gap_is_detected() -> None:
    m, _ = fold_file(fixture("seq_gap"))
    assert (m.gap_count, m.lost_events) == (1, 2)
    assert list(m.gaps) == [Gap("pool-1", 4, 6)]


def test_torn_tail_is_not_data() -> None:
    m, report = fold_file(fixture("torn_tail"))
    assert m.succeeded == 2 and "t3" in m.in_flight
    assert report.torn_line == 7


def test_corrupt_middle_lenient() -> None:
    m, report = fold_file(fixture("corrupt_middle"), lenient=True)
    # Line 5 (pool-1's 4th event, a log line) is gone: everything else folds.
    assert counts(m) == dict(
        events=8, total=3, started=3, succeeded=3, failed=0, skipped=0, retries=0,
        in_flight=[], finished=True, exit=0,
    )  # fmt: skip
    assert list(m.gaps) == [Gap("pool-1", 4, 5)]
    assert (m.gap_count, m.lost_events) == (1, 1)
    assert report.skipped_count == 1


def test_many_workers_per_worker_numbers(gen: ModuleType) -> None:
    m, _ = fold_file(fixture("many_workers"))
    # The story: task i on worker i % 40; i % 10 == 7 fails; i % 15 == 0 retries once.
    expected: dict[str, tuple[int, int, int]] = {}
    for i in range(gen.MANY_WORKERS * gen.MANY_ROUNDS):
        name = f"w{i % gen.MANY_WORKERS:02d}"
        ok, bad, retried = expected.get(name, (0, 0, 0))
        failed = i % 10 == 7
        expected[name] = (ok + (not failed), bad + failed, retried + (i % 15 == 0))
    assert worker_counts(m) == expected
    assert len(m.workers) == 40
    assert {n for n, (_, bad, _) in expected.items() if bad} == {"w07", "w17", "w27", "w37"}
    assert [label for _, label in m.marks] == ["round-1", "round-2", "round-3"]
    assert (m.first_t, m.last_t, m.status) == (T0, T0 + 32.0, "failed")
    assert (m.gap_count, m.lost_events) == (0, 0)
    assert len(m.recent_errors) == 12 + 8


def test_hostile_text_survives_the_fold_unchanged(gen: ModuleType) -> None:
    m, _ = fold_file(fixture("hostile"))
    assert (m.run, m.name) == (gen.HOSTILE_RUN, gen.HOSTILE_NAME)
    assert m.meta["long"] == "M" * gen.LONG
    assert set(m.workers) == set(gen.HOSTILE_WORKERS)
    t2 = gen.HOSTILE_TASKS[1]
    assert m.in_flight[t2].error == gen.HOSTILE_ERRORS[0]
    assert [e.error for e in m.recent_errors] == list(gen.HOSTILE_ERRORS)
    assert [e.task for e in m.recent_errors] == list(gen.HOSTILE_TASKS[1:4])
    assert m.mark_count == 3 and m.marks[1][1] == "L" * gen.LONG


# Properties of the fold --------------------------------------------------------------


def _events(path: str, lenient: bool = False) -> Iterable[Event | Unknown]:
    for batch in read_batches(path, lenient=lenient):
        yield from batch


def _doc(m: Metrics) -> str:
    return json.dumps(to_dict(m, m.last_t or 0.0), sort_keys=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_apply_one_by_one_equals_apply_all_and_resuming(name: str) -> None:
    events = list(_events(fixture(name)))
    whole = fold(events)
    single = Metrics()
    for e in events:
        assert apply(single, e) is single
    half = len(events) // 2
    resumed = fold(events[half:], fold(events[:half]))
    assert _doc(single) == _doc(whole) == _doc(resumed)


def test_fold_reads_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    events = list(_events(fixture("unfinished")))
    expected = _doc(fold(events))

    def forbidden() -> float:
        raise AssertionError("the fold read the clock")

    for name in ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, forbidden)
    m = fold(events)
    assert json.dumps(to_dict(m, T0 + 26.0), sort_keys=True) == expected


def test_copy_is_independent() -> None:
    events = list(_events(fixture("unfinished")))
    m = fold(events[:5])
    snapshot = m.copy()
    before = _doc(snapshot)
    apply_all(m, events[5:])
    assert _doc(snapshot) == before
    assert snapshot.events == 5 and m.events == len(events)


# Synthetic logs for single behaviours ------------------------------------------------


class Story:
    """Builds events with per-src seq for synthetic cases."""

    def __init__(self, total: int | None = None) -> None:
        self.seqs: dict[str, int] = {}
        self.events: list[Event] = []
        self.add(RunStarted, 0.0, v=1, run="r", total=total)

    def add(self, cls: type[Any], offset: float, src: str = "s", **fields: Any) -> Story:
        self.seqs[src] = self.seqs.get(src, 0) + 1
        self.events.append(cls(t=T0 + offset, src=src, seq=self.seqs[src], **fields))
        return self

    def fold(self) -> Metrics:
        return fold(self.events)


def test_failed_for_good_after_retries() -> None:
    m = (
        Story(1)
        .add(TaskStarted, 1, task="x", worker="w")
        .add(TaskRetrying, 2, task="x", worker="w", attempt=1, error="e1", backoff=1)
        .add(TaskStarted, 3, task="x", worker="w", attempt=2)
        .add(TaskRetrying, 4, task="x", worker="w", attempt=2, error="e2", backoff=2)
        .add(TaskStarted, 6, task="x", worker="w", attempt=3)
        .add(TaskFailed, 7, task="x", worker="w", error="e3")
        .add(RunFinished, 8)
        .fold()
    )
    assert (m.succeeded, m.failed, m.retries, m.started) == (0, 1, 2, 3)
    assert [(e.error, e.final) for e in m.recent_errors] == [
        ("e1", False),
        ("e2", False),
        ("e3", True),
    ]
    assert exitcodes.for_metrics(m) == exitcodes.TOTAL_FAILURE
    # The duration runs from the first attempt's start (T0+1) to the end (T0+7).
    p = m.duration_percentile(0.5)
    assert p is not None and 6.0 <= p <= 6.0 * 1.26


def test_rerun_after_task_failed_fails_again() -> None:
    m = (
        Story(1)
        .add(TaskStarted, 1, task="x", worker="w")
        .add(TaskFailed, 2, task="x", worker="w", error="e1")
        .add(TaskStarted, 3, task="x", worker="w", attempt=2)
        .add(TaskFailed, 4, task="x", worker="w", error="e2")
        .add(RunFinished, 5)
        .fold()
    )
    assert (m.succeeded, m.failed, m.retries) == (0, 1, 1)


def test_a_rerun_only_reopens_its_own_failure() -> None:
    # y starts at attempt 2 without a failure of its own (its first attempt was in
    # another log): x's failure must stand, or the run would wrongly exit 0.
    m = (
        Story(2)
        .add(TaskStarted, 1, task="x", worker="w1")
        .add(TaskFailed, 2, task="x", worker="w1", error="for good")
        .add(TaskStarted, 3, task="y", worker="w2", attempt=2)
        .add(TaskSucceeded, 4, task="y", worker="w2")
        .add(RunFinished, 5)
        .fold()
    )
    assert (m.succeeded, m.failed, m.retries) == (1, 1, 0)
    assert m.workers["w1"].failed == 1
    assert exitcodes.for_metrics(m) == exitcodes.PARTIAL_FAILURE


def test_task_moves_to_another_worker_on_retry() -> None:
    m = (
        Story()
        .add(TaskStarted, 1, task="x", worker="w1")
        .add(TaskRetrying, 2, task="x", worker="w1", attempt=1, error="e", backoff=1)
        .add(TaskStarted, 3, task="x", worker="w2", attempt=2)
        .fold()
    )
    assert (m.workers["w1"].state, m.workers["w1"].task) == ("idle", None)
    assert (m.workers["w2"].state, m.workers["w2"].task) == ("running", "x")
    assert m.in_flight["x"].worker == "w2" and m.in_flight["x"].state == "running"


def test_skipped_tasks_and_total_changes() -> None:
    m = (
        Story(2)
        .add(TaskStarted, 1, task="a", worker="w")
        .add(TaskSucceeded, 2, task="a", worker="w")
        .add(TotalChanged, 3, total=4)
        .add(TaskStarted, 3, task="b", worker="w")
        .add(TaskSkipped, 4, task="b", worker="w", reason="not needed")
        .add(TaskSkipped, 4, task="c", reason="cached")
        .fold()
    )
    assert (m.total, m.skipped, m.processed, m.remaining) == (4, 2, 3, 1)
    assert m.in_flight == {}
    assert m.workers["w"].state == "idle"
    assert m.status_text == "(0 - 3 / 4)"


def test_metrics_counters_and_gauges() -> None:
    m = (
        Story()
        .add(Metric, 1, name="bytes", value=10, labels={"b": "2", "a": "1"})
        .add(Metric, 2, name="bytes", value=5, labels={"a": "1", "b": "2"})
        .add(Metric, 2, name="bytes", value=1)
        .add(Metric, 3, name="temp", kind="gauge", value=40)
        .add(Metric, 4, name="temp", kind="gauge", value=38.5)
        .fold()
    )
    assert m.counters == {("bytes", (("a", "1"), ("b", "2"))): 15.0, ("bytes", ()): 1.0}
    assert m.gauges == {("temp", ()): 38.5}


def test_duplicate_and_out_of_order_seq_is_a_gap_but_not_a_loss() -> None:
    s = Story().add(Log, 1, msg="a").add(Log, 2, msg="b")
    s.events.append(s.events[-1])  # the same line twice
    m = s.fold()
    assert (m.gap_count, m.lost_events) == (1, 0)


def test_unknown_event_advances_seq() -> None:
    events = [
        RunStarted(t=T0, src="s", seq=1, v=1, run="r"),
        Unknown(type="future", t=T0 + 1, src="s", seq=2),
        Log(t=T0 + 2, src="s", seq=3, msg="c"),
    ]
    m = fold(events)  # type: ignore[arg-type]
    assert (m.events, m.gap_count, m.unknown_events) == (3, 0, {"future": 1})


def test_times_may_step_back_across_writers() -> None:
    m = (
        Story()
        .add(Log, 5, src="a", msg="late clock")
        .add(Log, 4.9, src="b", msg="early clock")
        .fold()
    )
    assert (m.first_t, m.last_t) == (T0, T0 + 5)


def test_rate_counts_the_last_30_seconds() -> None:
    s = Story(60)
    for i in range(60):  # one task ends every second, from T0+1 to T0+60
        s.add(TaskStarted, i + 0.5, task=f"t{i}", worker="w")
        s.add(TaskSucceeded, i + 1.0, task=f"t{i}", worker="w")
    m = s.fold()
    assert m.rate(T0 + 60.0) == pytest.approx(30 / 30)
    assert m.rate(T0 + 200.0) == 0.0  # nothing ended in the last 30 s
    assert m.eta(T0 + 60.0) == 0.0  # nothing left
    p = m.duration_percentile(0.5)
    assert p is not None and 0.5 <= p <= 0.5 * 1.26


def test_percentiles_of_a_known_mix() -> None:
    s = Story()
    for i in range(100):  # 90 tasks of 1 s, 10 tasks of 10 s
        d = 10.0 if i >= 90 else 1.0
        s.add(TaskStarted, i, task=f"t{i}", worker="w")
        s.add(TaskSucceeded, i + d, task=f"t{i}", worker="w")
    m = s.fold()
    for q, true in ((0.5, 1.0), (0.9, 1.0), (0.95, 10.0), (0.99, 10.0)):
        p = m.duration_percentile(q)
        assert p is not None and true <= p <= true * 1.26, (q, p)
    assert Metrics().duration_percentile(0.5) is None


def test_memory_is_bounded_by_windows_not_log_length() -> None:
    s = Story()
    n = 5_000
    for i in range(n):
        s.add(TaskStarted, i * 0.01, task=f"t{i}", worker=f"w{i % 4}")
        s.add(TaskFailed, i * 0.01 + 0.005, task=f"t{i}", worker=f"w{i % 4}", error="boom")
        s.add(Mark, i * 0.01 + 0.006, label=f"m{i}")
        s.add(Log, i * 0.01 + 0.007, msg=f"log {i}")
    for i in range(n):  # writer g writes seq 2, 4, 6, ...: a gap before every line
        s.events.append(Log(t=T0 + 100, src="g", seq=2 * i + 2, msg="x"))
    m = s.fold()
    assert m.failed == n and m.mark_count == n and m.gap_count == n
    assert m.in_flight == {} and len(m.workers) == 4
    assert len(m.recent_errors) == RECENT_ERRORS
    assert len(m.marks) == RECENT_MARKS
    assert len(m.recent_logs) == RECENT_LOGS
    assert len(m.gaps) == RECENT_GAPS
    assert m.recent_errors[-1].task == f"t{n - 1}"  # the window keeps the newest


def test_finished_status_and_exit_status() -> None:
    m = Story().add(RunFinished, 1, status="cancelled", exit_status=130).fold()
    assert (m.finished, m.status, m.exit_status) == (True, "cancelled", 130)


# A model of the task rules, checked against the fold on random interleavings ----------------

ENDINGS = ("ok", "fail", "open")
BETWEEN = ("retrying", "rerun")  # how a non-final attempt ends


@st.composite
def task_scripts(draw: st.DrawFn) -> list[list[tuple[str, Any]]]:
    """Per task: its events in order, as (kind, fields); tasks are interleaved later."""
    scripts = []
    for i in range(draw(st.integers(1, 8))):
        task = f"t{i}"
        first = draw(st.sampled_from((1, 1, 1, 3)))  # 3: resumed from an earlier run
        steps = draw(st.lists(st.sampled_from(BETWEEN), max_size=3))
        ending = draw(st.sampled_from(ENDINGS))
        events: list[tuple[str, Any]] = []
        for n, between in enumerate([*steps, ending]):
            worker = draw(st.sampled_from(("w1", "w2", "w3")))
            attempt = first + n
            events.append(("start", dict(task=task, worker=worker, attempt=attempt)))
            if between == "retrying":
                events.append(("retrying", dict(task=task, worker=worker, attempt=attempt)))
            elif between in ("rerun", "fail"):
                events.append(("fail", dict(task=task, worker=worker, error="e")))
            elif between == "ok":
                events.append(("ok", dict(task=task, worker=worker)))
        scripts.append(events)
    return scripts


def model(scripts: list[list[tuple[str, Any]]]) -> dict[str, Any]:
    """What the rules say, computed from the scripts alone."""
    out: dict[str, Any] = dict(started=0, succeeded=0, failed=0, retries=0, in_flight=set())
    workers: dict[str, list[int]] = {}
    for events in scripts:
        out["started"] += sum(kind == "start" for kind, _ in events)
        for i, (kind, f) in enumerate(events):
            w = workers.setdefault(f["worker"], [0, 0, 0])
            final = i == len(events) - 1
            if kind == "ok":
                out["succeeded"] += 1
                w[0] += 1
            elif kind == "fail" and final:
                out["failed"] += 1
                w[1] += 1
            elif kind in ("retrying", "fail"):  # an attempt that another one follows
                out["retries"] += 1
                w[2] += 1
        if events[-1][0] == "start":
            out["in_flight"].add(events[0][1]["task"])
    out["workers"] = {n: tuple(c) for n, c in workers.items()}
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts=task_scripts(), data=st.data())
def test_fold_agrees_with_the_task_rules(
    scripts: list[list[tuple[str, Any]]], data: st.DataObject
) -> None:
    classes = {
        "start": TaskStarted,
        "retrying": TaskRetrying,
        "ok": TaskSucceeded,
        "fail": TaskFailed,
    }
    queues = [list(s) for s in scripts]
    story = Story()
    t = 0.0
    while any(queues):
        q = data.draw(st.sampled_from([q for q in queues if q]))
        kind, fields = q.pop(0)
        t += 0.5
        story.add(classes[kind], t, src=data.draw(st.sampled_from(("a", "b"))), **fields)
    m = story.fold()
    expected = model(scripts)
    got = dict(
        started=m.started,
        succeeded=m.succeeded,
        failed=m.failed,
        retries=m.retries,
        in_flight=set(m.in_flight),
        workers={n: (w.succeeded, w.failed, w.retries) for n, w in m.workers.items()},
    )
    assert got == expected
    # One event at a time gives the same state as the batch.
    single = Metrics()
    for e in story.events:
        apply(single, e)
    assert _doc(single) == _doc(m)


# The run over time: series of fixed size whose buckets widen as the run grows -----------


def _series(m: Metrics) -> tuple[object, ...]:
    return (
        m.series_width,
        m.series_done,
        m.series_failed,
        m.series_busy,
        m.slowest,
        m.max_duration,
    )


def test_series_count_every_ending_in_bounded_memory() -> None:
    s = Story()
    n = 3_000
    for i in range(n):  # one task a second, each lasting (i % 7) seconds; every 10th fails
        end = i + (i % 7)
        s.add(TaskStarted, i, task=f"t{i}", worker=f"w{i % 8}")
        if i % 10 == 3:
            s.add(TaskFailed, end, task=f"t{i}", worker=f"w{i % 8}", error="boom")
        else:
            s.add(TaskSucceeded, end, task=f"t{i}", worker=f"w{i % 8}")
    s.events.sort(key=lambda e: e.t)
    m = s.fold()
    assert len(m.series_done) == len(m.series_failed) == len(m.series_busy) == SERIES
    assert sum(m.series_done) == n and sum(m.series_failed) == m.failed == n // 10
    used = m.series_used(m.last_t or 0.0)
    width = m.series_width
    assert (used - 1) * width <= (m.last_t or 0.0) - T0 < used * width  # the run fits
    assert used > SERIES // 2  # and fills more than half the buckets
    assert width / SERIES_WIDTH == 2 ** round(math.log2(width / SERIES_WIDTH))
    flying: set[str] = set()
    most = 0
    for e in s.events:  # the most tasks in flight at any event, counted the plain way
        if isinstance(e, TaskStarted):
            flying.add(e.task)
        most = max(most, len(flying))
        if isinstance(e, (TaskSucceeded, TaskFailed)):
            flying.discard(e.task)
    assert max(m.series_busy) == most > 1
    single = Metrics()
    for e in s.events:
        apply(single, e)
    half = len(s.events) // 2
    assert _series(single) == _series(m) == _series(fold(s.events[half:], fold(s.events[:half])))


def test_slowest_tasks_are_the_longest_that_ended() -> None:
    s = Story()
    durations = [(i * 37) % 101 / 10 for i in range(200)]
    for i, d in enumerate(durations):
        s.add(TaskStarted, i, task=f"t{i}", worker="w")
        s.add(TaskSucceeded, i + d, task=f"t{i}", worker="w")
    s.events.sort(key=lambda e: e.t)
    m = s.fold()
    expected = sorted(((d, f"t{i}") for i, d in enumerate(durations)), key=lambda x: (-x[0], x[1]))
    assert [task for _, task in m.slowest] == [task for _, task in expected[:SLOWEST]]
    assert m.max_duration == pytest.approx(max(durations))


@pytest.mark.parametrize("name", ["with_retries", "hostile", "busy_run", "postmortem"])
def test_a_duration_percentile_is_never_past_the_longest_task(name: str) -> None:
    """A percentile is its bucket's upper bound: capped at the longest task, so JSON and
    OpenMetrics never claim a p99 longer than ``max``."""
    m, _ = fold_file(fixture(name))
    assert m.processed
    for q in (0.5, 0.9, 0.95, 0.99, 1.0):
        p = m.duration_percentile(q)
        assert p is not None and p <= m.max_duration, (q, p, m.max_duration)
    assert m.duration_percentile(1.0) == m.max_duration or m.max_duration < 1e-3
