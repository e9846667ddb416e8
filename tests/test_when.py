"""WHEN: every form users type, the bad ones, and what each means against a real log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import T0, fixture, invoke

from replay.core.when import END, START, When, parse_when
from replay.index.position import NoSuchMark, PastTheEnd, fold_at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", When("seconds", seconds=90.0)),
        ("90s", When("seconds", seconds=90.0)),
        ("1m30s", When("seconds", seconds=90.0)),
        ("01:30", When("seconds", seconds=90.0)),
        ("1:02:03", When("seconds", seconds=3723.0)),
        ("1h", When("seconds", seconds=3600.0)),
        ("1h2m3s", When("seconds", seconds=3723.0)),
        ("2m", When("seconds", seconds=120.0)),
        ("90m", When("seconds", seconds=5400.0)),  # one unit alone may count past 59
        ("100:00", When("seconds", seconds=6000.0)),  # so may the first field of a clock
        ("1m59.5s", When("seconds", seconds=119.5)),
        ("1.5", When("seconds", seconds=1.5)),
        ("0", When("seconds", seconds=0.0)),
        ("00:00:02.5", When("seconds", seconds=2.5)),
        ("  90  ", When("seconds", seconds=90.0)),
        ("50%", When("percent", seconds=50.0)),
        ("0%", When("percent", seconds=0.0)),
        ("100%", When("percent", seconds=100.0)),
        ("12.5%", When("percent", seconds=12.5)),
        ("#1234", When("event", event=1234)),
        ("#1", When("event", event=1)),
        ("mark:X", When("mark", label="X")),
        ("mark:deploy started", When("mark", label="deploy started")),
        ("mark:a:b", When("mark", label="a:b")),
        ("start", START),
        ("end", END),
    ],
)
def test_parse_when(text: str, expected: When) -> None:
    assert parse_when(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "-5",
        "-1s",
        "90x",
        "s",
        "m",
        "1:2:3:4",
        ":30",
        "1:",
        "nan",
        "inf",
        "1e999",
        "#",
        "#0",
        "#-3",
        "#x",
        "#1.5",
        "101%",
        "-1%",
        "%",
        "abc%",
        "nan%",
        "mark:",
        "START",
        "beginning",
        "1m30s2h",
        "1m90s",
        "1_0",
        "\u0661\u0660",  # ١٠: digits of another script
        "1\u0660s",
        "1h60m",
        "99:99",
        "1:60:00",
        "0:00:60",
    ],
)
def test_bad_when_is_a_value_error_with_a_message(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_when(text)
    message = str(info.value)
    assert message and "\n" not in message


@pytest.mark.parametrize(
    "text", ["90s", "50%", "#1234", "mark:deploy", "start", "end", "1m30s", "12.5%"]
)
def test_str_of_a_when_parses_back_to_it(text: str) -> None:
    when = parse_when(text)
    assert parse_when(str(when)) == when


# Against a log: all_succeeded has events at T0 + 0, .5, .6, 2.0 (a done), 2.0, 2.1 (c
# started), 2.1, 3.0 (b done), 3.0 (mark halfway), 3.2, 4.0 (c done), 4.0, 4.1, 5.0 (d done),
# 5.0, 6.0 (e done), 6.0, 6.5, 7.0 (run_finished): 19 events over 7 seconds.
@pytest.mark.parametrize(
    ("at", "events", "started", "succeeded", "now"),
    [
        ("start", 1, 0, 0, 0.0),
        ("#3", 3, 2, 0, 0.6),
        ("0", 1, 0, 0, 0.0),
        ("2.5", 7, 3, 1, 2.5),
        ("00:02.5", 7, 3, 1, 2.5),
        ("50%", 10, 4, 2, 3.5),
        ("mark:halfway", 9, 3, 2, 3.0),
        ("6.2", 17, 5, 5, 6.2),
        ("end", 19, 5, 5, 7.0),
        ("100%", 19, 5, 5, 7.0),
        ("#19", 19, 5, 5, 7.0),
        ("7", 19, 5, 5, 7.0),  # exactly the end is still in the run
        ("00:07", 19, 5, 5, 7.0),
    ],
)
def test_positions_in_a_log(at: str, events: int, started: int, succeeded: int, now: float) -> None:
    frame = fold_at(fixture("all_succeeded"), parse_when(at))
    m = frame.metrics
    assert (m.events, m.started, m.succeeded) == (events, started, succeeded)
    assert frame.now == pytest.approx(T0 + now)
    assert m.finished == (events == 19)


def test_50_percent_lies_between_start_and_end() -> None:
    path = fixture("unfinished")  # events from T0 to T0 + 26
    frame = fold_at(path, parse_when("50%"))
    assert frame.now == pytest.approx(T0 + 13.0)
    # At T0 + 13: v1 (t=10) and v2 (t=12) succeeded; v5 started at 13.
    assert frame.metrics.succeeded == 2
    assert set(frame.metrics.in_flight) == {"v3", "v4", "v5"}


def test_unknown_mark_is_an_error() -> None:
    with pytest.raises(NoSuchMark):
        fold_at(fixture("all_succeeded"), parse_when("mark:nope"))


@pytest.mark.parametrize("at", ["#20", "#500", "7.01", "8", "1h", "00:08"])
def test_a_position_past_the_end_is_an_error_that_states_the_run(at: str) -> None:
    with pytest.raises(PastTheEnd) as exc:
        fold_at(fixture("all_succeeded"), parse_when(at))
    assert str(exc.value) == (
        f"{at!r} is past the end: the run in {fixture('all_succeeded')} lasts 7 s (19 events)"
    )


COMMANDS = {
    "snapshot": ["snapshot", "{log}", "--at", "{at}"],
    "export": ["export", "{log}", "--format", "openmetrics", "--at", "{at}"],
    "check": ["check", "{log}", "{golden}", "--at", "{at}"],
    "replay --from": ["replay", "{log}", "--from", "{at}"],
    "replay --to": ["replay", "{log}", "--to", "{at}"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("at", ["999", "1h", "#99999", "7.5"])
def test_every_command_refuses_a_position_past_the_end_with_64(
    command: str, at: str, tmp_path: Path
) -> None:
    log = fixture("all_succeeded")
    golden = tmp_path / "golden"
    args = [a.format(log=log, at=at, golden=golden) for a in COMMANDS[command]]
    result = invoke(args)
    assert result.exit_code == 64, result.output
    assert result.stdout == ""
    option = command.split()[-1] if command.startswith("replay") else "--at"
    assert f"Invalid value for '{option}': {at!r} is past the end: " in result.stderr
    assert f"the run in {log} lasts 7 s (19 events)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not golden.exists()  # check --update would have written nothing either


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("at", ["end", "7", "#19", "100%"])
def test_every_command_takes_the_very_end(command: str, at: str, tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    args = [a.format(log=fixture("all_succeeded"), at=at, golden=golden) for a in COMMANDS[command]]
    if command == "check":
        args.append("--update")
    result = invoke(args)
    assert result.exit_code in (0, 1), result.output  # check --update reports "written": 1
    assert "Error" not in result.stderr and "error:" not in result.stderr


def test_the_length_stated_is_a_valid_position(tmp_path: Path) -> None:
    """The length is cut, not rounded, to the millisecond: typing it back works."""
    path = tmp_path / "odd.jsonl"
    lines = Path(fixture("all_succeeded")).read_text("utf-8").splitlines(keepends=True)
    last = json.loads(lines[-1])
    last["t"] = T0 + 7.4567
    path.write_text("".join(lines[:-1]) + json.dumps(last) + "\n", "utf-8")
    result = invoke(["snapshot", str(path), "--at", "8", "--format", "json"])
    assert "lasts 7.456 s (19 events)" in result.stderr
    # Just before the last event (run_finished): unfinished, exit 3; at it: finished.
    assert invoke(["snapshot", str(path), "--at", "7.456", "--format", "json"]).exit_code == 3
    assert invoke(["snapshot", str(path), "--at", "7.4567", "--format", "json"]).exit_code == 0
    assert invoke(["snapshot", str(path), "--at", "7.4568", "--format", "json"]).exit_code == 64


@pytest.mark.parametrize("at", ["5", "5s", "0m5s", "00:05", "0:00:05", "50%", "#3", "start"])
def test_cli_accepts_every_when_form(at: str) -> None:
    result = invoke(["snapshot", fixture("all_succeeded"), "--at", at, "--format", "json"])
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["events"]["count"] >= 1
    # Every one of these is before the run's end (7.456 s, 19 events): incomplete.
    assert not doc["state"]["finished"]
    assert result.exit_code == 3


@pytest.mark.parametrize("at", ["soon", "-1", "#0", "200%", "mark:", "1:2:3:4"])
def test_cli_rejects_bad_when_with_64(at: str) -> None:
    result = invoke(["snapshot", fixture("all_succeeded"), "--at", at])
    assert result.exit_code == 64
    assert "Traceback" not in result.stderr
    assert "--at" in result.stderr
    assert result.stdout == ""
