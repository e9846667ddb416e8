"""runreel's live pytest plugin: ``pytest --runreel=LOG`` records the session as it runs.

Tests are tasks (setup, call and teardown fold into one, with the same rules as the
pytest-reportlog importer: xfail is a skip, a non-strict XPASS succeeds with a warning
line, pytest-rerunfailures' reruns are retries), captured output and warnings are log
lines, each test file's first test is a mark. With pytest-xdist the controller records
and each test's worker (gw0, gw1, ...) is its worker. LOG is replaced if it exists, like
``--report-log``; watch it meanwhile with ``runreel live LOG``.

Under ``runreel record -- pytest`` (RUNREEL_LOG set) the plugin attaches to that run
instead of starting one: its tasks join the recorded command's log, and the run's end
stays ``runreel record``'s to write.

Loaded through the ``pytest11`` entry point ``runreel``. It is inert unless asked for: with
neither ``--runreel`` nor RUNREEL_LOG it only adds its option, imports nothing more,
registers no hooks and writes nothing. A failure to write never fails the test run: the
recording stops and the terminal summary says why.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from recorder.importers.pytest_reportlog import Verdict
    from recorder.writer import Recorder

ENV_VAR = "RUNREEL_LOG"  # recorder.writer.ENV_VAR; not imported: an idle plugin costs nothing
PLUGIN_NAME = "runreel-recorder"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runreel")
    group.addoption(
        "--runreel",
        action="store",
        metavar="LOG",
        default=None,
        dest="runreel_log",
        help="Record the session as a runreel log at LOG (replaced if it exists): tests are "
        "tasks, xdist workers are workers. Also on when RUNREEL_LOG is set (runreel record).",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("runreel_log", None)
    attached = os.environ.get(ENV_VAR) if not path else None
    if not path and not attached:
        return
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller records its reports
    config.pluginmanager.register(
        LiveRecorder(config, path or attached or "", bool(attached)), PLUGIN_NAME
    )


class _TestState:
    __slots__ = ("attempt", "running", "verdict", "worker")

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.attempt = 1
        self.running = False
        self.worker = ""


class LiveRecorder:
    """Writes runreel events from pytest's hooks (registered only when recording)."""

    def __init__(self, config: pytest.Config, path: str, attach: bool) -> None:
        self.config = config
        self.path = path
        self.attach = attach
        self.rec: Recorder | None = None
        self.error: str | None = None
        self.tests: dict[str, _TestState] = {}
        self.files: set[str] = set()
        self.failed = False
        self.total_set = False
        self.distributed = False

    # Plumbing ----------------------------------------------------------------

    def _safely(self, action: Any, *args: Any, **kwargs: Any) -> None:
        """Run a recording step; any error stops the recording instead of the tests."""
        if self.rec is None:
            return
        try:
            action(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the test run must go on
            self.error = f"{type(exc).__name__}: {exc}"
            self._close()

    def _close(self) -> None:
        rec, self.rec = self.rec, None
        if rec is not None:
            try:
                rec.close()
            except Exception as exc:  # noqa: BLE001
                self.error = self.error or f"{type(exc).__name__}: {exc}"

    # Session -----------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from recorder.writer import Recorder

        self.distributed = self.config.pluginmanager.getplugin("dsession") is not None
        try:
            if self.attach:
                self.rec = Recorder.attach(self.path)
            else:
                args = " ".join(str(a) for a in self.config.invocation_params.args)
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self.rec = Recorder(
                    self.path,
                    name=f"pytest {args}".strip(),
                    meta={"pytest_version": pytest.__version__},
                    overwrite=True,
                )
        except Exception as exc:  # noqa: BLE001
            self.error = f"{type(exc).__name__}: {exc}"

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.distributed:
            self._safely(self._set_total, len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._safely(self._set_total, len(ids))

    def _set_total(self, total: int) -> None:
        if not self.total_set and self.rec is not None:
            self.total_set = True
            self.rec.set_total(total)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._safely(self._finish, int(exitstatus))

    def _finish(self, exitstatus: int) -> None:
        rec = self.rec
        assert rec is not None
        for nodeid in list(self.tests):
            state = self.tests.pop(nodeid)
            if state.running:
                self.failed = True
                rec.failed(nodeid, worker=state.worker, error="the test did not finish")
        if self.attach:
            rec.log(f"pytest finished with exit status {exitstatus}")
        else:
            failed = self.failed or exitstatus != 0
            rec.finish("failed" if failed else "ok", exit_status=exitstatus)
        self._close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.error:
            terminalreporter.write_line(
                f"runreel: recording to {self.path} stopped: {self.error}", yellow=True
            )

    # Tests -----------------------------------------------------------------------

    def _state(self, nodeid: str) -> _TestState:
        state = self.tests.get(nodeid)
        if state is None:
            from recorder.importers.pytest_reportlog import Verdict

            state = self.tests[nodeid] = _TestState(Verdict())
        return state

    def _start(self, nodeid: str, worker: str) -> None:
        rec = self.rec
        assert rec is not None
        state = self._state(nodeid)
        if state.running:
            return
        module = nodeid.split("::", 1)[0]
        if module and module not in self.files:
            self.files.add(module)
            rec.mark(module)
        state.running, state.worker = True, worker
        rec.task_started(nodeid, worker=worker, attempt=state.attempt)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if not self.distributed:  # under xdist the worker is known from the setup report
            self._safely(self._start, nodeid, "")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._safely(self._report, report)

    def _report(self, report: pytest.TestReport) -> None:
        from recorder.importers.longrepr import message_of
        from recorder.importers.pytest_reportlog import level_of, subtest_label

        rec = self.rec
        assert rec is not None
        nodeid = report.nodeid
        worker = str(getattr(report, "worker_id", "") or "")
        state = self._state(nodeid)
        message = message_of(report.longrepr) if report.outcome != "passed" else ""
        detail = _text(report) if report.outcome in ("failed", "rerun") else ""
        context = getattr(report, "context", None)  # pytest 9's SubtestReport
        if context is not None and hasattr(context, "kwargs"):
            label = subtest_label({"msg": context.msg, "kwargs": dict(context.kwargs)})
            state.verdict.subtest(label, report.outcome, message, detail)
            return
        if report.when == "setup" and report.outcome != "skipped":
            self._start(nodeid, worker or state.worker)
        xfail = getattr(report, "wasxfail", None)
        action = state.verdict.add(report.when or "", report.outcome, message, xfail, detail)
        if action == "continue":
            return
        for title, content in report.sections:
            for line in content.splitlines():
                if line.strip():
                    rec.log(line, level=level_of(title))
        worker = worker or state.worker
        verdict = state.verdict
        if action == "retry":
            rec.retry(
                nodeid,
                worker=worker,
                attempt=state.attempt,
                error=verdict.reason,
                detail=verdict.detail,
            )
            state.attempt += 1
            state.running = False
            state.verdict = verdict.next_attempt(report.when or "")
            return
        for label, text, _ in verdict.subtests:
            rec.log(f"{nodeid} {label}: SUBFAIL {text}".replace("  ", " "), level="error")
        for note in verdict.notes:
            rec.log(f"{nodeid}: {note}", level="warning")
        if verdict.outcome == "failed":
            self.failed = True
            rec.failed(nodeid, worker=worker, error=verdict.reason, detail=verdict.detail)
        elif verdict.outcome == "skipped":
            rec.skip(nodeid, worker=worker, reason=verdict.reason)
        else:
            rec.succeeded(nodeid, worker=worker)
        del self.tests[nodeid]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.outcome != "passed":
            self._safely(self._collect_report, report)

    def _collect_report(self, report: pytest.CollectReport) -> None:
        from recorder.importers.longrepr import message_of

        rec = self.rec
        assert rec is not None
        message = message_of(report.longrepr)
        if report.outcome == "failed":
            self.failed = True
            error = f"collection error: {message or 'collection failed'}"
            rec.failed(report.nodeid, error=error, detail=_text(report))
        else:
            rec.skip(report.nodeid, reason=message.removeprefix("Skipped: "))

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str) -> None:
        category = getattr(warning_message.category, "__name__", "Warning")
        text = str(warning_message.message).strip().splitlines()
        line = text[0] if text else ""
        self._safely(self._log, f"{category}: {line}", "warning")

    def _log(self, msg: str, level: str) -> None:
        if self.rec is not None:
            self.rec.log(msg, level=level)


def _text(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The failure as pytest prints it (``longreprtext``)."""
    return report.longreprtext
