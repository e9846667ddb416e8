"""The workers' strips over the whole run, summed once by the build.

A workers view's strip is each worker's busy and waiting seconds per STRIP bucket of
``start`` .. ``now``: from the running totals that is one index seek per bucket per
worker and table (some 30,000 seeks for 64 workers, about 60 ms at 10M events). The
post-mortem's usual frame is the run's whole span (a replay or a snapshot at the end,
drawn at the latest event's time), so the build sums that span once and keeps the sums;
a view drawn at any other span, or of a store without them, seeks as before.
"""

from __future__ import annotations

import sqlite3
from array import array

from replay.core.records import STRIP
from replay.store.sums import bucket_sums, thresholds

Sums = dict[str, list[float]]  # worker -> seconds per bucket


def summed(conn: sqlite3.Connection, start: float, now: float) -> tuple[Sums, Sums]:
    """Each worker's busy and waiting seconds per bucket of ``start`` .. ``now`` (over the
    attempts and waits that are over), kept by ``keep`` when it summed this span."""
    kept = _kept(conn, start, now)
    if kept is not None:
        return kept
    span = max(now - start, 1e-9)
    bounds = thresholds(start, span, STRIP)
    busy: Sums = {}
    waits: Sums = {}
    for worker, busy_s, ordered, waits_s, waits_ordered in conn.execute(
        "SELECT worker, busy_s, ordered, waits_s, waits_ordered FROM workers"
    ).fetchall():
        for into, table, total, order in (
            (busy, "busy", busy_s, ordered),
            (waits, "waits", waits_s, waits_ordered),
        ):
            into[worker] = bucket_sums(
                conn,
                table,
                "worker",
                worker,
                ordered=bool(order),
                total=total,
                bounds=bounds,
                start=start,
                span=span,
            )
    return busy, waits


def _kept(conn: sqlite3.Connection, start: float, now: float) -> tuple[Sums, Sums] | None:
    busy: Sums = {}
    waits: Sums = {}
    try:
        rows = conn.execute(
            "SELECT worker, busy, waits FROM strips WHERE start = ? AND now = ?", (start, now)
        ).fetchall()
    except sqlite3.OperationalError:  # a store of an older runreel: no such table
        return None
    if not rows:
        return None
    for worker, b, w in rows:
        busy[worker], waits[worker] = _floats(b), _floats(w)
    return busy, waits


def _floats(blob: bytes) -> list[float]:
    out = array("d")
    out.frombytes(blob)
    return out.tolist()


def keep(conn: sqlite3.Connection, start: float | None, now: float | None) -> None:
    """Sum the run's whole span (``start`` .. ``now``: the first and the latest event
    times) and keep it in ``strips``, replacing what an earlier build kept."""
    conn.execute("DELETE FROM strips")
    if start is None or now is None:
        return
    busy, waits = summed(conn, start, now)
    conn.executemany(
        "INSERT INTO strips VALUES (?, ?, ?, ?, ?)",
        [
            (w, start, now, array("d", busy[w]).tobytes(), array("d", waits[w]).tobytes())
            for w in busy
        ],
    )
