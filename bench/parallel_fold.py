"""Issue 17 benchmark: the parallel fold, whole process, against one process and DuckDB.

Run from the repository root (not a test; every figure comes from this run):

    python bench/parallel_fold.py            # 3M-event log (~400 MB), 3 rounds
    python bench/parallel_fold.py --quick    # 600k events, 1 round
    pip install -e '.[bench]'                # DuckDB, for its side of the comparison

The log is bench/fold_write.py's (fixed seed: 64 workers in 16 writer processes,
retries, failures, skips, logs, marks, metrics). Each round, cold: a fresh copy of
the log (so no index from an earlier command serves), then ``runreel stats COPY
--json --jobs 1`` and ``--jobs N`` as whole processes (wall time, start-up included;
the two JSON outputs must be the same bytes), ``runreel snapshot COPY --at 50%``
with each (a cold index build: the index is written beside the copy), then DuckDB in a whole process
computing what a post-mortem asks of the same file: the count per event type, the
count per worker and outcome, and p50/p95 task durations (each task's first start
joined with its end). A ratio is the median of the rounds' ratios, each measured
side by side, so a machine shared with other work skews it less.

Then, in this process, where the time of ``--jobs N`` goes: the split, the ranges'
folds (the parallel part), the partials' size, and the merge (the serial part);
and the peak RSS of every process of ``stats --jobs N`` (the largest of the tree).
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
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fold_write import generate  # noqa: E402

from replay.core.merge import merge  # noqa: E402
from replay.index import parallel  # noqa: E402
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
    out["vs_duckdb"], out["cpu1"], out["cpuN"] = [], [], []
    out["index1"], out["indexN"], out["index_speedup"] = [], [], []
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
        os.unlink(many)
    return out


def where_time_goes(log: str, jobs: int) -> dict[str, float]:
    """The parallel fold's phases, one after the other in this process."""
    t = time.process_time()
    fd = os.open(log, os.O_RDONLY)
    size = os.fstat(fd).st_size
    ranges = split(fd, size, max(jobs, -(-size // parallel.SLICE_BYTES)), parallel.FIRST_RANGE)
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
    parallel.fold_sequential(log)
    sequential = time.process_time() - t
    t = time.process_time()
    m = slices[0].metrics
    placed = 0
    for got in slices[1:]:
        merged = merge(m, got.metrics)
        placed += merged is not None
        m = merged if merged is not None else m
    merge_s = time.process_time() - t
    serial = split_s + pickling + merge_s
    return {
        "sequential_fold_s": sequential,
        "split_s": split_s,
        "range_fold_s_each": statistics.mean(folds),
        "range_fold_s_sum": sum(folds),
        "partial_bytes_max": max(sizes),
        "pickling_s": pickling,
        "merge_s": merge_s,
        "ranges": len(ranges),
        "placed": placed,
        # what a quiet machine with a core per range would give, start-up aside
        "speedup_bound": sequential / (max(folds) + serial),
    }


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
        print(f"log: {events:,} events, {size / 2**20:.0f} MiB; usable cores: {cores}")
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        r = rounds(log, work, events, n, repeat)
        med = {k: statistics.median(v) for k, v in r.items() if v}
        for key, label in (("jobs1", "stats --jobs 1"), ("jobsN", f"stats --jobs {n}")):
            print(f"{label}: {med[key]:.2f} s ({events / med[key] / 1e6:.2f}M events/s)")
        print(f"speedup --jobs {n} / --jobs 1: {med['speedup']:.2f}x (target >= 1.7x), same JSON")
        index = f"{med['index1']:.2f} s and {med['indexN']:.2f} s"
        print(f"snapshot --at 50% (a cold index build), --jobs 1 and --jobs {n}: {index}, ")
        print(f"  speedup {med['index_speedup']:.2f}x")
        cpu = f"{med['cpu1']:.2f} s and {med['cpuN']:.2f} s"
        print(f"CPU time of the whole process tree, --jobs 1 and --jobs {n}: {cpu}")
        if "duckdb" in med:
            import duckdb

            rate = events / med["duckdb"] / 1e6
            print(
                f"DuckDB {duckdb.__version__}, {n} threads: {med['duckdb']:.2f} s ({rate:.2f}M/s)"
            )
            print(f"runreel --jobs {n} rate / DuckDB rate: {med['vs_duckdb']:.2f} (target >= 0.6)")
        else:
            print("DuckDB: not installed (pip install -e '.[bench]'), skipped")
        phases = where_time_goes(log, n)  # CPU seconds: steadier on a shared machine
        print("where --jobs N spends its time (in this process, one phase after another):")
        print(json.dumps({k: round(v, 4) for k, v in phases.items()}, indent=1))
        for jobs in (n, 1):
            mib = peak_rss(log, work, jobs)
            print(f"peak RSS, largest process of stats --jobs {jobs}: {mib:.0f} MiB")
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the copies (and the log, unless --log)


if __name__ == "__main__":
    main()
