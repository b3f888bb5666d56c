"""Where archived bundles are kept: a folder (the default) or an Azure Blob container.

An archive is a flat key space of immutable objects. Each archived run lives under one prefix
per night, `YYYY/MM/DD/<run id>/`, and holds the bundle's files under their bundle paths
(`evidence.json`, `MANIFEST.sha256`, ...). Keys use `/` whatever the store. The archiver only
ever adds objects: it never overwrites or deletes one (`ArchiveConflictError` when a key exists).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Protocol


class ArchiveError(Exception):
    """The archive could not be read or written; the message names the store and the key."""


class ArchiveConflictError(ArchiveError):
    """An object already exists under the key: an archive never overwrites what it holds."""


class ArchiveStore(Protocol):
    """What the archiver, verify-chain and reindex need of a store (folder, Azure Blob)."""

    def describe(self) -> str:
        """Return where the archive is, for a reader ("folder /var/lib/audit-archive")."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`; raise ArchiveConflictError if the key exists, ArchiveError on failure."""
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`; raise ArchiveError when absent or unreadable."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Return every key under `prefix` (a `/`-ended prefix or ""), sorted; ArchiveError on failure."""
        ...


def check_key(key: str) -> str:
    """Return `key` when it is a relative `/`-separated path without `.`/`..` parts; ValueError otherwise.

    Keys come from bundle paths and run ids; this keeps a hostile name from leaving the archive.
    """
    path = PurePosixPath(key)
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    ):
        raise ValueError(f"not an archive key: {key!r}")
    return path.as_posix()


class FolderStore:
    """An archive in a local (or mounted) folder; objects are files, written once, read-only after."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        """Return "folder <path>"."""
        return f"folder {self.root}"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes) -> None:
        """Write `data` to a new file under the root (exclusive create, then fsync and read-only)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            path.chmod(0o444)
        except FileExistsError:
            raise ArchiveConflictError(f"{self.describe()}: {key} exists already") from None
        except OSError as exc:
            raise ArchiveError(f"{self.describe()}: cannot write {key}: {exc.strerror or exc}") from None

    def get(self, key: str) -> bytes:
        """Return the file's bytes."""
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise ArchiveError(f"{self.describe()}: cannot read {key}: {exc.strerror or exc}") from None

    def list(self, prefix: str) -> list[str]:
        """Return the keys of every file under `prefix`, sorted."""
        base = self.root.joinpath(*check_key(prefix.rstrip("/")).split("/")) if prefix else self.root
        if not base.exists():
            return []
        try:
            return sorted(
                path.relative_to(self.root).as_posix() for path in base.rglob("*") if path.is_file()
            )
        except OSError as exc:
            raise ArchiveError(
                f"{self.describe()}: cannot list {prefix or '/'}: {exc.strerror or exc}"
            ) from None
