"""``runreel record``: run a command, record its output and its workers, show it live."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import IO

import click

from recorder.errors import LogExists, WriteFailed
from recorder.location import is_url, locate
from recorder.writer import ENV_VAR, Recorder
from replay import exitcodes
from replay.cli.live import view, viewer_options
from replay.sessions.loop import is_interactive
from replay.sources import follower as follower_for


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
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
@viewer_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(
    log: str,
    name: str | None,
    force: bool,
    as_task: str | None,
    command: tuple[str, ...],
    timeout: float | None,
    snapshot: str | None,
    stay: bool,
    refresh: float,
    interval: float,
) -> int:
    """Run COMMAND with RUNREEL_LOG set, recording every output line and its workers' events.

    Workers inside COMMAND attach with Recorder.attach(). Shows the live dashboard
    meanwhile. Exits with COMMAND's status when it is non-zero (127: not found, 126:
    cannot run), otherwise with the metrics code. Ctrl-C and SIGTERM are passed on
    to COMMAND; q and --timeout stop the view and interrupt COMMAND as Ctrl-C does
    (an interrupted command usually exits 130).

    Example: runreel record -o ci.jsonl -- pytest -q
    """
    with _start(log, name or " ".join(command), force, {"command": " ".join(command)}) as rec:
        if as_task is not None:
            rec.task_started(as_task, worker=COMMAND_WORKER)
        env = {**os.environ, ENV_VAR: log if is_url(log) else os.path.abspath(log)}
        pass_on = _PassOn()
        with pass_on.installed():
            try:
                child = subprocess.Popen(
                    list(command),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            except OSError as exc:
                reason = f"cannot run {command[0]}: {exc.strerror or exc}"
                status = 127 if isinstance(exc, FileNotFoundError) else 126  # as shells do
                rec.log(reason, level="error")
                if as_task is not None:
                    rec.failed(as_task, worker=COMMAND_WORKER, error=reason)
                rec.finish("failed", exit_status=status)
                click.echo(f"runreel: error: {reason}", err=True)
                return status
            pass_on.attach(child)
            code = _run(child, rec, log, as_task, timeout, snapshot, stay, refresh, interval)
            if pass_on.received and code not in (exitcodes.SIGINT, exitcodes.SIGTERM):
                # stopped by a signal the viewer was not there to see
                term = signal.SIGTERM in pass_on.received
                code = exitcodes.SIGTERM if term else exitcodes.SIGINT
    status = child.returncode
    if status:
        return status if status > 0 else 128 - status
    return code


COMMAND_WORKER = "command"  # the worker of the --as-task task


def _start(log: str, name: str, force: bool, meta: dict[str, str]) -> Recorder:
    """A Recorder for a new run in LOG; its refusal of a log that is there says what to
    pass here (--force), not what to pass to the library (overwrite=True)."""
    try:
        return Recorder(log, name=name, overwrite=force, meta=meta)
    except LogExists as exc:
        raise WriteFailed(f"{exc.where} already holds a log; pass --force to replace it") from None


def _run(
    child: subprocess.Popen[bytes],
    rec: Recorder,
    log: str,
    as_task: str | None,
    timeout: float | None,
    snapshot: str | None,
    stay: bool,
    refresh: float,
    interval: float,
) -> int:
    """Record the running command's output and show the live view; the view's exit code."""
    echo = not is_interactive()
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, rec, "stdout", echo), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, rec, "stderr", echo), daemon=True),
    ]
    for p in pumps:
        p.start()

    def wait_child() -> None:
        status = child.wait()
        for p in pumps:
            p.join()
        exit_status = status if status >= 0 else 128 - status
        if as_task is not None and status == 0:
            rec.succeeded(as_task, worker=COMMAND_WORKER)
        elif as_task is not None:
            rec.failed(as_task, worker=COMMAND_WORKER, error=f"exit status {exit_status}")
        rec.finish("ok" if status == 0 else "failed", exit_status=exit_status)

    waiter = threading.Thread(target=wait_child, daemon=True)
    waiter.start()
    code = exitcodes.SIGTERM  # if the view itself fails, the command is terminated
    try:
        code = view(
            follower_for(locate(log), block=min(0.05, 0.5 / refresh)),
            timeout=timeout,
            snapshot=snapshot,
            stay=stay,
            refresh=refresh,
            interval=interval,
        )
    finally:
        _stop(child, pumps, signal.SIGTERM if code == exitcodes.SIGTERM else signal.SIGINT)
        waiter.join()
    return code


class _PassOn:
    """SIGINT/SIGTERM while the viewer does not handle them (before it starts, after it
    stops): passed on to the command, so a signal never leaves it running on its own."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.received: list[int] = []  # every signal this handler received

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.child is not None:
            _signal_group(self.child, signum)

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        for signum in set(self.received):
            _signal_group(child, signum)

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _signal_group(child: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except OSError:
        pass


def _stop(
    child: subprocess.Popen[bytes], pumps: list[threading.Thread], sig: int, grace: float = 10.0
) -> None:
    """Pass ``sig`` on to the command's process group while the command, or a process of its
    group that still holds its output, runs; SIGKILL the group if that outlasts ``grace`` s."""

    def running() -> bool:
        return child.poll() is None or any(p.is_alive() for p in pumps)

    if not running():
        return
    try:
        os.killpg(child.pid, sig)
    except OSError:
        return
    end = time.monotonic() + grace
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    for p in pumps:
        p.join(max(end - time.monotonic(), 0.0))
    if running():
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass


def _pump(stream: IO[bytes] | None, rec: Recorder, level: str, echo: bool) -> None:
    """Each line the child writes becomes a log event (and is echoed when not on a TTY)."""
    if stream is None:
        return
    out = sys.stdout.buffer if level == "stdout" else sys.stderr.buffer
    for raw in iter(stream.readline, b""):
        rec.log(raw.rstrip(b"\r\n").decode("utf-8", "replace"), level=level)
        if echo:
            try:
                out.write(raw)
                out.flush()
            except OSError:
                echo = False
    stream.close()
