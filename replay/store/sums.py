"""Per-bucket sums of a running-total table (``busy``, ``failure_times``), in a few seeks.

A bucket of a view's bar is ``CAST((t - start) / span * n AS INTEGER)``, clamped to
0 .. n-1. With rows in time order, a running total read at the first time of each
bucket gives every bucket's sum: n - 1 index seeks, however many rows. Tables whose
rows came out of order (``ordered`` = 0) are summed row by row instead.
"""

from __future__ import annotations

import math
import sqlite3

# table: (time, running total, the order rows were written in)
_COLUMNS = {
    "busy": ("start_t", "cum", "k"),
    "waits": ("end_t", "cum", "rowid"),
    "failure_times": ("t", "k", "rowid"),
}
_RAW = "CAST(({time} - :start) / :span * :n AS INTEGER)"


def thresholds(start: float, span: float, n: int) -> list[float]:
    """For b in 1 .. n-1, the least time whose bucket is b or more (to the last bit, so
    that a seek agrees with the bucket SQLite computes)."""

    def raw(t: float) -> int:
        return int((t - start) / span * n)

    out = []
    for b in range(1, n):
        x = start + b * span / n
        while raw(x) >= b:
            x = math.nextafter(x, -math.inf)
        while raw(x) < b:
            x = math.nextafter(x, math.inf)
        out.append(x)
    return out


def bucket_sums(
    conn: sqlite3.Connection,
    table: str,
    key: str,
    value: str,
    *,
    ordered: bool,
    total: float,
    bounds: list[float],
    start: float,
    span: float,
) -> list[float]:
    """The sum of each of the n buckets of ``table``'s rows for ``key`` = ``value``.

    ``busy``: seconds by start (running total ``cum``); ``waits``: seconds by the end
    of the retry; ``failure_times``: failures by end (running count ``k``)."""
    n = len(bounds) + 1
    if ordered and not total:  # a running total of nothing: every bucket is empty
        return [0.0] * n
    time, running, order = _COLUMNS[table]
    if not ordered:
        out = [0.0] * n
        # Each row's own share: its running total less the one before it.
        rows = (
            f"SELECT {time}, {running} - coalesce(lag({running}) OVER (ORDER BY {order}), 0) "
            f"AS s FROM {table} WHERE {key} = :v"
        )
        for b, s in conn.execute(
            f"SELECT {_RAW.format(time=time)}, sum(s) FROM ({rows}) GROUP BY 1",
            {"start": start, "span": span, "n": n, "v": value},
        ):
            out[min(max(b, 0), n - 1)] += s
        return out
    values = ",".join(["(?,?)"] * len(bounds))
    before = [
        0.0 if c is None else c
        for (_, c) in conn.execute(
            f"WITH b(i, x) AS (VALUES {values}) SELECT i, (SELECT {running} FROM {table} "
            f"WHERE {key} = ? AND {time} < b.x ORDER BY {time} DESC, {running} DESC LIMIT 1) "
            "FROM b ORDER BY i",
            [v for i, x in enumerate(bounds) for v in (i, x)] + [value],
        )
    ]
    marks = [0.0, *before, total]
    return [marks[i + 1] - marks[i] for i in range(n)]
