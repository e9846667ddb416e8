"""The command supervisor behind ``runreel record``, without click and without a terminal."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from recorder.command import (
    COMMAND_WORKER,
    SIGINT_EXIT,
    SIGTERM_EXIT,
    CannotRun,
    exit_code,
    run_command,
)
from recorder.writer import Recorder


@pytest.mark.parametrize(
    ("status", "viewed", "signals", "expected"),
    [
        (0, 0, (), 0),  # the view's code when the command succeeded
        (0, 2, (), 2),
        (3, 0, (), 3),  # the command's own failure wins
        (-signal.SIGTERM, 0, (), 143),  # killed by a signal: as a shell says it
        (0, 0, (signal.SIGINT,), 130),  # a signal the view did not see
        (0, 0, (signal.SIGINT, signal.SIGTERM), 143),
        (0, 130, (signal.SIGTERM,), 130),  # the view saw it: its code stands
        (1, 130, (signal.SIGINT,), 1),
    ],
)
def test_exit_code(status: int, viewed: int, signals: tuple[int, ...], expected: int) -> None:
    assert exit_code(status, viewed, signals) == expected
    assert (SIGINT_EXIT, SIGTERM_EXIT) == (130, 143)


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def until_finished(log: Path, code: int = 0) -> int:
    """A view that watches the log until the run finishes, then ends with ``code``."""
    end = time.monotonic() + 20
    while '"run_finished"' not in log.read_text():
        assert time.monotonic() < end, "the command's run never finished"
        time.sleep(0.02)
    return code


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
    assert code == 2
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


def test_a_failing_command_exits_with_its_status(tmp_path: Path) -> None:
    log = tmp_path / "rec.jsonl"
    with Recorder(log, name="cmd") as rec:
        code = run_command(
            [sys.executable, "-c", "raise SystemExit(5)"],
            rec,
            str(log),
            view=lambda: until_finished(log),
            as_task="build",
        )
    assert code == 5
    failed = [e for e in events(log) if e["type"] == "task_failed"]
    assert failed[0]["error"] == "exit status 5"
    assert events(log)[-1]["exit_status"] == 5


def test_a_command_that_cannot_start_is_recorded_as_failed(tmp_path: Path) -> None:
    log = tmp_path / "rec.jsonl"
    with Recorder(log, name="cmd") as rec, pytest.raises(CannotRun) as info:
        run_command(["no-such-command-runreel-test"], rec, str(log), view=lambda: 0)
    assert info.value.status == 127
    assert info.value.reason.startswith("cannot run no-such-command-runreel-test: ")
    last = events(log)[-1]
    assert (last["type"], last["status"], last["exit_status"]) == ("run_finished", "failed", 127)


def test_a_view_that_stops_early_interrupts_the_command(tmp_path: Path) -> None:
    log = tmp_path / "rec.jsonl"
    with Recorder(log, name="cmd") as rec:
        code = run_command(["sleep", "60"], rec, str(log), view=lambda: 3)
    assert code == SIGINT_EXIT  # sleep died of the SIGINT it was passed, not of old age
    assert events(log)[-1]["exit_status"] == SIGINT_EXIT
