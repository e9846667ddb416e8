"""Plant small bugs in the core, one at a time, and see whether the test suite notices.

    python tests/mutants.py            # every mutant (a few minutes on 2 cores)
    python tests/mutants.py --list     # what each mutant plants
    python tests/mutants.py -k when    # the mutants whose name contains "when"

Each mutant is one textual change in one file (an off-by-one, a dropped condition, an
escape left out). The repository is copied to a temporary directory, the change is made
there, and the tests that guard that file run against the copy (PYTHONPATH points at it,
so subprocesses run the mutant too). A mutant the tests do not fail on "survived": a bug
of that kind would reach users unnoticed. Exit status: 0 when every mutant was caught,
1 when one survived, 2 when a mutant no longer matches the code (update this list).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the repository
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # the test files that guard this code


OUTCOME = ("tests/test_exitcodes.py", "tests/test_snapshot.py")
FOLD = ("tests/test_fold.py",)
READER = ("tests/test_reader.py",)
TEXT = ("tests/test_hostile.py", "tests/test_reliability.py")
WHEN = ("tests/test_when.py", "tests/test_when_edges.py")
SIGNATURE = ("tests/test_signature.py",)

MUTANTS = [
    Mutant(
        "outcome: no success is not a total failure",
        "replay/core/outcome.py",
        "if m.succeeded == 0:",
        "if m.succeeded < 0:",
        OUTCOME,
    ),
    Mutant(
        "outcome: the run's own failed status is ignored",
        "replay/core/outcome.py",
        'if m.failed or short or m.status == "failed":',
        "if m.failed or short:",
        OUTCOME,
    ),
    Mutant(
        "outcome: tasks still in flight at the end do not count",
        "replay/core/outcome.py",
        "short = bool(m.in_flight) or (",
        "short = False or (",
        OUTCOME,
    ),
    Mutant(
        "exit codes: partial failure exits 1",
        "replay/exitcodes.py",
        "Outcome.PARTIAL_FAILURE: PARTIAL_FAILURE,",
        "Outcome.PARTIAL_FAILURE: TOTAL_FAILURE,",
        OUTCOME,
    ),
    Mutant(
        "fold: a seq gap goes unnoticed (the plain fold)",
        "replay/core/fold.py",
        "    if e.seq != expected:\n        _gap(m, e.src, expected, e.seq)",
        "    if e.seq < expected - 1:\n        _gap(m, e.src, expected, e.seq)",
        FOLD,
    ),
    Mutant(
        "fold: a success is counted twice (the fast path)",
        "replay/core/fold.py",
        "                succeeded += 1\n                task = e.task\n",
        "                succeeded += 2\n                task = e.task\n",
        FOLD,
    ),
    Mutant(
        "fold: a failure does not leave the in-flight set",
        "replay/core/handlers.py",
        "    m.failed += 1\n    m._busy(e.t)\n    f = m.in_flight.pop(e.task, None)\n",
        "    m.failed += 1\n    m._busy(e.t)\n    f = m.in_flight.get(e.task, None)\n",
        FOLD,
    ),
    Mutant(
        "reader: a torn last line is taken as data",
        "replay/sources/file.py",
        'cut = buf.rfind(b"\\n") + 1',
        "cut = len(buf)",
        READER,
    ),
    Mutant(
        "escaping: ESC and the C0 controls after it pass through",
        "replay/core/text.py",
        "for c in range(0x20) if c not in (0x09, 0x0A)}",
        "for c in range(0x1B) if c not in (0x09, 0x0A)}",
        TEXT,
    ),
    Mutant(
        "escaping: the C1 CSI (0x9B) passes through",
        "replay/core/text.py",
        "range(0x80, 0xA0)",
        "range(0x80, 0x9B)",
        TEXT,
    ),
    Mutant(
        "escaping: DEL passes through",
        "replay/core/text.py",
        'table[0x7F] = "\\u2421"',
        'table[0x7E] = "~"',
        TEXT,
    ),
    Mutant(
        "WHEN: event numbers take other scripts' digits",
        "replay/core/when.py",
        '_INTEGER = re.compile(r"^\\d+$", re.ASCII)',
        '_INTEGER = re.compile(r"^\\d+$")',
        WHEN,
    ),
    Mutant(
        "WHEN: 00:60 is a minute",
        "replay/core/when.py",
        "if float(secs) >= 60 or",
        "if float(secs) > 60 or",
        WHEN,
    ),
    Mutant(
        "WHEN: 1h90s is taken",
        "replay/core/when.py",
        "and secs is not None and secs >= 60:",
        "and secs is not None and secs > 90:",
        WHEN,
    ),
    Mutant(
        "signature: the exception type is dropped",
        "replay/core/signature.py",
        'return f"{kind}: {text}" if text else f"{kind}:"',
        "return text",
        SIGNATURE,
    ),
    Mutant(
        "signature: numbers are kept",
        "replay/core/signature.py",
        '("<num>", re.compile(',
        '("<num>", re.compile(r"(?!)") or re.compile(',
        SIGNATURE,
    ),
    Mutant(
        "signature: quoted strings are kept",
        "replay/core/signature.py",
        '("<str>", re.compile(',
        '("<str>", re.compile(r"(?!)") or re.compile(',
        SIGNATURE,
    ),
]


def plant(copy: Path, mutant: Mutant) -> bool:
    """Make the change in ``copy``; False when the text to change is not there once."""
    path = copy / mutant.path
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        return False
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return True


def caught(copy: Path, mutant: Mutant) -> bool:
    """Whether the guarding tests fail with the mutant planted."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CI", None)  # the skip policy is CI's business, not the mutants'
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-n", "2", "-p", "no:cacheprovider"]
        + list(mutant.tests),
        cwd=copy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode != 0


def _copy(copy: Path) -> None:
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.runreel-index", ".*_cache")
    shutil.copytree(ROOT, copy, ignore=ignore)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("-k", default="", help="only the mutants whose name contains this")
    args = ap.parse_args()
    chosen = [m for m in MUTANTS if args.k in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name}  ({m.path})")
        return 0
    survived, stale = [], []
    with tempfile.TemporaryDirectory(prefix="runreel-mutants-") as tmp:
        copy = Path(tmp) / "repo"
        _copy(copy)
        control = Mutant("control", "", "", "", tuple(sorted({t for m in chosen for t in m.tests})))
        if caught(copy, control):  # the unchanged copy must pass, or "caught" means nothing
            print("the guarding tests fail without any mutant: fix them first", file=sys.stderr)
            return 2
        shutil.rmtree(copy)
        for m in chosen:
            _copy(copy)
            try:
                if not plant(copy, m):
                    stale.append(m)
                    print(f"stale     {m.name}: {m.old!r} is not in {m.path} once")
                    continue
                verdict = caught(copy, m)
                print(f"{'caught' if verdict else 'SURVIVED':9} {m.name}", flush=True)
                if not verdict:
                    survived.append(m)
            finally:
                shutil.rmtree(copy)
    print(f"{len(chosen) - len(survived) - len(stale)} of {len(chosen)} mutants caught")
    if stale:
        return 2
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
