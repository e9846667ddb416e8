"""Issue 15: what the views' store costs the live viewer per event.

Run from the repository root (not a test; every figure comes from this run):

    python bench/live_store.py                     # 100k events caught up, 200k fed, 5 times
    python bench/live_store.py --quick             # 100k fed, 3 times
    python bench/live_store.py --baseline ../old   # and DIR's code (a checkout of an older
                                                   # commit), with its stores compared
    python bench/live_store.py --shape seek        # bench/seek.py's heavier log instead

While a post-mortem view is open, ``runreel live`` writes every event it folds into the
views' store: ``MovingStore.add`` takes each poll's events and ``MovingStore.conn`` writes
them when the view next reads (``Builder`` -> SQLite). This is that path on the live
load's shape (``live_load``: 16 workers, tasks that start and succeed): a log of the
first ``--caught-up`` events, the store started from it as the session does when the
view opens (``MovingStore.start``: a first build), then ``--fed`` more events given to
``add`` and written by ``conn`` in ``--batch``-event batches. The figure is the CPU time
(``time.process_time``) of those calls per fed event, the least of ``--repeat`` runs,
each in a fresh process with the code's directory first on ``sys.path``; at 10,000
events/s, 1 us per event is 1 % of a core. The lines:

- this checkout, and ``--baseline DIR``'s code, measured alternately in the same run;
- this checkout's lean store (``store.lean``: without the workers' figures), the one a
  live session writes while any view but the workers view is shown;
- the floors, made of the same rows already built as tuples (no Python per event), in
  the same batches, one transaction each, no journal: the ``tasks`` and ``busy`` rows
  alone (no index, no key), and the same rows with the schema's indexes and keys.

With ``--baseline``, the stores the two codes build are compared too (``sorted(iterdump())``
of each, its SHA-256): a first build of the whole log (``runreel index``'s builder) and a
first build of a third extended in ``--batch``-event batches (the live path), and a
kept store of a third extended by ``runreel index`` when the log grew, of every
fixture log (read with ``--lenient``), a 300,000-event log of bench/seek.py's generator
and the live shape's log. Any difference is printed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Shared by the children: the live load's events (as ``live_load.LOAD_WRITER`` writes them).
_EVENTS = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from recorder import codec
from recorder.events import RunStarted, TaskStarted, TaskSucceeded

def live_events(n, t0=1.7e9, rate=10_000.0):
    out = [RunStarted(t=t0, src="1-live", seq=1, v=1, run="r", name="live", total=10**6)]
    task = 0
    for i in range(n):
        w, t = f"load-w{task % 16:02d}", t0 + (i + 1) / rate
        if i % 2 == 0:
            out.append(TaskStarted(t=t, src="1-live", seq=i + 2, task=f"load-{task}", worker=w))
        else:
            out.append(TaskSucceeded(t=t, src="1-live", seq=i + 2, task=f"load-{task}", worker=w))
            task += 1
    return out
"""

# argv: root, log, caught_up, fed, batch, whole (1: the store every view reads, as an
# older checkout builds it; 0: lean, without the workers' figures: ``store.lean``),
# shape (live: the live load's events, written to ``log``; seek: ``log``'s own events)
_LIVE = (
    _EVENTS
    + r"""
from replay.sources.file import read_batches
from replay.store.moving import MovingStore
log, caught, fed, batch, whole = sys.argv[2], *map(int, sys.argv[3:7])
if sys.argv[7] == "live":
    events = live_events(caught + fed)
    with open(log, "wb") as f:
        f.write(codec.encode_all(events[:caught]))
else:
    events = [e for b in read_batches(log) for e in b][: caught + fed]
    fed = len(events) - caught
store = MovingStore(log)
conn = store.start(caught) if whole else store.start(caught, whole=False)
began = time.process_time()
for i in range(caught, caught + fed, batch):
    store.add(events[i : i + batch])
    store.conn
spent = time.process_time() - began
assert store.events == caught + fed, store.events
store.close()
print(spent / fed * 1e6)
"""
)

# argv: root, path, caught_up, fed, batch, indexed (0: bare rows; 1: the schema's indexes)
_FLOOR = (
    _EVENTS
    + r"""
from replay.store import schema
from replay.store.keep import new_store
from replay.store.rows import PLAIN
from replay.store.summary import insert
path, caught, fed, batch, indexed = sys.argv[2], *map(int, sys.argv[3:7])
conn = new_store(path)  # no journal
if not indexed:
    conn.execute("DROP TABLE busy")
    conn.execute("CREATE TABLE busy (worker TEXT, start_t REAL, cum REAL, k INTEGER)")
conn.execute("COMMIT")
if indexed:
    schema.index(conn)

def rows(lo, hi):  # the rows the builder writes for events lo .. hi (tasks lo/2 .. hi/2)
    tasks = [(f"load-{i}", f"load-w{i % 16:02d}", 1.7e9 + (2 * i + 1) / 1e4,
              1.7e9 + (2 * i + 2) / 1e4, 2 * i + 2, 2 * i + 3) for i in range(lo // 2, hi // 2)]
    busy = [(w, s, (i + 1) * 1e-4, i // 16 + 1) for i, (_, w, s, _, _, _) in
            enumerate(tasks, lo // 2)]
    return tasks, busy

def write(tasks, busy):
    conn.execute("BEGIN")
    insert(conn, PLAIN[0], PLAIN[1], tasks)
    insert(conn, "INSERT INTO busy", 4, busy)
    conn.execute("COMMIT")

write(*rows(0, caught))
made = [rows(i, i + batch) for i in range(caught, caught + fed, batch)]
began = time.process_time()
for tasks, busy in made:
    write(tasks, busy)
spent = time.process_time() - began
conn.close()
print(spent / fed * 1e6)
"""
)

# argv: root, log, out, batch: three stores of the log, their sorted dumps' digests (JSON)
_DUMP = r"""
import hashlib, json, os, sqlite3, sys
sys.path.insert(0, sys.argv[1])
from replay.sources.file import read_batches
from replay.store.access import build_to
from replay.store.moving import MovingStore
log, out, batch = sys.argv[2], sys.argv[3], int(sys.argv[4])

def digest(conn, skip=None):
    lines = sorted(x for x in conn.iterdump() if not (skip and x.startswith(skip)))
    return [len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()]

path = os.path.join(out, "whole.sqlite")
build_to(log, path, lenient=True)
conn = sqlite3.connect(path)
found = {"first build": digest(conn)}
conn.close()
os.unlink(path)
events = [e for b in read_batches(log, lenient=True) for e in b]
store = MovingStore(log, lenient=True)
at = len(events) // 3
store.start(at)
for i in range(at, len(events), batch):
    store.add(events[i : i + batch])
    store.conn
found["extended"] = digest(store.conn)
store.close()
# ``runreel index`` on a log that grew: the kept store extended (its meta: this file's)
from replay.index.store import load_or_build
from replay.store.keep import fresh_store
grown = os.path.join(out, "grown.jsonl")
with open(log, "rb") as f:
    lines = f.read().splitlines(keepends=True)
with open(grown, "wb") as f:
    f.write(b"".join(lines[: len(lines) // 3]))
load_or_build(grown, persist=True, store=True, lenient=True)
with open(grown, "ab") as f:
    f.write(b"".join(lines[len(lines) // 3 :]))
load_or_build(grown, persist=True, store=True, lenient=True)
conn = sqlite3.connect(fresh_store(grown, True))
found["index extended"] = digest(conn, skip='INSERT INTO "meta"')
conn.close()
for name in os.listdir(out):
    if name.startswith("grown"):
        os.unlink(os.path.join(out, name))
print(json.dumps(found))
"""


def child(code: str, args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"a measurement failed:\n{done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def measure(args: argparse.Namespace, work: str) -> dict[str, float]:
    """The least CPU us per fed event of each line, measured alternately."""
    sizes = [str(args.caught_up), str(args.fed), str(args.batch)]
    if args.shape == "live":
        log = os.path.join(work, "live.jsonl")
    else:
        log = os.path.join(work, f"seek-{args.caught_up + args.fed}.jsonl")
        generate(log, args.caught_up + args.fed)
    lines: dict[str, tuple[str, list[str]]] = {
        "this checkout": (_LIVE, [str(ROOT), log, *sizes, "1", args.shape])
    }
    if args.baseline:
        lines["baseline"] = (_LIVE, [args.baseline, log, *sizes, "1", args.shape])
    lines["this checkout, lean"] = (_LIVE, [str(ROOT), log, *sizes, "0", args.shape])
    store = os.path.join(work, "floor.sqlite")
    if args.shape == "live":  # the rows the live load makes
        lines["floor: the rows alone"] = (_FLOOR, [str(ROOT), store, *sizes, "0"])
        lines["floor: the rows with the indexes"] = (_FLOOR, [str(ROOT), store, *sizes, "1"])
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, (code, argv) in lines.items():
            if os.path.exists(store):
                os.unlink(store)
            us = float(child(code, argv))
            best[name] = min(us, best.get(name, us))
    return best


def logs(work: str) -> list[str]:
    """The logs whose stores are compared: the fixtures, bench/seek.py's, the live shape's."""
    out = sorted(str(p) for p in (ROOT / "fixtures").glob("*.jsonl"))
    out = [p for p in out if not p.endswith("future_version.jsonl")]  # unreadable: no store
    seek = os.path.join(work, "seek-300000.jsonl")
    if not os.path.exists(seek):
        generate(seek, 300_000)
    live = os.path.join(work, "live-300000.jsonl")
    child(
        _EVENTS + "open(sys.argv[2], 'wb').write(codec.encode_all(live_events(300_000)))\n"
        "print('ok')",
        [str(ROOT), live],
    )
    return [*out, seek, live]


def generate(log: str, events: int) -> None:
    """bench/seek.py's log of ``events`` events at ``log`` (in a child: this checkout)."""
    code = f"import sys\nsys.path.insert(0, {str(HERE)!r})\nfrom seek import generate\n"
    child(code + "generate(sys.argv[1], int(sys.argv[2]))\nprint('ok')", [log, str(events)])


def compare(args: argparse.Namespace, work: str) -> list[str]:
    """The logs and builds whose stores differ between this checkout and the baseline."""
    differ = []
    for log in logs(work):
        found = []
        for root in (str(ROOT), args.baseline):
            found.append(json.loads(child(_DUMP, [root, log, work, str(args.batch)])))
        for build, (n, digest) in found[0].items():
            if found[1][build] != [n, digest]:
                differ.append(f"{os.path.basename(log)} ({build})")
    return differ


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100k events fed, 3 runs of each")
    p.add_argument("--baseline", metavar="DIR", help="also measure DIR's code; compare stores")
    p.add_argument("--caught-up", type=int, default=100_000, help="events in the log (100k)")
    p.add_argument("--fed", type=int, default=None, help="events fed after (200k; quick 100k)")
    p.add_argument("--batch", type=int, default=10_000, help="events per write (10k)")
    p.add_argument("--repeat", type=int, default=None, help="runs of each (5; quick 3)")
    p.add_argument(
        "--shape",
        choices=["live", "seek"],
        default="live",
        help="live: the live load's events (default); seek: bench/seek.py's log (64 "
        "workers, retries, failures, log lines; no floors)",
    )
    a = p.parse_args()
    a.fed = a.fed or (100_000 if a.quick else 200_000)
    a.repeat = a.repeat or (3 if a.quick else 5)
    if a.baseline:
        a.baseline = str(Path(a.baseline).resolve())
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="runreel-live-store-") as work:
        best = measure(a, work)
        differ = compare(a, work) if a.baseline else None
    load = "/".join(f"{x:.1f}" for x in before) + " before, "
    load += "/".join(f"{x:.1f}" for x in os.getloadavg()) + " after"
    shape = "live shape (16 workers, tasks start and succeed)"
    if a.shape == "seek":
        shape = "bench/seek.py's log (64 workers, retries, failures, logs)"
    print(
        f"views' store, {shape}: {a.caught_up:,} "
        f"events caught up, {a.fed:,} fed in {a.batch:,}-event batches; CPU per fed event, "
        f"least of {a.repeat}"
    )
    mine = best["this checkout"]
    for name, us in best.items():
        ratio = f"  {us / mine:.2f}x this checkout" if name != "this checkout" else ""
        print(f"  {name:34} {us:5.2f} us/event  ({us:.2f} % of a core at 10k/s){ratio}")
    print(f"  load average {load} (1/5/15 min; {os.cpu_count()} CPUs)")
    if differ is None:
        return 0
    if differ:
        print("stores that differ from the baseline's: " + ", ".join(differ))
        return 1
    print("every store equals the baseline's (sorted iterdump): fixtures, seek 300k, live 300k")
    return 0


if __name__ == "__main__":
    sys.exit(main())
