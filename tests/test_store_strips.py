"""The workers' strips the build keeps for the run's whole span are the ones the view
would sum from the running totals, and the view reads them only for that span."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from test_store import story, write

from recorder import codec
from replay.index.store import load_or_build
from replay.store import pages, strips
from replay.store.access import build_to
from replay.store.keep import fresh_store


def _span(conn: sqlite3.Connection) -> tuple[float, float]:
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    return float(meta["first_t"]), float(meta["last_t"])


def _without_strips(path: Path, tmp: Path) -> sqlite3.Connection:
    copy = tmp / "no-strips.sqlite"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    conn.execute("DELETE FROM strips")
    conn.commit()
    return conn


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_kept_strips_are_the_summed_ones(tmp_path: Path, seed: int) -> None:
    log = write(tmp_path / "run.jsonl", story(seed, 700))
    path = tmp_path / "store.sqlite"
    build_to(str(log), str(path))
    conn = sqlite3.connect(path)
    start, last = _span(conn)
    assert strips._kept(conn, start, last) is not None  # the build kept this span
    assert strips._kept(conn, start, last + 1.0) is None  # and no other
    plain = _without_strips(path, tmp_path)
    assert strips._kept(plain, start, last) is None
    assert strips.summed(conn, start, last) == strips.summed(plain, start, last)
    assert pages.lanes(conn, start, last) == pages.lanes(plain, start, last)


def test_an_extended_store_keeps_the_strips_of_its_new_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    events = story(17, 900)
    log = tmp_path / "run.jsonl"
    write(log, events[:400])
    load_or_build(str(log), persist=True, store=True)
    first = fresh_store(str(log), False)
    assert first is not None
    (before,) = sqlite3.connect(first).execute("SELECT value FROM meta WHERE key = 'last_t'")
    with open(log, "ab") as f:
        f.write(codec.encode_all(events[400:]))
    load_or_build(str(log))
    path = fresh_store(str(log), False)
    assert path is not None
    conn = sqlite3.connect(path)
    start, last = _span(conn)
    assert last > before[0]
    assert strips._kept(conn, start, before[0]) is None  # the old span's sums are gone
    assert strips._kept(conn, start, last) is not None
    plain = _without_strips(Path(path), tmp_path)
    assert pages.lanes(conn, start, last) == pages.lanes(plain, start, last)
