"""Importers: real reports written by pytest, go test, cargo test and JUnit writers become
runreel logs that validate, fold to the tools' own counts, keep the tools' times and replay.

The inputs are in fixtures/real/ (see its SOURCES.md); pytest-reportlog input is also made
here by running pytest with pytest-reportlog (and pytest-xdist) on a tiny suite.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, assert_one_error_line, clean_env, fold_file, invoke

from recorder.events import (
    AnyEvent,
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
from recorder.importers import import_events, importer
from recorder.importers.detect import sniff
from recorder.importers.emitter import Emitter
from recorder.importers.lanes import Lanes
from recorder.importers.times import SYNTHETIC_EPOCH, parse_rfc3339, parse_time
from replay import exitcodes
from replay.core.fold import apply, fold
from replay.core.metrics import Metrics
from replay.sources.file import read_batches

REAL = FIXTURES / "real"

# file: (format, succeeded, failed, skipped, retries, exit code of the imported run)
EXPECTED: dict[str, tuple[str, int, int, int, int, int]] = {
    "six-1.16.0.reportlog.jsonl": ("pytest-reportlog", 198, 1, 1, 0, 2),
    "dorny-golang-json.json": ("gotest", 5, 6, 1, 0, 2),
    "gotestsum-go-test-json.out": ("gotest", 42, 13, 5, 0, 2),
    "gotestsum-go-test-json-with-shuffle.out": ("gotest", 42, 13, 5, 0, 2),
    "gotestsum-go-test-json-with-parallel-fails.out": ("gotest", 4, 8, 0, 0, 2),
    "gotestsum-go-test-json-panic-race-1.out": ("gotest", 1, 1, 0, 0, 2),
    "gotestsum-go-test-json-flaky-rerun.out": ("gotest", 6, 0, 0, 6, 0),
    "cargo2junit-azfunc.json": ("libtest", 489, 0, 5, 0, 0),
    "cargo2junit-cargo_failure.json": ("libtest", 1526, 2, 4, 0, 2),
    "cargo2junit-float_time.json": ("libtest", 1, 0, 0, 0, 0),
    "cargo2junit-timed_out_event.json": ("libtest", 1, 0, 0, 0, 0),
    "dorny-jest-test-results.xml": ("junit", 4207, 2, 30, 0, 2),
    "dorny-python-xunit-pytest.xml": ("junit", 6, 2, 2, 0, 2),
    "dorny-python-xunit-unittest.xml": ("junit", 4, 2, 2, 0, 2),
}


def events_of(path: Path | str, fmt: str | None = None) -> list[AnyEvent]:
    _, events = import_events(str(path), fmt)
    return list(events)


def lines_of(*records: dict[str, Any] | str) -> list[bytes]:
    """Input lines from JSON records (dicts) or raw text."""
    out = []
    for r in records:
        text = r if isinstance(r, str) else json.dumps(r)
        out.append(text.encode() + b"\n")
    return out


def run_import(fmt: str, lines: list[bytes]) -> list[AnyEvent]:
    return list(importer(fmt)(lines, path="input", run="r", name="n"))


def of_type(events: list[AnyEvent], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def assert_well_formed(events: list[AnyEvent], fmt: str) -> None:
    """One writer, seq 1..N, run_started v1 first, at most one run_finished, last."""
    assert isinstance(events[0], RunStarted) and events[0].v == 1
    assert {e.src for e in events} == {f"import:{fmt}"}
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    finished = [i for i, e in enumerate(events) if isinstance(e, RunFinished)]
    assert finished in ([], [len(events) - 1])
    for e in events:
        assert round(e.t, 6) == e.t


# Real files --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_reports_import_to_the_tools_own_counts(name: str, tmp_path: Path) -> None:
    fmt, ok, failed, skipped, retries, code = EXPECTED[name]
    log = tmp_path / "run.jsonl"
    result = invoke(["import", str(REAL / name), "-o", str(log)])
    assert result.exit_code == 0, result.output
    assert f"from {fmt}:" in result.stdout
    events = [e for batch in read_batches(str(log)) for e in batch]
    assert_well_formed(events, fmt)  # type: ignore[arg-type]
    m, report = fold_file(str(log))
    assert (m.succeeded, m.failed, m.skipped, m.retries) == (ok, failed, skipped, retries)
    assert m.finished and not m.in_flight
    assert m.total == m.processed
    assert exitcodes.for_metrics(m) == code
    assert report.skipped_count == 0 and report.torn_line is None
    validated = invoke(["validate", str(log)])
    assert validated.exit_code == 0, validated.output
    assert invoke(["stats", str(log)]).exit_code == code


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_format_is_told_from_the_content(name: str) -> None:
    head = (REAL / name).read_bytes()[: 1 << 16]
    assert sniff(head, name) == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_importing_twice_gives_the_same_bytes(name: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert invoke(["import", str(REAL / name), "-o", str(a)]).exit_code == 0
    assert invoke(["import", str(REAL / name), "-o", str(b)]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_libtest_counts_match_the_suites_own_summaries() -> None:
    for name in ("cargo2junit-cargo_failure.json", "cargo2junit-azfunc.json"):
        passed = failed = ignored = 0
        for raw in (REAL / name).read_bytes().splitlines():
            if raw.startswith(b'{ "type": "suite"') and b'"passed"' in raw:
                summary = json.loads(raw)
                passed += summary["passed"]
                failed += summary["failed"]
                ignored += summary["ignored"]
        m = fold(events_of(REAL / name))
        assert (m.succeeded, m.failed, m.skipped) == (passed, failed, ignored)


def test_junit_counts_match_the_suites_attributes() -> None:
    import xml.etree.ElementTree as ET

    for name in ("dorny-jest-test-results.xml", "dorny-python-xunit-unittest.xml"):
        root = ET.parse(REAL / name).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", 0)) for s in suites)
        cases = sum(len(list(s.iter("testcase"))) for s in suites)
        m = fold(events_of(REAL / name))
        assert (m.failed, m.skipped, m.processed) == (failures, skipped, cases)


# Times ------------------------------------------------------------------------------------


def test_go_times_are_the_streams_times() -> None:
    path = REAL / "gotestsum-go-test-json-with-parallel-fails.out"
    first = json.loads(path.read_bytes().splitlines()[0])
    events = events_of(path)
    assert events[0].t == round(parse_rfc3339(first["Time"]) or 0, 6)
    assert events[0].t == pytest.approx(
        1592697794.189062, abs=1e-6
    )  # 2020-06-20T20:03:14.189062-04:00
    last = json.loads(path.read_bytes().splitlines()[-1])
    assert events[-1].t == round(parse_rfc3339(last["Time"]) or 0, 6)


def test_pytest_times_are_the_reports_start_and_stop() -> None:
    path = REAL / "six-1.16.0.reportlog.jsonl"
    reports = [json.loads(raw) for raw in path.read_bytes().splitlines()]
    tests = [r for r in reports if r["$report_type"] == "TestReport"]
    events = events_of(path)
    assert events[0].t == round(tests[0]["start"], 6)
    started = of_type(events, TaskStarted)
    assert started[0].task == tests[0]["nodeid"]
    assert started[0].t == round(tests[0]["start"], 6)
    ended = [e for e in events if isinstance(e, (TaskSucceeded, TaskFailed, TaskSkipped))]
    assert ended[-1].t == round(tests[-1]["stop"], 6)


def test_junit_cases_are_laid_out_from_suite_timestamps_and_durations() -> None:
    events = events_of(REAL / "dorny-python-xunit-pytest.xml")
    start = parse_time("2025-11-15T11:51:49.548396-05:00")
    assert events[0].t == start
    started = of_type(events, TaskStarted)
    assert started[0].task == "tests.test_lib.test_always_pass"
    assert started[1].t == pytest.approx(start + 0.002)  # after the first case's 0.002 s
    assert events[-1].t == pytest.approx(start + 0.019)  # the suite's time


def test_junit_per_case_timestamps_are_used() -> None:
    doc = b"""<testsuite name="s" timestamp="2024-01-01T00:00:00Z">
      <testcase classname="c" name="a" time="1" timestamp="2024-01-01T00:00:05.5"/>
      <testcase classname="c" name="b" time="2" timestamp="2024-01-01T00:01:00.25"/>
    </testsuite>"""
    events = run_import("junit", [doc])
    base = parse_time("2024-01-01T00:00:00Z") or 0
    started = {e.task: e.t for e in of_type(events, TaskStarted)}
    assert started == {"c.a": base + 5.5, "c.b": base + 60.25}
    ended = {e.task: e.t for e in of_type(events, TaskSucceeded)}
    assert ended == {"c.a": base + 6.5, "c.b": base + 62.25}


def test_inputs_without_times_get_the_documented_synthetic_timeline() -> None:
    events = events_of(REAL / "cargo2junit-float_time.json")
    assert events[0].t == SYNTHETIC_EPOCH + 0.01  # one 10 ms step per record
    started, ended = of_type(events, TaskStarted)[0], of_type(events, TaskSucceeded)[0]
    assert ended.t - started.t == pytest.approx(0.001401918, abs=2e-6)  # its exec_time
    timed_out = events_of(REAL / "cargo2junit-timed_out_event.json")
    warning = of_type(timed_out, Log)[0]
    assert "over 60 seconds" in warning.msg and warning.level == "warning"
    assert of_type(timed_out, TaskSucceeded)[0].t - of_type(timed_out, TaskStarted)[0].t >= 60
    doc = b'<testsuites><testsuite name="s"><testcase name="a" time="2"/></testsuite></testsuites>'
    assert run_import("junit", [doc])[0].t == SYNTHETIC_EPOCH


def test_time_parsing_is_utc_and_ignores_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "2022-06-19T13:44:44.859704199-04:00": 1655660684.859704199,
        "2022-12-14T09:49:01.562401799Z": 1671011341.562401799,
        "2021-01-24T19:21:45": 1611516105.0,
        "2021-01-24 19:21:45,5": 1611516105.5,
        "2025-11-15T11:51:49+0530": 1763187709.0,
    }
    for tz in ("UTC", "America/New_York", "Asia/Kolkata"):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        for text, expected in values.items():
            assert parse_time(text) == pytest.approx(expected, abs=1e-6), text
            if "T" in text and text[-1] in "Z0123456789" and ":" in text[-6:]:
                assert parse_rfc3339(text) == pytest.approx(expected, abs=1e-6), text
    monkeypatch.delenv("TZ")
    time.tzset()
    for bad in ("", "yesterday", "2021-13-01T00:00:00", "2021-01-24T25:00:00"):
        assert parse_time(bad) is None


# Compression and stdin ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress), ("", gzip.compress)],
)
def test_compressed_input_gives_the_same_log(suffix: str, compress: Any, tmp_path: Path) -> None:
    source = REAL / "gotestsum-go-test-json.out"
    packed = tmp_path / f"report{suffix}"
    packed.write_bytes(compress(source.read_bytes()))  # "" : gzip under a plain name
    plain_log, packed_log = tmp_path / "plain.jsonl", tmp_path / "packed.jsonl"
    assert invoke(["import", str(source), "-o", str(plain_log)]).exit_code == 0
    assert invoke(["import", str(packed), "-o", str(packed_log)]).exit_code == 0
    plain, packed_events = fold_file(str(plain_log))[0], fold_file(str(packed_log))[0]
    assert (plain.succeeded, plain.failed, plain.events) == (
        packed_events.succeeded,
        packed_events.failed,
        packed_events.events,
    )
    first = packed_log.read_bytes().splitlines()[0]
    assert json.loads(first)["name"] == "report"  # the compression suffix is not in the name


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_cut_short_compressed_input_is_a_clear_error(compress: Any, tmp_path: Path) -> None:
    data = compress((REAL / "cargo2junit-azfunc.json").read_bytes())
    cut = tmp_path / "cut.json.z"
    cut.write_bytes(data[: len(data) // 2])
    log = tmp_path / "run.jsonl"
    result = invoke(["import", str(cut), "-o", str(log)])
    assert result.exit_code == exitcodes.LOG_INVALID
    assert_one_error_line(result.stderr)
    assert "damaged or cut short" in result.stderr
    assert not log.exists()


def test_stdin_is_read_with_dash(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    data = (REAL / "gotestsum-go-test-json-flaky-rerun.out").read_bytes()
    result = invoke(["import", "-", "-o", str(log)], input=gzip.compress(data))
    assert result.exit_code == 0, result.output
    m = fold_file(str(log))[0]
    assert (m.succeeded, m.retries, m.name) == (6, 6, "stdin")


# Errors ----------------------------------------------------------------------------------


def _error(tmp_path: Path, content: bytes, *args: str, name: str = "in.txt") -> str:
    source = tmp_path / name
    source.write_bytes(content)
    log = tmp_path / "run.jsonl"
    result = invoke(["import", str(source), "-o", str(log), *args])
    assert result.exit_code == exitcodes.LOG_INVALID, result.output
    assert_one_error_line(result.stderr)
    assert not log.exists()
    return result.stderr


@pytest.mark.parametrize(
    "name", ["six-1.16.0.reportlog.jsonl", "gotestsum-go-test-json.out", "cargo2junit-azfunc.json"]
)
def test_a_cut_short_last_line_is_reported_with_its_line(name: str, tmp_path: Path) -> None:
    data = (REAL / name).read_bytes()
    lines = data.splitlines(keepends=True)
    cut = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]
    stderr = _error(tmp_path, cut)
    assert f":{len(lines)}: incomplete JSON" in stderr and "cut short" in stderr


@pytest.mark.parametrize(
    ("fmt", "record"),
    [
        ("pytest-reportlog", '{"$report_type": "TestReport", "nodeid": "t", '),
        ("gotest", '{"Action": "run", "Package": "p", "Test": }'),
        ("libtest", '{ "type": "test", "event": "started" "name": "x" }'),
    ],
)
def test_a_bad_line_in_the_middle_names_its_line(fmt: str, record: str, tmp_path: Path) -> None:
    name = {"pytest-reportlog": "six-1.16.0.reportlog.jsonl", "gotest": "dorny-golang-json.json"}
    source = REAL / name.get(fmt, "cargo2junit-azfunc.json")
    lines = source.read_bytes().splitlines(keepends=True)
    data = b"".join(lines[:5]) + record.encode() + b"\n" + b"".join(lines[5:])
    stderr = _error(tmp_path, data, "--format", fmt)
    assert ":6: invalid JSON (" in stderr and "cut short" not in stderr


def test_a_record_with_wrong_types_is_invalid(tmp_path: Path) -> None:
    stderr = _error(
        tmp_path, b'{"Action": "run", "Package": 5, "Test": "x"}\n', "--format", "gotest"
    )
    assert ":1: unexpected test2json record" in stderr and "$.Package" in stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"hello\nworld\n", "cannot tell the format"),
        (b'{"something": 1}\n', "cannot tell the format"),
        (
            b'{"type":"run_started","v":1,"run":"r","t":1,"src":"s","seq":1}\n',
            "already a runreel log",
        ),
        (b"<html><body/></html>", "not JUnit XML"),
        (b'<testsuites><testsuite name="a"><testcase name="x"', "ends early"),
        (b"<testsuites><testsuite></testcase></testsuites>", "invalid XML"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">]>\n<testsuites/>',
            "DTDs and entities are not allowed",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_65(
    content: bytes, reason: str, tmp_path: Path
) -> None:
    assert reason in _error(tmp_path, content)


def test_a_missing_or_unreadable_input_exits_66(tmp_path: Path) -> None:
    for source in (tmp_path / "missing.xml", tmp_path):
        result = invoke(["import", str(source), "-o", str(tmp_path / "run.jsonl")])
        assert result.exit_code == exitcodes.LOG_UNAVAILABLE
        assert_one_error_line(result.stderr)


def test_a_log_that_holds_data_is_replaced_only_with_force(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    log.write_text("precious\n")
    source = str(REAL / "cargo2junit-float_time.json")
    result = invoke(["import", source, "-o", str(log)])
    assert result.exit_code == exitcodes.IO_ERROR
    assert_one_error_line(result.stderr)
    assert "--force" in result.stderr and log.read_text() == "precious\n"
    assert invoke(["import", source, "-o", str(log), "--force"]).exit_code == 0
    assert fold_file(str(log))[0].succeeded == 1
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    assert invoke(["import", source, "-o", str(empty)]).exit_code == 0


def test_input_and_log_must_differ(tmp_path: Path) -> None:
    source = tmp_path / "r.json"
    source.write_bytes((REAL / "cargo2junit-float_time.json").read_bytes())
    result = invoke(["import", str(source), "-o", str(source), "--force"])
    assert result.exit_code == exitcodes.USAGE
    assert source.read_bytes() == (REAL / "cargo2junit-float_time.json").read_bytes()


def test_an_input_that_stops_mid_run_leaves_the_run_unfinished(tmp_path: Path) -> None:
    lines = (REAL / "cargo2junit-cargo_failure.json").read_bytes().splitlines(keepends=True)
    source = tmp_path / "killed.json"
    source.write_bytes(b"".join(lines[:100]))
    log = tmp_path / "run.jsonl"
    result = invoke(["import", str(source), "-o", str(log)])
    assert result.exit_code == 0
    assert "ends before the run finished" in result.stderr
    m = fold_file(str(log))[0]
    assert not m.finished and exitcodes.for_metrics(m) == exitcodes.INCOMPLETE
    assert invoke(["snapshot", str(log)]).exit_code == exitcodes.INCOMPLETE


def test_format_can_be_forced(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    source = str(REAL / "gotestsum-go-test-json.out")
    assert invoke(["import", "--format", "gotest", source, "-o", str(log)]).exit_code == 0
    wrong = invoke(["import", "--format", "junit", source, "-o", str(log), "--force"])
    assert wrong.exit_code == exitcodes.LOG_INVALID
    assert invoke(["import", "--format", "nope", source, "-o", str(log)]).exit_code == 64


# The wrong --format ------------------------------------------------------------------------

NOT = {
    "pytest-reportlog": "not pytest-reportlog output (",
    "gotest": "not go test -json output (",
    "libtest": "not libtest JSON output (",
    "junit": "not JUnit XML (",
}
FORMATS = sorted(NOT)


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n in sorted(EXPECTED) for f in FORMATS])
def test_each_real_file_imports_as_its_own_format_only(name: str, fmt: str, tmp_path: Path) -> None:
    own = EXPECTED[name][0]
    log = tmp_path / "run.jsonl"
    result = invoke(["import", str(REAL / name), "--format", fmt, "-o", str(log)])
    if fmt == own:
        assert result.exit_code == 0, result.output
        assert fold_file(str(log))[0].processed > 0
        return
    assert result.exit_code == exitcodes.LOG_INVALID, result.output
    assert_one_error_line(result.stderr)
    assert f"{REAL / name}: {NOT[fmt]}" in result.stderr
    assert f"try --format {own})" in result.stderr  # the detector's suggestion
    assert not log.exists() and os.listdir(tmp_path) == []


RANDOM = random.Random(7).randbytes(4096)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the input is empty"),
        (b"\xef\xbb\xbf\n  \n\n", "the input is empty"),
        (RANDOM, "(it looks like binary data)"),
        (RANDOM * 40, "(it looks like binary data)"),  # more than the head
        (gzip.compress(RANDOM), "(it looks like binary data)"),
    ],
)
def test_empty_or_binary_input_is_refused_for_every_format(
    fmt: str, content: bytes, reason: str, tmp_path: Path
) -> None:
    stderr = _error(tmp_path, content, "--format", fmt)
    assert reason in stderr and "Traceback" not in stderr
    if reason.startswith("(it"):
        assert NOT[fmt] in stderr


def test_plain_text_is_no_json_format_but_may_come_with_one(tmp_path: Path) -> None:
    text = b"hello\nworld\n"
    assert "(no test2json record in it)" in _error(tmp_path, text, "--format", "gotest")
    assert "(no libtest record in it)" in _error(tmp_path, text, "--format", "libtest")
    assert "(no pytest report in it)" in _error(tmp_path, text, "--format", "pytest-reportlog")
    assert "(it does not start with an XML element)" in _error(tmp_path, text, "--format", "junit")
    log = tmp_path / "run.jsonl"
    for fmt, name in (("gotest", "dorny-golang-json.json"), ("libtest", "cargo2junit-azfunc.json")):
        source = tmp_path / "mixed.out"  # a build's output (2>&1) before, and more than the head
        source.write_bytes(b"   Compiling some-crate v0.1.0\n" * 3000 + (REAL / name).read_bytes())
        result = invoke(["import", str(source), "--format", fmt, "-o", str(log), "--force"])
        assert result.exit_code == 0, result.output
        assert fold_file(str(log))[0].processed == sum(EXPECTED[name][1:4])


def test_json_of_no_known_format_does_not_count_against_a_stream() -> None:
    suite = [
        {"type": "suite", "event": "started", "test_count": 1},
        {"type": "test", "event": "started", "name": "t"},
        *({"level": "info", "msg": f"log {i}"} for i in range(50)),  # --nocapture prints
        {"type": "test", "event": "ok", "name": "t"},
        {"type": "suite", "event": "ok"},
    ]
    events = run_import("libtest", lines_of(*suite))
    m = fold(events)
    assert (m.succeeded, m.finished) == (1, True)


@pytest.mark.parametrize(
    ("fmt", "records"),
    [
        (
            "gotest",
            [
                {"Time": "2024-05-01T10:00:00Z", "Action": "start", "Package": "example.com/x"},
                {
                    "Time": "2024-05-01T10:00:00Z",
                    "Action": "output",
                    "Package": "example.com/x",
                    "Output": "?   \texample.com/x\t[no test files]\n",
                },
                {"Time": "2024-05-01T10:00:00Z", "Action": "skip", "Package": "example.com/x"},
            ],
        ),
        (
            "pytest-reportlog",
            [
                {"pytest_version": "8.3.2", "$report_type": "SessionStart"},
                {"exitstatus": 5, "$report_type": "SessionFinish"},
            ],
        ),
        (
            "libtest",
            [
                {"type": "suite", "event": "started", "test_count": 0},
                {"type": "suite", "event": "ok", "passed": 0, "exec_time": 0.0},
            ],
        ),
        ("junit", ['<?xml version="1.0"?>', '<testsuites name="none"/>']),
    ],
)
def test_a_run_without_tests_still_imports(
    fmt: str, records: list[dict[str, Any] | str], tmp_path: Path
) -> None:
    source = tmp_path / "none.out"
    source.write_bytes(b"".join(lines_of(*records)))
    log = tmp_path / "run.jsonl"
    for args in (["--format", fmt], []):
        result = invoke(["import", str(source), "-o", str(log), "--force", *args])
        assert result.exit_code == 0, result.output
        assert f"from {fmt}: 0 tests" in result.stdout
        m = fold_file(str(log))[0]
        assert m.finished and m.processed == 0
        assert invoke(["validate", str(log)]).exit_code == 0


def test_a_stream_mostly_of_another_format_is_refused(tmp_path: Path) -> None:
    go = (REAL / "dorny-golang-json.json").read_bytes().splitlines(keepends=True)
    rust = (REAL / "cargo2junit-cargo_failure.json").read_bytes()
    data = b"".join(go[:3]) + rust  # a few test2json records, then a cargo test run
    stderr = _error(tmp_path, data, "--format", "gotest")
    assert NOT["gotest"] in stderr and "look like libtest JSON, only 3 like go test -json" in stderr
    assert stderr.rstrip().endswith("try --format libtest)")
    log = tmp_path / "rust.jsonl"
    (tmp_path / "in.txt").write_bytes(data)
    assert (
        invoke(
            ["import", str(tmp_path / "in.txt"), "--format", "libtest", "-o", str(log)]
        ).exit_code
        == 0
    )
    assert fold_file(str(log))[0].processed == sum(EXPECTED["cargo2junit-cargo_failure.json"][1:4])


def test_another_format_after_a_long_text_head_is_refused_at_the_end(tmp_path: Path) -> None:
    text = b"# noise that fills the head\n" * 3000
    data = text + (REAL / "six-1.16.0.reportlog.jsonl").read_bytes()
    stderr = _error(tmp_path, data, "--format", "gotest")
    assert "(it looks like a pytest report log; try --format pytest-reportlog)" in stderr
    stderr = _error(tmp_path, text + b"<testsuites/>\n", "--format", "libtest")
    assert "(it looks like XML; try --format junit)" not in stderr  # the first line is text
    assert "(no libtest record in it)" in stderr


def test_utf16_junit_passes_the_format_check(tmp_path: Path) -> None:
    text = (REAL / "dorny-python-xunit-pytest.xml").read_text()
    source = tmp_path / "utf16.xml"
    source.write_bytes(text.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16"))
    log = tmp_path / "run.jsonl"
    result = invoke(["import", str(source), "--format", "junit", "-o", str(log)])
    assert result.exit_code == 0, result.output
    assert fold_file(str(log))[0].processed == 10


def test_a_runreel_log_is_refused_for_every_format(tmp_path: Path) -> None:
    log = tmp_path / "made.jsonl"
    assert (
        invoke(["import", str(REAL / "cargo2junit-float_time.json"), "-o", str(log)]).exit_code == 0
    )
    for fmt in FORMATS:
        stderr = _error(tmp_path, log.read_bytes(), "--format", fmt)
        assert "already a runreel log" in stderr


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        ((REAL / "gotestsum-go-test-json.out").read_bytes(), "libtest"),  # refused at the head
        (
            b"# text\n" * 20000 + (REAL / "dorny-golang-json.json").read_bytes(),
            "libtest",
        ),  # at the end
    ],
)
def test_a_refused_import_leaves_an_existing_log_alone(
    content: bytes, fmt: str, tmp_path: Path
) -> None:
    source = tmp_path / "in.out"
    source.write_bytes(content)
    log = tmp_path / "run.jsonl"
    log.write_text("precious\n")
    result = invoke(["import", str(source), "--format", fmt, "-o", str(log), "--force"])
    assert result.exit_code == exitcodes.LOG_INVALID, result.output
    assert_one_error_line(result.stderr)
    assert log.read_text() == "precious\n"
    assert sorted(os.listdir(tmp_path)) == ["in.out", "run.jsonl"]  # no temporary file left


# pytest-reportlog ----------------------------------------------------------------------------

SUITE = """
import sys
import pytest

def test_ok():
    print("hello from test_ok")
    sys.stderr.write("to stderr\\n")

def test_fail():
    assert 1 == 2

@pytest.mark.skip(reason="not today")
def test_skip():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="maybe fixed")
def test_xpass():
    pass

@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup boom")

def test_setup_error(broken):
    pass

@pytest.fixture
def messy():
    yield
    raise RuntimeError("teardown boom")

def test_teardown_error(messy):
    pass

@pytest.mark.parametrize("n", range(6))
def test_many(n):
    pass
"""


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_real_pytest_report_log_imports_with_pytests_outcomes(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "--report-log=report.jsonl")
    assert done.returncode == 1, done.stdout + done.stderr
    events = events_of(tmp_path / "report.jsonl")
    assert_well_formed(events, "pytest-reportlog")
    ended: dict[str, Any] = {
        e.task: e for e in events if isinstance(e, (TaskSucceeded, TaskFailed, TaskSkipped))
    }
    t = "test_tiny.py::"
    assert isinstance(ended[t + "test_ok"], TaskSucceeded)
    assert ended[t + "test_fail"].error == "assert 1 == 2"
    assert ended[t + "test_skip"].reason == "not today"
    assert ended[t + "test_xfail"].reason == "xfail: known bug"
    assert isinstance(ended[t + "test_xpass"], TaskSucceeded)
    assert ended[t + "test_xpass_strict"].error == "[XPASS(strict)] must fail"
    assert ended[t + "test_setup_error"].error == "error in setup: RuntimeError: setup boom"
    assert (
        ended[t + "test_teardown_error"].error == "error in teardown: RuntimeError: teardown boom"
    )
    logs = [(e.level, e.msg) for e in of_type(events, Log)]
    assert ("stdout", "hello from test_ok") in logs and ("stderr", "to stderr") in logs
    assert ("warning", f"{t}test_xpass: XPASS: maybe fixed") in logs
    assert [e.label for e in of_type(events, Mark)] == ["test_tiny.py"]
    m = fold(events)
    assert (m.succeeded, m.failed, m.skipped) == (8, 4, 2)
    assert (m.finished, m.status, m.exit_status, m.total) == (True, "failed", 1, 14)
    assert not any(isinstance(e, TaskStarted) and e.task == t + "test_skip" for e in events)


def test_pytest_xdist_workers_become_workers(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    done = run_pytest(tmp_path, "-n", "2", "--report-log=report.jsonl")
    assert done.returncode == 1, done.stdout + done.stderr
    m = fold(events_of(tmp_path / "report.jsonl"))
    assert set(m.workers) == {"gw0", "gw1"}
    assert (m.succeeded, m.failed, m.skipped) == (8, 4, 2)


def _report(nodeid: str, when: str, outcome: str, start: float, **extra: Any) -> dict[str, Any]:
    return {
        "$report_type": "TestReport",
        "nodeid": nodeid,
        "when": when,
        "outcome": outcome,
        "start": start,
        "stop": start + 0.5,
        "duration": 0.5,
        "longrepr": extra.pop("longrepr", None),
        **extra,
    }


def test_pytest_rerunfailures_reruns_are_retries() -> None:
    crash = {"reprcrash": {"message": "AssertionError: flaky"}}
    lines = lines_of(
        {"$report_type": "SessionStart", "pytest_version": "8.0"},
        _report("t.py::flaky", "setup", "passed", 10),
        _report("t.py::flaky", "call", "rerun", 11, longrepr=crash),
        _report("t.py::flaky", "setup", "passed", 12),
        _report("t.py::flaky", "call", "passed", 13),
        _report("t.py::flaky", "teardown", "passed", 14),
        {"$report_type": "SessionFinish", "exitstatus": 0},
    )
    events = run_import("pytest-reportlog", lines)
    tasks = [
        (type(e).__name__, getattr(e, "attempt", None))
        for e in events
        if "Task" in type(e).__name__
    ]
    assert tasks == [
        ("TaskStarted", 1),
        ("TaskRetrying", 1),
        ("TaskStarted", 2),
        ("TaskSucceeded", None),
    ]
    assert of_type(events, TaskRetrying)[0].error == "AssertionError: flaky"
    m = fold(events)
    assert (m.succeeded, m.failed, m.retries, m.status) == (1, 0, 1, "ok")


def test_a_second_session_in_one_report_log_reruns_failures() -> None:
    crash = {"reprcrash": {"message": "boom"}}

    def session(outcome: str, start: float) -> list[dict[str, Any]]:
        return [
            {"$report_type": "SessionStart"},
            _report("t.py::a", "setup", "passed", start),
            _report(
                "t.py::a",
                "call",
                outcome,
                start + 1,
                longrepr=crash if outcome == "failed" else None,
            ),
            _report("t.py::a", "teardown", "passed", start + 2),
            {"$report_type": "SessionFinish", "exitstatus": 1 if outcome == "failed" else 0},
        ]

    events = run_import("pytest-reportlog", lines_of(*session("failed", 0), *session("passed", 10)))
    m = fold(events)
    assert (m.succeeded, m.failed, m.retries, m.status, m.exit_status) == (1, 0, 1, "ok", 0)
    assert [e.attempt for e in of_type(events, TaskStarted)] == [1, 2]


def test_pytest_report_logs_without_times_get_a_synthetic_timeline() -> None:
    lines = [
        {
            k: v
            for k, v in _report("t.py::a", when, "passed", 0).items()
            if k not in ("start", "stop")
        }
        for when in ("setup", "call", "teardown")
    ]
    events = run_import(
        "pytest-reportlog", lines_of(*lines, {"$report_type": "SessionFinish", "exitstatus": 0})
    )
    assert events[0].t == SYNTHETIC_EPOCH
    assert of_type(events, TaskSucceeded)[0].t == SYNTHETIC_EPOCH + 1.5


def test_a_collection_error_is_a_failed_task() -> None:
    lines = lines_of(
        {"$report_type": "SessionStart"},
        {
            "$report_type": "CollectReport",
            "nodeid": "test_bad.py",
            "outcome": "failed",
            "longrepr": "ImportError while importing test module 'test_bad.py'.\nmore",
        },
        _report("t.py::a", "setup", "passed", 5),
        _report("t.py::a", "call", "passed", 5),
        _report("t.py::a", "teardown", "passed", 5),
        {"$report_type": "SessionFinish", "exitstatus": 2},
    )
    events = run_import("pytest-reportlog", lines)
    failed = of_type(events, TaskFailed)
    assert [(e.task, e.error) for e in failed] == [
        ("test_bad.py", "collection error: ImportError while importing test module 'test_bad.py'.")
    ]
    assert events[-1] == RunFinished(
        t=5.5, src="import:pytest-reportlog", seq=len(events), status="failed", exit_status=2
    )


# go test -json --------------------------------------------------------------------------------


def test_gotestsum_reruns_count_a_flaky_test_as_succeeded() -> None:
    events = events_of(REAL / "gotestsum-go-test-json-flaky-rerun.out")
    attempts = [(e.task, e.attempt) for e in of_type(events, TaskStarted)]
    assert ("flaky.TestFailsOften", 4) in attempts
    assert ("flaky.TestFailsRarely", 2) in attempts
    assert not any(task.endswith("(run 2)") for task, _ in attempts)
    m = fold(events)
    assert (m.succeeded, m.failed, m.retries) == (6, 0, 6)
    assert exitcodes.for_metrics(m) == exitcodes.OK
    errors = [e.error for e in of_type(events, TaskFailed)]
    assert "TestFailsRarely: flaky_test.go:51: not this time" in errors


def test_parallel_go_tests_follow_real_concurrency_and_pause_frees_them() -> None:
    # This stream ran with -parallel 1: each cont comes after the previous test's result
    # (TheThird resumes 10 us after TheFirst failed), so its paused tests never overlapped.
    # fixtures/corpus/go/module (tests/test_corpus_go.py) has tests that really did.
    events = events_of(REAL / "gotestsum-go-test-json-with-parallel-fails.out")
    m = Metrics()
    most_busy = 0
    for e in events:
        apply(m, e)
        most_busy = max(most_busy, sum(w.state == "running" for w in m.workers.values()))
    assert most_busy == 1
    assert {w for w in m.workers} <= {
        "parallelfails",
        "parallelfails #2",
        "parallelfails #3",
        "parallelfails #4",
    }
    starts = [e.task for e in of_type(events, TaskStarted)]
    assert starts.count("parallelfails.TestParallelTheFirst") == 2  # run, then cont
    failed = {e.task: e.error for e in of_type(events, TaskFailed)}
    assert failed["parallelfails.TestNestedParallelFailures"] == "a subtest failed"
    assert failed["parallelfails.TestNestedParallelFailures/a"].endswith("failed sub a")
    assert fold(events).in_flight == {}


def test_a_go_package_that_fails_without_a_failing_test_is_a_failed_task() -> None:
    events = events_of(REAL / "gotestsum-go-test-json-panic-race-1.out")
    failed = of_type(events, TaskFailed)
    assert [(e.task, e.error) for e in failed] == [("test", "panic: test timed out after 1s")]
    main = events_of(REAL / "gotestsum-go-test-json.out")
    errors = {e.task: e.error for e in of_type(main, TaskFailed)}
    assert errors["badmain"] == "sometimes main can exit 2"


def test_go_build_failures_old_and_new_style() -> None:
    t = "2024-05-01T10:00:0{}Z"
    old = lines_of(
        "# example.com/broken",
        "./broken.go:3:1: syntax error: non-declaration statement outside function body",
        {
            "Time": t.format(1),
            "Action": "output",
            "Package": "example.com/broken",
            "Output": "FAIL\texample.com/broken [build failed]\n",
        },
        {"Time": t.format(1), "Action": "fail", "Package": "example.com/broken", "Elapsed": 0},
        {"Time": t.format(2), "Action": "run", "Package": "example.com/ok", "Test": "TestOK"},
        {"Time": t.format(3), "Action": "pass", "Package": "example.com/ok", "Test": "TestOK"},
        {"Time": t.format(3), "Action": "pass", "Package": "example.com/ok"},
    )
    events = run_import("gotest", old)
    assert [(e.task, e.error) for e in of_type(events, TaskFailed)] == [("broken", "build failed")]
    assert [e.msg for e in of_type(events, Log) if e.level == "stderr"][0] == "# example.com/broken"
    assert isinstance(events[-1], RunFinished) and events[-1].status == "failed"
    new = lines_of(
        {
            "ImportPath": "example.com/broken [example.com/broken.test]",
            "Action": "build-output",
            "Output": "# example.com/broken\n",
        },
        {
            "ImportPath": "example.com/broken [example.com/broken.test]",
            "Action": "build-output",
            "Output": "./broken.go:3:1: undefined: nope\n",
        },
        {"ImportPath": "example.com/broken [example.com/broken.test]", "Action": "build-fail"},
        {"Time": t.format(1), "Action": "start", "Package": "example.com/broken"},
        {
            "Time": t.format(1),
            "Action": "fail",
            "Package": "example.com/broken",
            "Elapsed": 0,
            "FailedBuild": "example.com/broken [example.com/broken.test]",
        },
    )
    events = run_import("gotest", new)
    assert [(e.task, e.error) for e in of_type(events, TaskFailed)] == [
        ("broken", "build failed: ./broken.go:3:1: undefined: nope")
    ]


def test_a_go_test_that_runs_again_after_passing_is_a_new_task() -> None:
    t = "2024-05-01T10:00:0{}Z"
    run = [
        {"Time": t.format(i), "Action": action, "Package": "p", "Test": "TestA"}
        for i, action in ((1, "run"), (2, "pass"), (3, "run"), (4, "pass"))
    ]
    events = run_import(
        "gotest", lines_of(*run, {"Time": t.format(5), "Action": "pass", "Package": "p"})
    )
    assert [e.task for e in of_type(events, TaskSucceeded)] == ["p.TestA", "p.TestA (run 2)"]
    assert fold(events).succeeded == 2


def test_go_packages_get_short_unique_names() -> None:
    t = "2024-05-01T10:00:00Z"
    lines = lines_of(
        *(
            {"Time": t, "Action": action, "Package": pkg, "Test": "TestX"}
            for pkg in ("a.com/x/util", "b.com/y/util")
            for action in ("run", "pass")
        )
    )
    events = run_import("gotest", lines)
    assert [e.task for e in of_type(events, TaskStarted)] == ["util.TestX", "y/util.TestX"]


# libtest ----------------------------------------------------------------------------------------


def test_several_libtest_suites_in_one_stream() -> None:
    events = events_of(REAL / "cargo2junit-azfunc.json")
    marks = [e.label for e in of_type(events, Mark)]
    assert marks[0] == "suite 1" and len(marks) > 3
    first = events[0]
    assert isinstance(first, RunStarted) and first.total == 494  # a file is counted first
    path = REAL / "cargo2junit-azfunc.json"
    streamed = list(
        importer("libtest")(iter(path.read_bytes().splitlines(True)), path="-", run="r", name="n")
    )
    totals = [e.total for e in of_type(streamed, TotalChanged)]  # a stream learns it as it goes
    assert totals == sorted(totals) and totals[-1] == 494
    names = {e.task for e in of_type(events, TaskStarted)}
    assert "src\\lib.rs - func (line 47)" in names  # an unescaped backslash, read literally
    assert fold(events).workers.keys() >= {"thread 01", "thread 02"}


def test_libtest_output_and_panics() -> None:
    events = events_of(REAL / "cargo2junit-cargo_failure.json")
    errors = {e.task: e.error for e in of_type(events, TaskFailed)}
    assert errors["aaa_trigger_cross_compile_disabled_check"].startswith(
        "panicked at 'Cannot cross compile to i686-pc-windows-msvc."
    )
    logs = [e.msg for e in of_type(events, Log)]
    assert (
        "Initialized empty Git repository in C:/src/rust-lang/cargo/target/cit/t816/.git/" in logs
    )


def test_libtest_names_repeated_in_a_later_suite_are_kept_apart() -> None:
    def suite(*records: dict[str, Any]) -> list[dict[str, Any]]:
        count = sum(r.get("event") == "started" for r in records)
        return [
            {"type": "suite", "event": "started", "test_count": count},
            *records,
            {"type": "suite", "event": "ok", "passed": count, "failed": 0, "ignored": 0},
        ]

    start, ok = (
        {"type": "test", "event": "started", "name": "it_works"},
        {"type": "test", "event": "ok", "name": "it_works"},
    )
    bench = {"type": "bench", "name": "it_works", "median": 120, "deviation": 3}
    events = run_import(
        "libtest", lines_of(*suite(start, ok), *suite(start, ok), *suite(start, bench))
    )
    assert [e.task for e in of_type(events, TaskSucceeded)] == [
        "it_works",
        "it_works (suite 2)",
        "it_works (suite 3)",
    ]
    gauges = of_type(events, Metric)
    assert [(g.name, g.value, g.labels) for g in gauges] == [
        ("bench_median_ns", 120.0, {"bench": "it_works"}),
        ("bench_deviation_ns", 3.0, {"bench": "it_works"}),
    ]
    assert fold(events).status == "ok"


# JUnit -------------------------------------------------------------------------------------------


def test_parallel_jest_suites_are_spread_over_workers() -> None:
    events = events_of(REAL / "dorny-jest-test-results.xml")
    m = Metrics()
    most_busy = 0
    for e in events:
        apply(m, e)
        most_busy = max(most_busy, sum(w.state == "running" for w in m.workers.values()))
        for w in m.workers.values():  # one lane never runs two suites' cases at once
            assert w.task is None or w.task in m.in_flight
    assert 2 <= most_busy <= len(m.workers) <= 8
    assert len(of_type(events, Mark)) == 400
    assert [e.t for e in events] == sorted(e.t for e in events)


def test_junit_flaky_and_rerun_failures_are_retries() -> None:
    doc = b"""<testsuite name="surefire" timestamp="2024-01-01T00:00:00">
      <testcase classname="a.B" name="flaky" time="3">
        <flakyFailure message="first" type="java.lang.AssertionError"/>
        <flakyError message="second" type="java.io.IOException"/>
      </testcase>
      <testcase classname="a.B" name="broken" time="1">
        <failure message="one" type="AssertionError"/>
        <rerunFailure message="two" type="AssertionError"/>
      </testcase>
      <testcase classname="a.B" name="off">
        <skipped message="flaky upstream" type="pytest.xfail"/>
      </testcase>
      <testcase classname="a.B" name="err"><error message="kaput"/><system-out>line 1
line 2</system-out></testcase>
    </testsuite>"""
    events = run_import("junit", [doc])
    retries = [(e.task, e.attempt, e.error) for e in of_type(events, TaskRetrying)]
    assert retries == [
        ("a.B.flaky", 1, "java.lang.AssertionError: first"),
        ("a.B.flaky", 2, "java.io.IOException: second"),
        ("a.B.broken", 1, "AssertionError: one"),
    ]
    assert [(e.task, e.error) for e in of_type(events, TaskFailed)] == [
        ("a.B.broken", "AssertionError: two"),
        ("a.B.err", "kaput"),
    ]
    assert of_type(events, TaskSkipped)[0].reason == "xfail: flaky upstream"
    assert [e.msg for e in of_type(events, Log)] == ["line 1", "line 2"]
    m = fold(events)
    assert (m.succeeded, m.failed, m.skipped, m.retries) == (1, 2, 1, 3)


def test_junit_duplicate_names_get_their_suite() -> None:
    doc = b"""<testsuites>
      <testsuite name="one"><testcase name="same" time="1"/></testsuite>
      <testsuite name="two">
        <testcase name="same" time="1"/><testcase name="same" time="1"/>
      </testsuite>
    </testsuites>"""
    tasks = [e.task for e in of_type(run_import("junit", [doc]), TaskSucceeded)]
    assert tasks == ["same", "two: same", "two: same (2)"]


def test_junit_whole_second_timestamps_never_overlap_in_a_lane() -> None:
    doc = b"""<testsuites>
      <testsuite name="a" timestamp="2024-01-01T00:00:00" time="1.5">
        <testcase name="a1" time="1.5"/>
      </testsuite>
      <testsuite name="b" timestamp="2024-01-01T00:00:01" time="1">
        <testcase name="b1" time="1"/>
      </testsuite>
    </testsuites>"""
    events = run_import("junit", [doc])
    base = parse_time("2024-01-01T00:00:00") or 0
    started = {e.task: (e.t, e.worker) for e in of_type(events, TaskStarted)}
    assert started == {"a1": (base, "worker 01"), "b1": (base + 1.5, "worker 01")}


# The shared machinery ----------------------------------------------------------------------------


def test_emitter_attempts_and_new_runs() -> None:
    em = Emitter("x", "run", "name")
    assert em.begin(1, "k").attempt == 1
    assert isinstance(em.end(2, "k", "failed", "e"), TaskFailed)
    again = em.begin(3, "k")
    assert (again.task, again.attempt) == ("k", 2)
    assert isinstance(em.end(4, "k", "succeeded"), TaskSucceeded)
    assert not em.failed
    fresh = em.begin(5, "k")
    assert (fresh.task, fresh.attempt) == ("k (run 2)", 1)
    skipped = em.end(6, "never-started", "skipped", "why")
    assert isinstance(skipped, TaskSkipped) and skipped.reason == "why"
    assert em.open_tasks() == ["k (run 2)"]


def test_lanes_reuse_the_lowest_free_lane() -> None:
    lanes = Lanes(lambda k: f"L{k}")
    assert [lanes.take("a"), lanes.take("b"), lanes.take("c")] == ["L1", "L2", "L3"]
    lanes.release("b")
    assert lanes.take("d") == "L2"
    assert lanes.give("a", "a/sub") == "L1" and lanes.name_of("a") is None
    lanes.release("a/sub")
    assert lanes.take("e") == "L1" and lanes.count == 3


def test_events_stream_lazily() -> None:
    def endless() -> Iterator[bytes]:
        n = 0
        while True:
            n += 1
            yield json.dumps({"type": "test", "event": "started", "name": f"t{n}"}).encode() + b"\n"

    stream = importer("libtest")(endless(), path="x", run="r", name="n")
    first = [next(stream) for _ in range(5)]
    assert isinstance(first[0], RunStarted)


def test_an_imported_run_replays_and_snapshots(tmp_path: Path) -> None:
    log = tmp_path / "jest.jsonl"
    assert (
        invoke(["import", str(REAL / "dorny-jest-test-results.xml"), "-o", str(log)]).exit_code == 0
    )
    half = invoke(["snapshot", str(log), "--at", "50%"])
    assert half.exit_code == exitcodes.INCOMPLETE
    assert "worker 01" in half.stdout and "dorny-jest-test-results.xml" in half.stdout
    assert invoke(["snapshot", str(log)]).exit_code == exitcodes.PARTIAL_FAILURE
    assert os.path.getsize(log) > 0
