"""The installed ``runreel replay`` in a real pseudo-terminal (pexpect), read through pyte.

The console script next to ``sys.executable`` runs behind ``sh -c 'read _; exec ...'``
so the terminal settings can be saved before runreel starts; every wait polls the
screen against a deadline (no fixed sleeps), and every child is killed at the end.
"""

from __future__ import annotations

import os
import signal
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest
from conftest import invoke
from test_replay import story

RUNREEL = str(Path(sys.executable).with_name("runreel"))
DEADLINE = 15.0  # seconds any expected change may take on a loaded machine
ENV_DROP = {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"}

pytestmark = pytest.mark.skipif(not os.path.exists(RUNREEL), reason="runreel is not installed")


class Pty:
    """``runreel replay ARGS`` in a pseudo-terminal of ``cols`` x ``rows``."""

    def __init__(self, args: list[str], cwd: Path, *, cols: int = 110, rows: int = 32) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.eof = False
        env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
        env["TERM"] = "xterm-256color"
        self.tmp = cwd / "tmp"  # the viewer's temporary files (``left_behind``)
        self.tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(self.tmp)
        self.child = pexpect.spawn(
            "/bin/sh",
            ["-c", 'read _ && exec "$0" "$@"', RUNREEL, "replay", *args],
            cwd=str(cwd),
            env=env,
            dimensions=(rows, cols),
        )
        self.attrs_before = termios.tcgetattr(self.child.child_fd)
        self.child.send("\n")

    def pump(self, timeout: float = 0.05) -> None:
        if self.eof:
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

    def wait_for(self, *needles: str) -> str:
        """The screen once every needle is on it."""
        deadline = time.monotonic() + DEADLINE
        while True:
            text = self.text
            if all(n in text for n in needles):
                return text
            if self.eof or time.monotonic() > deadline:
                pytest.fail(f"{needles!r} not on screen (eof={self.eof}):\n{text}")
            self.pump()

    def press(self, key: str, *needles: str) -> str:
        self.child.send(key)
        return self.wait_for(*needles)

    def wait_exit(self) -> int:
        deadline = time.monotonic() + DEADLINE
        while not self.eof:
            if time.monotonic() > deadline:
                pytest.fail(f"runreel still running:\n{self.text}")
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
        assert termios.tcgetattr(self.child.child_fd) == self.attrs_before, "termios not restored"

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[type[Pty]]:
    made: list[Pty] = []

    class Tracked(Pty):
        def __init__(self, args: list[str], **kw: int) -> None:
            super().__init__(args, tmp_path, **kw)
            made.append(self)

    yield Tracked
    for p in made:
        p.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return story(tmp_path / "story.jsonl")


def test_keys_seek_step_and_pause_and_q_exits_with_the_code_of_the_state(
    replay: type[Pty], log: Path
) -> None:
    p = replay([str(log), "--speed", "1"])
    screen = p.wait_for("playing 1x", "/ 00:40", "space pause")
    bar = next(line for line in screen.splitlines() if "●" in line)
    assert bar.count("◆") == 2 and bar.count("✖") == 2, "the timeline: marks and failures"
    p.press(" ", "paused")
    p.press("G", "event 13/13", "finished: partial failure")
    p.press("g", "event 1/13")
    p.press("]", "event 4/13", "00:02 / 00:40")
    p.press("e", "event 6/13", "disk full")
    p.press("\x1b[C", "00:09 / 00:40", "event 9/13")  # right arrow: +5 s
    p.press("\x1b[D", "00:04 / 00:40", "event 6/13")  # left arrow: -5 s
    p.press(",", "event 5/13")
    p.press(".", "event 6/13")
    p.press("9", "00:36 / 00:40", "event 10/13")
    p.press("+", "paused")
    p.child.send("q")
    assert p.wait_exit() == 3, "stopped before run_finished: incomplete"
    p.assert_terminal_restored()
    tail = bytes(p.raw[p.raw.rfind(b"\x1b[?1049l") :]).decode("utf-8", "replace")
    assert "event 10/13" in tail and "stopped: quit" in tail


def test_playing_to_the_end_waits_and_q_exits_with_the_run_outcome(
    replay: type[Pty], log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "frame.txt"
    p = replay([str(log), "--speed", "64", "--snapshot", str(out)])
    p.wait_for("end", "event 13/13", "finished: partial failure")
    p.child.send("q")
    assert p.wait_exit() == 2
    p.assert_terminal_restored()
    frame = out.read_text()
    assert "Errors (2 failed" in frame and len(frame.splitlines()) == 32
    assert max(len(line) for line in frame.splitlines()) == 110, "the terminal's size"


def test_q_saves_the_frame_shown_not_an_interrupted_run(
    replay: type[Pty], log: Path, tmp_path: Path
) -> None:
    """Paused on an event, q leaves the viewer: ``--snapshot`` is the position's state as
    shown (what ``snapshot --at '#N'`` draws at the terminal's size), the run still
    running there, not "interrupted" with its tasks "unfinished"; the exit code is 3."""
    out = tmp_path / "rp.txt"
    p = replay([str(log), "--instant", "--snapshot", str(out)])
    p.wait_for("end", "event 13/13")
    p.press("[", "event 10/13")
    screen = p.press(".", "paused", "event 11/13")
    assert "running" in screen and "interrupted" not in screen
    p.child.send("q")
    assert p.wait_exit() == 3
    frame = out.read_text()
    same = invoke(["snapshot", str(log), "--at", "#11", "--width", "110", "--height", "32"])
    assert frame == same.stdout
    assert "interrupted" not in frame.lower() and "unfinished" not in frame
    assert "1 running" in frame and "Workers (1 busy / 2)" in frame


def test_q_saves_the_view_shown(replay: type[Pty], log: Path, tmp_path: Path) -> None:
    out = tmp_path / "view.txt"
    p = replay([str(log), "--instant", "--snapshot", str(out)])
    p.wait_for("end", "event 13/13")
    p.press("i", "tasks ended per bucket")
    p.child.send("q")
    assert p.wait_exit() == 2
    frame = out.read_text()
    assert "tasks ended per bucket" in frame and "Status" not in frame


def test_speed_keys_and_ctrl_c(replay: type[Pty], log: Path) -> None:
    p = replay([str(log), "--speed", "0.5", "--pause-at-marks"])
    p.wait_for("playing 0.5x")
    p.press("+", "playing 1x")
    p.press("+", "playing 2x")
    p.press("-", "playing 1x")
    p.wait_for("paused", "event 4/13")  # stopped at the mark at 00:02
    p.child.kill(signal.SIGINT)
    assert p.wait_exit() == 130
    p.assert_terminal_restored()


def test_a_replay_started_in_the_background_ends_cleanly_on_sigterm(tmp_path: Path) -> None:
    """``runreel replay LOG &`` in a shell with job control: a background job may not set
    the terminal's modes (no keys for it), and SIGTERM still ends it with 143 and the
    snapshot, not with a termios error."""
    log = story(tmp_path / "story.jsonl")
    shell = pexpect.spawn(
        "bash",
        ["--norc", "--noprofile", "-i"],
        cwd=str(tmp_path),
        env={**os.environ, "PS1": "$ ", "TERM": "xterm-256color"},
        dimensions=(30, 100),
        timeout=20,
    )
    try:
        shell.expect_exact("$ ")
        shell.sendline(
            f"{RUNREEL} replay {log.name} --speed 0.1 --snapshot bg.txt 2>err.txt & "
            "sleep 2; kill -TERM %1; wait %1; echo EXIT=$?"
        )
        shell.expect(r"EXIT=(\d+)")
        assert shell.match.group(1) == b"143", (tmp_path / "err.txt").read_text()
        assert (tmp_path / "bg.txt").read_text().startswith("╭")
        assert "Traceback" not in (tmp_path / "err.txt").read_text()
    finally:
        shell.close(force=True)


def wait_gone(p: Pty, needle: str) -> str:
    """The screen once ``needle`` has left it."""
    deadline = time.monotonic() + DEADLINE
    while needle in p.text:
        if p.eof or time.monotonic() > deadline:
            pytest.fail(f"{needle!r} still on screen (eof={p.eof}):\n{p.text}")
        p.pump()
    return p.text


def test_question_mark_shows_every_key_over_the_dashboard_and_keys_still_work(
    replay: type[Pty], log: Path
) -> None:
    from replay.sessions.replay_keys import KEYS

    p = replay([str(log), "--speed", "1"], cols=100, rows=30)
    p.wait_for("playing 1x", "? help")
    p.press(" ", "paused · 1x")
    p.press("g", "event 1/13")
    screen = p.press("?", "keys · replay", "Every other key works while the keys are shown.")
    for shown, does in KEYS.rows():
        assert any(shown in line and does in line for line in screen.splitlines()), screen
    assert "runreel story" in screen and "event 1/13" in screen, "the dashboard stays around it"
    p.press("]", "event 4/13", "keys · replay")  # other keys work; help stays open
    p.press("+", "paused at mark warm · 2x", "keys · replay")  # the speed shows while paused
    p.child.send("\x1b")  # Esc closes it
    wait_gone(p, "keys · replay")
    p.press("?", "keys · replay")
    p.child.send("?")  # so does ? again
    wait_gone(p, "keys · replay")
    p.press("]", "event 10/13")
    p.press("]", "no later mark", "event 10/13")
    p.press("?", "keys · replay")
    p.child.send("q")  # quits with help open; the frame left behind has no help in it
    assert p.wait_exit() == 3
    p.assert_terminal_restored()
    tail = bytes(p.raw[p.raw.rfind(b"\x1b[?1049l") :]).decode("utf-8", "replace")
    assert "event 10/13" in tail and "keys · replay" not in tail
