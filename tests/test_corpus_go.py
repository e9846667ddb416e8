"""Real go test and cargo reports against their producer's truth (fixtures/corpus/{go,cargo}).

Each case folder holds a report exactly as the producer wrote it (made by the folder's
make.sh) and truth.json, read from the producer itself: go test's exit status and
test2json's actions, cargo's exit status and libtest's suite totals. ``expected_from`` is
the rule that turns the producer's counts into what runreel must show; truth.json's
``expected`` was written by the same rule (make.sh's truth.py) and is checked against it,
so neither side is typed by hand.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from recorder.events import AnyEvent, TaskFailed, TaskSkipped, TaskStarted, TaskSucceeded
from recorder.importers import detect, import_events, importer
from recorder.importers.times import parse_rfc3339
from replay.core.fold import fold
from replay.core.outcome import outcome_of
from replay.exitcodes import for_metrics

CORPUS = Path(__file__).parent.parent / "fixtures" / "corpus"
CASES = sorted(p for p in CORPUS.glob("*/*") if (p / "truth.json").exists())
GO_CASES = [p for p in CASES if p.parent.name in ("go", "cargo")]
DAY = 86400.0
COMPILER_ERROR = (  # the first error go 1.19 prints for fixtures/corpus/go/module/broken
    "broken/broken_test.go:6:17: cannot use Half(4) (value of type int) as type string in "
    "variable declaration"
)


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


def _go(case: str) -> list[AnyEvent]:
    return _events(CORPUS / "go" / case)


def _first_time(case: str) -> float:
    with (
        gzip.open(p) if (p := _report(CORPUS / "go" / case)).suffix == ".gz" else open(p, "rb") as f
    ):
        for raw in f:
            if raw.startswith(b"{") and b'"Time"' in raw:
                return round(parse_rfc3339(json.loads(raw)["Time"]) or 0.0, 6)
    raise AssertionError("no time in the report")


@pytest.mark.parametrize("case", ["module", "module-2to1", "stdlib"])
def test_the_run_starts_at_the_first_real_time(case: str) -> None:
    # module-2to1 starts with the compiler's output: plain text before any time
    events = _go(case)
    assert events[0].t == min(e.t for e in events) == _first_time(case)


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("module", "build failed"),
        ("build-only", "build failed"),
        (
            "module-2to1",
            "build failed: " + COMPILER_ERROR,
        ),
        (
            "build-only-2to1",
            "build failed: " + COMPILER_ERROR,
        ),
    ],
)
def test_a_go_build_failure_is_a_failed_task_with_the_compiler_output(
    case: str, error: str
) -> None:
    failed = {e.task: e for e in _go(case) if isinstance(e, TaskFailed)}
    broken = failed["broken"]
    assert broken.worker == "broken" and broken.error == error
    assert broken.detail.endswith("FAIL\texample.com/corpus/broken [build failed]")
    if case.endswith("2to1"):  # the compiler's output went to the report too
        assert broken.detail.splitlines()[:3] == [
            "# example.com/corpus/broken [example.com/corpus/broken.test]",
            COMPILER_ERROR,
            "broken/broken_test.go:8:11: undefined: undefinedThing",
        ]


@pytest.mark.parametrize("case", ["module", "module-2to1", "module-p1-2to1"])
def test_go_lanes_follow_real_concurrency(case: str) -> None:
    events = _go(case)
    workers = {e.task: e.worker for e in events if isinstance(e, TaskSucceeded)}
    # sequential subtests run in their parent's lane; so do nested ones
    seq = [workers[f"parallel.TestSequentialSubtests/s{i}"] for i in range(1, 6)]
    assert set(seq) == {workers["parallel.TestSequentialSubtests"]}
    nested = [k for k in workers if k.startswith("mixed.")]
    assert {workers[k] for k in nested} == {"mixed"}
    # -parallel 2: two lanes in the package with t.Parallel tests, and two tests at once
    assert {e.worker for e in events if isinstance(e, TaskStarted)} == {
        "mixed",
        "panics",
        "parallel",
        "parallel #2",
    }
    in_parallel = [e for e in events if getattr(e, "task", "").startswith("parallel.")]
    assert busy_max(in_parallel) == 2


def test_sequential_stdlib_packages_never_run_two_tests_at_once() -> None:
    # go test -p 1: one package after another; strings, sort and container/* have no
    # t.Parallel test, so each runs on its one lane
    events = _go("stdlib-p1")
    workers = {e.worker for e in events if isinstance(e, TaskStarted)}
    assert {"strings", "sort", "heap", "list", "ring"} <= workers
    assert not {
        w
        for w in workers
        if w.split(" #")[0] in ("strings", "sort", "heap", "list", "ring") and "#" in w
    }


def test_a_go_1_24_build_failure_from_the_documented_format() -> None:
    # Written from cmd/test2json's and cmd/go's documentation (Go 1.24+: `go test -json`
    # reports build output as BuildEvent records {ImportPath, Action: build-output |
    # build-fail, Output}, without a Time, and the package's fail has FailedBuild). Debian's
    # go 1.19 cannot produce it, so this case is not in the corpus.
    path = "example.com/corpus/broken [example.com/corpus/broken.test]"
    records = [
        {"ImportPath": path, "Action": "build-output", "Output": f"# {path}\n"},
        {
            "ImportPath": path,
            "Action": "build-output",
            "Output": "broken/broken_test.go:8:11: undefined: undefinedThing\n",
        },
        {"ImportPath": path, "Action": "build-fail"},
        {
            "Time": "2026-05-01T10:00:00.5Z",
            "Action": "start",
            "Package": "example.com/corpus/broken",
        },
        {
            "Time": "2026-05-01T10:00:00.5Z",
            "Action": "output",
            "Package": "example.com/corpus/broken",
            "Output": "FAIL\texample.com/corpus/broken [build failed]\n",
        },
        {
            "Time": "2026-05-01T10:00:00.5Z",
            "Action": "fail",
            "Package": "example.com/corpus/broken",
            "Elapsed": 0,
            "FailedBuild": path,
        },
    ]
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    fmt = detect.sniff(data, "go124.json")
    assert fmt == "gotest"
    events = list(
        importer(fmt)(iter(data.splitlines(keepends=True)), path="go124.json", run="r", name="n")
    )
    m = fold(events)
    assert (m.finished, m.failed, m.succeeded, for_metrics(m)) == (True, 1, 0, 1)
    (failed,) = [e for e in events if isinstance(e, TaskFailed)]
    assert failed.task == "broken"
    assert failed.error == "build failed: broken/broken_test.go:8:11: undefined: undefinedThing"
    assert failed.detail.splitlines() == [
        f"# {path}",
        "broken/broken_test.go:8:11: undefined: undefinedThing",
        "FAIL\texample.com/corpus/broken [build failed]",
    ]
    assert {e.t for e in events} == {parse_rfc3339("2026-05-01T10:00:00.5Z")}


def test_the_cli_imports_a_build_failure_and_the_cast_starts_at_the_first_time(
    tmp_path: Path,
) -> None:
    # `runreel import` of go test -json 2>&1 (compiler output first), then its asciicast:
    # the header's timestamp is the first real time, not a made-up one in 2000
    log = str(tmp_path / "go.jsonl")
    report = str(_report(CORPUS / "go" / "module-2to1"))
    assert invoke(["import", report, "-o", log]).exit_code == 0
    assert invoke(["snapshot", log]).exit_code == 2  # go test exited 2: partial failure
    cast = invoke(["export", log, "--format", "asciicast"])
    assert cast.exit_code == 2
    header = json.loads(cast.stdout.splitlines()[0])
    assert header["timestamp"] == int(_first_time("module-2to1"))
    only = str(tmp_path / "build.jsonl")
    build_only = str(_report(CORPUS / "go" / "build-only"))
    assert invoke(["import", build_only, "-o", only]).exit_code == 0  # detected, not refused
    assert invoke(["snapshot", only]).exit_code == 1  # nothing built: total failure
