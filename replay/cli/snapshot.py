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
from replay.core.viewstate import VIEWS, ViewState, open_task
from replay.core.when import END, When
from replay.index.position import BadPosition, fold_at
from replay.outputs.formats import EXTENSIONS, FORMATS, Format, format_for_path
from replay.outputs.snapshot import render
from replay.sources import local_file
from replay.store.pages import record_at


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
    help="Output format [default: from -o's extension; text on stdout].",
)
@click.option("-o", "--output", type=OUTPUT_PATH, help="Write to FILE instead of stdout ('-').")
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    default=None,
    help="The view to draw [default: overview; task with --task].",
)
@click.option("--task", "task", metavar="NAME", help="The task the detail view shows.")
@lenient_option
@jobs_option
def snapshot(
    log: Location,
    at: When,
    width: int,
    height: int,
    fmt: str | None,
    output: str | None,
    view: str | None,
    task: str | None,
    lenient: bool,
    jobs: int | None,
) -> int:
    """Render the dashboard of LOG as it was at WHEN (default: the end), or one of its
    post-mortem views (--view; --task NAME: that task's detail).

    Exits with the code for the state at WHEN (3 when the run had not finished).
    """
    output = None if output == "-" else output
    chosen = fmt or _format_of(output)
    state = _view_state(view, task)
    path = local_file(log)
    try:
        frame = fold_at(path, at or END, lenient=lenient, jobs=jobs)
        record = record_at(path, at or END, state, frame.now, lenient=lenient)
    except BadPosition as exc:  # an unknown mark, a time or event past the end
        raise click.BadParameter(str(exc), param_hint="'--at'") from None
    if state.view == "task" and record.task is None:
        raise click.BadParameter(f"no task {task!r} in the log at {at or END}", param_hint="--task")
    warn(frame.warnings())
    doc = render(
        frame.metrics,
        frame.now,
        width=width,
        height=height,
        fmt=chosen,  # type: ignore[arg-type]
        view=state,
        record=record,
    )
    if output:
        write_file(output, doc)
    else:
        # Bytes: neither a pipe (click strips ANSI) nor the locale may change the document.
        click.echo(doc.encode("utf-8"), nl=False)
    return exitcodes.for_metrics(frame.metrics)


def _view_state(view: str | None, task: str | None) -> ViewState:
    """--view and --task as a view state; the detail view needs its task."""
    if task is not None and view not in (None, "task"):
        raise click.UsageError(f"--task shows one task's detail; it takes no --view {view}")
    if view == "task" and task is None:
        raise click.UsageError("--view task needs --task NAME")
    if task is not None:
        return open_task(ViewState(), task)
    return ViewState(view=view or "overview")


def _format_of(output: str | None) -> Format:
    """The format -o's extension names (text to stdout), refusing a name that names none:
    writing text into snap.pdf or snap would only be found out when the file is opened."""
    if output is None:
        return "text"
    ext = os.path.splitext(output)[1].lower()
    if ext not in EXTENSIONS:
        said = f"{ext} is no snapshot format" if ext else "no extension names its format"
        raise click.BadParameter(
            f"{output!r}: {said}; name the file {' '.join(sorted(EXTENSIONS))} or pass --format",
            param_hint="-o",
        )
    return format_for_path(output)
