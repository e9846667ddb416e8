"""``runreel pull``: archive a Redis stream into a JSONL log, resumably."""

from __future__ import annotations

import click

from recorder.errors import WriteFailed
from recorder.location import parse
from replay import exitcodes
from replay.cli.options import OutputPath
from replay.sources.archive import SIDECAR, PullRefused
from replay.sources.archive import pull as pull_stream


@click.command()
@click.argument("url")
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(),
    help="The log to write (created when missing, appended to when pulled before).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Empty OUTPUT first when it holds anything but an earlier pull of this stream.",
)
def pull(url: str, output: str, force: bool) -> int:
    """Copy the Redis stream at URL (redis://host:port/DB/STREAM) into the log OUTPUT.

    Run it again to append only the entries added since: OUTPUT + '.runreel-pull'
    remembers the last one, so nothing is lost or repeated, even after a pull cut
    short. Refuses an OUTPUT that holds another run or was changed since, unless --force.

    Example: runreel pull redis://ci-redis:6379/0/nightly -o nightly.jsonl
    """
    location = parse(url)
    try:
        done = pull_stream(location, output, start_over=force)
    except PullRefused as exc:  # a refusal to write over a file, as import's and push's
        raise WriteFailed(f"{exc.problem}; pass --force to replace {output}") from None
    again = " (started over)" if done.started_over else ""
    click.echo(
        f"{output}: {done.entries} new entries from {location}{again}, {done.size} bytes; "
        f"last entry {done.last_id} (in {output}{SIDECAR})"
    )
    return exitcodes.OK
