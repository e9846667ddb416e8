"""Shared helpers: fixture paths, the CLI in-process and as a real process, golden files.

Golden snapshots live in fixtures/golden/: the exact stdout of ``runreel snapshot``
for the cases listed in tests/test_snapshot.py. After an intended change to the view
or a fixture, rewrite them and review the diff before committing:

    pytest tests/test_snapshot.py --update-golden

(``--runreel-update``, the flag of runreel's own pytest plugin, does the same.)
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result

from replay.cli import cli
from replay.core.fold import apply_all
from replay.core.metrics import Metrics
from replay.sources.file import ReadReport, read_batches

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
GOLDEN = FIXTURES / "golden"
T0 = 1_700_000_000.0

# The installed console script's entry point, run by the interpreter running the tests.
RUNREEL = [sys.executable, "-c", "from replay.cli import main; main()"]

# The system's temporary directory, which every user may use (the tests' own temporary
# files go under pytest's directory instead: ``_temporary_files_under_pytest``).
SYSTEM_TMP = tempfile.gettempdir()

# Variables that change how terminals and Rich behave; tests start without them.
TERMINAL_ENV = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM", "RUNREEL_LOG")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite fixtures/golden/* from the current output instead of comparing.",
    )


@pytest.fixture(scope="session", autouse=True)
def _temporary_files_under_pytest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """This process's temporary files (the views' stores of sessions a test makes and
    does not close) go under pytest's own temporary directory, which pytest prunes to
    the last few runs: in /tmp they stayed, about 100 MB a store, run after run."""
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tmp"))
    yield
    tempfile.tempdir = before


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    config = request.config
    return bool(
        config.getoption("--update-golden") or config.getoption("--runreel-update", default=False)
    )


@pytest.fixture(autouse=True)
def _clean_terminal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TERMINAL_ENV:
        monkeypatch.delenv(name, raising=False)


def fixture(name: str) -> str:
    """Path of a checked-in fixture log, by its name without extension."""
    path = FIXTURES / f"{name}.jsonl"
    assert path.exists(), f"missing fixture {path}; run: python fixtures/generate.py"
    return str(path)


def load_generator() -> ModuleType:
    """fixtures/generate.py as a module (for the hostile strings and the fixture stories)."""
    spec = importlib.util.spec_from_file_location(
        "runreel_fixture_generator", FIXTURES / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gen() -> ModuleType:
    return load_generator()


def fold_file(
    path: str, *, lenient: bool = False, chunk: int | None = None
) -> tuple[Metrics, ReadReport]:
    """Fold a whole log with the streaming reader; also returns the reader's report."""
    report = ReadReport(path)
    m = Metrics()
    kwargs: dict[str, Any] = {} if chunk is None else {"chunk": chunk}
    for batch in read_batches(path, lenient=lenient, report=report, **kwargs):
        apply_all(m, batch)
    return m, report


def invoke(args: Sequence[str], **kwargs: Any) -> Result:
    """Run the CLI in this process; an exception other than SystemExit fails the test."""
    result = CliRunner().invoke(cli, list(args), **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"runreel {list(args)} raised {result.exception!r}") from (
            result.exception
        )
    return result


def clean_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment without terminal variables, plus ``overrides`` (None: drop)."""
    env = {k: v for k, v in os.environ.items() if k not in TERMINAL_ENV}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_runreel(
    args: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``runreel ARGS`` as a real process; stdout and stderr as bytes."""
    return subprocess.run(
        [*RUNREEL, *args],
        capture_output=True,
        env=env if env is not None else clean_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def assert_one_error_line(stderr: str) -> None:
    """An error the user can read: no traceback, and the reason on one line."""
    assert "Traceback" not in stderr, stderr
    assert stderr.strip(), "no message on stderr"
    assert len(stderr.strip().splitlines()) == 1, stderr


def unprivileged() -> list[str]:
    """A command prefix that runs as a user the permission bits apply to (root's do not):
    nothing when the tests do not run as root, else ``setpriv`` (or ``runuser``) to nobody."""
    if os.geteuid() != 0:
        return []
    nobody = pwd.getpwnam("nobody")
    if shutil.which("setpriv"):
        ids = [f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
        return ["setpriv", *ids]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    pytest.skip("running as root, and neither setpriv nor runuser can run runreel as nobody")


def run_unprivileged(
    args: Sequence[str], *, cwd: str | Path | None = None, stdout: IO[bytes] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``runreel ARGS`` as an unprivileged user (see ``unprivileged``); text output
    (stdout to ``stdout`` when given)."""
    prefix = unprivileged()
    probe = subprocess.run([*prefix, *RUNREEL, "--version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"runreel does not start as an unprivileged user: {probe.stderr[-300:]!r}")
    return subprocess.run(
        [*prefix, *RUNREEL, *args],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory an unprivileged user may use too (pytest's tmp_path is root's
    alone when the tests run as root)."""
    directory = Path(tempfile.mkdtemp(prefix="runreel-open-", dir=SYSTEM_TMP))
    try:
        directory.chmod(0o777)
        yield directory
    finally:
        shutil.rmtree(directory)


# Skips in CI ---------------------------------------------------------------------------
# CI (CI=true) runs every test. A test may skip there only if it is listed here, with the
# reason; any other skip fails the run. Patterns are fnmatch patterns of test node ids.
CI_MAY_SKIP: dict[str, str] = {}


def _skipped_reports(session: pytest.Session) -> list[pytest.TestReport]:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return []
    return [r for r in reporter.stats.get("skipped", []) if isinstance(r, pytest.TestReport)]


def unlisted_skips(nodeids: Sequence[str], allowed: dict[str, str]) -> list[str]:
    """The node ids no pattern of ``allowed`` covers."""
    return [n for n in nodeids if not any(fnmatch.fnmatchcase(n, p) for p in allowed)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller decides
        return
    skipped = [r.nodeid for r in _skipped_reports(session)]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    unlisted = unlisted_skips(skipped, CI_MAY_SKIP)
    reporter.ensure_newline()
    reporter.write_line(
        f"runreel tests: {len(skipped)} skipped, {len(skipped) - len(unlisted)} of them "
        "listed in tests/conftest.py CI_MAY_SKIP"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and unlisted:
        for nodeid in unlisted:
            reporter.write_line(f"runreel tests: skipped in CI and not listed: {nodeid}")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
