"""``go test -json`` (test2json) to runreel events.

Every test and subtest is a task ``PKG.TestName[/sub]`` where PKG is the shortest unique
tail of the import path. Each package is a worker; tests running at the same time in one
package (``t.Parallel``, after ``pause``/``cont``) get extra lanes ``PKG #2``, … A paused
test gives its lane up and takes one again at ``cont``; a subtest runs in its parent's lane.
Output lines become log events; a test's first message is its error, its last one its skip
reason, and a failed test's whole output its detail. A package that fails with no failing
test (build failure, panic, TestMain exit) is a task of its own, ``PKG``, that failed. A
test that runs again after failing (gotestsum --rerun-fails) is the next attempt of the same
task. Lines that are not JSON (the compiler's stderr when 2>&1) are log lines too; JSON
records without an Action are skipped. An input with no test2json record, or more of another
format's, is refused (detect.Tally). See docs/importers.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import msgspec

from recorder.detail import Lines
from recorder.events import AnyEvent
from recorder.importers.detect import Tally
from recorder.importers.emitter import Emitter
from recorder.importers.lanes import Lanes
from recorder.importers.lines import bad_line, first_line, json_error, numbered
from recorder.importers.times import SYNTHETIC_EPOCH, parse_rfc3339


class GoEvent(msgspec.Struct, gc=False):
    """One test2json record (Go 1.24+ build events included)."""

    Action: str = ""
    Time: str | None = None
    Package: str = ""
    Test: str | None = None
    Output: str | None = None
    Elapsed: float | None = None
    ImportPath: str | None = None
    FailedBuild: str | None = None


_decoder = msgspec.json.Decoder(GoEvent)
_MARKERS = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- ")
_FRAMING = _MARKERS[:4]  # test2json's own lines: not part of what a test printed
_REPORTED = re.compile(r"\s*(?:[\w/.-]+: )?[\w.-]+\.go:\d+: |panic: ")
_SUMMARY = ("FAIL\t", "ok  \t", "ok \t", "?   \t", "PASS", "FAIL", "coverage:")


@dataclass
class _Test:
    name: str
    key: str
    first_msg: str = ""
    error: str = ""  # the first t.Error/t.Fatal line (file_test.go:NN: ...) or panic
    last_msg: str = ""
    child_failed: bool = False
    lent_from: str | None = None
    output: Lines = field(default_factory=Lines)  # the detail, should the test fail


@dataclass
class _Package:
    path: str
    short: str
    lanes: Lanes
    tests: dict[str, _Test] = field(default_factory=dict)
    failed_tests: int = 0
    ended: bool = False
    build_failed: bool = False
    build_detail: str = ""
    panic: str = ""
    note: str = ""
    output: Lines = field(default_factory=Lines)  # build and package output: a failure's detail
    crashed: bool = False  # a test's output had a panic: the output from it on is the package's


def events(lines: Iterable[bytes], *, path: str, run: str, name: str) -> Iterator[AnyEvent]:
    """The runreel events of a ``go test -json`` stream."""
    yield from _Import(path, run, name).events(lines)


def _lane_names(short: str) -> Callable[[int], str]:
    """Lane 1 of a package is the package itself; more lanes are ``PKG #2``, ..."""

    def name(lane: int) -> str:
        return short if lane == 1 else f"{short} #{lane}"

    return name


class _Import:
    def __init__(self, path: str, run: str, name: str) -> None:
        self.path = path
        self.em = Emitter("gotest", run, name)
        self.packages: dict[str, _Package] = {}
        self.shorts: set[str] = set()
        self.clock: float | None = None
        self.timeless = 0

    def events(self, lines: Iterable[bytes]) -> Iterator[AnyEvent]:
        em = self.em
        tally = Tally("gotest", self.path)
        for n, line, last in numbered(lines):
            stripped = line.strip()
            if not stripped:
                continue
            if not stripped.startswith(b"{"):
                tally.other(line)
                t = self._time(None)
                if not em.started:
                    yield em.run_started(t)
                yield em.log(t, line.decode("utf-8", "replace"), "stderr")
                continue
            try:
                e = _decoder.decode(line)
            except msgspec.ValidationError as exc:
                raise bad_line(
                    self.path, n, f"unexpected test2json record: {exc}", last=False
                ) from None
            except msgspec.DecodeError as exc:
                raise json_error(self.path, n, exc, last=last) from None
            if not e.Action:  # no test2json record (another tool's JSON): counted, skipped
                tally.other(line)
                continue
            tally.ours += 1
            t = self._time(e.Time)
            if not em.started:
                yield em.run_started(t)
            yield from self._event(t, e)
        tally.check()
        done = self.packages and all(p.ended for p in self.packages.values())
        if done and not em.open_tasks():
            yield from em.closing(max(em.last_t, self.clock or em.last_t))

    def _time(self, text: str | None) -> float:
        t = parse_rfc3339(text) if text else None
        if t is None:
            if self.clock is None:  # no time seen yet: a synthetic step per record
                self.timeless += 1
                return SYNTHETIC_EPOCH + self.timeless * 0.01
            return self.clock
        self.clock = t
        return t

    def _package(self, t: float, path: str) -> tuple[_Package, list[AnyEvent]]:
        pkg = self.packages.get(path)
        if pkg is not None:
            return pkg, []
        short = self._short(path)
        pkg = self.packages[path] = _Package(path, short, Lanes(_lane_names(short)))
        return pkg, [self.em.mark(t, short)]

    def _short(self, path: str) -> str:
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            short = "/".join(parts[-i:])
            if short not in self.shorts:
                self.shorts.add(short)
                return short
        n = 2
        while f"{path} ({n})" in self.shorts:
            n += 1
        self.shorts.add(f"{path} ({n})")
        return f"{path} ({n})"

    def _event(self, t: float, e: GoEvent) -> Iterator[AnyEvent]:
        action = e.Action
        if action in ("build-output", "build-fail"):
            yield from self._build(t, e)
            return
        pkg, marks = self._package(t, e.Package)
        yield from marks
        if action in ("run", "start"):
            pkg.ended = False
        if e.Test is None:
            yield from self._package_event(t, pkg, e)
            return
        em = self.em
        test = pkg.tests.get(e.Test)
        if action == "run":
            test = pkg.tests[e.Test] = _Test(e.Test, f"{pkg.short}.{e.Test}")
            yield em.begin(t, test.key, self._take(pkg, test))
        elif action == "cont" and test is not None:
            yield em.begin(t, test.key, self._take(pkg, test))
        elif action == "pause" and test is not None:
            self._release(pkg, test)
        elif action in ("output", "bench"):
            yield from self._output(t, pkg, test, e.Output or "")
        elif action in ("pass", "fail", "skip"):
            if test is None:
                test = _Test(e.Test, f"{pkg.short}.{e.Test}")
            yield from self._end(t, pkg, test, action)

    def _take(self, pkg: _Package, test: _Test) -> str:
        lanes = pkg.lanes
        parent = test.name.rpartition("/")[0]
        if parent and parent in pkg.tests and lanes.name_of(parent) is not None:
            test.lent_from = parent
            return lanes.give(parent, test.name) or lanes.take(test.name)
        test.lent_from = None
        return lanes.take(test.name)

    def _release(self, pkg: _Package, test: _Test) -> None:
        parent = test.lent_from
        if parent and parent in pkg.tests and pkg.lanes.name_of(parent) is None:
            pkg.lanes.give(test.name, parent)
        else:
            pkg.lanes.release(test.name)
        test.lent_from = None

    def _output(
        self, t: float, pkg: _Package, test: _Test | None, output: str
    ) -> Iterator[AnyEvent]:
        line = output.rstrip("\r\n")
        if test is not None and not line.startswith(_FRAMING):
            test.output.add(line)
        if line.startswith("panic: "):
            pkg.crashed = True  # the binary is dying: the rest is the package's story too
            if not pkg.panic:
                pkg.panic = first_line(line)
        if pkg.crashed:
            pkg.output.add(line)
        if not line.strip():
            return
        if test is not None and not line.lstrip().startswith(_MARKERS):
            msg = first_line(line)
            if not test.first_msg:
                test.first_msg = msg
            if not test.error and _REPORTED.match(line):
                test.error = msg
            test.last_msg = msg
        yield self.em.log(t, line, "stdout")

    def _end(self, t: float, pkg: _Package, test: _Test, action: str) -> Iterator[AnyEvent]:
        em = self.em
        worker = pkg.lanes.name_of(test.name) or pkg.short
        self._release(pkg, test)
        pkg.tests.pop(test.name, None)
        if action == "pass":
            yield em.end(t, test.key, "succeeded", worker=worker)
            return
        if action == "skip":
            yield em.end(t, test.key, "skipped", test.last_msg or "skipped", worker)
            return
        pkg.failed_tests += 1
        parent = pkg.tests.get(test.name.rpartition("/")[0])
        if parent is not None:
            parent.child_failed = True
        detail = (
            test.error or test.first_msg or ("a subtest failed" if test.child_failed else "failed")
        )
        yield em.end(t, test.key, "failed", detail, worker, detail=_text(test.output))

    def _package_event(self, t: float, pkg: _Package, e: GoEvent) -> Iterator[AnyEvent]:
        action = e.Action
        if action in ("output", "bench"):
            line = (e.Output or "").rstrip("\r\n")
            pkg.output.add(line)
            if not line.strip():
                return
            if "[build failed]" in line or "[setup failed]" in line:
                pkg.build_failed = True
            elif line.startswith("panic: ") and not pkg.panic:
                pkg.panic = first_line(line)
            elif not pkg.note and not line.startswith(_SUMMARY) and not line.startswith(_MARKERS):
                pkg.note = first_line(line)
            yield self.em.log(t, line, "stdout")
            return
        if action not in ("pass", "fail", "skip"):
            return
        if e.FailedBuild:
            pkg.build_failed = True
        yield from self._abandon(t, pkg)
        pkg.ended = True
        em = self.em
        key = pkg.short
        if action == "fail" and pkg.failed_tests == 0:
            error = self._package_error(pkg)
            yield em.end(t, key, "failed", error, pkg.short, detail=_text(pkg.output))
        elif action == "pass" and em.task_id(key) in em.failed:
            yield em.begin(t, key, pkg.short)  # a package that failed alone passes on a rerun
            yield em.end(t, key, "succeeded", worker=pkg.short)
        pkg.failed_tests = 0
        pkg.build_failed, pkg.panic, pkg.note = False, "", ""
        pkg.output, pkg.crashed = Lines(), False

    def _abandon(self, t: float, pkg: _Package) -> Iterator[AnyEvent]:
        """Tests still running when their package ends (a panic or timeout killed them)."""
        for test in list(pkg.tests.values()):
            if self.em.is_open(test.key):
                pkg.failed_tests += 1
                reason = pkg.panic or "the test binary exited while the test was running"
                worker = pkg.lanes.name_of(test.name) or pkg.short
                detail = _text(test.output)
                yield self.em.end(t, test.key, "failed", reason, worker, detail=detail)
            pkg.lanes.release(test.name)
        pkg.tests.clear()

    def _package_error(self, pkg: _Package) -> str:
        if pkg.build_failed:
            return f"build failed: {pkg.build_detail}" if pkg.build_detail else "build failed"
        return pkg.panic or pkg.note or "the package failed"

    def _build(self, t: float, e: GoEvent) -> Iterator[AnyEvent]:
        path = (e.ImportPath or e.Package or "").split(" ", 1)[0]
        pkg, marks = self._package(t, path)
        yield from marks
        if e.Action == "build-fail":
            pkg.build_failed = True
            return
        line = (e.Output or "").rstrip("\r\n")
        pkg.output.add(line)
        if not line.strip():
            return
        if not pkg.build_detail and not line.startswith("#"):
            pkg.build_detail = first_line(line)
        yield self.em.log(t, line, "stderr")


def _text(output: Lines) -> str:
    """What a test or package printed, without blank lines around it."""
    return output.text().strip("\n") if output else ""
