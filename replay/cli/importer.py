"""``runreel import``: another tool's test report as a runreel log, ready to replay."""

from __future__ import annotations

import os

import click

from recorder.importers import FORMATS, import_events
from recorder.importers.output import write_log
from replay import exitcodes
from replay.cli.options import READ_PATH, OutputPath
from replay.core.fold import apply_all
from replay.core.metrics import Metrics


@click.command("import")
@click.argument("input_path", metavar="INPUT", type=READ_PATH)
@click.option(
    "-o",
    "--output",
    "log",
    required=True,
    type=OutputPath(),
    help="The runreel log to write.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="The input's format [default: detected from its content].",
)
@click.option("--name", default=None, help="Run name [default: INPUT's file name].")
@click.option("--force", is_flag=True, help="Replace LOG if it already holds data.")
def import_(input_path: str, log: str, fmt: str | None, name: str | None, force: bool) -> int:
    """Convert a test report in INPUT to the runreel log LOG, times kept.

    Reads pytest-reportlog JSON lines (pytest --report-log), go test -json,
    Rust libtest JSON and JUnit XML, also gzip, bzip2 or xz compressed; INPUT "-"
    is stdin. How each format maps to tasks, workers and times: docs/importers.md.
    A file is read twice, so the log states its total from its first event (a
    replay shows progress and ETA from the start); stdin is read once, and its
    total is known at its end.
    Bad or cut-short input exits 65, an unreadable one 66; LOG is then left as it was.

    Example: go test -json ./... | runreel import - -o ci.jsonl && runreel live ci.jsonl
    """
    if input_path != "-" and os.path.exists(log) and os.path.exists(input_path):
        if os.path.samefile(input_path, log):
            raise click.BadParameter("LOG must not be INPUT", param_hint="-o")
    chosen, events = import_events(input_path, fmt, name=name)
    m = Metrics()
    written = write_log(log, events, force=force, observe=lambda batch: apply_all(m, batch))
    click.echo(
        f"{log}: {written.events} events from {chosen}: {m.processed} tests, "
        f"{m.succeeded} succeeded, {m.failed} failed, {m.skipped} skipped, "
        f"{m.retries} retries"
    )
    if not written.finished:
        click.echo(
            f"runreel: warning: {input_path} ends before the run finished "
            f"({len(m.in_flight)} tests still running); {log} has no run_finished, "
            "so a replay ends as incomplete",
            err=True,
        )
    return exitcodes.OK
