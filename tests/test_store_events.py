"""Event numbers in the store (``start_n``, ``end_n``, ``n``): the full store answers "as
of event N" as the fold and a store built up to N do."""

from __future__ import annotations

import random
import sqlite3
from itertools import islice
from pathlib import Path

import pytest
from test_store import story, write

from replay.core.fold import fold
from replay.sources.file import read_batches
from replay.store.access import build_to

Known = set[tuple[str, int, int]]


def attempts(conn: sqlite3.Connection, where: str, n: int) -> Known:
    return set(conn.execute(f"SELECT task, attempt, start_n FROM attempts WHERE {where}", (n,)))


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_rows_up_to_event_n_are_what_the_fold_and_a_store_up_to_n_know(
    tmp_path: Path, seed: int
) -> None:
    log = write(tmp_path / "run.jsonl", story(seed, 300))
    events = [e for batch in read_batches(str(log)) for e in batch]
    build_to(str(log), str(tmp_path / "full.sqlite"))
    full = sqlite3.connect(tmp_path / "full.sqlite")
    rng = random.Random(seed)
    for n in sorted({*rng.sample(range(len(events)), 12), 0, len(events) - 1}):
        m = fold(islice(events, n + 1))  # the fold at position n: events 0 .. n
        assert m.events == n + 1
        part = tmp_path / f"at{n}.sqlite"
        build_to(str(log), str(part), events=n + 1)
        upto = sqlite3.connect(part)

        def count(sql: str, n: int = n) -> int:
            return int(full.execute(sql, (n,)).fetchone()[0])

        known = {t for (t,) in full.execute("SELECT task FROM tasks WHERE start_n <= ?", (n,))}
        assert known == {t for (t,) in upto.execute("SELECT task FROM tasks")}
        assert len(known) == m.succeeded + m.failed + m.skipped + len(m.in_flight)
        ended = "SELECT count(*) FROM tasks WHERE status = '{}' AND end_n <= ?"
        assert count(ended.format("succeeded")) == m.succeeded
        assert count(ended.format("skipped")) == m.skipped
        assert count("SELECT count(*) FROM marks WHERE n <= ?") == m.mark_count
        assert attempts(full, "start_n <= ?", n) == attempts(upto, "? >= 0", n)
        assert attempts(full, "end_n <= ?", n) == attempts(upto, "end_n <= ?", n)
        for table in ("marks", "logs"):
            rows = f"SELECT n, t FROM {table} WHERE n <= ? ORDER BY n"
            assert full.execute(rows, (n,)).fetchall() == upto.execute(rows, (n,)).fetchall()
        upto.close()
    # the numbers are the log's own, from 0: the first event is n = 0
    (first,) = full.execute("SELECT min(start_n) FROM tasks").fetchone()
    starts = [i for i, e in enumerate(events) if getattr(e, "task", None) is not None]
    assert first == starts[0]
    full.close()


def test_an_unfinished_task_has_no_end_n(tmp_path: Path) -> None:
    events = story(7, 200)[:-1]  # no run_finished: tasks are still open
    log = write(tmp_path / "run.jsonl", events)
    build_to(str(log), str(tmp_path / "s.sqlite"))
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    open_ = conn.execute(
        "SELECT count(*), count(end_n) FROM tasks WHERE status IN ('running', 'backoff')"
    ).fetchone()
    assert open_[0] > 0 and open_[1] == 0
    (ended,) = conn.execute(
        "SELECT count(*) FROM tasks WHERE status IN ('succeeded', 'failed', 'skipped') "
        "AND end_n IS NULL"
    ).fetchone()
    assert ended == 0
