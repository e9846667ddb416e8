"""Error signatures (replay.core.signature): the grouping rule, by example and by property."""

from __future__ import annotations

import string

from hypothesis import assume, given
from hypothesis import strategies as st

from replay.core.signature import MAX_MESSAGE, signature, split_type


def test_examples_from_real_errors() -> None:
    cases = {
        "TimeoutError: read timed out after 30s": "TimeoutError: read timed out after <num>s",
        "ConnectionResetError: [Errno 104] Connection reset by peer": (
            "ConnectionResetError: [Errno <num>] Connection reset by peer"
        ),
        "KeyError: 'customer_id'": "KeyError: <str>",
        "OSError: [Errno 28] No space left on device: /data/out/part-0001.csv": (
            "OSError: [Errno <num>] No space left on device: <path>"
        ),
        "ConnectionError: cannot reach 10.0.0.12:5432": "ConnectionError: cannot reach <ip>",
        "LookupError: no row 3f2a9c1e-8b7d-4e5f-9a0b-1c2d3e4f5a6b": "LookupError: no row <uuid>",
        "git: bad object 1a2b3c4d5e6f7a8b at 0x7ffe": "git: bad object <hex> at <hex>",
        "requests.exceptions.HTTPError: 503 from https://api.example.com/v1/x?id=9": (
            "requests.exceptions.HTTPError: <num> from <url>"
        ),
        "stale since 2026-01-01T10:00:00Z": "stale since <date>",
        "assert 1 == 2": "assert <num> == <num>",
        "": "",
    }
    for error, expected in cases.items():
        assert signature(error) == expected, error


def test_only_the_first_line_counts_and_blanks_collapse() -> None:
    assert (
        signature("ValueError:   bad   value 3\n  Traceback...\n") == "ValueError: bad value <num>"
    )
    assert signature("\n\nValueError: x\n") == "ValueError: x"


def test_words_with_digits_stay() -> None:
    assert signature("E501: line too long in v2 of sha256") == "E501: line too long in v2 of sha256"


def test_the_type_is_a_leading_name_and_colon() -> None:
    assert split_type("a.b.CError: boom") == ("a.b.CError", "boom")
    assert split_type("http://x: boom")[0] == ""
    assert split_type("no type here")[0] == ""
    assert split_type("C:\\data\\x failed")[0] == ""


def test_a_long_message_is_cut() -> None:
    sig = signature("E: " + "word " * 200)
    assert len(sig) == len("E: ") + MAX_MESSAGE


# Properties ---------------------------------------------------------------------------

WORD = st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)
TYPE = st.from_regex(r"\A[A-Z][A-Za-z]{0,10}(Error|Exception)?\Z")
NUMBER = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
)
HEX = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(lambda n: f"0x{n:x}"),
    st.from_regex(r"\A[0-9a-f]{6,30}\Z").map(lambda s: f"a1{s}"),
)
UUID = st.uuids().map(str)
QUOTED = st.text(alphabet=string.ascii_letters + string.digits + " /.:-_", max_size=20).map(
    lambda s: f"'{s}'"
)
PATH = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=8),
    min_size=1,
    max_size=5,
).map(lambda parts: "/" + "/".join(parts))
IP = st.tuples(
    st.lists(st.integers(0, 255), min_size=4, max_size=4),
    st.one_of(st.none(), st.integers(1, 65535)),
).map(lambda a: ".".join(map(str, a[0])) + ("" if a[1] is None else f":{a[1]}"))
KINDS = {"num": NUMBER, "hex": HEX, "uuid": UUID, "str": QUOTED, "path": PATH, "ip": IP}


@st.composite
def two_errors(draw: st.DrawFn) -> tuple[str, str]:
    """Two errors from one template whose variable slots get different values."""
    kind = draw(TYPE)
    parts: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            parts.append(("word", draw(WORD)))
        else:
            parts.append(("slot", draw(st.sampled_from(sorted(KINDS)))))
    out = []
    for _ in range(2):
        text = [value if what == "word" else draw(KINDS[value]) for what, value in parts]
        out.append(f"{kind}: " + " ".join(text))
    return out[0], out[1]


@given(two_errors())
def test_errors_that_differ_only_in_variable_parts_share_a_signature(
    pair: tuple[str, str],
) -> None:
    a, b = pair
    assert signature(a) == signature(b)


@given(TYPE, TYPE, st.text(max_size=40))
def test_different_types_never_share_a_signature(a: str, b: str, message: str) -> None:
    if a != b:
        assert signature(f"{a}: {message}") != signature(f"{b}: {message}")


@given(TYPE, st.text(max_size=60))
def test_a_typed_error_never_shares_with_an_untyped_one(kind: str, message: str) -> None:
    typed = signature(f"{kind}: {message}")
    untyped = f"just {message}"
    # "just : x" reads as a type named "just" (a blank before the colon is allowed), so
    # only messages that keep the line untyped test the claim.
    assume(split_type(untyped)[0] == "")
    assert signature(untyped) != typed


def test_a_uuid_is_dashed_and_32_bare_hex_digits_are_hex() -> None:
    """Found by the property above: a bare 32-digit hex value was a <uuid> while a 31-digit
    one was a <hex>, so two errors of one template got two signatures."""
    assert signature("E: id 3f2a9c1e8b7d4e5f9a0b1c2d3e4f5a6b") == "E: id <hex>"
    assert signature("E: id 3f2a9c1e8b7d4e5f9a0b1c2d3e4f5a6") == "E: id <hex>"
    assert signature("E: id 3f2a9c1e-8b7d-4e5f-9a0b-1c2d3e4f5a6b") == "E: id <uuid>"
