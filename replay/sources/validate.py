"""Is this a well-formed log? Every reason it is not, for ``runreel validate``.

Checks every line, seq gaps per writer, the tail, CRLF line ends and runs joined
into one log. Blank lines and unknown event types (from newer writers) are notes,
not problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recorder.location import LogPath, line_of
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.core.text import plural
from replay.sources.file import CHUNK, ReadReport, read_batches


@dataclass
class Validation:
    """What checking a log found: problems (each makes it invalid) and notes."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: int = 0
    lines: int = 0
    finished: bool = False


def validate(log: LogPath) -> Validation:
    """Check ``log`` against the format; a problem names the file (and line) it is about."""
    report = ReadReport(log)
    m = Metrics()
    for batch in read_batches(log, lenient=True, report=report):
        apply_all(m, batch)
    found = Validation(events=m.events, lines=report.lines, finished=m.finished)
    problems, notes = found.problems, found.notes
    problems.extend(f"{line_of(log, line)}: {reason}" for line, reason in report.skipped)
    if report.skipped_count > len(report.skipped):
        more = report.skipped_count - len(report.skipped)
        problems.append(f"{log}: {plural(more, 'more bad line')}")
    for gap in m.gaps:
        problems.append(
            f"{log}: writer {gap.src!r}: seq jumps from {gap.expected - 1} to {gap.got} "
            f"({'events lost' if gap.got > gap.expected else 'out of order or repeated'})"
        )
    if m.gap_count > len(m.gaps):
        problems.append(f"{log}: {plural(m.gap_count - len(m.gaps), 'more seq gap')}")
    if m.run_starts > 1:
        problems.append(
            f"{log}: {m.run_starts} run_started events; a log holds one run (were logs joined?)"
        )
    blank = report.lines - m.events - report.skipped_count
    if blank > 0:  # not a problem: two writers racing to end a torn line may leave one
        notes.append(f"note: {plural(blank, 'blank line')} (readers skip them)")
    crlf = _crlf_lines(log)
    if crlf:
        problems.append(
            f"{log}: {plural(crlf, 'line')} {'ends' if crlf == 1 else 'end'} in CRLF (\\r\\n); "
            "the format's lines end in \\n"
        )
    if report.torn_line is not None:
        problems.append(
            f"{line_of(log, report.torn_line)}: incomplete last line "
            f"({report.torn_bytes} bytes, no newline): a write was cut short"
        )
    for kind, count in sorted(m.unknown_events.items()):
        events = plural(count, "event")
        notes.append(f"note: {events} of unknown type {kind!r} skipped (newer writer?)")
    return found


def _crlf_lines(log: LogPath) -> int:
    """Lines ending in \\r\\n: readers take them (JSON allows the \\r), the format does not."""
    count, last = 0, b""
    try:
        with open(log, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                count += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
                last = chunk[-1:]
    except OSError:  # it was read a moment ago; a second look is only a bonus
        return 0
    return count
