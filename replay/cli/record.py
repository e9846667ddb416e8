"""``runreel record``: run a command, record its output and its workers, show it live."""

from __future__ import annotations

import signal

import click

from recorder.command import CannotRun, Ended, Stopper, run_command
from recorder.errors import LogExists, WriteFailed
from recorder.location import locate
from recorder.writer import Recorder
from replay import exitcodes
from replay.cli.options import OutputPath
from replay.cli.viewer import MONO, WALL, ViewerOptions, follow_block, run_session, viewer_options
from replay.sessions.keymap import keys_help
from replay.sessions.live import KEYS, LiveSession
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
    type=OutputPath(),
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
    help="Record COMMAND itself as one task TASK (the run's total is 1), which succeeds "
    "when it exits 0 (for a command whose workers record no tasks of their own).",
)
@click.option(
    "--return-status",
    is_flag=True,
    help="Exit with COMMAND's own status instead of the exit-code table's code "
    "(for scripts that want it; a death by signal N is 128+N).",
)
@viewer_options()
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(
    log: str,
    name: str | None,
    force: bool,
    as_task: str | None,
    return_status: bool,
    command: tuple[str, ...],
    viewer: ViewerOptions,
) -> int:
    """Run COMMAND with RUNREEL_LOG set, recording every output line and its workers' events.

    Workers inside COMMAND attach with Recorder.attach(). Shows the live dashboard
    meanwhile. COMMAND's exit status is recorded (run_finished's exit_status) and
    shown; the exit code follows runreel's table like every view's, so a COMMAND
    that exits non-zero fails the run. Ctrl-C and SIGTERM are passed on to COMMAND;
    q and --timeout stop the view and interrupt COMMAND as Ctrl-C does, and the run
    is recorded as interrupted.

    \b
    Exit codes:
      0        COMMAND exited 0 and every task succeeded
      1        no task succeeded (COMMAND failed, or it recorded no tasks)
      2        some tasks succeeded, and a task failed or COMMAND exited non-zero
      3        q or --timeout stopped COMMAND: the run reads interrupted
      130/143  Ctrl-C / SIGTERM, passed on to COMMAND
      --return-status: COMMAND's own status (127: not found, 126: cannot run)

    Example: runreel record -o ci.jsonl -- pytest -q
    """
    line = " ".join(command)
    total = 1 if as_task is not None else None
    stopper = Stopper()

    def view() -> int:
        follower = follower_for(locate(log), block=follow_block(viewer))
        session = LiveSession(
            follower, wall=WALL, mono=MONO, timeout=viewer.timeout, stay=viewer.stay
        )
        # The command is stopped before the last frame, so that frame shows how it ended.
        session.on_stop = lambda why: stopper(signal.SIGTERM if why == "sigterm" else signal.SIGINT)
        return run_session(session, viewer)

    with _start(log, name or line, force, {"command": line}, total) as rec:
        try:
            ended = run_command(
                command,
                rec,
                log,
                view=view,
                as_task=as_task,
                echo=not is_interactive(),
                return_status=return_status,
                stopper=stopper,
            )
        except CannotRun as exc:
            click.echo(f"runreel: error: {exc.reason}", err=True)
            code = exc.status if return_status else exitcodes.TOTAL_FAILURE
            click.echo(f"runreel record: {_code(code, return_status)}", err=True)
            return code
    click.echo(f"runreel record: {summary(ended, return_status)}", err=True)
    return ended.code


def summary(ended: Ended, return_status: bool) -> str:
    """What became of the command, and the exit code with its meaning, in one line."""
    how = "was stopped" if ended.interrupted else "exited"
    return f"the command {how} with status {ended.status}; {_code(ended.code, return_status)}"


def _code(code: int, return_status: bool) -> str:
    if return_status:
        return f"exit code {code} (the command's status: --return-status)"
    meaning = dict(exitcodes.TABLE).get(code, "").split(":")[0].split(";")[0]
    return f"exit code {code} ({meaning})" if meaning else f"exit code {code}"


def _start(log: str, name: str, force: bool, meta: dict[str, str], total: int | None) -> Recorder:
    """A Recorder for a new run in LOG; its refusal of a log that is there says what to
    pass here (--force), not what to pass to the library (overwrite=True)."""
    try:
        return Recorder(log, name=name, overwrite=force, meta=meta, total=total)
    except LogExists as exc:
        raise WriteFailed(f"{exc.where} already holds a log; pass --force to replace it") from None
