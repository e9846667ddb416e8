"""The ``detail`` of a failure: a traceback or a test's full output, bounded in size.

``error`` is the one line a dashboard shows; ``detail`` keeps what a post-mortem needs.
A huge output (a test that printed megabytes, a deep recursion) must not make one log line
huge, so a detail longer than MAX_DETAIL characters keeps its start and its end (where a
traceback names the exception) and says how much was cut between them.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Iterable
from types import TracebackType

MAX_DETAIL = 16_000  # characters kept of a detail; the rest is cut from the middle
_HEAD = MAX_DETAIL // 4  # the start: where a traceback begins, a Go test's first errors
_TAIL = MAX_DETAIL - _HEAD  # the end: a Python traceback's innermost frames and exception


def cut_marker(count: int) -> str:
    """The line that stands for ``count`` characters cut from a detail."""
    return f"[... {count:,} characters cut ...]"


def bounded(text: str) -> str:
    """``text`` if it is at most MAX_DETAIL characters, else its start and end around a marker.

    Cuts fall on line ends where there is one near, so no line is cut in the middle.
    """
    if len(text) <= MAX_DETAIL:
        return text
    head = text[:_HEAD]
    newline = head.rfind("\n")
    if newline > _HEAD // 2:
        head = head[: newline + 1]
    tail = text[-_TAIL:]
    newline = tail.find("\n")
    if 0 <= newline < _TAIL // 2:
        tail = tail[newline + 1 :]
    cut = len(text) - len(head) - len(tail)
    return f"{head.rstrip(chr(10))}\n{cut_marker(cut)}\n{tail}"


def traceback_text(exc: BaseException, tb: TracebackType | None = None) -> str:
    """The traceback Python would print for ``exc`` (causes and context included), bounded.

    ``tb`` replaces the exception's own traceback (without the frames that only record it).
    """
    if tb is None:
        tb = exc.__traceback__
    lines = traceback.format_exception(type(exc), exc, tb)
    return bounded("".join(lines).rstrip("\n"))


class Lines:
    """A detail collected line by line in bounded memory: the first lines and the last ones.

    For importers, which see a test's output one line at a time and learn only at its end
    whether it failed.
    """

    __slots__ = ("_cut", "_head", "_head_size", "_tail", "_tail_size")

    def __init__(self) -> None:
        self._head: list[str] = []
        self._head_size = 0
        self._tail: deque[str] = deque()
        self._tail_size = 0
        self._cut = 0

    def add(self, line: str) -> None:
        """One line, without its line end."""
        size = len(line) + 1
        if not self._tail and self._head_size + size <= _HEAD:
            self._head.append(line)
            self._head_size += size
            return
        self._tail.append(line)
        self._tail_size += size
        while self._tail_size > _TAIL and len(self._tail) > 1:
            dropped = self._tail.popleft()
            self._tail_size -= len(dropped) + 1
            self._cut += len(dropped) + 1

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.add(line)

    def text(self) -> str:
        """The lines joined, with a marker where lines were dropped; bounded as a whole."""
        if not self._cut:
            return bounded("\n".join([*self._head, *self._tail]))
        parts = [*self._head, cut_marker(self._cut), *self._tail]
        return bounded("\n".join(parts))

    def __bool__(self) -> bool:
        return bool(self._head or self._tail)


def error_line(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, as a task's one-line ``error`` says it."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text or type(exc).__name__
