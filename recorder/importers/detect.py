"""Opening an input to import: files or stdin, gzip/bzip2/xz by their magic bytes, and
telling the format from the first records.

Errors are the library's: a file that cannot be opened is LogUnavailable (exit 66); a
damaged or cut-short compressed stream or an input of no known format is LogInvalid (65), and
so is an input that is clearly not the format asked for (NotTheFormat; see ``Tally``).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import re
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
_GO_BUILD_FAILED = re.compile(rb"^FAIL\s+\S+ \[(?:build|setup) failed\]$")


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
    if any(_GO_BUILD_FAILED.match(line.strip()) for line in lines):
        return "gotest"  # go before 1.24 reports a package that does not build in plain text
    raise LogInvalid(
        path,
        None,
        "cannot tell the format of the input (pytest-reportlog, gotest, libtest or junit); "
        "pass --format",
    )


def _format_of(record: dict[str, object], path: str) -> str | None:
    kind = kind_of(record)
    if kind == RUNREEL:
        raise LogInvalid(path, None, "this is already a runreel log; replay it directly")
    return kind


RUNREEL = "runreel"  # kind_of's name for a runreel log's first record


def kind_of(record: dict[str, object]) -> str | None:
    """The format a JSON record belongs to (or RUNREEL), None when it is no format's we know."""
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
        return RUNREEL
    return None


# Telling an input that is not the format asked for ------------------------------------------

DESCRIPTION = {
    "pytest-reportlog": "pytest-reportlog output",
    "gotest": "go test -json output",
    "libtest": "libtest JSON output",
    "junit": "JUnit XML",
}
_LOOKS = {
    "pytest-reportlog": "a pytest report log",
    "gotest": "go test -json",
    "libtest": "libtest JSON",
    "junit": "JUnit XML",
}
_NONE_OF_IT = {
    "pytest-reportlog": "no pytest report in it",
    "gotest": "no test2json record in it",
    "libtest": "no libtest record in it",
    "junit": "it does not start with an XML element",
}
_UTF16_32 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<", b"\x00\x00\xfe\xff")
_generic = msgspec.json.Decoder()


class NotTheFormat(LogInvalid):
    """The input is clearly not the format asked for (``--format``): exit 65, nothing written."""

    def __init__(self, path: str, fmt: str, why: str) -> None:
        self.fmt = fmt
        super().__init__(path, None, f"not {DESCRIPTION[fmt]} ({why})")


class Tally:
    """Counts an input's records to tell when it is clearly not the format being imported.

    Every importer of JSON lines counts its own records in ``ours`` and hands every other
    non-blank line to ``other``; ``check`` at the end of the input refuses it when no record
    is the format's, or when the records of one other known format outnumber the format's
    own (plain text lines and JSON of no known format never count against it: go test
    -json 2>&1 carries compiler output, a libtest run with --nocapture a program's prints).
    An input whose records are all the format's but hold no test (go test -json on packages
    without tests, a pytest run that collected nothing) is fine.
    """

    __slots__ = ("binary", "first", "fmt", "foreign", "others", "ours", "path")

    def __init__(self, fmt: str, path: str) -> None:
        self.fmt, self.path = fmt, path
        self.ours = 0  # records of the format
        self.foreign = 0  # other non-blank lines
        self.others: dict[str, int] = {}  # records of another known format, by format
        self.first: bytes | None = None  # the start of the first foreign line
        self.binary = False

    def other(self, line: bytes) -> None:
        """A non-blank line that is not one of the format's records."""
        self.foreign += 1
        if self.first is None:
            self.first = line.lstrip(b"\xef\xbb\xbf \t")[:64]
        if b"\x00" in line:
            self.binary = True
        if line.lstrip().startswith(b"{"):
            try:
                record = _generic.decode(line)
            except msgspec.DecodeError:
                return
            if isinstance(record, dict):
                kind = kind_of(record)
                if kind is not None and kind != self.fmt:
                    self.others[kind] = self.others.get(kind, 0) + 1

    def likeliest(self) -> tuple[str | None, int]:
        """The other known format with the most records, and how many it has."""
        if not self.others:
            return None, 0
        kind = max(self.others, key=lambda k: self.others[k])
        return kind, self.others[kind]

    def check(self) -> None:
        """Raise at the end of the input when it is empty or clearly not the format."""
        if self.ours == 0 and self.foreign == 0:
            raise LogInvalid(self.path, None, "the input is empty")
        if self.ours == 0:
            raise self.error()
        kind, count = self.likeliest()
        if kind is not None and count > self.ours:
            looks = "a runreel log" if kind == RUNREEL else _LOOKS[kind]
            raise NotTheFormat(
                self.path,
                self.fmt,
                f"{count} of its records look like {looks}, only {self.ours} like "
                f"{_LOOKS[self.fmt]}{_try(kind)}",
            )

    def error(self) -> NotTheFormat:
        """The error for an input with none of the format's records."""
        kind, _ = self.likeliest()
        if kind == RUNREEL:
            why = "it is already a runreel log; replay it directly"
        elif kind is not None:
            why = f"it looks like {_LOOKS[kind]}{_try(kind)}"
        elif self.fmt != "junit" and (self.first or b"").startswith(b"<"):
            why = f"it looks like XML{_try('junit')}"
        elif self.binary:
            why = "it looks like binary data"
        else:
            why = _NONE_OF_IT[self.fmt]
        return NotTheFormat(self.path, self.fmt, why)


def _try(kind: str | None) -> str:
    return f"; try --format {kind}" if kind and kind != RUNREEL else ""


def check(head: bytes, path: str, fmt: str) -> None:
    """Refuse before any work an input whose first bytes show it is not ``fmt`` (or empty).

    Only what the head proves: JUnit XML starts with "<"; a pytest report log's lines are
    all reports; go test -json and libtest JSON may start with any amount of plain text (a
    build's output), so their head only refuses when it has none of the format's records
    but another format's, binary data, or an XML declaration. The importer's Tally decides
    the rest at the end of the input.
    """
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if not text.strip():
        raise LogInvalid(path, None, "the input is empty")
    tally = Tally(fmt, path)
    lines = text.split(b"\n")
    if len(head) >= HEAD:
        lines = lines[:-1]  # the last one may be cut off by the head's end
    for line in lines:
        if not line.strip():
            continue
        if fmt == "pytest-reportlog" and b'"$report_type"' in line:
            tally.ours += 1  # (a broken one is the importer's to report, with its line)
        elif fmt in ("gotest", "libtest") and _is_record_of(line, fmt):
            tally.ours += 1
        else:
            tally.other(line)
    start = text.lstrip()
    if fmt == "junit":
        if start.startswith(b"<") or text.startswith(_UTF16_32):
            return
        raise tally.error()
    if tally.ours:
        return
    if fmt == "pytest-reportlog" or tally.others or tally.binary:
        raise tally.error()
    if start.startswith((b"<?xml", b"<testsuite")):
        raise tally.error()


def _is_record_of(line: bytes, fmt: str) -> bool:
    if not line.lstrip().startswith(b"{"):
        return False
    try:
        record = _generic.decode(line)
    except msgspec.DecodeError:
        return False
    return isinstance(record, dict) and kind_of(record) == fmt
