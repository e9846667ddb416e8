"""Real go test and cargo reports against their producer's truth (fixtures/corpus/{go,cargo}).

Each case folder holds a report exactly as the producer wrote it (made by the folder's
make.sh) and truth.json, read from the producer itself: go test's exit status and
test2json's actions, cargo's exit status and libtest's suite totals. ``expected_from`` is
the rule that turns the producer's counts into what runreel must show; truth.json's
``expected`` was written by the same rule (make.sh's truth.py) and is checked against it,
so neither side is typed by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from recorder.events import AnyEvent, TaskFailed, TaskSkipped, TaskStarted, TaskSucceeded
from recorder.importers import import_events
from replay.core.fold import fold
from replay.core.outcome import outcome_of
from replay.exitcodes import for_metrics

CORPUS = Path(__file__).parent.parent / "fixtures" / "corpus"
CASES = sorted(p for p in CORPUS.glob("*/*") if (p / "truth.json").exists())
GO_CASES = [p for p in CASES if p.parent.name in ("go", "cargo")]
DAY = 86400.0


def _report(case: Path) -> Path:
    return next(p for p in sorted(case.iterdir()) if p.name.startswith("report"))


def expected_from(truth: dict[str, Any]) -> dict[str, Any]:
    """What runreel must show for a report, from the producer's own counts.

    Tests (and Go subtests) are tasks; Go packages that failed without a failing test (a
    build failure, TestMain exiting) are failed tasks too; ignored Rust tests are skipped.
    The outcome follows runreel's exit-code table, and a producer's non-zero exit status
    always makes the run fail: 0 all succeeded, 1 none succeeded, 2 otherwise.
    """
    c = truth["counts"]
    if truth["producer"] == "go test":
        failed = c["failed"] + c["build_failed"] + c["package_failures_without_test"]
        skipped = c["skipped"]
    else:
        failed, skipped = c["failed"], c["ignored"]
    succeeded = c["passed"]
    if succeeded == 0:
        outcome, code = "total failure", 1
    elif failed or truth["exit_status"] != 0:
        outcome, code = "partial failure", 2
    else:
        outcome, code = "all succeeded", 0
    return {
        "tasks": succeeded + failed + skipped,
        "succeeded": succeeded,
        "failed": failed,
        "skipped": skipped,
        "outcome": outcome,
        "exit_code": code,
    }


def _events(case: Path) -> list[AnyEvent]:
    fmt = "gotest" if case.parent.name == "go" else "libtest"
    _, events = import_events(str(_report(case)), fmt)
    return list(events)


def _detected(case: Path) -> str:
    chosen, events = import_events(str(_report(case)))
    events.close()
    return chosen


def busy_max(events: Iterable[AnyEvent]) -> int:
    """The most workers running a task at once, following events in time order."""
    timed = sorted(
        (e for e in events if isinstance(e, (TaskStarted, TaskSucceeded, TaskFailed, TaskSkipped))),
        key=lambda e: (e.t, not isinstance(e, TaskStarted), e.seq),
    )
    on: dict[str, str] = {}  # worker -> task
    where: dict[str, str] = {}  # task -> worker
    peak = 0
    for e in timed:
        if isinstance(e, TaskStarted):
            old = where.get(e.task)
            if old is not None and on.get(old) == e.task:
                del on[old]
            on[e.worker] = e.task
            where[e.task] = e.worker
            peak = max(peak, len(on))
        else:
            w = where.pop(e.task, None)
            if w is not None and on.get(w) == e.task:
                del on[w]
    return peak


@pytest.mark.parametrize("case", GO_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_report_agrees_with_its_producer(case: Path) -> None:
    truth = json.loads((case / "truth.json").read_text())
    want = expected_from(truth)
    assert {k: truth["expected"][k] for k in want} == want  # truth.json follows the rule
    events = _events(case)
    m = fold(events)
    assert m.finished
    got = {
        "tasks": m.processed,
        "succeeded": m.succeeded,
        "failed": m.failed,
        "skipped": m.skipped,
        "outcome": outcome_of(m).value,
        "exit_code": for_metrics(m),
    }
    assert got == want
    assert m.total == want["tasks"]
    lo, hi = truth["expected"]["workers"]
    assert lo <= len(m.workers) <= hi, sorted(m.workers)
    assert busy_max(events) <= truth["expected"]["busy_max"]
    first, last = truth["expected"]["duration_s"]
    assert m.first_t is not None and m.last_t is not None
    duration = m.last_t - m.first_t
    if last is None:  # libtest has no times: at least the suites' own exec_time, no more than a day
        assert first <= duration < DAY
    else:
        assert first - 0.001 <= duration <= last + 0.001
    if truth["exit_status"] != 0:
        assert m.status == "failed"  # a producer's failure signal always fails the run


@pytest.mark.parametrize("case", GO_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_format_is_detected(case: Path) -> None:
    assert _detected(case) == ("gotest" if case.parent.name == "go" else "libtest")
