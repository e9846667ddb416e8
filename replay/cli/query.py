"""``runreel query``: read-only SQL over the post-mortem store."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import click

from recorder.location import Location
from replay.cli.options import lenient_option, log_argument
from replay.cli.postmortem import answering, at_option, echo_text
from replay.core.text import plural, safe
from replay.core.when import When
from replay.store.queries import BadQuery, run_sql


@click.command()
@log_argument
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="An array of objects, one per row.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@at_option
@lenient_option
def query(log: Location, sql: str, as_json: bool, as_csv: bool, at: When, lenient: bool) -> int:
    """Run one read-only SQL statement over the store of LOG (tables: docs/store.md).

    Statements that would write (INSERT, UPDATE, DELETE, CREATE, DROP, ATTACH, PRAGMA
    settings...) are refused with a usage error; the store is never changed.
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    if not sql.strip():
        raise click.UsageError("SQL: no statement given")
    with answering(log, at, lenient) as answer:
        try:
            columns, rows = run_sql(answer.conn, sql)
            if not columns:  # a comment, a lone ";": exit 0 with nothing would mislead
                raise BadQuery("the statement answers nothing; ask with SELECT, WITH or EXPLAIN")
            if as_json:
                _json(columns, rows)
            elif as_csv:
                _csv(columns, rows)
            else:
                echo_text(_table(columns, list(rows)))
        except BadQuery as exc:
            raise click.UsageError(f"SQL: {exc}") from None
    return 0


def _json(columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    out = ["["]
    for i, row in enumerate(rows):
        item = json.dumps(dict(zip(columns, map(_plain, row), strict=True)), ensure_ascii=False)
        out.append(("  " if i == 0 else ", ") + item)
    out.append("]")
    echo_text("\n".join(out) + "\n")


def _csv(columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(map(_plain, row))
    echo_text(buf.getvalue())


def _plain(v: Any) -> Any:
    return v.hex() if isinstance(v, bytes) else v


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    if not columns:
        return ""
    cells = [[safe(c, limit=60) for c in columns]]
    cells += [["NULL" if v is None else safe(str(_plain(v)), limit=200) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines) + f"\n({plural(len(rows), 'row')})\n"
