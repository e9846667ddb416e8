"""Issue 17 benchmark: the parallel fold, whole process, against one process and DuckDB.

Run from the repository root (not a test; every figure comes from this run):

    python bench/parallel_fold.py              # 3M-event log (~390 MiB), 3 rounds
    python bench/parallel_fold.py --quick      # 600k events, 1 round
    python bench/parallel_fold.py --threshold  # also: from which size --jobs 2 pays
    pip install -e '.[bench]'                  # DuckDB, for its side of the comparison

The ratios come first: ``stats --jobs N`` against ``--jobs 1``, the cold index build
with each, runreel's rate against DuckDB's, and the peak RSS of a process.

The log is bench/fold_write.py's (fixed seed: 64 workers in 16 writer processes,
retries, failures, skips, logs, marks, metrics). Each round, cold: a fresh copy of
the log (so no index from an earlier command serves), then ``runreel stats COPY
--json --jobs 1`` and ``--jobs N`` as whole processes (wall time, start-up included;
the two JSON outputs must be the same bytes), ``runreel snapshot COPY --at 50%``
with each (a cold index build: the index is written beside the copy), then DuckDB in a whole process
computing what a post-mortem asks of the same file: the count per event type, the
count per worker and outcome, and p50/p95 task durations (each task's first start
joined with its end). A ratio is the median of the rounds' ratios, each measured
side by side, so a machine shared with other work skews it less. In the same rounds,
the floors of ``stats --jobs N`` as whole processes (``FLOOR_SCRIPT``): N processes that
read their byte range and msgspec-decode every line, that only read it, and that decode
and do the least fold of this format; and start-up alone. The DuckDB line says how much
of the time 0.6 of DuckDB's rate allows the floors take: where decoding and start-up
already take all of it, no CPython fold on N cores can reach it.

Then, in this process (CPU seconds, steadier on a shared machine), where the time
goes and the floor of each part: start-up (a whole ``stats`` of a 3-line log),
starting the workers, reading the file alone, cutting it at lines, msgspec decoding
it alone, the fold, and for ``--jobs N`` the split, the ranges' folds (the parallel
part), the partials' size and the merge (the serial part); and the peak RSS of every
process of ``stats --jobs N`` (the largest of the tree). ``--threshold`` times
``stats`` and the cold index build with ``--jobs 1`` and ``--jobs N`` on logs of a
few sizes: where N starts to pay is ``PARALLEL_MIN_BYTES`` in replay/index/parallel.py.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fold_write import generate  # noqa: E402

from recorder import codec  # noqa: E402
from replay.core.merge import merge  # noqa: E402
from replay.index import parallel  # noqa: E402
from replay.sources.file import CHUNK  # noqa: E402
from replay.sources.ranges import split  # noqa: E402

DUCKDB_QUERY = """
import sys, duckdb
con = duckdb.connect()
con.execute(f"SET threads = {int(sys.argv[2])}")
con.execute(
    "CREATE TEMP TABLE ev AS SELECT type, t, task, worker, attempt FROM read_json(?, "
    "format='newline_delimited', columns={type: 'VARCHAR', t: 'DOUBLE', task: 'VARCHAR', "
    "worker: 'VARCHAR', attempt: 'BIGINT'})", [sys.argv[1]])
counts = con.execute("SELECT type, count(*) FROM ev GROUP BY type ORDER BY type").fetchall()
workers = con.execute(
    "SELECT worker, type, count(*) FROM ev WHERE worker IS NOT NULL "
    "GROUP BY worker, type ORDER BY worker, type").fetchall()
durations = con.execute(
    "WITH s AS (SELECT task, min(t) AS t FROM ev WHERE type = 'task_started' GROUP BY task), "
    "e AS (SELECT task, max(t) AS t FROM ev WHERE type IN ('task_succeeded', 'task_failed') "
    "GROUP BY task) SELECT quantile_cont(e.t - s.t, 0.5), quantile_cont(e.t - s.t, 0.95) "
    "FROM s JOIN e USING (task)").fetchone()
print(sum(n for _, n in counts), len(workers), durations)
"""

# The floors of ``stats --jobs N`` as whole processes: the least any CPython fold of this
# format on N processes must do. "decode": N forked processes each read their byte range
# (cut at lines, 1 MiB reads into one buffer, as runreel reads) and msgspec-decode every
# line into runreel's event Structs, no fold; "read": the same reading and cutting, lines
# only counted; "least-fold": decoding, then per event only what any fold of this format
# must do (bench/fold_write.py's fold floor: the newest time, each writer's seq check, the
# tasks in flight).
FLOOR_SCRIPT = """
import os, sys
mode, path, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
from recorder import codec, events
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
starts = [0]
for k in range(1, jobs):
    at = size * k // jobs
    starts.append(at + os.pread(fd, 1 << 20, at).find(b"\\n") + 1)
pids = []
for a, b in zip(starts, [*starts[1:], size]):
    pid = os.fork()
    if pid:
        pids.append(pid)
        continue
    n, keep, at, buf = 0, 0, a, bytearray(2 << 20)
    seqs, in_flight, last, gaps = {}, {}, 0.0, 0
    started = events.TaskStarted
    finals = {events.TaskSucceeded, events.TaskFailed, events.TaskSkipped}
    while at < b:
        with memoryview(buf) as view:
            got = os.preadv(fd, [view[keep : keep + min(1 << 20, b - at)]], at)
        at += got
        cut = buf.rfind(b"\\n", 0, keep + got) + 1
        if mode == "read":
            n += buf.count(b"\\n", 0, cut)
        else:
            with memoryview(buf) as view:
                batch = codec.decode_chunk(view[:cut])
            n += len(batch)
        if mode == "least-fold":
            last_seq = seqs.get
            for e in batch:
                t = e.t
                if t > last:
                    last = t
                src, seq = e.src, e.seq
                if last_seq(src, 0) + 1 != seq:
                    gaps += 1
                seqs[src] = seq
                cls = type(e)
                if cls is started:
                    in_flight[e.task] = e
                elif cls in finals:
                    in_flight.pop(e.task, None)
        batch = None
        buf[: keep + got - cut] = buf[cut : keep + got]
        keep = keep + got - cut
    os._exit(0 if n else 1)
bad = sum(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) != 0 for p in pids)
sys.exit(bad)
"""


def runreel() -> list[str]:
    exe = shutil.which("runreel", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-c", "from replay.cli import main; main()"]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    cpu = children_cpu()
    done = subprocess.run(cmd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    CPU[cmd[-1] if cmd[-2] == "--jobs" else "other"] = children_cpu() - cpu
    if done.returncode not in (0, 1, 2, 3):
        raise SystemExit(f"{cmd[:3]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return wall, done.stdout


CPU: dict[str, float] = {}  # CPU seconds of the last run's process tree, by its --jobs


def floor_wall(mode: str, log: str, jobs: int) -> float:
    """Wall seconds of FLOOR_SCRIPT as a whole process (``mode``: "decode" or "read")."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, mode, log, str(jobs)], check=False)
    if done.returncode:
        raise SystemExit(f"the {mode} floor failed ({done.returncode})")
    return time.perf_counter() - start


def fresh_copy(log: str, work: str, n: int) -> str:
    path = os.path.join(work, f"copy{n}.jsonl")
    shutil.copyfile(log, path)
    return path


def has_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def rounds(log: str, work: str, events: int, jobs: int, repeat: int) -> dict[str, Any]:
    out: dict[str, list[float]] = {"jobs1": [], "jobsN": [], "duckdb": [], "speedup": []}
    out["floor_decode"], out["floor_read"], out["floor_startup"] = [], [], []
    out["floor_least"] = []
    tiny = os.path.join(work, "tiny.jsonl")
    with open(log, "rb") as src, open(tiny, "wb") as dst:
        dst.write(b"".join(src.readline() for _ in range(3)))
    out["vs_duckdb"], out["cpu1"], out["cpuN"] = [], [], []
    out["index1"], out["indexN"], out["index_speedup"] = [], [], []
    out["cpu_index1"], out["cpu_indexN"] = [], []
    for r in range(repeat):
        one = fresh_copy(log, work, 2 * r)
        t1, json1 = timed([*runreel(), "stats", one, "--json", "--jobs", "1"])
        out["cpu1"].append(CPU["1"])
        os.unlink(one)
        many = fresh_copy(log, work, 2 * r + 1)
        tn, json_n = timed([*runreel(), "stats", many, "--json", "--jobs", str(jobs)])
        out["cpuN"].append(CPU[str(jobs)])
        if json1 != json_n:
            raise SystemExit("--jobs 1 and --jobs N printed different JSON")
        for key, jobs_ in (("index1", "1"), ("indexN", str(jobs))):  # a cold index: a seek
            copy = fresh_copy(log, work, 2 * r + 100)
            cmd = [*runreel(), "snapshot", copy, "--at", "50%", "--jobs", jobs_]
            out[key].append(timed(cmd)[0])
            out["cpu_" + key].append(CPU[jobs_])
            for leftover in (copy, copy + ".runreel-index"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        out["index_speedup"].append(out["index1"][-1] / out["indexN"][-1])
        out["jobs1"].append(t1)
        out["jobsN"].append(tn)
        out["speedup"].append(t1 / tn)
        if has_duckdb():
            td, _ = timed([sys.executable, "-c", DUCKDB_QUERY, many, str(jobs)])
            out["duckdb"].append(td)
            out["vs_duckdb"].append((events / tn) / (events / td))
        out["floor_decode"].append(floor_wall("decode", many, jobs))
        out["floor_read"].append(floor_wall("read", many, jobs))
        out["floor_least"].append(floor_wall("least-fold", many, jobs))
        out["floor_startup"].append(timed([*runreel(), "stats", tiny, "--json", "--jobs", "1"])[0])
        os.unlink(many)
    return out


def where_time_goes(log: str, jobs: int) -> dict[str, float]:
    """The parallel fold's phases, one after the other in this process (CPU seconds)."""
    t = time.process_time()
    fd = os.open(log, os.O_RDONLY)
    size = os.fstat(fd).st_size
    parts = max(jobs, -(-size // parallel.SLICE_BYTES))
    ranges = split(fd, size, parts, parallel.first_weight(size, parts))
    t0 = parallel._first_t(fd, size)
    os.close(fd)
    assert t0 is not None
    split_s = time.process_time() - t
    folds, sizes, pickling = [], [], 0.0
    slices = []
    for i, (a, b) in enumerate(ranges):
        t = time.process_time()
        got = parallel._fold_range((log, a, b, False, t0, ranges[i - 1][0] if i else 0))
        folds.append(time.process_time() - t)
        t = time.process_time()
        blob = pickle.dumps(got)
        slices.append(pickle.loads(blob))
        pickling += time.process_time() - t
        sizes.append(len(blob))
    t = time.process_time()
    m = slices[0].metrics
    placed = 0
    for got in slices[1:]:
        merged = merge(m, got.metrics)
        placed += merged is not None
        m = merged if merged is not None else m
    merge_s = time.process_time() - t
    return {
        "split_s": split_s,
        "range_fold_s_first": folds[0],
        "range_fold_s_others_max": max(folds[1:]),
        "range_bytes_first": ranges[0][1] - ranges[0][0],
        "range_bytes_others_max": max(b - a for a, b in ranges[1:]),
        "partial_bytes_max": max(sizes),
        "pickling_s": pickling,
        "merge_s": merge_s,
        "ranges": len(ranges),
        "placed": placed,
    }


def floors(log: str, work: str, jobs: int) -> dict[str, float]:
    """CPU seconds of each part of ``stats`` on its own: what it would cost with the rest
    of runreel's code removed (starting the workers: wall seconds; medians of three)."""
    out: dict[str, float] = {}
    tiny = os.path.join(work, "tiny.jsonl")
    with open(log, "rb") as src, open(tiny, "wb") as dst:
        dst.write(b"".join(src.readline() for _ in range(3)))
    startup = []
    for _ in range(3):
        timed([*runreel(), "stats", tiny, "--json", "--jobs", "1"])
        startup.append(CPU["1"])
    out["startup_cpu_s"] = statistics.median(startup)
    spawn = []
    for _ in range(3):
        t = time.perf_counter()
        with ProcessPoolExecutor(jobs, mp_context=parallel._context()) as pool:
            [f.result() for f in [pool.submit(os.getpid) for _ in range(jobs)]]
        spawn.append(time.perf_counter() - t)
    out["spawn_s"] = statistics.median(spawn)

    def chunks() -> Any:
        fd = os.open(log, os.O_RDONLY)
        pending = b""
        while data := os.read(fd, CHUNK):
            buf = pending + data if pending else data
            cut = buf.rfind(b"\n") + 1
            yield buf[:cut]
            pending = buf[cut:]
        os.close(fd)

    t = time.process_time()
    fd = os.open(log, os.O_RDONLY)
    while os.read(fd, CHUNK):
        pass
    os.close(fd)
    out["read_s"] = time.process_time() - t
    t = time.process_time()
    lines = sum(c.count(b"\n") for c in chunks())
    out["read_cut_count_s"] = time.process_time() - t
    t = time.process_time()
    events = sum(len(codec.decode_chunk(c) or ()) for c in chunks())
    out["read_decode_s"] = time.process_time() - t
    t = time.process_time()
    parallel.fold_sequential(log)
    out["sequential_fold_s"] = time.process_time() - t
    out["fold_only_s"] = out["sequential_fold_s"] - out["read_decode_s"]
    assert events == lines, "the bench log has no blank or bad lines"
    return out


def threshold(work: str, jobs: int, sizes: list[int]) -> list[tuple[int, float, float]]:
    """(MiB, stats speedup, cold index build speedup) of ``--jobs N`` over ``--jobs 1`` on
    logs of ``sizes`` MiB, medians of three rounds, each side by side."""
    out = []
    for mib in sizes:
        log = os.path.join(work, f"t{mib}.jsonl")
        generate(log, int(mib * 2**20 / BYTES_PER_EVENT))
        ratios: dict[str, list[float]] = {"stats": [], "index": []}
        for r in range(3):
            for key, head in (("stats", ["stats"]), ("index", ["snapshot"])):
                tail = ["--json"] if key == "stats" else ["--at", "50%"]
                walls = []
                for jobs_ in ("1", str(jobs)):
                    copy = fresh_copy(log, work, 300 + r)
                    walls.append(timed([*runreel(), *head, copy, *tail, "--jobs", jobs_])[0])
                    for leftover in (copy, copy + ".runreel-index"):
                        if os.path.exists(leftover):
                            os.unlink(leftover)
                ratios[key].append(walls[0] / walls[1])
        out.append((mib, statistics.median(ratios["stats"]), statistics.median(ratios["index"])))
        os.unlink(log)
    return out


BYTES_PER_EVENT = 136  # of bench/fold_write.py's log (408,608,001 bytes for 3M events)


def peak_rss(log: str, work: str, jobs: int) -> float:
    """MiB: the largest peak RSS of the ``stats`` process and its workers."""
    copy = fresh_copy(log, work, 99)
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    cmd = [sys.executable, "-c", probe, *runreel(), "stats", copy, "--json", "--jobs", str(jobs)]
    kib = int(subprocess.run(cmd, capture_output=True, check=True).stdout)
    os.unlink(copy)
    return kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--quick", action="store_true", help="600k events, one round")
    parser.add_argument("--jobs", type=int, default=2, help="N of --jobs N [default: 2]")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log", help="the generated log, kept and reused when it exists")
    parser.add_argument(
        "--threshold",
        nargs="?",
        const="4,8,16,32,64",
        help="also time --jobs 1 and N on logs of these MiB [default: 4,8,16,32,64]",
    )
    args = parser.parse_args()
    events = 600_000 if args.quick else args.events
    repeat = 1 if args.quick else args.repeat
    work = tempfile.mkdtemp(prefix="runreel-bench-")
    try:
        log = args.log or os.path.join(work, "run.jsonl")
        if not os.path.exists(log):
            generate(log, events)
        size = os.path.getsize(log)
        n = args.jobs
        cores = parallel.usable_cores()
        load = [os.getloadavg()[0]]
        r = rounds(log, work, events, n, repeat)
        med = {k: statistics.median(v) for k, v in r.items() if v}
        rss = {jobs: peak_rss(log, work, jobs) for jobs in (n, 1)}
        parts = floors(log, work, n)
        phases = where_time_goes(log, n)
        sizes = (
            threshold(work, n, [int(x) for x in args.threshold.split(",")])
            if args.threshold
            else []
        )
        load.append(os.getloadavg()[0])
        loads = f"load average {load[0]:.1f} at start, {load[1]:.1f} at end"
        print(f"log: {events:,} events, {size / 2**20:.0f} MiB; usable cores: {cores}; {loads}")
        print("\nratios (this run, medians of the rounds):")
        print(f"  stats --jobs {n} / --jobs 1: {med['speedup']:.2f}x (target >= 1.7x), same JSON")
        print(f"  cold index build (snapshot --at 50%), --jobs {n} / --jobs 1: ", end="")
        print(f"{med['index_speedup']:.2f}x (> 1: the parallel build pays)")
        if "duckdb" in med:
            import duckdb

            v = med["vs_duckdb"]
            print(f"  runreel --jobs {n} rate / DuckDB {duckdb.__version__} rate: {v:.2f}", end="")
            print(f" (target >= 0.6; to pass DuckDB runreel needs {1 / v:.1f}x its rate)")
            need = med["duckdb"] / 0.6
            floor = med["floor_decode"] + med["floor_startup"]
            print(f"  0.6 of DuckDB's rate: stats --jobs {n} in {need:.2f} s; its floor ", end="")
            print(f"(start-up + {n} processes reading and decoding) is {floor:.2f} s, ", end="")
            verdict = "out of reach" if floor >= need else f"{need - floor:.2f} s left for the fold"
            print(f"{floor / need:.2f} of that: {verdict}")
        else:
            print("  DuckDB: not installed (pip install -e '.[bench]'), skipped")
        print(f"  peak RSS, largest process of stats --jobs {n}: {rss[n]:.0f} MiB (target <= 100)")
        print("\nwhole processes (medians, wall):")
        for key, label in (("jobs1", "stats --jobs 1"), ("jobsN", f"stats --jobs {n}")):
            print(f"  {label}: {med[key]:.2f} s ({events / med[key] / 1e6:.2f}M events/s)")
        print(f"  cold index build, --jobs 1 and --jobs {n}: ", end="")
        print(f"{med['index1']:.2f} s and {med['indexN']:.2f} s")
        print(f"  CPU of the process tree, stats --jobs 1 and {n}: ", end="")
        print(f"{med['cpu1']:.2f} s and {med['cpuN']:.2f} s")
        print(f"  CPU of the process tree, cold index build --jobs 1 and {n}: ", end="")
        print(f"{med['cpu_index1']:.2f} s and {med['cpu_indexN']:.2f} s")
        if "duckdb" in med:
            rate = events / med["duckdb"] / 1e6
            print(f"  DuckDB, {n} threads: {med['duckdb']:.2f} s ({rate:.2f}M events/s)")
        print(f"  peak RSS, stats --jobs 1: {rss[1]:.0f} MiB")
        print(f"  floors: {n} processes that read their range and decode every line: ", end="")
        print(f"{med['floor_decode']:.2f} s; reading only: {med['floor_read']:.2f} s; ", end="")
        print(f"start-up (stats of a 3-line log): {med['floor_startup']:.2f} s; ", end="")
        print("decoding and the least fold (newest time, seq check, tasks in flight): ", end="")
        print(f"{med['floor_least']:.2f} s")
        above = med["jobsN"] - med["floor_decode"] - med["floor_startup"]
        print(f"  stats --jobs {n} above its floor (the fold, workers, merge, output): ", end="")
        print(f"{above:.2f} s ({above / med['jobsN']:.0%} of its wall time)")
        print("\nfloors (this process; CPU s unless wall):")
        print(json.dumps({k: round(v, 3) for k, v in parts.items()}, indent=1))
        print(f"where --jobs {n} spends its time (in this process, one phase after another):")
        print(json.dumps({k: round(v, 3) for k, v in phases.items()}, indent=1))
        path = parts["startup_cpu_s"] + phases["split_s"] + parts["spawn_s"] + phases["pickling_s"]
        path += phases["merge_s"] + max(
            phases["range_fold_s_first"], phases["range_fold_s_others_max"]
        )
        whole = parts["startup_cpu_s"] + parts["sequential_fold_s"]
        print(f"  critical path of --jobs {n} on free cores: {path:.2f} s; of --jobs 1: ", end="")
        print(f"{whole:.2f} s; bound on the speedup: {whole / path:.2f}x")
        for mib, st, ix in sizes:
            print(f"threshold: {mib} MiB: stats {st:.2f}x, cold index build {ix:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the copies (and the log, unless --log)


if __name__ == "__main__":
    main()
