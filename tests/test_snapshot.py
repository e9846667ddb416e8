"""Snapshots: golden text, byte-identical in any environment, sizes honoured, every format.

Golden files are the exact stdout of ``runreel snapshot``; rewrite them after an
intended change with ``pytest tests/test_snapshot.py --update-golden`` and review the diff.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import FIXTURES, GOLDEN, T0, clean_env, fixture, invoke, run_runreel
from rich.cells import cell_len

from replay.core.when import END, parse_when
from replay.index.position import fold_at
from replay.outputs.formats import FORMATS
from replay.outputs.snapshot import render

# name of the golden file -> (fixture, extra snapshot arguments)
GOLDEN_CASES: dict[str, tuple[str, list[str]]] = {
    **{
        f"{name}.txt": (name, [])
        for name in (
            "all_succeeded",
            "partial_failure",
            "total_failure",
            "with_retries",
            "no_tasks",
            "unfinished",
            "torn_tail",
            "unknown_type",
            "seq_gap",
            "many_workers",
            "hostile",
        )
    },
    "with_retries.at-3s.120x24.txt": (
        "with_retries",
        ["--at", "3", "--width", "120", "--height", "24"],
    ),
    "unfinished.at-50pct.80x24.txt": (
        "unfinished",
        ["--at", "50%", "--width", "80", "--height", "24"],
    ),
    "many_workers.at-mark-round-2.60x40.txt": (
        "many_workers",
        ["--at", "mark:round-2", "--width", "60", "--height", "40"],
    ),
    "corrupt_middle.lenient.txt": ("corrupt_middle", ["--lenient"]),
    # A realistic run (like ``runreel demo``), mid-run and at the end, at three sizes.
    **{
        f"busy_run.{at.rstrip('%')}.{w}x{h}.txt": (
            "busy_run",
            ["--at", at, "--width", str(w), "--height", str(h)],
        )
        for at in ("50%", "end")
        for w, h in ((80, 24), (120, 40), (200, 60))
    },
    # The post-mortem views (tests/test_views.py has their behaviour), at two sizes.
    **{
        f"postmortem.{view}.{w}x{h}.txt": (
            "postmortem",
            ["--view", view, "--width", str(w), "--height", str(h)],
        )
        for view in ("failures", "tasks", "workers", "timeline", "log")
        for w, h in ((80, 24), (120, 40))
    },
    **{
        f"postmortem.task.{w}x{h}.txt": (
            "postmortem",
            ["--task", "img-0105", "--width", str(w), "--height", str(h)],
        )
        for w, h in ((80, 24), (120, 40))
    },
    "postmortem.failures.at-mark-db-failover.txt": (
        "postmortem",
        ["--view", "failures", "--at", "mark:db-failover"],
    ),
    "postmortem.tasks.at-50pct.txt": ("postmortem", ["--view", "tasks", "--at", "50%"]),
    **{
        f"hostile.{view}.txt": ("hostile", ["--view", view])
        for view in ("failures", "tasks", "workers", "timeline", "log")
    },
}

# An imported CI report (jest-junit, 4239 tests, 2 failed): golden -> (at, width, height)
IMPORTED = FIXTURES / "real" / "dorny-jest-test-results.xml"
IMPORTED_CASES = {
    f"jest-import.{at.rstrip('%')}.{w}x{h}.txt": (at, w, h)
    for at in ("50%", "end")
    for w, h in ((80, 24), (120, 40), (200, 60))
}


# The exit code each golden case's fixture determines at its position (the fixtures' stories
# are in fixtures/generate.py); a case drawn before the run's end is incomplete (3).
GOLDEN_EXIT: dict[str, int] = {
    "all_succeeded.txt": 0,
    "partial_failure.txt": 2,
    "total_failure.txt": 1,
    "with_retries.txt": 0,  # every retried task succeeded in the end
    "no_tasks.txt": 1,  # "no tasks ran" is a total failure
    "unfinished.txt": 3,
    "torn_tail.txt": 3,  # the torn line was to be run_finished
    "unknown_type.txt": 0,
    "seq_gap.txt": 2,  # the lost events leave fewer successes than the total
    "many_workers.txt": 2,
    "hostile.txt": 3,
    "with_retries.at-3s.120x24.txt": 3,
    "unfinished.at-50pct.80x24.txt": 3,
    "many_workers.at-mark-round-2.60x40.txt": 3,
    "corrupt_middle.lenient.txt": 0,
    # busy_run: 400 tasks, some failed for good; mid-run incomplete, at the end partial.
    **{f"busy_run.50.{size}.txt": 3 for size in ("80x24", "120x40", "200x60")},
    **{f"busy_run.end.{size}.txt": 2 for size in ("80x24", "120x40", "200x60")},
    # postmortem: 240 tasks, some failed for good; before its end incomplete.
    **{name: 2 for name in GOLDEN_CASES if name.startswith("postmortem.") and ".at-" not in name},
    "postmortem.failures.at-mark-db-failover.txt": 3,
    "postmortem.tasks.at-50pct.txt": 3,
    **{name: 3 for name in GOLDEN_CASES if name.startswith("hostile.")},
}


def test_every_golden_case_has_its_exit_code() -> None:
    assert sorted(GOLDEN_EXIT) == sorted(GOLDEN_CASES)


@pytest.mark.parametrize("golden", sorted(GOLDEN_CASES))
def test_golden_text_snapshots(golden: str, update_golden: bool) -> None:
    name, extra = GOLDEN_CASES[golden]
    args = ["--width", "100", "--height", "30", *extra, "--format", "text"]
    result = invoke(["snapshot", fixture(name), *args])
    assert result.exit_code == GOLDEN_EXIT[golden], result.stderr
    path = GOLDEN / golden
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(result.stdout_bytes)
        return
    assert path.exists(), f"missing {path}: run pytest with --update-golden"
    assert result.stdout_bytes == path.read_bytes(), (
        f"{golden} changed; if intended, run pytest --update-golden and review the diff"
    )


@pytest.fixture(scope="module")
def imported_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    log = tmp_path_factory.mktemp("import") / "jest.jsonl"
    result = invoke(["import", str(IMPORTED), "-o", str(log)])
    assert result.exit_code == 0, result.stderr  # import exits 0 when it wrote the log
    return str(log)


@pytest.mark.parametrize("golden", sorted(IMPORTED_CASES))
def test_golden_imported_ci_run(golden: str, imported_log: str, update_golden: bool) -> None:
    at, width, height = IMPORTED_CASES[golden]
    args = ["--at", at, "--width", str(width), "--height", str(height), "--format", "text"]
    result = invoke(["snapshot", imported_log, *args])
    # 2 of its 4239 tests failed: a partial failure at the end, incomplete mid-run.
    assert result.exit_code == (2 if at == "end" else 3), result.stderr
    path = GOLDEN / golden
    if update_golden:
        path.write_bytes(result.stdout_bytes)
        return
    assert path.exists(), f"missing {path}: run pytest with --update-golden"
    assert result.stdout_bytes == path.read_bytes(), (
        f"{golden} changed; if intended, run pytest --update-golden and review the diff"
    )


def test_every_golden_file_has_a_case() -> None:
    on_disk = {p.name for p in GOLDEN.glob("*.txt")}
    cases = set(GOLDEN_CASES) | set(IMPORTED_CASES)
    assert on_disk <= cases, f"stale golden files: {on_disk - cases}"


# Determinism across processes and environments -----------------------------------------

ENV_A = dict(
    TERM="xterm-256color",
    COLUMNS="37",
    LINES="11",
    FORCE_COLOR="1",
    NO_COLOR=None,
    TZ="Pacific/Kiritimati",
    LANG="C.UTF-8",
    LC_ALL=None,
    COLORTERM="truecolor",
)
ENV_B = dict(
    TERM="dumb",
    COLUMNS="250",
    LINES="80",
    NO_COLOR="1",
    FORCE_COLOR=None,
    TZ="America/St_Johns",
    LANG="C",
    LC_ALL="POSIX",
    COLORTERM=None,
    PYTHONIOENCODING="latin-1",  # a terminal whose encoding cannot show box drawing
)


@pytest.mark.parametrize(
    ("name", "formats"),
    [("hostile", FORMATS), ("unfinished", ("ansi", "svg"))],  # hostile has every panel busy
)
def test_byte_identical_across_processes_and_environments(
    name: str, formats: tuple[str, ...], tmp_path: Path
) -> None:
    jobs = []
    for fmt in formats:
        args = ["snapshot", fixture(name), "--at", "80%", "--width", "90", "--height", "28"]
        args += ["--format", fmt]
        jobs.append((fmt, args))
    env_a, env_b = clean_env(**ENV_A), clean_env(**ENV_B)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            (fmt, which): pool.submit(run_runreel, args, env=env, cwd=tmp_path)
            for fmt, args in jobs
            for which, env in (("a", env_a), ("b", env_b))
        }
        out = {key: f.result() for key, f in futures.items()}
    for fmt, args in jobs:
        a, b = out[(fmt, "a")], out[(fmt, "b")]
        assert (a.returncode, b.returncode) == (3, 3), (a.stderr, b.stderr)
        assert a.stdout, fmt
        assert a.stdout == b.stdout, f"{fmt} differs between environments"
        here = invoke(args)  # and in this process, through click's runner
        assert here.stdout_bytes == a.stdout, f"{fmt} differs in-process"


def test_ansi_snapshot_has_colour_even_through_a_pipe(tmp_path: Path) -> None:
    """A snapshot is a document: piping it must not strip the colours it was asked for."""
    proc = run_runreel(["snapshot", fixture("partial_failure"), "--format", "ansi"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert re.search(rb"\x1b\[[0-9;]*m", proc.stdout)
    out = tmp_path / "snap.ansi"
    assert run_runreel(["snapshot", fixture("partial_failure"), "-o", str(out)]).returncode == 2
    assert out.read_bytes() == proc.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_holds_the_same_bytes_as_stdout(fmt: str, tmp_path: Path) -> None:
    log = fixture("with_retries")
    out = tmp_path / f"snap.{fmt}"
    to_file = invoke(["snapshot", log, "--format", fmt, "-o", str(out)])
    to_stdout = invoke(["snapshot", log, "--format", fmt])
    assert to_file.exit_code == to_stdout.exit_code == 0
    assert to_file.stdout == ""
    assert out.read_bytes() == to_stdout.stdout_bytes


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".txt", lambda s: s.startswith("╭")),
        (".ansi", lambda s: "\x1b[" in s),
        (".svg", lambda s: s.lstrip().startswith("<svg")),
        (".html", lambda s: "<html" in s.lower()),
        (".json", lambda s: json.loads(s)["run"] == "r-retry"),
    ],
)
def test_format_follows_the_output_extension(suffix: str, check: object, tmp_path: Path) -> None:
    out = tmp_path / f"snap{suffix}"
    assert invoke(["snapshot", fixture("with_retries"), "-o", str(out)]).exit_code == 0
    assert check(out.read_text(encoding="utf-8"))  # type: ignore[operator]


def test_format_option_beats_the_extension(tmp_path: Path) -> None:
    out = tmp_path / "snap.svg"
    assert (
        invoke(["snapshot", fixture("with_retries"), "--format", "text", "-o", str(out)]).exit_code
        == 0
    )
    assert out.read_text(encoding="utf-8").startswith("╭")


def test_svg_ids_are_fixed() -> None:
    svg = invoke(["snapshot", fixture("unfinished"), "--format", "svg"]).stdout
    ids = re.findall(r'id="([^"]+)"', svg)
    assert ids and all(i.startswith("runreel") for i in ids), ids


# Sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all_succeeded", "many_workers", "hostile", "no_tasks"])
@pytest.mark.parametrize(("width", "height"), [(20, 8), (57, 13), (100, 30), (203, 61)])
def test_text_snapshot_is_exactly_the_size_asked(name: str, width: int, height: int) -> None:
    frame = fold_at(fixture(name), END)
    text = render(frame.metrics, frame.now, width=width, height=height, fmt="text")
    lines = text.split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == height
    assert all(cell_len(line) == width for line in lines[:-1]), {cell_len(x) for x in lines}


def test_rendering_reads_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = fold_at(fixture("unfinished"), parse_when("50%"))
    expected = {f: render(frame.metrics, frame.now, width=80, height=24, fmt=f) for f in FORMATS}

    def forbidden() -> float:
        raise AssertionError("rendering read the clock")

    for name in ("time", "monotonic", "perf_counter"):
        monkeypatch.setattr(time, name, forbidden)
    for f in FORMATS:
        assert render(frame.metrics, frame.now, width=80, height=24, fmt=f) == expected[f]


def test_the_spinner_moves_with_the_clock_given() -> None:
    frame = fold_at(fixture("unfinished"), parse_when("50%"))
    frames = {
        render(frame.metrics, frame.now + dt, width=80, height=24, fmt="text").split("\n")[4]
        for dt in (0.0, 0.1, 0.2, 0.3)
    }
    assert len(frames) > 1


# The JSON snapshot is the fold at WHEN ---------------------------------------------------


def test_json_snapshot_numbers() -> None:
    doc = json.loads(invoke(["snapshot", fixture("unfinished"), "--format", "json"]).stdout)
    assert doc["run"] == "r-unfinished" and doc["name"] == "video transcode"
    assert sorted(doc["tasks"]) == [
        "failed",
        "in_flight",
        "processed",
        "remaining",
        "retries",
        "skipped",
        "started",
        "status_text",
        "succeeded",
        "total",
    ]
    t = doc["tasks"]
    assert (t["total"], t["started"], t["succeeded"], t["failed"], t["in_flight"]) == (
        6,
        6,
        3,
        1,
        2,
    )
    assert (t["remaining"], t["retries"], t["status_text"]) == (2, 1, "(1 - 4 / 6)")
    assert doc["state"] == {"finished": False, "status": None, "exit_status": None, "exit_code": 3}
    assert doc["at"]["t"] == T0 + 26.0 and doc["at"]["elapsed"] == 26.0
    assert [f["task"] for f in doc["in_flight"]] == ["v5", "v6"]
    v5 = doc["in_flight"][0]
    assert (v5["state"], v5["retry_in_s"]) == ("backoff", 24.0)  # retry at T0+50, now T0+26
    assert doc["workers"]["w3"]["task"] == "v6"
    assert [e["task"] for e in doc["recent_errors"]] == ["v3", "v5"]


def test_json_snapshot_at_a_mark() -> None:
    result = invoke(
        ["snapshot", fixture("all_succeeded"), "--at", "mark:halfway", "--format", "json"]
    )
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["at"]["elapsed"] == 3.0
    assert (doc["tasks"]["succeeded"], doc["tasks"]["started"]) == (2, 3)
    assert doc["marks"] == [{"elapsed": 3.0, "label": "halfway"}]


def test_stats_json_is_the_json_snapshot_at_the_end() -> None:
    log = fixture("many_workers")
    assert (
        invoke(["stats", log, "--json"]).stdout
        == invoke(["snapshot", log, "--format", "json"]).stdout
    )
