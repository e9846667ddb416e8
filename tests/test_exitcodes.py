"""Every row of the exit-code table, from the rules and from real commands.

130 and 143 (SIGINT, SIGTERM) belong to the live viewer and are tested there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, fixture, invoke

from recorder.errors import LogInvalid, LogUnavailable, RunreelError, WriteFailed
from recorder.events import (
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from replay import exitcodes
from replay.core.fold import fold
from replay.core.metrics import Metrics

# The table in DESIGN.md.
DESIGN_TABLE = {0, 1, 2, 3, 64, 65, 66, 74, 130, 143}


def test_constants_match_the_design_table() -> None:
    codes = (
        exitcodes.OK,
        exitcodes.TOTAL_FAILURE,
        exitcodes.PARTIAL_FAILURE,
        exitcodes.INCOMPLETE,
        exitcodes.USAGE,
        exitcodes.LOG_INVALID,
        exitcodes.LOG_UNAVAILABLE,
        exitcodes.IO_ERROR,
        exitcodes.SIGINT,
        exitcodes.SIGTERM,
    )
    assert codes == (0, 1, 2, 3, 64, 65, 66, 74, 130, 143)
    assert {code for code, _ in exitcodes.TABLE} == DESIGN_TABLE
    assert all(meaning for _, meaning in exitcodes.TABLE)


def test_help_shows_the_table() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    listed = {int(c) for c in re.findall(r"^\s*(\d+)\s{2}\S", result.stdout, re.MULTILINE)}
    assert listed == DESIGN_TABLE


# The outcome rules, on synthetic runs -------------------------------------------------


def run(total: int | None, *tasks: tuple[str, ...], finished: str | None = "ok") -> Metrics:
    """A run whose tasks end as given: ("ok",), ("fail",), ("skip",), ("retry", "ok"), ("open",)."""
    events: list[Any] = [RunStarted(t=T0, src="m", seq=1, v=1, run="r", total=total)]

    def add(cls: type[Any], **fields: Any) -> None:
        events.append(cls(t=T0 + len(events), src="m", seq=len(events) + 1, **fields))

    for i, story in enumerate(tasks):
        task = f"t{i}"
        add(TaskStarted, task=task, worker="w")
        for step in story:
            if step == "ok":
                add(TaskSucceeded, task=task, worker="w")
            elif step == "fail":
                add(TaskFailed, task=task, worker="w", error="boom")
            elif step == "skip":
                add(TaskSkipped, task=task, worker="w")
            elif step == "retry":
                add(TaskRetrying, task=task, worker="w", error="flaky", backoff=1.0)
                add(TaskStarted, task=task, worker="w", attempt=2)
            elif step == "rerun":  # `with rec.task(id, attempt=2)` after a failed attempt
                add(TaskFailed, task=task, worker="w", error="flaky")
                add(TaskStarted, task=task, worker="w", attempt=2)
    if finished is not None:
        add(RunFinished, status=finished)
    return fold(events)


@pytest.mark.parametrize(
    ("metrics", "code"),
    [
        (run(2, ("ok",), ("ok",)), 0),
        (run(None, ("ok",), ("ok",)), 0),
        (run(2, ("retry", "ok"), ("ok",)), 0),
        (run(2, ("rerun", "ok"), ("rerun", "ok")), 0),
        (run(3, ("ok",), ("ok",), ("skip",)), 0),
        (run(2, ("fail",), ("fail",)), 1),
        (run(2, ("retry", "fail"), ("fail",)), 1),
        (run(0), 1),
        (run(None), 1),
        (run(1, ("skip",)), 1),
        (run(2, ("ok",), ("ok",), finished="failed"), 2),
        (run(2, ("ok",), ("fail",)), 2),
        (run(2, ("ok",), ("retry", "fail")), 2),
        (run(3, ("ok",), ("ok",)), 2),  # finished with a planned task never run
        (run(None, ("ok",), ("open",)), 2),  # finished with a task that never ended
        (run(2, ("ok",), ("ok",), finished=None), 3),
        (run(2, finished=None), 3),
        (run(2, ("fail",), ("fail",), finished=None), 3),
    ],
)
def test_outcome_rules(metrics: Metrics, code: int) -> None:
    assert exitcodes.for_metrics(metrics) == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (LogInvalid("x.jsonl", 3, "bad"), 65),
        (LogInvalid("x.jsonl", None, "empty"), 65),
        (LogUnavailable("cannot open x.jsonl"), 66),
        (WriteFailed("cannot write y.txt"), 74),
        (RunreelError("something else"), 64),
    ],
)
def test_library_errors_map_to_codes(error: RunreelError, code: int) -> None:
    assert exitcodes.for_error(error) == code


# Every row from a real command ---------------------------------------------------------


@pytest.mark.parametrize("command", [["snapshot"], ["stats"], ["stats", "--json"]])
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("all_succeeded", 0),
        ("with_retries", 0),
        ("unknown_type", 0),
        ("total_failure", 1),
        ("no_tasks", 1),
        ("partial_failure", 2),
        ("many_workers", 2),
        ("seq_gap", 2),
        ("unfinished", 3),
        ("torn_tail", 3),
        ("hostile", 3),
        ("corrupt_middle", 65),
        ("future_version", 65),
    ],
)
def test_outcome_codes_from_commands(command: list[str], name: str, code: int) -> None:
    result = invoke([command[0], fixture(name), *command[1:]])
    assert result.exit_code == code, result.stderr


def test_a_snapshot_before_the_end_is_incomplete() -> None:
    log = fixture("all_succeeded")
    assert invoke(["snapshot", log, "--at", "50%"]).exit_code == 3
    assert invoke(["snapshot", log, "--at", "mark:halfway"]).exit_code == 3
    assert invoke(["snapshot", log, "--at", "end"]).exit_code == 0


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("all_succeeded", 0),
        ("unknown_type", 0),
        ("unfinished", 0),  # a valid log of a run that has not finished yet
        ("torn_tail", 65),
        ("corrupt_middle", 65),
        ("future_version", 65),
        ("seq_gap", 65),
    ],
)
def test_validate_codes(name: str, code: int) -> None:
    assert invoke(["validate", fixture(name)]).exit_code == code


@pytest.mark.parametrize("command", ["snapshot", "stats", "validate"])
def test_64_usage(command: str) -> None:
    assert invoke([command, fixture("all_succeeded"), "--no-such-option"]).exit_code == 64
    assert invoke([command]).exit_code == 64  # LOG missing


@pytest.mark.parametrize("command", ["snapshot", "stats", "validate"])
def test_65_empty_log(command: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert invoke([command, str(empty)]).exit_code == 65


@pytest.mark.parametrize("command", ["snapshot", "stats", "validate"])
def test_66_missing_log(command: str, tmp_path: Path) -> None:
    assert invoke([command, str(tmp_path / "missing.jsonl")]).exit_code == 66


def test_74_snapshot_cannot_be_written(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "snap.txt"
    result = invoke(["snapshot", fixture("all_succeeded"), "-o", str(out)])
    assert result.exit_code == 74
    assert not out.exists()


def test_unknown_command_is_usage() -> None:
    assert invoke(["no-such-command"]).exit_code == 64
