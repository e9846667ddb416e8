"""Exporters: an asciicast v2 recording of the replay (checked by the asciinema CLI, by a
terminal emulator and structurally) and the folded metrics as OpenMetrics text (parsed with
prometheus_client's OpenMetrics parser)."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyte
import pytest
from conftest import FIXTURES, clean_env, fold_file, invoke, run_runreel
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from recorder.writer import Recorder
from replay import exitcodes
from replay.outputs.openmetrics import escape, label_name, metric_name, openmetrics

REAL = FIXTURES / "real"
EXAMPLE = str(FIXTURES.parent / "docs" / "example.jsonl")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A few real reports imported once for this module."""
    out = tmp_path_factory.mktemp("imported")
    logs = {}
    for name in (
        "gotestsum-go-test-json-flaky-rerun.out",
        "gotestsum-go-test-json.out",
        "dorny-python-xunit-unittest.xml",
        "cargo2junit-azfunc.json",
        "six-1.16.0.reportlog.jsonl",
    ):
        log = out / f"{name}.jsonl"
        assert invoke(["import", str(REAL / name), "-o", str(log)]).exit_code == 0
        logs[name] = str(log)
    return logs


# asciicast ---------------------------------------------------------------------------------


def read_cast(text: str) -> tuple[dict[str, Any], list[list[Any]]]:
    lines = text.splitlines()
    assert text.endswith("\n") and all(lines)
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def cast_of(log: str, *args: str) -> str:
    result = invoke(["export", log, "--format", "asciicast", *args])
    # The code of the state where the recording stops: the snapshot's at the same position.
    at = list(args[args.index("--at") : args.index("--at") + 2]) if "--at" in args else []
    assert result.exit_code == invoke(["snapshot", log, *at]).exit_code, result.output
    return result.stdout


def terminal(width: int, height: int, data: str) -> pyte.Screen:
    screen = pyte.Screen(width, height)
    pyte.Stream(screen).feed(data)
    return screen


def cells(screen: pyte.Screen) -> list[list[tuple[str, str, bool]]]:
    """Every cell's character, colour and boldness."""
    return [
        [(c.data, c.fg, c.bold) for c in (screen.buffer[y][x] for x in range(screen.columns))]
        for y in range(screen.lines)
    ]


def snapshot_screen(log: str, *args: str, width: int = 100, height: int = 30) -> pyte.Screen:
    """The ANSI snapshot drawn on a terminal of the same size."""
    size = ["--width", str(width), "--height", str(height)]
    ansi = invoke(["snapshot", log, "--format", "ansi", *size, *args]).stdout
    rows = ansi.rstrip("\n").split("\n")
    return terminal(width, height, "".join(f"\x1b[{i + 1};1H{row}" for i, row in enumerate(rows)))


def play(text: str) -> pyte.Screen:
    """The screen after feeding every "o" event into a terminal emulator."""
    header, events = read_cast(text)
    screen = pyte.Screen(header["width"], header["height"])
    stream = pyte.Stream(screen)
    for _, kind, data in events:
        if kind == "o":
            stream.feed(data)
    return screen


def test_cast_structure(imported: dict[str, str]) -> None:
    log = imported["gotestsum-go-test-json.out"]
    header, events = read_cast(cast_of(log, "--width", "90", "--height", "28"))
    m, _ = fold_file(log)
    assert header["version"] == 2
    assert (header["width"], header["height"]) == (90, 28)
    assert header["timestamp"] == int(m.first_t or 0)
    assert header["title"] == "gotestsum-go-test-json.out"
    assert header["env"] == {"TERM": "xterm-256color"}
    times = [e[0] for e in events]
    assert times == sorted(times) and times[0] >= 0
    assert all(isinstance(t, (int, float)) for t in times)
    assert {e[1] for e in events} <= {"o", "m"}
    assert all(len(e) == 3 and isinstance(e[2], str) for e in events)
    assert times[-1] == pytest.approx((m.last_t or 0) - (m.first_t or 0), abs=1e-5)


def test_marks_become_markers(imported: dict[str, str]) -> None:
    _, events = read_cast(cast_of(EXAMPLE))
    assert [(round(t, 5), label) for t, kind, label in events if kind == "m"] == [
        (2.10212, "first-failure")
    ]
    _, events = read_cast(cast_of(imported["gotestsum-go-test-json.out"]))
    labels = [label for _, kind, label in events if kind == "m"]
    assert labels == ["badmain", "empty", "good", "parallelfails", "withfails"][: len(labels)]
    assert len(labels) == 5


def test_bursts_collapse_to_at_most_fps_frames_per_second(tmp_path: Path) -> None:
    log = tmp_path / "burst.jsonl"
    with Recorder(log, name="burst", total=400) as rec:
        for i in range(400):
            rec.task_started(f"t{i}", worker=f"w{i % 4}")
            rec.succeeded(f"t{i}", worker=f"w{i % 4}")
    for fps in (10, 2):
        _, events = read_cast(cast_of(str(log), "--fps", str(fps)))
        frames = [t for t, kind, _ in events if kind == "o"]
        per_second: dict[int, int] = {}
        for t in frames:
            per_second[math.floor(t)] = per_second.get(math.floor(t), 0) + 1
        assert max(per_second.values()) <= fps + 2  # + a clock tick and the closing event


def test_the_last_frame_is_the_snapshot(imported: dict[str, str]) -> None:
    for log in (
        EXAMPLE,
        imported["dorny-python-xunit-unittest.xml"],
        imported["cargo2junit-azfunc.json"],
    ):
        screen = play(cast_of(log, "--width", "100", "--height", "30"))
        assert cells(screen) == cells(snapshot_screen(log))
        text = invoke(["snapshot", log, "--width", "100", "--height", "30"]).stdout
        assert [row.rstrip() for row in screen.display][:3] == text.splitlines()[:3]


def test_at_ends_the_recording_there() -> None:
    header, events = read_cast(cast_of(EXAMPLE, "--at", "mark:first-failure"))
    assert events[-1][0] == pytest.approx(2.10212, abs=1e-5)
    screen = play(cast_of(EXAMPLE, "--at", "50%"))
    assert cells(screen) == cells(snapshot_screen(EXAMPLE, "--at", "50%"))
    result = invoke(["export", EXAMPLE, "--format", "asciicast", "--at", "50%"])
    assert result.exit_code == exitcodes.INCOMPLETE


def test_quiet_stretches_still_tick_the_clock(tmp_path: Path) -> None:
    log = tmp_path / "slow.jsonl"
    lines = [
        {
            "type": "run_started",
            "v": 1,
            "run": "r",
            "name": "slow",
            "t": 1000.0,
            "src": "s",
            "seq": 1,
        },
        {"type": "task_started", "task": "a", "worker": "w", "t": 1000.5, "src": "s", "seq": 2},
        {"type": "task_succeeded", "task": "a", "worker": "w", "t": 1030.5, "src": "s", "seq": 3},
        {"type": "run_finished", "status": "ok", "t": 1031.0, "src": "s", "seq": 4},
    ]
    log.write_text("".join(json.dumps(x) + "\n" for x in lines))
    _, events = read_cast(cast_of(str(log)))
    ticks = [t for t, kind, _ in events if kind == "o" and float(t).is_integer()]
    assert len(ticks) >= 25
    screen_at_end = play(cast_of(str(log)))
    assert "00:31" in "\n".join(screen_at_end.display)


def test_max_idle_goes_into_the_header() -> None:
    header, _ = read_cast(cast_of(EXAMPLE, "--max-idle", "1.5"))
    assert header["idle_time_limit"] == 1.5
    assert "idle_time_limit" not in read_cast(cast_of(EXAMPLE))[0]


def test_a_hostile_log_only_puts_our_own_escape_sequences_in_the_cast() -> None:
    text = cast_of(str(FIXTURES / "hostile.jsonl"))
    header, events = read_cast(text)
    allowed = re.compile(r"\x1b\[(?:[0-9;]*m|\d+;1H|\?25[lh]|H|2J)")
    for _, kind, data in events:
        rest = allowed.sub("", data)
        assert "\x1b" not in rest and "\x07" not in rest and "\x9b" not in rest
        if kind == "m":
            assert not any(ord(c) < 32 for c in data)
    assert not any(ord(c) < 32 for c in header["title"])


def test_the_cast_is_the_same_everywhere(tmp_path: Path) -> None:
    a = run_runreel(["export", EXAMPLE, "-o", str(tmp_path / "a.cast")])
    env = clean_env(TERM="dumb", COLUMNS="40", LINES="10", NO_COLOR="1", TZ="Asia/Tokyo")
    b = run_runreel(["export", EXAMPLE, "-o", str(tmp_path / "b.cast")], env=env)
    assert a.returncode == b.returncode == exitcodes.PARTIAL_FAILURE
    assert (tmp_path / "a.cast").read_bytes() == (tmp_path / "b.cast").read_bytes()
    in_process = invoke(["export", EXAMPLE, "--format", "asciicast"]).stdout_bytes
    assert in_process == (tmp_path / "a.cast").read_bytes()  # this process's terminal neither


def _asciinema() -> list[str]:
    if importlib.util.find_spec("asciinema") is None:
        pytest.skip("the asciinema CLI is not installed (pip install asciinema)")
    return [sys.executable, "-m", "asciinema"]


def test_asciinema_reads_the_cast(imported: dict[str, str], tmp_path: Path) -> None:
    asciinema = _asciinema()
    for log in (EXAMPLE, imported["gotestsum-go-test-json-flaky-rerun.out"]):
        cast = tmp_path / "run.cast"
        assert invoke(["export", log, "-o", str(cast)]).exit_code in (0, 2)
        done = subprocess.run(
            [*asciinema, "cat", str(cast)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=clean_env(),
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert b"Status" in done.stdout
    broken = tmp_path / "broken.cast"
    broken.write_text('{"version": 2, "width": 80, "height": 24}\n[0.5, "o" "x"]\n')
    done = subprocess.run(
        [*asciinema, "cat", str(broken)],
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode != 0  # the check above checks something


# OpenMetrics -------------------------------------------------------------------------------


def families(text: str) -> dict[str, Any]:
    assert text.endswith("# EOF\n")
    parsed = text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
    return {f.name: f for f in parsed}


def samples(fam: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in fam.samples}


def test_openmetrics_of_the_example_parses_with_the_expected_values() -> None:
    result = invoke(["export", EXAMPLE, "--format", "openmetrics"])
    assert result.exit_code == exitcodes.PARTIAL_FAILURE
    fams = families(result.stdout)
    tasks = samples(fams["runreel_tasks"])
    assert tasks[("runreel_tasks", (("state", "succeeded"),))] == 4
    assert tasks[("runreel_tasks", (("state", "failed"),))] == 1
    assert fams["runreel_tasks"].type == "gauge"
    assert samples(fams["runreel_task_retries"]) == {("runreel_task_retries_total", ()): 1}
    assert fams["runreel_task_retries"].type == "counter"
    assert samples(fams["runreel_run"]) == {
        ("runreel_run_info", (("name", "thumbnails"), ("run", "a3f9c2e1b7d4"))): 1
    }
    assert samples(fams["bytes_written"]) == {
        ("bytes_written_total", (("format", "webp"),)): 197582
    }
    assert samples(fams["queue_depth"]) == {("queue_depth", ()): 0}
    assert fams["runreel_elapsed_seconds"].unit == "seconds"
    assert fams["runreel_task_duration_seconds"].type == "summary"
    assert samples(fams["runreel_exit_code"]) == {("runreel_exit_code", ()): 2}


def test_every_family_has_type_and_help_and_counters_end_in_total(imported: dict[str, str]) -> None:
    for log in (EXAMPLE, *imported.values()):
        text = invoke(["export", log, "--format", "openmetrics"]).stdout
        fams = families(text)
        for name, fam in fams.items():
            assert f"# TYPE {name} {fam.type}\n" in text
            assert f"# HELP {name} " in text
            if fam.type == "counter":
                assert all(s.name == f"{name}_total" for s in fam.samples)
        lines = text.splitlines()
        assert lines[-1] == "# EOF" and lines.count("# EOF") == 1


def test_openmetrics_at_a_position(imported: dict[str, str]) -> None:
    log = imported["gotestsum-go-test-json-flaky-rerun.out"]
    start = families(invoke(["export", log, "--format", "openmetrics", "--at", "#3"]).stdout)
    end = families(invoke(["export", log, "--format", "openmetrics"]).stdout)
    assert samples(start["runreel_run_finished"]) == {("runreel_run_finished", ()): 0}
    assert samples(start["runreel_events"]) == {("runreel_events_total", ()): 3}
    assert samples(end["runreel_task_retries"]) == {("runreel_task_retries_total", ()): 6}
    assert samples(end["runreel_exit_code"]) == {("runreel_exit_code", ()): 0}


def test_hostile_names_and_labels_are_made_valid_and_escaped(tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    nasty = 'quote " back \\ newline \n end'
    with Recorder(log, name=f"run {nasty}") as rec:
        rec.task_started("t", worker=nasty)
        rec.succeeded("t", worker=nasty)
        rec.metric("bytes written/s", 3, labels={"path": nasty, "9bad": "x", "__name__": "y"})
        rec.metric("rows_total", 2)
        rec.metric("rows_total", 5)
        rec.metric("9lives", 1, kind="gauge")
        rec.metric("runreel_tasks", 7, kind="gauge")
        rec.metric("depth", 1, kind="gauge")
        rec.metric("depth", 2)
        rec.metric("temp_count", 20.5, kind="gauge")
    text = invoke(["export", str(log), "--format", "openmetrics"]).stdout
    fams = families(text)
    assert samples(fams["bytes_written_s"]) == {
        ("bytes_written_s_total", (("_9bad", "x"), ("l__name__", "y"), ("path", nasty))): 3
    }
    assert samples(fams["rows"]) == {("rows_total", ()): 7}
    assert samples(fams["_9lives"]) == {("_9lives", ()): 1}
    assert samples(fams["runreel_tasks_gauge"]) == {("runreel_tasks_gauge", ()): 7}
    assert samples(fams["depth"]) == {("depth_total", ()): 2}
    assert samples(fams["depth_gauge"]) == {("depth_gauge", ()): 1}
    assert samples(fams["temp_count_value"]) == {("temp_count_value", ()): 20.5}
    run = samples(fams["runreel_run"])
    assert [dict(labels)["name"] for _, labels in run] == [f"run {nasty}"]
    busy = samples(fams["runreel_worker_busy"])
    assert [dict(labels)["worker"] for _, labels in busy] == [nasty]
    assert "\n end" not in text  # newlines in values are escaped


def test_openmetrics_helpers() -> None:
    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert metric_name("a-b.c d") == "a_b_c_d" and metric_name("1x") == "_1x"
    assert metric_name("") == "_" and metric_name("ns:sub") == "ns:sub"
    assert label_name("__x") == "l__x" and label_name("a:b") == "a_b" and label_name("") == "_"


def test_openmetrics_is_deterministic(imported: dict[str, str]) -> None:
    log = imported["six-1.16.0.reportlog.jsonl"]
    m, _ = fold_file(log)
    a = run_runreel(["export", log, "--format", "openmetrics"])
    assert a.stdout.decode() == openmetrics(m, m.last_t or 0.0)  # another process, same text
    b = run_runreel(
        ["export", log, "--format", "openmetrics"], env=clean_env(TZ="Asia/Tokyo", LANG="C")
    )
    assert a.stdout == b.stdout and a.returncode == b.returncode == exitcodes.PARTIAL_FAILURE


# The command ---------------------------------------------------------------------------------


def test_the_format_comes_from_the_extension(tmp_path: Path) -> None:
    for name, first in (("x.cast", '{"version":2'), ("x.prom", "# TYPE"), ("x.om", "# TYPE")):
        out = tmp_path / name
        assert invoke(["export", EXAMPLE, "-o", str(out)]).exit_code == exitcodes.PARTIAL_FAILURE
        assert out.read_text().startswith(first)
    result = invoke(["export", EXAMPLE, "-o", str(tmp_path / "x.txt")])
    assert result.exit_code == exitcodes.USAGE and "--format" in result.stderr
    assert invoke(["export", EXAMPLE]).exit_code == exitcodes.USAGE


def test_export_errors_use_the_exit_code_table(tmp_path: Path) -> None:
    missing = invoke(["export", str(tmp_path / "nope.jsonl"), "--format", "openmetrics"])
    assert missing.exit_code == exitcodes.LOG_UNAVAILABLE
    bad = invoke(["export", str(FIXTURES / "corrupt_middle.jsonl"), "--format", "asciicast"])
    assert bad.exit_code == exitcodes.LOG_INVALID
    mark = invoke(["export", EXAMPLE, "--format", "openmetrics", "--at", "mark:nope"])
    assert mark.exit_code == exitcodes.USAGE
    unwritable = invoke(["export", EXAMPLE, "-o", str(tmp_path / "no" / "dir.cast")])
    assert unwritable.exit_code == exitcodes.IO_ERROR
