"""The lists' tables: one frame of the tasks and workers views, laid out by ``grid`` and by
rich's ``Table``, in the same run.

Run from the repository root (not a test; every figure comes from this run):

    python bench/tables.py             # 200 frames per case
    python bench/tables.py --frames 50

Each case reads a view's record from a fixture's store at the log's end (or a position)
and draws the whole screen of that view at 120x40, as a snapshot does, from nothing (no
kept lines); the figure is the median CPU time per frame. "rich" draws the same tables
through rich's ``Table`` (what ``grid`` falls back to when a table does not fit: the
views drew every table that way before), so the ratio is fair on a busy machine.
``fixtures/many_workers.jsonl`` has 64 workers; ``postmortem`` 6 workers and 240 tasks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from replay.core.views import kept, stack
from replay.core.views.grid import Grid
from replay.core.views.postmortem import page
from replay.core.viewstate import ViewState
from replay.core.when import parse_when
from replay.index.position import fold_at
from replay.outputs.snapshot import capture_console
from replay.store.pages import record_at

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("many_workers", "end", "workers"),
    ("postmortem", "end", "workers"),
    ("postmortem", "end", "tasks"),
    ("postmortem", "50%", "tasks"),
]


@contextmanager
def through_rich() -> Iterator[None]:
    """Every ``Grid`` drawn by rich's ``Table``, as when it does not fit."""
    with mock.patch.object(Grid, "widths", lambda self, width: None):
        yield


def per_frame(log: str, at: str, view: str, frames: int) -> float:
    """Median CPU seconds of one frame of ``view`` at 120x40, drawn from nothing."""
    frame = fold_at(log, parse_when(at))
    state = ViewState(view=view)
    record = record_at(log, parse_when(at), state, frame.now)
    times = []
    for _ in range(frames):
        console = capture_console(120, 40, color=True)
        stack.forget()
        kept.forget()
        start = time.process_time()
        console.print(page(state, frame.metrics, frame.now, record), height=40)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    a = ap.parse_args()
    print(f"one frame at 120x40, median of {a.frames} (CPU ms); Python {sys.version.split()[0]}")
    print(f"{'log @ position: view':34} {'grid':>8} {'rich':>8} {'ratio':>7}")
    for name, at, view in CASES:
        log = str(ROOT / "fixtures" / f"{name}.jsonl")
        grid_ms = per_frame(log, at, view, a.frames) * 1000
        with through_rich():
            rich_ms = per_frame(log, at, view, a.frames) * 1000
        label = f"{name} @ {at}: {view}"
        print(f"{label:34} {grid_ms:8.2f} {rich_ms:8.2f} {grid_ms / rich_ms:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
