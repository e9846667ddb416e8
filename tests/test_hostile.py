"""Hostile text from the log renders literally; nothing in it reaches the terminal as control.

The hostile fixture puts Rich markup, CSI/OSC/OSC 8/OSC 52 escapes, C1 controls,
bidi overrides, NUL and 20k-character strings in every field a view shows.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest
from conftest import T0, fixture, invoke, run_runreel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder import codec
from recorder.events import Log, RunStarted, TaskFailed, TaskStarted
from replay.core.text import safe

SGR = re.compile(r"\x1b\[[0-9;]*m")
BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C}


def forbidden_chars(text: str) -> list[str]:
    """Characters a terminal would act on: C0 (but newline), DEL, C1, bidi controls."""
    bad = []
    for ch in text:
        o = ord(ch)
        if (o < 0x20 and ch != "\n") or o == 0x7F or 0x80 <= o < 0xA0 or o in BIDI:
            bad.append(f"U+{o:04X}")
    return bad


def assert_terminal_safe(data: bytes, *, allow_sgr: bool = False) -> str:
    text = data.decode("utf-8")  # also: valid UTF-8, so no stray C1 bytes
    if allow_sgr:
        text = SGR.sub("", text)
    assert "\x1b" not in text, "an ESC reached the output"
    assert forbidden_chars(text) == []
    return text


# The snapshot formats ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "ansi", "svg", "html"])
@pytest.mark.parametrize("at", ["end", "mark:plain", "#3"])
def test_no_control_from_the_log_reaches_a_snapshot(fmt: str, at: str) -> None:
    result = invoke(["snapshot", fixture("hostile"), "--format", fmt, "--at", at])
    assert result.exit_code == 3, result.stderr
    assert_terminal_safe(result.stdout_bytes, allow_sgr=fmt == "ansi")
    assert_terminal_safe(result.stderr_bytes)


def test_ansi_has_only_runreels_own_sgr_sequences() -> None:
    out = invoke(["snapshot", fixture("hostile"), "--format", "ansi"]).stdout
    sequences = re.findall(r"\x1b.{0,12}", out, re.DOTALL)
    assert sequences, "the ansi snapshot has no colour at all"
    every_esc = out.count("\x1b")
    assert every_esc == len(SGR.findall(out)), "an ESC that does not start an SGR sequence"


def test_markup_and_escapes_render_literally(gen: ModuleType) -> None:
    text = invoke(["snapshot", fixture("hostile"), "--width", "200", "--height", "40"]).stdout
    assert gen.MARKUP in text  # "[bold red]x[/]" as typed, not a style
    assert gen.LINK_MARKUP in text
    early = invoke(["snapshot", fixture("hostile"), "--at", "#3", "--width", "200"]).stdout
    assert "[red]task-1[/red]" in early  # t1 is running on its worker there
    assert "[bold]w-markup[/bold]" in text
    # Escapes are shown as visible placeholders, not dropped: the user sees something is there.
    assert "␛[2J" in text and "␛]0;pwned␇" in text
    assert "<9B>" in text and "<U+202E>" in text
    ansi = SGR.sub("", invoke(["snapshot", fixture("hostile"), "--format", "ansi"]).stdout)
    assert gen.MARKUP in ansi


def test_no_links_in_html_or_svg(gen: ModuleType) -> None:
    for fmt in ("html", "svg"):
        out = invoke(["snapshot", fixture("hostile"), "--format", fmt]).stdout
        assert "href=" not in out.replace('href="#', "")  # only in-document references
        assert "<a " not in out
        assert gen.MARKUP in html.unescape(out).replace("\xa0", " ")


def test_long_strings_do_not_blow_up_the_output(gen: ModuleType) -> None:
    for fmt, limit in (("text", 20_000), ("ansi", 60_000), ("svg", 300_000), ("html", 300_000)):
        out = invoke(["snapshot", fixture("hostile"), "--format", fmt]).stdout_bytes
        assert len(out) < limit, (fmt, len(out))
        assert b"X" * gen.LONG not in out
    text = invoke(["snapshot", fixture("hostile")]).stdout
    assert all(len(line) <= 100 for line in text.splitlines())


def test_stats_is_safe(gen: ModuleType) -> None:
    result = invoke(["stats", fixture("hostile")])
    assert result.exit_code == 3
    out = assert_terminal_safe(result.stdout_bytes)
    assert gen.MARKUP in out
    assert len(out) < 5_000  # the 20k-character name and run are cut


def test_stats_json_keeps_the_data_and_escapes_esc(gen: ModuleType) -> None:
    import json

    result = invoke(["stats", fixture("hostile"), "--json"])
    assert b"\x1b" not in result.stdout_bytes and b"\x00" not in result.stdout_bytes
    doc = json.loads(result.stdout)
    assert doc["name"] == gen.HOSTILE_NAME  # JSON is data: exact, escaped by the encoder
    assert doc["meta"]["long"] == "M" * gen.LONG


def test_a_real_process_writes_no_escape_to_a_terminal_like_pipe(tmp_path: Path) -> None:
    proc = run_runreel(["snapshot", fixture("hostile"), "--format", "ansi"], cwd=tmp_path)
    assert proc.returncode == 3
    assert_terminal_safe(proc.stdout, allow_sgr=True)
    proc = run_runreel(["stats", fixture("hostile")], cwd=tmp_path)
    assert_terminal_safe(proc.stdout)


# Hostile text in the places errors and warnings come from ------------------------------------


def _log_with(tmp_path: Path, *extra: bytes) -> Path:
    lines = [
        codec.encode(RunStarted(t=T0, src="m", seq=1, v=1, run="r")),
        codec.encode(TaskStarted(t=T0 + 1, src="m", seq=2, task="\x1b[2Jt", worker="\x9bw")),
        codec.encode(TaskFailed(t=T0 + 2, src="m", seq=3, task="\x1b[2Jt", error="\x1b]0;x\x07")),
        *extra,
        codec.encode(Log(t=T0 + 3, src="\x1b]0;evil-src\x07", seq=5, msg="gap before me")),
    ]
    log = tmp_path / "evil.jsonl"
    log.write_bytes(b"".join(lines))
    return log


BAD_LINES = [
    b'{"type":"metric","name":"x","kind":"\\u001b]0;pwned\\u0007","t":1.0,"src":"m","seq":4}\n',
    b'{"type":"\\u001b[2J\\u009b\\u202e","t":1.0,"src":"\\u001b[2J","seq":4}\n',
    b'{"type":"log","\\u001b[2J":1,"t":"\\u001b[2J","src":"m","seq":4}\n',
    b'{"type":"log","msg":"\xc2\x9b\xe2\x80\xae\x1b[2J","t":1.0,"src":"m","seq":"\x1b"}\n',
    b"\x1b]0;raw escape line\x07\n",
]


@pytest.mark.parametrize("bad", BAD_LINES)
@pytest.mark.parametrize(
    "command", [["validate"], ["snapshot", "--lenient"], ["stats", "--lenient"], ["snapshot"]]
)
def test_messages_about_hostile_lines_are_safe(
    tmp_path: Path, bad: bytes, command: list[str]
) -> None:
    log = _log_with(tmp_path, bad)
    result = invoke([command[0], str(log), *command[1:]])
    assert result.exit_code in (0, 3, 65), result.stderr
    assert_terminal_safe(result.stdout_bytes, allow_sgr=False)
    assert_terminal_safe(result.stderr_bytes)


def test_torn_hostile_tail_is_never_printed(tmp_path: Path) -> None:
    log = _log_with(tmp_path)
    with log.open("ab") as f:
        f.write(b'{"type":"log","msg":"\\u001b]0;torn\\u0007","t":1')
    for command in (["validate"], ["snapshot"], ["stats"]):
        result = invoke([command[0], str(log)])
        assert_terminal_safe(result.stdout_bytes)
        assert_terminal_safe(result.stderr_bytes)


# safe(): the function every view uses ---------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_safe_leaves_no_control_character(value: str) -> None:
    shown = safe(value, one_line=True)
    assert forbidden_chars(shown.replace("\n", "?")) == []
    assert "\n" not in shown


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs")), max_size=300))
def test_safe_keeps_ordinary_text(value: str) -> None:
    assert safe(value) == value


def test_safe_placeholders_and_limit() -> None:
    assert safe("a\x1bb") == "a␛b"
    assert safe("\x00\x07\x7f") == "␀␇␡"
    assert safe("\x9b") == "<9B>"
    assert safe("\u202e") == "<U+202E>"
    assert safe("x\ny") == "x␊y"
    assert safe("x\ny", one_line=False) == "x\ny"
    long = safe("A" * 20_000)
    assert len(long) < 400 and long.startswith("A" * 300) and "19700" in long
    assert all(unicodedata.category(c) != "Cc" for c in safe("\t"))
