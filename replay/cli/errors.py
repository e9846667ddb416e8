"""``runreel errors``: failures grouped by signature, most failures first."""

from __future__ import annotations

from typing import Any

import click

from recorder.location import Location
from replay.cli.options import lenient_option, log_argument
from replay.cli.postmortem import answering, at_option, echo_json, echo_text, json_option, when
from replay.core.text import safe, worker_name
from replay.core.when import When
from replay.store import queries

SHOWN_TASKS = 10  # task ids listed per group in the text form (JSON lists them all)


@click.command()
@log_argument
@json_option
@at_option
@lenient_option
def errors(log: Location, as_json: bool, at: When, lenient: bool) -> int:
    """What failed, and why: one group per error signature, most failures first.

    A signature is the error's type and message with numbers, ids, quoted strings,
    paths and addresses replaced by placeholders (see docs/store.md). "failed" counts
    tasks that failed for good with it, "retried" attempts that failed and were retried.
    """
    with answering(log, at, lenient) as answer:
        groups = queries.errors(answer.conn)
        first = queries.first_t(answer.conn)
        status = answer.exit_status
    if as_json:
        echo_json(groups)
    else:
        echo_text(text(groups, first, status))
    return 0


def text(groups: list[dict[str, Any]], first: float | None, status: int | None = None) -> str:
    said = "" if not status else f"the run's command exited with status {status}\n"
    if not groups:
        return f"no errors recorded; {said}" if said else "no errors\n"
    out = []
    for g in groups:
        out.append(f"{g['failed']} failed, {g['retried']} retried   {safe(g['signature'])}")
        out.append(f"  first  {when(g['first_t'], first)}")
        out.append(f"  last   {when(g['last_t'], first)}")
        out.append(f"  workers {', '.join(worker_name(w) for w in g['workers'])}")
        tasks = g["tasks"]
        if tasks:
            more = f" and {len(tasks) - SHOWN_TASKS} more" if len(tasks) > SHOWN_TASKS else ""
            out.append(f"  tasks  {', '.join(safe(t) for t in tasks[:SHOWN_TASKS])}{more}")
        out.append(f"  example {safe(g['example'])}")
        out.append("")
    return "\n".join(out) + said
