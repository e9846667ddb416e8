"""The CLI's errors: failed writes to stdout, unreadable logs, refusals and bad options,
each one line on stderr with the code the README's table gives."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    RUNREEL,
    SYSTEM_TMP,
    assert_one_error_line,
    clean_env,
    fixture,
    invoke,
    run_runreel,
    run_unprivileged,
)

from replay import exitcodes

LOG = "all_succeeded"

# Failed writes to standard output --------------------------------------------------------

WRITERS = [
    ["--help"],
    ["stats", "--help"],
    [],  # plain `runreel`: the help
    ["stats", "LOG"],
    ["validate", "LOG"],
    ["snapshot", "BIG", "--format", "svg"],
    ["export", "BIG", "--format", "asciicast"],
    ["replay", "BIG", "--instant"],
]


def _run_into(args: list[str], stdout: int) -> subprocess.CompletedProcess[bytes]:
    args = [{"LOG": fixture(LOG), "BIG": fixture("many_workers")}.get(a, a) for a in args]
    return subprocess.run(
        [*RUNREEL, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=clean_env(),
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_full_stdout_is_74_with_one_line(args: list[str]) -> None:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        proc = _run_into(args, fd)
    finally:
        os.close(fd)
    assert proc.returncode == exitcodes.IO_ERROR, proc.stderr
    assert proc.stderr.decode() == (
        "runreel: error: cannot write to standard output: No space left on device\n"
    )


@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_closed_pipe_is_74_and_quiet(args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader left before the first byte: every write is EPIPE
    try:
        proc = _run_into(args, write)
    finally:
        os.close(write)
    assert proc.returncode == exitcodes.IO_ERROR, proc.stderr
    assert proc.stderr == b""  # no traceback, no "Exception ignored" at exit


# Logs that cannot be read ---------------------------------------------------------------

# Every command that reads a LOG (or an INPUT), with what else it needs; LOG is the log.
READERS = {
    "snapshot": ["snapshot", "LOG"],
    "stats": ["stats", "LOG"],
    "validate": ["validate", "LOG"],
    "index": ["index", "LOG"],
    "check": ["check", "LOG", "DIR/golden.txt"],
    "export": ["export", "LOG", "--format", "openmetrics"],
    "replay": ["replay", "LOG", "--instant"],
    "live": ["live", "LOG", "--timeout", "5"],
    "import": ["import", "LOG", "-o", "DIR/imported.jsonl"],
}


@pytest.fixture
def unreadable_log() -> Iterator[Path]:
    """A log that exists, in a directory anyone may traverse, that only root could read."""
    directory = Path(tempfile.mkdtemp(prefix="runreel-unreadable-", dir=SYSTEM_TMP))
    try:
        directory.chmod(0o711)
        log = directory / "secret.jsonl"
        log.write_bytes(Path(fixture(LOG)).read_bytes())
        log.chmod(0)
        yield log
    finally:
        shutil.rmtree(directory)


@pytest.mark.parametrize("command", READERS)
def test_an_unreadable_log_is_66(command: str, unreadable_log: Path) -> None:
    directory = str(unreadable_log.parent)
    args = [a.replace("DIR", directory) for a in READERS[command]]
    args = [str(unreadable_log) if a == "LOG" else a for a in args]
    proc = run_unprivileged(args, cwd=directory)
    assert proc.returncode == exitcodes.LOG_UNAVAILABLE, proc.stderr
    assert proc.stderr == f"runreel: error: cannot open {unreadable_log}: Permission denied\n"


@pytest.mark.parametrize("command", [c for c in READERS if c != "live"])  # live waits for it
def test_a_missing_log_is_66(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    args = [a.replace("DIR", str(tmp_path)) for a in READERS[command]]
    result = invoke([str(missing) if a == "LOG" else a for a in args])
    assert result.exit_code == exitcodes.LOG_UNAVAILABLE
    assert_one_error_line(result.stderr)
    assert f"cannot open {missing}: " in result.stderr


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_push_of_a_log_that_cannot_be_opened_is_66(what: str, tmp_path: Path) -> None:
    pytest.importorskip("redis", reason="push needs redis-py")
    log = tmp_path / "missing.jsonl" if what == "missing" else tmp_path
    result = invoke(["push", str(log), "redis://127.0.0.1:1/0/never-reached"])
    assert result.exit_code == exitcodes.LOG_UNAVAILABLE, result.stderr
    assert_one_error_line(result.stderr)
    assert f"cannot open {log}: " in result.stderr


# snapshot and export -o ----------------------------------------------------------------


def test_snapshot_refuses_an_extension_that_names_no_format(tmp_path: Path) -> None:
    out = tmp_path / "snap.pdf"
    result = invoke(["snapshot", fixture(LOG), "-o", str(out)])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert ".pdf" in result.stderr and "--format" in result.stderr
    assert not out.exists()


def test_snapshot_writes_any_name_in_the_format_given(tmp_path: Path) -> None:
    out = tmp_path / "snap.pdf"
    result = invoke(["snapshot", fixture(LOG), "-o", str(out), "--format", "svg"])
    assert result.exit_code == exitcodes.OK
    assert out.read_text(encoding="utf-8").startswith("<svg")
    plain = tmp_path / "snapshot"  # no extension at all: the format given
    args = ["snapshot", fixture(LOG), "-o", str(plain), "--format", "text"]
    assert invoke(args).exit_code == exitcodes.OK
    assert plain.read_bytes() == invoke(["snapshot", fixture(LOG)]).stdout_bytes


def test_snapshot_refuses_a_name_without_an_extension(tmp_path: Path) -> None:
    """The README: a name that names no format is refused (unless --format says it)."""
    out = tmp_path / "out"
    result = invoke(["snapshot", fixture(LOG), "-o", str(out)])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert "no extension" in result.stderr and "--format" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "command", [["snapshot"], ["snapshot", "--format", "text"], ["export", "--format", "junit"]]
)
def test_an_output_named_like_a_directory_is_refused(command: list[str], tmp_path: Path) -> None:
    """-o somedir.d/ names a directory, existing or not: never a file named somedir.d."""
    for out in (tmp_path / "somedir.d", tmp_path / "missing" / "somedir.d"):
        args = [command[0], fixture(LOG), *command[1:], "-o", f"{out}{os.sep}"]
        result = invoke(args)
        assert result.exit_code == exitcodes.USAGE, result.stderr
        assert_one_error_line(result.stderr)
        assert "names a directory" in result.stderr
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [
        ["import", "{report}", "-o", "{out}"],
        ["pull", "redis://127.0.0.1:6379/0/runreel-never-used", "-o", "{out}"],
        ["record", "-o", "{out}", "--", "sh", "-c", "touch {ran}"],
        ["demo", "-o", "{out}"],
    ],
)
def test_the_writing_commands_refuse_a_directory_name_before_any_work(
    command: list[str], tmp_path: Path
) -> None:
    """import, pull, record and demo: `-o out.d/` is refused up front (64), before reading a
    report, contacting a server or running the command; no file named out.d appears."""
    report = tmp_path / "report.json"
    report.write_bytes(Path(fixture(LOG)).read_bytes())
    ran = tmp_path / "ran"
    (tmp_path / "there").mkdir()
    for out in (f"{tmp_path / 'out.d'}{os.sep}", str(tmp_path / "there")):
        args = [a.format(report=report, out=out, ran=ran) for a in command]
        result = invoke(args)
        assert result.exit_code == exitcodes.USAGE, result.stderr
        assert_one_error_line(result.stderr)
        assert "names a directory; name the file to write" in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "there"]
        assert list((tmp_path / "there").iterdir()) == []


def test_snapshot_into_a_missing_directory_is_74(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "snap.txt"
    result = invoke(["snapshot", fixture(LOG), "-o", str(out)])
    assert result.exit_code == exitcodes.IO_ERROR
    assert_one_error_line(result.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["live", "replay"])
def test_a_snapshot_into_a_missing_directory_is_refused_up_front(
    command: str, tmp_path: Path
) -> None:
    """--snapshot's directory is checked before the view starts, not when the run ends."""
    out = tmp_path / "missing" / "final.svg"
    args = [command, fixture(LOG), "--snapshot", str(out)]
    result = invoke([*args, "--instant"] if command == "replay" else [*args, "--timeout", "1"])
    assert result.exit_code == exitcodes.IO_ERROR
    assert_one_error_line(result.stderr)
    assert "no directory" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["snapshot", "LOG", "-o", "-"],
        ["snapshot", "LOG", "-o", "-", "--format", "json"],
        ["export", "LOG", "-o", "-", "--format", "openmetrics"],
    ],
    ids=" ".join,
)
def test_output_dash_is_stdout(args: list[str], tmp_path: Path) -> None:
    args = [fixture(LOG) if a == "LOG" else a for a in args]
    proc = run_runreel(args, cwd=tmp_path)
    assert proc.returncode == exitcodes.OK, proc.stderr
    without = [a for a in args if a not in ("-o", "-")]
    assert proc.stdout == run_runreel(without, cwd=tmp_path).stdout
    assert list(tmp_path.iterdir()) == []  # no file named "-"


# replay's range and speed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--from", "80%", "--to", "20%", "--instant"], ["--from 80%", "--to 20%"]),
        (["--from", "end", "--to", "start", "--instant"], ["--from end", "--to start"]),
        (["--from", "#12", "--to", "#3", "--instant"], ["--from #12", "--to #3"]),
        (["--from", "mark:halfway", "--to", "1", "--instant"], ["--from mark:halfway"]),
        (["--speed", "inf"], ["--speed"]),
        (["--speed", "-inf"], ["--speed"]),
        (["--speed", "1e999"], ["--speed"]),
        (["--speed", "nan"], ["--speed"]),
        (["--speed", "0"], ["--speed", "--instant"]),
        (["--speed", "-2"], ["--speed", "more than 0"]),
        (["--speed", "-1"], ["--speed", "more than 0"]),
        (["--speed", "2", "--instant"], ["--speed", "--instant"]),
        (["--speed", "1", "--instant"], ["--speed", "--instant"]),
    ],
)
def test_bad_replay_ranges_and_speeds_are_64(args: list[str], words: list[str]) -> None:
    result = invoke(["replay", fixture(LOG), *args])
    assert result.exit_code == exitcodes.USAGE, result.stdout
    assert_one_error_line(result.stderr)
    for word in words:
        assert word in result.stderr
    assert "x>=0" not in result.stderr  # 0 is refused too: never say it is in range
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "20%", "--to", "80%", "--instant"],
        ["--from", "50%", "--to", "50%", "--instant"],
        ["--from", "#3", "--to", "#12", "--speed", "1000"],
    ],
)
def test_a_forward_range_still_plays(args: list[str]) -> None:
    result = invoke(["replay", fixture(LOG), *args])
    assert result.exit_code == exitcodes.INCOMPLETE, result.stderr  # stops before the end
    assert result.stderr == ""


# Refusals to write over a log: --force, 74 -----------------------------------------------


def test_record_over_a_log_says_force(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    before = Path(fixture(LOG)).read_bytes()
    log.write_bytes(before)
    result = invoke(["record", "-o", str(log), "--", "true"])
    assert result.exit_code == exitcodes.IO_ERROR
    assert_one_error_line(result.stderr)
    assert f"{log} already holds a log; pass --force to replace it" in result.stderr
    assert "overwrite=True" not in result.stderr and "attach" not in result.stderr
    assert log.read_bytes() == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """redis://127.0.0.1:PORT/0 of a redis-server of this test's own."""
    redis = pytest.importorskip("redis", reason="redis-py is not installed")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
        + ["--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        end = time.monotonic() + 10
        while True:
            try:
                with redis.Redis.from_url(url, socket_connect_timeout=1.0) as c:
                    c.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > end:
                    pytest.skip("redis-server did not start")
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def test_pull_into_a_file_that_holds_something_else_says_force(
    redis_url: str, tmp_path: Path
) -> None:
    url = f"{redis_url}/nightly"
    assert invoke(["push", fixture(LOG), url]).exit_code == exitcodes.OK
    out = tmp_path / "other.jsonl"
    before = Path(fixture("with_retries")).read_bytes()
    out.write_bytes(before)
    result = invoke(["pull", url, "-o", str(out)])
    assert result.exit_code == exitcodes.IO_ERROR  # as import, push and record refuse
    assert_one_error_line(result.stderr)
    assert "--force" in result.stderr and "new file" not in result.stderr
    assert out.read_bytes() == before
    assert invoke(["pull", url, "-o", str(out), "--force"]).exit_code == exitcodes.OK
    assert out.read_bytes() == Path(fixture(LOG)).read_bytes()


# Messages ---------------------------------------------------------------------------------


def test_validate_counts_one_problem_in_the_singular() -> None:
    result = invoke(["validate", fixture("seq_gap")])
    assert result.exit_code == exitcodes.LOG_INVALID
    assert ": invalid: 1 problem, " in result.stdout
    two = invoke(["validate", fixture("corrupt_middle")])
    assert ": invalid: 2 problems, " in two.stdout
