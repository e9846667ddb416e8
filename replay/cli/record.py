"""``runreel record``: run a command, record its output and its workers, show it live."""

from __future__ import annotations

import click

from recorder.command import CannotRun, run_command
from recorder.errors import LogExists, WriteFailed
from recorder.location import locate
from recorder.writer import Recorder
from replay.cli.viewer import ViewerOptions, follow_block, viewer_options, watch
from replay.sessions.keymap import keys_help
from replay.sessions.live import KEYS
from replay.sessions.loop import is_interactive
from replay.sources import follower as follower_for


@click.command(
    epilog=keys_help(KEYS),
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "-o",
    "--output",
    "log",
    type=click.Path(dir_okay=False, path_type=str),
    default="runreel-record.jsonl",
    show_default=True,
    help="The log to write.",
)
@click.option("--name", default=None, help="Run name [default: the command line].")
@click.option("--force", is_flag=True, help="Replace LOG if it already holds a log.")
@click.option(
    "--as-task",
    "as_task",
    metavar="TASK",
    default=None,
    help="Record COMMAND itself as one task TASK, which succeeds when it exits 0 "
    "(for a command whose workers record no tasks of their own).",
)
@viewer_options()
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(
    log: str,
    name: str | None,
    force: bool,
    as_task: str | None,
    command: tuple[str, ...],
    viewer: ViewerOptions,
) -> int:
    """Run COMMAND with RUNREEL_LOG set, recording every output line and its workers' events.

    Workers inside COMMAND attach with Recorder.attach(). Shows the live dashboard
    meanwhile. Exits with COMMAND's status when it is non-zero (127: not found, 126:
    cannot run), otherwise with the metrics code. Ctrl-C and SIGTERM are passed on
    to COMMAND; q and --timeout stop the view and interrupt COMMAND as Ctrl-C does
    (an interrupted command usually exits 130).

    Example: runreel record -o ci.jsonl -- pytest -q
    """
    line = " ".join(command)
    with _start(log, name or line, force, {"command": line}) as rec:
        try:
            return run_command(
                command,
                rec,
                log,
                view=lambda: watch(follower_for(locate(log), block=follow_block(viewer)), viewer),
                as_task=as_task,
                echo=not is_interactive(),
            )
        except CannotRun as exc:
            click.echo(f"runreel: error: {exc.reason}", err=True)
            return exc.status


def _start(log: str, name: str, force: bool, meta: dict[str, str]) -> Recorder:
    """A Recorder for a new run in LOG; its refusal of a log that is there says what to
    pass here (--force), not what to pass to the library (overwrite=True)."""
    try:
        return Recorder(log, name=name, overwrite=force, meta=meta)
    except LogExists as exc:
        raise WriteFailed(f"{exc.where} already holds a log; pass --force to replace it") from None
