"""Reading an input line by line: numbering, captured output, errors that name the line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from recorder.errors import LogInvalid


def text_lines(text: str) -> Iterator[str]:
    """The non-blank lines of captured output, without line ends."""
    for line in text.splitlines():
        if line.strip():
            yield line


def first_line(text: str, limit: int = 500) -> str:
    """The first non-blank line of a message, trimmed (errors are shown on one line)."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[:limit] + "…"
    return ""


def bad_line(path: str, line: int, reason: str, *, last: bool) -> LogInvalid:
    """The error for an input line that cannot be read; a cut-off last line says so."""
    if last:
        return LogInvalid(
            path, line, f"{reason} (the input ends in the middle of a line: cut short?)"
        )
    return LogInvalid(path, line, reason)


def json_error(path: str, line: int, exc: Exception, *, last: bool) -> LogInvalid:
    """The error for a line that is not valid JSON; a cut-off last line says so."""
    if "truncated" in str(exc):
        if last:
            return bad_line(path, line, "incomplete JSON", last=True)
        return LogInvalid(path, line, "invalid JSON (the record ends before it is complete)")
    return LogInvalid(path, line, f"invalid JSON ({exc})")


def numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line without its end, is-last) for each line of the input."""
    it = iter(lines)
    try:
        prev = next(it)
    except StopIteration:
        return
    n = 1
    for line in it:
        yield n, prev.rstrip(b"\r\n"), False
        prev = line
        n += 1
    yield n, prev.rstrip(b"\r\n"), not prev.endswith(b"\n")
