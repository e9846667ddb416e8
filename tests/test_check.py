"""``runreel check``: golden snapshots of every format, compared, updated, and the same anywhere.

The goldens in fixtures/golden-check/ were written by ``runreel check LOG DIR --update``
and are checked here through the ``runreel_golden`` pytest fixture. After an intended
change to the view, rewrite them with ``pytest tests/test_check.py --runreel-update``
and review the diff before committing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import FIXTURES, assert_one_error_line, clean_env, fixture, invoke

from replay.core.when import parse_when
from replay.outputs import golden as golden_module
from replay.outputs.formats import FORMATS, Format, format_for_path
from replay.outputs.golden import MANIFEST, check, file_name, snapshot_of
from replay.outputs.pytest_golden import GoldenCheck

GOLDEN_CHECK = FIXTURES / "golden-check"
# golden directory -> the fixture log it pins
LOGS = {"with_retries": "with_retries", "hostile": "hostile"}
GOLDEN_FILES = sorted(
    (d, p.name)
    for d in LOGS
    for p in (GOLDEN_CHECK / d).iterdir()
    if p.name != MANIFEST and not p.name.startswith(".")
)
RUNREEL_SCRIPT = Path(sys.executable).parent / "runreel"


def manifest_of(directory: Path) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((directory / MANIFEST).read_text("utf-8"))
    return data


def changed_log(tmp_path: Path, name: str = "with_retries", *, old: str, new: str) -> str:
    """A copy of a fixture log with one piece of text replaced."""
    text = Path(fixture(name)).read_text("utf-8")
    assert old in text
    path = tmp_path / f"{name}.jsonl"
    path.write_text(text.replace(old, new), "utf-8")
    return str(path)


def appended_log(tmp_path: Path, *lines: dict[str, object]) -> str:
    """A copy of with_retries with events appended (after its run_finished)."""
    path = tmp_path / "with_retries.jsonl"
    shutil.copy(fixture("with_retries"), path)
    with open(path, "a", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    return str(path)


def copy_goldens(tmp_path: Path, name: str = "with_retries") -> Path:
    target = tmp_path / "golden" / name
    shutil.copytree(GOLDEN_CHECK / name, target)
    return target


# The checked-in goldens -----------------------------------------------------------------


def test_the_goldens_cover_every_format_and_are_all_in_the_manifest() -> None:
    for directory in LOGS:
        names = {n for d, n in GOLDEN_FILES if d == directory}
        assert {format_for_path(n) for n in names} == set(FORMATS), directory
        manifest = manifest_of(GOLDEN_CHECK / directory)
        assert set(manifest) == names, f"{directory}: manifest and files disagree"
        for name, entry in manifest.items():
            assert entry["format"] == format_for_path(name)
            assert entry["runreel"] and entry["rich"], name


@pytest.mark.parametrize(("directory", "name"), GOLDEN_FILES)
def test_golden_matches(runreel_golden: GoldenCheck, directory: str, name: str) -> None:
    """Each file alone: position, size and format come from the manifest beside it."""
    runreel_golden(fixture(LOGS[directory]), GOLDEN_CHECK / directory / name)


def test_a_golden_directory_in_one_line_with_paths_relative_to_the_rootdir(
    runreel_golden: GoldenCheck, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths do not depend on where pytest runs
    runreel_golden("fixtures/with_retries.jsonl", "fixtures/golden-check/with_retries")
    runreel_golden(
        "fixtures/with_retries.jsonl",
        "fixtures/golden-check/with_retries/",
        at=["50%", "mark:a-done", "end"],
        fmt="svg",
    )
    assert not (tmp_path / "fixtures").exists()


def test_the_fixture_fails_with_the_diff(tmp_path: Path) -> None:
    log = changed_log(tmp_path, old="503 Service Unavailable", new="502 Bad Gateway")
    runreel_golden = GoldenCheck(update=False)  # never the session's: --runreel-update would
    with pytest.raises(pytest.fail.Exception) as failed:  # write the changed log's snapshot
        runreel_golden(log, GOLDEN_CHECK / "with_retries" / "end.txt")
    message = str(failed.value)
    assert "different: " in message and "end.txt (end)" in message
    assert "@@ " in message and "+++ " in message and "502 Bad Gateway" in message
    assert "--runreel-update" in message


def test_the_ansi_goldens_hold_only_colour_codes() -> None:
    """A hostile log's text reaches the ANSI golden as visible symbols, never as controls."""
    import re

    for directory in LOGS:
        text = (GOLDEN_CHECK / directory / "end.ansi").read_text("utf-8")
        assert "\x1b[" in text
        assert not re.sub(r"\x1b\[[0-9;]*m", "", text).count("\x1b"), directory


def test_the_library_snapshot_is_the_golden() -> None:
    for directory, name in GOLDEN_FILES:
        entry = manifest_of(GOLDEN_CHECK / directory)[name]
        doc = snapshot_of(
            fixture(LOGS[directory]),
            str(entry["at"]),
            width=int(str(entry["width"])),
            height=int(str(entry["height"])),
            fmt=format_for_path(name),
        )
        assert doc == (GOLDEN_CHECK / directory / name).read_text("utf-8"), name


# The command ------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", sorted(LOGS))
def test_a_directory_alone_checks_every_file_with_its_recorded_options(directory: str) -> None:
    result = invoke(["check", fixture(LOGS[directory]), str(GOLDEN_CHECK / directory)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len([1 for d, _ in GOLDEN_FILES if d == directory])
    assert all(line.startswith("ok ") for line in lines), result.stdout


def test_the_recorded_size_is_what_makes_the_hostile_goldens_match() -> None:
    hostile = GOLDEN_CHECK / "hostile"
    assert {e["width"] for e in manifest_of(hostile).values()} == {80}
    result = invoke(["check", fixture("hostile"), str(hostile / "end.txt"), "--width", "100"])
    assert result.exit_code == 1, result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_log_fails_with_a_unified_diff_naming_the_file_and_position(
    fmt: Format, tmp_path: Path
) -> None:
    log = changed_log(tmp_path, old="503 Service Unavailable", new="502 Bad Gateway")
    golden = GOLDEN_CHECK / "with_retries" / file_name(parse_when("end"), fmt)
    result = invoke(["check", log, str(golden)])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert f"DIFFERENT {golden} (end)" in out
    assert f"--- {golden} (golden)\n" in out
    assert f"+++ {log} at end (100x30 {fmt})" in out
    assert "\n@@ -" in out
    assert any(line.startswith("-") and "503" in line for line in out.splitlines())
    assert any(line.startswith("+") and "502" in line for line in out.splitlines())
    assert out.endswith(
        f"1 of 1 snapshots differ from {golden}; run with --update to accept them\n"
    )
    assert "\x1b" not in out  # an ANSI diff shows its codes as \x1b: readable in any CI log
    assert "note:" not in out  # same renderer versions: nothing to blame on them
    assert result.stderr == ""
    assert golden.read_bytes() == (GOLDEN_CHECK / "with_retries" / golden.name).read_bytes()


def test_an_ansi_diff_shows_a_change_of_colour_alone(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path) / "end.ansi"
    text = golden.read_text("utf-8")
    first = text.index("\x1b[")
    golden.write_text(text[:first] + "\x1b[7m" + text[first:], "utf-8")
    result = invoke(["check", fixture("with_retries"), str(golden)])
    assert result.exit_code == 1
    assert "(ESC shown as \\x1b)" in result.stdout
    assert "-\\x1b[7m" in result.stdout


def test_appended_events_fail_every_point_they_change(tmp_path: Path) -> None:
    log = appended_log(
        tmp_path,
        {
            "type": "log",
            "level": "info",
            "msg": "late",
            "t": 1700000020.0,
            "src": "main-1",
            "seq": 4,
        },
    )
    result = invoke(["check", log, str(GOLDEN_CHECK / "with_retries")])
    assert result.exit_code == 1
    different = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("DIFF")]
    names = {Path(p).name for p in different}
    assert {f"end{s}" for s in (".txt", ".ansi", ".svg", ".html", ".json")} <= names
    assert not any(n.startswith("mark-a-done") for n in names)  # the mark is before the change
    assert "late" in result.stdout


def test_a_missing_final_newline_is_marked(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path) / "end.txt"
    golden.write_bytes(golden.read_bytes()[:-1])
    result = invoke(["check", fixture("with_retries"), str(golden)])
    assert result.exit_code == 1
    assert "\\ No newline at end of file\n" in result.stdout


def test_crlf_line_endings_get_a_note(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path) / "end.txt"
    golden.write_bytes(golden.read_bytes().replace(b"\n", b"\r\n"))
    result = invoke(["check", fixture("with_retries"), str(golden)])
    assert result.exit_code == 1
    assert "note: end.txt has CRLF line endings" in result.stdout


@pytest.mark.parametrize("golden", ["nope.txt", "nope-dir/", "empty-dir"])
def test_a_missing_golden_fails_with_the_update_hint(golden: str, tmp_path: Path) -> None:
    (tmp_path / "empty-dir").mkdir()
    path = str(tmp_path / golden) + ("/" if golden.endswith("/") else "")
    result = invoke(["check", fixture("with_retries"), path])
    assert result.exit_code == 1, result.output
    missing = os.path.join(path, "end.txt") if golden.endswith(("/", "dir")) else path
    assert result.stdout.startswith(f"MISSING   {missing} (end)\n")
    assert f"no golden {missing}; create it with --update" in result.stdout
    assert "run with --update to accept them" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-dir"]  # a check writes nothing
    assert not any((tmp_path / "empty-dir").iterdir())


def test_a_golden_deleted_from_a_directory_is_missing_not_skipped(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path)
    (golden / "50pct.svg").unlink()
    result = invoke(["check", fixture("with_retries"), str(golden)])
    assert result.exit_code == 1
    assert f"MISSING   {golden / '50pct.svg'} (50%)" in result.stdout
    assert "1 of 15 snapshots differ" in result.stdout


def test_format_narrows_a_directory_to_that_format(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path)
    result = invoke(["check", fixture("with_retries"), str(golden), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [Path(line.split()[1]).name for line in result.stdout.splitlines()] == [
        "50pct.json",
        "end.json",
        "mark-a-done.json",
    ]


# --update -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_update_round_trips_byte_for_byte(fmt: Format, tmp_path: Path) -> None:
    log = fixture("with_retries")
    target = tmp_path / "g"
    args = ["check", log, str(target), "--at", "50%", "--at", "mark:a-done", "--at", "end"]
    args += ["--format", fmt]
    first = invoke([*args, "--update"])
    assert first.exit_code == 0, first.output
    assert [line.split()[0] for line in first.stdout.splitlines()] == ["written"] * 3
    for p in target.iterdir():
        if p.name != MANIFEST:  # what --update wrote is what was checked in
            assert p.read_bytes() == (GOLDEN_CHECK / "with_retries" / p.name).read_bytes()
    assert invoke(args).exit_code == 0
    assert invoke(["check", log, str(target)]).exit_code == 0
    files = {p.name: p.read_bytes() for p in target.iterdir()}
    again = invoke([*args, "--update"])  # nothing changed: nothing rewritten
    assert again.exit_code == 0
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["ok"] * 3
    assert {p.name: p.read_bytes() for p in target.iterdir()} == files


def test_update_rewrites_only_what_changed_and_check_passes_after(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path)
    log = changed_log(tmp_path, old="503 Service Unavailable", new="502 Bad Gateway")
    before = {p.name: p.read_bytes() for p in golden.iterdir()}
    result = invoke(["check", log, str(golden), "--update"])
    assert result.exit_code == 0, result.output
    written = {
        Path(line.split()[1]).name for line in result.stdout.splitlines() if "written" in line
    }
    assert written and {n for n in before if (golden / n).read_bytes() != before[n]} == written
    assert invoke(["check", log, str(golden)]).exit_code == 0
    assert invoke(["check", fixture("with_retries"), str(golden)]).exit_code == 1


def test_a_single_file_golden_remembers_its_position_and_format(tmp_path: Path) -> None:
    log = fixture("with_retries")
    snap = tmp_path / "snap"  # no extension: only the manifest knows it is JSON at 50%
    first = invoke(["check", log, str(snap), "--at", "50%", "--format", "json", "--update"])
    assert first.exit_code == 0, first.output
    assert snap.read_text("utf-8") == snapshot_of(log, "50%", fmt="json")
    entry = manifest_of(tmp_path)["snap"]
    assert (entry["at"], entry["format"], entry["width"], entry["height"]) == (
        "50%",
        "json",
        100,
        30,
    )
    assert invoke(["check", log, str(snap)]).exit_code == 0
    assert invoke(["check", log, str(snap), "--at", "end"]).exit_code == 1
    # --update with other options but the same bytes still records the new options
    same = invoke(["check", log, str(snap), "--at", "4", "--format", "json", "--update"])
    assert same.exit_code == 0 and same.stdout.startswith("ok "), same.output  # 50% is 4s
    assert manifest_of(tmp_path)["snap"]["at"] == "4"


def test_repeated_at_makes_a_directory_with_one_file_per_point(tmp_path: Path) -> None:
    log = fixture("with_retries")
    target = tmp_path / "points"
    ats = ["start", "7.5", "2.5", "50%", "#3", "mark:a-done", "end", "1.0000001", "1.0000002"]
    args = ["check", log, str(target)]
    for at in ats:
        args += ["--at", at]
    assert invoke([*args, "--update"]).exit_code == 0
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(
        [
            "start.txt",
            "7.5s.txt",
            "2.5s.txt",
            "50pct.txt",
            "event-3.txt",
            "mark-a-done.txt",
            "end.txt",
            "1.0000001s.txt",  # positions are kept exactly, never rounded together
            "1.0000002s.txt",
            MANIFEST,
        ]
    )
    manifest = manifest_of(target)
    assert manifest["7.5s.txt"]["at"] == "7.5"
    assert manifest["1.0000002s.txt"]["at"] == "1.0000002"
    assert manifest["event-3.txt"]["at"] == "#3"
    result = invoke(["check", log, str(target)])  # the directory alone: every point again
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == len(ats)
    assert "(1.0000002s)" in result.stdout


def test_mark_labels_that_are_not_file_names(tmp_path: Path) -> None:
    log = changed_log(tmp_path, old='"a-done"', new='"a/done: ok"')
    target = tmp_path / "g"
    assert (
        invoke(
            ["check", log, str(target), "--at", "mark:a/done: ok", "--at", "end", "--update"]
        ).exit_code
        == 0
    )
    (name,) = [p.name for p in target.iterdir() if p.name.startswith("mark-")]
    assert name.startswith("mark-a_done__ok-") and name.endswith(".txt")
    assert manifest_of(target)[name]["at"] == "mark:a/done: ok"
    assert invoke(["check", log, str(target)]).exit_code == 0


def test_manifest_records_the_renderer_versions(tmp_path: Path) -> None:
    target = tmp_path / "g"
    assert (
        invoke(["check", fixture("with_retries"), str(target) + os.sep, "--update"]).exit_code == 0
    )
    assert manifest_of(target) == {
        "end.txt": {
            "at": "end",
            "format": "text",
            "height": 30,
            "rich": version("rich"),
            "runreel": version("runreel"),
            "width": 100,
        }
    }


def test_a_difference_made_with_another_rich_says_so(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path)
    manifest = manifest_of(golden)
    manifest["end.txt"]["rich"] = "0.0.1"
    (golden / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    same = invoke(["check", fixture("with_retries"), str(golden / "end.txt")])
    assert same.exit_code == 0 and "note" not in same.stdout  # equal: nothing to explain
    log = changed_log(tmp_path, old="503 Service Unavailable", new="502 Bad Gateway")
    result = invoke(["check", log, str(golden)])
    assert result.exit_code == 1
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: end.txt was made with a different renderer (rich 0.0.1 -> {version('rich')}); "
        "the difference may come from that. Review it, then run with --update."
    ]


# Errors -------------------------------------------------------------------------------------


def test_a_missing_log_exits_66(tmp_path: Path) -> None:
    result = invoke(["check", str(tmp_path / "nope.jsonl"), str(GOLDEN_CHECK / "with_retries")])
    assert result.exit_code == 66
    assert_one_error_line(result.stderr)
    assert result.stdout == ""


def test_a_corrupt_log_exits_65_and_lenient_reads_it(tmp_path: Path) -> None:
    result = invoke(["check", fixture("corrupt_middle"), str(tmp_path / "g") + os.sep])
    assert result.exit_code == 65
    assert_one_error_line(result.stderr)
    assert "corrupt_middle.jsonl:" in result.stderr
    lenient = invoke(
        ["check", fixture("corrupt_middle"), str(tmp_path / "g") + os.sep, "--lenient"]
    )
    assert lenient.exit_code == 1 and "MISSING" in lenient.stdout


@pytest.mark.parametrize("at", ["soon", "-5", "101%", "#0", "mark:"])
def test_a_bad_position_exits_64(at: str) -> None:
    result = invoke(
        ["check", fixture("with_retries"), str(GOLDEN_CHECK / "with_retries"), "--at", at]
    )
    assert result.exit_code == 64, result.output
    assert "--at" in result.stderr


def test_an_unknown_mark_exits_64_and_shows_the_log_labels_harmlessly(tmp_path: Path) -> None:
    log = changed_log(tmp_path, old='"a-done"', new='"a\\u001b[2J\\u001b]0;title\\u0007-done"')
    result = invoke(["check", log, str(tmp_path / "g"), "--at", "mark:nope"], color=True)
    assert result.exit_code == 64
    assert "no mark 'nope'" in result.stderr
    assert "(marks: a␛[2J␛]0;title␇-done)" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert not (tmp_path / "g").exists()
    hostile = invoke(
        ["check", fixture("hostile"), str(tmp_path / "g"), "--at", "mark:x"], color=True
    )
    assert hostile.exit_code == 64
    assert "\x1b" not in hostile.stderr
    assert len(hostile.stderr) < 1000  # its 20,000-character label is cut


def test_an_update_that_fails_on_a_later_point_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "g"
    args = ["check", fixture("with_retries"), str(target), "--at", "end", "--at", "mark:nope"]
    result = invoke([*args, "--update"])
    assert result.exit_code == 64
    assert not target.exists()


def test_update_into_an_unwritable_place_exits_74(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory\n")
    log = fixture("with_retries")
    for golden in ("a_file/sub", "a_file/sub/end.txt", "a_file/sub/"):
        path = str(tmp_path / golden) + ("/" if golden.endswith("/") else "")
        result = invoke(["check", log, path, "--update"])
        assert result.exit_code == 74, (golden, result.output)
        assert_one_error_line(result.stderr)
        assert "a_file" in result.stderr
        # without --update the same place is simply missing
        assert invoke(["check", log, path]).exit_code == 1
        several = invoke(["check", log, path, "--at", "1", "--at", "2", "--update"])
        assert several.exit_code == 74, (golden, several.output)
    assert blocker.read_text() == "not a directory\n"


def test_a_failing_write_exits_74_and_leaves_the_golden_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root nothing is read-only, so the write itself is made to fail."""
    golden = copy_goldens(tmp_path)
    before = {p.name: p.read_bytes() for p in golden.iterdir()}

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    log = changed_log(tmp_path, old="503 Service Unavailable", new="502 Bad Gateway")
    result = invoke(["check", log, str(golden), "--update"])
    assert result.exit_code == 74
    assert_one_error_line(result.stderr)
    assert "Permission denied" in result.stderr
    assert {p.name: p.read_bytes() for p in golden.iterdir()} == before


def test_a_broken_manifest_is_a_clear_error(tmp_path: Path) -> None:
    golden = copy_goldens(tmp_path)
    (golden / MANIFEST).write_text("{not json", "utf-8")
    result = invoke(["check", fixture("with_retries"), str(golden)])
    assert result.exit_code == 66
    assert_one_error_line(result.stderr)
    assert MANIFEST in result.stderr
    manifest = manifest_of(GOLDEN_CHECK / "with_retries")
    for field, bad in (("at", "later"), ("format", "pdf")):
        broken = json.loads(json.dumps(manifest))
        broken["end.txt"][field] = bad
        (golden / MANIFEST).write_text(json.dumps(broken), "utf-8")
        result = invoke(["check", fixture("with_retries"), str(golden)])
        assert result.exit_code == 66, result.output
        assert_one_error_line(result.stderr)
        assert "end.txt" in result.stderr and bad in result.stderr


def test_the_library_check_returns_one_result_per_point(tmp_path: Path) -> None:
    results = check(fixture("with_retries"), str(GOLDEN_CHECK / "with_retries"))
    assert len(results) == 15 and all(r.status == "same" for r in results)
    written = check(fixture("with_retries"), str(tmp_path / "x.svg"), update=True)
    assert [r.status for r in written] == ["written"]
    assert golden_module.read_manifest(str(tmp_path))["x.svg"].format == "svg"


# Determinism: the same bytes from a real process whatever the environment says --------------

ENVIRONMENTS: dict[str, dict[str, str | None]] = {
    "plain": {},
    "colour-terminal": dict(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        COLUMNS="37",
        LINES="11",
        FORCE_COLOR="1",
        TZ="Pacific/Kiritimati",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    ),
    "dumb-no-colour": dict(
        TERM="dumb",
        COLUMNS="250",
        LINES="80",
        NO_COLOR="1",
        TZ="America/St_Johns",
        LANG="C",
        LC_ALL="POSIX",
    ),
    "foreign-locale": dict(
        TERM="vt100",
        COLUMNS="0",
        LINES="-1",
        NO_COLOR="",
        FORCE_COLOR="0",
        TZ="Asia/Kathmandu",
        LANG="tr_TR.ISO-8859-9",
        LC_ALL="de_DE.UTF-8",
        PYTHONIOENCODING="latin-1",  # a stdout that cannot encode box drawing
    ),
}


def run_script(
    args: list[str], env: dict[str, str | None], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """The installed console script, as CI and users run it."""
    assert RUNREEL_SCRIPT.exists(), f"no console script beside {sys.executable}: pip install -e ."
    return subprocess.run(
        [str(RUNREEL_SCRIPT), *args],
        env=clean_env(**env),
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_check_is_byte_identical_in_any_environment(tmp_path: Path) -> None:
    """Real processes whose TERM, COLUMNS, LINES, NO_COLOR, FORCE_COLOR, TZ, LANG and
    LC_ALL differ write every format's golden with the same bytes as the checked-in
    ones (--update of a directory holding only the manifest), and print the same diff."""
    changed = changed_log(tmp_path, old="503 Service Unavailable", new="502 Bad Gateway")
    jobs: dict[tuple[str, str], list[str]] = {}
    for env_name in ENVIRONMENTS:
        for directory in LOGS:
            target = tmp_path / env_name / directory
            target.mkdir(parents=True)
            shutil.copy(GOLDEN_CHECK / directory / MANIFEST, target / MANIFEST)
            jobs[(env_name, directory)] = [
                "check",
                fixture(LOGS[directory]),
                str(target),
                "--update",
            ]
        jobs[(env_name, "diff")] = ["check", changed, str(GOLDEN_CHECK / "with_retries")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            key: pool.submit(run_script, args, ENVIRONMENTS[key[0]], tmp_path)
            for key, args in jobs.items()
        }
        done = {key: f.result() for key, f in futures.items()}
    for (env_name, job), proc in done.items():
        assert proc.stderr == b"", (env_name, job, proc.stderr.decode(errors="replace"))
        assert proc.returncode == (1 if job == "diff" else 0), (env_name, job, proc.stdout)
    diffs = {done[(env_name, "diff")].stdout for env_name in ENVIRONMENTS}
    assert len(diffs) == 1, "check printed different bytes in different environments"
    (diff,) = diffs
    assert b"\n+++ " in diff and "│".encode() in diff  # UTF-8 even where stdout is latin-1
    for env_name in ENVIRONMENTS:
        for directory in LOGS:
            target = tmp_path / env_name / directory
            lines = done[(env_name, directory)].stdout.decode().splitlines()
            names = [n for d, n in GOLDEN_FILES if d == directory]
            assert [line.split()[0] for line in lines] == ["written"] * len(names)
            for name in names:
                expected = (GOLDEN_CHECK / directory / name).read_bytes()
                assert (target / name).read_bytes() == expected, (env_name, directory, name)
