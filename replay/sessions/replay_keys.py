"""The replay's keys: one table drives their handling, the help over the dashboard, the
key line and ``--help``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from replay.sessions.keymap import Binding, KeyMap, session_keys
from replay.sessions.pages import view_bindings

if TYPE_CHECKING:
    from replay.sessions.replay import ReplaySession

SPEEDS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
SEEK_STEP = 5.0


def _seek_step(s: ReplaySession, key: str) -> None:
    s.seek_time(s.vt + (SEEK_STEP if key == "right" else -SEEK_STEP))


# Every replay key, most important first (the key line drops from the end). Help and
# handling both come from these rows.
KEYS: KeyMap[ReplaySession] = session_keys(
    "stop (exit code: the state shown)",
    Binding(
        (" ",),
        "space",
        "pause or resume (at the end: play again)",
        lambda s, k: s.space(),
        hint="pause",
    ),
    Binding(
        ("left", "right"),
        "←/→",
        f"seek {SEEK_STEP:g} s back / forward",
        _seek_step,
        hint=f"{SEEK_STEP:g}s",
    ),
    Binding(
        (",", "."),
        ",/.",
        "one event back / forward (pauses)",
        lambda s, k: s.step(1 if k == "." else -1),
        hint="step",
    ),
    Binding(
        ("[", "]"),
        "[/]",
        "previous / next mark",
        lambda s, k: s.jump(s.marks, forward=k == "]"),
        hint="mark",
    ),
    Binding(
        ("e", "E"),
        "e/E",
        "next / previous failure",
        lambda s, k: s.jump(s.failures, forward=k == "e"),
        hint="failure",
    ),
    Binding(
        ("+", "=", "-", "_"),
        "+/-",
        f"faster / slower ({SPEEDS[0]:g}x to {SPEEDS[-1]:g}x)",
        lambda s, k: s.change_speed(up=k in "+="),
        hint="speed",
    ),
    Binding(
        tuple("0123456789"),
        "0-9",
        "jump to 0%, 10%, ... 90% of the run",
        lambda s, k: s.jump_to_tenth(k),
        hint="jump",
    ),
    Binding(
        ("g", "G"),
        "g/G",
        "start / end of the replay (--from / --to)",
        lambda s, k: s.to_start() if k == "g" else s.to_end(),
        hint="start/end",
    ),
    *view_bindings(seeks=True),
)
