"""The pytest plugin (``runreel_golden``, ``--runreel-update``) as a user's test suite sees it.

Each test runs pytest on a small project made by ``pytester``: a log, a test that
asserts its dashboard in one line, and the goldens the plugin writes.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import FIXTURES, fixture

from replay.outputs.golden import MANIFEST

pytest_plugins = ["pytester"]

TEST_FILE = """
def test_dashboard(runreel_golden):
    runreel_golden("runs/run.jsonl", "golden/run", at=["50%", "end"])


def test_one_file(runreel_golden):
    runreel_golden("runs/run.jsonl", "golden/run-end.svg")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: pyproject.toml (the rootdir), a run log and a test of it."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    (pytester.path / "runs").mkdir()
    shutil.copy(fixture("with_retries"), pytester.path / "runs" / "run.jsonl")
    pytester.makepyfile(test_dashboard=TEST_FILE)
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in-process on the project (without hypothesis' plugin: it costs seconds a run)."""
    return project.runpytest("-p", "no:hypothesispytest", *args)


def change_run(project: pytest.Pytester) -> None:
    log = project.path / "runs" / "run.jsonl"
    log.write_text(log.read_text("utf-8").replace("503 Service Unavailable", "502 Bad Gateway"))


def test_missing_goldens_fail_with_the_update_hint(project: pytest.Pytester) -> None:
    result = run(project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            f"*missing: {project.path / 'golden' / 'run' / '50pct.txt'} (50%)*",
            "*no golden *50pct.txt; create it with --update*",
            "*run pytest with --runreel-update to accept the new snapshots*",
        ]
    )
    assert not (project.path / "golden").exists()


def test_runreel_update_writes_the_goldens_then_they_pass(project: pytest.Pytester) -> None:
    run(project, "--runreel-update").assert_outcomes(passed=2)
    golden = project.path / "golden"
    assert sorted(p.name for p in (golden / "run").iterdir()) == ["50pct.txt", "end.txt", MANIFEST]
    assert sorted(p.name for p in golden.iterdir()) == ["run", "run-end.svg", MANIFEST]
    end = FIXTURES / "golden-check" / "with_retries"
    assert (golden / "run" / "end.txt").read_bytes() == (end / "end.txt").read_bytes()
    assert (golden / "run-end.svg").read_bytes() == (end / "end.svg").read_bytes()
    run(project).assert_outcomes(passed=2)


def test_a_changed_run_fails_showing_the_diff(project: pytest.Pytester) -> None:
    run(project, "--runreel-update").assert_outcomes(passed=2)
    change_run(project)
    result = run(project)
    result.assert_outcomes(failed=2)
    end = project.path / "golden" / "run" / "end.txt"
    result.stdout.fnmatch_lines(
        [
            f"*different: {end} (end)*",
            f"--- {end} (golden)",
            f"+++ {project.path / 'runs' / 'run.jsonl'} at end (100x30 text)",
            "@@ *",
            "-*HTTPError: 503 Service*",
            "+*HTTPError: 502 Bad Gateway*",
            "*run pytest with --runreel-update to accept the new snapshots*",
        ]
    )
    assert "Traceback" not in result.stdout.str()  # a golden failure is not a crash
    run(project, "--runreel-update").assert_outcomes(passed=2)
    run(project).assert_outcomes(passed=2)


def test_paths_are_relative_to_the_rootdir_wherever_pytest_runs(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project.mkpydir("tests")
    (project.path / "test_dashboard.py").rename(sub / "test_dashboard.py")
    monkeypatch.chdir(sub)
    run(project, "--runreel-update", "test_dashboard.py").assert_outcomes(passed=2)
    assert (project.path / "golden" / "run" / "end.txt").exists()
    assert not (sub / "golden").exists()
    run(project, "test_dashboard.py").assert_outcomes(passed=2)


def test_the_plugin_is_loaded_by_its_entry_point(project: pytest.Pytester) -> None:
    result = run(project, "--help")
    result.stdout.fnmatch_lines(["runreel:", "*--runreel-update*"])
    result = run(project, "--fixtures")
    result.stdout.fnmatch_lines(
        ["runreel_golden*", "*Compare a run's snapshots with golden files*"]
    )


def test_without_autoload_it_is_enabled_with_p(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    run(project, "-p", "no:cacheprovider").assert_outcomes(errors=2)
    run(project, "-p", "replay.outputs.pytest_golden", "--runreel-update").assert_outcomes(passed=2)
    run(project, "-p", "replay.outputs.pytest_golden").assert_outcomes(passed=2)


def test_listing_the_plugin_in_pytest_plugins_is_harmless(project: pytest.Pytester) -> None:
    project.makeconftest('pytest_plugins = ["replay.outputs.pytest_golden"]\n')
    run(project, "--runreel-update").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("at", "says"),
    [
        ("999", "at: '999' is past the end: the run in * lasts 8 s (13 events)"),
        ("#14", "at: '#14' is past the end: the run in * lasts 8 s (13 events)"),
        ("mark:nope", "at: no mark 'nope' in * (marks: a-done)"),
        ("soon", "at: 'soon' is not a position*"),
    ],
)
def test_a_position_the_run_does_not_have_fails_saying_why(
    project: pytest.Pytester, at: str, says: str
) -> None:
    project.makepyfile(
        test_dashboard=f"""
def test_dashboard(runreel_golden):
    runreel_golden("runs/run.jsonl", "golden/run", at=["end", {at!r}])
"""
    )
    result = run(project, "--runreel-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{says}*"])
    assert "Traceback" not in result.stdout.str()
    assert not (project.path / "golden").exists()  # nothing written for a bad point list
