"""The installed ``runreel live`` driven in a real pseudo-terminal (pexpect), read through pyte.

Each test spawns the console script next to ``sys.executable``, feeds everything it
writes to a pyte screen (and keeps the raw bytes), and waits on the screen with a
deadline instead of sleeping. Writers are separate processes using the Recorder API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pyte
import pytest

from recorder.writer import Recorder

RUNREEL = str(Path(sys.executable).with_name("runreel"))
DEADLINE = 10.0  # seconds any expected change may take on a loaded machine
ENV_DROP = {
    "NO_COLOR",
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "COLUMNS",
    "LINES",
    "RUNREEL_LOG",
    "CLICOLOR_FORCE",
}

# A writer process: makes the run, then does one step per line on stdin and acknowledges it.
WRITER = r"""
import sys
from recorder.writer import Recorder

rec = Recorder(sys.argv[1], name=sys.argv[2], total=int(sys.argv[3]))
print("ready", flush=True)
for line in sys.stdin:
    op, *args = line.split()
    if op == "start":
        rec.task_started(args[0], worker=args[1])
    elif op == "ok":
        rec.succeeded(args[0], worker=args[1])
    elif op == "fail":
        rec.failed(args[0], worker=args[1], error=args[2])
    elif op == "finish":
        rec.finish(args[0])
    print("done", flush=True)
rec.close()
"""


def viewer_env() -> dict[str, str]:
    """The environment of a colour terminal, without overrides from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    env["TERM"] = "xterm-256color"
    return env


class Writer:
    """A second process appending to the log through the Recorder API, one step at a time."""

    def __init__(self, log: Path, name: str, total: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(log), name, str(total)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._reply() == "ready"

    def _reply(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def do(self, step: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(step + "\n")
        self.proc.stdin.flush()
        assert self._reply() == "done"

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(DEADLINE)
        if self.proc.stdout:
            self.proc.stdout.close()


class Pty:
    """``runreel ARGS`` in a pseudo-terminal of ``cols`` x ``rows`` (the classic 80x24).

    The command starts behind ``sh -c 'read _; exec ...'`` so the pty's termios
    settings can be taken before runreel touches them; ``go()`` lets it start.
    """

    def __init__(self, args: list[str], cwd: Path, *, cols: int = 80, rows: int = 24) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.eof = False
        self.child = pexpect.spawn(
            "/bin/sh",
            ["-c", 'read _ && exec "$0" "$@"', RUNREEL, *args],
            cwd=str(cwd),
            env=viewer_env(),
            dimensions=(rows, cols),
        )
        self.attrs_before: list[object] = []
        self.started = 0.0

    def go(self) -> Pty:
        self.attrs_before = termios.tcgetattr(self.child.child_fd)
        self.child.send("\n")
        self.started = time.monotonic()
        return self

    def attrs(self) -> list[object]:
        return termios.tcgetattr(self.child.child_fd)

    def pump(self, timeout: float = 0.05) -> None:
        """Take what the program wrote so far into the screen."""
        if self.eof:
            time.sleep(timeout)
            return
        try:
            data = self.child.read_nonblocking(1 << 16, timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.eof = True
            return
        self.raw += data
        self.stream.feed(data)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, *needles: str, timeout: float = DEADLINE) -> str:
        """The screen once every needle is on it (fails after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            if all(n in text for n in needles):
                return text
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"{needles!r} not on screen (eof={self.eof}):\n{text}")
            self.pump()

    def wait_exit(self, timeout: float = DEADLINE) -> int:
        """runreel's exit status (fails if it is still running after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() > deadline:
                pytest.fail(f"runreel still running after {timeout}s:\n{self.text}")
            self.pump()
        self.child.wait()
        assert self.child.signalstatus is None, f"killed by signal {self.child.signalstatus}"
        status = self.child.exitstatus
        assert isinstance(status, int)
        return status

    def assert_terminal_restored(self) -> None:
        raw = bytes(self.raw)
        assert b"\x1b[?1049h" in raw, "never entered the alternate screen"
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h"), "alternate screen not left"
        assert raw.rfind(b"\x1b[?25h") > raw.rfind(b"\x1b[?25l"), "cursor left hidden"
        assert self.attrs() == self.attrs_before, "termios settings not restored"

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


Spawn = Callable[[list[str]], Pty]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start ``runreel ARGS`` in a pty in tmp_path; every one is killed at the end."""
    made: list[Pty] = []

    def start(args: list[str]) -> Pty:
        made.append(Pty(args, tmp_path))
        return made[-1]

    yield start
    for p in made:
        p.close()


def unfinished_log(path: Path, *tasks: str) -> None:
    """A run with ``tasks`` in flight and no run_finished."""
    rec = Recorder(path, name="unfinished-run", total=len(tasks) + 1)
    for i, task in enumerate(tasks):
        rec.task_started(task, worker=f"w{i}")
    rec.close()


def cbreak_is_on(p: Pty) -> bool:
    lflag = p.attrs()[3]
    assert isinstance(lflag, int)
    return not lflag & (termios.ICANON | termios.ECHO)


# The tests ------------------------------------------------------------------------------


def test_dashboard_appears_updates_and_exits_with_the_metrics_code(
    tmp_path: Path, spawn: Spawn
) -> None:
    p = spawn(["live", "run.jsonl"]).go()
    p.wait_for("waiting for run.jsonl to appear")
    writer = Writer(tmp_path / "run.jsonl", "pty-run", 2)
    try:
        p.wait_for("pty-run", "(0 - 0 / 2)", "q quit")
        assert cbreak_is_on(p)
        writer.do("start alpha-7 w1")
        p.wait_for("alpha-7", "Workers (1 busy / 1)")
        writer.do("ok alpha-7 w1")
        p.wait_for("(0 - 1 / 2)", "Workers (0 busy / 1)")
        writer.do("start beta-9 w2")
        writer.do("fail beta-9 w2 disk-on-fire")
        p.wait_for("(1 - 2 / 2)", "disk-on-fire")
        writer.do("finish failed")
        assert p.wait_exit() == 2  # partial failure: one succeeded, one failed
    finally:
        writer.close()
    p.assert_terminal_restored()
    assert b"(stopped: finished)" in p.raw


def test_q_quits_an_unfinished_run_with_3_and_restores_the_terminal(
    tmp_path: Path, spawn: Spawn
) -> None:
    unfinished_log(tmp_path / "run.jsonl", "task-q")
    p = spawn(["live", "run.jsonl", "--snapshot", "final.txt"]).go()
    p.wait_for("task-q", "q quit")
    assert cbreak_is_on(p)
    p.child.send("q")
    assert p.wait_exit() == 3
    p.assert_terminal_restored()
    assert b"(stopped: quit)" in p.raw
    after = bytes(p.raw)[bytes(p.raw).rfind(b"\x1b[?1049l") :]  # once the screen closed
    assert b"task-q" in after and b"Workers" in after  # the last dashboard stays in view
    assert b"q quit" not in after  # without key hints that no longer work
    # The viewer stopped, the run did not: its state then, labelled, never "interrupted".
    snapshot = (tmp_path / "final.txt").read_text()
    assert "(view stopped: q)" in snapshot and "View stopped" in snapshot
    assert "nterrupted" not in snapshot and "unfinished)" not in snapshot
    assert "nterrupted" not in after.decode("utf-8", "replace")


def test_sigterm_writes_the_snapshot_and_exits_143(tmp_path: Path, spawn: Spawn) -> None:
    unfinished_log(tmp_path / "run.jsonl", "task-term")
    p = spawn(["live", "run.jsonl", "--snapshot", "final.txt"]).go()
    p.wait_for("task-term")
    p.child.kill(signal.SIGTERM)
    assert p.wait_exit() == 143
    p.assert_terminal_restored()
    snapshot = (tmp_path / "final.txt").read_text()
    assert "task-term" in snapshot and "unfinished-run" in snapshot
    assert "\x1b" not in snapshot


def test_ctrl_c_exits_130(tmp_path: Path, spawn: Spawn) -> None:
    unfinished_log(tmp_path / "run.jsonl", "task-int")
    p = spawn(["live", "run.jsonl", "--snapshot", "final.json"]).go()
    p.wait_for("task-int")
    p.child.sendintr()  # the terminal's interrupt character: SIGINT from the line discipline
    assert p.wait_exit() == 130
    p.assert_terminal_restored()
    assert '"task": "task-int"' in (tmp_path / "final.json").read_text()


def test_truncation_is_reported_on_screen(tmp_path: Path, spawn: Spawn) -> None:
    log = tmp_path / "run.jsonl"
    unfinished_log(log, *(f"old-{i}" for i in range(20)))
    p = spawn(["live", "run.jsonl"]).go()
    p.wait_for("unfinished-run", "Workers (20 busy / 20)")
    with Recorder(log, name="second-run", total=1, overwrite=True) as rec:  # O_TRUNC, same inode
        p.wait_for("log truncated, a new run started: run.jsonl", "second-run")
        rec.task_started("fresh-1", worker="w9")
        text = p.wait_for("fresh-1", "Workers (1 busy / 1)")
        assert "old-3" not in text
        p.child.send("q")
        assert p.wait_exit() == 3


def test_timeout_fires_with_exit_3(tmp_path: Path, spawn: Spawn) -> None:
    unfinished_log(tmp_path / "run.jsonl", "task-slow")
    p = spawn(["live", "run.jsonl", "--timeout", "1"]).go()
    p.wait_for("timeout in 00:0", "c cancel timeout")
    assert p.wait_exit() == 3
    assert time.monotonic() - p.started >= 1.0
    assert b"(stopped: timeout)" in p.raw
    p.assert_terminal_restored()


def test_c_cancels_the_timeout_and_plus_sets_it_again(tmp_path: Path, spawn: Spawn) -> None:
    unfinished_log(tmp_path / "run.jsonl", "task-slow")
    p = spawn(["live", "run.jsonl", "--timeout", "3"]).go()
    p.wait_for("timeout in 00:0", "c cancel timeout")
    shown = time.monotonic()  # the deadline is at most 3 s after this
    p.child.send("c")
    text = p.wait_for("+ set timeout")
    assert "timeout in" not in text
    while time.monotonic() < shown + 3.5:  # past the cancelled deadline
        p.pump()
        assert not p.eof, f"stopped although the timeout was cancelled:\n{p.text}"
    p.child.send("+")  # the --timeout length again, from now
    p.wait_for("timeout in 00:0", "c cancel timeout")
    p.child.send("q")
    assert p.wait_exit() == 3
    p.assert_terminal_restored()


def test_ctrl_c_while_waiting_for_the_log_exits_130(tmp_path: Path, spawn: Spawn) -> None:
    p = spawn(["live", "never.jsonl"]).go()
    p.wait_for("waiting for never.jsonl to appear")
    p.child.sendintr()
    assert p.wait_exit() == 130  # not 66: the user stopped it before the log appeared
    p.assert_terminal_restored()


def test_piped_output_has_plain_status_lines_and_no_escape_sequences(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    viewer = subprocess.Popen(
        [RUNREEL, "live", str(log), "--interval", "0.2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=viewer_env(),  # TERM says colour; a pipe still gets none
    )
    assert viewer.stdout is not None
    lines: list[bytes] = []

    def line_with(part: bytes) -> None:
        assert viewer.stdout is not None
        for line in iter(viewer.stdout.readline, b""):
            lines.append(line)
            if part in line:
                return
        pytest.fail(f"no status line with {part!r}: {lines!r}")

    writer = None
    try:
        line_with(b"runreel: waiting for ")
        writer = Writer(log, "piped-run", 2)
        writer.do("start p-1 w1")
        line_with(b" in flight 1 ")
        writer.do("ok p-1 w1")
        writer.do("start p-2 w1")
        writer.do("ok p-2 w1")
        writer.do("finish ok")
        out, err = viewer.communicate(timeout=DEADLINE)
    finally:
        if writer is not None:
            writer.close()
        if viewer.poll() is None:
            viewer.kill()
            viewer.wait()
    assert viewer.returncode == 0, err
    out = b"".join(lines) + out
    assert b"\x1b" not in out and b"\x1b" not in err
    text = out.decode()
    status = [line for line in text.splitlines() if line.startswith("runreel: ")]
    assert len(status) >= 3, text
    assert "finished: all succeeded (0 - 2 / 2)" in status[-1]
    assert "Workers (1, all idle)" in text  # the final dashboard, as plain text


def test_demo_shows_the_live_dashboard(tmp_path: Path, spawn: Spawn) -> None:
    args = ["demo", "--tasks", "4", "--workers", "2", "--pace", "0.5"]
    p = spawn([*args, "--fail-rate", "0", "--retry-rate", "0", "-o", "demo.jsonl"]).go()
    p.wait_for("runreel demo", "Workers (")
    assert p.wait_exit() == 0
    p.assert_terminal_restored()
    assert b"(stopped: finished)" in p.raw


def test_q_in_the_demo_ends_its_run_and_the_last_frame_says_interrupted(
    tmp_path: Path, spawn: Spawn
) -> None:
    """The demo's run is runreel's own: q stops it before the last frame, so that frame
    (and --snapshot) read "interrupted", which is true, and the log ends with it."""
    args = ["demo", "--tasks", "400", "--workers", "2", "--pace", "4", "-o", "demo.jsonl"]
    p = spawn([*args, "--snapshot", "final.txt"]).go()
    p.wait_for("runreel demo", "Workers (2 busy")
    p.child.send("q")
    assert p.wait_exit() == 3
    p.assert_terminal_restored()
    snapshot = (tmp_path / "final.txt").read_text()
    assert "■ Interrupted" in snapshot and "view stopped" not in snapshot
    assert b'"status":"interrupted"' in (tmp_path / "demo.jsonl").read_bytes().replace(b" ", b"")


def test_question_mark_shows_the_live_keys_and_esc_closes_them(
    tmp_path: Path, spawn: Spawn
) -> None:
    from replay.sessions.live import KEYS

    unfinished_log(tmp_path / "run.jsonl", "task-h")
    p = spawn(["live", "run.jsonl", "--timeout", "600"]).go()
    p.wait_for("task-h", "q quit  ? help  c cancel timeout")
    p.child.send("?")
    screen = p.wait_for("keys · live", "Every other key works while the keys are shown.")
    for shown, does in KEYS.rows():
        assert f"{shown} " in screen and does[:30] in screen, does
    p.child.send("c")  # other keys work while help is open
    screen = p.wait_for("+ set timeout", "keys · live")
    assert "timeout in" not in screen
    p.child.send("\x1b")
    deadline = time.monotonic() + DEADLINE
    while "keys · live" in p.text:
        assert time.monotonic() < deadline and not p.eof, p.text
        p.pump()
    p.child.send("q")
    assert p.wait_exit() == 3
    p.assert_terminal_restored()
