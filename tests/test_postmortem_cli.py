"""runreel errors, tasks, task and query: answers on fixtures (checked by hand), --at,
bad input and the read-only store."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from conftest import assert_one_error_line, fixture, invoke

from recorder import codec
from recorder.events import RunFinished, RunStarted, TaskFailed, TaskRetrying, TaskStarted
from replay import exitcodes
from replay.store.keep import fresh_store


def answer(*args: str) -> object:
    result = invoke([*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_errors_of_a_partial_failure() -> None:
    assert answer("errors", fixture("partial_failure")) == [
        {
            "signature": "OSError: [Errno <num>] No space left on device",
            "failed": 1,
            "retried": 0,
            "first_t": 1700000002.2,
            "last_t": 1700000002.2,
            "workers": ["w2"],
            "tasks": ["img-2"],
            "example": "OSError: [Errno 28] No space left on device",
        }
    ]


def test_errors_group_by_signature_most_failures_first(tmp_path: Path) -> None:
    def ev(cls: type, t: float, seq: int, **kw: object) -> object:
        return cls(t=1000.0 + t, src="s", seq=seq, **kw)

    events = [ev(RunStarted, 0, 1, v=1, run="r")]
    seq = 1
    for i, (task, err, final) in enumerate(
        [
            ("a", "KeyError: 'x1'", True),
            ("b", "TimeoutError: after 3s", False),
            ("c", "KeyError: 'y22'", True),
            ("d", "TimeoutError: after 40s", True),
            ("e", "KeyError: 'zz'", False),
        ]
    ):
        seq += 2
        worker = f"w{i % 2}"
        events.append(ev(TaskStarted, i, seq - 1, task=task, worker=worker))
        cls = TaskFailed if final else TaskRetrying
        events.append(ev(cls, i + 0.5, seq, task=task, worker=worker, error=err))
    log = tmp_path / "run.jsonl"
    log.write_bytes(codec.encode_all(events))  # type: ignore[arg-type]
    groups = answer("errors", str(log))
    assert isinstance(groups, list)
    assert [(g["signature"], g["failed"], g["retried"]) for g in groups] == [
        ("KeyError: <str>", 2, 1),
        ("TimeoutError: after <num>s", 1, 1),
    ]
    assert groups[0]["tasks"] == ["a", "c"] and groups[0]["workers"] == ["w0"]
    assert (groups[0]["first_t"], groups[0]["last_t"]) == (1000.5, 1004.5)
    assert groups[1]["workers"] == ["w1"] and groups[1]["example"] == "TimeoutError: after 3s"


@pytest.mark.parametrize("status", [3, 0, None])
def test_errors_says_how_a_recorded_command_exited(status: int | None, tmp_path: Path) -> None:
    """A recorded command that failed without a task event: "no errors" alone would say
    nothing went wrong; the text names the command's exit status (JSON stays the groups)."""
    events = [
        RunStarted(t=1000.0, src="s", seq=1, v=1, run="r"),
        RunFinished(t=1001.0, src="s", seq=2, status="failed", exit_status=status),
    ]
    log = tmp_path / "run.jsonl"
    log.write_bytes(codec.encode_all(events))  # type: ignore[arg-type]
    said = invoke(["errors", str(log)])
    assert said.exit_code == 0
    if status:
        assert said.stdout == f"no errors recorded; the run's command exited with status {status}\n"
    else:
        assert said.stdout == "no errors\n"
    assert answer("errors", str(log)) == []
    before = invoke(["errors", str(log), "--at", "#1"])
    assert before.stdout == "no errors\n"  # as of then, the command had not ended


def test_tasks_sorted_and_filtered() -> None:
    log = fixture("with_retries")
    rows = answer("tasks", log, "--sort", "duration")
    assert isinstance(rows, list)
    assert [(r["task"], r["duration_s"], r["attempts"]) for r in rows] == [
        ("up-a", 5.0, 2),
        ("up-c", 3.5, 2),
        ("up-b", 2.0, 1),
    ]
    assert list(rows[0]) == [
        "task",
        "status",
        "worker",
        "attempts",
        "start_t",
        "end_t",
        "duration_s",
        "error",
        "signature",
    ]
    assert [r["task"] for r in answer("tasks", log, "--worker", "w2")] == ["up-b", "up-c"]  # type: ignore[index]
    assert answer("tasks", log, "--grep", "UP-B", "--limit", "5") == [rows[2]]
    assert answer("tasks", log, "--status", "failed") == []


def test_tasks_of_a_worker_the_log_never_names_say_so_on_stderr() -> None:
    log = fixture("with_retries")
    unknown = invoke(["tasks", log, "--worker", "nobody"])
    assert unknown.exit_code == 0 and unknown.stdout == "no tasks\n"
    assert unknown.stderr == "runreel: warning: no attempt ran on a worker named 'nobody'\n"
    # a worker that ran attempts, but none of the filtered tasks: no warning
    known = invoke(["tasks", log, "--worker", "w2", "--status", "failed"])
    assert known.stdout == "no tasks\n" and known.stderr == ""


@pytest.mark.parametrize("filters", [[], ["--status", "failed"], ["--status", "succeeded"]])
def test_tasks_json_is_streamed_in_the_bytes_json_dumps_gives(filters: list[str]) -> None:
    """`tasks --json` writes row by row (flat memory for any number of tasks); the bytes
    are those of the whole list dumped at once, empty answers included."""
    result = invoke(["tasks", str(fixture("with_retries")), "--json", *filters])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert result.stdout == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", ["postmortem", "with_retries", "hostile"])
def test_tasks_of_a_signature_are_those_with_an_attempt_that_failed_with_it(name: str) -> None:
    """``tasks --signature`` names the tasks behind an error group, retried ones too (the
    truth: the log's failed and retrying events, grouped by ``signature`` here)."""
    from replay.core.signature import signature
    from replay.sources.file import read_batches

    hit: dict[str, set[str]] = {}
    for batch in read_batches(fixture(name)):
        for e in batch:
            if isinstance(e, TaskFailed | TaskRetrying):
                hit.setdefault(signature(e.error), set()).add(e.task)
    groups = answer("errors", fixture(name))
    assert isinstance(groups, list) and {g["signature"] for g in groups} == set(hit)
    for sig, tasks in hit.items():
        rows = answer("tasks", fixture(name), "--signature", sig)
        assert isinstance(rows, list)
        assert {r["task"] for r in rows} == tasks, sig
    assert answer("tasks", fixture(name), "--signature", "no such signature") == []


@pytest.mark.parametrize(
    "command",
    [["errors"], ["tasks"], ["task", "img-2"], ["query", "SELECT count(*) FROM tasks"]],
)
@pytest.mark.parametrize("at", [[], ["--at", "end"], ["--at", "99%"]])
def test_joined_logs_are_said_to_mix_their_runs(
    command: list[str], at: list[str], tmp_path: Path
) -> None:
    """Two logs joined into one mix their figures (a task id of both reads as one task):
    every post-mortem command says so, as snapshot and stats do, and still answers."""
    joined = tmp_path / "joined.jsonl"
    joined.write_bytes(
        Path(fixture("partial_failure")).read_bytes() + Path(fixture("with_retries")).read_bytes()
    )
    result = invoke([command[0], str(joined), *command[1:], *at])
    assert result.exit_code == 0, result.stderr
    assert "2 runs in one log (were logs joined?)" in result.stderr
    alone = invoke([command[0], fixture("partial_failure"), *command[1:], *at])
    assert alone.exit_code == 0 and "runs in one log" not in alone.stderr


def test_tasks_at_a_position_show_the_run_as_it_stood() -> None:
    rows = answer("tasks", fixture("with_retries"), "--at", "#8")
    assert isinstance(rows, list)
    got = {r["task"]: (r["status"], r["error"], r["end_t"]) for r in rows}
    assert got == {
        "up-a": ("running", "TimeoutError: upload took longer than 30s", None),
        "up-b": ("succeeded", None, 1700000003.0),
        "up-c": ("failed", "HTTPError: 503 Service Unavailable", 1700000004.5),
    }
    at3s = answer("tasks", fixture("with_retries"), "--at", "2s", "--status", "backoff")
    assert [r["task"] for r in at3s] == ["up-a"]  # type: ignore[index, union-attr]


def test_task_shows_every_attempt() -> None:
    got = answer("task", fixture("with_retries"), "up-a")
    assert got == {
        "task": "up-a",
        "status": "succeeded",
        "attempts": [
            {
                "attempt": 1,
                "worker": "w1",
                "start_t": 1700000001.0,
                "end_t": 1700000002.0,
                "outcome": "retried",
                "error": "TimeoutError: upload took longer than 30s",
                "detail": None,  # no traceback: null, as for the attempt that succeeded
            },
            {
                "attempt": 2,
                "worker": "w1",
                "start_t": 1700000004.0,
                "end_t": 1700000006.0,
                "outcome": "succeeded",
                "error": None,
                "detail": None,
            },
        ],
    }
    text = invoke(["task", fixture("with_retries"), "up-a"]).stdout
    assert "attempt 1 on w1: retried" in text and "TimeoutError" in text


def test_task_shows_the_traceback(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    detail = 'Traceback (most recent call last):\n  File "x.py", line 3\nValueError: bad'
    log.write_bytes(
        codec.encode_all(
            [
                RunStarted(t=1.0, src="s", seq=1, v=1, run="r"),
                TaskStarted(t=2.0, src="s", seq=2, task="t", worker="w"),
                TaskFailed(
                    t=3.0,
                    src="s",
                    seq=3,
                    task="t",
                    worker="w",
                    error="ValueError: bad",
                    detail=detail,
                ),
            ]
        )
    )
    got = answer("task", str(log), "t")
    assert got["attempts"][0]["detail"] == detail  # type: ignore[index]
    text = invoke(["task", str(log), "t"]).stdout
    assert '  | File "x.py", line 3' in text.replace("|   ", "| ")


def test_an_unknown_task_is_a_usage_error() -> None:
    result = invoke(["task", fixture("with_retries"), "nope"])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)


def test_query_answers_in_three_forms() -> None:
    log = fixture("with_retries")
    sql = "SELECT task, attempts FROM tasks ORDER BY task"
    assert answer("query", log, sql) == [
        {"task": "up-a", "attempts": 2},
        {"task": "up-b", "attempts": 1},
        {"task": "up-c", "attempts": 2},
    ]
    csv = invoke(["query", log, sql, "--csv"]).stdout
    assert csv == "task,attempts\nup-a,2\nup-b,1\nup-c,2\n"
    text = invoke(["query", log, sql]).stdout
    assert text.splitlines()[0].split() == ["task", "attempts"] and "(3 rows)" in text


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM tasks",
        "UPDATE tasks SET status = 'x'",
        "DROP TABLE tasks",
        "CREATE TABLE x (a)",
        "PRAGMA query_only = OFF",
        "ATTACH 'other.db' AS other",
        "SELECT 1; DELETE FROM tasks",
        "DELETE FROM attempts",  # a view: SQLite refuses it before the authorizer sees it
    ],
)
def test_query_refuses_to_write_and_changes_nothing(
    sql: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "run.jsonl"
    log.write_bytes(Path(fixture("with_retries")).read_bytes())
    assert invoke(["index", str(log)]).exit_code == 0
    store = fresh_store(str(log), False)
    assert store is not None
    before, files = Path(store).read_bytes(), sorted(os.listdir(tmp_path))
    result = invoke(["query", str(log), sql])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert "refused" in result.stderr or "one statement" in result.stderr, result.stderr
    assert Path(store).read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == files, "no file made (other.db, a journal)"
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (3,)


def test_bad_sql_is_a_usage_error() -> None:
    result = invoke(["query", fixture("with_retries"), "SELEC nothing"])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert "syntax error" in result.stderr


@pytest.mark.parametrize("command", [["errors"], ["tasks"], ["task", "x"], ["query", "SELECT 1"]])
def test_bad_logs(command: list[str], tmp_path: Path) -> None:
    name, rest = command[0], command[1:]
    missing = invoke([name, str(tmp_path / "nope.jsonl"), *rest])
    assert missing.exit_code == exitcodes.LOG_UNAVAILABLE
    assert_one_error_line(missing.stderr)
    corrupt = invoke([name, fixture("corrupt_middle"), *rest])
    assert corrupt.exit_code == exitcodes.LOG_INVALID
    assert_one_error_line(corrupt.stderr)
    bad_at = invoke([name, fixture("with_retries"), *rest, "--at", "mark:nope"])
    assert bad_at.exit_code == exitcodes.USAGE
    assert_one_error_line(bad_at.stderr)


@pytest.mark.parametrize("command", [["errors"], ["tasks"], ["task", "x"], ["query", "SELECT 1"]])
@pytest.mark.parametrize("at", ["999", "#99999", "100000s"])
def test_a_position_past_the_end_is_a_usage_error(command: list[str], at: str) -> None:
    """As snapshot says it: one line, exit 64, never a traceback."""
    name, rest = command[0], command[1:]
    result = invoke([name, fixture("with_retries"), *rest, "--at", at])
    snap = invoke(["snapshot", fixture("with_retries"), "--at", at])
    assert result.exit_code == snap.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    said = result.stderr.split(": error: ", 1)[1].split(" (see ")[0]
    assert said == snap.stderr.split(": error: ", 1)[1].split(" (see ")[0]
    assert said.startswith(f"Invalid value for '--at': {at!r} is past the end")


def test_hostile_text_stays_harmless() -> None:
    for args in (["errors"], ["tasks"]):
        out = invoke([*args, fixture("hostile")]).stdout
        assert "\x1b" not in out and "\x07" not in out


def test_the_readme_says_the_post_mortem_commands_exit_0_when_they_answered() -> None:
    """They answer a question, not judge the run: exit 0 on a partial failure, as the
    README's exit-code section says next to its table."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("| code |", 1)[0]
    for name in ("errors", "tasks", "task", "query"):
        assert f"`{name}`" in section
    assert "exit 0 when they answered" in " ".join(section.split())
    for args in (["errors"], ["tasks"], ["task", "img-2"], ["query", "SELECT 1"]):
        result = invoke([args[0], fixture("partial_failure"), *args[1:]])
        assert result.exit_code == exitcodes.OK, result.stderr
    assert invoke(["stats", fixture("partial_failure")]).exit_code == exitcodes.PARTIAL_FAILURE


def test_counts_of_one_read_as_english() -> None:
    """`1 attempt`, `(1 row)`: counted by the log's own events and rows, not typed."""
    attempts: dict[str, int] = {}
    for line in Path(fixture("with_retries")).read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if e["type"] == "task_started":
            attempts[e["task"]] = attempts.get(e["task"], 0) + 1
    for task, n in attempts.items():
        head = invoke(["task", fixture("with_retries"), task]).stdout.splitlines()[0]
        assert head.endswith(f", {n} attempt" if n == 1 else f", {n} attempts")
    assert 1 in attempts.values() and any(n > 1 for n in attempts.values())
    for limit, said in ((1, "(1 row)"), (2, "(2 rows)")):
        out = invoke(["query", fixture("with_retries"), f"SELECT task FROM tasks LIMIT {limit}"])
        assert out.stdout.endswith(f"\n{said}\n")


@pytest.mark.parametrize("sql", ["", "   ", ";", "/* nothing */"])
def test_a_query_that_asks_nothing_is_a_usage_error(sql: str) -> None:
    result = invoke(["query", fixture("with_retries"), sql])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert result.stdout == ""


def test_tasks_limit_0_is_a_usage_error() -> None:
    """--limit 0 would print "no tasks" about a log full of them."""
    result = invoke(["tasks", fixture("with_retries"), "--limit", "0"])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert "--limit" in result.stderr
    one = invoke(["tasks", fixture("with_retries"), "--limit", "1", "--json"])
    assert len(json.loads(one.stdout)) == 1


def test_an_empty_worker_name_reads_main_everywhere_and_stays_raw_in_json(tmp_path: Path) -> None:
    """A run without workers (pytest without xdist) has worker "": every text view
    draws it "(main)", as the overview does; JSON keeps the raw value."""
    events = [
        RunStarted(t=1000.0, src="s", seq=1, v=1, run="r"),
        TaskStarted(t=1000.0, src="s", seq=2, task="t1", worker=""),
        TaskFailed(t=1001.0, src="s", seq=3, task="t1", worker="", error="KeyError: 'x'"),
    ]
    log = tmp_path / "run.jsonl"
    log.write_bytes(codec.encode_all(events))  # type: ignore[arg-type]
    task = invoke(["task", str(log), "t1"])
    assert "attempt 1 on (main): failed" in task.stdout, task.stdout
    errors = invoke(["errors", str(log)])
    assert "  workers (main)\n" in errors.stdout, errors.stdout
    tasks = invoke(["tasks", str(log)]).stdout.splitlines()
    header, row = tasks[0], tasks[1]
    assert row[header.index("WORKER") :].startswith("(main)"), tasks
    snap = invoke(["snapshot", str(log), "--width", "100", "--height", "30"]).stdout
    assert "(main)" in snap and "on (main)" in snap
    assert answer("errors", str(log))[0]["workers"] == [""]  # type: ignore[index]
    assert answer("task", str(log), "t1")["attempts"][0]["worker"] == ""  # type: ignore[index]
