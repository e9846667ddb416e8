"""The rules of docs/architecture.md, checked: dependencies point down the pipeline and
the core does no I/O and reads no clock."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def modules(package: str) -> list[str]:
    path = ROOT / package.replace(".", "/")
    names = [package]
    for info in pkgutil.walk_packages([str(path)], prefix=package + "."):
        names.append(info.name)
    return sorted(names)


def loaded_after_importing(names: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after importing ``names`` (and nothing else)."""
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_the_write_side_never_imports_the_read_side() -> None:
    names = [n for n in modules("recorder") if n != "recorder.pytest_plugin"]
    assert len(names) > 10  # the walk found the package
    loaded = loaded_after_importing(names)
    assert "recorder.writer" in loaded
    assert sorted(m for m in loaded if m == "replay" or m.startswith("replay.")) == []


def test_the_core_imports_no_later_stage() -> None:
    names = modules("replay.core")
    loaded = loaded_after_importing(names)
    assert "replay.core.fold" in loaded and "replay.core.views.overview" in loaded
    later = ("replay.sources", "replay.index", "replay.sessions", "replay.outputs", "replay.cli")
    assert sorted(m for m in loaded if m.startswith(later) or m == "replay.exitcodes") == []


# What I/O and clock reads look like in source: modules and calls the core must not use.
FORBIDDEN_MODULES = {"os", "time", "sys", "io", "socket", "subprocess", "threading", "datetime"}
FORBIDDEN_CALLS = {"open", "print", "input"}


def violations(source: str) -> list[str]:
    """The forbidden imports and calls in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in FORBIDDEN_CALLS:
                found.append(f"{node.func.id}()")
    return found


@pytest.mark.parametrize(
    "path", sorted((ROOT / "replay" / "core").rglob("*.py")), ids=lambda p: p.name
)
def test_the_core_does_no_io_and_reads_no_clock(path: Path) -> None:
    assert violations(path.read_text()) == []


def test_the_checker_sees_what_it_forbids() -> None:
    bad = "import time\nfrom os import path\nimport json\nprint(time.time())\nlen('x')\n"
    assert violations(bad) == ["time", "os", "print()"]
