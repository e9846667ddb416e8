"""The ``runreel`` command: a thin click layer over the library.

Every command returns its exit code; ``RunreelGroup.main`` turns library errors
into one line on stderr and the code from the table in ``replay.exitcodes``.
"""

from __future__ import annotations

import errno
import importlib
import sys
from typing import Any

import click

from recorder.errors import RunreelError
from replay import exitcodes
from replay.cli.stdout import StdoutFailed, discard_stdout, guard_stdout

# Each command lives in its own module, imported only when that command runs.
COMMANDS: dict[str, str] = {
    "check": "replay.cli.check:check",
    "demo": "replay.cli.demo:demo",
    "errors": "replay.cli.errors:errors",
    "export": "replay.cli.export:export",
    "import": "replay.cli.importer:import_",
    "index": "replay.cli.index:index_command",
    "live": "replay.cli.live:live",
    "pull": "replay.cli.pull:pull",
    "push": "replay.cli.push:push",
    "query": "replay.cli.query:query",
    "record": "replay.cli.record:record",
    "replay": "replay.cli.replay:replay",
    "snapshot": "replay.cli.snapshot:snapshot",
    "stats": "replay.cli.stats:stats",
    "task": "replay.cli.task:task",
    "tasks": "replay.cli.tasks:tasks",
    "validate": "replay.cli.validate:validate",
}


class RunreelGroup(click.Group):
    """A click group whose usage errors exit 64 and whose commands return exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> int:
        code = run_cli(self, args, prog_name, complete_var, **extra)
        if standalone_mode:
            sys.exit(code)
        return code


_NO_ARGS: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("_Never", (click.UsageError,), {})
)


def run_cli(
    cmd: click.Command, args: Any, prog_name: str | None, complete_var: str | None, **extra: Any
) -> int:
    """Run ``cmd`` and map every way it can end to an exit code."""
    try:
        code = _run(cmd, args, prog_name, complete_var, **extra)
        if sys.stdout is not None:
            sys.stdout.flush()  # the last buffered output fails here, not at exit
    except StdoutFailed as exc:
        return _stdout_failed(exc.code, str(exc))
    except BrokenPipeError:  # a stdout main() did not guard, at the flush above
        return _stdout_failed(errno.EPIPE, "")
    return code


def _stdout_failed(code: int | None, reason: str) -> int:
    """One line for a failed write to stdout (none for a closed pipe: the reader left)."""
    discard_stdout()
    if code != errno.EPIPE:
        click.echo(f"runreel: error: cannot write to standard output: {reason}", err=True)
    return exitcodes.IO_ERROR


def _run(
    cmd: click.Command, args: Any, prog_name: str | None, complete_var: str | None, **extra: Any
) -> int:
    try:
        rv = click.Group.main(
            cmd,
            args,
            prog_name or "runreel",
            complete_var,
            standalone_mode=False,
            **extra,
        )
    except _NO_ARGS as exc:  # plain `runreel`: the help, as a successful answer
        assert exc.ctx is not None
        click.echo(exc.ctx.get_help())
        return exitcodes.OK
    except click.UsageError as exc:
        prog = exc.ctx.command_path if exc.ctx else "runreel"
        reason = " ".join(exc.format_message().split())
        click.echo(f"{prog}: error: {reason} (see '{prog} --help')", err=True)
        return exitcodes.USAGE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("runreel: interrupted", err=True)
        return exitcodes.SIGINT
    except RunreelError as exc:
        click.echo(f"runreel: error: {exc}", err=True)
        return exitcodes.for_error(exc)
    return rv if isinstance(rv, int) else exitcodes.OK


EPILOG = "Exit codes:\n\n\b\n" + exitcodes.help_table()


@click.group(
    cls=RunreelGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="runreel", prog_name="runreel")
def cli() -> None:
    """runreel: a flight recorder for batch work.

    Workers append events to a JSON Lines log; runreel folds them into metrics,
    shows a dashboard, takes deterministic snapshots and exits with a code that
    means something. A LOG is a file or a Redis stream URL
    (redis://[user:pass@]host:port/DB/STREAM; see pull and push).
    """


def main() -> None:
    """Console-script entry point."""
    guard_stdout()
    cli.main()
