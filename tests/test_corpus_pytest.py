"""The pytest and JUnit corpus: real reports written by pytest 8 and 9 (pytest-reportlog,
pytest-xdist, pytest-rerunfailures, subtests, ``--junitxml``) and unittest-xml-reporting,
each imported and compared with its producer's own truth.

Every case is a folder under fixtures/corpus/pytest/ or fixtures/corpus/junit/ with the
report as written and truth.json (made by the case's make.sh from pytest's or unittest's
own summary and exit status). What runreel must show follows from the producer's counts by
the rule in fixtures/corpus/pytest/truth.py (``expected``); this test first checks that each
truth.json's ``expected`` is that rule's answer, then imports the report and compares.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from recorder.events import (
    AnyEvent,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskStarted,
    TotalChanged,
)
from recorder.importers import import_events
from recorder.importers.reorder import in_time_order
from replay import exitcodes
from replay.core.fold import apply
from replay.core.metrics import Metrics
from replay.core.outcome import outcome_of

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
CASES = sorted(p.parent for d in ("pytest", "junit") for p in (CORPUS / d).glob("*/truth.json"))


def _rule() -> Any:
    spec = importlib.util.spec_from_file_location("corpus_truth", CORPUS / "pytest" / "truth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RULE = _rule()


def _truth(case: Path) -> dict[str, Any]:
    truth: dict[str, Any] = json.loads((case / "truth.json").read_text())
    return truth


def _imported(case: Path) -> tuple[list[AnyEvent], Metrics, int]:
    """The imported events, their fold, and the most workers running at once."""
    _, imported = import_events(str(case / _truth(case)["report"]))
    events = list(imported)
    m = Metrics()
    busiest = 0
    for event in events:
        apply(m, event)
        busiest = max(busiest, sum(1 for w in m.workers.values() if w.state == "running"))
    return events, m, busiest


def test_the_corpus_is_there() -> None:
    names = {case.name for case in CASES}
    for major in (8, 9):
        for kind in ("six", "iniconfig", "more-itertools", "mixed", "reruns", "xdist"):
            assert f"pytest{major}-{kind}" in names
    assert {"pytest8-junit", "pytest9-junit", "pytest9-junit-xdist"} <= names
    assert "unittest-xml-reporting" in names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_truth_follows_the_rule(case: Path) -> None:
    truth = _truth(case)
    assert truth["expected"] == RULE.expected(truth["producer"], truth)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_import_agrees_with_the_producer(case: Path) -> None:
    truth = _truth(case)
    want = truth["expected"]
    events, m, busiest = _imported(case)
    got = {
        "tasks": m.total,
        "succeeded": m.succeeded,
        "failed": m.failed,
        "skipped": m.skipped,
        "outcome": outcome_of(m).value,
        "exit_code": exitcodes.for_metrics(m),
    }
    assert got == {k: want[k] for k in got}
    assert m.processed == m.total and not m.in_flight
    first, last = events[0], events[-1]
    assert isinstance(first, RunStarted) and first.total == want["tasks"]
    assert isinstance(last, RunFinished)
    if truth["exit_status"] != 0:  # a producer's failure signal always fails the run
        assert last.status == "failed" and got["exit_code"] != exitcodes.OK
    lo, hi = want["duration_s"]
    assert lo <= last.t - first.t <= hi
    assert not any(w.state == "running" for w in m.workers.values())
    junit = case.parent.name == "junit"
    if "workers" in want and not junit:
        # pytest-xdist's workers, crashed ones too, and never a "(main)" one; a replacement
        # started after the last crash may have had no test left to run
        assert set(want["workers"][:-1]) <= set(m.workers) <= set(want["workers"])
    assert busiest == want.get("workers_max", 1)  # JUnit names no worker: lanes, as many


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_total_is_stated_from_the_first_event(case: Path) -> None:
    events, m, _ = _imported(case)
    assert not any(isinstance(e, TotalChanged) for e in events)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    progress = Metrics()
    for event in events:
        apply(progress, event)
        if isinstance(event, TaskStarted):
            assert progress.remaining is not None and progress.processed <= progress.total


def test_late_records_are_put_back_in_time_order() -> None:
    # (time, name): "b" arrives 3 s late, "x" has no time, "|" is a session's end
    items = [(1.0, "a"), (4.0, "c"), (1.5, "b"), (None, "x"), (5.0, "d"), (0.5, "|"), (9.0, "e")]
    ordered = in_time_order(items, lambda i: i[0], lambda i: i[1] == "|")
    assert [name for _, name in ordered] == ["a", "b", "x", "c", "d", "|", "e"]


def test_a_file_states_its_total_first_and_stdin_at_its_end(tmp_path: Path) -> None:
    report = CORPUS / "pytest" / "pytest9-mixed" / "report.jsonl"
    want = _truth(report.parent)["expected"]["tasks"]
    from_file, from_stdin = tmp_path / "file.jsonl", tmp_path / "stdin.jsonl"
    assert invoke(["import", str(report), "-o", str(from_file)]).exit_code == 0
    piped = invoke(["import", "-", "-o", str(from_stdin)], input=report.read_bytes())
    assert piped.exit_code == 0
    file_events = [json.loads(line) for line in from_file.read_text().splitlines()]
    stdin_events = [json.loads(line) for line in from_stdin.read_text().splitlines()]
    assert file_events[0]["total"] == want
    assert "total_changed" not in {e["type"] for e in file_events}
    # stdin is read once, as it comes: the total is only known at the end
    assert stdin_events[0].get("total") is None
    assert [e["total"] for e in stdin_events if e["type"] == "total_changed"] == [want]
    assert len(stdin_events) == len(file_events) + 1


def _fold_import(path: Path) -> tuple[list[AnyEvent], Metrics]:
    _, imported = import_events(str(path))
    events = list(imported)
    m = Metrics()
    for event in events:
        apply(m, event)
    return events, m


@pytest.mark.parametrize("suite_error", [True, False])
def test_a_junit_failure_count_fails_the_run_even_without_a_failed_case(
    tmp_path: Path, suite_error: bool
) -> None:
    own = '<error message="beforeAll failed">boom</error>' if suite_error else ""
    xml = (
        '<testsuites><testsuite name="db" tests="1" failures="0" errors="1">'
        f'{own}<testcase classname="db" name="query" time="0.1"/></testsuite></testsuites>'
    )
    path = tmp_path / "report.xml"
    path.write_text(xml)
    events, m = _fold_import(path)
    last = events[-1]
    assert isinstance(last, RunFinished) and last.status == "failed"
    assert exitcodes.for_metrics(m) == exitcodes.PARTIAL_FAILURE
    assert "db: counts 1 failures or errors but lists none" in [e.msg for e in m.recent_logs]


def test_pytest_s_exit_status_fails_the_run_even_when_every_test_passed(tmp_path: Path) -> None:
    # iniconfig's real report, all passed; only its SessionFinish says pytest failed (as an
    # internal error or a plugin's failure would)
    lines = (CORPUS / "pytest" / "pytest9-iniconfig" / "report.jsonl").read_text().splitlines()
    assert json.loads(lines[-1]) == {"exitstatus": 0, "$report_type": "SessionFinish"}
    path = tmp_path / "report.jsonl"
    path.write_text("\n".join([*lines[:-1], '{"exitstatus": 3, "$report_type": "SessionFinish"}']))
    events, m = _fold_import(path)
    last = events[-1]
    assert isinstance(last, RunFinished) and (last.status, last.exit_status) == ("failed", 3)
    assert m.failed == 0 and exitcodes.for_metrics(m) == exitcodes.PARTIAL_FAILURE


def test_a_crash_report_naming_no_worker_stays_on_the_worker_that_ran_the_test(
    tmp_path: Path,
) -> None:
    case = CORPUS / "pytest" / "pytest9-xdist"
    records = [json.loads(line) for line in (case / "report.jsonl").read_text().splitlines()]
    crash = next(r for r in records if r.get("when") == "???")
    setup = next(
        r for r in records if r.get("nodeid") == crash["nodeid"] and r.get("when") == "setup"
    )
    del crash["node"]  # as a report without xdist's "node" field would be
    path = tmp_path / "report.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    events, m = _fold_import(path)
    failed = [e for e in events if isinstance(e, TaskFailed) and e.task == crash["nodeid"]]
    assert [e.worker for e in failed] == [setup["worker_id"]]
    assert "" not in m.workers and not any(w.state == "running" for w in m.workers.values())
