"""Whether the archive's evidence can still be changed, said plainly for the period report's cover."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.archive.store import ArchiveStore, FolderStore
from reports.evidence import Message, msg, verbatim

if TYPE_CHECKING:
    from azure.mgmt.storage import StorageManagementClient


def write_once_statement(
    store: ArchiveStore,
    *,
    period_days: int,
    account_id: str | None = None,
    client: StorageManagementClient | None = None,
) -> Message:
    """Return the cover's sentence on whether archived nights can still be changed or removed.

    A folder archive writes its files read-only, which stops accidents, not whoever owns the
    folder: it is never called write-once. An Azure Blob archive is write-once only under a locked
    time-based retention policy of at least the period's length, read (read-only) through ARM from
    the storage account `account_id` (with `client`, or azure-identity's DefaultAzureCredential).
    """
    if isinstance(store, FolderStore):
        return msg(
            "no: a folder archive can be changed by anyone who can write the folder (its files are "
            "read-only, which prevents accidents, not deliberate changes); the chain and signatures "
            "detect a change, they do not prevent it"
        )
    if account_id is None:
        return msg("not checked: give --storage-account-id to read the container's immutability policy")
    from reports.archive.blob_store import BlobStore
    from reports.archive.immutability import read_write_once, storage_client

    if client is None:
        from azure.identity import DefaultAzureCredential

        client = storage_client(DefaultAzureCredential(), account_id)
    container = store.container if isinstance(store, BlobStore) else ""
    state = read_write_once(client, account_id, container, period_days=period_days)
    verdict = {True: msg("yes"), False: msg("no"), None: msg("unknown")}[state.write_once]
    return msg("{verdict}: {reason}", verdict=verdict, reason=verbatim(state.reason))
