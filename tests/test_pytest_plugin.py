"""The live pytest plugin (``pytest --runreel=LOG``), run for real on a tiny suite in a
subprocess: the log it writes, xdist workers, attaching under RUNREEL_LOG and ``runreel
record``, staying inert when not asked, and never failing a test run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from conftest import FIXTURES, RUNREEL, clean_env, fold_file, invoke

from recorder.events import Log, Mark, RunFinished, RunStarted, TaskFailed, TaskSkipped, TaskStarted
from recorder.pytest_plugin import LiveRecorder
from recorder.writer import Recorder
from replay import exitcodes
from replay.core.fold import apply
from replay.core.metrics import Metrics
from replay.sources.file import read_batches

SUITE = """
import sys
import warnings
import pytest

def test_ok():
    print("hello from test_ok")

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

@pytest.fixture
def broken():
    raise RuntimeError("setup boom")

def test_setup_error(broken):
    pass

def test_warns():
    warnings.warn("careful", UserWarning)

@pytest.mark.parametrize("n", range(5))
def test_many(n):
    pass
"""
OTHER = """
def test_other_file():
    pass
"""
TESTS = 13  # in SUITE and OTHER: 9 succeed, 2 fail, 2 are skipped


def write_suite(where: Path) -> None:
    (where / "test_tiny.py").write_text(SUITE)
    (where / "test_other.py").write_text(OTHER)
    # The project's own strictness: any warning from the plugin would fail this run.
    (where / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings =\n    error\n    default:careful:UserWarning\n"
    )


def pytest_run(
    where: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=where,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def events(log: Path) -> list[object]:
    return [e for batch in read_batches(str(log)) for e in batch]


def test_the_plugin_records_a_session(tmp_path: Path) -> None:
    write_suite(tmp_path)
    done = pytest_run(tmp_path, "-q", "--runreel=out/session.jsonl")
    assert done.returncode == 1, done.stdout + done.stderr
    log = tmp_path / "out" / "session.jsonl"
    assert invoke(["validate", str(log)]).exit_code == 0
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, m.skipped) == (9, 2, 2)
    assert (m.total, m.finished, m.status, m.exit_status) == (TESTS, True, "failed", 1)
    evs = events(log)
    first = evs[0]
    assert isinstance(first, RunStarted) and first.name.startswith("pytest ")
    assert "--runreel=out/session.jsonl" in first.name
    assert isinstance(evs[-1], RunFinished)
    assert [e.label for e in evs if isinstance(e, Mark)] == ["test_other.py", "test_tiny.py"]
    skipped = {e.task: e.reason for e in evs if isinstance(e, TaskSkipped)}
    assert skipped == {
        "test_tiny.py::test_skip": "not today",
        "test_tiny.py::test_xfail": "xfail: known bug",
    }
    failed = {e.task: e.error for e in evs if isinstance(e, TaskFailed)}
    assert failed == {
        "test_tiny.py::test_fail": "assert 1 == 2",
        "test_tiny.py::test_setup_error": "error in setup: RuntimeError: setup boom",
    }
    logs = [(e.level, e.msg) for e in evs if isinstance(e, Log)]
    assert ("stdout", "hello from test_ok") in logs
    assert ("warning", "test_tiny.py::test_xpass: XPASS: maybe fixed") in logs
    assert ("warning", "UserWarning: careful") in logs
    assert {e.worker for e in evs if isinstance(e, TaskStarted)} == {""}
    assert invoke(["snapshot", str(log)]).exit_code == exitcodes.PARTIAL_FAILURE


def test_the_log_is_replaced_like_report_log(tmp_path: Path) -> None:
    write_suite(tmp_path)
    log = tmp_path / "session.jsonl"
    log.write_text("old\n")
    done = pytest_run(tmp_path, "-q", "--runreel", str(log), "-k", "test_ok")
    assert done.returncode == 0, done.stdout + done.stderr
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, m.total) == (1, 0, 1)


def test_xdist_workers_are_workers(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    write_suite(tmp_path)
    log = tmp_path / "session.jsonl"
    done = pytest_run(tmp_path, "-q", "-n", "2", f"--runreel={log}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert invoke(["validate", str(log)]).exit_code == 0
    m, _ = fold_file(str(log))
    assert set(m.workers) == {"gw0", "gw1"}
    assert (m.succeeded, m.failed, m.skipped, m.total) == (9, 2, 2, TESTS)
    srcs = {e.src for e in events(log)}  # type: ignore[attr-defined]
    assert len(srcs) == 1  # the controller wrote everything


def test_attaches_to_a_run_named_by_runreel_log(tmp_path: Path) -> None:
    write_suite(tmp_path)
    log = tmp_path / "outer.jsonl"
    outer = Recorder(log, name="make test")
    done = pytest_run(tmp_path, "-q", env=clean_env(RUNREEL_LOG=str(log)))
    assert done.returncode == 1, done.stdout + done.stderr
    outer.finish("failed", exit_status=done.returncode)
    outer.close()
    evs = events(log)
    assert sum(isinstance(e, RunStarted) for e in evs) == 1
    assert sum(isinstance(e, RunFinished) for e in evs) == 1  # only the outer writer's
    assert len({e.src for e in evs}) == 2  # type: ignore[attr-defined]
    m, _ = fold_file(str(log))
    assert (m.name, m.succeeded, m.failed, m.total) == ("make test", 9, 2, TESTS)
    assert any(isinstance(e, Log) and e.msg == "pytest finished with exit status 1" for e in evs)


def test_runreel_record_of_pytest_holds_the_tests(tmp_path: Path) -> None:
    write_suite(tmp_path)
    log = tmp_path / "ci.jsonl"
    done = subprocess.run(
        [
            *RUNREEL,
            "record",
            "-o",
            str(log),
            "--",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    # pytest exited 1 with 9 passed and 2 failed: a partial failure, as the screen says
    assert done.returncode == 2, done.stdout + done.stderr
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, m.skipped, m.total) == (9, 2, 2, TESTS)
    assert m.finished and m.exit_status == 1
    assert any(
        isinstance(e, Log) and "failed" in e.msg and e.level == "stdout" for e in events(log)
    )


def test_the_plugin_is_inert_when_not_asked(tmp_path: Path) -> None:
    write_suite(tmp_path)
    (tmp_path / "conftest.py").write_text(
        "import sys\n"
        "def pytest_sessionfinish(session):\n"
        "    pm = session.config.pluginmanager\n"
        "    assert pm.has_plugin('runreel'), 'the entry point is not loaded'\n"
        "    assert pm.get_plugin('runreel-recorder') is None\n"
        "    assert 'recorder.importers' not in sys.modules\n"
        "    assert ('recorder.writer' not in sys.modules\n"
        "            or 'replay.outputs.golden' in sys.modules)\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    done = pytest_run(tmp_path, "-q")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "runreel" not in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    help_text = pytest_run(tmp_path, "--help").stdout
    assert "--runreel=LOG" in help_text
    disabled = pytest_run(tmp_path, "-q", "-p", "no:runreel", "--co")
    assert "--runreel" not in disabled.stdout


def test_a_log_that_cannot_be_written_never_fails_the_tests(tmp_path: Path) -> None:
    write_suite(tmp_path)
    (tmp_path / "a_dir").mkdir()
    done = pytest_run(tmp_path, "-q", "-k", "test_ok or test_many", "--runreel=a_dir")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "runreel: recording to a_dir stopped:" in done.stdout
    assert "6 passed" in done.stdout


SUBTESTS = """
import unittest


class TestQuarters(unittest.TestCase):
    def test_each_quarter(self):
        for quarter in range(1, 5):
            with self.subTest(quarter=quarter):
                self.assertNotEqual(quarter, 3, "Q3 is missing")

    def test_all_fine(self):
        for quarter in range(1, 5):
            with self.subTest(quarter=quarter):
                self.assertGreater(quarter, 0)
"""


def test_a_failing_subtest_fails_its_test(tmp_path: Path) -> None:
    # Under pytest 9 the test's own call report passes and only a SubtestReport fails.
    (tmp_path / "test_quarters.py").write_text(SUBTESTS)
    done = pytest_run(tmp_path, "-q", "--runreel=session.jsonl")
    assert done.returncode == 1, done.stdout + done.stderr
    log = tmp_path / "session.jsonl"
    m, _ = fold_file(str(log))
    assert (m.succeeded, m.failed, m.total, m.status) == (1, 1, 2, "failed")
    evs = events(log)
    failed = {e.task: e.error for e in evs if isinstance(e, TaskFailed)}
    error = failed["test_quarters.py::TestQuarters::test_each_quarter"]
    assert "Q3 is missing" in error


def test_reruns_never_show_more_processed_than_the_total(tmp_path: Path) -> None:
    """pytest-rerunfailures' real reports (the corpus's pytest 8 --reruns 2 run), fed to the
    plugin as pytest hands them over: a rerun is the next attempt of the same task, and the
    passing teardown after a ``rerun`` report closes nothing."""
    case = FIXTURES / "corpus" / "pytest" / "pytest8-reruns"
    truth = json.loads((case / "truth.json").read_text())
    reports = [json.loads(line) for line in (case / "report.jsonl").read_text().splitlines()]
    tests = [r for r in reports if r["$report_type"] == "TestReport"]
    live = LiveRecorder(cast(pytest.Config, None), str(tmp_path / "live.jsonl"), False)
    live.rec = Recorder(str(tmp_path / "live.jsonl"), name="reruns")
    live._set_total(len({r["nodeid"] for r in tests}))
    for r in tests:
        live.pytest_runtest_logreport(pytest.TestReport._from_json(r))
    live._finish(truth["exit_status"])
    assert live.error is None
    m = Metrics()
    for event in events(tmp_path / "live.jsonl"):
        apply(m, cast(Any, event))
        assert m.processed <= (m.total or 0)
    want = truth["expected"]
    assert (m.succeeded, m.failed, m.skipped) == (
        want["succeeded"],
        want["failed"],
        want["skipped"],
    )
    assert m.retries == truth["counts"]["rerun"]
