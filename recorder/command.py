"""The command supervisor behind ``runreel record``: run a command, record it, pass signals on.

The command runs in its own session with RUNREEL_LOG set, so its workers attach to the
run; every line it writes becomes a log event. SIGINT and SIGTERM reach its process group
while nobody else handles them, and it is never left running when the view stops.

The run ends with the command: ``run_finished`` carries its exit status (128+N for a
death by signal N) and the status "ok" (it exited 0), "failed" (non-zero) or
"interrupted" (runreel stopped it: the view was quit or timed out, or a signal came).
The exit code is the view's, which follows the exit-code table from the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import IO

from recorder.events import INTERRUPTED
from recorder.location import is_url
from recorder.writer import ENV_VAR, Recorder

COMMAND_WORKER = "command"  # the worker of the --as-task task
SIGINT_EXIT = 128 + signal.SIGINT  # what a shell reports for a death by the signal
SIGTERM_EXIT = 128 + signal.SIGTERM


@dataclass(frozen=True)
class Ended:
    """How a recorded command ended: its own ``status`` (128+N for signal N), whether
    runreel stopped it, and the exit code for ``runreel record`` (see ``exit_code``)."""

    status: int
    interrupted: bool
    code: int


class CannotRun(Exception):
    """The command could not be started; ``status`` is what a shell would exit with
    (127: not found, 126: cannot run). The run is recorded as failed already."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def run_command(
    command: Sequence[str],
    rec: Recorder,
    log: str,
    *,
    view: Callable[[], int],
    as_task: str | None = None,
    echo: bool = False,
    return_status: bool = False,
    stopper: Stopper | None = None,
) -> Ended:
    """Run ``command`` recording into ``rec`` (which writes ``log``) while ``view()`` runs;
    how it ended. ``view`` returns its own code (130 and 143: stopped by a signal);
    ``echo`` copies the command's output to ours as well; ``return_status`` makes the
    command's status the exit code. ``stopper``, when given, is armed while the command
    runs: calling it stops the command (and waits for its end to be recorded), so a
    view can draw its last frame with every event of the run."""
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
            raise CannotRun(reason, status) from None
        pass_on.attach(child)
        code, interrupted = _supervise(child, rec, as_task, view, echo, pass_on, stopper)
        status = shell_status(child.returncode or 0)
        return Ended(status, interrupted, exit_code(status, code, pass_on.received, return_status))


def shell_status(returncode: int) -> int:
    """A process's status as a shell reports it: a death by signal N is 128+N."""
    return returncode if returncode >= 0 else 128 - returncode


def exit_code(
    status: int, viewed: int, signals: Collection[int], return_status: bool = False
) -> int:
    """The view's code (it follows the exit-code table from the log: a command that exits
    non-zero has failed the run), or the code of a signal it was not there to see among
    ``signals`` received; with ``return_status``, the command's own ``status``."""
    if return_status:
        return status
    if signals and viewed not in (SIGINT_EXIT, SIGTERM_EXIT):
        return SIGTERM_EXIT if signal.SIGTERM in signals else SIGINT_EXIT
    return viewed


def _supervise(
    child: subprocess.Popen[bytes],
    rec: Recorder,
    as_task: str | None,
    view: Callable[[], int],
    echo: bool,
    pass_on: _PassOn,
    stopper: Stopper | None = None,
) -> tuple[int, bool]:
    """Record the running command's output while ``view()`` runs; the view's code, and
    whether runreel stopped the command (the view ended first, or a signal came)."""
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, rec, "stdout", echo), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, rec, "stderr", echo), daemon=True),
    ]
    for p in pumps:
        p.start()
    stopping = threading.Event()  # set before runreel stops the command
    interrupted: list[bool] = []

    def wait_child() -> None:
        status = child.wait()
        for p in pumps:  # a process of its group may hold the output open after it ended
            p.join()
        interrupted.append(stopping.is_set() or bool(pass_on.received))
        exit_status = shell_status(status)
        if interrupted[0]:  # the task stays unfinished: it neither failed nor succeeded
            rec.finish(INTERRUPTED, exit_status=exit_status)
            return
        if as_task is not None and status == 0:
            rec.succeeded(as_task, worker=COMMAND_WORKER)
        elif as_task is not None:
            rec.failed(as_task, worker=COMMAND_WORKER, error=f"exit status {exit_status}")
        rec.finish("ok" if status == 0 else "failed", exit_status=exit_status)

    waiter = threading.Thread(target=wait_child, daemon=True)
    waiter.start()

    def stop(sig: int = signal.SIGINT) -> None:
        stopping.set()
        _stop(child, pumps, sig)
        waiter.join()

    if stopper is not None:
        stopper.arm(stop)
    code = SIGTERM_EXIT  # if the view itself fails, the command is terminated
    try:
        code = view()
    finally:
        stopping.set()
        _stop(child, pumps, signal.SIGTERM if code == SIGTERM_EXIT else signal.SIGINT)
        waiter.join()
    return code, bool(interrupted and interrupted[0])


class Stopper:
    """Stops the recorded command from inside its view: armed by ``run_command`` while
    the command runs; a call before that, or after it, does nothing."""

    def __init__(self) -> None:
        self._stop: Callable[[int], None] | None = None

    def arm(self, stop: Callable[[int], None]) -> None:
        self._stop = stop

    def __call__(self, sig: int = signal.SIGINT) -> None:
        if self._stop is not None:
            self._stop(sig)


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
    """Each line the child writes becomes a log event (and is echoed when asked to)."""
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
