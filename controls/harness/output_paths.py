"""Can the run write where it was told to? Checked before anything is collected.

A run that collects for an hour and then cannot write its evidence folder or its recording has
lost the night. These checks try the real thing (create a scratch file in the folder that would
receive the output) instead of reading permission bits, so they also catch read-only file
systems, special file systems (/proc) and a root user whose writes are refused anyway, and they
create nothing that stays behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _nearest_existing(path: Path) -> Path:
    """Return `path` or its nearest ancestor that exists (the folder a mkdir -p would start in)."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _try_write_in(folder: Path) -> str | None:
    """Return None when a file can be created (and is removed again) in `folder`, else why not."""
    try:
        handle, scratch = tempfile.mkstemp(prefix=".audit-write-check-", dir=folder)
    except OSError as exc:
        return f"cannot write in {folder} ({_reason(exc)})"
    os.close(handle)
    Path(scratch).unlink(missing_ok=True)
    return None


def folder_problem(folder: Path) -> str | None:
    """Return why the run could not write files into `folder` (created if missing), or None if it can.

    The folder may exist (then it must be a folder we can write in) or not (then its nearest
    existing ancestor must be a folder we can write in, so that it can be created).
    """
    if folder.exists() and not folder.is_dir():
        return f"{folder} exists and is not a folder"
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        return f"{existing} is not a folder, so {folder} cannot be created"
    return _try_write_in(existing)


def file_problem(file: Path) -> str | None:
    """Return why the run could not write the file `file` (its folder created if missing), or None."""
    if file.is_dir():
        return f"{file} is a folder, not a file"
    if file.exists() and not os.access(file, os.W_OK):
        return f"{file} exists and is not writable"
    return folder_problem(file.parent)
