"""Draw the README's pictures from checked-in fixtures (run from anywhere).

    python docs/make_pictures.py           # (re)write docs/*.svg
    python docs/make_pictures.py --check   # exit 1 if the checked-in picture is out of date

The picture is ``runreel snapshot fixtures/busy_run.jsonl --at 50% --width 120 --height 40
--format svg``: a realistic run (400 tasks on 8 workers, retries, failures, log messages)
halfway through. The post-mortem section's pictures are ``runreel snapshot
fixtures/postmortem.jsonl --view failures`` and ``--view workers --at mark:db-failover``.
tests/test_docs_pictures.py redraws it in memory and compares, so a change
to the dashboard or the SVG export shows up as a stale picture until this is run again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from replay.core.viewstate import ViewState
from replay.core.when import parse_when
from replay.index.position import fold_at
from replay.outputs.snapshot import render
from replay.store.pages import record_at

ROOT = Path(__file__).resolve().parent.parent
PICTURES = {  # file in docs/ -> (fixture, WHEN, width, height, view)
    "dashboard.svg": ("busy_run", "50%", 120, 40, "overview"),
    "view-failures.svg": ("postmortem", "end", 120, 34, "failures"),
    "view-workers.svg": ("postmortem", "mark:db-failover", 120, 24, "workers"),
}


def draw(name: str) -> str:
    """The picture ``name`` as the SVG text it should hold."""
    fixture, at, width, height, view = PICTURES[name]
    log, when = str(ROOT / "fixtures" / f"{fixture}.jsonl"), parse_when(at)
    frame = fold_at(log, when)
    state = ViewState(view=view)
    record = record_at(log, when, state, frame.now)
    return render(
        frame.metrics, frame.now, width=width, height=height, fmt="svg", view=state, record=record
    )


def main(argv: list[str]) -> int:
    stale = []
    for name in PICTURES:
        path = ROOT / "docs" / name
        svg = draw(name)
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != svg:
                stale.append(name)
        else:
            path.write_text(svg, encoding="utf-8")
            print(f"wrote docs/{name}")
    for name in stale:
        print(f"stale: docs/{name} (run: python docs/make_pictures.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
