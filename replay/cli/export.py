"""``runreel export``: a log as an asciinema recording or as OpenMetrics text."""

from __future__ import annotations

import click

from recorder.location import Location
from replay import exitcodes
from replay.cli.options import (
    HEIGHT,
    OUTPUT_PATH,
    WHEN,
    WIDTH,
    FloatRange,
    jobs_option,
    lenient_option,
    log_argument,
    warn,
    write_file,
)
from replay.core.when import END, When
from replay.index.position import BadPosition, fold_at
from replay.outputs.asciicast import FPS, asciicast
from replay.outputs.formats import EXPORT_FORMATS, export_for_path
from replay.outputs.openmetrics import openmetrics
from replay.sources import local_file


@click.command()
@log_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default=None,
    help="asciicast or openmetrics [default: from -o's extension: .cast, .om or .prom].",
)
@click.option(
    "--at",
    "at",
    type=WHEN,
    default="end",
    show_default=True,
    help="openmetrics: the position to describe; asciicast: where the recording stops.",
)
@click.option("-o", "--output", type=OUTPUT_PATH, help="Write to FILE instead of stdout ('-').")
@click.option("--width", type=WIDTH, default=100, show_default=True, help="asciicast: columns.")
@click.option("--height", type=HEIGHT, default=30, show_default=True, help="asciicast: rows.")
@click.option(
    "--fps",
    type=FloatRange(0.1, 60),
    default=FPS,
    show_default=True,
    help="asciicast: most frames per second of run time (bursts collapse).",
)
@click.option(
    "--max-idle",
    type=FloatRange(0, min_open=True),
    default=None,
    help="asciicast: players shorten pauses longer than this many seconds (idle_time_limit).",
)
@lenient_option
@jobs_option
def export(
    log: Location,
    fmt: str | None,
    at: When,
    output: str | None,
    width: int,
    height: int,
    fps: float,
    max_idle: float | None,
    lenient: bool,
    jobs: int | None,
) -> int:
    """Export LOG: an asciicast v2 recording of its replay, or its metrics as OpenMetrics.

    asciicast: one frame per change of the dashboard at event times (as runreel
    snapshot --format ansi draws it), marks as markers; play it with asciinema play
    or the asciinema web player. openmetrics: the folded metrics at WHEN, ending
    with # EOF, for Prometheus (textfile collector, pushgateway). Exits with the
    code for the state at WHEN, like snapshot.

    Example: runreel export ci.jsonl -o ci.cast && asciinema play ci.cast
    """
    output = None if output == "-" else output
    chosen = fmt or (export_for_path(output) if output else None)
    if chosen is None:
        raise click.UsageError("say which format with --format (asciicast or openmetrics)")
    path = local_file(log)
    try:
        frame = fold_at(path, at or END, lenient=lenient, jobs=jobs)
    except BadPosition as exc:  # an unknown mark, a time or event past the end
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    warn(frame.warnings())
    if chosen == "openmetrics":
        doc = openmetrics(frame.metrics, frame.now)
    else:
        doc = "".join(
            asciicast(
                path,
                at=at or END,
                width=width,
                height=height,
                fps=fps,
                max_idle=max_idle,
                lenient=lenient,
            )
        )
    if output:
        write_file(output, doc)
    else:
        click.echo(doc, nl=False)
    return exitcodes.for_metrics(frame.metrics)
