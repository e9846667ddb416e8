"""The README's picture is the dashboard as it is now: redrawn in memory and compared."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def _pictures() -> object:
    spec = importlib.util.spec_from_file_location(
        "make_pictures", ROOT / "docs" / "make_pictures.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


PICTURES = _pictures()


@pytest.mark.parametrize("name", sorted(PICTURES.PICTURES))  # type: ignore[attr-defined]
def test_the_picture_is_current(name: str) -> None:
    path: Path = ROOT / "docs" / name
    assert path.exists(), f"docs/{name} is missing: run python docs/make_pictures.py"
    assert path.read_text(encoding="utf-8") == PICTURES.draw(name), (  # type: ignore[attr-defined]
        f"docs/{name} is stale: run python docs/make_pictures.py"
    )


def test_the_readme_shows_the_picture() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in PICTURES.PICTURES:  # type: ignore[attr-defined]
        assert f"](docs/{name})" in readme
