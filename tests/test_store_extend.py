"""A store extended as its log grows answers every query as a store built from scratch
does, to the byte: the commands' answers and the views' pages (their running totals
are kept by the build, so an extension has to carry them on exactly)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_store import story, write

from recorder import codec
from replay.core.viewstate import ViewState
from replay.index.store import load_or_build
from replay.store import pages, queries
from replay.store.access import build_to
from replay.store.keep import fresh_store
from replay.store.queries import SORTS


def answers(conn: sqlite3.Connection) -> str:
    """Everything the commands and the views read from a store, as one JSON text."""
    out: dict[str, Any] = {"errors": queries.errors(conn), "first_t": queries.first_t(conn)}
    for sort in SORTS:
        out[f"tasks {sort}"] = list(queries.tasks(conn, sort=sort))
        out[f"failed {sort}"] = list(queries.tasks(conn, status="failed", sort=sort, limit=20))
    names = [t["task"] for t in out["tasks start"]]
    out["task"] = [queries.task(conn, name) for name in names]
    start = queries.first_t(conn)
    assert start is not None
    (last,) = conn.execute("SELECT max(coalesce(end_t, start_t)) FROM attempts").fetchone()
    (whole,) = conn.execute("SELECT value FROM meta WHERE key = 'last_t'").fetchone()
    for now in (last, last + 7.5, start + (last - start) / 3, whole):
        out[f"groups {now}"] = pages.groups(conn, start, now)
        out[f"lanes {now}"] = pages.lanes(conn, start, now)
    for column in ("worker", "signature"):
        for (value,) in conn.execute(f"SELECT DISTINCT {column} FROM attempts ORDER BY 1"):
            out[f"work {column} {value}"] = pages.work(conn, column, value)
    out["page"] = pages.tasks(conn, ViewState(view="tasks"))
    out["counts"] = pages.counts(conn)
    out["marks"] = pages.marks(conn)
    out["logs"] = pages.logs(conn, ViewState(view="log"))
    return json.dumps(out, default=repr, sort_keys=True)


@pytest.mark.parametrize("cuts", [(0.3,), (0.1, 0.5, 0.8), (0.6, 0.95)])
def test_an_extended_store_answers_as_one_built_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cuts: tuple[float, ...]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    events = story(11, 900)
    log = tmp_path / "run.jsonl"
    at = int(len(events) * cuts[0])
    write(log, events[:at])
    load_or_build(str(log), persist=True, store=True)
    for cut in [*cuts[1:], 1.0]:
        upto = int(len(events) * cut)
        with open(log, "ab") as f:  # the log grows: the store is extended, not rebuilt
            f.write(codec.encode_all(events[at:upto]))
        at = upto
        load_or_build(str(log))
    extended = fresh_store(str(log), False)
    assert extended is not None
    build_to(str(log), str(tmp_path / "whole.sqlite"))
    got, want = sqlite3.connect(extended), sqlite3.connect(tmp_path / "whole.sqlite")
    (rows,) = got.execute("SELECT count(*) FROM tasks").fetchone()
    assert rows == want.execute("SELECT count(DISTINCT task) FROM tasks").fetchone()[0]
    assert answers(got) == answers(want)
    counted = "SELECT status, count(*) FROM tasks GROUP BY status ORDER BY 1"
    assert pages.counts(got) == tuple(got.execute(counted))
