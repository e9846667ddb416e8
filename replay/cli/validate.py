"""``runreel validate``: is this a well-formed log? Every reason it is not, exit 65."""

from __future__ import annotations

import click

from recorder.location import Location
from replay import exitcodes
from replay.cli.options import log_argument
from replay.core.text import plural
from replay.sources import local_file
from replay.sources.validate import validate as validate_log


@click.command()
@log_argument
def validate(log: Location) -> int:
    """Check LOG against the format: every line, seq gaps per writer, the tail,
    CRLF line ends and runs joined into one log.

    Prints one problem per line (FILE:LINE: REASON for a bad line) and exits 65 when
    there is any; blank lines and unknown event types (from newer writers) are noted
    but are not errors.
    """
    found = validate_log(local_file(log))
    for note in found.notes:
        click.echo(note)
    for p in found.problems:
        click.echo(p)
    if found.problems:
        read = plural(found.events, "event")
        problems = plural(len(found.problems), "problem")
        click.echo(f"{log}: invalid: {problems}, {read} read")
        return exitcodes.LOG_INVALID
    finished = "finished" if found.finished else "not finished"
    counts = f"{plural(found.events, 'event')}, {plural(found.lines, 'line')}"
    click.echo(f"{log}: ok: {counts}, run {finished}")
    return exitcodes.OK
