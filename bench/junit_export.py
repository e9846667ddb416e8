"""``runreel export --format junit`` on a big run: time and peak memory, against
``runreel tasks --json`` (every task read from the same store) measured in the same run.

Run from the repository root (not a test; every figure comes from this run):

    python bench/junit_export.py            # 300,000 tasks on 16 workers
    python bench/junit_export.py --quick    # 20,000 tasks

The log has one retried attempt in 50 tasks and one failure in 97, each with a
traceback. The index and the store are built first (``runreel index``), so both
commands read a warm store; each runs in a fresh process, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seek import runreel  # noqa: E402

from recorder.writer import Recorder  # noqa: E402


def write_log(path: str, tasks: int) -> None:
    with Recorder(path, name="bench junit", total=tasks) as rec:
        for i in range(tasks):
            task, worker = f"task-{i:07d}", f"w{i % 16:02d}"
            rec.task_started(task, worker=worker)
            if i % 50 == 0:
                rec.retry(task, worker=worker, error="TimeoutError: slow", detail="trace\n" * 5)
                rec.task_started(task, worker=worker, attempt=2)
            if i % 97 == 0:
                rec.failed(task, worker=worker, error=f"ValueError: {i}", detail="tb\n" * 10)
            else:
                rec.succeeded(task, worker=worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 tasks")
    parser.add_argument("--tasks", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    tasks = opts.tasks or (20_000 if opts.quick else 300_000)
    with tempfile.TemporaryDirectory(prefix="runreel-bench-junit-") as tmp:
        log, out = os.path.join(tmp, "run.jsonl"), os.path.join(tmp, "junit.xml")
        write_log(log, tasks)
        env = {**os.environ, "XDG_CACHE_HOME": os.path.join(tmp, "cache")}
        runreel(["index", log], env, tmp)
        rows = {
            "tasks --json (baseline)": ["tasks", log, "--json"],
            "export --format junit": ["export", log, "--format", "junit", "-o", out],
        }
        best = {}
        for label, args in rows.items():
            runs = [runreel(args, env, tmp) for _ in range(opts.repeat)]
            best[label] = min(r.seconds for r in runs)
            peak = max(r.peak for r in runs) / 2**20
            print(f"{label:26} {best[label]:7.2f} s  peak {peak:7.1f} MiB")
        size = os.path.getsize(out) / 2**20
        ratio = best["export --format junit"] / best["tasks --json (baseline)"]
        rate = tasks / best["export --format junit"]
        print(f"{tasks:,} tasks, {os.path.getsize(log) / 2**20:.0f} MiB log, {size:.0f} MiB XML")
        print(f"junit / baseline: {ratio:.2f}x the time; {rate:,.0f} tasks/s")


if __name__ == "__main__":
    main()
