"""pytest integration for golden snapshots: the ``runreel_golden`` fixture and ``--runreel-update``.

Enable it with ``pytest_plugins = ["replay.pytest_golden"]`` in a conftest.py (it is
also registered as the ``runreel-golden`` pytest plugin when runreel is installed).
Then, in a test::

    def test_nightly_run(runreel_golden):
        runreel_golden("runs/nightly.jsonl", "tests/golden/nightly", at=["50%", "end"])
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from replay.golden import check
from replay.snapshot import Format
from replay.when import When, parse_when


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runreel")
    group.addoption(
        "--runreel-update",
        action="store_true",
        default=False,
        help="Write runreel golden snapshots instead of comparing them.",
    )


class GoldenCheck:
    """Callable that fails the test with a readable diff when a snapshot changed."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def __call__(
        self,
        log: str,
        golden: str,
        *,
        at: str | Sequence[str] = (),
        width: int | None = None,
        height: int | None = None,
        fmt: Format | None = None,
    ) -> None:
        points: list[When] = [parse_when(a) for a in ([at] if isinstance(at, str) else at)]
        results = check(
            str(log), str(golden), points, width=width, height=height, fmt=fmt, update=self.update
        )
        bad = [r for r in results if not r.ok]
        if bad:
            parts = []
            for r in bad:
                parts.append(f"{r.status}: {r.point.path} ({r.point.when})")
                parts.extend(x for x in (r.diff, r.note) if x)
            parts.append("run pytest with --runreel-update to accept the new snapshots")
            pytest.fail("\n".join(parts), pytrace=False)


@pytest.fixture
def runreel_golden(request: pytest.FixtureRequest) -> GoldenCheck:
    """Compare a run's snapshots with golden files; ``--runreel-update`` rewrites them."""
    return GoldenCheck(bool(request.config.getoption("--runreel-update")))
