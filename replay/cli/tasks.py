"""``runreel tasks``: every task in its final state, filtered and sorted."""

from __future__ import annotations

import sqlite3
from typing import Any

import click

from recorder.location import Location
from replay.cli.options import lenient_option, log_argument, warn
from replay.cli.postmortem import (
    answering,
    at_option,
    echo_json_array,
    echo_text,
    json_option,
    seconds,
    when,
)
from replay.core.text import safe, worker_name
from replay.core.when import When
from replay.store import queries


@click.command()
@log_argument
@click.option("--status", type=click.Choice(queries.STATUSES), help="Only tasks in this state.")
@click.option("--worker", help="Only tasks whose latest attempt ran on this worker.")
@click.option(
    "--grep",
    "grep",
    metavar="TEXT",
    help="Only tasks whose id, or the error of any attempt, holds TEXT.",
)
@click.option(
    "--signature",
    metavar="SIG",
    help="Only tasks with an attempt that failed with SIG, retried or for good (as "
    "`runreel errors` prints it).",
)
@click.option(
    "--sort",
    type=click.Choice(list(queries.SORTS)),
    default="start",
    show_default=True,
    help="start, end: earliest first; duration, attempts: most first.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most N tasks (1 or more).")
@json_option
@at_option
@lenient_option
def tasks(
    log: Location,
    status: str | None,
    worker: str | None,
    grep: str | None,
    signature: str | None,
    sort: str,
    limit: int | None,
    as_json: bool,
    at: When,
    lenient: bool,
) -> int:
    """Every task of LOG: status, worker, attempts, times, duration and last error."""
    with answering(log, at, lenient) as answer:
        rows = queries.tasks(
            answer.conn,
            status=status,
            worker=worker,
            grep=grep,
            signature=signature,
            sort=sort,
            limit=limit,
        )
        if as_json:
            echo_json_array(rows)
        else:
            found = list(rows)
            echo_text(text(found, queries.first_t(answer.conn)))
            if not found and worker is not None and not _ran_on(answer.conn, worker):
                warn([f"no attempt ran on a worker named {safe(worker, limit=60)!r}"])
    return 0


def _ran_on(conn: sqlite3.Connection, worker: str) -> bool:
    """Whether the store has an attempt of ``worker`` (so no tasks means none matched)."""
    found = conn.execute("SELECT 1 FROM attempts WHERE worker = ? LIMIT 1", (worker,))
    return found.fetchone() is not None


def text(rows: list[dict[str, Any]], first: float | None) -> str:
    if not rows:
        return "no tasks\n"
    table = [("TASK", "STATUS", "WORKER", "ATT", "STARTED", "DURATION", "ERROR")]
    for r in rows:
        table.append(
            (
                safe(r["task"], limit=60),
                r["status"],
                worker_name(r["worker"], limit=30),
                str(r["attempts"]),
                when(r["start_t"], first),
                seconds(r["duration_s"]),
                safe(r["error"] or "", limit=100),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in table
    ]
    return "".join(line.rstrip() + "\n" for line in lines)
