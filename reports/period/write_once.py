"""Whether the archive's evidence can still be changed, said plainly for the period report's cover."""

from __future__ import annotations

from reports.archive.store import ArchiveStore, FolderStore


def write_once_statement(store: ArchiveStore) -> str:
    """Return the cover's sentence on whether archived nights can still be changed or removed.

    A folder archive writes its files read-only, which stops accidents, not whoever owns the
    folder: it is never called write-once. An Azure Blob archive is write-once only under a locked
    time-based retention policy of at least the period's length, which is read through ARM
    (reports.archive.immutability) where the archive's resource id is known.
    """
    if isinstance(store, FolderStore):
        return (
            "no: a folder archive can be changed by anyone who can write the folder (its files are "
            "read-only, which prevents accidents, not deliberate changes); the chain and signatures "
            "detect a change, they do not prevent it"
        )
    return "not checked here: the container's immutability policy is read by the nightly run ([archive] kind = azure-blob)"
