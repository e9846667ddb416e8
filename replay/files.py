"""Writing output files without ever leaving a half-written one behind."""

from __future__ import annotations

import os
import tempfile

from recorder.errors import WriteFailed


def write_file(path: str, text: str) -> None:
    """Write ``text`` atomically: the old file stays whole until the new one is."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".runreel-", dir=directory)
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a snapshot is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
