"""The reader: fixtures are what they claim, chunking never matters, bad input is named."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from conftest import FIXTURES, T0, fixture, fold_file, invoke, run_unprivileged

from recorder import codec
from recorder.codec import Unknown
from recorder.errors import LogInvalid, LogUnavailable
from recorder.events import FORMAT_VERSION, Log, RunStarted, TaskStarted
from replay.sources.file import MAX_REPORTED, ReadReport, read_batches

VALID = [
    "all_succeeded",
    "partial_failure",
    "total_failure",
    "with_retries",
    "no_tasks",
    "unfinished",
    "unknown_type",
    "seq_gap",
    "many_workers",
    "hostile",
    "busy_run",
    "postmortem",
]
ALL = [*VALID, "torn_tail", "corrupt_middle", "future_version"]
REQUIRED = {"type", "t", "src", "seq"}


def test_checked_in_fixtures_match_the_generator(gen: ModuleType) -> None:
    assert set(gen.FIXTURES) == set(ALL)
    for name, make in gen.FIXTURES.items():
        assert (FIXTURES / f"{name}.jsonl").read_bytes() == make(), (
            f"{name}.jsonl is stale: run python fixtures/generate.py"
        )


@pytest.mark.parametrize("name", VALID)
def test_fixture_is_format_v1_by_stdlib_json(name: str) -> None:
    """Checked without runreel's reader: the fixtures themselves keep the contract."""
    data = Path(fixture(name)).read_bytes()
    assert data.endswith(b"\n")
    seqs: dict[str, int] = {}
    gaps = 0
    for number, line in enumerate(data.decode("utf-8").split("\n")[:-1], start=1):
        obj = json.loads(line)
        assert REQUIRED <= obj.keys(), (number, obj.keys())
        assert isinstance(obj["t"], float) and obj["t"] >= T0
        assert round(obj["t"], 6) == obj["t"]
        if number == 1:
            assert obj["type"] == "run_started" and obj["v"] == FORMAT_VERSION
        expected = seqs.get(obj["src"], 0) + 1
        gaps += obj["seq"] != expected
        seqs[obj["src"]] = obj["seq"]
    assert gaps == (1 if name == "seq_gap" else 0)


def _read(
    path: str, *, chunk: int | None = None, lenient: bool = False
) -> tuple[list[object], ReadReport]:
    report = ReadReport(path)
    kwargs = {} if chunk is None else {"chunk": chunk}
    events = [e for b in read_batches(path, lenient=lenient, report=report, **kwargs) for e in b]
    return events, report


@pytest.mark.parametrize(
    ("name", "chunk"),
    [
        (name, chunk)
        for name in [*VALID, "torn_tail"]
        for chunk in (1, 7, 64, 333, 4096)
        if not (name == "hostile" and chunk < 64)  # 20k-char lines, a byte at a time: slow
    ],
)
def test_chunk_size_never_changes_what_is_read(name: str, chunk: int) -> None:
    expected, full = _read(fixture(name))
    got, report = _read(fixture(name), chunk=chunk)
    assert got == expected
    assert (report.lines, report.torn_line, report.torn_bytes) == (
        full.lines,
        full.torn_line,
        full.torn_bytes,
    )


@pytest.mark.parametrize("name", VALID)
def test_events_are_the_lines_in_file_order(name: str) -> None:
    events, report = _read(fixture(name))
    lines = Path(fixture(name)).read_bytes().splitlines()
    assert report.lines == len(lines) == len(events)
    assert report.torn_line is None and report.skipped_count == 0
    for event, line in zip(events, lines, strict=True):
        obj = json.loads(line)
        assert (event.t, event.src, event.seq) == (obj["t"], obj["src"], obj["seq"])  # type: ignore[attr-defined]
        kind = event.type if isinstance(event, Unknown) else type(event).__struct_config__.tag
        assert kind == obj["type"]


def test_reading_streams_in_batches() -> None:
    path = fixture("many_workers")
    size = os.path.getsize(path)
    batches = list(read_batches(path, chunk=1024))
    shortest = min(len(line) for line in Path(path).read_bytes().splitlines(keepends=True))
    assert len(batches) >= size // 1024
    assert max(len(b) for b in batches) <= 1024 // shortest + 1


# Torn tail -----------------------------------------------------------------------------


def test_torn_tail_is_reported_and_everything_before_is_kept() -> None:
    path = fixture("torn_tail")
    data = Path(path).read_bytes()
    torn = data[data.rfind(b"\n") + 1 :]
    assert torn and json.loads(torn)["type"] == "task_succeeded"  # complete JSON, still torn
    events, report = _read(path)
    assert len(events) == 6 == report.lines
    assert (report.torn_line, report.torn_bytes) == (7, len(torn))
    [warning] = report.warnings()
    assert warning.startswith(f"{path}:7: ") and "incomplete" in warning


@pytest.mark.parametrize("cut", [1, 10, 40, -1])
def test_torn_tail_cut_anywhere(tmp_path: Path, cut: int) -> None:
    lines = Path(fixture("all_succeeded")).read_bytes().splitlines(keepends=True)
    log = tmp_path / "torn.jsonl"
    log.write_bytes(b"".join(lines[:5]) + lines[5][:cut])
    m, report = fold_file(str(log))
    assert m.events == 5 and report.torn_line == 6
    assert report.torn_bytes == len(lines[5][:cut])


def test_a_torn_line_is_read_once_it_is_completed(tmp_path: Path) -> None:
    lines = Path(fixture("all_succeeded")).read_bytes().splitlines(keepends=True)
    log = tmp_path / "growing.jsonl"
    log.write_bytes(b"".join(lines[:3]) + lines[3][:20])
    assert fold_file(str(log))[0].events == 3
    with log.open("ab") as f:
        f.write(lines[3][20:])
    m, report = fold_file(str(log))
    assert m.events == 4 and report.torn_line is None


def test_only_a_torn_first_line_is_invalid(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(Path(fixture("all_succeeded")).read_bytes().splitlines()[0][:50])
    with pytest.raises(LogInvalid) as info:
        _read(str(log))
    assert info.value.line == 1


# Bad lines -------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [None, 1, 17, 200])
def test_corrupt_line_names_file_line_and_reason(chunk: int | None) -> None:
    path = fixture("corrupt_middle")
    with pytest.raises(LogInvalid) as info:
        _read(path, chunk=chunk)
    err = info.value
    assert (err.path, err.line) == (path, 5)
    assert err.reason
    assert str(err).startswith(f"{path}:5: ")


@pytest.mark.parametrize("chunk", [None, 1, 17, 200])
def test_lenient_skips_and_counts(chunk: int | None) -> None:
    path = fixture("corrupt_middle")
    events, report = _read(path, chunk=chunk, lenient=True)
    assert len(events) == 8
    assert report.skipped_count == 1 and report.skipped[0][0] == 5
    [warning] = report.warnings()
    assert warning.startswith(f"{path}:5: ")


def _valid_lines(n: int) -> list[bytes]:
    out = [codec.encode(RunStarted(t=T0, src="m", seq=1, v=1, run="r"))]
    out += [codec.encode(Log(t=T0 + i, src="m", seq=i + 2, msg=f"m{i}")) for i in range(n)]
    return out


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (b"not json at all", "malformed"),
        (b'{"type":"log","msg":"x","t":1.0,"src":"m"', "incomplete"),
        (b'{"type":"log","msg":5,"t":1.0,"src":"m","seq":3}', "msg"),
        (b'{"type":"task_started","t":1.0,"src":"m","seq":3}', "task"),
        (b'{"type":"log","msg":"x","t":"yesterday","src":"m","seq":3}', "$.t"),
        (b'{"type":"metric","name":"x","kind":"histogram","t":1.0,"src":"m","seq":3}', "kind"),
        (b"[1, 2, 3]", ""),
        (b'{"type":"log","msg":"\xff\xfe bytes","t":1.0,"src":"m","seq":3}', ""),
        (b"\x00\x00\x00\x00", ""),
        (b'{"type":"task_started","task":"a","attempt":0,"t":1.0,"src":"m","seq":3}', "attempt"),
        (b'{"type":"task_retrying","task":"a","attempt":-5,"t":1.0,"src":"m","seq":3}', "attempt"),
        (
            b'{"type":"task_retrying","task":"a","backoff":-1.5,"t":1.0,"src":"m","seq":3}',
            "backoff",
        ),
        (b'{"type":"total_changed","total":-3,"t":1.0,"src":"m","seq":3}', "total"),
    ],
)
def test_each_kind_of_bad_line(tmp_path: Path, bad: bytes, words: str) -> None:
    lines = _valid_lines(4)
    lines.insert(3, bad + b"\n")
    log = tmp_path / "bad.jsonl"
    log.write_bytes(b"".join(lines))
    with pytest.raises(LogInvalid) as info:
        _read(str(log))
    assert info.value.line == 4
    assert words in info.value.reason
    assert "\n" not in info.value.reason
    events, report = _read(str(log), lenient=True)
    assert len(events) == 5 and report.skipped_count == 1


def test_lenient_reports_a_bounded_list(tmp_path: Path) -> None:
    lines = _valid_lines(1)
    lines += [b"garbage\n"] * (MAX_REPORTED + 5)
    log = tmp_path / "many-bad.jsonl"
    log.write_bytes(b"".join(lines))
    events, report = _read(str(log), lenient=True)
    assert len(events) == 2
    assert report.skipped_count == MAX_REPORTED + 5
    assert len(report.skipped) == MAX_REPORTED
    assert [line for line, _ in report.skipped] == list(range(3, 3 + MAX_REPORTED))
    assert any("5 more" in w for w in report.warnings())


def test_blank_lines_are_tolerated_and_counted(tmp_path: Path) -> None:
    lines = _valid_lines(3)
    log = tmp_path / "blank.jsonl"
    log.write_bytes(lines[0] + b"\n" + lines[1] + b"   \n" + lines[2] + b"oops\n" + lines[3])
    with pytest.raises(LogInvalid) as info:
        _read(str(log))
    assert info.value.line == 6  # blank lines count as lines


# The first line ------------------------------------------------------------------------------


def test_future_version_is_a_clear_error() -> None:
    path = fixture("future_version")
    with pytest.raises(LogInvalid) as info:
        _read(path)
    assert info.value.line == 1
    assert re.search(r"\bversion 2\b", info.value.reason)
    with pytest.raises(LogInvalid):
        _read(path, lenient=True)  # not a bad line to skip: the whole log is unreadable


def test_first_line_must_be_run_started(tmp_path: Path) -> None:
    log = tmp_path / "headless.jsonl"
    log.write_bytes(codec.encode(TaskStarted(t=T0, src="m", seq=1, task="x")))
    with pytest.raises(LogInvalid) as info:
        _read(str(log))
    assert info.value.line == 1 and "run_started" in info.value.reason


@pytest.mark.parametrize("content", [b"", b"\n", b"\n\n\n", b"  \n \n"])
def test_a_log_without_run_started_is_invalid(tmp_path: Path, content: bytes) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_bytes(content)
    with pytest.raises(LogInvalid):
        _read(str(log))


@pytest.mark.parametrize("blank", [2, 100])
def test_blank_lines_before_run_started_are_allowed(tmp_path: Path, blank: int) -> None:
    log = tmp_path / "lead.jsonl"
    log.write_bytes(b"\n" * blank + b"".join(_valid_lines(2)))
    events, report = _read(str(log))
    assert len(events) == 3 and report.lines == blank + 3


def test_a_byte_order_mark_is_named(tmp_path: Path) -> None:
    log = tmp_path / "bom.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + b"".join(_valid_lines(2)))
    with pytest.raises(LogInvalid) as info:
        _read(str(log))
    assert info.value.line == 1 and "byte order mark" in info.value.reason
    result = invoke(["stats", str(log)])
    assert result.exit_code == 65 and "byte order mark" in result.stderr


def test_version_is_checked_after_blank_lines(tmp_path: Path) -> None:
    log = tmp_path / "lead.jsonl"
    log.write_bytes(b" \n" * 100 + Path(fixture("future_version")).read_bytes())
    with pytest.raises(LogInvalid) as info:
        _read(str(log))
    assert info.value.line == 101 and "version 2" in info.value.reason


def test_unknown_type_keeps_its_envelope() -> None:
    events, _ = _read(fixture("unknown_type"))
    unknown = [e for e in events if isinstance(e, Unknown)]
    assert [(u.type, u.src, u.seq) for u in unknown] == [
        ("task_progress", "pool-1", 2),
        ("task_progress", "pool-1", 5),
        ("checkpoint", "main-1", 2),
    ]
    assert unknown[0].t == T0 + 1.5


# Opening -----------------------------------------------------------------------------------


def test_missing_and_directory_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(LogUnavailable):
        _read(str(tmp_path / "missing.jsonl"))
    with pytest.raises(LogUnavailable):
        _read(str(tmp_path))


def test_unreadable_is_unavailable(open_tmp: Path) -> None:
    log = open_tmp / "secret.jsonl"
    log.write_bytes(b"".join(_valid_lines(1)))
    log.chmod(0)
    # As an unprivileged user (root reads anything): the reader's error, through the CLI.
    proc = run_unprivileged(["stats", str(log)], cwd=open_tmp)
    assert proc.returncode == 66, proc.stderr
    assert proc.stderr == f"runreel: error: cannot open {log}: Permission denied\n"
    if os.geteuid() != 0:  # and in this process, the library's own exception
        with pytest.raises(LogUnavailable):
            _read(str(log))


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    lines = _valid_lines(6)
    lines[2] = b"garbage\n"
    lines[5] = b"{}\n"
    log = tmp_path / "bad.jsonl"
    log.write_bytes(b"".join(lines) + b'{"type":"log"')
    result = invoke(["validate", str(log)])
    assert result.exit_code == 65
    out = result.stdout
    assert f"{log}:3: " in out and f"{log}:6: " in out and f"{log}:8: " in out
    assert "seq" in out  # the skipped events leave seq gaps


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b.replace(b"\n", b"\r\n"), "7 lines end in CRLF"),
        (lambda b: b + b, "2 run_started events"),
    ],
    ids=["crlf", "joined"],
)
def test_validate_holds_writers_to_the_format_readers_tolerate(
    tmp_path: Path, change: Callable[[bytes], bytes], words: str
) -> None:
    """Readers take these lines; the format forbids them, so validate reports them."""
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(_valid_lines(6)))
    assert invoke(["validate", str(good)]).exit_code == 0
    log = tmp_path / "bad.jsonl"
    log.write_bytes(change(good.read_bytes()))
    assert invoke(["stats", str(log)]).exit_code != 65  # readers go on
    result = invoke(["validate", str(log)])
    assert result.exit_code == 65 and words in result.stdout, result.stdout


def test_a_second_run_started_keeps_the_first_runs_identity(tmp_path: Path) -> None:
    first = codec.encode(RunStarted(t=T0, src="a", seq=1, v=1, run="one", name="first", total=2))
    second = codec.encode(RunStarted(t=T0, src="b", seq=1, v=1, run="two", name="second"))
    log = tmp_path / "joined.jsonl"
    log.write_bytes(first + second)
    m, _ = fold_file(str(log))
    assert (m.run, m.name, m.total, m.run_starts) == ("one", "first", 2, 2)


def test_validate_notes_blank_lines_without_failing(tmp_path: Path) -> None:
    """Two writers racing to end a torn line may leave one (docs/reliability.md)."""
    log = tmp_path / "blank.jsonl"
    log.write_bytes(b"".join(_valid_lines(4)).replace(b"\n", b"\n\n", 2))
    result = invoke(["validate", str(log)])
    assert result.exit_code == 0 and "note: 2 blank lines" in result.stdout


def test_stats_warns_that_joined_logs_mix_runs(tmp_path: Path) -> None:
    one = b"".join(_valid_lines(2))
    log = tmp_path / "joined.jsonl"
    log.write_bytes(one + one)
    result = invoke(["stats", str(log)])
    assert "2 runs in one log (were logs joined?)" in result.stderr
    alone = tmp_path / "one.jsonl"
    alone.write_bytes(one)
    assert "runs in one log" not in invoke(["stats", str(alone)]).stderr


def test_a_log_without_its_start_hints_at_copytruncate(tmp_path: Path) -> None:
    log = tmp_path / "rest.jsonl"
    log.write_bytes(b"".join(_valid_lines(3)[2:]))
    result = invoke(["stats", str(log)])
    assert result.exit_code == 65 and "copytruncate" in result.stderr
