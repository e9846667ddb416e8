"""Errors the library raises; the CLI maps each class to an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recorder.location import LogPath


class RunreelError(Exception):
    """Base class: a failure with a one-line message meant for the user."""


class LogInvalid(RunreelError):
    """The log breaks the format contract (bad line, unknown version)."""

    def __init__(self, path: LogPath, line: int | None, reason: str) -> None:
        from recorder.location import line_of  # not at the top: location imports this module

        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{line_of(path, line) if line is not None else path}: {reason}")


class LogUnavailable(RunreelError):
    """The log cannot be opened or read."""


class WriteFailed(RunreelError, OSError):
    """An event or snapshot could not be written completely."""


class LogExists(WriteFailed):
    """A new run was asked for where a log already is; ``where`` names it (file or URL)."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(
            f"{where} already holds a log; pass overwrite=True to replace it "
            "or Recorder.attach() to add to it"
        )
