"""The Recorder's log file: one ``os.write`` of a whole line per event, ``O_APPEND``.

Lines from many threads and processes never interleave, and a crash leaves at most one
torn last line: a writer that attaches ends it first, so its own lines stay whole. See
docs/log-format.md for the durability guarantees.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from typing import Literal, NoReturn

from recorder.errors import LogExists, WriteFailed
from recorder.sinks import Broken, Unwritten

Durability = Literal["never", "always"] | int


class FileSink:
    """Appends lines to the log file at ``path``.

    ``start``: a new run, so the file must be empty or missing (``overwrite``: it is
    emptied). Otherwise the file must exist (attach); a torn last line is ended with a
    newline and ``warning`` says so. ``every``: fsync after that many lines (0: never).
    """

    warning: str | None = None

    def __init__(self, path: str, *, start: bool, overwrite: bool = False, every: int = 0) -> None:
        self.path = path
        self._every = every
        self._unsynced = 0
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        if start:
            flags |= os.O_CREAT | (os.O_TRUNC if overwrite else 0)
        try:
            self._fd = os.open(path, flags, 0o644)
        except FileNotFoundError as exc:
            if not start:
                raise WriteFailed(
                    f"cannot attach to {path}: no such log (start the run first)"
                ) from exc
            raise WriteFailed(f"cannot open {path} for writing: {exc.strerror}") from exc
        except OSError as exc:
            raise WriteFailed(f"cannot open {path} for writing: {exc.strerror}") from exc
        if start and os.fstat(self._fd).st_size > 0:
            os.close(self._fd)
            raise LogExists(path)
        if not start:
            try:
                self.warning = self._end_torn_line()
            except OSError as exc:
                self.close()
                raise WriteFailed(f"cannot write to {path}: {exc.strerror}") from exc
            except BaseException:
                self.close()
                raise

    def _end_torn_line(self) -> str | None:
        """End a line a crashed writer cut short, so ours do not glue onto it."""
        torn, at = _torn_tail(self.path, self._fd)
        if not torn:
            return None
        if os.write(self._fd, b"\n") != 1:
            raise OSError(errno.ENOSPC, "short write (disk full?)")
        # Another process attaching at the same instant (or a writer mid-line where an
        # empty write does not wait, see _torn_tail) may have ended the line first: ours
        # only adds a blank line (readers skip those) and there is nothing to report.
        ours = os.lseek(self._fd, 0, os.SEEK_CUR) - 1
        if _read_at(self.path, ours - 1, 1) == b"\n":
            return None
        return (
            f"{torn} bytes of an incomplete line (a write cut short, e.g. by a crash) ended "
            f"the log at byte {at}; a newline now ends them, so readers report one bad line "
            "there (--lenient skips it)"
        )

    @property
    def fd(self) -> int:
        """The descriptor, for a writer that calls ``os.write`` itself (and ``failed``)."""
        return self._fd

    def write(self, line: bytearray) -> None:
        """One ``os.write`` of the line; a partial line is taken back where it can be."""
        try:
            written = os.write(self._fd, line)
        except OSError as exc:
            self.failed(line, exc)
        if written != len(line):
            self._take_back(line, written)
        if self._every:
            self._unsynced += 1
            if self._unsynced >= self._every:
                self._unsynced = 0
                self._fsync()

    def failed(self, line: bytearray, outcome: int | OSError) -> NoReturn:
        """Raise what an ``os.write`` of ``line`` that raised, or wrote ``outcome`` bytes
        of it, left behind (a partial line is taken back where it can be)."""
        if isinstance(outcome, OSError):
            raise Unwritten(f"cannot write to {self.path}: {outcome.strerror}") from outcome
        self._take_back(line, outcome)

    def _take_back(self, line: bytearray, written: int) -> NoReturn:
        """Remove a partial line, so the next one cannot glue onto it. When another
        writer appended after it, it stays for good: stop writing."""
        short = f"short write to {self.path}: {written} of {len(line)} bytes (disk full?)"
        try:
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
            alone = os.fstat(self._fd).st_size == end  # and the bytes are ours:
            alone = alone and _read_at(self.path, end - written, written) == line[:written]
            if written and alone:
                os.ftruncate(self._fd, end - written)
        except OSError:
            alone = False
        if written and not alone:
            os.close(self._fd)
            raise Broken(
                f"{short}; the partial line could not be removed, so this recorder "
                "is closed (the log has one bad line)"
            )
        raise Unwritten(f"{short}; nothing of the event was kept")

    def close(self) -> None:
        """Flush to disk (when a durability setting asks for it) and close."""
        try:
            if self._every:
                self._fsync()
        finally:
            os.close(self._fd)

    def _fsync(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise WriteFailed(f"cannot flush {self.path} to disk: {exc.strerror}") from exc


def fsync_every(durability: Durability) -> int:
    """Lines per fsync for a durability setting (0: never), or ValueError."""
    if durability == "never":
        return 0
    if durability == "always":
        return 1
    if isinstance(durability, int) and not isinstance(durability, bool) and durability > 0:
        return durability
    raise ValueError(f"durability must be 'never', 'always' or a positive int, not {durability!r}")


def _torn_tail(path: str, fd: int) -> tuple[int, int]:
    """Bytes after the last newline of the log open on ``fd`` (a line a crash cut short)
    and the offset they start at; (0, 0) when it ends with a whole line or is no file."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return 0, 0
        rfd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return 0, 0
    try:
        if os.fstat(rfd).st_ino != os.fstat(fd).st_ino:
            return 0, 0
        seen = _tail(rfd)
        if seen[0]:  # a big line grows page by page while it is written: is it still growing?
            time.sleep(0.05)
            if _tail(rfd) != seen:
                return 0, 0
            # A writer stalled mid-line (a loaded machine) looks the same after any wait,
            # and a newline written now would land after its whole line: a blank line.
            # Every write() holds the file's lock until it ends (Linux local filesystems),
            # so an empty write of ours waits for one in progress; then look once more.
            os.write(fd, b"")
            if _tail(rfd) != seen:
                return 0, 0
        return seen
    except OSError:
        return 0, 0
    finally:
        os.close(rfd)


def _tail(rfd: int) -> tuple[int, int]:
    """(bytes after the last newline, where they start) of the file open on ``rfd``."""
    end = pos = os.fstat(rfd).st_size
    if end == 0 or os.pread(rfd, 1, end - 1) == b"\n":
        return 0, 0
    while pos > 0:
        start = max(pos - (1 << 16), 0)
        newline = os.pread(rfd, pos - start, start).rfind(b"\n")
        if newline >= 0:
            return end - (start + newline + 1), start + newline + 1
        pos = start
    return end, 0


def _read_at(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes of the file at ``path`` from ``offset`` (b"" when they cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        return os.pread(fd, size, offset) if offset >= 0 else b""
    except OSError:
        return b""
    finally:
        os.close(fd)
