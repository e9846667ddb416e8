"""Importers: other tools' test reports as runreel logs, so a CI run can be replayed.

This package's registry: the formats and the module of each. One module per format
(``pytest_reportlog``, ``gotest``, ``libtest``, ``junit``); each is a generator from the
input's lines to runreel events with a fixed ``src`` (``import:FORMAT``) and ``seq`` 1..N:
``run_started`` first, ``run_finished`` last when the input shows the run ended. What the
formats share has its own module: ``detect`` opens (and decompresses) the input and tells
its format, ``emitter`` stamps events and keeps track of tasks, ``lanes`` makes synthetic
workers, ``times`` parses times, ``lines`` reads lines, ``output`` writes the log;
``gotimeline`` (when go tests ran, on which lane) and ``holdback`` (events let out in time
order once their time is known) serve go test. The
mapping is documented in docs/importers.md.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from recorder.errors import LogInvalid
from recorder.events import AnyEvent
from recorder.importers import detect
from recorder.importers.emitter import stating_total, task_count

FORMATS: tuple[str, ...] = ("pytest-reportlog", "gotest", "libtest", "junit")
_MODULES = {
    "pytest-reportlog": "recorder.importers.pytest_reportlog",
    "gotest": "recorder.importers.gotest",
    "libtest": "recorder.importers.libtest",
    "junit": "recorder.importers.junit",
}


class Importer(Protocol):
    """What every format module provides."""

    def __call__(
        self, lines: Iterable[bytes], *, path: str, run: str, name: str
    ) -> Iterator[AnyEvent]: ...


def importer(fmt: str) -> Importer:
    """The ``events`` generator of a format (modules are imported on first use)."""
    try:
        module = importlib.import_module(_MODULES[fmt])
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}") from None
    events: Importer = module.events
    return events


def import_events(
    path: str, fmt: str | None = None, *, name: str | None = None
) -> tuple[str, Imported]:
    """Open ``path`` ("-" for stdin; .gz/.bz2/.xz are read transparently), detect its format
    unless given, and return the format and the runreel events.

    A given format is checked against the input's first bytes at once (detect.check), so an
    input that is clearly another format fails before anything is written; the importers
    check the rest as they read (detect.Tally). A report read from a file is read twice: a
    first pass counts its tests, so ``run_started`` states the total and a replay shows
    progress, remaining and ETA from the start. Stdin (or a pipe) is read once, as it comes,
    and its total is only known at its end.
    """
    source = detect.open_input(path)
    try:
        if fmt:
            detect.check(source.head, path, fmt)
        chosen = fmt or detect.sniff(source.head, path)
        run_name = name if name is not None else source.display_name
        make = importer(chosen)
        events = make(source.lines(), path=path, run=source.run_id, name=run_name)
        if os.path.isfile(path):
            events = stating_total(events, _count_tasks(path, make))
    except BaseException:
        source.close()
        raise
    return chosen, Imported(events, source, path)


def _count_tasks(path: str, make: Importer) -> int:
    """The number of tasks the report at ``path`` makes (the first of two passes)."""
    source = detect.open_input(path)
    try:
        return task_count(make(source.lines(), path=path, run="", name=""))
    finally:
        source.close()


class Imported:
    """The events of an opened input; ``close()`` (or the end of the events) closes it.

    Never ends without an event: an empty log is no run, so an import that makes none fails.
    """

    def __init__(self, events: Iterator[AnyEvent], source: Any, path: str = "-") -> None:
        self._events = events
        self._source = source
        self._path = path
        self._any = False

    def __iter__(self) -> Imported:
        return self

    def __next__(self) -> AnyEvent:
        try:
            event = next(self._events)
        except StopIteration:
            self.close()
            if not self._any:
                raise LogInvalid(self._path, None, "nothing to import: no test run in it") from None
            raise
        except BaseException:
            self.close()
            raise
        self._any = True
        return event

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()
        self._source.close()
