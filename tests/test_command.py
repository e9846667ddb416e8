"""The command supervisor behind ``runreel record``, without click and without a terminal."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import fold_file

from recorder.command import (
    COMMAND_WORKER,
    SIGINT_EXIT,
    SIGTERM_EXIT,
    CannotRun,
    exit_code,
    run_command,
)
from recorder.writer import Recorder
from replay import exitcodes


@pytest.mark.parametrize(
    ("status", "viewed", "signals", "return_status", "expected"),
    [
        (0, 0, (), False, 0),  # the view's code: it follows the table from the log
        (0, 2, (), False, 2),
        (3, 1, (), False, 1),  # the command's failure failed the run: the view says so
        (3, 2, (), False, 2),
        (3, 1, (), True, 3),  # --return-status: the command's own status
        (0, 2, (), True, 0),
        (143, 3, (), True, 143),
        (0, 0, (signal.SIGINT,), False, 130),  # a signal the view did not see
        (0, 0, (signal.SIGINT, signal.SIGTERM), False, 143),
        (0, 130, (signal.SIGTERM,), False, 130),  # the view saw it: its code stands
        (1, 130, (signal.SIGINT,), False, 130),
    ],
)
def test_exit_code(
    status: int, viewed: int, signals: tuple[int, ...], return_status: bool, expected: int
) -> None:
    assert exit_code(status, viewed, signals, return_status) == expected
    assert (SIGINT_EXIT, SIGTERM_EXIT) == (130, 143)


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def until_finished(log: Path, code: int | None = None) -> int:
    """A view that watches the log until the run finishes, then ends with ``code``, or,
    by default, with the code for the log's state (what the real view does)."""
    end = time.monotonic() + 20  # a hang guard only
    while '"run_finished"' not in log.read_text():
        assert time.monotonic() < end, "the command's run never finished"
        time.sleep(0.02)
    return exitcodes.for_metrics(fold_file(str(log))[0]) if code is None else code


def test_output_lines_and_the_task_are_recorded(tmp_path: Path) -> None:
    log = tmp_path / "rec.jsonl"
    script = "import sys; print('one'); print('two', file=sys.stderr)"
    with Recorder(log, name="cmd") as rec:
        code = run_command(
            [sys.executable, "-c", script],
            rec,
            str(log),
            view=lambda: until_finished(log, 2),
            as_task="build",
        )
    assert (code.status, code.interrupted, code.code) == (0, False, 2)
    seen = [(e["type"], e.get("level"), e.get("msg"), e.get("task")) for e in events(log)]
    assert ("log", "stdout", "one", None) in seen and ("log", "stderr", "two", None) in seen
    assert ("task_started", None, None, "build") in seen
    assert ("task_succeeded", None, None, "build") in seen
    last = events(log)[-1]
    assert (last["type"], last["status"], last["exit_status"]) == ("run_finished", "ok", 0)
    assert {e["worker"] for e in events(log) if "task" in e} == {COMMAND_WORKER}


def test_the_command_sees_the_log_in_its_environment(tmp_path: Path) -> None:
    log = tmp_path / "rec.jsonl"
    script = "import os; print(os.environ['RUNREEL_LOG'])"
    with Recorder(log, name="cmd") as rec:
        run_command([sys.executable, "-c", script], rec, str(log), view=lambda: until_finished(log))
    assert str(log.resolve()) in [e.get("msg") for e in events(log)]


@pytest.mark.parametrize(("return_status", "expected"), [(False, 1), (True, 5)])
def test_a_failing_command_fails_the_run(
    tmp_path: Path, return_status: bool, expected: int
) -> None:
    log = tmp_path / "rec.jsonl"
    with Recorder(log, name="cmd") as rec:
        ended = run_command(
            [sys.executable, "-c", "raise SystemExit(5)"],
            rec,
            str(log),
            view=lambda: until_finished(log),
            as_task="build",
            return_status=return_status,
        )
    assert (ended.status, ended.interrupted, ended.code) == (5, False, expected)
    failed = [e for e in events(log) if e["type"] == "task_failed"]
    assert failed[0]["error"] == "exit status 5"
    last = events(log)[-1]
    assert (last["status"], last["exit_status"]) == ("failed", 5)


def test_a_command_whose_workers_partly_failed_fails_the_run_partly(tmp_path: Path) -> None:
    """One task succeeded and one failed, and the command exits 1 (as pytest does): 2."""
    log = tmp_path / "rec.jsonl"
    script = (
        "from recorder.writer import Recorder\n"
        "rec = Recorder.attach()\n"
        "rec.task_started('ok'); rec.succeeded('ok')\n"
        "rec.task_started('bad'); rec.failed('bad', error='AssertionError')\n"
        "rec.close()\n"
        "raise SystemExit(1)\n"
    )
    with Recorder(log, name="cmd") as rec:
        ended = run_command(
            [sys.executable, "-c", script], rec, str(log), view=lambda: until_finished(log)
        )
    assert (ended.status, ended.code) == (1, exitcodes.PARTIAL_FAILURE)


def test_a_command_that_cannot_start_is_recorded_as_failed(tmp_path: Path) -> None:
    log = tmp_path / "rec.jsonl"
    with Recorder(log, name="cmd") as rec, pytest.raises(CannotRun) as info:
        run_command(["no-such-command-runreel-test"], rec, str(log), view=lambda: 0)
    assert info.value.status == 127
    assert info.value.reason.startswith("cannot run no-such-command-runreel-test: ")
    last = events(log)[-1]
    assert (last["type"], last["status"], last["exit_status"]) == ("run_finished", "failed", 127)


@pytest.mark.parametrize("return_status", [False, True])
def test_a_view_that_stops_early_interrupts_the_command(
    tmp_path: Path, return_status: bool
) -> None:
    """The view was quit (q) or timed out: the command is stopped and the run recorded as
    interrupted, not failed; the task stays unfinished, and the log reads incomplete."""
    log = tmp_path / "rec.jsonl"
    with Recorder(log, name="cmd", total=1) as rec:
        ended = run_command(
            ["sleep", "60"],
            rec,
            str(log),
            view=lambda: exitcodes.INCOMPLETE,
            as_task="build",
            return_status=return_status,
        )
    # sleep died of the SIGINT it was passed, not of old age
    assert (ended.status, ended.interrupted) == (SIGINT_EXIT, True)
    assert ended.code == (SIGINT_EXIT if return_status else exitcodes.INCOMPLETE)
    last = events(log)[-1]
    assert (last["type"], last["status"], last["exit_status"]) == (
        "run_finished",
        "interrupted",
        SIGINT_EXIT,
    )
    assert not [e for e in events(log) if e["type"] == "task_failed"]
    m, _ = fold_file(str(log))
    assert (m.finished, list(m.in_flight), exitcodes.for_metrics(m)) == (True, ["build"], 3)
