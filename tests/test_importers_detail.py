"""The ``detail`` importers and the live pytest plugin give a failed test: the producer's own
failure text, read here from the report itself (never typed by hand).

Real reports are in fixtures/real/ (see its SOURCES.md); pytest reports are also made here by
running pytest, with pytest-reportlog and runreel's plugin at once, on a suite of failures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from _pytest.reports import CollectReport, TestReport
from conftest import FIXTURES, clean_env

from recorder.detail import MAX_DETAIL
from recorder.events import AnyEvent, TaskFailed, TaskRetrying
from recorder.importers import import_events, importer
from replay.sources.file import read_batches

REAL = FIXTURES / "real"
FRAMING = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME")


def imported(path: Path) -> list[AnyEvent]:
    _, events = import_events(str(path), None)
    return list(events)


def failures(events: list[Any]) -> list[TaskFailed]:
    return [e for e in events if isinstance(e, TaskFailed)]


def trimmed(lines: list[str]) -> str:
    """Lines joined, without blank lines at either end (as a detail keeps them)."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return "\n".join(lines)


# pytest ---------------------------------------------------------------------------------------


def pytest_text(record: dict[str, Any]) -> str:
    """The failure as pytest itself prints it, from the report's JSON form."""
    cls = TestReport if record["$report_type"] == "TestReport" else CollectReport
    copy = json.loads(json.dumps(record))  # _from_json changes what it is given
    return str(cls._from_json(copy).longreprtext)


def same_text(text: str) -> str:
    """A failure's text with pytest's separator lines, which are as wide as the terminal
    that printed them, made one width."""
    return re.sub(r"(?m)^(_ )+_? *$", "_ _ _", text)


def test_the_real_pytest_report_log_gives_pytests_own_traceback() -> None:
    path = REAL / "six-1.16.0.reportlog.jsonl"
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    failed = [r for r in records if r.get("outcome") == "failed"]
    assert failed
    by_task = {e.task: e for e in failures(imported(path))}
    for record in failed:
        event = by_task[record["nodeid"]]
        assert same_text(event.detail) == same_text(pytest_text(record))
        for entry in record["longrepr"]["reprtraceback"]["reprentries"]:
            for line in entry["data"]["lines"]:
                assert line in event.detail
            where = entry["data"]["reprfileloc"]
            assert f"{where['path']}:{where['lineno']}" in event.detail
        assert event.error == record["longrepr"]["reprcrash"]["message"]


SUITE = """
import pytest

def helper(x):
    return {}[x]

def test_plain():
    assert [1, 2, 3] == [1, 2, 4]

def test_chained():
    try:
        helper("key")
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc

@pytest.fixture
def broken():
    raise OSError("setup boom")

def test_setup_error(broken):
    pass

@pytest.fixture
def messy():
    yield
    raise ValueError("teardown boom")

def test_teardown_error(messy):
    pass

def test_locals():
    numbers = list(range(3))
    assert sum(numbers) == 4

def test_passes():
    pass
"""
BROKEN = "def test_x(:\n    pass\n"


@pytest.mark.parametrize("tb", ["auto", "long", "short", "native", "line"])
def test_pytest_runs_give_the_same_detail_live_and_imported(tmp_path: Path, tb: str) -> None:
    (tmp_path / "test_fails.py").write_text(SUITE)
    (tmp_path / "test_broken.py").write_text(BROKEN)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--tb={tb}", "-l"]
        + ["--continue-on-collection-errors", "--report-log=report.jsonl", "--runreel=live.jsonl"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (1, 2), done.stdout + done.stderr
    records = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    expected: dict[str, str] = {}
    for r in records:
        if r.get("outcome") == "failed" and r["nodeid"] not in expected:
            expected[r["nodeid"]] = same_text(pytest_text(r))
    assert {"test_fails.py::test_chained", "test_broken.py"} <= set(expected)
    live = [e for batch in read_batches(str(tmp_path / "live.jsonl")) for e in batch]
    for events in (imported(tmp_path / "report.jsonl"), live):
        got = {e.task: same_text(e.detail) for e in failures(events)}
        assert got == expected
    if tb in ("auto", "long", "native"):
        chained = expected["test_fails.py::test_chained"]
        assert "KeyError: 'key'" in chained and "RuntimeError: lookup failed" in chained
    assert "SyntaxError" in expected["test_broken.py"]


def test_a_rerun_keeps_its_traceback_on_the_retry() -> None:
    longrepr = {
        "reprcrash": {"path": "t.py", "lineno": 3, "message": "AssertionError: flaky"},
        "reprtraceback": {
            "reprentries": [
                {"type": "ReprEntryNative", "data": {"lines": ["Traceback (most recent...)\n"]}}
            ],
            "extraline": None,
            "style": "native",
        },
        "sections": [],
        "chain": None,
    }
    base = {"$report_type": "TestReport", "nodeid": "t.py::flaky", "duration": 0.5}
    lines = [
        json.dumps({**base, "when": "setup", "outcome": "passed", "start": 10, "stop": 10.5}),
        json.dumps(
            {**base, "when": "call", "outcome": "rerun", "start": 11, "stop": 11.5}
            | {"longrepr": longrepr}
        ),
    ]
    events = list(
        importer("pytest-reportlog")(
            [(x + "\n").encode() for x in lines], path="t", run="r", name="n"
        )
    )
    [retry] = [e for e in events if isinstance(e, TaskRetrying)]
    assert retry.error == "AssertionError: flaky"
    assert retry.detail == "Traceback (most recent...)"


# go test -json --------------------------------------------------------------------------------


GO_FILES = sorted(p.name for p in REAL.iterdir() if "go-test-json" in p.name or "golang" in p.name)


@pytest.mark.parametrize("name", GO_FILES)
def test_go_failures_carry_the_tests_own_output(name: str) -> None:
    path = REAL / name
    output: dict[tuple[str, str], list[str]] = defaultdict(list)
    expected: list[tuple[str, str]] = []  # (test, detail) for every "fail" of a test
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        test = record.get("Test")
        if not test:
            continue
        key = (record.get("Package", ""), test)
        action = record.get("Action")
        if action == "run":
            output[key] = []
        elif action == "output" and not record["Output"].startswith(FRAMING):
            output[key].append(record["Output"].rstrip("\r\n"))
        elif action == "fail":
            expected.append((test, trimmed(output[key])))
    events = failures(imported(path))
    assert len(expected) <= len(events)
    left = list(events)
    for test, detail in expected:
        match = next(
            e
            for e in left
            if (e.task.endswith("." + test) or f".{test} (run " in e.task) and e.detail == detail
        )
        left.remove(match)
        if detail:
            assert match.error in detail or match.error == "a subtest failed"


def test_a_go_panic_is_the_detail_of_its_package() -> None:
    path = REAL / "gotestsum-go-test-json-panic-race-1.out"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    said = [r["Output"].rstrip("\n") for r in records if r.get("Action") == "output"]
    panic = next(i for i, line in enumerate(said) if line.startswith("panic: "))
    [event] = failures(imported(path))
    assert event.error == said[panic]
    assert event.detail == trimmed(said[panic:])
    assert "goroutine 1 [runnable]:" in event.detail and event.detail.startswith("panic: ")


def test_the_detail_of_a_test_that_printed_a_lot_is_bounded() -> None:
    def record(action: str, **more: Any) -> bytes:
        fields = {"Time": "2024-01-01T00:00:00Z", "Action": action, "Package": "p", **more}
        return json.dumps(fields).encode() + b"\n"

    lines = [record("run", Test="TestBig")]
    lines += [record("output", Test="TestBig", Output=f"line {i}\n") for i in range(50_000)]
    lines += [record("fail", Test="TestBig"), record("fail")]
    [event] = failures(list(importer("gotest")(lines, path="in", run="r", name="n")))
    assert len(event.detail) <= MAX_DETAIL + 100
    assert event.detail.startswith("line 0\nline 1\n") and event.detail.endswith("line 49999")
    assert "characters cut ...]" in event.detail


# libtest ---------------------------------------------------------------------------------------


def test_libtest_failures_carry_the_tests_stdout() -> None:
    path = REAL / "cargo2junit-cargo_failure.json"
    failed = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("type") == "test" and record.get("event") == "failed":
                failed.append(record)
    assert len(failed) == 2
    by_task = {e.task: e for e in failures(imported(path))}
    for record in failed:
        event = by_task[record["name"]]
        assert event.detail == record["stdout"].strip("\n")
        assert "panicked at" in event.detail


def test_a_libtest_message_comes_before_the_output() -> None:
    records = [
        {"type": "suite", "event": "started", "test_count": 1},
        {"type": "test", "event": "started", "name": "t"},
        {
            "type": "test",
            "name": "t",
            "event": "failed",
            "message": "did not panic",
            "stdout": "some output\n",
        },
        {"type": "suite", "event": "failed"},
    ]
    lines = [json.dumps(r).encode() + b"\n" for r in records]
    [event] = failures(list(importer("libtest")(lines, path="in", run="r", name="n")))
    assert (event.error, event.detail) == ("did not panic", "did not panic\nsome output")


# JUnit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("*.xml")))
def test_junit_failures_carry_their_text(name: str) -> None:
    path = REAL / name
    texts = [
        trimmed((elem.text or "").splitlines())
        for elem in ET.parse(path).iter()
        if elem.tag in ("failure", "error")
    ]
    assert texts and all(texts)
    details = sorted(e.detail for e in failures(imported(path)))
    assert details == sorted(texts)


def test_surefire_reruns_and_stack_traces() -> None:
    xml = b"""<testsuite name="s" tests="1">
  <testcase classname="C" name="flaky" time="3">
    <flakyFailure message="first" type="java.lang.AssertionError">
      <stackTrace>java.lang.AssertionError: first
\tat C.flaky(C.java:10)</stackTrace>
    </flakyFailure>
  </testcase>
  <testcase classname="C" name="broken" time="1">
    <failure message="line one&#10;line two" type="E"/>
  </testcase>
</testsuite>
"""
    events = list(importer("junit")([xml], path="in", run="r", name="n"))
    [retry] = [e for e in events if isinstance(e, TaskRetrying)]
    assert retry.error == "java.lang.AssertionError: first"
    assert retry.detail == "java.lang.AssertionError: first\n\tat C.flaky(C.java:10)"
    [failed] = failures(events)
    assert (failed.error, failed.detail) == ("E: line one", "line one\nline two")
