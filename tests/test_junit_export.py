"""``runreel export --format junit``: read back with junitparser (a JUnit reader that is not
ours) and round-tripped through ``runreel import``, on the fixtures and on real reports."""

from __future__ import annotations

import json
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import FIXTURES, fold_file, invoke
from junitparser import Failure, Skipped, xunit2

from recorder.writer import Recorder
from replay.core.metrics import Metrics
from replay.core.text import safe
from replay.core.when import END
from replay.outputs.junit import Attempt, Case, junit, read_cases, read_suites, suites_of
from replay.store.access import store_at

REAL = FIXTURES / "real"
FINISHED = ("all_succeeded", "partial_failure", "total_failure", "with_retries", "many_workers")
FINISHED += ("busy_run", "no_tasks")
REAL_REPORTS = (
    "six-1.16.0.reportlog.jsonl",  # pytest: 199 tests, 1 failed, 1 skipped
    "gotestsum-go-test-json-flaky-rerun.out",  # go test -count: re-runs
    "cargo2junit-cargo_failure.json",  # libtest: cargo's own suite, 3 failed
    "dorny-jest-test-results.xml",  # jest-junit: 4239 cases in 400 suites
    "dorny-python-xunit-pytest.xml",
)


def export(log: str | Path, *args: str) -> str:
    result = invoke(["export", str(log), "--format", "junit", *args])
    assert result.exit_code == invoke(["snapshot", str(log), *args]).exit_code, result.output
    return result.stdout


def read(xml: str) -> xunit2.JUnitXml:
    doc = xunit2.JUnitXml.fromstring(xml)
    assert isinstance(doc, xunit2.JUnitXml)
    return doc


def cases_of(doc: xunit2.JUnitXml) -> dict[str, xunit2.TestCase]:
    out: dict[str, xunit2.TestCase] = {}
    for suite in doc:
        for case in suite:
            assert case.name not in out, f"task {case.name} twice"
            out[case.name] = case
    return out


def is_failure(case: xunit2.TestCase) -> bool:
    return any(isinstance(r, Failure) for r in case.result)


def task_ids(log: str | Path) -> set[str]:
    """Every task the log names, read straight from its lines."""
    ids = set()
    for line in Path(log).read_bytes().splitlines():
        event = json.loads(line)
        if "task" in event:
            ids.add(event["task"])
    return ids


def counts(m: Metrics) -> tuple[int, int, int, int]:
    return (m.succeeded, m.failed, m.skipped, m.retries)


def imported_back(xml: str, tmp_path: Path) -> Metrics:
    report = tmp_path / "export.xml"
    report.write_text(xml, encoding="utf-8")
    back = tmp_path / "back.jsonl"
    result = invoke(["import", str(report), "-o", str(back)])
    assert result.exit_code == 0, result.output
    return fold_file(str(back))[0]


@pytest.mark.parametrize("name", [*FINISHED, "unfinished", "hostile"])
def test_every_task_is_one_case_with_the_fold_s_counts(name: str) -> None:
    log = FIXTURES / f"{name}.jsonl"
    m, _ = fold_file(str(log), lenient=name == "hostile")
    args = ("--lenient",) if name == "hostile" else ()
    xml = export(log, *args)
    assert not any(ord(c) < 0x20 and c not in "\n\t" for c in xml)  # nothing raw reaches XML
    doc = read(xml)
    by_name = cases_of(doc)
    if name != "hostile":  # hostile's ids carry controls, shown as symbols
        assert set(by_name) == task_ids(log)
    assert len(by_name) == m.succeeded + m.failed + m.skipped + len(m.in_flight)
    failures = sum(1 for c in by_name.values() if is_failure(c))
    errors = sum(1 for c in by_name.values() if c.is_error)
    skipped = sum(1 for c in by_name.values() if c.is_skipped)
    assert (failures, errors, skipped) == (m.failed, len(m.in_flight), m.skipped)
    keys = ("tests", "failures", "errors", "skipped")
    sums = dict.fromkeys(keys, 0)
    for suite in doc:
        ours = {k: int(getattr(suite, k)) for k in keys}
        suite.update_statistics()  # junitparser's own count of the suite's cases
        assert ours == {k: int(getattr(suite, k)) for k in keys}
        sums = {k: sums[k] + ours[k] for k in keys}
    root = ET.fromstring(export(log, *args))
    assert {k: int(root.get(k, "-1")) for k in keys} == sums
    assert doc.name == m.name or name == "hostile"


@pytest.mark.parametrize("name", [n for n in FINISHED if n != "no_tasks"])
def test_a_round_trip_through_import_keeps_the_counts(name: str, tmp_path: Path) -> None:
    log = FIXTURES / f"{name}.jsonl"
    m, _ = fold_file(str(log))
    back = imported_back(export(log), tmp_path)
    assert counts(back) == counts(m)
    assert back.total == m.succeeded + m.failed + m.skipped


@pytest.mark.parametrize("report", REAL_REPORTS)
def test_a_real_report_survives_import_export_import(report: str, tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    assert invoke(["import", str(REAL / report), "-o", str(first)]).exit_code == 0
    m, _ = fold_file(str(first))
    assert m.succeeded + m.failed > 0
    xml = export(first)
    assert len(cases_of(read(xml))) == m.succeeded + m.failed + m.skipped
    back = imported_back(xml, tmp_path)
    assert counts(back) == counts(m)
    # Each suite is a worker's span, so the lanes come back: none invented, none merged.
    assert len(back.workers) == len(m.workers)


def test_retries_follow_surefire(tmp_path: Path) -> None:
    """A task that failed then succeeded is flaky; one that failed every time has its first
    failure as <failure> and the later ones as <rerunFailure>; the detail is the text."""
    log = tmp_path / "r.jsonl"
    with Recorder(log, name="retries") as rec:
        rec.task_started("flaky", worker="w1")
        rec.retry("flaky", worker="w1", error="TimeoutError: slow", detail="trace 1")
        rec.task_started("flaky", worker="w1", attempt=2)
        rec.succeeded("flaky", worker="w1")
        rec.task_started("broken", worker="w2")
        rec.retry("broken", worker="w2", error="KeyError: 'a'", detail="trace a")
        rec.task_started("broken", worker="w2", attempt=2)
        rec.retry("broken", worker="w2", attempt=2, error="KeyError: 'b'", detail="trace b")
        rec.task_started("broken", worker="w2", attempt=3)
        rec.failed("broken", worker="w2", error="KeyError: 'c'", detail="Traceback:\n  line c")
        rec.skip("later", reason="not on this platform")
    by_name = cases_of(read(export(log)))
    flaky = by_name["flaky"]
    assert flaky.is_passed and flaky.is_flaky
    assert [(f.message, f.type, f.stack_trace) for f in flaky.flaky_failures()] == [
        ("TimeoutError: slow", "TimeoutError", "trace 1")
    ]
    broken = by_name["broken"]
    (failure,) = [r for r in broken.result if isinstance(r, Failure)]
    assert (failure.message, failure.type, failure.text) == ("KeyError: 'a'", "KeyError", "trace a")
    assert [(f.message, f.stack_trace) for f in broken.rerun_failures()] == [
        ("KeyError: 'b'", "trace b"),
        ("KeyError: 'c'", "Traceback:\n  line c"),
    ]
    assert [p.value for p in broken.properties() if p.name == "attempts"] == ["3"]
    (skip,) = by_name["later"].result
    assert isinstance(skip, Skipped) and skip.message == "not on this platform"
    back = imported_back(export(log), tmp_path)
    assert counts(back) == (1, 1, 1, 3)
    assert back.recent_errors[-1].error == "KeyError: 'c'"


def test_times_and_suites_per_worker(tmp_path: Path) -> None:
    log = FIXTURES / "partial_failure.jsonl"
    doc = read(export(log))
    assert [s.name for s in doc] == ["w1", "w2"]  # by the workers' names
    events = [json.loads(line) for line in log.read_bytes().splitlines()]
    started = {e["task"]: e["t"] for e in events if e["type"] == "task_started"}
    ended = {e["task"]: e["t"] for e in events if e["type"] in ("task_succeeded", "task_failed")}
    for name, case in cases_of(doc).items():
        assert case.time == pytest.approx(ended[name] - started[name], abs=1e-6)
    root = ET.fromstring(export(log))
    first = root.find("testsuite")
    assert first is not None and first.get("timestamp") == "2023-11-14T22:13:21.000000+00:00"
    # The whole report's time is the run's, from its first event to its last.
    assert float(root.get("time", "")) == pytest.approx(events[-1]["t"] - events[0]["t"])
    assert root.get("timestamp") == "2023-11-14T22:13:20.000000+00:00"
    assert events[0]["t"] == 1700000000.0


def test_at_exports_the_state_then(tmp_path: Path) -> None:
    """--at: a failure that was retried later is still a failure then; a running task is
    an unfinished error."""
    log = FIXTURES / "with_retries.jsonl"
    end = cases_of(read(export(log)))
    assert all(c.is_passed for c in end.values())
    then = cases_of(read(export(log, "--at", "#8")))  # up-c has just failed, up-a is running
    assert set(then) == {"up-a", "up-b", "up-c"}
    assert then["up-b"].is_passed
    failure = [r for r in then["up-c"].result if isinstance(r, Failure)]
    assert [f.message for f in failure] == ["HTTPError: 503 Service Unavailable"]
    assert then["up-a"].is_error and then["up-a"].result[0].type == "unfinished"
    assert invoke(["export", str(log), "--format", "junit", "--at", "#8"]).exit_code == 3


def test_same_log_same_bytes_whatever_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    log = FIXTURES / "busy_run.jsonl"
    first = export(log)
    monkeypatch.setenv("TZ", "America/St_Johns")
    time.tzset()
    try:
        assert export(log) == first
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_output_file_by_extension(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    result = invoke(["export", str(FIXTURES / "partial_failure.jsonl"), "-o", str(out)])
    assert result.exit_code == 2, result.output  # the partial failure's code
    assert out.read_text(encoding="utf-8") == export(FIXTURES / "partial_failure.jsonl")


HOSTILE = "nul\x00 esc\x1b[2J bell\x07 cr\r del\x7f c1\x85 ]]> & <b>\"q\" 'a' \ufffe\uffff"


def test_hostile_text_makes_well_formed_xml() -> None:
    failures = (
        Attempt(1, "retried", f"E: {HOSTILE}", f"detail {HOSTILE}\ud800"),
        Attempt(2, "failed", f"E: {HOSTILE}", f"last\n{HOSTILE}\n\tindented"),
    )
    case = Case(f"t {HOSTILE}", "failed", f"w {HOSTILE}", 2, 10.0, 12.0, "E: x", "", failures)
    skip = Case("s", "skipped", "", 0, None, 11.0, "", f"why {HOSTILE}")
    cases = sorted([case, skip], key=lambda c: c.worker)
    xml = junit(suites_of(cases, 20.0), cases, name=f"run {HOSTILE}", run="r\x1b", now=20.0)
    raw = xml.encode("utf-8")
    assert not any(b < 0x20 and b not in b"\n\t" for b in raw)
    assert b"]]>" not in raw and "\x85" not in xml and "\ufffe" not in xml
    root = ET.fromstring(raw)  # well-formed for a strict parser
    doc = read(xml)
    by_name = cases_of(doc)
    (name,) = set(by_name) - {"s"}
    (failure,) = [r for r in by_name[name].result if isinstance(r, Failure)]
    assert failure.text.startswith("detail nul␀") and "]]> & <b>" in failure.text
    (rerun,) = by_name[name].rerun_failures()
    assert rerun.stack_trace.endswith("\n\tindented")  # newlines and tabs stay text
    shown = safe(HOSTILE, one_line=False, limit=len(HOSTILE)).replace("\ufffe", "\ufffd")
    shown = shown.replace("\uffff", "\ufffd")
    assert name == f"t {shown}"
    assert [s.name for s in doc] == [f"run {shown}", f"w {shown}"]  # no worker: the run's
    assert root.get("name") == f"run {shown}"
    assert by_name["s"].result[0].message == f"why {shown}"


def test_the_store_s_suites_are_the_cases_suites() -> None:
    """The suites read with SQL from the store agree with the same cases counted here."""
    with store_at(str(FIXTURES / "unfinished.jsonl"), END) as answer:
        now = fold_file(str(FIXTURES / "unfinished.jsonl"))[0].last_t or 0.0
        suites = read_suites(answer.conn, now)
        cases = list(read_cases(answer.conn))
    assert suites == suites_of(cases, now)
    assert [c.worker for c in cases] == sorted(c.worker for c in cases)  # grouped in order
    assert sum(s.errors for s in suites) == 2 and sum(s.failures for s in suites) == 1


def test_a_log_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke(["export", str(tmp_path / "missing.jsonl"), "--format", "junit"])
    assert result.exit_code == 66
    bad = invoke(["export", str(FIXTURES / "corrupt_middle.jsonl"), "--format", "junit"])
    assert bad.exit_code == 65 and "Traceback" not in bad.output
    mark = invoke(
        ["export", str(FIXTURES / "with_retries.jsonl"), "-o", "x.xml", "--at", "mark:nope"]
    )
    assert mark.exit_code == 64


def test_thousands_of_tasks_on_seven_workers(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    with Recorder(log, name="big", total=3000) as rec:
        for i in range(3000):
            rec.task_started(f"t{i:04d}", worker=f"w{i % 7}")
            if i % 100 == 0:
                rec.failed(f"t{i:04d}", worker=f"w{i % 7}", error=f"E{i}: boom")
            else:
                rec.succeeded(f"t{i:04d}", worker=f"w{i % 7}")
    doc = read(export(log))
    assert len(cases_of(doc)) == 3000
    assert sorted(s.name for s in doc) == [f"w{i}" for i in range(7)]
    assert sum(int(s.failures) for s in doc) == 30
