"""A Redis stream and a local JSONL file: pull (archive, resumable), push (upload), and the
local copy of a stream that the reading commands work on.

A pull appends to the file the entries after the last one it holds, in batches, in
constant memory. The sidecar ``FILE.runreel-pull`` records, after each batch, the id of
the last entry written, the file's size then, and the stream's first entry: a pull cut
short resumes without losing or repeating a line (bytes past the recorded size are
dropped and pulled again), and a stream that now holds another run is noticed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass

import msgspec

from recorder.atomic import write_file
from recorder.errors import LogInvalid, LogUnavailable, RunreelError, WriteFailed
from recorder.location import RedisLocation
from recorder.redis_stream import (
    FIELD,
    Entry,
    Refused,
    Stream,
    Unreachable,
    next_id,
    redis_module,
)
from replay.sources.file import CHUNK, check_first_line, open_log

BATCH = 10_000  # entries per XRANGE
PUSH_BATCH = 1_000  # entries per pipelined round trip
SIDECAR = ".runreel-pull"


class PullRefused(RunreelError):
    """The file holds something other than an earlier pull of this stream; ``problem``
    says what, without advice (the library's and the CLI's differ)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; pull into a new file")


class PullState(msgspec.Struct):
    """The sidecar: where the last pull into a file stopped."""

    stream: str  # the location, for people reading the sidecar
    first_id: str
    first_hash: str
    last_id: str
    size: int


@dataclass
class Pulled:
    """What one pull did."""

    entries: int  # appended this time
    size: int  # bytes in the file now
    last_id: str | None
    started_over: bool = False


@dataclass
class Pushed:
    entries: int
    torn_bytes: int  # an incomplete last line, not pushed


def entry_line(entry_id: bytes, fields: dict[bytes, bytes]) -> bytes:
    """The log line an entry holds, newline included. An entry that holds none becomes a
    line every reader reports as bad, so the file keeps one line per entry."""
    line = fields.get(FIELD)
    if line is not None and b"\n" not in line:
        return line + b"\n"
    reason = "no 'line' field" if line is None else "a newline inside its line"
    bad = {"bad_stream_entry": entry_id.decode(), "reason": reason}
    return msgspec.json.encode(bad) + b"\n"


def pull(location: RedisLocation, out: str, *, start_over: bool = False) -> Pulled:
    """Append to ``out`` the entries of the stream that it does not hold yet.

    PullRefused when ``out`` holds anything else (another run, a file changed since),
    unless ``start_over``, which empties it first.
    """
    stream = Stream(location)
    try:
        return _pull(stream, location, out, start_over)
    except (Unreachable, Refused) as exc:
        raise LogUnavailable(f"cannot read {location}: {exc}") from None
    finally:
        stream.close()


def _pull(stream: Stream, location: RedisLocation, out: str, start_over: bool) -> Pulled:
    side = out + SIDECAR
    fd, created = _open(out)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one pull into a file at a time
        state, problem = _read_state(side)
        size = os.fstat(fd).st_size
        first = stream.range("-", 1)
        if not first:
            raise LogUnavailable(f"cannot open {location}: no such stream")
        first_id = first[0][0].decode()
        first_hash = _hash(entry_line(*first[0]))
        if state is None and size and problem is None:
            problem = f"{out} already holds data that was not pulled from a stream"
        elif state is not None and (state.first_id, state.first_hash) != (first_id, first_hash):
            problem = f"{location} holds another run now than the one pulled into {out}"
        elif state is not None and size < state.size:
            problem = f"{out} was changed since the last pull ({size} < {state.size} bytes)"
        started_over = False
        if problem is not None:
            if not start_over:
                raise PullRefused(problem)
            state, started_over = None, True
        size = state.size if state is not None else 0
        _truncate(fd, size, out)  # a pull cut short may have left lines past the last batch
        last = state.last_id if state is not None else None
        after = next_id(last) if last is not None else "-"
        count = 0
        while True:
            entries = stream.range(after, BATCH)
            if not entries:
                break
            data = b"".join(entry_line(*e) for e in entries)
            _write_all(fd, data, out)
            size += len(data)
            count += len(entries)
            last = entries[-1][0].decode()
            after = next_id(last)
            _fsync(fd, out)
            saved = PullState(str(location), first_id, first_hash, last, size)
            write_file(side, msgspec.json.encode(saved).decode() + "\n")
            if len(entries) < BATCH:
                break
        return Pulled(count, size, last, started_over)
    finally:
        if created and os.fstat(fd).st_size == 0:  # nothing pulled: leave no empty file
            _unlink(out)
        os.close(fd)


def local_copy(location: RedisLocation) -> str:
    """The stream pulled into a file in the user's cache directory (brought up to date)."""
    redis_module()  # without redis-py, say so before touching the disk
    path = os.path.join(_cache_dir(), _cache_name(location))
    pull(location, path, start_over=True)
    return path


def push(path: str, location: RedisLocation, *, force: bool = False) -> Pushed:
    """Upload the complete lines of the log at ``path`` as the entries of a new stream.

    WriteFailed when the stream exists (``force`` replaces it) or the upload breaks
    off (it says how many entries made it).
    """
    stream = Stream(location, retry=False)  # a blind retry could append a batch twice
    fd = open_log(path)
    pushed, lines, started = 0, 0, False
    pending = b""
    try:
        batch: list[bytes] = []
        while True:
            try:
                data = os.read(fd, CHUNK)
            except OSError as exc:
                raise LogUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
            if not data:
                break
            buf = pending + data
            cut = buf.rfind(b"\n") + 1
            complete, pending = buf[:cut], buf[cut:]
            if not started and complete:
                check_first_line(complete, path, lines + 1)
            lines += complete.count(b"\n")
            for line in complete.split(b"\n")[:-1]:
                if not line.strip():
                    continue
                if not started:
                    if not stream.create(line, replace=force):
                        raise WriteFailed(
                            f"{location} already holds entries; pass --force to replace them"
                        )
                    started, pushed = True, 1
                    continue
                batch.append(line)
                if len(batch) >= PUSH_BATCH:
                    pushed += stream.add_many(batch)
                    batch = []
        if not started:
            raise LogInvalid(path, None, "the log is empty (no run_started line)")
        if batch:
            pushed += stream.add_many(batch)
    except (Unreachable, Refused) as exc:
        again = f" (push again with --force to replace {pushed})" if pushed else ""
        raise WriteFailed(
            f"cannot push to {location}: {exc}; {pushed} entries were pushed{again}"
        ) from None
    finally:
        os.close(fd)
        stream.close()
    return Pushed(pushed, len(pending))


def _read_state(side: str) -> tuple[PullState | None, str | None]:
    try:
        with open(side, "rb") as f:
            return msgspec.json.decode(f.read(), type=PullState), None
    except FileNotFoundError:
        return None, None
    except (OSError, msgspec.DecodeError) as exc:
        return None, f"{side} cannot be read ({exc})"


def _open(out: str) -> tuple[int, bool]:
    """A descriptor to append to ``out``, and whether this call created it."""
    flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            return os.open(out, flags | os.O_CREAT | os.O_EXCL, 0o666), True
        except FileExistsError:
            return os.open(out, flags), False
    except OSError as exc:
        raise WriteFailed(f"cannot write {out}: {exc.strerror or exc}") from None


def _write_all(fd: int, data: bytes, out: str) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise WriteFailed(f"cannot write {out}: {exc.strerror or exc}") from None


def _truncate(fd: int, size: int, out: str) -> None:
    try:
        if os.fstat(fd).st_size != size:
            os.ftruncate(fd, size)
    except OSError as exc:
        raise WriteFailed(f"cannot write {out}: {exc.strerror or exc}") from None


def _fsync(fd: int, out: str) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        raise WriteFailed(f"cannot write {out}: {exc.strerror or exc}") from None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _hash(line: bytes) -> str:
    return hashlib.blake2b(line, digest_size=16).hexdigest()


def _cache_dir() -> str:
    """The user's cache directory for stream copies (private: logs may hold secrets)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for candidate in (
        os.path.join(base, "runreel", "streams"),
        os.path.join(tempfile.gettempdir(), f"runreel-{os.getuid()}", "streams"),
    ):
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    raise WriteFailed(f"no writable cache directory for stream copies (tried {base})")


def _cache_name(location: RedisLocation) -> str:
    """``host-port-db-stream-HASH.jsonl``: readable in messages, unique per location."""
    shown = str(location).split("://", 1)[1].split("@")[-1]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", shown).strip("-.")[:60]
    key = hashlib.blake2b(str(location).encode(), digest_size=8).hexdigest()
    return f"{readable}-{key}.jsonl"


def entries_lines(entries: list[Entry]) -> bytes:
    """The lines a batch of entries holds, as a chunk of complete lines."""
    return b"".join(entry_line(*e) for e in entries)
