"""Keys and signals as one queue of inputs, read off the render loop.

The terminal is switched to cbreak only when stdin is a TTY, and always restored.
SIGINT and SIGTERM become inputs too, so the loop wakes at once and shuts down
through the same path as ``q``.
"""

from __future__ import annotations

import errno
import os
import queue
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

SIGINT_KEY = "<sigint>"
SIGTERM_KEY = "<sigterm>"
# Inputs that end any session, and the reason each gives (the exit code follows from it).
STOPS = {"q": "quit", "Q": "quit", SIGINT_KEY: "sigint", SIGTERM_KEY: "sigterm"}
SIGNALS = (SIGINT_KEY, SIGTERM_KEY)  # these stop a session even while a filter is typed

_ESCAPES = {
    "\x1b[A": "up",
    "\x1b[B": "down",
    "\x1b[C": "right",
    "\x1b[D": "left",
    "\x1b[H": "home",
    "\x1b[F": "end",
    "\x1b[1~": "home",
    "\x1b[4~": "end",
    "\x1bOH": "home",
    "\x1bOF": "end",
    "\x1b[5~": "pgup",
    "\x1b[6~": "pgdn",
    "\x1b[Z": "backtab",
}
# Control keys a view uses, by the byte a terminal in cbreak mode sends.
_CONTROLS = {"\t": "tab", "\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace"}


class Inputs:
    """A queue of keys and signal names that a loop can wait on with a timeout."""

    def __init__(self) -> None:
        # SimpleQueue.put is reentrant: a signal handler may call it while the main
        # thread is inside get() (queue.Queue can deadlock there).
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()

    def put(self, key: str) -> None:
        self._queue.put(key)

    def wait(self, timeout: float) -> list[str]:
        """Keys that arrive within ``timeout`` seconds (returns early on the first one)."""
        try:
            first = self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return []
        keys = [first]
        while True:
            try:
                keys.append(self._queue.get_nowait())
            except queue.Empty:
                return keys


def split_keys(data: str) -> list[str]:
    """Keys in a burst of terminal input; arrow keys and Esc become names like ``left``."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        for seq, name in _ESCAPES.items():
            if data.startswith(seq, i):
                keys.append(name)
                i += len(seq)
                break
        else:
            if data[i] == "\x1b" and data[i + 1 : i + 2] in ("", "\x1b"):
                keys.append("esc")  # Esc alone: a sequence arrives in one read, whole
                i += 1
                continue
            if data[i] == "\x1b":  # an escape sequence we do not use: drop it whole
                j = i + 1
                if j < len(data) and data[j] in "[O":
                    j += 1
                    while j < len(data) and not data[j].isalpha() and data[j] != "~":
                        j += 1
                    j += 1
                i = max(j, i + 1)
                continue
            keys.append(_CONTROLS.get(data[i], data[i]))
            i += 1
    return keys


@contextmanager
def keyboard(inputs: Inputs) -> Iterator[bool]:
    """Read keys from stdin into ``inputs`` while the block runs; yields whether it can."""
    try:
        fd = sys.stdin.fileno()
        is_tty = os.isatty(fd)
    except (AttributeError, ValueError, OSError):
        is_tty = False
    if not is_tty or not _in_foreground(fd):
        yield False
        return
    import termios
    import tty

    saved = _no_eintr(lambda: termios.tcgetattr(fd))
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    data = os.read(fd, 64)
                    if not data:
                        return
                    for key in split_keys(data.decode("utf-8", "replace")):
                        inputs.put(key)
            except (OSError, ValueError):
                return

    _no_eintr(lambda: tty.setcbreak(fd, termios.TCSANOW))
    thread = threading.Thread(target=read, name="runreel-keys", daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join(0.5)
        _no_eintr(lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved))


def _in_foreground(fd: int) -> bool:
    """Whether this process is the terminal's foreground job: a background job (``cmd &``)
    may neither read keys nor change the terminal's modes (the kernel would stop it)."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


_T = TypeVar("_T")


def _no_eintr(call: Callable[[], _T]) -> _T:
    """``call()``, again when a signal interrupted it (termios calls are not retried)."""
    import termios

    while True:
        try:
            return call()
        except termios.error as exc:
            if not exc.args or exc.args[0] != errno.EINTR:
                raise


@contextmanager
def signals(inputs: Inputs) -> Iterator[None]:
    """SIGINT and SIGTERM become inputs for the duration of the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        inputs.put(SIGTERM_KEY if signum == signal.SIGTERM else SIGINT_KEY)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
