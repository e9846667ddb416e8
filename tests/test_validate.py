"""The checks behind ``runreel validate``, called as a library (no CLI)."""

from __future__ import annotations

from pathlib import Path

from conftest import fixture

from replay.sources.validate import validate


def test_a_well_formed_log_has_no_problems() -> None:
    found = validate(fixture("all_succeeded"))
    assert found.problems == [] and found.notes == []
    assert found.finished and found.events > 0 and found.lines == found.events


def test_each_problem_names_the_log_and_notes_are_not_problems(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    raw = Path(fixture("seq_gap")).read_bytes()
    log.write_bytes(raw.replace(b"\n", b"\r\n", 1) + b"\n")  # a CRLF line and a blank one
    found = validate(str(log))
    assert any("seq jumps" in p for p in found.problems)
    assert any("1 line ends in CRLF" in p for p in found.problems)
    assert all(p.startswith(f"{log}:") for p in found.problems)
    assert found.notes == ["note: 1 blank line (readers skip them)"]
