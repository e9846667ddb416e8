"""WHEN at its edges: every form with digits of other scripts, and fields out of range.

Python's int(), float() and str.isdigit() take digits of any script ("٣" is 3), so each
form is tried with them; the grammar is ASCII digits only.
"""

from __future__ import annotations

import pytest

from replay.core.when import When, parse_when

# One digit 3 in other scripts: Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali,
# fullwidth, mathematical bold (NFKC folds it), superscript.
OTHER_THREES = ["٣", "۳", "३", "৩", "３", "𝟑", "³"]

FORMS = [  # each form with a 3 in it, as a template
    "{d}",
    "{d}.5",
    "{d}s",
    "{d}m",
    "{d}h",
    "1m{d}s",
    "1h{d}m",
    "0:0{d}",
    "1:0{d}:00",
    "{d}0%",
    "#{d}",
]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_takes_ascii_digits(form: str) -> None:
    assert isinstance(parse_when(form.format(d="3")), When)


@pytest.mark.parametrize("three", OTHER_THREES)
@pytest.mark.parametrize("form", FORMS)
def test_every_form_refuses_other_scripts_digits(form: str, three: str) -> None:
    with pytest.raises(ValueError):
        parse_when(form.format(d=three))


@pytest.mark.parametrize(
    "text",
    [
        "1h90s",  # seconds past 59 after hours
        "1m60s",
        "1h60m",
        "0:60",
        "00:60",
        "1:60:00",
        "1:00:60",
        "1:00:59.5x",
        "101%",
        "100.5%",
        "-1%",
        "1e1%",
        "1_0%",
        "inf%",
        "nan%",
        "#0",
        "#-1",
        "#1.5",
        "#1e3",
        "#",
        "1e3",
        "1_000",
        "inf",
        "nan",
        "-1",
        "0x10",
        "mark:",
        "",
        "  ",
    ],
)
def test_out_of_range_and_malformed_fields_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_when(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("59", 59.0), ("1m59s", 119.0), ("1h59m59s", 7199.0), ("0:59", 59.0), ("1:59:59", 7199.0)],
)
def test_the_largest_field_values_are_taken(text: str, seconds: float) -> None:
    assert parse_when(text) == When("seconds", seconds=seconds)


@pytest.mark.parametrize(("text", "pct"), [("0%", 0.0), ("100%", 100.0), ("99.5%", 99.5)])
def test_percentages_at_their_bounds(text: str, pct: float) -> None:
    assert parse_when(text) == When("percent", seconds=pct)


@pytest.mark.parametrize("text", ["50 %", "fifty%", "%", "5 0%"])
def test_a_percentage_that_is_no_number_says_so(text: str) -> None:
    """Not "between 0% and 100%", which 50 is."""
    with pytest.raises(ValueError) as info:
        parse_when(text)
    assert "between" not in str(info.value) and "a number then %" in str(info.value)
