"""How go test's timeline is laid out: results placed by ``Elapsed``, lanes that follow real
concurrency (recorder/importers/gotimeline.py), and events let out in time order without
waiting for the input's end (holdback.py). The real reports are in test_corpus_go.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from recorder.events import AnyEvent, TaskFailed, TaskSkipped, TaskStarted, TaskSucceeded
from recorder.importers import importer

T0 = 1_800_000_000.0


def _go_lines(*records: tuple[float, str, str, str | None, float | None]) -> list[bytes]:
    """test2json lines from (seconds after T0, action, package, test, elapsed)."""
    out = []
    for dt, action, pkg, test, elapsed in records:
        stamp = datetime.fromtimestamp(T0 + dt, timezone.utc).isoformat().replace("+00:00", "Z")
        rec: dict[str, Any] = {"Time": stamp, "Action": action, "Package": pkg}
        if test is not None:
            rec["Test"] = test
        if elapsed is not None:
            rec["Elapsed"] = elapsed
        out.append(json.dumps(rec).encode() + b"\n")
    return out


def _import_go(lines: Iterable[bytes]) -> list[AnyEvent]:
    return list(importer("gotest")(iter(lines), path="x.json", run="r", name="n"))


def _ends(events: list[AnyEvent]) -> dict[str, tuple[float, str]]:
    return {
        e.task: (round(e.t - T0, 3), e.worker)
        for e in events
        if isinstance(e, (TaskSucceeded, TaskFailed, TaskSkipped))
    }


def test_sequential_subtests_reported_at_their_parents_end_share_its_lane() -> None:
    # go 1.19 writes a subtest's result when its parent ends: s1 and s2 "end" at 0.5
    events = _import_go(
        _go_lines(
            (0.0, "run", "p", "TestA", None),
            (0.0, "run", "p", "TestA/s1", None),
            (0.2, "run", "p", "TestA/s2", None),
            (0.5, "pass", "p", "TestA/s1", 0.2),
            (0.5, "pass", "p", "TestA/s2", 0.3),
            (0.5, "pass", "p", "TestA", 0.5),
            (0.6, "run", "p", "TestB", None),
            (0.7, "pass", "p", "TestB", 0.1),
            (0.7, "pass", "p", None, 0.7),
        )
    )
    assert _ends(events) == {
        "p.TestA/s1": (0.2, "p"),  # placed by Elapsed, not when its result arrived
        "p.TestA/s2": (0.5, "p"),
        "p.TestA": (0.5, "p"),
        "p.TestB": (0.7, "p"),
    }
    assert [e.t for e in events] == sorted(e.t for e in events)  # written in time order


def test_parallel_tests_take_a_lane_only_while_they_really_overlap() -> None:
    # -parallel 2: a and b resume together; c resumes when a ended (Elapsed 0.1), all three
    # results arrive at the group's end
    events = _import_go(
        _go_lines(
            (0.0, "run", "p", "TestG", None),
            (0.0, "run", "p", "TestG/a", None),
            (0.0, "pause", "p", "TestG/a", None),
            (0.0, "run", "p", "TestG/b", None),
            (0.0, "pause", "p", "TestG/b", None),
            (0.0, "run", "p", "TestG/c", None),
            (0.0, "pause", "p", "TestG/c", None),
            (0.01, "cont", "p", "TestG/a", None),
            (0.01, "cont", "p", "TestG/b", None),
            (0.11, "cont", "p", "TestG/c", None),
            (0.4, "pass", "p", "TestG/a", 0.1),
            (0.4, "pass", "p", "TestG/b", 0.3),
            (0.4, "pass", "p", "TestG/c", 0.2),
            (0.4, "pass", "p", "TestG", 0.0),
            (0.4, "pass", "p", None, 0.4),
        )
    )
    ends = _ends(events)
    assert ends["p.TestG/a"] == (0.11, "p")
    assert ends["p.TestG/b"] == (0.31, "p #2")
    assert ends["p.TestG/c"] == (0.31, "p")  # a's lane, free again
    assert len({e.worker for e in events if isinstance(e, TaskStarted)}) == 2


def test_a_finished_package_is_written_while_another_still_runs() -> None:
    # go test -json streams packages as they come, interleaved. Events leave in time order
    # as soon as no running package can place one before them, so memory is bounded by the
    # oldest running package, not the input: a's events up to b's start are out as soon as
    # a ended, the rest when b ends (b started at 0.1, before a's end).
    lines = _go_lines(
        (0.0, "run", "a", "TestShort", None),
        (0.1, "run", "b", "TestLong", None),
        (0.2, "pass", "a", "TestShort", 0.2),
        (0.2, "pass", "a", None, 0.2),
        (0.3, "output", "b", "TestLong", None),
        (5.0, "pass", "b", "TestLong", 4.9),
        (5.0, "pass", "b", None, 5.0),
        (6.0, "run", "c", "TestLast", None),
        (6.1, "pass", "c", "TestLast", 0.1),
        (6.1, "pass", "c", None, 0.1),
    )
    read = 0

    def counting() -> Iterator[bytes]:
        nonlocal read
        for line in lines:
            read += 1
            yield line

    out = [
        (type(e).__name__, getattr(e, "task", ""), read)
        for e in importer("gotest")(counting(), path="x", run="r", name="n")
        if isinstance(e, (TaskStarted, TaskSucceeded))
    ]
    assert out == [  # (lines read: the reader looks one line ahead)
        ("TaskStarted", "a.TestShort", 5),  # out once a ended, before b did
        ("TaskStarted", "b.TestLong", 8),
        ("TaskSucceeded", "a.TestShort", 8),
        ("TaskSucceeded", "b.TestLong", 8),
        ("TaskStarted", "c.TestLast", 10),
        ("TaskSucceeded", "c.TestLast", 10),
    ]
