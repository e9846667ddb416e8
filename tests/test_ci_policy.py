"""The CI skip policy of tests/conftest.py: a skip in CI fails unless it is listed."""

from __future__ import annotations

from conftest import CI_MAY_SKIP, unlisted_skips


def test_a_listed_pattern_covers_its_tests_and_no_others() -> None:
    allowed = {"tests/test_a.py::test_x*": "needs a thing"}
    nodeids = ["tests/test_a.py::test_x[1]", "tests/test_a.py::test_y", "tests/test_b.py::test_x"]
    assert unlisted_skips(nodeids, allowed) == [
        "tests/test_a.py::test_y",
        "tests/test_b.py::test_x",
    ]
    assert unlisted_skips(nodeids, {}) == nodeids
    assert unlisted_skips([], allowed) == []


def test_every_listed_skip_says_why() -> None:
    assert all(reason.strip() for reason in CI_MAY_SKIP.values())
