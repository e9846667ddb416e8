"""The CLI: bad input gives one readable line and the right code; each command's output."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from conftest import assert_one_error_line, fixture, invoke, run_runreel, run_unprivileged

from recorder import demo as simulation
from replay import exitcodes
from replay.core.when import parse_when

COMMANDS = ["snapshot", "stats", "validate"]


# Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_file_is_66(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    result = invoke([command, str(missing)])
    assert result.exit_code == 66
    assert_one_error_line(result.stderr)
    assert str(missing) in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_directory_is_66(command: str, tmp_path: Path) -> None:
    result = invoke([command, str(tmp_path)])
    assert result.exit_code == 66
    assert_one_error_line(result.stderr)
    assert "directory" in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_unreadable_file_is_66(command: str, open_tmp: Path) -> None:
    log = open_tmp / "secret.jsonl"
    log.write_bytes(Path(fixture("all_succeeded")).read_bytes())
    log.chmod(0)
    proc = run_unprivileged([command, str(log)], cwd=open_tmp)
    assert proc.returncode == 66, proc.stderr
    assert_one_error_line(proc.stderr)
    assert "Permission denied" in proc.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_empty_file_is_65(command: str, tmp_path: Path) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    result = invoke([command, str(log)])
    assert result.exit_code == 65
    assert_one_error_line(result.stderr)
    assert "empty" in result.stderr


def _usage_error(result_stderr: str, *words: str) -> None:
    """A usage error is one line: ``runreel CMD: error: REASON (see ... --help)``."""
    assert "Traceback" not in result_stderr
    errors = result_stderr.splitlines()
    assert len(errors) == 1 and ": error: " in errors[0], result_stderr
    for word in words:
        assert word in errors[0], errors[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--at", "yesterday"], ["--at", "yesterday"]),
        (["--at", "#0"], ["--at"]),
        (["--at", "150%"], ["--at"]),
        (["--width", "abc"], ["--width"]),
        (["--width", "0"], ["--width"]),
        (["--width", "5"], ["--width"]),
        (["--height", "-3"], ["--height"]),
        (["--format", "pdf"], ["--format", "pdf"]),
        (["--at", "mark:nope"], ["--at", "nope"]),
        (["--bogus"], ["--bogus"]),
    ],
)
def test_bad_snapshot_options_are_64(args: list[str], words: list[str]) -> None:
    result = invoke(["snapshot", fixture("all_succeeded"), *args])
    assert result.exit_code == 64
    _usage_error(result.stderr, *words)
    assert result.stdout == ""


def test_unknown_mark_names_the_marks_there_are() -> None:
    result = invoke(["snapshot", fixture("all_succeeded"), "--at", "mark:deploy"])
    assert result.exit_code == 64
    assert "halfway" in result.stderr


def test_output_into_a_missing_directory_is_74(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "snap.svg"
    result = invoke(["snapshot", fixture("all_succeeded"), "-o", str(out)])
    assert result.exit_code == 74
    assert_one_error_line(result.stderr)
    assert str(out) in result.stderr
    assert not out.parent.exists()


def test_a_failed_write_leaves_the_old_snapshot_whole(tmp_path: Path) -> None:
    out = tmp_path / "snap.txt"
    out.write_text("old snapshot\n")
    result = invoke(["snapshot", fixture("all_succeeded"), "-o", str(out)])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("╭")
    assert [p.name for p in tmp_path.iterdir()] == ["snap.txt"]  # no temporary left behind


@pytest.mark.skipif(not os.path.islink("/dev/stdout"), reason="needs /dev/stdout")
def test_output_to_dev_stdout_writes_through(open_tmp: Path) -> None:
    # Unprivileged, as root a regression would replace /dev/stdout.
    log = open_tmp / "log.jsonl"
    log.write_bytes(Path(fixture("partial_failure")).read_bytes())
    out = open_tmp / "stdout"  # the unprivileged process may reopen it (not root's pipe)
    out.touch(mode=0o666)
    out.chmod(0o666)
    with out.open("wb") as stdout:
        proc = run_unprivileged(
            ["snapshot", str(log), "--format", "ansi", "-o", "/dev/stdout"],
            cwd=open_tmp,
            stdout=stdout,
        )
    assert proc.returncode == 2, proc.stderr
    assert out.read_bytes() == invoke(["snapshot", str(log), "--format", "ansi"]).stdout_bytes
    assert os.path.islink("/dev/stdout")  # written through, never replaced


def test_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "snap.txt").write_text("old\n")
    link = tmp_path / "snap.txt"
    link.symlink_to(real / "snap.txt")
    assert invoke(["snapshot", fixture("all_succeeded"), "-o", str(link)]).exit_code == 0
    assert link.is_symlink()
    assert (real / "snap.txt").read_text(encoding="utf-8").startswith("╭")


def test_output_into_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = invoke(["snapshot", fixture("all_succeeded"), "-o", str(fifo)])
    reader.join(10)
    assert result.exit_code == 0
    assert got == [invoke(["snapshot", fixture("all_succeeded")]).stdout_bytes]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["snapshot", "MISSING"], 66),
        (["stats", "CORRUPT"], 65),
        (["snapshot", "GOOD", "-o", "NODIR/x.txt"], 74),
    ],
)
def test_errors_from_a_real_process_are_one_line(
    args: list[str], code: int, tmp_path: Path
) -> None:
    paths = {
        "MISSING": str(tmp_path / "missing.jsonl"),
        "CORRUPT": fixture("corrupt_middle"),
        "GOOD": fixture("all_succeeded"),
        "NODIR/x.txt": str(tmp_path / "nodir" / "x.txt"),
    }
    proc = run_runreel([paths.get(a, a) for a in args], cwd=tmp_path)
    assert proc.returncode == code
    assert proc.stdout == b""
    assert_one_error_line(proc.stderr.decode())


# Invalid logs: the documented behaviour in every command ------------------------------------


@pytest.mark.parametrize("command", ["snapshot", "stats"])
def test_corrupt_line_is_65_with_file_line_and_reason(command: str) -> None:
    log = fixture("corrupt_middle")
    result = invoke([command, log])
    assert result.exit_code == 65
    assert_one_error_line(result.stderr)
    match = re.search(re.escape(log) + r":5: (.+)", result.stderr)
    assert match and len(match.group(1).strip()) > 5, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["snapshot", "stats"])
def test_lenient_skips_and_counts_the_corrupt_line(command: str) -> None:
    log = fixture("corrupt_middle")
    result = invoke([command, log, "--lenient"])
    assert result.exit_code == 0  # every task succeeded; the bad line was a log message
    assert f"{log}:5: " in result.stderr and "skipped" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_reports_the_corrupt_line_and_the_seq_gap_it_leaves() -> None:
    log = fixture("corrupt_middle")
    result = invoke(["validate", log])
    assert result.exit_code == 65
    assert f"{log}:5: " in result.stdout
    assert "pool-1" in result.stdout and "seq" in result.stdout


@pytest.mark.parametrize("command", ["snapshot", "stats", "validate"])
def test_future_version_is_65_with_a_clear_message(command: str) -> None:
    log = fixture("future_version")
    result = invoke([command, log])
    assert result.exit_code == 65
    assert_one_error_line(result.stderr)
    assert f"{log}:1: " in result.stderr
    assert "version 2" in result.stderr


@pytest.mark.parametrize("command", ["snapshot", "stats"])
def test_torn_tail_is_a_warning_and_the_rest_is_shown(command: str) -> None:
    log = fixture("torn_tail")
    result = invoke([command, log, *(["--json"] if command == "stats" else ["--format", "json"])])
    assert result.exit_code == 3  # the torn line was t3's success; t3 is still in flight
    assert f"{log}:7: " in result.stderr and "incomplete" in result.stderr
    doc = json.loads(result.stdout)
    assert (doc["tasks"]["succeeded"], doc["tasks"]["in_flight"]) == (2, 1)


def test_validate_torn_tail_is_65() -> None:
    log = fixture("torn_tail")
    result = invoke(["validate", log])
    assert result.exit_code == 65
    assert f"{log}:7: " in result.stdout and "incomplete" in result.stdout


@pytest.mark.parametrize("command", ["snapshot", "stats", "validate"])
def test_unknown_types_are_skipped_and_counted(command: str) -> None:
    log = fixture("unknown_type")
    result = invoke([command, log])
    assert result.exit_code == 0
    out = result.stdout
    if command == "validate":
        assert "'task_progress'" in out and "'checkpoint'" in out
    elif command == "stats":
        assert re.search(r"unknown types 3\b", out)
    else:
        assert "3 events of unknown types skipped" in out


def test_validate_seq_gap() -> None:
    result = invoke(["validate", fixture("seq_gap")])
    assert result.exit_code == 65
    assert "'pool-1'" in result.stdout
    assert re.search(r"\b3\b.*\b6\b", result.stdout)  # seq jumps from 3 to 6


@pytest.mark.parametrize("name", ["all_succeeded", "many_workers", "unfinished", "hostile"])
def test_validate_accepts_valid_logs(name: str) -> None:
    result = invoke(["validate", fixture(name)])
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = len(Path(fixture(name)).read_bytes().splitlines())
    assert f"{lines} events" in result.stdout


# Normal output --------------------------------------------------------------------------------


def test_stats_text() -> None:
    result = invoke(["stats", fixture("partial_failure")])
    assert result.exit_code == 2
    out = result.stdout
    assert "thumbnails" in out and "r-partial" in out
    assert re.search(r"succeeded 3\b", out) and re.search(r"failed 1\b", out)
    assert "(1 - 4 / 4)" in out
    assert "exit code 2" in out


@pytest.mark.parametrize("name", ["seq_gap", "with_retries", "partial_failure"])
def test_stats_says_percentiles_are_bounds_never_past_the_longest_task(name: str) -> None:
    """Percentiles are bucket bounds: marked ≤, as on the dashboard, and clamped at the
    longest task (read here from the log's own starts and ends)."""
    first: dict[str, float] = {}
    longest = 0.0
    for line in Path(fixture(name)).read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if e["type"] == "task_started":
            first.setdefault(e["task"], e["t"])
        elif e["type"] in ("task_succeeded", "task_failed") and e["task"] in first:
            longest = max(longest, e["t"] - first[e["task"]])
    time_row = next(
        r for r in invoke(["stats", fixture(name)]).stdout.splitlines() if r.startswith("time")
    )
    bounds = dict(re.findall(r"(p\d+|max) (\S+)", time_row))
    assert set(bounds) == {"p50", "p95", "p99", "max"}
    assert float(bounds.pop("max").rstrip("s")) == pytest.approx(longest, rel=1e-3)
    for said in bounds.values():
        assert said.startswith("≤")
        assert float(said[1:].rstrip("s")) <= longest * 1.001


def test_stats_state_says_the_runs_word_apart_from_the_outcome() -> None:
    """A run that said "ok" and a partial failure are not a contradiction once told apart."""
    out = invoke(["stats", fixture("seq_gap")]).stdout
    state = next(r for r in out.splitlines() if r.startswith("state"))
    assert state.split(None, 1)[1] == (
        'finished, the run reported "ok"; outcome: partial failure, exit code 2'
    )


def test_stats_json() -> None:
    result = invoke(["stats", fixture("with_retries"), "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["tasks"]["succeeded"] == 3 and doc["tasks"]["failed"] == 0
    assert doc["tasks"]["retries"] == 2
    assert doc["state"]["exit_code"] == 0
    assert result.stdout == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_every_command_has_help() -> None:
    top = invoke(["--help"])
    assert top.exit_code == 0
    block = top.stdout.split("Commands:")[1].split("\n\n")[0]
    commands = re.findall(r"^  (\w[\w-]*)\s", block, re.MULTILINE)
    assert {"snapshot", "stats", "validate", "demo"} <= set(commands)
    for command in commands:
        result = invoke([command, "--help"])
        assert result.exit_code == 0, command
        assert result.stdout.startswith("Usage: "), command
        assert "None" not in result.stdout, command  # e.g. click's "x<=None" of a range


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0 and re.search(r"\d+\.\d+", result.stdout)


# demo --------------------------------------------------------------------------------------------


def _demo(tmp_path: Path, name: str, *args: str) -> tuple[int, Path]:
    log = tmp_path / name
    result = invoke(
        ["demo", "--pace", "0", "--tasks", "12", "--workers", "3", "-o", str(log), *args]
    )
    return result.exit_code, log


def test_demo_exit_codes_follow_the_outcomes(tmp_path: Path) -> None:
    code, log = _demo(tmp_path, "ok.jsonl", "--fail-rate", "0", "--retry-rate", "0")
    assert code == exitcodes.OK
    assert invoke(["validate", str(log)]).exit_code == 0
    code, _ = _demo(tmp_path, "bad.jsonl", "--fail-rate", "1")
    assert code == exitcodes.TOTAL_FAILURE


def _outcomes(log: Path) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if e["type"] in ("task_succeeded", "task_failed"):
            out[e["task"]] = (e["type"], out.get(e["task"], ("", 0))[1])
        elif e["type"] == "task_retrying":
            kind, retries = out.get(e["task"], ("", 0))
            out[e["task"]] = (kind, retries + 1)
    return out


def test_demo_same_seed_same_outcomes(tmp_path: Path) -> None:
    args = ("--fail-rate", "0.3", "--retry-rate", "0.4", "--seed", "7")
    code_a, a = _demo(tmp_path, "a.jsonl", *args)
    code_b, b = _demo(tmp_path, "b.jsonl", *args)
    assert code_a == code_b
    outcomes = _outcomes(a)
    assert outcomes == _outcomes(b)
    assert len(outcomes) == 12
    kinds = {kind for kind, _ in outcomes.values()}
    assert kinds == {"task_succeeded", "task_failed"}  # with these rates, both happen
    _, c = _demo(tmp_path, "c.jsonl", "--fail-rate", "0.3", "--retry-rate", "0.4", "--seed", "8")
    assert _outcomes(c) != outcomes


def test_demo_failures_carry_their_traceback_and_the_run_logs_what_happens(
    tmp_path: Path,
) -> None:
    """The README's post-mortem walk-through reads tracebacks (``runreel task``) and log
    messages (the log view) from the demo's log: every failure has one."""
    _, log = _demo(tmp_path, "demo.jsonl", "--fail-rate", "0.5", "--retry-rate", "0.5")
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    failures = [e for e in events if e["type"] in ("task_failed", "task_retrying")]
    assert failures
    for e in failures:
        last = e["detail"].rstrip("\n").splitlines()[-1]
        assert e["detail"].startswith("Traceback (most recent call last):")
        assert last == e["error"]  # the traceback ends with the error it explains
    logs = [e for e in events if e["type"] == "log"]
    levels = {e["level"] for e in logs}
    assert {"info", "warning", "error"} <= levels
    failed = {e["task"] for e in events if e["type"] == "task_failed"}
    said = {e["msg"].split()[0] for e in logs if e["level"] == "error"}
    assert said == failed


def test_demo_replaces_its_own_log_but_no_other(tmp_path: Path) -> None:
    """Running the demo twice works (the Quickstart does); a log it did not write is kept."""
    code, log = _demo(tmp_path, "demo.jsonl", "--seed", "3")
    first = log.read_bytes()
    code_again, _ = _demo(tmp_path, "demo.jsonl", "--seed", "4")
    assert code_again in (exitcodes.OK, exitcodes.PARTIAL_FAILURE, exitcodes.TOTAL_FAILURE)
    assert log.read_bytes() != first  # replaced: a new run
    other = tmp_path / "nightly.jsonl"
    for content in (Path(fixture("all_succeeded")).read_bytes(), b"not a log at all\n"):
        other.write_bytes(content)
        code, _ = _demo(tmp_path, "nightly.jsonl")
        assert code == exitcodes.IO_ERROR
        result = invoke(["demo", "--pace", "0", "--tasks", "2", "-o", str(other)])
        assert_one_error_line(result.stderr)
        assert "--force" in result.stderr and result.stdout == ""
        assert other.read_bytes() == content
    refused = invoke(["demo", "--pace", "0", "--tasks", "2", "-o", f"{tmp_path / 'runs'}{os.sep}"])
    assert refused.exit_code == exitcodes.USAGE and not (tmp_path / "runs").exists()
    code, _ = _demo(tmp_path, "nightly.jsonl", "--force")
    assert code != exitcodes.IO_ERROR
    assert other.read_bytes() != content
    assert invoke(["validate", str(other)]).exit_code == 0


def test_the_readmes_times_on_the_demos_log_are_within_its_run() -> None:
    """The walk-through's `--at` times (and the seconds its SQL adds to first_t) on
    runreel-demo.jsonl must fall inside the demo's run, which lasts at least its simulated
    work (attempts and backoffs, from the seed) spread over its workers."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    fail_rate = float(re.search(r"runreel demo --fail-rate (\S+)\b", readme)[1])  # type: ignore[index]
    plan = simulation.Plan(fail_rate=fail_rate)
    work = 0.0
    for i in range(plan.tasks):
        s = simulation.script(plan, i)
        work += sum(s.durations)
        work += sum(simulation.backoff(plan, a) for a in range(1, len(s.durations)))
    shortest = work / plan.workers
    times = [
        parse_when(at).seconds
        for at in re.findall(r"runreel \w+ runreel-demo\.jsonl[^\n]*--at (\S+)", readme)
        if parse_when(at).kind == "seconds"
    ]
    times += [float(x) for x in re.findall(r"key = 'first_t'\) \+ (\d+)", readme)]
    assert len(times) >= 2
    for t in times:
        assert t is not None and t < shortest
