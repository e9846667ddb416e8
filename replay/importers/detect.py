"""Opening an input to import: files or stdin, gzip/bzip2/xz by their magic bytes, and
telling the format from the first records.

Errors are the library's: a file that cannot be opened is LogUnavailable (exit 66); a
damaged or cut-short compressed stream or an input of no known format is LogInvalid (65).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import IO, cast

import msgspec

from recorder.errors import LogInvalid, LogUnavailable

HEAD = 1 << 16  # bytes of the (decompressed) input used to tell the format and name the run
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_SUFFIXES = (".gz", ".bz2", ".xz")


class _Prefixed(io.RawIOBase):
    """A stream that first returns ``head`` and then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Source:
    """An opened input: its first bytes (decompressed), its lines, a run id and a name."""

    def __init__(self, path: str, stream: IO[bytes], raw: IO[bytes], compression: str | None):
        self.path = path
        self.compression = compression
        self._raw = raw
        self.head = self._guard(lambda: _read_up_to(stream, HEAD))
        self._stream: IO[bytes] = io.BufferedReader(_Prefixed(self.head, stream), 1 << 16)
        digest = hashlib.sha256(self.head)
        if path != "-":
            digest.update(str(_size(raw)).encode())
        self.run_id = digest.hexdigest()[:12]

    @property
    def display_name(self) -> str:
        """The input's file name without a compression suffix: the run's default name."""
        if self.path == "-":
            return "stdin"
        base = os.path.basename(self.path)
        for suffix in _SUFFIXES:
            if base.endswith(suffix):
                return base[: -len(suffix)]
        return base

    def lines(self) -> Iterator[bytes]:
        """The input's lines, each with its line end (the last one may lack it)."""
        stream = self._stream
        while True:
            line = self._guard(stream.readline)
            if not line:
                return
            yield line

    def _guard(self, read: Callable[[], bytes]) -> bytes:
        try:
            return read()
        except (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile) as exc:
            raise LogInvalid(
                self.path, None, f"the {self.compression} data is damaged or cut short ({exc})"
            ) from None
        except OSError as exc:
            if self.compression and not exc.errno:
                raise LogInvalid(
                    self.path, None, f"the {self.compression} data is damaged ({exc})"
                ) from None
            raise LogUnavailable(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()


def _read_up_to(stream: IO[bytes], n: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < n:
        chunk = stream.read(n - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _size(raw: IO[bytes]) -> int:
    try:
        return os.fstat(raw.fileno()).st_size
    except (OSError, ValueError, io.UnsupportedOperation):
        return -1


def open_input(path: str) -> Source:
    """Open ``path`` (or stdin for "-"), decompressing gzip, bzip2 and xz transparently."""
    if path == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        if os.path.isdir(path):
            raise LogUnavailable(f"cannot open {path}: it is a directory")
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by Source.close
        except OSError as exc:
            raise LogUnavailable(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        magic = _read_up_to(raw, 6)
    except OSError as exc:
        if raw is not sys.stdin.buffer:
            raw.close()
        raise LogUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    rest: IO[bytes] = io.BufferedReader(_Prefixed(magic, raw))
    compression = next((kind for m, kind in _MAGIC if magic.startswith(m)), None)
    stream: IO[bytes]
    if compression == "gzip":
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=rest, mode="rb"))
    elif compression == "bzip2":
        stream = cast(IO[bytes], bz2.BZ2File(rest, mode="rb"))
    elif compression == "xz":
        stream = cast(IO[bytes], lzma.LZMAFile(rest, mode="rb"))
    else:
        stream = rest
    try:
        return Source(path, stream, raw, compression)
    except BaseException:
        if raw is not sys.stdin.buffer:
            raw.close()
        raise


def sniff(head: bytes, path: str) -> str:
    """The format of an input from its first bytes; LogInvalid when it is none we know."""
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    stripped = text.lstrip()
    if not stripped:
        raise LogInvalid(path, None, "the input is empty")
    if stripped.startswith(b"<"):
        return "junit"
    lines = text.split(b"\n")
    if len(text) >= HEAD:
        lines = lines[:-1]  # the last one may be cut off by the head's end
    for line in lines:
        line = line.strip()
        if not line.startswith(b"{"):
            continue
        try:
            record = msgspec.json.decode(line)
        except msgspec.DecodeError:
            continue
        if not isinstance(record, dict):
            continue
        fmt = _format_of(record, path)
        if fmt:
            return fmt
    raise LogInvalid(
        path,
        None,
        "cannot tell the format of the input (pytest-reportlog, gotest, libtest or junit); "
        "pass --format",
    )


def _format_of(record: dict[str, object], path: str) -> str | None:
    if "$report_type" in record:
        return "pytest-reportlog"
    if "Action" in record and ("Package" in record or "Time" in record or "ImportPath" in record):
        return "gotest"
    if (
        record.get("type") in ("suite", "test", "bench")
        and "event" in record
        or (record.get("type") == "bench")
    ):
        return "libtest"
    if record.get("type") == "run_started" and "v" in record:
        raise LogInvalid(path, None, "this is already a runreel log; replay it directly")
    return None
