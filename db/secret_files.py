"""A secret written to its file once, whatever the number of processes starting at once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_secret_once(target: Path, data: bytes) -> None:
    """Writes `data` to `target` (mode 0600, fsync'd) unless it exists. Two processes starting
    at once may both call this with different secrets: `os.link` lets only the first land,
    and both then read the file, so they always use the same secret."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
