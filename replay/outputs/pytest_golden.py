"""pytest integration for golden snapshots: the ``runreel_golden`` fixture and ``--runreel-update``.

The plugin loads itself when runreel is installed (a pytest11 entry point named
like this module, so listing it in ``pytest_plugins`` as well is harmless). With
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, enable it with ``-p replay.outputs.pytest_golden``.
Then, in a test::

    def test_nightly_run(runreel_golden):
        runreel_golden("runs/nightly.jsonl", "tests/golden/nightly", at=["50%", "end"])

Relative paths are relative to pytest's rootdir, so the test passes (and
``--runreel-update`` writes the same files) from whichever directory pytest runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from replay.core.text import safe
from replay.core.when import When, parse_when
from replay.index.position import BadPosition
from replay.outputs.formats import Format
from replay.outputs.golden import NoSuchTask, check, shown_at

StrPath = str | os.PathLike[str]


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

    def __init__(self, update: bool, root: StrPath = ".") -> None:
        self.update = update
        self.root = Path(root)

    def __call__(
        self,
        log: StrPath,
        golden: StrPath,
        *,
        at: str | When | Sequence[str | When] = (),
        width: int | None = None,
        height: int | None = None,
        fmt: Format | None = None,
        view: str | None = None,
        task: str | None = None,
    ) -> None:
        ats = [at] if isinstance(at, (str, When)) else list(at)
        # str() drops a trailing separator, which means "a directory" to check().
        slash = os.sep if str(golden).endswith(("/", os.sep)) else ""
        try:
            points = [a if isinstance(a, When) else parse_when(a) for a in ats]
        except ValueError as exc:  # a typo in at=
            pytest.fail(f"at: {exc}", pytrace=False)
        try:
            results = check(
                str(self.root / log),
                str(self.root / golden) + slash,
                points,
                width=width,
                height=height,
                fmt=fmt,
                update=self.update,
                view=view,
                task=task,
            )
        except BadPosition as exc:  # an unknown mark, past the end: nothing to compare
            pytest.fail(f"at: {safe(str(exc), limit=500)}", pytrace=False)
        except NoSuchTask as exc:
            pytest.fail(f"task: {exc}", pytrace=False)
        bad = [r for r in results if not r.ok]
        if bad:
            parts = []
            for r in bad:
                parts.append(f"{r.status}: {r.point.path} ({shown_at(r.point.when)})")
                parts.extend(x.rstrip("\n") for x in (r.diff, r.note) if x)
            parts.append("run pytest with --runreel-update to accept the new snapshots")
            pytest.fail("\n".join(parts), pytrace=False)


@pytest.fixture
def runreel_golden(request: pytest.FixtureRequest) -> GoldenCheck:
    """Compare a run's snapshots with golden files; ``--runreel-update`` rewrites them."""
    return GoldenCheck(bool(request.config.getoption("--runreel-update")), request.config.rootpath)
