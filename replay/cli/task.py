"""``runreel task``: one task, every attempt with its worker, times, error and traceback."""

from __future__ import annotations

from typing import Any

import click

from recorder.location import Location
from replay.cli.options import lenient_option, log_argument
from replay.cli.postmortem import answering, at_option, echo_json, echo_text, json_option, when
from replay.core.text import plural, safe, worker_name
from replay.core.when import When
from replay.store import queries


@click.command()
@log_argument
@click.argument("name", metavar="TASK")
@json_option
@at_option
@lenient_option
def task(log: Location, name: str, as_json: bool, at: When, lenient: bool) -> int:
    """Show TASK of LOG: its status and every attempt, with the full error and detail."""
    with answering(log, at, lenient) as answer:
        found = queries.task(answer.conn, name)
        first = queries.first_t(answer.conn)
    if found is None:
        where = "" if at.kind == "end" else f" at {at}"
        raise click.BadParameter(
            f"no task {safe(name, limit=80)!r} in {log}{where}", param_hint="TASK"
        )
    if as_json:
        echo_json(found)
    else:
        echo_text(text(found, first))
    return 0


def text(t: dict[str, Any], first: float | None) -> str:
    out = [f"{safe(t['task'])}: {t['status']}, {plural(len(t['attempts']), 'attempt')}"]
    for a in t["attempts"]:
        out.append("")
        out.append(f"attempt {a['attempt']} on {worker_name(a['worker'])}: {a['outcome']}")
        out.append(f"  started  {when(a['start_t'], first)}")
        out.append(f"  ended    {when(a['end_t'], first)}")
        if a["error"]:
            out.append(f"  error    {safe(a['error'], limit=10_000)}")
        if a["detail"]:
            detail = safe(a["detail"], one_line=False, limit=100_000)
            out.extend("  | " + line for line in detail.splitlines())
    return "\n".join(out) + "\n"
