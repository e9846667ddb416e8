"""``runreel export``: a log as an asciinema recording, OpenMetrics text or JUnit XML."""

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
from replay.outputs.junit import junit, read_cases, read_suites
from replay.outputs.openmetrics import openmetrics
from replay.sources import local_file
from replay.store.access import store_at


@click.command()
@log_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default=None,
    help="asciicast, openmetrics or junit "
    "[default: from -o's extension: .cast, .om or .prom, .xml].",
)
@click.option(
    "--at",
    "at",
    type=WHEN,
    default="end",
    show_default=True,
    help="openmetrics, junit: the position to describe; asciicast: where the recording stops.",
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
    """Export LOG: an asciicast v2 recording of its replay, its metrics as OpenMetrics,
    or its tasks as JUnit XML.

    asciicast: one frame per change of the dashboard at event times (as runreel
    snapshot --format ansi draws it), marks as markers; play it with asciinema play
    or the asciinema web player. openmetrics: the folded metrics at WHEN, ending
    with # EOF, for Prometheus (textfile collector, pushgateway). junit: every task
    as it stood at WHEN, one testsuite per worker, one testcase per task; retries as
    Surefire's flakyFailure/rerunFailure, errors as the message and tracebacks as the
    text, skip reasons, times; tasks still open are errors of type "unfinished". For
    any CI's test-report page. Exits with the code for the state at WHEN, like
    snapshot.

    \b
    Examples:
      runreel export ci.jsonl -o ci.cast && asciinema play ci.cast
      runreel export ci.jsonl --format junit -o junit.xml
    """
    output = None if output == "-" else output
    chosen = fmt or (export_for_path(output) if output else None)
    if chosen is None:
        raise click.UsageError("say which format with --format (asciicast, openmetrics or junit)")
    path = local_file(log)
    try:
        frame = fold_at(path, at or END, lenient=lenient, jobs=jobs)
    except BadPosition as exc:  # an unknown mark, a time or event past the end
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    warn(frame.warnings())
    if chosen == "openmetrics":
        doc = openmetrics(frame.metrics, frame.now)
    elif chosen == "junit":
        m = frame.metrics
        with store_at(path, at or END, lenient=lenient) as answer:
            suites = read_suites(answer.conn, frame.now)
            cases = read_cases(answer.conn)
            doc = junit(suites, cases, name=m.name, run=m.run, now=frame.now, first_t=m.first_t)
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
