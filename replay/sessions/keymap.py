"""A session's keys as one table: each row handles its keys and describes them.

The help screen and the key line are drawn from the same rows that ``press`` runs,
so a key cannot work without being listed, nor be listed without working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from rich.console import RenderableType

from replay.core.views.help import Overlay, help_panel
from replay.core.views.hints import Hint
from replay.sessions.keys import STOPS

S = TypeVar("S")


@dataclass(frozen=True)
class Binding(Generic[S]):
    """Keys (as ``split_keys`` names them) and what they do to a session of type ``S``."""

    keys: tuple[str, ...]
    shown: str  # how help and hints write the keys: "←/→", "0-9", "space"
    does: str  # one line for the help screen
    act: Callable[[S, str], None]
    # The key line's label: text, None for "not in the key line", or a function of the
    # session (None: not now, e.g. "cancel timeout" without a timeout).
    hint: str | Callable[[S], str | None] | None = None
    moves: bool = True  # False: only opens or closes help (a message on screen stays)


class KeyMap(Generic[S]):
    """Rows of bindings, most important first (the key line drops from the end)."""

    def __init__(self, bindings: Sequence[Binding[S]]) -> None:
        self.bindings = tuple(bindings)
        self._by_key = {k: b for b in self.bindings for k in b.keys}
        if len(self._by_key) != sum(len(b.keys) for b in self.bindings):
            raise ValueError("a key is bound twice")

    def find(self, key: str) -> Binding[S] | None:
        return self._by_key.get(key)

    def hints(self, session: S) -> list[Hint]:
        """The key line now, most important first."""
        out = []
        for b in self.bindings:
            label = b.hint(session) if callable(b.hint) else b.hint
            if label:
                out.append(Hint(b.shown, label))
        return out

    def rows(self) -> list[tuple[str, str]]:
        """Every key and what it does, for the help screen."""
        return [(b.shown, b.does) for b in self.bindings]


class Helped(Protocol):
    """What the keys every session has act on."""

    reason: str | None
    help_shown: bool

    def back(self) -> None: ...


H = TypeVar("H", bound=Helped)


def _stop(s: Helped, key: str) -> None:
    s.reason = STOPS[key]


def _toggle_help(s: Helped, key: str) -> None:
    s.help_shown = not s.help_shown


def _escape(s: Helped, key: str) -> None:
    if s.help_shown:
        s.help_shown = False
    else:
        s.back()


def session_keys(quit_does: str, *bindings: Binding[H]) -> KeyMap[H]:
    """A session's table: q (and the signals) first, then ? help, the session's own
    keys, and Esc. Every session has these, and help lists them the same way."""
    return KeyMap(
        [
            Binding(tuple(STOPS), "q", quit_does, _stop, hint="quit"),
            Binding(("?",), "?", "show or hide the keys", _toggle_help, hint="help", moves=False),
            *bindings,
            Binding(
                ("esc",),
                "Esc",
                "hide the keys; else back (detail, typing, a filter)",
                _escape,
                moves=False,
            ),
        ]
    )


def with_help(
    board: RenderableType, mode: str, keymap: KeyMap[Any], *, shown: bool
) -> RenderableType:
    """The dashboard, with the help box over it while help is open."""
    return Overlay(board, help_panel(mode, keymap.rows())) if shown else board


def keys_help(keymap: KeyMap[Any]) -> str:
    """The keys for a command's ``--help`` (click keeps a ``\\b`` paragraph as written)."""
    width = max(len(b.shown) for b in keymap.bindings)
    rows = [f"  {b.shown.ljust(width)}  {b.does}" for b in keymap.bindings]
    return "\b\nKeys on a terminal (? shows them over the dashboard):\n" + "\n".join(rows)
