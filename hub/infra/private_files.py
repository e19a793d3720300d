"""Files only the hub's own user may read: the SQLite database, generated keys and tokens,
and the data directory that holds them (and the embedded Redis's token cache)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory; created owner-only (0700) when missing. One that exists is
    left alone: it may be shared on purpose (a data dir of /srv, say)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode is cut by the umask
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner reads: created empty 0600 when missing, and narrowed
    to 0600 when an earlier version left it wider (the hub's own file, e.g. yunchu.db)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & ~FILE_MODE:
            os.chmod(path, FILE_MODE)
    else:
        os.close(fd)
    return path


def write_new_private(path: Path, text: str) -> None:
    """Write a file that must not exist yet, 0600 from its first byte."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
