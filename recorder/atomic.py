"""Writing output files without ever leaving a half-written one behind."""

from __future__ import annotations

import os
import stat
import tempfile

from recorder.errors import WriteFailed


def write_file(path: str, text: str) -> None:
    """Write ``text`` atomically: the old file stays whole until the new one is.

    Symlinks are written through; a device, FIFO or terminal (``/dev/stdout``) is
    written to directly, never replaced.
    """
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        special = False
    if special:
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                out.write(text)
        except OSError as exc:
            raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
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
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}") from None
