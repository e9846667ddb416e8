"""Reliability and security (issue 6), the fast part: every claim below also runs at full
size in tests/test_reliability_slow.py (``pytest -m slow``); docs/reliability.md has the figures.

1. Many writers at once (processes, threads, asyncio): nothing lost, nothing torn, seq gapless.
2. Writers SIGKILLed at random moments: complete lines kept, at most one torn line, and a
   writer that attaches afterwards continues the log cleanly.
3. Mutated logs (hypothesis): never a traceback, only the documented errors.
4. Hostile text in every text field of every event type: inert in every output.
5. Faults: full disks, EIO, short writes; a followed log truncated, rotated, deleted; signals.
6. Bad input at the CLI: one line, the documented exit code.

The helpers here are shared with the slow file, which imports them.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import gc
import html
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import termios
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import msgspec
import pexpect
import pyte
import pytest
from conftest import T0, fixture, invoke, run_unprivileged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from svgtext import rows as svg_rows

from recorder import Recorder, WriteFailed, codec
from recorder.codec import Unknown
from recorder.errors import LogInvalid
from recorder.events import (
    Event,
    Log,
    Mark,
    Metric,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TotalChanged,
)
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.core.when import parse_when
from replay.index.position import PastTheEnd, fold_at
from replay.outputs.formats import FORMATS
from replay.outputs.snapshot import render, to_dict
from replay.sessions.live import LiveSession
from replay.sources.file import ReadReport, read_batches
from replay.sources.follow import Follower

RUNREEL = str(Path(sys.executable).with_name("runreel"))
HAS_RUNREEL = os.path.exists(RUNREEL)

# Reading a log back ------------------------------------------------------------------------


def lines_of(data: bytes) -> list[bytes]:
    """The complete lines of a log (what follows the last newline is not a line)."""
    return data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]


def events_in(data: bytes) -> list[Event | Unknown]:
    """Each complete line decoded on its own (raises BadLine); blank lines are skipped, as
    readers do (a worker attaching while a big line is being written may add one)."""
    return [codec.decode_line(line) for line in lines_of(data) if line.strip()]


def assert_gapless(events: Sequence[Event | Unknown]) -> Counter[str]:
    """Every src's seq runs 1..N in file order; returns N per src."""
    last: dict[str, int] = {}
    for e in events:
        assert e.seq == last.get(e.src, 0) + 1, f"src {e.src}: seq {e.seq} after {last.get(e.src)}"
        last[e.src] = e.seq
    return Counter(last)


def assert_whole_log(
    path: Path, expected: dict[str, int] | None = None, *, blank_ok: bool = False
) -> list[Event | Unknown]:
    """Zero torn, zero lost: the file ends with a newline, every line decodes on its own,
    the reader agrees, and every src's seq is gapless (with ``expected`` counts, if given)."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the log must end with a complete line"
    events = events_in(data) if blank_ok else [codec.decode_line(x) for x in lines_of(data)]
    report = ReadReport(str(path))
    read = [e for b in read_batches(str(path), report=report) for e in b]
    assert read == events
    assert (report.torn_line, report.skipped_count) == (None, 0)
    assert report.lines == data.count(b"\n")
    counts = assert_gapless(events)
    if expected is not None:
        for src, n in expected.items():
            assert counts[src] == n, f"src {src}: {counts[src]} events, expected {n}"
    return events


# Terminal safety ---------------------------------------------------------------------------

SGR = re.compile(r"\x1b\[[0-9;]*m")
BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C}


def controls_in(text: str) -> list[str]:
    """Characters a terminal acts on: C0 (but newline and tab), DEL, C1, bidi controls."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0 or ord(c) in BIDI
    ]


def assert_inert(data: bytes | str, *, sgr: bool = False, what: str = "") -> str:
    """Valid UTF-8 (so no raw 8-bit C1 byte) with no control a terminal would act on;
    with ``sgr``, runreel's own colour sequences ``ESC [ ... m`` are allowed."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    rest = SGR.sub("", text) if sgr else text
    assert "\x1b" not in rest, f"{what}: an escape sequence reached the output"
    found = controls_in(rest)
    assert not found, f"{what}: control characters in the output: {sorted(set(found))}"
    return text


# The corpus: (id, text, what must be visible in a text snapshot 200 columns wide)
CORPUS: list[tuple[str, str, str]] = [
    ("markup", "[bold red]x[/]", "[bold red]x[/]"),
    ("markup-close", "[/]", "[/]"),
    ("markup-link", "[link=https://evil.example]click[/link]", "[link=https://evil.example]"),
    ("markup-emoji", ":pile_of_poo: :smile:", ":pile_of_poo: :smile:"),
    ("csi-clear", "\x1b[2J\x1b[H", "␛[2J␛[H"),
    ("csi-sgr", "\x1b[31;1mred", "␛[31;1mred"),
    ("csi-altscreen", "\x1b[?1049l\x1b[?25l", "␛[?1049l␛[?25l"),
    ("csi-report", "\x1b[6n\x1b[c", "␛[6n␛[c"),
    ("csi-scroll", "\x1b[3;7r\x1b[10S", "␛[3;7r"),
    ("osc-title", "\x1b]0;pwned\x07", "␛]0;pwned␇"),
    ("osc-title-st", "\x1b]2;pwned-st\x1b\\", "␛]2;pwned-st␛\\"),
    ("osc52", "\x1b]52;c;cHduZWQ=\x07", "␛]52;c;cHduZWQ=␇"),
    ("osc8", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "␛]8;;https://evil"),
    ("dcs", "\x1bP$q m\x1b\\", "␛P$q m␛\\"),
    ("apc", "\x1b_Gf=100;AAAA\x1b\\", "␛_Gf=100;AAAA"),
    ("pm", "\x1b^private\x1b\\", "␛^private"),
    ("sos", "\x1bXstring\x1b\\", "␛Xstring"),
    ("c1-csi", "\x9b2J\x9b31m", "<9B>2J<9B>31m"),
    ("c1-osc", "\x9d0;c1-title\x9c", "<9D>0;c1-title<9C>"),
    ("c1-dcs", "\x90q\x9c\x9e\x9f\x98", "<90>q<9C><9E><9F><98>"),
    ("c1-nel-ri", "a\x85b\x8dc\x84", "a<85>b<8D>c<84>"),
    ("bidi", "\u202eevil\u202c \u2066iso\u2069 \u200f\u061c", "<U+202E>evil<U+202C>"),
    ("nul-bel-bs", "a\x00b\x07c\x08d", "a␀b␇c␈d"),
    ("cr-vt-ff", "over\rwrite\x0bv\x0cf", "over␍write␋v␌f"),
    ("del", "a\x7fb", "a␡b"),
    ("newlines", "one\ntwo\r\nthree\u2028four\u2029", "one␊two␍␊three"),
    ("tab", "a\tb", "a b"),
    ("zero-width", "z\u200bw\u200dj\ufeffb\u2060x", "z\u200bw"),
    ("wide", "ｗｉｄｅ漢字" * 8, "ｗｉｄｅ漢字"),
    ("emoji", "😀🏳️‍🌈👩‍👩‍👧‍👦" * 5, "😀"),
    ("combining", "e\u0301\u0302\u0303" * 30, "e\u0301"),
    ("very-long", "L" * 20_000 + "\x1b]0;tail\x07", "LLLL"),
]


def hostile_lines(s: str, *, finished: bool) -> list[bytes]:
    """A log with ``s`` in every text field of every event type (and in ``src``, an
    unknown event's type and a seq gap's writer), every panel with rows."""
    src = s + "-src"
    seq = count(1)
    out: list[bytes] = []

    def add(cls: type[Event], dt: float, **fields: Any) -> None:
        out.append(codec.encode(cls(t=T0 + dt, src=src, seq=next(seq), **fields)))  # type: ignore[call-arg]

    add(RunStarted, 0, v=1, run=s, name=s, total=6, meta={s: s, "plain": s})
    add(TaskStarted, 1, task=s + "1", worker=s)
    add(TaskStarted, 1, task=s + "2", worker=s + "b")
    add(TaskStarted, 1, task=s + "3", worker=s + "c")
    add(TaskRetrying, 2, task=s + "2", worker=s + "b", attempt=1, error=s, backoff=600)
    add(TaskSucceeded, 2, task=s + "1", worker=s)
    add(TaskFailed, 2.5, task=s + "3", worker=s + "c", error=s)
    add(TaskSkipped, 3, task=s + "4", worker=s, reason=s)
    add(TaskStarted, 3, task=s + "5", worker=s + "d")
    add(Log, 3.5, level=s, msg=s)
    add(Log, 3.5, level="error", msg=s)
    add(Mark, 4, label=s)
    add(Metric, 4, name=s, kind="counter", value=2, labels={s: s})
    add(Metric, 4, name=s + "g", kind="gauge", value=1.5)
    add(TotalChanged, 4.5, total=7)
    unknown = {"type": s + "?", "t": T0 + 4.6, "src": src, "seq": next(seq), "x": s}
    out.append(msgspec.json.encode(unknown) + b"\n")
    next(seq)  # a gap: validate names the writer
    if finished:
        add(RunFinished, 5, status=s, exit_status=1)
    return out


def hostile_log(directory: Path, s: str, *, finished: bool = True, name: str = "h") -> Path:
    path = directory / f"{name}.jsonl"
    path.write_bytes(b"".join(hostile_lines(s, finished=finished)))
    return path


def check_rendering(path: Path, s: str, visible: str) -> int:
    """Every snapshot format, at the end and mid-run: inert, literal; returns documents made."""
    made = 0
    for at, formats in (("end", FORMATS), ("#9", ("text", "ansi"))):
        frame = fold_at(str(path), parse_when(at))
        for fmt in formats:
            doc = render(frame.metrics, frame.now, width=100, height=30, fmt=fmt)
            made += 1
            assert_inert(doc, sgr=fmt == "ansi", what=f"{fmt} at {at}")
            if fmt == "json":
                data = json.loads(doc)
                assert data["name"] == s and data["run"] == s  # data stays exact: escaped
            elif fmt in ("svg", "html"):
                assert "<a " not in doc and "href=" not in doc.replace('href="#', "")
    wide = fold_at(str(path), parse_when("end"))
    text = render(wide.metrics, wide.now, width=200, height=40, fmt="text")
    assert visible in text, f"{visible!r} not shown literally"
    svg = "\n".join(svg_rows(render(wide.metrics, wide.now, width=200, height=40, fmt="svg")))
    assert visible in svg, f"{visible!r} not shown literally in the SVG"
    doc = html.unescape(render(wide.metrics, wide.now, width=200, height=40, fmt="html"))
    assert visible.replace(" ", "\xa0") in doc or visible in doc
    return made + 3


# 1. Many writers at once --------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from recorder import Recorder

    path, k, n, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    linger = float(sys.argv[5]) if sys.argv[5] != "None" else None
    rec = Recorder.attach(path, linger=linger, batch_bytes=4096)
    time.sleep(max(0.0, start_at - time.time()))  # start together
    big = "B" * 65_536
    for i in range(n):
        step = i % 4
        if step == 0:
            rec.task_started(f"p{k}-{i}", worker=f"proc-{k}")
        elif step == 1:
            rec.succeeded(f"p{k}-{i - 1}", worker=f"proc-{k}")
        elif step == 2:
            rec.metric("rows", 1, labels={"proc": str(k)})
        else:
            rec.log(big if i % 5_000 == 3 else "x" * (i % 300))
    rec.close()
    print(rec.src)
    """
)


def write_with_processes(
    log: Path, processes: int, per_process: int, linger: float | None = None
) -> dict[str, int]:
    """``processes`` writer processes x ``per_process`` events; returns events per src."""
    script = log.parent / "writer.py"
    script.write_text(WRITER)
    start_at = time.time() + 1.0 + processes * 0.1  # once every process has imported runreel
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(log), str(k), str(per_process), str(start_at)]
            + [str(linger)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in range(processes)
    ]
    srcs = {}
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
        srcs[out.decode().strip()] = per_process
    return srcs


def write_with_threads(
    log: Path, threads: int, per_thread: int, linger: float | None = None
) -> dict[str, int]:
    """Each thread its own Recorder, and every thread also shares one: both stay gapless."""
    shared = Recorder.attach(log, linger=linger, batch_bytes=4096)
    barrier = threading.Barrier(threads)
    srcs: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            with Recorder.attach(log, linger=linger, batch_bytes=4096) as rec:
                srcs[rec.src] = per_thread
                barrier.wait()
                for i in range(per_thread):
                    if i % 2:
                        rec.task_started(f"t{k}-{i}", worker=f"thread-{k}")
                    else:
                        rec.metric("n", 1, labels={"k": str(k)})
                    if i % 10 == 0:
                        shared.log(f"t{k}-{i}")
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    shared.close()
    assert not errors, errors
    srcs[shared.src] = threads * len(range(0, per_thread, 10))
    return srcs


def write_with_asyncio(
    log: Path, tasks: int, per_task: int, *, yield_every: int = 1, linger: float | None = None
) -> dict:
    """Each task its own Recorder plus one shared by all, yielding to the loop as it goes."""
    srcs: dict[str, int] = {}

    async def job(k: int, shared: Recorder) -> None:
        with Recorder.attach(log, linger=linger, batch_bytes=4096) as rec:
            srcs[rec.src] = per_task
            for i in range(per_task):
                rec.task_started(f"a{k}-{i}", worker=f"task-{k}")
                if i % 10 == 0:
                    shared.mark(f"a{k}-{i}")
                if i % yield_every == 0:
                    await asyncio.sleep(0)

    async def main() -> None:
        with Recorder.attach(log, linger=linger, batch_bytes=4096) as shared:
            await asyncio.gather(*(job(k, shared) for k in range(tasks)))
            srcs[shared.src] = tasks * len(range(0, per_task, 10))

    asyncio.run(main())
    return srcs


def concurrency_run(
    tmp_path: Path, mode: str, writers: int, per_writer: int, linger: float | None = None
) -> tuple[int, int]:
    """One stress run (every writer with ``linger``: group commit); returns (events, bytes)."""
    log = tmp_path / f"{mode}.jsonl"
    main = Recorder(log, name=f"stress-{mode}")
    if mode == "processes":
        expected = write_with_processes(log, writers, per_writer, linger)
    elif mode == "threads":
        expected = write_with_threads(log, writers, per_writer, linger)
    else:
        expected = write_with_asyncio(log, writers, per_writer, linger=linger)
    main.finish("ok")
    main.close()
    expected[main.src] = 2
    events = assert_whole_log(log, expected)
    assert len(events) == sum(expected.values())
    assert len({e.src for e in events}) == len(expected)
    if mode == "processes":  # they ran at the same time: the srcs interleave in the file
        changes = sum(1 for a, b in zip(events, events[1:], strict=False) if a.src != b.src)
        assert changes > 2 * writers
    return len(events), log.stat().st_size


@pytest.mark.parametrize("linger", [None, 0.005], ids=["unbatched", "linger"])
@pytest.mark.parametrize("mode", ["processes", "threads", "asyncio"])
def test_many_writers_lose_nothing_and_tear_nothing(
    tmp_path: Path, mode: str, linger: float | None
) -> None:
    writers, per_writer = (4, 3_000) if mode == "processes" else (8, 2_000)
    concurrency_run(tmp_path, mode, writers, per_writer, linger)


# 2. Crashes -----------------------------------------------------------------------------------


def _child(run: Callable[[], None], *, group: int = 0) -> int:
    """Fork a child that runs ``run`` in process group ``group`` (0: a new one) and never
    returns into pytest."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.setpgid(0, group)
            run()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    try:
        os.setpgid(pid, group or pid)  # in both, so a kill cannot come before it
    except OSError:
        pass
    return pid


PADS = [0, 100, 1_000, 5_000, 20_000, 70_000]  # bytes of log text per event


def _busy_writer(log: Path, seed: int, pads: Sequence[int] = PADS) -> Callable[[], None]:
    def run() -> None:
        rng = random.Random(seed)
        rec = Recorder.attach(
            log,
            durability=rng.choice(["never", "never", "always", 7]),
            linger=rng.choice([None, None, 0.01, 3600]),  # group commit in half the writers
            batch_bytes=rng.choice([4096, 65_536]),
        )
        pad = "p" * rng.choice(pads)
        for i in count():
            rec.task_started(f"{seed}-{i}", worker=f"w{seed}")
            rec.log(pad, level="info")
            rec.succeeded(f"{seed}-{i}", worker=f"w{seed}")

    return run


def _torn_writer(log: Path, seed: int, ready: int) -> Callable[[], None]:
    """Some whole events, then a line cut short (as a crash mid-write leaves it), then wait."""

    def run() -> None:
        rng = random.Random(seed)
        rec = Recorder.attach(log)
        for i in range(rng.randrange(0, 5)):
            rec.log(f"before the tear {i}")
        line = codec.encode(Log(t=time.time(), src=rec.src, seq=99, msg="torn ✂ " * 40))
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        os.write(fd, line[: rng.randrange(1, len(line) - 1)])  # never the whole line
        os.write(ready, b"!")
        time.sleep(60)

    return run


def _writers(log: Path, seed: int, n: int, pads: Sequence[int] = PADS) -> list[int]:
    """``n`` busy writer processes in one process group (the first one's pid)."""
    first = _child(_busy_writer(log, seed * 10, pads))
    return [
        first,
        *(_child(_busy_writer(log, seed * 10 + k, pads), group=first) for k in range(1, n)),
    ]


def release_memory() -> None:
    """Give freed memory back to the system between trials. A trial holds a log of 70 KB
    events a few times over; glibc keeps what was freed, and a test process that grew to
    gigabytes makes every later fork (the trials fork their writers) slow and the machine
    short of memory."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _grown(log: Path, size: float, deadline: float = 30.0) -> None:
    """Wait until the writers have made ``log`` at least ``size`` bytes long: a random
    moment to kill them, measured in what they wrote, not in time (a loaded machine
    oversleeps, and a log that grows for a second of 70 KB events costs gigabytes)."""
    end = time.monotonic() + deadline
    while os.path.getsize(log) < size and time.monotonic() < end:
        time.sleep(0.0005)


def _reap(pids: Sequence[int]) -> None:
    for pid in pids:
        os.waitpid(pid, 0)


def crash_trial(directory: Path, seed: int) -> dict[str, int]:
    """Every writer SIGKILLed at once at a random moment (a crash), maybe a torn line on
    top, then a worker attaches and carries on. Checks everything; returns what happened."""
    rng = random.Random(seed)
    log = directory / f"crash-{seed}.jsonl"
    Recorder(log, name=f"crash-{seed}").close()
    pids = _writers(log, seed, rng.randint(1, 3))
    _grown(log, rng.uniform(0, 4e6))
    os.killpg(pids[0], signal.SIGKILL)
    _reap(pids)
    torn_by_kill = not log.read_bytes().endswith(b"\n")
    injected = not torn_by_kill and rng.random() < 0.5
    if injected:  # a write cut short for sure (the kill above rarely lands mid-line)
        r, w = os.pipe()
        pid = _child(_torn_writer(log, seed, w))
        os.close(w)
        ready, _, _ = select.select([r], [], [], 10)
        assert ready and os.read(r, 1) == b"!"
        os.close(r)
        os.kill(pid, signal.SIGKILL)
        _reap([pid])

    # What the crash left: whole lines, then at most one torn line.
    before = log.read_bytes()
    whole = before[: before.rfind(b"\n") + 1]
    torn = len(before) - len(whole)
    kept = events_in(before)  # every whole line is good
    assert_gapless(kept)
    report = ReadReport(str(log))
    events = [e for b in read_batches(str(log), report=report) for e in b]  # never raises
    assert events == kept
    assert report.torn_line == (before.count(b"\n") + 1 if torn else None)
    assert report.torn_bytes == torn
    follower = Follower(str(log))
    followed: list = []
    while got := follower.poll().events:  # a poll reads at most 16 MiB
        followed += got
    assert followed == kept and follower.pending_bytes == torn
    follower.close()
    figures = {
        "writers": len(pids),
        "events": len(kept),
        "torn_by_kill": int(torn_by_kill),
        "torn_injected": int(injected),
    }

    # A worker attaches after the crash and carries on.
    with Recorder.attach(log) as rec:
        with rec.task("after-crash", worker="restarted"):
            pass
    after = log.read_bytes()
    assert after.startswith(before), "attaching changed what was there"
    added = after[len(before) :]
    if not torn:
        new = events_in(added)
        assert [type(e) for e in new] == [TaskStarted, TaskSucceeded]
        assert_whole_log(log, blank_ok=True)
        return figures
    assert added.startswith(b"\n"), "the torn line was not ended"
    warning, *new = events_in(added[1:])
    assert isinstance(warning, Log) and warning.level == "warning"
    assert f"{torn} bytes" in warning.msg and f"at byte {len(whole)}" in warning.msg
    assert [type(e) for e in new] == [TaskStarted, TaskSucceeded]
    fragment = before[len(whole) :]
    try:  # cut just before its newline, the line is whole once a newline ends it
        whole_after_all = [codec.decode_line(fragment)]
    except codec.BadLine:
        whole_after_all = []
    report = ReadReport(str(log))
    lenient = [e for b in read_batches(str(log), lenient=True, report=report) for e in b]
    assert lenient == [*kept, *whole_after_all, warning, *new]
    assert report.torn_line is None
    if whole_after_all:
        assert report.skipped_count == 0
        return figures
    bad_line = before.count(b"\n") + 1
    assert report.skipped_count == 1 and report.skipped[0][0] == bad_line
    with pytest.raises(LogInvalid) as info:
        list(read_batches(str(log)))
    assert info.value.line == bad_line and "--lenient" in info.value.reason
    if info.value.reason.startswith("incomplete JSON"):
        assert "torn" in info.value.reason
    return figures


def test_writers_killed_at_random_moments(tmp_path: Path) -> None:
    results = [crash_trial(tmp_path, seed) for seed in range(10)]
    assert sum(r["torn_by_kill"] + r["torn_injected"] for r in results) >= 2


def one_dies_trial(directory: Path, seed: int) -> dict[str, int]:
    """One writer SIGKILLed while the others go on, then the rest. A kill can cut a write
    at a page boundary (Linux checks for fatal signals between pages); the next writer's
    line then glues onto that prefix: one bad line, one event of that writer lost. Never
    more, and every reader says so instead of failing."""
    rng = random.Random(seed)
    log = directory / f"dies-{seed}.jsonl"
    Recorder(log, name=f"dies-{seed}").close()
    pids = _writers(log, seed, rng.randint(2, 3), pads=[1_000, 5_000, 20_000, 70_000])
    _grown(log, rng.uniform(2e4, 4e6))
    victim = rng.choice(pids)
    os.kill(victim, signal.SIGKILL)
    _reap([victim])
    _grown(log, os.path.getsize(log) + rng.uniform(1e4, 2e6))
    os.killpg(pids[0], signal.SIGKILL)
    _reap([p for p in pids if p != victim])

    data = log.read_bytes()
    events, report = read_all(str(log), lenient=True)  # never raises
    glued = report.skipped_count
    assert glued <= 1, "more than the one writer that died left a bad line"
    bad = []
    for n, line in enumerate(lines_of(data), start=1):
        try:
            if line.strip():
                codec.decode_line(line)
        except codec.BadLine:
            bad.append(n)
    assert [line for line, _ in report.skipped] == bad
    missing = 0
    last: dict[str, int] = {}
    for e in events:
        assert e.seq > last.get(e.src, 0)
        missing += e.seq - last.get(e.src, 0) - 1
        last[e.src] = e.seq
    assert missing <= glued, "events lost beyond the one a glued line holds"
    if glued:
        with pytest.raises(LogInvalid) as info:
            read_all(str(log), lenient=False)
        assert info.value.line == bad[0] and "--lenient" in info.value.reason
    return {"glued": glued, "lost": missing, "torn_tail": int(report.torn_line is not None)}


def test_one_writer_killed_while_others_go_on(tmp_path: Path) -> None:
    for seed in range(3):
        one_dies_trial(tmp_path, seed)


def test_validate_names_the_line_a_crash_tore(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log, name="n") as rec:
        rec.log("one")
    with open(log, "ab") as f:
        f.write(b'{"type":"log","t":1700000000.5,"src":"gone-1","seq":1,"msg":"cut sh')
    Recorder.attach(log).close()
    result = invoke(["validate", str(log)])
    assert result.exit_code == 65
    assert f"{log}:4: incomplete JSON" in result.stdout and "torn" in result.stdout
    strict = invoke(["stats", str(log)])
    assert strict.exit_code == 65
    assert f"{log}:4: " in strict.stderr and "--lenient" in strict.stderr
    lenient = invoke(["stats", str(log), "--lenient"])
    assert lenient.exit_code == 1 and f"{log}:4: skipped" in lenient.stderr  # no tasks ran


def test_attach_to_a_log_that_ends_cleanly_adds_no_warning(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    Recorder(log).close()
    for _ in range(3):
        Recorder.attach(log).close()
    assert [type(e) for e in assert_whole_log(log)] == [RunStarted]


class StalledWriter:
    """``os`` as recorder/sinks/file.py sees it while another writer is stalled in the
    middle of a big line (``rest`` still to come) for longer than any wait: as in the
    kernel, the next write to the file, even an empty one, waits until that line is whole.
    ``rest`` empty: the writer crashed, its line stays torn."""

    def __init__(self, log: Path, rest: bytes) -> None:
        self.log, self.rest = log, rest

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: bytes) -> int:
        if self.rest:
            with self.log.open("ab") as f:
                f.write(self.rest)
            self.rest = b""
        return os.write(fd, data)


@pytest.mark.parametrize("other", ["stalled", "crashed"])
def test_attach_ends_a_line_only_when_its_writer_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """A writer stalled mid-line (a loaded machine) leaves the same torn-looking tail after
    any wait; attaching then must add nothing, not a blank line after its whole line."""
    import recorder.sinks.file as file_sink

    log, theirs = tmp_path / "run.jsonl", tmp_path / "theirs.jsonl"
    Recorder(log).close()
    Recorder(theirs).close()
    with Recorder.attach(theirs) as rec:
        rec.log("B" * 100_000)
    (line,) = [x for x in theirs.read_bytes().splitlines(keepends=True) if b"BBB" in x]
    with log.open("ab") as f:
        f.write(line[:65_536])
    before = log.read_bytes()
    rest = line[65_536:] if other == "stalled" else b""
    monkeypatch.setattr(file_sink, "os", StalledWriter(log, rest))
    monkeypatch.setattr(file_sink, "time", type("Clock", (), {"sleep": staticmethod(id)}))
    with Recorder.attach(log) as rec:
        rec.log("after")
    added = log.read_bytes()[len(before) :]
    if other == "stalled":
        assert added.startswith(rest), "the stalled line was not whole"
        events = assert_whole_log(log)  # no blank line, no bad line
        assert [e.msg for e in events if isinstance(e, Log)] == ["B" * 100_000, "after"]
        return
    assert added.startswith(b"\n"), "the torn line was not ended"
    warning, after = events_in(added[1:])
    assert isinstance(warning, Log) and warning.level == "warning"
    assert isinstance(after, Log) and after.msg == "after"


# 3. Fuzzing -----------------------------------------------------------------------------------


def base_lines() -> list[bytes]:
    """A valid log with every event type, unknown types and a seq gap; lines without newline."""
    src = "pool-1"
    seq = count(1)
    ev: list[Event] = []

    def add(cls: type[Event], dt: float, **fields: Any) -> None:
        ev.append(cls(t=T0 + dt, src=src, seq=next(seq), **fields))  # type: ignore[call-arg]

    add(RunStarted, 0, v=1, run="r-fuzz", name="fuzz", total=4, meta={"k": "v"})
    add(TaskStarted, 1, task="a", worker="w1")
    add(TaskStarted, 1.5, task="b", worker="w2")
    add(TaskRetrying, 2, task="b", worker="w2", attempt=1, error="flaky", backoff=1.5)
    add(TaskSucceeded, 2.5, task="a", worker="w1")
    add(Mark, 3, label="half")
    add(TaskStarted, 3.5, task="b", worker="w2", attempt=2)
    add(TaskFailed, 4, task="b", worker="w2", error="boom")
    add(TaskSkipped, 4.5, task="c", reason="cached")
    add(Log, 5, level="warning", msg="héllo ✓")
    add(Metric, 5, name="rows", value=3, labels={"t": "x"})
    add(Metric, 5.5, name="depth", kind="gauge", value=2.5)
    add(TotalChanged, 6, total=5)
    add(TaskStarted, 6.5, task="d", worker="w1")
    add(TaskSucceeded, 7, task="d", worker="w1")
    add(RunFinished, 8, status="ok", exit_status=0)
    lines = [codec.encode(e).rstrip(b"\n") for e in ev]
    lines.insert(9, b'{"type":"future_thing","t":1700000004.7,"src":"pool-1","seq":99,"x":[1]}')
    return lines


BASE = base_lines()
NUMBERS = [
    b"1e400",
    b"-1e400",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e308",
    b"-1e308",
    b"99999999999999999999999999",
    b"-9223372036854775809",
    b"9223372036854775807",
    b"18446744073709551616",
    b"0",
    b"-0.0",
    b"1e-400",
    b"00012",
    b"1.",
    b"0x10",
    b"true",
    b"null",
    b'"1700000000"',
]
BAD_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_log(draw: st.DrawFn) -> bytes:
    """The base log with one to four mutations, or something that is not a log at all."""
    whole = draw(st.integers(0, 19))
    if whole == 0:
        return draw(st.binary(max_size=3000))
    if whole == 1:
        return draw(st.text(max_size=500)).encode("utf-8", "surrogatepass")
    if whole == 2:
        return (Path(__file__).parent.parent / "README.md").read_bytes()[:20_000]
    lines = list(BASE)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        kind = draw(
            st.sampled_from(
                [
                    "flip",
                    "cut",
                    "drop",
                    "dup",
                    "swap",
                    "field",
                    "number",
                    "nest",
                    "utf8",
                    "garbage",
                    "text",
                    "blank",
                    "type",
                ]
            )
        )
        if kind == "flip" and line:
            j = draw(st.integers(0, len(line) - 1))
            lines[i] = line[:j] + bytes([draw(st.integers(0, 255))]) + line[j + 1 :]
        elif kind == "cut":
            lines[i] = line[: draw(st.integers(0, max(len(line) - 1, 0)))]
        elif kind == "drop" and len(lines) > 1:
            del lines[i]
        elif kind == "dup":
            lines.insert(i, line)
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind in ("field", "type"):
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # (after a "nest" mutation)
                continue
            if not isinstance(obj, dict) or not obj:
                continue
            key = "type" if kind == "type" else draw(st.sampled_from(sorted(obj)))
            obj[key] = draw(JSON_VALUES)
            lines[i] = json.dumps(obj).encode()
        elif kind == "number":
            spots = list(re.finditer(rb'(?<=":)-?[0-9][0-9.e+-]*', line))
            if spots:
                m = spots[draw(st.integers(0, len(spots) - 1))]
                lines[i] = line[: m.start()] + draw(st.sampled_from(NUMBERS)) + line[m.end() :]
        elif kind == "nest":
            depth = draw(st.sampled_from([2, 64, 1_000, 50_000]))
            opener = draw(st.sampled_from([b"[", b'{"a":']))
            closer = b"]" if opener == b"[" else b"}"
            if line.endswith(b"}"):
                lines[i] = line[:-1] + b',"deep":' + opener * depth + b"1" + closer * depth + b"}"
        elif kind == "utf8":
            j = draw(st.integers(0, len(line)))
            lines[i] = line[:j] + draw(st.sampled_from(BAD_UTF8)) + line[j:]
        elif kind == "garbage":
            lines.insert(i, draw(st.binary(max_size=200)))
        elif kind == "text":
            lines.insert(i, draw(st.text(max_size=200)).encode("utf-8", "surrogatepass"))
        elif kind == "blank":
            lines.insert(i, draw(st.sampled_from([b"", b"   ", b"\t", b"\r"])))
    end = draw(st.sampled_from([b"\n", b"\n", b"", b"\r\n"]))
    return b"\n".join(lines) + end


def first_content_line(data: bytes) -> int:
    """The line number the reader checks as the first line (blank lines are skipped)."""
    for n, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            return n
    return 1


def assert_documented(exc: LogInvalid, path: str, data: bytes) -> None:
    """The documented error: PATH:LINE: REASON on one line, LINE within the file."""
    assert exc.reason and "\n" not in exc.reason and "\r" not in str(exc)
    if exc.line is None:
        assert str(exc) == f"{path}: {exc.reason}"
    else:
        assert 1 <= exc.line <= data.count(b"\n") + 1
        assert str(exc).startswith(f"{path}:{exc.line}: ")


def read_all(path: str, *, lenient: bool, chunk: int | None = None) -> tuple[list, ReadReport]:
    report = ReadReport(path)
    kwargs = {} if chunk is None else {"chunk": chunk}
    events = [e for b in read_batches(path, lenient=lenient, report=report, **kwargs) for e in b]
    return events, report


def follow_all(path: str, *, lenient: bool) -> list:
    follower = Follower(path, lenient=lenient)
    try:
        out: list = []
        while True:
            got = follower.poll().events
            if not got:
                return out
            out += got
    finally:
        follower.close()


def small_chunk(data: bytes) -> int:
    """A read size that splits lines everywhere, without going quadratic on huge lines."""
    return 7 if len(data) < 20_000 else 4099


def check_mutated(path: str, data: bytes) -> str:
    """Every library reader of a log, on any bytes: events or the documented error, and
    they agree with each other. Returns what happened (for the figures)."""
    outcome = "ok"  # read whole; "skipped": bad lines, --lenient skips them; "refused": both fail
    for lenient in (False, True):
        try:
            events, report = read_all(path, lenient=lenient)
        except LogInvalid as exc:
            assert_documented(exc, path, data)
            if lenient:  # only the first line or an empty log is beyond --lenient
                assert exc.line in (None, first_content_line(data)), exc
                outcome = "refused"
            else:
                outcome = "skipped"
            with pytest.raises(LogInvalid) as again:
                read_all(path, lenient=lenient, chunk=small_chunk(data))
            assert again.value.line == exc.line
            try:
                follow_all(path, lenient=lenient)
            except LogInvalid as followed:
                assert followed.line == exc.line
            else:  # a growing log may still be empty or still be writing its first line
                assert exc.line is None or "incomplete first line" in exc.reason, exc
            with pytest.raises(LogInvalid):
                fold_at(path, parse_when("end"), lenient=lenient)
            continue
        assert (events, report) == read_all(path, lenient=lenient, chunk=small_chunk(data))
        assert follow_all(path, lenient=lenient) == events
        m = apply_all(Metrics(), events)
        for at in ("end", "start", "50%", "#3", "2s"):
            try:
                frame = fold_at(path, parse_when(at), lenient=lenient)
            except PastTheEnd:  # a short log: only when it truly is shorter
                ts = [e.t for e in events]
                assert (len(events) < 3) if at == "#3" else (max(ts) - ts[0] < 2), at
                continue
            if at == "end":
                assert to_dict(frame.metrics, frame.now) == to_dict(m, frame.now)
            render(frame.metrics, frame.now, width=80, height=24, fmt="text")
        frame = fold_at(path, parse_when("end"), lenient=lenient)
        for fmt in ("ansi", "json"):
            render(frame.metrics, frame.now, width=80, height=24, fmt=fmt)
    return outcome


FUZZ_EXAMPLES = 80  # the slow suite runs many more (test_reliability_slow.py)


def fuzz_library(examples: int) -> Callable[[Path], Counter[str]]:
    def run(directory: Path) -> Counter[str]:
        seen: Counter[str] = Counter()
        names = count()

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(mutated_log())
        def one(data: bytes) -> None:
            path = directory / f"m{next(names)}.jsonl"
            path.write_bytes(data)
            seen[check_mutated(str(path), data)] += 1
            path.unlink()

        one()
        return seen

    return run


def test_fuzzed_logs_read_or_fail_as_documented(tmp_path: Path) -> None:
    seen = fuzz_library(FUZZ_EXAMPLES)(tmp_path)
    assert seen["ok"] and seen["skipped"] and seen["refused"]  # the mutations reach every side


COMMANDS = [
    ["snapshot"],
    ["snapshot", "--format", "json", "--at", "50%"],
    ["stats"],
    ["stats", "--json"],
    ["validate"],
    ["replay", "--instant", "--interval", "100"],
    ["check", "GOLDEN"],
    ["index"],
    ["export", "--format", "openmetrics"],
]
ERROR_LINE = re.compile(r"runreel: error: (.+)")


def check_cli(path: str, data: bytes, golden: str) -> list[int]:
    """Every command that reads a log, strict and lenient: a code from the table, one error
    line naming the file, terminal-safe output; --lenient gets past every bad middle line."""
    codes = []
    try:
        read_all(path, lenient=True)
        lenient_readable = True
    except LogInvalid:
        lenient_readable = False
    for command in COMMANDS:
        for lenient in ([], ["--lenient"]) if command[0] != "validate" else ([],):
            args = [command[0], path, *[golden if a == "GOLDEN" else a for a in command[1:]]]
            result = invoke([*args, *lenient])  # raises on any exception but SystemExit
            code = result.exit_code
            codes.append(code)
            assert code in (0, 1, 2, 3, 65), (args, code, result.stderr)
            assert_inert(result.stderr_bytes, what=f"stderr of {args}")
            if command[0] != "snapshot" or "--format" in command:
                assert_inert(result.stdout_bytes, what=f"stdout of {args}")
            errors = [line for line in result.stderr.splitlines() if "error" in line]
            if code == 65 and command[0] != "validate":
                assert len(errors) == 1, result.stderr
                where = ERROR_LINE.match(errors[0])
                assert where and where.group(1).startswith(f"{path}:"), errors
            if lenient and lenient_readable:
                assert code != 65, (args, result.stderr)
            assert "Traceback" not in result.stderr
    return codes


CLI_EXAMPLES = 6


def fuzz_cli(examples: int) -> Callable[[Path], Counter[int]]:
    def run(directory: Path) -> Counter[int]:
        codes: Counter[int] = Counter()
        base = directory / "base.jsonl"
        base.write_bytes(b"\n".join(BASE) + b"\n")
        golden = directory / "golden"
        assert invoke(["check", str(base), str(golden), "--update"]).exit_code == 0
        names = count()

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(mutated_log())
        def one(data: bytes) -> None:
            path = directory / f"c{next(names)}.jsonl"
            path.write_bytes(data)
            codes.update(check_cli(str(path), data, str(golden)))

        one()
        return codes

    return run


def test_fuzzed_logs_through_every_command(tmp_path: Path) -> None:
    fuzz_cli(CLI_EXAMPLES)(tmp_path)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("empty", lambda: b""),
        ("blank", lambda: b"\n \n\t\n"),
        ("binary", lambda: random.Random(7).randbytes(100_000)),
        ("text", lambda: b"Dear diary,\nnot a log at all.\n"),
        ("nul", lambda: b"\x00" * 5000),
        ("json-array", lambda: b"[1, 2, 3]\n"),
        ("json-scalar", lambda: b"42\n"),
        ("deep", lambda: b"[" * 200_000 + b"]" * 200_000 + b"\n"),
        ("first-line-deep", lambda: BASE[0][:-1] + b',"x":' + b"[" * 100_000 + b"\n"),
        ("nan-t", lambda: BASE[0].replace(b'"t":1700000000.0', b'"t":NaN') + b"\n"),
        ("ms-timestamp", lambda: BASE[0].replace(b'"t":1700000000.0', b'"t":1.7e12') + b"\n"),
    ],
)
def test_not_a_log_at_all(tmp_path: Path, name: str, make: Callable[[], bytes]) -> None:
    path = tmp_path / f"{name}.jsonl"
    data = make()
    path.write_bytes(data)
    for lenient in (False, True):
        with pytest.raises(LogInvalid) as info:
            read_all(str(path), lenient=lenient)
        assert_documented(info.value, str(path), data)
    for command in (["snapshot"], ["stats"], ["validate"], ["replay", "--instant"], ["index"]):
        result = invoke([command[0], str(path), *command[1:]])
        assert result.exit_code == 65, result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith(f"runreel: error: {path}")
        assert_inert(result.stderr_bytes)


def ten_mb_line(kind: str) -> bytes:
    head = b"\n".join(BASE[:3]) + b"\n"
    big = "M" * (10 << 20)
    if kind == "valid":
        line = codec.encode(Log(t=T0 + 3, src="pool-1", seq=4, msg=big))
        return head + line + b"\n".join(BASE[3:5]) + b"\n"
    if kind == "garbage":
        return head + b"{" + big.encode() + b"\n" + b"\n".join(BASE[3:5]) + b"\n"
    return head + codec.encode(Log(t=T0 + 3, src="pool-1", seq=4, msg=big))[:-2]  # torn


@pytest.mark.parametrize("kind", ["valid", "garbage", "torn"])
def test_ten_megabyte_lines(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "big.jsonl"
    data = ten_mb_line(kind)
    path.write_bytes(data)
    if kind == "garbage":
        with pytest.raises(LogInvalid) as info:
            read_all(str(path), lenient=False)
        assert info.value.line == 4 and len(str(info.value)) < 500
        events, report = read_all(str(path), lenient=True)
        assert len(events) == 5 and report.skipped[0][0] == 4
    else:
        events, report = read_all(str(path), lenient=False)
        assert len(events) == (6 if kind == "valid" else 3)
        if kind == "torn":
            assert report.torn_bytes > 10 << 20 and report.torn_line == 4
    result = invoke(["snapshot", str(path), "--lenient"])
    assert result.exit_code == 3
    assert len(result.stdout_bytes) < 20_000  # a 10 MB message is cut, not printed
    assert all(len(line) <= 100 for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("t", "1e400", "number out of range"),
        ("t", "-1", ">= 0"),
        ("t", "1.7e12", "<= 100000000000"),
        ("seq", "9223372036854775808", "<= 9223372036854775807"),
        ("seq", "-9223372036854775809", ">= -9223372036854775808"),
        ("attempt", "18446744073709551616", "<= 9223372036854775807"),
        ("backoff", "NaN", "malformed"),
        ("backoff", "Infinity", "malformed"),
        ("backoff", "null", "null"),
        ("deep", "[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_numbers_and_nesting_beyond_the_format_are_bad_lines(
    tmp_path: Path, field: str, value: str, words: str
) -> None:
    """Values the read side cannot carry (int64 checkpoints, float arithmetic) are refused
    where the line is read, with file:line, instead of overflowing later."""
    line = (
        '{"type":"task_retrying","t":1700000002.0,"src":"pool-1","seq":4,'
        '"task":"b","attempt":1,"backoff":1.0}'
    )
    if field == "deep":
        line = line[:-1] + ',"deep":' + value + "}"
    else:
        line = re.sub(rf'"{field}":[^,}}]+', f'"{field}":{value}', line)
    path = tmp_path / "n.jsonl"
    path.write_bytes(b"\n".join([*BASE[:3], line.encode(), *BASE[3:]]) + b"\n")
    with pytest.raises(LogInvalid) as info:
        read_all(str(path), lenient=False)
    assert info.value.line == 4 and words in info.value.reason, info.value.reason
    events, report = read_all(str(path), lenient=True)
    assert report.skipped_count == 1
    for command in (["snapshot"], ["stats", "--json"], ["replay", "--instant"], ["index"]):
        code = invoke([command[0], str(path), *command[1:], "--lenient"]).exit_code
        assert code == (0 if command == ["index"] else 2)


def test_the_largest_numbers_the_format_takes_are_shown(tmp_path: Path) -> None:
    big = 2**63 - 1
    lines = [
        codec.encode(RunStarted(t=0.0, src="s", seq=big - 3, v=1, run="r", total=big)),
        codec.encode(TaskStarted(t=0.0, src="s", seq=big - 2, task="a", attempt=big)),
        codec.encode(
            TaskRetrying(t=1.0, src="s", seq=big - 1, task="a", attempt=big, backoff=1e308)
        ),
        codec.encode(Metric(t=1e11, src="s", seq=big, name="m", value=1e308)),
        codec.encode(Metric(t=1e11, src="s", seq=-(2**63), name="m", value=1e308)),
        codec.encode(TotalChanged(t=1e11, src="t", seq=1, total=0)),
        codec.encode(RunFinished(t=1e11, src="t", seq=2, exit_status=-(2**63))),
    ]
    path = tmp_path / "edges.jsonl"
    path.write_bytes(b"".join(lines))
    for at in ("end", "50%", "#3", "1s"):
        for fmt in FORMATS:
            result = invoke(["snapshot", str(path), "--at", at, "--format", fmt])
            assert result.exit_code in (1, 3)
    for args in (["stats"], ["stats", "--json"], ["replay", "--instant"], ["validate"]):
        assert invoke([args[0], str(path), *args[1:]]).exit_code in (1, 2, 65)
    exported = invoke(["export", str(path), "--format", "openmetrics"])
    assert exported.exit_code == 1 and exported.stdout.endswith("# EOF\n")


# 4. Terminal injection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "visible"), [(s, v) for _, s, v in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_hostile_text_in_every_field_renders_literally(
    tmp_path: Path, s: str, visible: str
) -> None:
    path = hostile_log(tmp_path, s)
    check_rendering(path, s, visible)
    for args in (["stats"], ["stats", "--json"], ["validate"]):
        result = invoke([args[0], str(path), *args[1:]])
        assert result.exit_code in (2, 65), result.stderr
        assert_inert(result.stdout_bytes, what=" ".join(args))
        assert_inert(result.stderr_bytes, what=" ".join(args))
    session = LiveSession(Follower(str(path)), wall=time.time, mono=time.monotonic)
    session.tick()
    assert_inert(session.status_line(), what="live status line")
    session.follower.close()


def corpus_groups() -> list[str]:
    """The short corpus strings joined into a few strings that fit one field (300 chars)."""
    groups, current = [], ""
    for _, s, _ in CORPUS:
        if len(s) > 200:
            continue
        if len(current) + len(s) > 280:
            groups.append(current)
            current = ""
        current += s + " "
    return [*groups, current]


def cli_outputs(path: Path, golden: Path, s: str) -> Iterator[tuple[list[str], bytes, bool]]:
    """(command, output, whether SGR is allowed) for every command that shows a log."""
    log = str(path)
    runs: list[tuple[list[str], bool]] = [
        *[(["snapshot", log, "--format", fmt], fmt == "ansi") for fmt in FORMATS],
        (["snapshot", log, "--at", "#9", "--width", "160"], False),
        (["stats", log], False),
        (["stats", log, "--json"], False),
        (["validate", log], False),
        (["check", log, str(golden)], False),
        (["replay", log, "--instant"], False),
        (["live", log, "--timeout", "0.2", "--interval", "0.05"], False),
        (["export", log, "--format", "openmetrics"], False),
        (["export", log, "--format", "asciicast"], False),
        (["snapshot", log, "--at", "mark:" + s], False),
        (["replay", log, "--from", "mark:" + s + "x"], False),
        (["check", log, str(golden), "--at", "mark:nope" + s], False),
        (["index", log], False),
    ]
    for args, sgr in runs:
        result = invoke(args)
        assert result.exit_code in (0, 1, 2, 3, 64, 65), (args, result.exit_code, result.stderr)
        yield args, result.stdout_bytes, sgr
        yield [*args, "(stderr)"], result.stderr_bytes, False


ASCIICAST_OWN = re.compile(r"\x1b\[(?:[0-9;]*[mHJK]|\?25[lh]|[0-9]+;[0-9]+H)")


@pytest.mark.parametrize("group", range(len(corpus_groups())))
def test_hostile_text_through_every_command(tmp_path: Path, group: int) -> None:
    s = corpus_groups()[group]
    benign = tmp_path / "benign.jsonl"
    benign.write_bytes(b"\n".join(BASE) + b"\n")
    golden = tmp_path / "golden"
    assert invoke(["check", str(benign), str(golden), "--update"]).exit_code == 0
    for finished in (True, False):
        path = hostile_log(tmp_path, s, finished=finished, name=f"h{finished}")
        for args, out, sgr in cli_outputs(path, golden, s):
            text = assert_inert(out, sgr=sgr, what=" ".join(a[:20] for a in args))
            if args[0] == "export" and "asciicast" in args:
                for line in text.split("\n")[1:-1]:  # (str.splitlines splits at U+2028 too)
                    frame = json.loads(line)[2]
                    assert_inert(ASCIICAST_OWN.sub("", frame), what="asciicast frame")
            if args[0] == "check" and len(args) == 3:
                assert "@@" in text  # a diff was shown, and it is inert


def test_lone_surrogates_never_reach_a_log(tmp_path: Path) -> None:
    """Not encodable in UTF-8: the Recorder refuses them, a reader calls the line bad."""
    log = tmp_path / "run.jsonl"
    with Recorder(log) as rec:
        for call in (
            lambda: rec.log("\udc80"),
            lambda: rec.task_started("\ud800x"),
            lambda: rec.mark("\udfff"),
            lambda: rec.metric("m", labels={"\udc00": "v"}),
        ):
            with pytest.raises((ValueError, TypeError)):
                call()
    assert_whole_log(log)
    bad = b'{"type":"log","t":1700000001.0,"src":"m","seq":2,"msg":"\\udc80"}\n'
    log.write_bytes(b"\n".join(BASE[:2]) + b"\n" + bad)
    with pytest.raises(LogInvalid) as info:
        read_all(str(log), lenient=False)
    assert info.value.line == 3


# A real terminal: pexpect + pyte, and tmux --------------------------------------------------

PTY_OWN = re.compile(rb"\x1b\[(?:[0-9;]*m|H|[0-9]+;1H|2J|\?1049[hl]|\?25[hl])")  # + row moves


def viewer_env() -> dict[str, str]:
    drop = {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"}
    env = {k: v for k, v in os.environ.items() if k not in drop and k != "RUNREEL_LOG"}
    env["TERM"] = "xterm-256color"
    return env


class Screen:
    """``runreel ARGS`` in a pseudo-terminal; every byte kept and fed to a pyte screen."""

    def __init__(self, args: list[str], cwd: Path, cols: int = 120, rows: int = 36) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.eof = False
        self.child = pexpect.spawn(
            "/bin/sh",
            ["-c", 'read _ && exec "$0" "$@"', RUNREEL, *args],
            cwd=str(cwd),
            env=viewer_env(),
            dimensions=(rows, cols),
        )
        self.attrs = termios.tcgetattr(self.child.child_fd)  # before runreel touches them
        self.child.send("\n")

    def pump(self) -> None:
        try:
            data = self.child.read_nonblocking(1 << 16, 0.05)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.eof = True
            return
        self.raw += data
        self.stream.feed(data)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, *needles: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while not all(n in self.text for n in needles):
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"{needles!r} not on screen:\n{self.text}")
            self.pump()
        return self.text

    def wait_exit(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while not self.eof:
            assert time.monotonic() < deadline, f"still running:\n{self.text}"
            self.pump()
        self.child.wait()
        status = self.child.exitstatus
        assert isinstance(status, int), f"killed by signal {self.child.signalstatus}"
        return status

    def assert_inert_stream(self) -> None:
        """Only runreel's own sequences: colours, home, a move to a row's start, erase the
        screen, alternate screen and cursor (once)."""
        raw = bytes(self.raw)
        stray = PTY_OWN.sub(b"", raw)
        at = stray.find(b"\x1b")
        assert at < 0, f"an escape sequence runreel does not write: {stray[at : at + 40]!r}"
        assert_inert(stray.replace(b"\r", b""), what="pty stream")
        for mode in (b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?25l", b"\x1b[?25h"):
            assert raw.count(mode) == 1, (mode, raw.count(mode))
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h")
        assert (self.screen.title, self.screen.icon_name) == ("", "")
        assert termios.tcgetattr(self.child.child_fd) == self.attrs

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


def test_pyte_would_see_a_title_change() -> None:
    """The pty checks below can fail: pyte does take titles from OSC 0."""
    screen = pyte.Screen(20, 2)
    pyte.ByteStream(screen).feed(b"\x1b]0;pwned\x07")
    assert screen.title == "pwned"


# The worst of the corpus first (a field shows at most 300 characters of log text).
PTY_HOSTILE = "\x1b]0;pwned\x07\x9b2J[bold red]x[/]" + "".join(
    s
    for name, s, _ in CORPUS
    if name.split("-")[0]
    in ("csi", "osc", "osc52", "osc8", "dcs", "apc", "pm", "sos", "c1", "bidi")
)
needs_runreel = pytest.mark.skipif(not HAS_RUNREEL, reason="runreel is not installed")


@needs_runreel
@pytest.mark.parametrize("command", ["live", "replay"])
def test_hostile_log_on_a_real_terminal(tmp_path: Path, command: str) -> None:
    path = hostile_log(tmp_path, PTY_HOSTILE, finished=command == "replay", name="hostile")
    args = ["live", path.name, "--timeout", "1.5"] if command == "live" else ["replay", path.name]
    term = Screen(args, tmp_path)
    try:
        term.wait_for("␛]0;pwned␇", "<9B>2J", "[bold red]x[/]")
        if command == "replay":
            term.child.send("G")
            term.wait_for("end ")
            term.child.send("q")
        # replay: the finished hostile run (1 succeeded, 1 failed) is a partial failure;
        # live: stopped by its timeout before the end, incomplete.
        assert term.wait_exit() == (2 if command == "replay" else 3)
        term.assert_inert_stream()
    finally:
        term.close()


@needs_runreel
def test_a_finished_hostile_run_leaves_the_terminal_alone(tmp_path: Path) -> None:
    """What is printed after the screen closes (the last dashboard) holds log text."""
    path = hostile_log(tmp_path, "\x1b]0;pwned\x07\x9b2J\u202e", finished=True)
    term = Screen(["live", path.name], tmp_path)
    try:
        assert term.wait_exit() == 2
        term.assert_inert_stream()
        after = term.raw[term.raw.rfind(b"\x1b[?1049l") :]  # after the screen closed
        assert b"\xe2\x90\x9b]0;pwned" in after  # ␛]0;pwned, shown literally
    finally:
        term.close()


# 5. Faults --------------------------------------------------------------------------------------


class PartialWrites:
    """os.write that really writes only ``keep`` bytes of a line and says so (a device
    that ran out of space mid-line); ``intruder`` appends a whole line right after."""

    def __init__(self, keep: int, intruder: bytes | None = None, log: Path | None = None) -> None:
        self.real = os.write
        self.keep, self.intruder, self.log = keep, intruder, log

    def __call__(self, fd: int, data: Any) -> int:
        written = self.real(fd, bytes(data)[: self.keep])
        if self.intruder is not None and self.log is not None:
            other = os.open(self.log, os.O_WRONLY | os.O_APPEND)
            self.real(other, self.intruder)
            os.close(other)
        return written


@pytest.mark.parametrize("keep", [0, 1, 17, -1])
def test_a_short_write_leaves_no_partial_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    rec.log("before")
    before = log.read_bytes()
    line_len = len(codec.encode(Log(t=T0, src=rec.src, seq=3, msg="lost " * 20)))
    monkeypatch.setattr(os, "write", PartialWrites(keep % line_len))
    with pytest.raises(WriteFailed, match="short write") as info:
        rec.log("lost " * 20)
    assert "nothing of the event was kept" in str(info.value)
    assert isinstance(info.value, OSError)
    monkeypatch.undo()
    assert log.read_bytes() == before  # the partial line was taken back
    rec.log("after")
    rec.close()
    events = assert_whole_log(log, {rec.src: 3})
    assert [e.msg for e in events if isinstance(e, Log)] == ["before", "after"]


def test_a_short_write_another_writer_followed_closes_the_recorder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    other = codec.encode(Log(t=T0, src="other-1", seq=1, msg="other writer"))
    monkeypatch.setattr(os, "write", PartialWrites(10, intruder=other, log=log))
    with pytest.raises(WriteFailed, match="could not be removed"):
        rec.log("cut")
    monkeypatch.undo()
    with pytest.raises(WriteFailed, match="closed"):
        rec.log("refused rather than glued to a bad line")
    rec.close()
    lines = lines_of(log.read_bytes())
    assert len(lines) == 2 and lines[1].endswith(other.rstrip(b"\n"))  # one bad line, no more
    _, report = read_all(str(log), lenient=True)
    assert report.skipped_count == 1


def test_a_short_write_whose_undo_fails_closes_the_recorder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)

    def broken_truncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "write", PartialWrites(5))
    monkeypatch.setattr(os, "ftruncate", broken_truncate)
    with pytest.raises(WriteFailed, match="could not be removed"):
        rec.log("x")
    monkeypatch.undo()
    with pytest.raises(WriteFailed):
        rec.log("y")
    rec.close()


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_write_errors_are_write_failed_and_leave_the_log_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)
    before = log.read_bytes()

    def failing(fd: int, data: Any) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", failing)
    for call in (
        lambda: rec.task_started("t"),
        lambda: rec.retry("t", error="e", backoff=1),
        lambda: rec.succeeded("t"),
        lambda: rec.failed("t"),
        lambda: rec.skip("t"),
        lambda: rec.log("m"),
        lambda: rec.mark("k"),
        lambda: rec.metric("n"),
        lambda: rec.set_total(3),
    ):
        with pytest.raises(WriteFailed, match=os.strerror(code)):
            call()
    monkeypatch.undo()
    assert log.read_bytes() == before
    rec.finish("ok")
    rec.close()
    assert_whole_log(log, {rec.src: 2})


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_attaching_to_a_full_device() -> None:
    rec = Recorder.attach("/dev/full")
    with pytest.raises(WriteFailed, match="No space left"):
        rec.log("x")
    with pytest.raises(WriteFailed, match="No space left"):
        with rec.task("t"):
            pass
    rec.close()


@contextmanager
def tiny_filesystem(directory: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a real disk that fills up (needs root; the test is skipped otherwise)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mnt = directory / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    with tiny_filesystem(tmp_path) as mnt:
        yield mnt


def fill_disk(log: Path, *, seed: int = 0) -> Counter[str]:
    """Write until the disk is full, and on; returns the kinds of failure seen."""
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    rec = Recorder(log, name="filling")
    while seen["failed"] < 20:
        msg = "d" * rng.choice([10, 300, 3_000, 9_000])
        try:
            rec.log(msg)
            seen["written"] += 1
        except WriteFailed as exc:
            seen["failed"] += 1
            seen["short" if "short write" in str(exc) else "enospc"] += 1
            assert "No space left" in str(exc) or "disk full" in str(exc), exc
        data = log.read_bytes()
        assert data.endswith(b"\n"), "a partial line was left behind"
    rec.close()
    return seen


def test_a_full_disk_leaves_no_partial_line(tiny_fs: Path) -> None:
    log = tiny_fs / "run.jsonl"
    seen = fill_disk(log)
    assert seen["written"] and seen["short"], seen  # it really wrote part of a line once
    events = assert_whole_log(log)
    assert len(events) == seen["written"] + 1
    (tiny_fs / "room").write_bytes(b"")
    os.truncate(log, 0)  # room again: the same writer could go on; a new run starts clean
    with Recorder(log, name="after", overwrite=True) as rec:
        rec.log("fine")
    assert_whole_log(log)


def test_follower_survives_what_happens_to_the_file(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    f = Follower(str(log))
    assert f.poll().events == [] and f.notice and "waiting" in f.notice
    with Recorder(log, name="first") as rec:
        rec.task_started("a")
    first = f.poll()
    assert len(first.events) == 3 and not first.reset

    # A log that stops growing, with a torn tail: polls return nothing, quietly.
    with open(log, "ab") as out:
        out.write(b'{"type":"log"')
    for _ in range(3):
        assert f.poll().events == [] and f.pending_bytes == len(b'{"type":"log"')

    # Truncated in the middle of a line, then rewritten.
    os.truncate(log, 10)
    cut = f.poll()  # what follows decides: the same run going on, or a new one
    assert cut.events == [] and not cut.reset and "truncated" in (f.notice or "")
    with Recorder(log, name="second", overwrite=True) as rec:
        rec.log("x")
    got = f.poll()
    assert got.reset or got.events
    assert [type(e) for e in got.events][-2:] == [Log, RunFinished]

    # Rotated: renamed away, a new run in its place.
    os.rename(log, tmp_path / "run.jsonl.1")
    assert f.poll().events == []
    with Recorder(log, name="third") as rec:
        rec.mark("m")
    got = f.poll()
    assert got.reset and "replaced" in (f.notice or "")
    assert [type(e) for e in got.events] == [RunStarted, Mark, RunFinished]

    # Deleted while a writer still holds it: what it held stays, what it gains is read.
    holder = Recorder.attach(log)
    log.unlink()
    got = f.poll()
    assert got.events == [] and "deleted" in (f.notice or "")
    holder.log("written after the unlink")
    assert [type(e) for e in f.poll().events] == [Log]
    holder.close()

    # Replaced by a directory (the view starts over, empty), then by a file again.
    log.mkdir()
    got = f.poll()
    assert got.reset and got.events == [] and "cannot be read" in (f.notice or "")
    log.rmdir()
    with Recorder(log, name="fourth"):
        pass
    got = f.poll()
    assert [type(e) for e in got.events] == [RunStarted, RunFinished] and f.notice is None
    f.close()


def test_follower_checks_the_first_line_after_blank_polls(tmp_path: Path) -> None:
    """A log whose first poll held only blank lines still gets its version checked."""
    log = tmp_path / "run.jsonl"
    log.write_bytes(b"\n \n")
    f = Follower(str(log))
    assert f.poll().events == []
    with open(log, "ab") as out:
        out.write(Path(fixture("future_version")).read_bytes())
    with pytest.raises(LogInvalid) as info:
        f.poll()
    assert info.value.line == 3 and "version 2" in info.value.reason
    f.close()


def test_a_log_that_stops_growing_shows_stalled(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log)  # closed without finishing: the owner crashed
    rec.task_started("a")
    rec.close()
    now = [time.time() + 3600]
    session = LiveSession(Follower(str(log)), wall=lambda: now[0], mono=lambda: 0.0)
    for _ in range(3):
        session.tick()
    assert session.reason is None
    assert "stalled for" in session.status_line()
    frame = render(session.metrics, session.now(), width=100, height=30, fmt="text")
    assert "Stalled for" in frame
    session.follower.close()


@needs_runreel
def test_rotation_and_deletion_on_a_real_terminal(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    rec = Recorder(log, name="before-rotation", total=3)
    rec.task_started("old-task", worker="w")
    rec.close()
    term = Screen(["live", "run.jsonl"], tmp_path)
    try:
        term.wait_for("before-rotation", "old-task")
        os.rename(log, tmp_path / "run.jsonl.1")
        rec = Recorder(log, name="after-rotation", total=2)
        rec.task_started("new-task", worker="w")
        rec.close()
        term.wait_for("log replaced (rotated)", "after-rotation", "new-task")
        log.unlink()
        term.wait_for("log moved or deleted, still following", "new-task")
        term.child.send("q")
        assert term.wait_exit() == 3
        term.assert_inert_stream()
    finally:
        term.close()


TMUX = shutil.which("tmux")
# The viewer runs in the foreground of the pane's shell (a background job would ignore SIGINT).
PANE = """\
stty -g > before.txt
sh -c 'echo $$ > pid.txt; exec "$0" "$@"' "$RUNREEL" live run.jsonl --snapshot final.txt 2> err.txt
echo $? > rc.txt
stty -g > after.txt
sleep 600
"""


def signal_trial(directory: Path, sig: signal.Signals, delay: float, *, started: bool) -> dict:
    """``runreel live`` in a tmux pane gets ``sig`` ``delay`` s after it starts (or after the
    dashboard is up, with ``started``); the pane's terminal must be as it was before."""
    socket = f"runreel-{os.getpid()}-{directory.name}"
    (directory / "tmux.conf").write_text("set -g set-clipboard on\nset -g allow-rename on\n")
    (directory / "pane.sh").write_text(PANE)
    tmux = [str(TMUX), "-L", socket, "-f", str(directory / "tmux.conf")]
    env = {**viewer_env(), "RUNREEL": RUNREEL}
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            "-c",
            str(directory),
            "sh pane.sh",
        ],
        check=True,
        env=env,
    )

    def show(fmt: str) -> str:
        return subprocess.run(
            [*tmux, "display", "-p", "-t", "t", fmt], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        title = show("#{pane_title}")
        deadline = time.monotonic() + 20
        pid_file = directory / "pid.txt"
        while not (pid_file.exists() and pid_file.read_text().strip()) or (
            started and show("#{alternate_on}") != "1"
        ):
            assert time.monotonic() < deadline, "runreel did not start"
            time.sleep(0.01)
        time.sleep(delay)
        pid = int(pid_file.read_text())
        os.kill(pid, sig)
        swallowed = False
        signalled = time.monotonic()
        while not (directory / "after.txt").exists():
            if not swallowed and time.monotonic() - signalled > 5:
                # Python can drop a KeyboardInterrupt raised inside its import machinery
                # ("Exception ignored in ..."): counted, and a second signal ends it.
                swallowed = True
                os.kill(pid, signal.SIGTERM)
            assert time.monotonic() < deadline + 10, "runreel did not stop"
            time.sleep(0.02)
        time.sleep(0.05)
        rc = int((directory / "rc.txt").read_text())
        before, after = ((directory / n).read_text() for n in ("before.txt", "after.txt"))
        assert before == after, "stty settings not restored"
        assert show("#{alternate_on} #{cursor_flag}") == "0 1", "screen or cursor not restored"
        assert show("#{pane_title}") == title, "the window title changed"
        buffers = subprocess.run([*tmux, "list-buffers"], capture_output=True, text=True)
        assert buffers.stdout == "", "something wrote the clipboard"
        err = (directory / "err.txt").read_text()
        return {"rc": rc, "traceback": "Traceback" in err, "err": err, "swallowed": swallowed}
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


@pytest.mark.skipif(TMUX is None, reason="needs tmux")
def test_tmux_would_see_a_title_or_clipboard_write(tmp_path: Path) -> None:
    """The tmux checks can fail: a pane that does print OSC 2 and OSC 52 changes both."""
    socket = f"runreel-control-{os.getpid()}"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g set-clipboard on\n")
    tmux = [str(TMUX), "-L", socket, "-f", str(conf)]
    script = "sleep 0.2; printf '\\033]2;leaked\\033\\\\\\033]52;c;cHduZWQ=\\007'; sleep 30"
    subprocess.run([*tmux, "new-session", "-d", "-s", "c", script], check=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            title = subprocess.run(
                [*tmux, "display", "-p", "-t", "c", "#{pane_title}"], capture_output=True, text=True
            ).stdout.strip()
            buffers = subprocess.run([*tmux, "list-buffers"], capture_output=True, text=True).stdout
            if title == "leaked" and "pwned" in buffers:
                break
            assert time.monotonic() < deadline, (title, buffers)
            time.sleep(0.05)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def signal_log(directory: Path) -> None:
    rec = Recorder(directory / "run.jsonl", name="signals", total=2)
    rec.task_started("t", worker="w")
    rec.log(corpus_groups()[0])  # hostile text on screen while the signal lands
    rec.close()


@pytest.mark.skipif(TMUX is None or not HAS_RUNREEL, reason="needs tmux and runreel")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_restores_the_terminal(tmp_path: Path, sig: signal.Signals) -> None:
    signal_log(tmp_path)
    got = signal_trial(tmp_path, sig, random.Random(sig).uniform(0, 0.5), started=True)
    assert got["rc"] == 128 + sig and not got["traceback"] and not got["swallowed"], got
    assert "t" in (tmp_path / "final.txt").read_text()


# 6. Bad input at the CLI ------------------------------------------------------------------------

READERS: dict[str, list[str]] = {
    "snapshot": ["snapshot", "LOG"],
    "stats": ["stats", "LOG"],
    "validate": ["validate", "LOG"],
    "replay": ["replay", "LOG", "--instant"],
    "check": ["check", "LOG", "GOLDEN"],
    "index": ["index", "LOG"],
    "live": ["live", "LOG", "--timeout", "0.3", "--interval", "10"],
    "export": ["export", "LOG", "--format", "openmetrics"],
    "import": ["import", "LOG", "-o", "OUT"],
}
TARGETS = {"missing": 66, "directory": 66, "unreadable": 66, "empty": 65}


def _target(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.jsonl"
    if kind == "directory":
        path.mkdir()
    elif kind in ("empty", "unreadable"):
        path.write_bytes(b"" if kind == "empty" else Path(fixture("all_succeeded")).read_bytes())
        if kind == "unreadable":
            path.chmod(0)
    return path


@pytest.mark.parametrize("kind", list(TARGETS))
@pytest.mark.parametrize("command", list(READERS))
def test_a_log_that_cannot_be_read(tmp_path: Path, open_tmp: Path, command: str, kind: str) -> None:
    # An unreadable log is tried as an unprivileged user: root can read any file.
    where = open_tmp if kind == "unreadable" else tmp_path
    path = _target(where, kind)
    args = [
        {
            "LOG": str(path),
            "GOLDEN": str(where / "golden"),
            "OUT": str(where / "o.jsonl"),
        }.get(a, a)
        for a in READERS[command]
    ]
    if kind == "unreadable":
        proc = run_unprivileged(args, cwd=where)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        result = invoke(args)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    expected = TARGETS[kind]
    if command == "live" and kind == "empty":
        expected = 3  # a log that is still empty is a run that has not started yet
    assert code == expected, (code, stderr)
    lines = stderr.splitlines()
    assert "Traceback" not in stderr
    if expected == 3:
        assert lines == []
        return
    assert len(lines) == 1 and lines[0].startswith("runreel: error: "), lines
    assert str(path) in lines[0] or path.name in lines[0]
    if command != "live":
        assert stdout == ""
    assert not (where / "o.jsonl").exists()


BAD_OPTIONS: dict[str, list[list[str]]] = {
    "snapshot": [
        ["--at", "yesterday"],
        ["--at", "#0"],
        ["--width", "5"],
        ["--height", "x"],
        ["--format", "pdf"],
        ["--at", "nan"],
        ["--at", "mark:\x1b]0;x\x07"],
    ],
    "replay": [
        ["--from", "nope"],
        ["--to", "150%"],
        ["--speed", "-1"],
        ["--speed", "nan"],
        ["--max-idle", "0"],
        ["--refresh", "nan"],
        ["--snapshot", "x.pdf"],
        ["--from", "mark:none"],
    ],
    "check": [["--at", "bogus"], ["--width", "0"], ["--format", "pdf"], ["--at", "mark:none"]],
    "export": [["--format", "pdf"], ["--at", "x"], ["--fps", "nan"], ["--width", "1"], []],
    "live": [
        ["--timeout", "abc"],
        ["--timeout", "nan"],
        ["--timeout", "-1"],
        ["--snapshot", "a.pdf"],
        ["--refresh", "0"],
        ["--interval", "nan"],
    ],
    "stats": [["--bogus"]],
    "validate": [["--lenient"]],
    "index": [["--at", "end"]],
    "import": [["--format", "pdf", "-o", "OUT"], []],
}


@pytest.mark.parametrize(
    ("command", "options"),
    [(c, o) for c, opts in BAD_OPTIONS.items() for o in opts],
    ids=[f"{c}-{' '.join(o)[:20]}" for c, opts in BAD_OPTIONS.items() for o in opts],
)
def test_a_bad_option_is_one_line_and_64(tmp_path: Path, command: str, options: list[str]) -> None:
    log = fixture("all_succeeded")
    positional = [log, str(tmp_path / "golden")] if command == "check" else [log]
    out = str(tmp_path / "o.jsonl")
    result = invoke([command, *positional, *[out if o == "OUT" else o for o in options]])
    assert result.exit_code == 64, (result.exit_code, result.stderr)
    [line] = result.stderr.splitlines()
    assert re.match(rf"\S+ {command}: error: .+ \(see '\S+ {command} --help'\)$", line), line
    assert_inert(result.stderr_bytes)
    assert result.stdout == ""
    assert not os.path.exists(out) and not (tmp_path / "golden").exists()


def test_a_real_process_with_bad_input_prints_one_line(tmp_path: Path) -> None:
    if not HAS_RUNREEL:
        pytest.skip("runreel is not installed")
    for args, code in (
        (["replay", str(tmp_path), "--instant"], 66),
        (["replay", fixture("all_succeeded"), "--speed", "nan"], 64),
        (["export", fixture("corrupt_middle"), "--format", "openmetrics"], 65),
    ):
        proc = subprocess.run([RUNREEL, *args], capture_output=True, timeout=60, env=viewer_env())
        assert proc.returncode == code, proc.stderr
        assert len(proc.stderr.decode().splitlines()) == 1 and b"Traceback" not in proc.stderr
