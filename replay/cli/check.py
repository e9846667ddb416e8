"""``runreel check``: compare a run's snapshots with golden files (exit 0 same, 1 different)."""

from __future__ import annotations

import click

from recorder.location import Location
from replay import exitcodes
from replay.cli.options import HEIGHT, WHEN, WIDTH, jobs_option, lenient_option, log_argument
from replay.core.text import safe
from replay.core.viewstate import VIEWS
from replay.core.when import When
from replay.index.position import BadPosition
from replay.outputs.formats import FORMATS, Format
from replay.outputs.golden import NoSuchTask, result_lines
from replay.outputs.golden import check as check_golden
from replay.sources import local_file


@click.command()
@log_argument
@click.argument("golden", type=click.Path(readable=False, path_type=str))
@click.option(
    "--at",
    "ats",
    type=WHEN,
    multiple=True,
    help="A point to check (repeatable); default: the golden's recorded points, else the end.",
)
@click.option("--width", type=WIDTH, help="Columns [default: as recorded, else 100].")
@click.option("--height", type=HEIGHT, help="Rows [default: as recorded, else 30].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Format [default: from GOLDEN's extension, else text].",
)
@click.option("--update", is_flag=True, help="Write the goldens instead of comparing.")
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    help="The view to check [default: as recorded, else from the name, else overview].",
)
@click.option("--task", "task", metavar="NAME", help="The task the detail view shows.")
@lenient_option
@jobs_option
def check(
    log: Location,
    golden: str,
    ats: tuple[When, ...],
    width: int | None,
    height: int | None,
    fmt: Format | None,
    update: bool,
    view: str | None,
    task: str | None,
    lenient: bool,
    jobs: int | None,
) -> int:
    """Render LOG's snapshots and compare them with GOLDEN (a file, or a directory
    with one file per point).

    Exits 0 when all are the same, 1 when any differs or is missing (with a unified
    diff on stdout), 64 and up for errors. --update writes them instead.
    """
    try:
        results = check_golden(
            local_file(log),
            golden,
            list(ats),
            width=width,
            height=height,
            fmt=fmt,
            update=update,
            lenient=lenient,
            view=view,
            task=task,
            jobs=jobs,
        )
    except NoSuchTask as exc:
        raise click.BadParameter(str(exc), param_hint="--task") from None
    except BadPosition as exc:  # an unknown mark (it lists the log's labels: untrusted
        # text), a time or event past the end
        raise click.BadParameter(safe(str(exc), limit=500), param_hint="'--at'") from None
    report = []
    for r, line in zip(results, result_lines(results), strict=True):
        report.append(line + "\n")
        if r.diff:
            report.append(r.diff)
        if r.note:
            report.append(r.note + "\n")
    bad = [r for r in results if not r.ok]
    if bad:
        report.append(
            f"{len(bad)} of {len(results)} snapshots differ from {golden}"
            + ("" if update else "; run with --update to accept them")
            + "\n"
        )
    # UTF-8 bytes, as the snapshots are: str would be stripped of ANSI codes off a
    # terminal and fail on a stdout whose locale cannot encode box-drawing characters.
    click.echo("".join(report).encode("utf-8"), nl=False)
    return exitcodes.TOTAL_FAILURE if bad else exitcodes.OK
