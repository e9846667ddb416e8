"""The ``detail`` of task_failed and task_retrying: how it is written, bounded and read.

An empty detail is left out of the line (lines read as they did before the field existed);
``with rec.task(...)`` records the traceback; the README's first example runs as shown.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import msgspec
import pytest
from conftest import ROOT, fold_file

from recorder import Recorder, codec
from recorder.detail import _HEAD, MAX_DETAIL, Lines, bounded, cut_marker, traceback_text
from recorder.events import TaskFailed, TaskRetrying

# Strings a hostile log could hold that look like the encoded field.
TRICKY = [
    ',"detail":""',
    '","detail":"",',
    '\\",\\"detail\\":\\"\\"',
    "\\",
    'x\\"',
]


def failed(**fields: object) -> TaskFailed:
    return TaskFailed(t=1.5, src="s", seq=1, task="t", **fields)  # type: ignore[arg-type]


def retrying(**fields: object) -> TaskRetrying:
    return TaskRetrying(t=1.5, src="s", seq=1, task="t", **fields)  # type: ignore[arg-type]


# Encoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [failed, retrying])
def test_an_empty_detail_is_left_out_and_every_other_field_is_written(make: object) -> None:
    event = make(worker="w", error="boom")  # type: ignore[operator]
    line = codec.encode(event)
    obj = json.loads(line)
    assert "detail" not in obj
    expected = {f: getattr(event, f) for f in event.__struct_fields__ if f != "detail"}
    assert obj == {"type": event.__struct_config__.tag, **expected}
    assert list(obj)[0] == "type" and list(obj)[-3:] == ["t", "src", "seq"]
    assert codec.decode_line(line) == event


@pytest.mark.parametrize("make", [failed, retrying])
def test_a_detail_is_written_after_error(make: object) -> None:
    event = make(error="boom", detail="Traceback\n  line")  # type: ignore[operator]
    obj = json.loads(codec.encode(event))
    keys = list(obj)
    assert obj["detail"] == "Traceback\n  line"
    assert keys.index("detail") == keys.index("error") + 1
    assert codec.decode_line(codec.encode(event)) == event


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("detail", ["", "tb"])
def test_strings_that_look_like_the_field_survive(text: str, detail: str) -> None:
    for event in (
        failed(worker=text, error=text, detail=detail),
        retrying(worker=text, error=text, detail=detail, backoff=2.0),
        TaskFailed(t=1.0, src=text, seq=3, task=text, detail=detail),
    ):
        line = codec.encode(event)
        assert codec.decode_line(line) == event
        assert ("detail" in json.loads(line)) == bool(detail)


def test_the_three_ways_to_encode_agree() -> None:
    events: list[TaskFailed | TaskRetrying]
    events = [failed(error="a"), retrying(error="b", detail="tb"), failed(detail="x")]
    buf = bytearray(b"before\n")
    for e in events:
        codec.append(e, buf)
    assert bytes(buf) == b"before\n" + codec.encode_all(events)
    for e in events:
        one = bytearray(b"stale bytes that encode_into replaces")
        codec.encode_into(e, one)
        assert bytes(one) == codec.encode(e)


def test_a_line_without_detail_reads_with_the_default() -> None:
    line = b'{"type":"task_failed","task":"a","error":"x","t":1.0,"src":"s","seq":2}'
    event = codec.decode_line(line)
    assert isinstance(event, TaskFailed) and event.detail == ""
    line = b'{"type":"task_retrying","task":"a","t":1.0,"src":"s","seq":2}'
    event = codec.decode_line(line)
    assert isinstance(event, TaskRetrying) and event.detail == ""


def test_checked_in_logs_hold_no_empty_detail() -> None:
    for log in [*(ROOT / "fixtures").glob("*.jsonl"), ROOT / "docs" / "example.jsonl"]:
        assert b'"detail":""' not in log.read_bytes(), log


def test_the_documented_example_line_is_what_the_writer_writes() -> None:
    doc = (ROOT / "docs" / "log-format.md").read_text(encoding="utf-8")
    match = re.search(r'```json\n(\{"type":"task_failed".*)\n```', doc)
    assert match
    line = match.group(1).encode()
    event = codec.decode_line(line)
    assert isinstance(event, TaskFailed) and event.detail.startswith("Traceback")
    assert event.detail.endswith("\n" + event.error)
    assert codec.encode(event) == line + b"\n"
    assert f"at most {MAX_DETAIL:,} characters" in doc
    assert f"up to {_HEAD:,} and {MAX_DETAIL - _HEAD:,} characters" in doc


# Bounds --------------------------------------------------------------------------------------


def test_a_short_detail_is_kept_whole() -> None:
    text = "line\n" * 100
    assert bounded(text) == text
    assert bounded("x" * MAX_DETAIL) == "x" * MAX_DETAIL


def test_a_long_detail_keeps_its_start_and_end_and_says_what_was_cut() -> None:
    lines = [f"line {i:05d} " + "x" * 60 for i in range(2000)]
    text = "\n".join(lines)
    out = bounded(text)
    assert len(out) <= MAX_DETAIL + 100
    head, marker, tail = out.partition("\n[... ")
    assert marker
    count = int(re.match(r"([\d,]+) characters cut \.\.\.\]\n", tail)[1].replace(",", ""))  # type: ignore[index]
    tail = tail.split("\n", 1)[1]
    assert text.startswith(head) and text.endswith(tail)
    assert len(head) + count + len(tail) + 1 == len(text)  # one line end joins head and cut
    assert head.split("\n")[-1] in lines and tail.split("\n")[0] in lines  # cut on line ends


def test_one_huge_line_is_cut_too() -> None:
    out = bounded("a" * 100_000 + "Z")
    assert len(out) < MAX_DETAIL + 100 and out.startswith("a") and out.endswith("Z")
    assert "characters cut" in out


def test_lines_keep_bounded_memory_and_the_ends() -> None:
    collected = Lines()
    assert not collected
    for i in range(100_000):
        collected.add(f"output line {i}")
    text = collected.text()
    assert len(text) <= MAX_DETAIL + 100
    assert text.startswith("output line 0\noutput line 1\n")
    assert text.endswith("output line 99999")
    assert "characters cut ...]" in text
    few = Lines()
    few.extend(["a", "b", "", "c"])
    assert few.text() == "a\nb\n\nc"


def test_the_marker_counts_the_characters() -> None:
    assert cut_marker(12345) == "[... 12,345 characters cut ...]"


# The Recorder --------------------------------------------------------------------------------


def _raise_from_deep_inside(n: int) -> None:
    if n == 0:
        raise ValueError("corrupt JPEG header")
    _raise_from_deep_inside(n - 1)


def events_of(path: Path) -> list[object]:
    return [codec.decode_line(line) for line in path.read_bytes().splitlines()]


def test_task_records_the_traceback_in_detail(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log) as rec:
        with pytest.raises(ValueError) as info:
            with rec.task("img-002", worker="w"):
                _raise_from_deep_inside(3)
    [fail] = [e for e in events_of(log) if isinstance(e, TaskFailed)]
    assert fail.error == "ValueError: corrupt JPEG header"
    assert fail.detail == traceback_text(info.value, info.value.__traceback__)
    lines = fail.detail.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: corrupt JPEG header"
    assert sum("in _raise_from_deep_inside" in line for line in lines) == 4
    assert f'File "{__file__}"' in lines[1]  # the block itself comes first
    assert "writer.py" not in fail.detail  # the recorder's own frame is left out


def test_task_records_the_cause_of_the_exception(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    settings: dict[str, str] = {}
    with Recorder(log) as rec:
        with pytest.raises(RuntimeError):
            with rec.task("t"):
                try:
                    settings["missing"]  # noqa: B018
                except KeyError as exc:
                    raise RuntimeError("lookup failed") from exc
    [fail] = [e for e in events_of(log) if isinstance(e, TaskFailed)]
    assert fail.error == "RuntimeError: lookup failed"
    assert "KeyError: 'missing'" in fail.detail
    assert "direct cause of the following exception" in fail.detail
    assert fail.detail.endswith("RuntimeError: lookup failed")


def test_a_huge_traceback_is_bounded_and_keeps_the_exception(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log) as rec:
        with pytest.raises(ValueError):
            with rec.task("t"):
                raise ValueError("x" * 100_000 + " the end")
    [fail] = [e for e in events_of(log) if isinstance(e, TaskFailed)]
    assert len(fail.detail) <= MAX_DETAIL + 100
    assert fail.detail.startswith("Traceback (most recent call last):")
    assert fail.detail.endswith(" the end")
    assert "characters cut ...]" in fail.detail
    assert len(fail.error) > 100_000  # the error line stays as it was


def test_failed_and_retry_take_a_detail(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    with Recorder(log, total=2) as rec:
        rec.task_started("a")
        rec.retry("a", error="TimeoutError", detail="output\nof attempt 1", backoff=0)
        rec.task_started("a", attempt=2)
        rec.failed("a", error="TimeoutError", detail="output\nof attempt 2")
        rec.task_started("b")
        rec.failed("b", error="no detail")
        rec.task_started("c")
        rec.failed("c", error="huge", detail="y" * (3 * MAX_DETAIL))
    events = events_of(log)
    retry = next(e for e in events if isinstance(e, TaskRetrying))
    fails = [e for e in events if isinstance(e, TaskFailed)]
    assert retry.detail == "output\nof attempt 1"
    assert [f.detail for f in fails[:2]] == ["output\nof attempt 2", ""]
    assert len(fails[2].detail) < MAX_DETAIL + 100
    raw = [json.loads(line) for line in log.read_bytes().splitlines()]
    assert [("detail" in o) for o in raw if o["type"] == "task_failed"] == [True, False, True]


def test_the_fold_reads_the_same_figures_with_and_without_detail(tmp_path: Path) -> None:
    logs = []
    for with_detail in (False, True):
        log = tmp_path / f"run-{with_detail}.jsonl"
        lines: list[dict[str, object]] = [
            {"type": "run_started", "v": 1, "run": "r", "total": 2, "t": 1.0, "src": "s", "seq": 1},
            {"type": "task_started", "task": "a", "t": 2.0, "src": "s", "seq": 2},
            {"type": "task_retrying", "task": "a", "error": "e1", "t": 3.0, "src": "s", "seq": 3},
            {"type": "task_started", "task": "a", "attempt": 2, "t": 4.0, "src": "s", "seq": 4},
            {"type": "task_failed", "task": "a", "error": "e2", "t": 5.0, "src": "s", "seq": 5},
        ]
        if with_detail:
            lines[2]["detail"] = "tb 1"
            lines[4]["detail"] = "tb 2"
        log.write_bytes(b"".join(msgspec.json.encode(obj) + b"\n" for obj in lines))
        logs.append(fold_file(str(log))[0])
    plain, detailed = logs
    assert (detailed.failed, detailed.retries, detailed.events) == (1, 1, 5)
    assert [e.error for e in detailed.recent_errors] == [e.error for e in plain.recent_errors]


# The README ----------------------------------------------------------------------------------


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Recording a run from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Recorder section has no python example"
    return match.group(1)


def test_the_readme_example_runs_and_goes_on_after_a_failed_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for name, body in [("a.json", "{}"), ("b.json", "{not json"), ("c.json", "[1, 2]")]:
        (incoming / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_example(), "README.md", "exec"), {"__name__": "__readme__"})  # noqa: S102
    log = tmp_path / "run.jsonl"
    events = events_of(log)
    ends = [(type(e).__name__, e.task) for e in events if hasattr(e, "task")]
    assert ends == [
        ("TaskStarted", "a.json"),
        ("TaskSucceeded", "a.json"),
        ("TaskStarted", "b.json"),
        ("TaskFailed", "b.json"),
        ("TaskStarted", "c.json"),
        ("TaskSucceeded", "c.json"),
    ]
    fail = events[4]
    assert isinstance(fail, TaskFailed) and fail.error.startswith("json.decoder.JSONDecodeError")
    assert "in process" in fail.detail and fail.detail.endswith(fail.error)
    m, _ = fold_file(str(log))
    assert (m.total, m.succeeded, m.failed, m.finished) == (3, 2, 1, True)
    assert m.marks and m.marks[0][1] == "import done"
    assert os.path.exists(log)
