"""``runreel push``: upload a JSONL log as a new Redis stream."""

from __future__ import annotations

import click

from recorder.location import parse
from replay import exitcodes
from replay.cli.options import READ_PATH, warn
from replay.sources.archive import push as push_log


@click.command()
@click.argument("log", type=READ_PATH)
@click.argument("url")
@click.option("--force", is_flag=True, help="Replace the stream if it already holds entries.")
def push(log: str, url: str, force: bool) -> int:
    """Upload the log LOG as the Redis stream at URL (redis://host:port/DB/STREAM).

    One entry per line, byte for byte; an incomplete last line is left out (with a
    warning). Refuses a stream that exists unless --force.

    Example: runreel push nightly.jsonl redis://ci-redis:6379/0/nightly
    """
    location = parse(url)
    done = push_log(log, location, force=force)
    if done.torn_bytes:
        warn([f"{log}: incomplete last line ({done.torn_bytes} bytes, no newline) not pushed"])
    click.echo(f"{location}: {done.entries} entries pushed from {log}")
    return exitcodes.OK
