"""``go test -json`` (test2json) to runreel events.

Every test and subtest is a task ``PKG.TestName[/sub]`` where PKG is the shortest unique
tail of the import path. Each package is a worker; tests that really ran at the same time
(``t.Parallel``) get extra lanes ``PKG #2``, …, laid out by gotimeline once the package
ended (results are placed by their ``Elapsed``; a sequential subtest runs in its parent's
lane). A package's events are held until it ends and then written in time order. Output
lines become log events; a test's first message is its error, its last one its skip reason,
and a failed test's whole output its detail. A package that fails with no failing test is a
task of its own, ``PKG``, that failed: Go 1.24+ says so with ``build-output``/``build-fail``
records, older Go with a plain ``FAIL PKG [build failed]`` line after the compiler's output
(with 2>&1). Plain text before the first time takes the first real time. A test that runs
again after failing (gotestsum --rerun-fails) is the next attempt of the same task. JSON
records without an Action are skipped; an input with neither test2json records nor a build
failure line, or with more of another format's, is refused (detect.Tally). See
docs/importers.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import msgspec

from recorder.detail import Lines
from recorder.events import AnyEvent
from recorder.importers.detect import Tally
from recorder.importers.emitter import Emitter
from recorder.importers.gotimeline import Segment, Timeline, parent_of
from recorder.importers.holdback import Holdback, Made, Make, When
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
BUILD_FAILED = re.compile(rb"^FAIL\s+(\S+) \[(?:build|setup) failed\]\s*$")
_COMPILING = re.compile(r"^# (\S+)(?: \[(\S+?)(?:\.test)?\])?")


@dataclass
class _Test:
    name: str
    key: str
    first_msg: str = ""
    error: str = ""  # the first t.Error/t.Fatal line (file_test.go:NN: ...) or panic
    last_msg: str = ""
    child_failed: bool = False
    output: Lines = field(default_factory=Lines)  # the detail, should the test fail


@dataclass
class _Package:
    path: str
    short: str
    tests: dict[str, _Test] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)
    failed_tests: int = 0
    open: bool = False
    build_failed: bool = False
    panic: str = ""
    note: str = ""
    output: Lines = field(default_factory=Lines)  # build and package output: a failure's detail
    crashed: bool = False  # a test's output had a panic: the output from it on is the package's

    def worker(self, lane: int) -> str:
        """Lane 1 of a package is the package itself; more lanes are ``PKG #2``, ..."""
        return self.short if lane <= 1 else f"{self.short} #{lane}"


def events(lines: Iterable[bytes], *, path: str, run: str, name: str) -> Iterator[AnyEvent]:
    """The runreel events of a ``go test -json`` stream."""
    yield from _Import(path, run, name).events(lines)


class _Import:
    def __init__(self, path: str, run: str, name: str) -> None:
        self.path = path
        self.em = Emitter("gotest", run, name)
        self.packages: dict[str, _Package] = {}
        self.shorts: set[str] = set()
        self.clock: float | None = None  # the latest real time seen
        self.hold = Holdback()  # a package's events wait for its end (gotimeline)
        self.order = 0
        self.compiling = ""  # the package whose compiler output plain lines are
        self.compiler: dict[str, Lines] = {}  # import path -> the compiler's lines

    # Reading -------------------------------------------------------------------------

    def events(self, lines: Iterable[bytes]) -> Iterator[AnyEvent]:
        tally = Tally("gotest", self.path)
        for n, line, last in numbered(lines):
            stripped = line.strip()
            if not stripped:
                continue
            if not stripped.startswith(b"{"):
                if BUILD_FAILED.match(stripped):
                    tally.ours += 1  # go before 1.24 says so in plain text
                else:
                    tally.other(line)
                self._plain(line.decode("utf-8", "replace"))
            else:
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
                self._record(e)
            if self.hold.releasable():
                yield from self._flush()
        tally.check()
        for pkg in self.packages.values():
            if pkg.open:  # the input stops in the middle of this package
                pkg.timeline.lay_out()
        yield from self._flush(final=True)
        em = self.em
        done = self.packages and not any(p.open for p in self.packages.values())
        if em.started and done and not em.open_tasks():
            yield from em.closing(max(em.last_t, self.clock or em.last_t))

    def _now(self, text: str | None) -> When:
        """The time of a record: its own, else the last one seen, else the first one to come."""
        t = parse_rfc3339(text) if text else None
        if t is not None:
            self.clock = t
            self.hold.first_time(t)
        now = self.clock
        return lambda: now

    def _t(self, when: When) -> float:
        t = when()
        return t if t is not None else self.hold.first or SYNTHETIC_EPOCH

    def _push(self, when: When, make: Make, pkg: _Package | None = None) -> None:
        self.hold.add(when, make, pkg.path if pkg is not None else None)

    def _flush(self, *, final: bool = False) -> Iterator[AnyEvent]:
        em = self.em
        for t, make in self.hold.release(final=final, epoch=SYNTHETIC_EPOCH):
            if not em.started:
                yield em.run_started(t)
            made = make(t)
            if isinstance(made, list):
                yield from made
            elif made is not None:
                yield made

    def _package(self, path: str, when: When) -> _Package:
        pkg = self.packages.get(path)
        if pkg is None:
            pkg = self.packages[path] = _Package(path, self._short(path))
            label = pkg.short
            self._push(when, lambda t: self.em.mark(t, label))
        return pkg

    def _opened(self, pkg: _Package, when: When) -> None:
        if not pkg.open:
            pkg.open = True
            self.hold.open(pkg.path, when())

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

    # Plain text: the compiler's output and go before 1.24's build failures ------------------

    def _plain(self, text: str) -> None:
        line = text.rstrip("\r\n")
        when = self._now(None)
        failed = BUILD_FAILED.match(line.strip().encode())
        if failed:
            self._log(when, line, "stderr")
            path = failed.group(1).decode()
            pkg = self._package(path, when)
            pkg.build_failed = True
            compiled = self.compiler.pop(path, None)
            if compiled:
                pkg.output.extend(compiled.text().splitlines())
            pkg.output.add(line)
            self.compiling = ""
            self._package_end(when, pkg, "fail")
            return
        header = _COMPILING.match(line)
        if header:
            self.compiling = header.group(2) or header.group(1)
        if self.compiling and not line.startswith(_SUMMARY):
            self.compiler.setdefault(self.compiling, Lines()).add(line)
        self._log(when, line, "stderr")

    def _log(self, when: When, line: str, level: str, pkg: _Package | None = None) -> None:
        if line.strip():
            self._push(when, lambda t: self.em.log(t, line, level), pkg)

    # test2json records ------------------------------------------------------------------

    def _record(self, e: GoEvent) -> None:
        when = self._now(e.Time)
        action = e.Action
        if action in ("build-output", "build-fail"):
            self._build(when, e)
            return
        pkg = self._package(e.Package, when)
        if action in ("run", "start", "output", "bench", "cont", "pause"):
            self._opened(pkg, when)
        if e.Test is None:
            self._package_event(when, pkg, e)
            return
        self.order += 1
        test = pkg.tests.get(e.Test)
        if action == "run":
            test = pkg.tests[e.Test] = _Test(e.Test, f"{pkg.short}.{e.Test}")
            self._begin(pkg, test, pkg.timeline.run(e.Test, self._t(when), self.order))
        elif action == "cont" and test is not None:
            self._begin(pkg, test, pkg.timeline.cont(e.Test, self._t(when), self.order))
        elif action == "pause" and test is not None:
            pkg.timeline.pause(e.Test, self._t(when))
        elif action in ("output", "bench"):
            self._output(when, pkg, test, e.Output or "")
        elif action in ("pass", "fail", "skip"):
            if test is None:
                test = _Test(e.Test, f"{pkg.short}.{e.Test}")
            seg = pkg.timeline.end(e.Test, self._t(when), e.Elapsed)
            self._end(when, pkg, test, seg, action)

    def _begin(self, pkg: _Package, test: _Test, seg: Segment) -> None:
        key = test.key
        self._push(lambda: seg.start, lambda t: self.em.begin(t, key, pkg.worker(seg.lane)), pkg)

    def _output(self, when: When, pkg: _Package, test: _Test | None, output: str) -> None:
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
        self._log(when, line, "stdout", pkg)

    def _end(
        self,
        when: When,
        pkg: _Package,
        test: _Test,
        seg: Segment | None,
        action: str,
        reason: str = "",
    ) -> None:
        pkg.tests.pop(test.name, None)
        key = test.key

        def at() -> float | None:  # known once the package ended (gotimeline)
            return seg.end if seg is not None else when()

        def lane() -> int:
            return seg.lane if seg is not None else 1

        em = self.em
        if action == "pass":
            self._push(at, lambda t: em.end(t, key, "succeeded", worker=pkg.worker(lane())), pkg)
            return
        if action == "skip":
            why = test.last_msg or "skipped"
            self._push(at, lambda t: em.end(t, key, "skipped", why, pkg.worker(lane())), pkg)
            return
        pkg.failed_tests += 1
        parent = pkg.tests.get(parent_of(test.name))
        if parent is not None:
            parent.child_failed = True
        error = reason or (
            test.error or test.first_msg or ("a subtest failed" if test.child_failed else "failed")
        )
        detail = _text(test.output)
        self._push(
            at, lambda t: em.end(t, key, "failed", error, pkg.worker(lane()), detail=detail), pkg
        )

    def _package_event(self, when: When, pkg: _Package, e: GoEvent) -> None:
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
            self._log(when, line, "stdout", pkg)
        elif action in ("pass", "fail", "skip"):
            if e.FailedBuild:
                pkg.build_failed = True
            self._package_end(when, pkg, action)

    def _package_end(self, when: When, pkg: _Package, action: str) -> None:
        t = self._t(when)
        for test in list(pkg.tests.values()):  # still running: a panic or timeout killed them
            seg = pkg.timeline.end(test.name, t, None)
            why = pkg.panic or "the test binary exited while the test was running"
            self._end(when, pkg, test, seg, "fail", why)
        pkg.timeline.lay_out()
        em = self.em
        key, worker = pkg.short, pkg.short
        if action == "fail" and pkg.failed_tests == 0:
            error = self._package_error(pkg)
            detail = _text(pkg.output)
            self._push(when, lambda t: em.end(t, key, "failed", error, worker, detail=detail), pkg)
        elif action == "pass":

            def rerun(t: float) -> Made:  # a package that failed alone passes on a re-run
                if em.task_id(key) not in em.failed:
                    return None
                return [em.begin(t, key, worker), em.end(t, key, "succeeded", worker=worker)]

            self._push(when, rerun, pkg)
        pkg.open = False
        self.hold.close(pkg.path)
        pkg.timeline, pkg.failed_tests = Timeline(), 0
        pkg.build_failed, pkg.panic, pkg.note = False, "", ""
        pkg.output, pkg.crashed = Lines(), False

    def _package_error(self, pkg: _Package) -> str:
        if pkg.build_failed:
            for line in pkg.output.text().splitlines():
                if line.strip() and not line.startswith(("#", "FAIL")):
                    return f"build failed: {first_line(line)}"
            return "build failed"
        return pkg.panic or pkg.note or "the package failed"

    def _build(self, when: When, e: GoEvent) -> None:
        path = (e.ImportPath or e.Package or "").split(" ", 1)[0]
        pkg = self._package(path, when)
        self._opened(pkg, when)
        if e.Action == "build-fail":
            pkg.build_failed = True
            return
        line = (e.Output or "").rstrip("\r\n")
        pkg.output.add(line)
        self._log(when, line, "stderr", pkg)


def _text(output: Lines) -> str:
    """What a test or package printed, without blank lines around it."""
    return output.text().strip("\n") if output else ""
