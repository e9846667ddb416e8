"""``runreel live`` in a real pseudo-terminal, watched on a pyte screen (bench/live_latency.py).

The installed console script (next to ``sys.executable``) runs at ``--refresh 10`` under
pexpect; a reader thread feeds what it writes to a pyte screen and timestamps the moment
a marker first shows. Its CPU use is read from ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pexpect
import pyte

RUNREEL = str(Path(sys.executable).with_name("runreel"))
REFRESH_HZ = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Each view and the key that opens it (the live keymap's); the overview is the baseline.
VIEW_KEYS = {
    "overview": "o",
    "failures": "f",
    "tasks": "t",
    "workers": "w",
    "timeline": "i",
    "log": "l",
    # the overview after the tasks view was open (a second each): the views' store is
    # no longer written, so this reads as the overview (issue 15)
    "overview-after-tasks": "to",
}


def viewer_env(code: str | None = None) -> dict[str, str]:
    """The viewer's environment; ``code``: a checkout whose ``replay`` the viewer runs."""
    drop = {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["TERM"] = "xterm-256color"
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


class Viewer:
    """``runreel live LOG`` in a pty, read on a thread into a pyte screen."""

    def __init__(self, log: Path, cols: int, rows: int, code: str | None = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.want: str | None = None
        self.seen = threading.Event()
        self.seen_at = 0.0
        self.child = pexpect.spawn(
            RUNREEL,
            ["live", str(log), "--refresh", str(REFRESH_HZ)],
            env=viewer_env(code),
            dimensions=(rows, cols),
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(1 << 16, 0.05)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                return
            arrived = time.perf_counter()
            with self.lock:
                self.stream.feed(data)
                if self.want is not None and not self.seen.is_set():
                    if self.want in self._text():
                        self.seen_at = arrived
                        self.seen.set()

    def _text(self) -> str:
        return "\n".join(self.screen.display)

    def expect(self, marker: str) -> None:
        """Signal ``seen`` (with ``seen_at``) once ``marker`` is on the screen."""
        with self.lock:
            self.want = marker
            self.seen.clear()
            if marker in self._text():
                self.seen_at = time.perf_counter()
                self.seen.set()

    def wait_for(self, marker: str, timeout: float) -> float | None:
        """Seconds until ``marker`` shows (None if it does not within ``timeout``)."""
        start = time.perf_counter()
        self.expect(marker)
        if not self.seen.wait(timeout):
            return None
        return self.seen_at - start

    def cpu(self) -> float:
        return cpu_seconds(self.child.pid)

    def press(self, keys: str, settle: float = 1.0) -> None:
        """Press each of ``keys`` (a view's: ``VIEW_KEYS``), giving the view ``settle``
        seconds to open after each (its store catches up with the file on its first frame)."""
        for key in keys:
            self.child.send(key)
            time.sleep(settle)

    def close(self) -> None:
        if self._alive():
            self.child.send("q")
            deadline = time.monotonic() + 5
            while self._alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            self.child.close(force=True)
        except pexpect.ExceptionPexpect:
            pass  # already reaped by the reader thread

    def _alive(self) -> bool:
        """Whether the viewer runs (the reader thread may reap it first, at its EOF)."""
        try:
            return bool(self.child.isalive())
        except pexpect.ExceptionPexpect:
            return False


def cpu_share(viewer: Viewer, seconds: float) -> float:
    """The viewer's CPU use over ``seconds`` of wall time, in % of one core."""
    c0, t0 = viewer.cpu(), time.monotonic()
    time.sleep(seconds)
    c1, t1 = viewer.cpu(), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0)
