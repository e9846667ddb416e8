"""Issue 4 benchmark: first frame, index build, seeks with and without the index, memory.

Run from the repository root (not a test; every figure comes from this run):

    python bench/seek.py                 # 10M events (1.4 GB), several minutes
    python bench/seek.py --quick         # 1M events (140 MB)
    python bench/seek.py --events 3000000 --dir /big/disk --keep
    python bench/seek.py --json out.json # also write the figures as JSON ("-": stdout)

A log with a fixed seed (64 workers in 16 writer processes, retries, failures, skips,
logs, metrics, a mark every 50,000 events) is written with ``recorder.codec`` from a
pre-built block of events repeated with shifted times, sequence numbers and task ids.
Then, in the same run, each measurement in a fresh process:

- first frame, cold (no index): ``runreel snapshot --at 0`` (whole command) and
  ``runreel replay LOG`` in a pseudo-terminal until its first frame shows (pexpect; without
  it, ``--instant --to start`` not on a terminal); the replay again with the index warm;
- ``runreel index`` build time, whole command, and its peak RSS;
- warm seeks to 10 random event numbers: ``runreel snapshot --at '#N'`` (whole command)
  and a Python ``Cursor.seek(N)`` on the loaded index (in-process seek time, index
  load time, peak RSS);
- the baseline, no index: fold from the start up to event N for the same 10 points;
- one backward step (``Cursor.seek(N - 1)`` from N) with the warm index.

Peak memory is the child's own high-water mark (Linux VmHWM, written at exit; it starts
afresh at exec, while ``ru_maxrss`` from ``os.wait4``, also shown, may include what the
parent had). Commands run with compiled modules cached (as an installed package would),
so their times are not inflated by PYTHONDONTWRITEBYTECODE. In-process times are given
as wall and CPU time: on a shared machine the wall clock includes waiting for a CPU, so
the targets are judged on CPU time (and the median wall time). Ratios are against the
fold-from-start baseline of this run. Targets (issue 4): warm seek <= 100 ms and
>= 40x faster than folding from the start; peak memory <= 100 MB whatever the log size.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import msgspec

from recorder.events import (
    AnyEvent,
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
)

SEED = 4
PROCESSES = 16  # writer processes (one src each)
THREADS = 4  # workers per process
BLOCK = 100_000  # events simulated once, then repeated
MARK_EVERY = 50_000
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
POINTS = 10
ERRORS = (
    "TimeoutError: read timed out after 30s",
    "ConnectionResetError: [Errno 104] Connection reset by peer",
    "ValueError: invalid literal for int() with base 10: 'n/a'",
    "RuntimeError: upstream returned HTTP 503",
    "KeyError: 'customer_id'",
)
LEVELS = ("info", "info", "info", "warning", "error")
TARGETS = {
    "seek_ms": 100.0,  # warm index, in-process seek
    "seek_speedup": 40.0,  # fold from the start / warm seek
    "peak_mib": 100.0,  # index build and a seek, each in its own process
}
RUNREEL = [sys.executable, "-c", "from replay.cli import main; main()"]


# The log -------------------------------------------------------------------------


def _block(rng: random.Random) -> tuple[list[tuple[AnyEvent, int]], float, dict[str, int]]:
    """About BLOCK events of 64 workers, every task ended inside the block.

    Returns (event, task number in the block or -1) pairs with times relative to
    the block's start, the block's duration and the events per ``src``.
    """
    srcs = [f"{4000 + p}-{rng.getrandbits(32):08x}" for p in range(PROCESSES)]
    workers = [(srcs[p], f"host{p:02d}-w{k}") for p in range(PROCESSES) for k in range(THREADS)]
    out: list[tuple[AnyEvent, int]] = []
    seqs: dict[str, int] = {}

    def emit(cls: Any, t: float, src: str, task: int = -1, **fields: Any) -> None:
        seq = seqs[src] = seqs.get(src, 0) + 1
        t = round(t, 6)
        if task >= 0:
            fields["task"] = ""
        out.append((cls(t=t, src=src, seq=seq, **fields), task))

    heap = [(rng.random(), w) for w in range(len(workers))]
    heapq.heapify(heap)
    phase = [0] * len(workers)  # 0 idle, 1 running, 2 backoff
    task = [0] * len(workers)
    attempt = [0] * len(workers)
    tasks = 0
    t = 0.0
    while heap:
        t, w = heapq.heappop(heap)
        src, name = workers[w]
        if phase[w] == 0:
            if len(out) >= BLOCK:
                continue  # this worker is done for the block
            tasks += 1
            if rng.random() < 0.02:
                emit(TaskSkipped, t, src, tasks, worker=name, reason="already done")
                t += rng.uniform(0.001, 0.01)
            else:
                task[w], attempt[w], phase[w] = tasks, 1, 1
                emit(TaskStarted, t, src, tasks, worker=name, attempt=1)
                t += rng.lognormvariate(-1.0, 0.9)
        elif phase[w] == 2:
            attempt[w] += 1
            phase[w] = 1
            emit(TaskStarted, t, src, task[w], worker=name, attempt=attempt[w])
            t += rng.lognormvariate(-1.0, 0.9)
        else:
            r = rng.random()
            if r < 0.10 and attempt[w] < 3:
                backoff = 0.5 * 2 ** attempt[w]
                phase[w] = 2
                err = rng.choice(ERRORS)
                emit(
                    TaskRetrying,
                    t,
                    src,
                    task[w],
                    worker=name,
                    attempt=attempt[w],
                    error=err,
                    backoff=backoff,
                )
                t += backoff
            else:
                phase[w] = 0
                if r < 0.14:
                    err = rng.choice(ERRORS)
                    emit(TaskFailed, t, src, task[w], worker=name, error=err)
                else:
                    emit(TaskSucceeded, t, src, task[w], worker=name)
                if rng.random() < 0.3:
                    value = float(rng.randint(1, 5000))
                    labels = {"shard": f"s{rng.randrange(8)}"}
                    emit(Metric, t, src, name="rows_written", value=value, labels=labels)
                if rng.random() < 0.05:
                    value = float(rng.randrange(10_000))
                    emit(Metric, t, src, name="queue_depth", kind="gauge", value=value)
                if rng.random() < 0.15:
                    level = rng.choice(LEVELS)
                    msg = f"wrote batch {rng.randrange(1000)} ({level})"
                    emit(Log, t, src, level=level, msg=msg)
                t += rng.uniform(0.001, 0.01)
        heapq.heappush(heap, (t, w))
    return out, round(t + 0.5, 6), seqs


def generate(path: str, events: int, seed: int = SEED) -> dict[str, Any]:
    """Write a log of exactly ``events`` events (at least 2); returns what it holds."""
    rng = random.Random(seed)
    block, span, per_src = _block(rng)
    main = "3999-0c0ffee0"
    encode_into = msgspec.json.Encoder().encode_into
    replace = msgspec.structs.replace
    buf = bytearray()
    n = 0
    with open(path, "wb") as f:

        def write(e: AnyEvent) -> None:
            nonlocal n
            encode_into(e, buf, -1)
            buf.extend(b"\n")
            n += 1
            if len(buf) >= 1 << 22:
                f.write(buf)
                buf.clear()

        main_seq = 1
        planned = events * 2 // 5
        write(
            RunStarted(
                t=T0,
                src=main,
                seq=1,
                v=1,
                run="bench-seek-01",
                name="nightly-etl",
                total=planned,
                meta={"host": "bench", "seed": str(seed)},
            )
        )
        k = 0
        next_mark = MARK_EVERY
        while n < events - 1:
            off = T0 + 1.0 + k * span
            prefix = f"j{k:04d}-"
            for e, task in block:
                if n >= events - 1:
                    break
                if n >= next_mark:
                    main_seq += 1
                    write(Mark(t=e.t + off, src=main, seq=main_seq, label=f"m{n // MARK_EVERY}"))
                    next_mark += MARK_EVERY
                    if n >= events - 1:
                        break
                seq = e.seq + k * per_src[e.src]
                if task >= 0:
                    write(replace(e, t=e.t + off, seq=seq, task=f"{prefix}{task:05d}"))  # type: ignore[call-arg]
                else:
                    write(replace(e, t=e.t + off, seq=seq))
            k += 1
        main_seq += 1
        write(RunFinished(t=T0 + 1.0 + k * span, src=main, seq=main_seq, status="ok"))
        f.write(buf)
    return {"events": n, "bytes": os.path.getsize(path)}


# Child processes -------------------------------------------------------------------

# Runs ``runreel ARGS`` in-process and writes the process's own peak RSS (VmHWM, which
# starts afresh at exec; ru_maxrss would include what the parent had) to $BENCH_RSS_FILE.
_WRAP = r"""
import atexit, os, sys
def _rss():
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
def _report():
    with open(os.environ["BENCH_RSS_FILE"], "w") as f:
        f.write(str(_rss()))
atexit.register(_report)
"""
RUNREEL_WRAPPED = _WRAP + "\nfrom replay.cli import main\nsys.argv[0] = 'runreel'\nmain()\n"

# Loads the index, then seeks a fresh Cursor to each point and takes one step back.
_SEEKS = r"""
import json, sys, time
t0 = time.perf_counter()
from replay.index.store import load_or_build
from replay.index.cursor import Cursor
t1 = time.perf_counter()
log, points = sys.argv[1], json.loads(sys.argv[2])
ix = load_or_build(log)
t2 = time.perf_counter()
out = {"import_s": t1 - t0, "load_s": t2 - t1, "file": ix.file, "seek_s": [], "back_s": [],
       "states": [], "checkpoints": len(ix.header.checkpoints), "count": ix.header.count}
out["seek_cpu_s"], out["back_cpu_s"] = [], []
for n in points:
    cursor = Cursor(ix)
    a, ac = time.perf_counter(), time.process_time()
    cursor.seek(n)
    b, bc = time.perf_counter(), time.process_time()
    m = cursor.metrics
    out["states"].append([m.events, m.succeeded, m.failed, m.retries, len(m.in_flight), m.last_t])
    cursor.seek(n - 1)
    c, cc = time.perf_counter(), time.process_time()
    out["seek_s"].append(b - a)
    out["back_s"].append(c - b)
    out["seek_cpu_s"].append(bc - ac)
    out["back_cpu_s"].append(cc - bc)
print(json.dumps(out))
"""

# The baseline: fold from the start, no index; one pass, the time at which each point is reached.
_FOLD = r"""
import json, sys, time
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.sources.file import read_batches
log, points = sys.argv[1], sorted(json.loads(sys.argv[2]))
m = Metrics()
at = {}
i = 0
t0, c0 = time.perf_counter(), time.process_time()
for batch in read_batches(log):
    while i < len(points) and m.events + len(batch) >= points[i]:
        k = points[i] - m.events
        apply_all(m, batch[:k])
        batch = batch[k:]
        state = [m.events, m.succeeded, m.failed, m.retries, len(m.in_flight), m.last_t]
        at[points[i]] = [time.perf_counter() - t0, state, time.process_time() - c0]
        i += 1
    if i == len(points):
        break
    apply_all(m, batch)
print(json.dumps(at))
"""


class Child:
    """One measured process: wall time, exit code, stdout, peak RSS (own VmHWM and ru_maxrss)."""

    def __init__(self, argv: list[str], env: dict[str, str], workdir: str) -> None:
        rss_file = os.path.join(workdir, "rss")
        env = {**env, "BENCH_RSS_FILE": rss_file}
        if os.path.exists(rss_file):
            os.unlink(rss_file)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            began = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            self.seconds = time.perf_counter() - began
            proc.returncode = self.code = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            self.stdout, self.stderr = out.read(), err.read()
        unit = 1 if sys.platform == "darwin" else 1024
        self.ru_maxrss = usage.ru_maxrss * unit
        self.cpu = usage.ru_utime + usage.ru_stime
        try:
            with open(rss_file) as f:
                self.peak = int(f.read())
        except (OSError, ValueError):
            self.peak = self.ru_maxrss

    def check(self, *codes: int) -> Child:
        if self.code not in codes:
            sys.exit(f"bench: child failed with {self.code}:\n{self.stderr.decode()[-2000:]}")
        return self


def runreel(args: list[str], env: dict[str, str], workdir: str) -> Child:
    return Child([sys.executable, "-c", RUNREEL_WRAPPED, *args], env, workdir)


def python(code: str, args: list[str], env: dict[str, str], workdir: str) -> Child:
    return Child([sys.executable, "-c", _WRAP + code, *args], env, workdir)


def first_frame_in_a_terminal(log: str, env: dict[str, str]) -> float | None:
    """Seconds from starting ``runreel replay LOG`` in a pseudo-terminal to its first frame."""
    try:
        import pexpect
    except ImportError:
        return None
    exe = os.path.join(os.path.dirname(sys.executable), "runreel")
    argv = [exe] if os.path.exists(exe) else [sys.executable, "-c", RUNREEL_WRAPPED]
    began = time.perf_counter()
    child = pexpect.spawn(
        argv[0],
        [*argv[1:], "replay", log, "--speed", "1"],
        env=env,
        dimensions=(30, 100),
        timeout=3600,
    )
    try:
        child.expect(r"event \d+/\d+")
        seconds = time.perf_counter() - began
        child.send("q")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
    return seconds


def remove_index(log: str, env: dict[str, str]) -> None:
    from replay.index.store import cache_path, sidecar

    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
    try:
        for path in (sidecar(log), cache_path(log)):
            if os.path.exists(path):
                os.unlink(path)
    finally:
        if saved is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = saved


# The run ---------------------------------------------------------------------------


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def workspace(args: argparse.Namespace, name: str) -> tuple[str, str, dict[str, str]]:
    """A bench's folder (``--dir`` or a new temporary one), its log's path, and the
    environment its commands run in (own cache; modules compiled once, as installed)."""
    workdir = args.dir or tempfile.mkdtemp(prefix=f"runreel-{name}-")
    os.makedirs(workdir, exist_ok=True)
    log = os.path.join(workdir, f"seek-{args.events}.jsonl")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    env["XDG_CACHE_HOME"] = os.path.join(workdir, "cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(workdir, "pycache")
    return workdir, log, env


def make_log(log: str, events: int, env: dict[str, str], workdir: str) -> Child:
    """Write the generated log of ``events`` events at ``log``, in a child process."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = f"sys.path.insert(0, {here!r})\nfrom seek import generate\n"
    code += "generate(sys.argv[1], int(sys.argv[2]))\n"
    return python(code, [log, str(events)], env, workdir).check(0)


def _ms(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir, log, env = workspace(args, "seek")
    figures: dict[str, Any] = {
        "load_before": _load(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        if args.dir and os.path.exists(log):
            figures["log"] = {"events": args.events, "bytes": os.path.getsize(log), "reused": True}
        else:
            began = time.perf_counter()
            gen = make_log(log, args.events, env, workdir)
            figures["log"] = {
                "events": args.events,
                "bytes": os.path.getsize(log),
                "write_s": time.perf_counter() - began,
            }
            del gen
        print(f"log: {args.events:,} events, {os.path.getsize(log) / 1e9:.2f} GB ({log})")

        runreel(["--version"], env, workdir).check(0)  # compiles the modules once

        # Cold: no index anywhere.
        remove_index(log, env)
        snap0 = runreel(["snapshot", log, "--at", "0"], env, workdir).check(3)
        figures["cold_snapshot_at_0_s"] = snap0.seconds
        figures["cold_snapshot_at_0_peak"] = snap0.peak
        remove_index(log, env)
        frame = first_frame_in_a_terminal(log, env)
        if frame is None:
            frame = runreel(["replay", log, "--instant", "--to", "start"], env, workdir).seconds
            figures["cold_replay_first_frame_how"] = "not a TTY: --instant --to start"
        figures["cold_replay_first_frame_s"] = frame
        remove_index(log, env)
        built = runreel(["index", log], env, workdir).check(0)
        figures["index_build_s"] = built.seconds
        figures["index_build_cpu_s"] = built.cpu
        figures["index_build_peak"] = built.peak
        figures["index_build_ru_maxrss"] = built.ru_maxrss
        print(f"  {built.stdout.decode().strip()}")
        from replay.index.store import cache_path, sidecar

        index_file = sidecar(log) if os.path.exists(sidecar(log)) else cache_path(log)
        figures["index_bytes"] = os.path.getsize(index_file) if os.path.exists(index_file) else 0

        # Warm: the same random points, with the index and without.
        rng = random.Random(args.seed)
        count = args.events
        points = sorted(rng.randrange(2, count + 1) for _ in range(POINTS))
        seeks = python(_SEEKS, [log, json.dumps(points)], env, workdir).check(0)
        inproc = json.loads(seeks.stdout)
        commands = [
            runreel(["snapshot", log, "--at", f"#{n}"], env, workdir).check(0, 1, 2, 3)
            for n in points
        ]
        warm_frame = first_frame_in_a_terminal(log, env)
        base = python(_FOLD, [log, json.dumps(points)], env, workdir).check(0)
        baseline = {int(k): v for k, v in json.loads(base.stdout).items()}
        verified = all(
            baseline[n][1] == state for n, state in zip(points, inproc["states"], strict=True)
        )
        rows = []
        for i, n in enumerate(points):
            rows.append(
                {
                    "event": n,
                    "seek_s": inproc["seek_s"][i],
                    "seek_cpu_s": inproc["seek_cpu_s"][i],
                    "back_s": inproc["back_s"][i],
                    "back_cpu_s": inproc["back_cpu_s"][i],
                    "command_s": commands[i].seconds,
                    "command_cpu_s": commands[i].cpu,
                    "fold_from_start_s": baseline[n][0],
                    "fold_from_start_cpu_s": baseline[n][2],
                }
            )
        figures.update(
            points=rows,
            verified=verified,
            index_load_s=inproc["load_s"],
            import_s=inproc["import_s"],
            checkpoints=inproc["checkpoints"],
            seek_peak=seeks.peak,
            seek_ru_maxrss=seeks.ru_maxrss,
            snapshot_peak=max(c.peak for c in commands),
            fold_peak=base.peak,
            warm_replay_first_frame_s=warm_frame,
            load_after=_load(),
        )
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    return figures


def report(f: dict[str, Any]) -> list[str]:
    """Print the figures and the targets; returns the targets missed.

    Wall-clock times on a shared machine include waiting for a CPU, so in-process
    times are given as wall and CPU (process_time) and the targets are judged on CPU
    time, for the seeks and the fold from the start alike.
    """
    rows = f["points"]

    def col(key: str) -> list[float]:
        return [r[key] for r in rows]

    seek, seek_cpu = col("seek_s"), col("seek_cpu_s")
    back, back_cpu = col("back_s"), col("back_cpu_s")
    fold, fold_cpu = col("fold_from_start_s"), col("fold_from_start_cpu_s")
    speedups = [fc / sc for fc, sc in zip(fold_cpu, seek_cpu, strict=True)]
    total_speedup = sum(fold_cpu) / sum(seek_cpu)
    print(
        f"  index file {f['index_bytes'] / 2**20:.1f} MiB, {f['checkpoints']} checkpoints; "
        f"seek states equal the fold from the start: {f['verified']}"
    )
    print(f"  load average {f['load_before']} before, {f['load_after']} after ({f['cpus']} CPUs)")
    print("\nfirst frame, cold (no index), whole command:")
    print(
        f"  runreel snapshot --at 0          {_ms(f['cold_snapshot_at_0_s'])}"
        f"  (peak {_mib(f['cold_snapshot_at_0_peak'])})"
    )
    how = f.get("cold_replay_first_frame_how", "in a pseudo-terminal")
    print(f"  runreel replay ({how})  {_ms(f['cold_replay_first_frame_s'])}")
    if f.get("warm_replay_first_frame_s") is not None:
        print(f"  runreel replay, warm index       {_ms(f['warm_replay_first_frame_s'])}")
    print(
        f"\nrunreel index (cold build)         {_ms(f['index_build_s'])} wall, "
        f"{_ms(f['index_build_cpu_s'])} CPU; peak {_mib(f['index_build_peak'])}"
        f" (ru_maxrss {_mib(f['index_build_ru_maxrss'])})"
    )
    print(
        f"\nseek to {len(rows)} random events with the warm index, in a new process: index load "
        f"{_ms(f['index_load_s'])}, imports {_ms(f['import_s'])}; times in ms (wall / CPU)"
    )
    print("      event       seek      back-1   snapshot --at #N     fold from start     speedup")
    for r, x in zip(rows, speedups, strict=True):
        print(
            f"  {r['event']:>9}  {r['seek_s'] * 1e3:4.0f} /{r['seek_cpu_s'] * 1e3:4.0f}"
            f"  {r['back_s'] * 1e3:4.0f} /{r['back_cpu_s'] * 1e3:4.0f}"
            f"  {r['command_s'] * 1e3:6.0f} /{r['command_cpu_s'] * 1e3:6.0f}"
            f"  {r['fold_from_start_s'] * 1e3:8.0f} /{r['fold_from_start_cpu_s'] * 1e3:8.0f}"
            f"  {x:8.0f}x"
        )
    print(
        f"  seek: median {statistics.median(seek) * 1e3:.0f} / "
        f"{statistics.median(seek_cpu) * 1e3:.0f} ms, max {max(seek) * 1e3:.0f} / "
        f"{max(seek_cpu) * 1e3:.0f} ms; one step back: median "
        f"{statistics.median(back) * 1e3:.0f} / {statistics.median(back_cpu) * 1e3:.0f} ms, "
        f"max {max(back) * 1e3:.0f} / {max(back_cpu) * 1e3:.0f} ms"
    )
    print(
        f"  speedup over folding from the start (CPU): all 10 seeks {total_speedup:.0f}x, "
        f"median {statistics.median(speedups):.0f}x, min {min(speedups):.0f}x "
        f"(wall: {sum(fold) / sum(seek):.0f}x)"
    )
    print(
        f"  peak memory: seek {_mib(f['seek_peak'])} (ru_maxrss {_mib(f['seek_ru_maxrss'])}), "
        f"snapshot --at #N {_mib(f['snapshot_peak'])}, "
        f"fold from start {_mib(f['fold_peak'])}"
    )
    checks = [
        ("warm seek <= 100 ms (max CPU)", max(seek_cpu) * 1e3, TARGETS["seek_ms"], True),
        ("warm seek <= 100 ms (median wall)", statistics.median(seek) * 1e3, 100.0, True),
        ("seek >= 40x faster than the fold (10 seeks)", total_speedup, 40.0, False),
        ("peak memory, index build <= 100 MiB", f["index_build_peak"] / 2**20, 100.0, True),
        (
            "peak memory, seek <= 100 MiB",
            max(f["seek_peak"], f["snapshot_peak"]) / 2**20,
            TARGETS["peak_mib"],
            True,
        ),
    ]
    return print_targets(checks, digits=1)


def print_targets(checks: list[tuple[Any, ...]], digits: int = 2) -> list[str]:
    """Print each (name, value, target[, at_most]) as met or MISSED; the names missed."""
    missed = []
    print("\ntargets:")
    for name, value, target, *rest in checks:
        ok = value <= target if (rest[0] if rest else True) else value >= target
        print(f"  {'met   ' if ok else 'MISSED'}  {name}: {value:.{digits}f}")
        if not ok:
            missed.append(name)
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the log")
    parser.add_argument("--quick", action="store_true", help="1M events")
    parser.add_argument("--dir", help="where the log goes (kept, and reused when it exists)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random points")
    parser.add_argument("--json", help="also write the figures as JSON to this file (- stdout)")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 1_000_000
    figures = run(args)
    missed = report(figures)
    if args.json:
        text = json.dumps(figures, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
