"""JUnit XML (``<testsuites>``/``<testsuite>``/``<testcase>``) to runreel events.

Every ``<testcase>`` is a task ``classname.name`` (just ``name`` when there is no classname;
a name used before gets its suite's name in front). Where cases start and which lane
(``worker 01``, ...) they take is ``junit_layout``'s: the suites' and cases' own times and
timestamps, parallel lanes only where the times prove them. ``<failure>`` and
``<error>`` fail a case (their text is its detail), ``<skipped>`` skips it (xfail says so in
the reason), Surefire's ``<flakyFailure>``/``<rerunFailure>`` are failed attempts that were
retried. ``system-out``/``system-err`` become log lines. DTDs and entities are refused. See
docs/importers.md.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast
from xml.etree import ElementTree as ET

from recorder.errors import LogInvalid
from recorder.events import AnyEvent
from recorder.importers.emitter import Emitter, Outcome
from recorder.importers.junit_layout import layout
from recorder.importers.lines import first_line, text_lines
from recorder.importers.times import SYNTHETIC_EPOCH, parse_time


@dataclass
class Case:
    """One ``<testcase>``, as read."""

    name: str
    classname: str
    time: float
    timestamp: float | None
    whole_seconds: bool = False
    outcome: Outcome = "succeeded"
    reason: str = ""  # the error or the skip reason, one line
    detail: str = ""  # a failure's text (stack trace, output)
    retries: list[tuple[str, str]] = field(
        default_factory=list
    )  # (error, detail) of earlier failed attempts
    out: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    start: float = 0.0  # where the layout put it
    sub: int = 0  # its lane within a suite whose cases ran in parallel
    offset: float = 0.0  # its start within such a suite
    low: float = 0.0  # the earliest start its whole-second timestamp allows


@dataclass
class Suite:
    """One ``<testsuite>``, as read, and where it was laid out."""

    name: str
    timestamp: float | None
    whole_seconds: bool
    time: float | None
    index: int
    cases: list[Case] = field(default_factory=list)
    out: list[tuple[str, str]] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    declared: int = 0  # failures and errors its writer counted
    width: int = 1  # lanes its cases needed at once
    lanes: list[int] = field(default_factory=list)


def events(lines: Iterable[bytes], *, path: str, run: str, name: str) -> Iterator[AnyEvent]:
    """The runreel events of a JUnit XML document."""
    with _gc_paused():  # millions of small objects, no cycles: collecting would only cost
        root_name, suites = read(lines, path)
        em = Emitter("junit", run, name, {"junit_name": root_name} if root_name else None)
        layout(suites)
        plan = _plan(em, suites)
        first = min((s.start for s in suites), default=SYNTHETIC_EPOCH)
        last = max((s.end for s in suites), default=first)
        total = sum(len(s.cases) for s in suites)
        unlisted = [(s, _unlisted(s)) for s in suites if _unlisted(s)]
        failed = any(s.declared for s in suites)  # the writer's own count of failures
    del suites
    yield em.run_started(plan[0][0] if plan else first, total=total)
    for _t, _order, fn, args in plan:
        yield fn(*args)
    end = max(plan[-1][0], last) if plan else last
    for suite, n in unlisted:
        label = suite.name or f"suite {suite.index + 1}"
        yield em.log(end, f"{label}: counts {n} failures or errors but lists none", "error")
    yield from em.closing(end, failed=failed)


def _unlisted(suite: Suite) -> int:
    """Failures and errors a suite counts (its attributes, its own ``<error>``) when it
    lists no failed case (writers count differently: pytest counts a failed subtest and its
    test twice, so only "none listed" is sure)."""
    listed = any(c.outcome == "failed" for c in suite.cases)
    return 0 if listed else suite.declared


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Reading ---------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _seconds(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        seconds = float(value.replace(",", ""))
    except ValueError:
        return 0.0
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else 0.0


def read(lines: Iterable[bytes], path: str) -> tuple[str, list[Suite]]:
    """The suites and cases of a JUnit document; LogInvalid for anything that is not one."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    suites: list[Suite] = []
    stack: list[Suite] = []
    root: str | None = None
    root_name = ""
    n = 0
    try:
        for n, chunk in _chunks(lines, path):  # noqa: B007 - n is the line for errors
            parser.feed(chunk)
            for event in parser.read_events():
                kind, elem = cast(tuple[str, ET.Element], event)
                tag = _local(elem.tag)
                if root is None:
                    root = tag
                    if tag not in ("testsuites", "testsuite"):
                        raise LogInvalid(
                            path,
                            None,
                            f"not JUnit XML: the root element is <{tag}>, "
                            "expected <testsuites> or <testsuite>",
                        )
                    root_name = elem.get("name", "") if tag == "testsuites" else ""
                if kind == "start" and tag == "testsuite":
                    stamp = elem.get("timestamp")
                    suite = Suite(
                        name=elem.get("name", ""),
                        timestamp=parse_time(stamp) if stamp else None,
                        whole_seconds=stamp is not None and "." not in stamp,
                        time=_seconds(elem.get("time")) if elem.get("time") else None,
                        index=len(suites),
                        declared=_count(elem.get("failures")) + _count(elem.get("errors")),
                    )
                    suites.append(suite)
                    stack.append(suite)
                elif kind == "end" and tag == "testcase":
                    if not stack:  # cases right under <testsuites>
                        suite = Suite(root_name, None, False, None, len(suites))
                        suites.append(suite)
                        stack.append(suite)
                    stack[-1].cases.append(_case(elem))
                    elem.clear()
                elif kind == "end" and tag == "testsuite":
                    suite = stack.pop()
                    for child in elem:
                        if _local(child.tag) in ("system-out", "system-err") and child.text:
                            suite.out.append((_level(child.tag), child.text))
                        elif _local(child.tag) in ("error", "failure"):  # the suite's own
                            suite.declared = max(suite.declared, 1)
                    elem.clear()
        parser.close()
    except ET.ParseError as exc:
        where: int = getattr(exc, "position", (n, 0))[0]
        message = str(exc).split(":", 1)[0]
        if message in ("no element found", "unclosed token") or where > n:
            raise LogInvalid(path, where, "the XML ends early (the input was cut short?)") from None
        raise LogInvalid(path, where, f"invalid XML: {message}") from None
    if root is None:
        raise LogInvalid(path, None, "the input is empty")
    return root_name, suites


def _chunks(lines: Iterable[bytes], path: str) -> Iterator[tuple[int, bytes]]:
    """The document in pieces of about 64 KiB (feeding expat line by line is slow), with
    the number of lines read so far; refuses DTDs and entity declarations."""
    parts: list[bytes] = []
    size = 0
    n = 0
    for n, line in enumerate(lines, start=1):  # noqa: B007 - n is yielded after the loop
        if b"<!DOCTYPE" in line or b"<!ENTITY" in line:
            raise LogInvalid(path, n, "DTDs and entities are not allowed in JUnit XML")
        parts.append(line)
        size += len(line)
        if size >= 1 << 16:
            yield n, b"".join(parts)
            parts.clear()
            size = 0
    if parts:
        yield n, b"".join(parts)


def _count(value: str | None) -> int:
    """A count attribute (``failures="2"``); 0 when absent or not a count."""
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def _level(tag: str) -> str:
    return "stderr" if _local(tag) == "system-err" else "stdout"


def _case(elem: ET.Element) -> Case:
    stamp = elem.get("timestamp")
    case = Case(
        name=elem.get("name", ""),
        classname=elem.get("classname", ""),
        time=_seconds(elem.get("time")),
        timestamp=parse_time(stamp) if stamp else None,
        whole_seconds=stamp is not None and "." not in stamp,
    )
    skipped: ET.Element | None = None
    failure: ET.Element | None = None
    reruns: list[tuple[str, str]] = []
    for child in elem:
        tag = _local(child.tag)
        if tag in ("failure", "error") and failure is None:
            failure = child
        elif tag == "skipped":
            skipped = child
        elif tag in ("flakyFailure", "flakyError"):
            case.retries.append((_error(child), _detail(child)))
        elif tag in ("rerunFailure", "rerunError"):
            reruns.append((_error(child), _detail(child)))
        elif tag in ("system-out", "system-err") and child.text:
            case.out.append((_level(tag), child.text))
    if failure is not None:
        errors = [(_error(failure), _detail(failure)), *reruns]
        case.outcome, (case.reason, case.detail) = "failed", errors[-1]
        case.retries = errors[:-1]
    elif skipped is not None:
        case.outcome, case.reason = "skipped", _skip_reason(skipped)
    return case


def _error(elem: ET.Element) -> str:
    message = first_line(elem.get("message", "")) or first_line(elem.text or "")
    kind = elem.get("type", "")
    if kind and message and kind not in message:
        return f"{kind}: {message}"
    return message or kind or "failed"


def _detail(elem: ET.Element) -> str:
    """A failure's text: the element's own (a stack trace), Surefire's ``<stackTrace>``, or a
    message of several lines; without the blank lines around it."""
    text = elem.text or ""
    if not text.strip():
        trace = next((c for c in elem if _local(c.tag) == "stackTrace"), None)
        text = trace.text or "" if trace is not None else ""
    if not text.strip():
        message = elem.get("message", "").strip()
        text = message if "\n" in message else ""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def _skip_reason(elem: ET.Element) -> str:
    reason = first_line(elem.get("message", "")) or first_line(elem.text or "")
    if "xfail" in elem.get("type", "").lower() and not reason.lower().startswith("xfail"):
        return f"xfail: {reason}" if reason else "xfail"
    return reason or "skipped"


# Emitting ----------------------------------------------------------------------------------


Plan = list[tuple[float, int, Callable[..., AnyEvent], tuple[Any, ...]]]


def _plan(em: Emitter, suites: list[Suite]) -> Plan:
    """Every event to write as (time, order, emitter method, arguments), in time order."""
    plan: Plan = []
    used: dict[str, int] = {}  # task id -> the last number given to a duplicate of it

    def add(t: float, fn: Callable[..., AnyEvent], *args: Any) -> None:
        plan.append((t, len(plan), fn, (t, *args)))

    for suite in suites:
        workers = [f"worker {lane:02d}" for lane in suite.lanes]
        if suite.cases:
            add(suite.start, em.mark, suite.name or f"suite {suite.index + 1}")
        for case in suite.cases:
            worker = workers[case.sub]
            key = _key(case, suite, used)
            start = case.start
            end = start + case.time
            if case.outcome == "skipped":
                add(start, em.end, key, "skipped", case.reason, worker)
                continue
            add(start, em.begin, key, worker)
            tries = len(case.retries) + 1
            for i, (error, detail) in enumerate(case.retries, start=1):
                at = start + case.time * i / tries
                add(at, em.retry, key, error, 0.0, detail)
                add(at, em.begin, key, worker)
            for level, text in case.out:
                for line in text_lines(text):
                    add(end, em.log, line, level)
            add(end, em.end, key, case.outcome, case.reason, worker, case.detail)
        for level, text in suite.out:
            for line in text_lines(text):
                add(suite.end, em.log, line, level)
    plan.sort(key=itemgetter(0, 1))
    return plan


def _key(case: Case, suite: Suite, used: dict[str, int]) -> str:
    """A task id no case before used: ``classname.name``, else ``SUITE: ...``, else ``(N)``."""
    key = f"{case.classname}.{case.name}" if case.classname else case.name
    if key in used and suite.name:
        key = f"{suite.name}: {key}"
    if key in used:
        n = used[key] + 1
        while f"{key} ({n})" in used:
            n += 1
        used[key] = n
        key = f"{key} ({n})"
    used[key] = 1
    return key
