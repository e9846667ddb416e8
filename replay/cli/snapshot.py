"""``runreel snapshot``: the dashboard as it was at WHEN, byte-identical every time."""

from __future__ import annotations

import os

import click

from recorder.location import Location
from replay import exitcodes
from replay.cli.options import (
    HEIGHT,
    OUTPUT_PATH,
    WHEN,
    WIDTH,
    jobs_option,
    lenient_option,
    log_argument,
    warn,
    write_file,
)
from replay.core.when import END, When
from replay.index.position import BadPosition, fold_at
from replay.outputs.formats import EXTENSIONS, FORMATS, Format, format_for_path
from replay.outputs.snapshot import render
from replay.sources import local_file


@click.command()
@log_argument
@click.option(
    "--at",
    "at",
    type=WHEN,
    default="end",
    show_default=True,
    help="Position: 90, 1m30s, 01:30, 50%, #1234, mark:LABEL, start or end.",
)
@click.option("--width", type=WIDTH, default=100, show_default=True, help="Columns.")
@click.option("--height", type=HEIGHT, default=30, show_default=True, help="Rows.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format [default: from -o's extension, else text].",
)
@click.option("-o", "--output", type=OUTPUT_PATH, help="Write to FILE instead of stdout ('-').")
@lenient_option
@jobs_option
def snapshot(
    log: Location,
    at: When,
    width: int,
    height: int,
    fmt: str | None,
    output: str | None,
    lenient: bool,
    jobs: int | None,
) -> int:
    """Render the dashboard of LOG as it was at WHEN (default: the end).

    Exits with the code for the state at WHEN (3 when the run had not finished).
    """
    output = None if output == "-" else output
    chosen = fmt or _format_of(output)
    try:
        frame = fold_at(local_file(log), at or END, lenient=lenient, jobs=jobs)
    except BadPosition as exc:  # an unknown mark, a time or event past the end
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    warn(frame.warnings())
    doc = render(frame.metrics, frame.now, width=width, height=height, fmt=chosen)  # type: ignore[arg-type]
    if output:
        write_file(output, doc)
    else:
        # Bytes: neither a pipe (click strips ANSI) nor the locale may change the document.
        click.echo(doc.encode("utf-8"), nl=False)
    return exitcodes.for_metrics(frame.metrics)


def _format_of(output: str | None) -> Format:
    """The format -o's extension names (text without one), refusing one that names none:
    writing text into snap.pdf would only be found out when the file is opened."""
    if output is None:
        return "text"
    ext = os.path.splitext(output)[1].lower()
    if ext and ext not in EXTENSIONS:
        raise click.BadParameter(
            f"{output!r}: {ext} is no snapshot format; name the file "
            f"{' '.join(sorted(EXTENSIONS))} or pass --format",
            param_hint="-o",
        )
    return format_for_path(output)
