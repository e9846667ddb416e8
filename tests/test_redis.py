"""Redis Streams as a log backend, against a real redis-server.

The server: RUNREEL_TEST_REDIS_URL (redis://host:port/DB, as .ci/run exports it) when
set; else one these tests start on a free loopback port when redis-server is
installed; else the tests that need a server skip, saying why. The restart tests
always start their own (persistent) server, since they kill it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import ROOT, assert_one_error_line, clean_env, fixture, fold_file, invoke, run_runreel

from recorder import Recorder, WriteFailed, location
from recorder.errors import LogInvalid
from recorder.events import Log, RunStarted
from recorder.location import (
    BadLocation,
    FileLocation,
    RedisLocation,
    is_url,
    line_of,
    locate,
    parse,
)
from recorder.redis_stream import RedisMissing, Stream
from replay import exitcodes
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.sources import archive as redis_archive
from replay.sources import local_file
from replay.sources.redis import RedisFollower

URL_ENV = "RUNREEL_TEST_REDIS_URL"


# Servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1.0)


def reachable(url: str, wait: float) -> bool:
    end = time.monotonic() + wait
    while True:
        try:
            with client(url) as c:
                c.ping()
            return True
        except Exception:
            if time.monotonic() >= end:
                return False
            time.sleep(0.05)


class RedisServer:
    """A redis-server of the test's own, a child process in the foreground.

    ``persistent``: every write reaches the append-only file before it is
    acknowledged, so a restart (even after SIGKILL) keeps every acknowledged entry.
    """

    def __init__(self, data: Path, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (.ci/run installs it with apt-get)")
        self.binary, self.data, self.persistent = binary, data, persistent
        data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        durable = ["yes", "--appendfsync", "always"] if self.persistent else ["no"]
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.data), "--save", "", "--appendonly", *durable],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not reachable(self.url, 10.0):
            self.stop()
            pytest.skip(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(scope="session")
def redis_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """redis://host:port/DB of a server for the session."""
    pytest.importorskip("redis", reason="redis-py is not installed (pip install '.[test]')")
    given = os.environ.get(URL_ENV)
    if given:
        if not reachable(given, 10.0):
            pytest.fail(f"{URL_ENV}={given} is set but no server answers there")
        yield given.rstrip("/")
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def new_stream(
    redis_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], str]]:
    """Makes URLs of fresh streams (deleted after the test); stream copies go to tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    keys: list[str] = []

    def make() -> str:
        keys.append(f"runreel-test-{uuid.uuid4().hex[:12]}")
        return f"{redis_base}/{keys[-1]}"

    yield make
    if keys:
        with client(redis_base) as c:
            c.delete(*keys)


def stream_lines(url: str) -> bytes:
    """Every line the stream holds, in order, each with its newline."""
    loc = parse(url)
    with client(loc.url) as c:
        return b"".join(fields[b"line"] + b"\n" for _, fields in c.xrange(loc.stream))


def write_run(url: str, tasks: int = 12) -> None:
    """A run with retries, a failure, a mark, a metric and hostile text (exit code 2)."""
    with Recorder(url, name="nightly \x1b[2J[b]x[/b]", total=tasks, meta={"host": "ci"}) as rec:
        rec.metric("bytes", 10)
        for i in range(tasks):
            task, worker = f"t{i}", f"w{i % 3}"
            rec.task_started(task, worker=worker)
            if i % 4 == 1:
                rec.retry(task, worker=worker, attempt=1, error="timeout\x1b]0;x\x07", backoff=0.01)
                rec.task_started(task, worker=worker, attempt=2)
            if i == 5:
                rec.failed(task, worker=worker, error="boom")
            else:
                rec.succeeded(task, worker=worker)
            if i == tasks // 2:
                rec.mark("half")


def follow(f: RedisFollower, m: Metrics, until: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < end, f"follower stalled at {m.events} events ({f.notice})"
        poll = f.poll()
        assert not poll.reset, f.notice
        apply_all(m, poll.events)


# Locations (no server needed) -----------------------------------------------------


def test_a_url_names_server_db_stream_and_options() -> None:
    loc = parse("redis://u:s3cr%40t@127.0.0.1:7000/2/runs/a%20b?socket_timeout=3&retry_for=5")
    assert loc.stream == "runs/a b"
    assert loc.url == "redis://u:s3cr%40t@127.0.0.1:7000/2?socket_timeout=3"
    assert str(loc) == "redis://u:***@127.0.0.1:7000/2/runs/a%20b"
    assert loc.retry_for == 5.0
    assert parse("rediss://h/0/s").url == "rediss://h:6379/0"
    assert is_url("REDIS://h:1/0/s") and is_url("rediss://h/0/s")
    assert not is_url("run.jsonl") and not is_url("redis.jsonl") and not is_url(Path("x"))


@pytest.mark.parametrize(
    "url",
    [
        "redis://h:6379/s",
        "redis://h:6379/0/",
        "redis://h:6379/0",
        "redis://h:port/0/s",
        "redis:///0/s",
        "redis://h/0/s?retry_for=-1",
        "redis://h/0/s?retry_for=soon",
    ],
)
def test_a_bad_url_is_a_usage_error_on_one_line(url: str) -> None:
    with pytest.raises(BadLocation):
        parse(url)
    secret = url.replace("redis://", "redis://u:hunter2@")
    result = invoke(["stats", secret])
    assert result.exit_code == exitcodes.USAGE
    assert_one_error_line(result.stderr)
    assert "hunter2" not in result.stderr


def test_without_redis_py_a_url_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(RedisMissing, match=r"pip install 'runreel\[redis\]'"):
        Recorder("redis://127.0.0.1:1/0/s")
    result = invoke(["stats", "redis://127.0.0.1:1/0/s"])
    assert result.exit_code == exitcodes.USAGE
    assert "runreel[redis]" in result.stderr


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("bogus_opt=1", "unknown option 'bogus_opt'"),
        ("db=1", "unknown option 'db'"),  # the DB is in the path; a second one would hide
        ("ssl_ca_certs=ca.pem", "'ssl_ca_certs' needs a rediss:// (TLS) URL"),
        ("socket_timeout=abc", "Invalid value for 'socket_timeout'"),
    ],
)
def test_an_unknown_or_bad_url_option_is_a_usage_error_naming_it(
    redis_base: str, tmp_path: Path, query: str, says: str
) -> None:
    url = f"{redis_base}/runreel-test-options?{query}"
    log = str(tmp_path / "run.jsonl")
    for args in (["stats", url], ["push", fixture("all_succeeded"), url], ["pull", url, "-o", log]):
        result = invoke(args)
        assert result.exit_code == exitcodes.USAGE, (args, result.stderr)
        assert_one_error_line(result.stderr)
        assert says in result.stderr
        if "unknown option" in says:  # and says which ones there are
            assert "retry_for, client_name" in result.stderr and "socket_timeout" in result.stderr
    with client(redis_base) as c:
        assert not c.exists("runreel-test-options")
    with pytest.raises(BadLocation, match="unknown option 'bogus_opt'"):
        Recorder(f"{redis_base}/runreel-test-options?bogus_opt=1")
    secret = url.replace("redis://", "redis://u:hunter2@")
    assert "hunter2" not in invoke(["stats", secret]).stderr


def test_every_accepted_option_reaches_redis_py(
    redis_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {"ssl_cert_reqs": "none", "ssl_check_hostname": "false", "ssl_min_version": "771"}
    tls = "&".join(f"{name}={values.get(name, 'x')}" for name in location.TLS_OPTIONS)
    Stream(parse(f"rediss://127.0.0.1:1/0/s?{tls}")).close()  # taken; never connects
    values = {"client_name": "runreel-test", "protocol": "2", "socket_keepalive": "true"}
    plain = "&".join(f"{name}={values.get(name, '3')}" for name in location.OPTIONS)
    stream = Stream(parse(f"{redis_base}/runreel-test-accepted?{plain}"))
    try:
        assert stream.length() == 0  # a connection was made with every option
    finally:
        stream.close()
    # one this redis-py does not take (an older one) is refused before any command
    monkeypatch.setattr(location, "OPTIONS", (*location.OPTIONS, "no_such_option"))
    with pytest.raises(BadLocation, match="does not take the option 'no_such_option'"):
        Stream(parse(f"{redis_base}/s?no_such_option=1"))


# Writing ---------------------------------------------------------------------------


def test_the_recorder_writes_one_entry_per_event(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    with Recorder(url, name="one", total=1) as rec:
        with rec.task("a", worker="w"):
            pass
        with Recorder.attach(url) as worker:
            worker.log("from a worker")
    lines = stream_lines(url).splitlines()
    assert [line.split(b'"', 4)[3] for line in lines] == [
        b"run_started",
        b"task_started",
        b"task_succeeded",
        b"log",
        b"run_finished",
    ]
    result = invoke(["stats", url])
    assert result.exit_code == exitcodes.OK, result.output


def test_the_recorder_refuses_a_stream_that_holds_a_log(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    Recorder(url, name="first").close()
    with pytest.raises(WriteFailed, match="already holds a log; pass overwrite=True"):
        Recorder(url, name="second")
    with Recorder(url, name="third", overwrite=True) as rec:
        rec.log("replaced")
    assert b'"name":"first"' not in stream_lines(url)
    assert stream_lines(url).count(b"run_started") == 1
    with pytest.raises(WriteFailed, match="no such stream"):
        Recorder.attach(new_stream())


def test_a_forked_child_writes_as_its_own_writer(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    with Recorder(url, name="fork") as rec:
        rec.log("parent before fork")
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                rec.log("child")
                rec.close()
                code = 0
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
        rec.log("parent after fork")
    m = fold_url(url)
    assert m.finished and m.gap_count == 0 and m.events == 5
    assert len({line.split(b'"src":"')[1][:20] for line in stream_lines(url).splitlines()}) == 2


WORKER = textwrap.dedent(
    """
    import sys
    from recorder import Recorder
    url, pairs, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with Recorder.attach(url) as rec:
        for i in range(pairs):
            rec.task_started(f"{name}-{i}", worker=name)
            rec.succeeded(f"{name}-{i}", worker=name)
    """
)


def test_many_writer_processes_lose_nothing(new_stream: Callable[[], str]) -> None:
    url, procs, pairs = new_stream(), 8, 1000  # 8 x 2,000 events
    with Recorder(url, name="many", total=procs * pairs):
        workers = [
            subprocess.Popen([sys.executable, "-c", WORKER, url, str(pairs), f"p{i}"], cwd=ROOT)
            for i in range(procs)
        ]
        assert [w.wait(120) for w in workers] == [0] * procs
    m = fold_url(url)
    assert m.finished and m.events == procs * pairs * 2 + 2
    assert m.succeeded == procs * pairs and m.gap_count == 0 and m.lost_events == 0
    seqs: dict[str, list[int]] = defaultdict(list)
    for line in stream_lines(url).splitlines():
        event = msgspec.json.decode(line)
        seqs[event["src"]].append(event["seq"])
    workers_seqs = [s for s in seqs.values() if len(s) == 2 * pairs]
    assert len(workers_seqs) == procs
    assert all(s == list(range(1, 2 * pairs + 1)) for s in workers_seqs)  # gapless, in order
    assert invoke(["validate", url]).exit_code == exitcodes.OK


def test_record_runs_a_command_whose_workers_write_to_the_stream(
    new_stream: Callable[[], str], tmp_path: Path
) -> None:
    url = new_stream()
    script = (
        "from recorder import Recorder\nwith Recorder.attach() as r:\n    r.log('from the child')"
    )
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = run_runreel(["record", "-o", url, "--", sys.executable, "-c", script], env=env)
    assert done.returncode == exitcodes.TOTAL_FAILURE, done.stderr  # no tasks ran
    assert b"from the child" in stream_lines(url)
    assert fold_url(url).finished


PACED_WORKER = textwrap.dedent(
    """
    import sys, time
    from recorder import Recorder
    url, pairs = sys.argv[1], int(sys.argv[2])
    linger = float(sys.argv[3]) if len(sys.argv) > 3 else None
    with Recorder.attach(url, linger=linger) as rec:
        for i in range(pairs):
            rec.task_started(f"t{i}", worker="w")
            rec.succeeded(f"t{i}", worker="w")
            time.sleep(0.002)
    """
)


@pytest.mark.parametrize("linger", [None, "0.01"])  # each line, or batched XADDs
def test_a_server_restart_loses_nothing_and_the_follower_carries_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linger: str | None
) -> None:
    pytest.importorskip("redis")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    server = RedisServer(tmp_path / "data", persistent=True)
    try:
        url, pairs = f"{server.url}/restart", 600
        owner = Recorder(url, name="restart", total=pairs)
        args = [url, str(pairs), *([linger] if linger else [])]
        writer = subprocess.Popen([sys.executable, "-c", PACED_WORKER, *args], cwd=ROOT)
        f, m = RedisFollower(parse(url), block=0.02), Metrics()
        try:
            follow(f, m, lambda: m.events >= 200, 30)
            server.kill()
            follow(f, m, lambda: (f.notice or "").startswith("cannot reach"), 10)
            time.sleep(0.5)
            server.start()
            assert writer.wait(60) == 0  # it retried through the outage
            owner.finish()
            owner.close()
            follow(f, m, lambda: m.finished, 30)
        finally:
            f.close()
            if writer.poll() is None:
                writer.kill()
        assert f.notice is None
        assert m.gap_count == 0 and m.succeeded == pairs and m.events == 2 * pairs + 2
        pulled, _ = fold_file(redis_archive.local_copy(parse(url)))
        assert pulled.events == m.events and pulled.gap_count == 0
        assert invoke(["stats", url]).exit_code == exitcodes.OK
    finally:
        server.stop()


def test_a_writer_that_gives_up_says_what_it_lost_and_readers_see_the_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("redis")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    server = RedisServer(tmp_path / "data", persistent=True)
    try:
        url = f"{server.url}/gives-up?retry_for=0.3"
        rec = Recorder(url, name="gives up")
        rec.task_started("a", worker="w")
        server.kill()
        began = time.monotonic()
        with pytest.raises(WriteFailed) as failed:
            rec.succeeded("a", worker="w")
        # It gave up by retry_for=0.3, not by the 30 s default (a hang guard, not a speed limit).
        assert time.monotonic() - began < 20
        message = str(failed.value)
        assert "retry_for=0.3" in message
        assert "event seq 3 (task_succeeded)" in message and "was not delivered" in message
        server.start()
        rec.succeeded("a", worker="w")  # the server is back: the next event goes through
        rec.finish()
        rec.close()
        result = invoke(["validate", url])
        assert result.exit_code == exitcodes.LOG_INVALID
        assert "seq jumps from 2 to 4 (events lost)" in result.stdout
    finally:
        server.stop()


# Reading ---------------------------------------------------------------------------


def fold_url(url: str) -> Metrics:
    m, _ = fold_file(redis_archive.local_copy(parse(url)))
    return m


def test_every_reading_command_takes_a_stream_url(
    new_stream: Callable[[], str], tmp_path: Path
) -> None:
    url = new_stream()
    write_run(url)
    local = str(tmp_path / "pulled.jsonl")
    assert invoke(["pull", url, "-o", local]).exit_code == exitcodes.OK
    for args in (
        ["snapshot", "{}", "--at", "50%", "--width", "90", "--height", "24"],
        ["snapshot", "{}", "--at", "mark:half", "--format", "svg"],
        ["stats", "{}", "--json"],
        ["replay", "--instant", "{}"],
        ["export", "{}", "--format", "openmetrics"],
        ["export", "{}", "--format", "asciicast"],
        ["live", "{}", "--timeout", "20"],
    ):
        from_url = invoke([a.format(url) for a in args])
        from_file = invoke([a.format(local) for a in args])
        assert from_url.exit_code == from_file.exit_code, args
        assert from_url.exit_code in (exitcodes.PARTIAL_FAILURE, exitcodes.INCOMPLETE), args
        assert from_url.stdout == from_file.stdout, args
    golden = str(tmp_path / "golden")
    update = invoke(["check", local, golden, "--at", "50%", "--at", "end", "--update"])
    assert update.exit_code == exitcodes.OK
    assert invoke(["check", url, golden]).exit_code == exitcodes.OK
    validated = invoke(["validate", url])
    assert validated.exit_code == exitcodes.OK and ": ok: " in validated.stdout
    indexed = invoke(["index", url])
    assert indexed.exit_code == exitcodes.OK and "events" in indexed.stdout


def test_reading_a_missing_stream_or_server_is_exit_66(
    new_stream: Callable[[], str], tmp_path: Path
) -> None:
    result = invoke(["snapshot", new_stream()])
    assert result.exit_code == exitcodes.LOG_UNAVAILABLE
    assert_one_error_line(result.stderr)
    assert "no such stream" in result.stderr
    result = invoke(["stats", f"redis://127.0.0.1:{free_port()}/0/nothing-listens"])
    assert result.exit_code == exitcodes.LOG_UNAVAILABLE
    assert_one_error_line(result.stderr)
    copies = tmp_path / "cache" / "runreel" / "streams"
    assert not copies.exists() or list(copies.iterdir()) == []  # no empty copies left behind


def test_an_entry_without_a_line_is_a_bad_line(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    write_run(url, tasks=2)
    loc = parse(url)
    with client(loc.url) as c:
        c.xadd(loc.stream, {"other": "x"})
    result = invoke(["validate", url])
    assert result.exit_code == exitcodes.LOG_INVALID
    lenient = invoke(["stats", url, "--lenient"])
    assert lenient.exit_code == exitcodes.OK and "skipped" in lenient.stderr


def test_a_stream_copy_is_named_by_its_url_in_messages(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    write_run(url, tasks=2)
    located = locate(url)
    assert isinstance(located, RedisLocation)
    shown, copy = str(parse(url)), local_file(located)
    assert os.fspath(copy).endswith(".jsonl") and str(copy) == shown  # read there, named so
    assert line_of(copy, 7) == f"{shown} (entry 7)"
    assert str(LogInvalid(copy, 7, "JSON is malformed")) == f"{shown} (entry 7): JSON is malformed"
    assert f"cannot read {copy}: gone" == f"cannot read {shown}: gone"
    assert line_of("/elsewhere.jsonl", 7) == "/elsewhere.jsonl:7"
    assert isinstance(locate("/elsewhere.jsonl"), FileLocation)
    assert local_file(locate("/elsewhere.jsonl")) == "/elsewhere.jsonl"
    loc, user = parse(url), f"runreel-test-{uuid.uuid4().hex[:8]}"
    with client(loc.url) as c:
        try:
            c.acl_setuser(
                user, enabled=True, passwords=["+hunter2"], keys=["*"], commands=["+@all"]
            )
        except Exception as exc:  # a server of CI's that does not let us add a user
            pytest.skip(f"cannot add an ACL user: {exc}")
        try:
            secret = url.replace("://", f"://{user}:hunter2@")
            copy = local_file(locate(secret))
            named = line_of(copy, 1) + ": bad"
        finally:
            c.acl_deluser(user)
    assert named == f"{secret.replace(':hunter2@', ':***@')} (entry 1): bad"
    assert "hunter2" not in os.fspath(copy)


def test_reading_commands_name_the_stream_not_its_local_copy(
    new_stream: Callable[[], str],
) -> None:
    url = new_stream()
    write_run(url, tasks=2)
    loc = parse(url)
    with client(loc.url) as c:
        c.xadd(loc.stream, {"line": "not json"})
        entry = c.xlen(loc.stream)
    failed = invoke(["stats", url])
    assert failed.exit_code == exitcodes.LOG_INVALID
    assert_one_error_line(failed.stderr)
    assert failed.stderr.startswith(f"runreel: error: {loc} (entry {entry}): "), failed.stderr
    validated = invoke(["validate", url])
    assert validated.exit_code == exitcodes.LOG_INVALID
    assert f"{loc} (entry {entry}): " in validated.stdout, validated.stdout
    assert f"{loc}: invalid: " in validated.stdout
    lenient = invoke(["stats", url, "--lenient"])
    assert f"runreel: warning: {loc} (entry {entry}): skipped: " in lenient.stderr
    for out in (failed.stderr, validated.stdout, lenient.stderr):
        assert ".jsonl" not in out


def test_check_names_the_stream_in_the_diff_header(
    new_stream: Callable[[], str], tmp_path: Path
) -> None:
    url = new_stream()
    write_run(url, tasks=4)
    golden = tmp_path / "golden"
    golden.mkdir()
    assert invoke(["check", url, str(golden), "--update"]).exit_code == exitcodes.OK
    (snap,) = golden.glob("*.txt")
    snap.write_text(snap.read_text(encoding="utf-8").replace("nightly", "daily"), encoding="utf-8")
    result = invoke(["check", url, str(golden)])
    assert result.exit_code == exitcodes.TOTAL_FAILURE
    assert f"--- {snap} (golden)\n" in result.stdout
    assert f"+++ {parse(url)} at end (100x30 text)\n" in result.stdout, result.stdout
    assert ".jsonl" not in result.stdout and "streams" not in result.stdout


# Following --------------------------------------------------------------------------


def test_the_follower_wakes_as_soon_as_an_entry_is_added(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    f = RedisFollower(parse(url), block=1.0)
    try:
        assert f.poll().events == [] and not f.appeared
        assert "waiting for" in (f.notice or "")
        rec = Recorder(url, name="latency")
        f.poll()
        assert f.appeared and f.notice is None
    finally:
        f.close()
    patient = RedisFollower(parse(url), block=60.0)
    try:
        assert patient.poll().events  # what is there comes at once
        for i in range(5):
            threading.Timer(0.2, rec.log, args=(f"ping {i}",)).start()
            began = time.monotonic()
            events = patient.poll().events  # blocks up to 60 s, but wakes on the entry
            assert [e.msg for e in events if isinstance(e, Log)] == [f"ping {i}"]
            assert time.monotonic() - began < 60  # woke on the entry, not at the block's end
        rec.close()
    finally:
        patient.close()
    quick = RedisFollower(parse(url), block=0.05)
    try:
        quick.poll()
        assert quick.poll().events == []  # an idle poll comes back empty after its block
    finally:
        quick.close()


def test_the_follower_notices_a_stream_deleted_or_replaced(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    now = [0.0]
    f = RedisFollower(parse(url), block=0.01, clock=lambda: now[0])
    try:
        rec = Recorder(url, name="first")
        rec.log("one")
        assert len(f.poll().events) == 2
        loc = parse(url)
        with client(loc.url) as c:
            c.delete(loc.stream)
        now[0] += 2
        assert f.poll().events == []
        assert (f.notice or "").startswith("stream deleted, showing what it held")
        rec.close()
        with Recorder(url, name="second") as again:
            again.log("two")
        now[0] += 2
        poll = f.poll()
        assert poll.reset and (f.notice or "").startswith("stream replaced, started over")
        started = [e for e in poll.events if isinstance(e, RunStarted)]
        assert [e.name for e in started] == ["second"] and len(poll.events) == 3
    finally:
        f.close()


def test_the_follower_says_why_it_cannot_connect_and_carries_on_when_it_can(
    tmp_path: Path,
) -> None:
    pytest.importorskip("redis")
    server = RedisServer(tmp_path / "data")
    server.stop()
    url, now = f"{server.url}/later", [0.0]
    f = RedisFollower(parse(url), block=0.01, clock=lambda: now[0])
    try:
        assert f.poll().events == [] and not f.appeared
        assert f.unreachable is not None and "Connection refused" in f.unreachable
        assert f.unreachable.startswith(f"cannot connect to {url}: ")
        assert f.notice == f"{f.unreachable} (retrying)"
        server.start()
        now[0] += 2
        assert f.poll().events == []
        assert f.unreachable is None and f.notice == f"waiting for {url} to appear"
        with Recorder(url, name="late"):
            pass
        now[0] += 2
        assert len(f.poll().events) == 2 and f.appeared and f.notice is None
    finally:
        f.close()
        server.stop()


def test_live_on_a_server_it_never_reaches_says_why_and_exits_66() -> None:
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{free_port()}/0/never"
    result = run_runreel(["live", url, "--timeout", "2", "--interval", "0.5"])
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == exitcodes.LOG_UNAVAILABLE, stderr
    assert_one_error_line(stderr)
    assert stderr.startswith(f"runreel: error: cannot connect to {url}: "), stderr
    assert "Connection refused (stopped: timeout)" in stderr
    assert "Connection refused (retrying)" in stdout  # the status lines said so meanwhile


# pull and push ------------------------------------------------------------------------


def test_pull_resumes_without_losing_or_repeating(
    new_stream: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_archive, "BATCH", 7)  # many batches from a small stream
    url, out = new_stream(), tmp_path / "archive.jsonl"
    rec = Recorder(url, name="growing")
    for i in range(20):
        rec.log(f"first {i}")
    result = invoke(["pull", url, "-o", str(out)])
    assert result.exit_code == exitcodes.OK and "21 new entries" in result.stdout
    assert out.read_bytes() == stream_lines(url)
    for i in range(30):
        rec.log(f"second {i}")
    result = invoke(["pull", url, "-o", str(out)])
    assert "30 new entries" in result.stdout
    assert out.read_bytes() == stream_lines(url)
    # A pull cut short after writing lines but before recording them: they are pulled
    # again in place, not kept twice.
    for i in range(10):
        rec.log(f"third {i}")
    rec.finish()
    rec.close()
    with out.open("ab") as f:
        f.write(stream_lines(url)[len(out.read_bytes()) :][:300])
    assert invoke(["pull", url, "-o", str(out)]).exit_code == exitcodes.OK
    assert out.read_bytes() == stream_lines(url)
    assert invoke(["pull", url, "-o", str(out)]).stdout.startswith(f"{out}: 0 new entries")
    assert fold_file(str(out))[0].gap_count == 0


def test_pull_refuses_a_file_that_holds_something_else(
    new_stream: Callable[[], str], tmp_path: Path
) -> None:
    url, out = new_stream(), tmp_path / "archive.jsonl"
    write_run(url, tasks=3)
    other = tmp_path / "other.jsonl"
    other.write_bytes(Path(fixture("with_retries")).read_bytes())
    result = invoke(["pull", url, "-o", str(other)])
    assert result.exit_code == exitcodes.IO_ERROR  # as import, push and record refuse
    assert_one_error_line(result.stderr)
    assert invoke(["pull", url, "-o", str(other), "--force"]).exit_code == exitcodes.OK
    assert other.read_bytes() == stream_lines(url)
    assert invoke(["pull", url, "-o", str(out)]).exit_code == exitcodes.OK
    write_run_over = Recorder(url, name="another run", overwrite=True)
    write_run_over.close()
    result = invoke(["pull", url, "-o", str(out)])
    assert result.exit_code == exitcodes.IO_ERROR and "holds another run now" in result.stderr
    missing = invoke(["pull", new_stream(), "-o", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == exitcodes.LOG_UNAVAILABLE
    assert not (tmp_path / "none.jsonl").exists()


def test_concurrent_reads_share_one_copy_without_repeats(new_stream: Callable[[], str]) -> None:
    url = new_stream()
    write_run(url, tasks=40)
    paths: list[str] = []
    threads = [
        threading.Thread(target=lambda: paths.append(redis_archive.local_copy(parse(url))))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 1
    assert Path(paths[0]).read_bytes() == stream_lines(url)


@pytest.mark.parametrize(
    "name", ["with_retries", "hostile", "many_workers", "unknown_type", "seq_gap", "corrupt_middle"]
)
def test_push_then_pull_gives_back_the_same_bytes(
    new_stream: Callable[[], str], tmp_path: Path, name: str
) -> None:
    url, out = new_stream(), tmp_path / "back.jsonl"
    pushed = invoke(["push", fixture(name), url])
    assert pushed.exit_code == exitcodes.OK, pushed.stderr
    assert invoke(["pull", url, "-o", str(out)]).exit_code == exitcodes.OK
    assert out.read_bytes() == Path(fixture(name)).read_bytes()
    from_url, from_file = invoke(["stats", url]), invoke(["stats", fixture(name)])
    assert from_url.exit_code == from_file.exit_code
    assert from_url.stdout == from_file.stdout


def test_push_refuses_an_existing_stream_and_an_invalid_log(
    new_stream: Callable[[], str], tmp_path: Path
) -> None:
    url = new_stream()
    assert invoke(["push", fixture("all_succeeded"), url]).exit_code == exitcodes.OK
    again = invoke(["push", fixture("with_retries"), url])
    assert again.exit_code == exitcodes.IO_ERROR
    assert_one_error_line(again.stderr)
    assert "--force" in again.stderr
    assert invoke(["push", fixture("with_retries"), url, "--force"]).exit_code == exitcodes.OK
    assert stream_lines(url) == Path(fixture("with_retries")).read_bytes()
    torn = invoke(["push", fixture("torn_tail"), url, "--force"])
    assert torn.exit_code == exitcodes.OK and "incomplete last line" in torn.stderr
    whole = Path(fixture("torn_tail")).read_bytes()
    assert stream_lines(url) == whole[: whole.rfind(b"\n") + 1]
    future = invoke(["push", fixture("future_version"), new_stream()])
    assert future.exit_code == exitcodes.LOG_INVALID
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert invoke(["push", str(empty), new_stream()]).exit_code == exitcodes.LOG_INVALID
    assert invoke(["push", str(tmp_path / "nope"), new_stream()]).exit_code == (
        exitcodes.LOG_UNAVAILABLE
    )
