"""The parallel fold gives the sequential fold's state, byte for byte, wherever the log is cut."""

from __future__ import annotations

import importlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from recorder import codec
from recorder.errors import LogInvalid
from replay.core.fold import apply_all, fold
from replay.core.merge import merge
from replay.core.metrics import Metrics
from replay.core.partial import warm
from replay.index import parallel
from replay.index.checkpoint import dump
from replay.sources.ranges import split

WORKERS = ["w0", "w1", "w2", "w3"]
SRCS = ["a", "b", "c"]
TIMES = [0.0, 0.5, 1.0, 1.0, 2.25, 3.0, 40.0, 70.0, 200.0]  # repeats make ties


@st.composite
def logs(draw: st.DrawFn, tasks: int = 7) -> list[dict[str, Any]]:
    """A log's lines as dicts: tasks that run, retry, re-run, restart on other workers,
    fail, skip; metrics, marks, logs, unknown types, joined runs, seq gaps, time steps back."""
    seqs = {s: 0 for s in SRCS}
    t = 1_000.0
    out: list[dict[str, Any]] = []

    def line(type_: str, **fields: Any) -> None:
        nonlocal t
        src = draw(st.sampled_from(SRCS))
        jump = draw(st.sampled_from([1, 1, 1, 1, 1, 1, 2, 0, 3]))  # gaps and repeats
        seqs[src] += jump
        t += draw(st.sampled_from(TIMES)) - draw(st.sampled_from([0.0, 0.0, 0.0, 0.75]))
        out.append({"type": type_, "t": round(t, 6), "src": src, "seq": seqs[src], **fields})

    def run_started() -> None:
        total = draw(st.none() | st.integers(0, 50))
        line("run_started", v=1, run=f"r{len(out)}", name="n", total=total, meta={"k": "v"})

    run_started()
    for _ in range(draw(st.integers(1, 120))):
        task = f"job-{draw(st.integers(0, tasks - 1))}"
        worker = draw(st.sampled_from(WORKERS))
        attempt = draw(st.sampled_from([1, 1, 1, 2, 3]))
        kind = draw(
            st.sampled_from(
                ["start"] * 6
                + ["ok"] * 4
                + ["fail", "retry", "skip", "log", "mark", "counter", "gauge"]
                + ["total", "unknown", "joined", "finished"]
            )
        )
        if kind == "start":
            line("task_started", task=task, worker=worker, attempt=attempt)
        elif kind == "ok":
            line("task_succeeded", task=task, worker=worker)
        elif kind == "fail":
            line("task_failed", task=task, worker=worker, error=f"E{len(out) % 3}")
        elif kind == "retry":
            line("task_retrying", task=task, worker=worker, attempt=attempt, error="x", backoff=1.5)
        elif kind == "skip":
            line("task_skipped", task=task, worker=draw(st.sampled_from(["", worker])), reason="r")
        elif kind == "log":
            line("log", level="info", msg=f"m{len(out)}")
        elif kind == "mark":
            line("mark", label=f"L{len(out)}")
        elif kind in ("counter", "gauge"):
            value = draw(st.sampled_from([1.0, 2.0, 0.1, 0.2, 1e16, -3.0, 2.0**52, 0.5]))
            labels = draw(st.sampled_from([{}, {"s": "1"}, {"s": "2", "a": "b"}]))
            line("metric", name="rows", kind=kind, value=value, labels=labels)
        elif kind == "total":
            line("total_changed", total=draw(st.integers(0, 90)))
        elif kind == "unknown":
            line("from_the_future", x=1)
        elif kind == "joined":
            run_started()
        else:
            line("run_finished", status=draw(st.sampled_from(["ok", "failed"])))
    return out


def _lines(rows: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(r).encode() + b"\n" for r in rows]


def _parallel_in_memory(events: list[Any], cuts: list[int], windows: list[int]) -> Metrics:
    """What the workers and the merge do, in one process: the pure part."""
    bounds = [0, *cuts, len(events)]
    m = fold(events[: bounds[1]])
    t0 = events[0].t
    for i in range(1, len(bounds) - 1):
        start, end = bounds[i], bounds[i + 1]
        first = max(bounds[i - 1], start - windows[i - 1])
        p = warm(events[first:start], t0, whole=first == 0)
        apply_all(p, events[start:end])
        p = pickle.loads(pickle.dumps(p))  # as it travels from a worker
        merged = merge(m, p)
        event("merged" if merged is not None else "refolded")
        m = merged if merged is not None else apply_all(m, events[start:end])
    return m


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=logs() | logs(tasks=60), data=st.data())
def test_merged_partials_equal_the_sequential_fold(rows: list[dict[str, Any]], data: Any) -> None:
    """Few task ids: re-runs, restarts and slow tasks ending twice, so many ranges are folded
    again; many ids: most partials are merged. Either way the bytes are the same."""
    events = [codec.decode_line(line) for line in _lines(rows)]
    n = len(events)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=4)))
    cuts = [c for c in cuts if 0 < c < n]
    windows = data.draw(st.lists(st.integers(0, n), min_size=len(cuts), max_size=len(cuts)))
    expected = fold(events)
    got = _parallel_in_memory(events, cuts, windows)
    assert dump(got) == dump(expected)


@pytest.fixture
def workers_fork_cheaply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "WINDOW_BYTES", 400)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=logs(), data=st.data())
def test_ranges_folded_in_processes_equal_one_read(
    rows: list[dict[str, Any]], data: Any, tmp_path: Path, workers_fork_cheaply: None
) -> None:
    lines = _lines(rows)
    bad = data.draw(st.none() | st.integers(1, len(lines)))
    if bad is not None and bad > 1:
        lines[bad - 1] = b'{"type": "task_started", "t": \n'  # a corrupt line in the middle
    if data.draw(st.booleans()):
        lines.append(b'{"type": "mark", "t": 1')  # a torn last line
    body = b"".join(lines)
    path = tmp_path / "run.jsonl"
    path.write_bytes(body)
    lenient = data.draw(st.booleans())
    parts = data.draw(st.integers(2, 5))
    fd = os.open(path, os.O_RDONLY)
    try:
        ranges = split(fd, len(body), parts)
    finally:
        os.close(fd)
    t0 = json.loads(lines[0])["t"]
    try:
        expected = parallel.fold_sequential(str(path), lenient=lenient)
    except LogInvalid as exc:
        with pytest.raises(LogInvalid) as got:
            parallel.fold_ranges(str(path), ranges, t0, jobs=2, lenient=lenient)
        assert str(got.value) == str(exc)
        return
    m, report = parallel.fold_ranges(str(path), ranges, t0, jobs=2, lenient=lenient)
    assert dump(m) == dump(expected[0])
    assert report == expected[1]


def test_a_big_log_merges_every_range_without_folding_again(tmp_path: Path) -> None:
    """The guess at each range's start is right on a run like the benchmark's: the
    merge places every partial, none is folded twice."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    fold_write = importlib.import_module("fold_write")

    path = str(tmp_path / "run.jsonl")
    fold_write.generate(path, 60_000)
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    ranges = split(fd, size, 4)
    os.close(fd)
    placed: list[bool] = []

    def spy(s: Metrics, p: Any) -> Metrics | None:
        out = merge(s, p)
        placed.append(out is not None)
        return out

    expected, report = parallel.fold_sequential(path)
    t0 = expected.first_t
    assert t0 is not None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parallel, "merge", spy)
        got, got_report = parallel.fold_ranges(path, ranges, t0, jobs=2)
    assert placed == [True, True, True]
    assert dump(got) == dump(expected) and got_report == report


@pytest.mark.parametrize(("jobs", "min_bytes"), [(4, 1 << 30), (1, 0)])
def test_small_logs_and_one_job_fold_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, min_bytes: int
) -> None:
    row = {"type": "run_started", "t": 1.0, "src": "a", "seq": 1, "v": 1, "run": "r"}
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(_lines([row] * 50)))
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", min_bytes)
    monkeypatch.setattr(parallel, "fold_ranges", None)  # calling it would fail
    m, _ = parallel.fold_log(str(path), jobs=jobs)
    assert m.events == 50 and m.run == "r"


@pytest.fixture
def big_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every log is big enough to fold on several processes."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)


def _generated(tmp_path: Path, events: int = 20_000) -> Path:
    sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
    fold_write = importlib.import_module("fold_write")

    path = tmp_path / "run.jsonl"
    fold_write.generate(str(path), events)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--json"],
        ["stats"],
        ["snapshot", "--format", "svg"],
        ["export", "--format", "openmetrics"],
    ],
)
def test_commands_print_the_same_bytes_with_any_jobs(
    tmp_path: Path, big_enough: None, args: list[str]
) -> None:
    from conftest import invoke

    path = str(_generated(tmp_path))
    one = invoke([args[0], path, *args[1:], "--jobs", "1"])
    three = invoke([args[0], path, *args[1:], "--jobs", "3"])
    assert one.exit_code == three.exit_code and one.exit_code in (1, 2, 3)
    assert one.stdout_bytes == three.stdout_bytes
    assert not os.path.exists(path + ".runreel-index")  # the end needs no index


def test_a_bad_line_is_named_alike_with_any_jobs(tmp_path: Path, big_enough: None) -> None:
    from conftest import assert_one_error_line, invoke

    path = _generated(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[15_000] = b'{"type": "task_succeeded", "t": oops}\n'
    path.write_bytes(b"".join(lines))
    one = invoke(["stats", str(path), "--jobs", "1"])
    two = invoke(["stats", str(path), "--jobs", "2"])
    assert one.exit_code == two.exit_code == 65
    assert one.stderr == two.stderr and ":15001:" in two.stderr
    assert_one_error_line(two.stderr)


def test_jobs_must_be_a_positive_number(tmp_path: Path) -> None:
    from conftest import invoke

    result = invoke(["stats", str(_generated(tmp_path, 100)), "--jobs", "0"])
    assert result.exit_code == 64 and "--jobs" in result.stderr


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=logs(tasks=30), data=st.data())
def test_an_index_built_on_several_processes_is_the_same_file(
    rows: list[dict[str, Any]], data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small reads and checkpoints every few events: many batches and checkpoints per range."""
    from replay.index import build as build_module
    from replay.index.build_parallel import build_parallel

    chunk, every = data.draw(st.integers(64, 600)), data.draw(st.integers(1, 12))
    monkeypatch.setattr(build_module, "READ_CHUNK", chunk)
    monkeypatch.setattr(build_module, "CHECKPOINT_EVERY", every)
    lines = _lines(rows)
    bad = data.draw(st.none() | st.integers(2, max(len(lines), 2)))
    if bad is not None and bad <= len(lines):
        lines[bad - 1] = b'{"type": "log", "t": }\n'
    if data.draw(st.booleans()):
        lines.append(b'{"type": "mark", "t": 1')
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(lines))
    one, many = tmp_path / "one.idx", tmp_path / "many.idx"
    jobs = data.draw(st.integers(2, 4))
    expected = got = None
    with one.open("w+b") as f1, many.open("w+b") as f2:
        try:
            build_module.build(str(path), sink=f1, jobs=1)
        except LogInvalid as exc:
            expected = str(exc)
        try:
            built = build_parallel(str(path), sink=f2, jobs=jobs, every=every, chunk=chunk)
        except LogInvalid as exc:
            built, got = None, str(exc)
    if built is None and got is None:
        event("left to build (too few ranges)")
        return
    event("parallel")
    assert got == expected  # the same error, naming the same line
    if expected is None:
        assert many.read_bytes() == one.read_bytes()


def test_a_cold_index_of_a_big_log_is_built_in_parallel_and_the_same(
    tmp_path: Path, big_enough: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replay.index import build as build_module
    from replay.index.build_parallel import build_parallel as real

    path = str(_generated(tmp_path, 40_000))
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "build_parallel", counted)
    one, many = tmp_path / "one.idx", tmp_path / "many.idx"
    with one.open("w+b") as f1, many.open("w+b") as f2:
        build_module.build(path, sink=f1, jobs=1)
        index = build_module.build(path, sink=f2, jobs=3)
    assert calls == [3]
    assert many.read_bytes() == one.read_bytes()
    assert index.header.count == 40_000


def test_the_first_range_is_longer_by_the_weight_asked() -> None:
    from replay.sources.ranges import cuts

    assert cuts(100, 2) == [0, 50]
    assert cuts(215, 2, 1.15) == [0, 115]  # 115 = 1.15 * 100, then 100
    assert cuts(430, 4, 1.3) == [0, 130, 230, 330]


def test_the_first_range_is_longer_by_what_the_others_do_besides() -> None:
    """Each later range also folds its warm-up window and keeps notes: the first range
    is longer by as much, so that no range is the long pole."""
    big = 400 << 20
    window = parallel.WINDOW_BYTES / (big / 2)
    assert parallel.first_weight(big, 2) == pytest.approx(1 + parallel.NOTES_COST + window)
    small = 8 << 20  # the window is an eighth of a range at most
    assert parallel.first_weight(small, 4) == pytest.approx(1 + parallel.NOTES_COST + 1 / 8)
    assert parallel.first_weight(0, 2) == 1.0


def test_the_last_range_of_a_parallel_index_build_warms_up_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last range runs to the end of the log (its end is -1): it still folds a window
    before it, so its guess of the state where it starts can be right."""
    from replay.index import build_parallel as bp

    path = str(_generated(tmp_path, 20_000))
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        ranges, t0 = bp._split(fd, size, 2, 1 << 14), parallel._first_t(fd, size)
    finally:
        os.close(fd)
    assert len(ranges) == 2 and ranges[-1][2] == -1 and t0 is not None
    windows: list[int] = []
    real = bp.warm

    def counted(window: Any, t0: float, *, whole: bool = False) -> Any:
        events = list(window)
        windows.append(len(events))
        return real(events, t0, whole=whole)

    monkeypatch.setattr(bp, "warm", counted)
    part = bp._fold((path, ranges[1], 1 << 14, t0, ranges[0][0], (0, 0, 10**9), 1))
    assert windows and windows[0] > 100
    assert part.error is None and part.events > 0


def test_a_cold_index_is_built_in_parallel_by_default_with_progress(
    tmp_path: Path, big_enough: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --jobs: a whole cold log big enough is indexed on every usable core (here
    three), the same file as one process writes, and the caller hears how far it is."""
    from replay.index import build as build_module
    from replay.index import build_parallel as bp

    monkeypatch.setattr(bp, "usable_cores", lambda: 3)
    path = str(_generated(tmp_path, 30_000))
    real, calls = bp.build_parallel, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        got = real(*args, **kwargs)
        calls.append(got is not None)
        return got

    monkeypatch.setattr(build_module, "build_parallel", counted)
    heard: list[tuple[int, int]] = []
    one, many = tmp_path / "one.idx", tmp_path / "many.idx"
    with one.open("w+b") as f1, many.open("w+b") as f2:
        build_module.build(path, sink=f1, jobs=1)
        build_module.build(path, sink=f2, progress=lambda a, b: heard.append((a, b)))
    assert calls == [True]
    assert many.read_bytes() == one.read_bytes()
    size = os.path.getsize(path)
    # each of the 3 ranges merged, and what the workers folded meanwhile: never backwards
    assert len(heard) >= 3 and heard[-1] == (size, size)
    assert [done for done, _ in heard] == sorted({done for done, _ in heard})


def test_in_order_ticks_while_a_result_is_awaited() -> None:
    """The progress display hears from the workers while a range is folded, not only when
    it is merged: ``tick`` runs until the awaited result is there."""
    from concurrent.futures import Future

    from replay.index import parallel

    futures: list[Future[int]] = [Future(), Future()]
    ticks: list[int] = []

    class Pool:
        def submit(self, fn: Any, task: int) -> Future[int]:
            return futures[task]

    def tick() -> None:
        ticks.append(len(ticks))
        if len(ticks) == 3:
            futures[0].set_result(10)
            futures[1].set_result(11)

    got = list(parallel.in_order(Pool(), lambda t: t, [0, 1], 2, tick))  # type: ignore[arg-type]
    assert got == [10, 11] and len(ticks) == 3


def test_progress_never_goes_back() -> None:
    from replay.index import build_parallel as bp

    heard: list[int] = []
    report = bp._Report(lambda done, size: heard.append(done), [5, 0], 100)
    report.tick()  # the workers folded 5 bytes
    report(3, 100)  # a range merged up to byte 3: behind what was said
    report(40, 100)
    report.folded = [40, 30]
    report.tick()
    assert heard == [5, 40, 70]
