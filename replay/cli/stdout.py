"""Standard output whose write failures can be told apart from every other OSError.

The library turns its own file errors into ``RunreelError``; a failed write to stdout
(a full disk, a closed pipe) surfaces as a bare OSError from deep inside click or rich.
Tagging it at the lowest layer lets ``run_cli`` answer it with exit 74 and one line,
without also swallowing OSErrors that are bugs.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any


class StdoutFailed(OSError):
    """A write to standard output failed; ``code`` is the errno.

    Its own ``errno`` stays None on purpose: click answers an EPIPE by exiting 1 at
    once, before ``run_cli`` could give the documented 74.
    """

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class _TaggedStdout(io.FileIO):
    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            raise StdoutFailed(exc.errno, exc.strerror or str(exc)) from None


def guard_stdout() -> None:
    """Replace ``sys.stdout`` with the same stream whose write errors are StdoutFailed."""
    out = sys.stdout
    if not isinstance(out, io.TextIOWrapper):
        return  # no stdout (closed descriptor), or one somebody else replaced
    try:
        fd = out.fileno()
        out.flush()
    except (OSError, ValueError):
        return
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_TaggedStdout(fd, "w", closefd=False)),
        encoding=out.encoding,
        errors=out.errors,
        line_buffering=out.line_buffering,
        write_through=out.write_through,
    )


def discard_stdout() -> None:
    """Send whatever stdout still holds to /dev/null, so the interpreter's last flush at
    exit cannot fail again (and print "Exception ignored") after the error was reported."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
