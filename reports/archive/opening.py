"""Opening the archive a config or a command line names: a folder, or an Azure Blob container."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from reports.archive.settings import ArchiveSettings
from reports.archive.store import ArchiveError, ArchiveStore, FolderStore

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


def blob_store(
    account_url: str,
    container: str,
    *,
    connection_string: str | None = None,
    credential: TokenCredential | None = None,
    timeout: float = 60.0,
    retries: int = 3,
) -> ArchiveStore:
    """Return an Azure Blob archive: by connection string, else with `credential` (default: DefaultAzureCredential)."""
    from reports.archive.blob_store import BlobStore

    if connection_string is not None:
        return BlobStore.from_connection_string(
            connection_string, container, timeout=timeout, retries=retries
        )
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return BlobStore(account_url, container, credential, timeout=timeout, retries=retries)


def configured_store(
    settings: ArchiveSettings,
    folder: Path | None,
    environ: Mapping[str, str],
    credential: TokenCredential | None = None,
) -> ArchiveStore:
    """Return the store `[archive]` names (`folder`: its path resolved against the config's folder).

    Raises ArchiveError when a connection string's variable is not set.
    """
    if settings.kind == "folder":
        if folder is None:
            raise ArchiveError('archive.path: required for kind = "folder"')
        return FolderStore(folder)
    assert settings.container is not None  # ArchiveSettings requires it for azure-blob
    if settings.connection_string_env is not None:
        connection = environ.get(settings.connection_string_env, "").strip()
        if not connection:
            raise ArchiveError(f"archive.connection_string_env: {settings.connection_string_env} is not set")
        return blob_store(
            "",
            settings.container,
            connection_string=connection,
            timeout=settings.timeout_seconds,
            retries=settings.retries,
        )
    assert settings.account_url is not None
    return blob_store(
        settings.account_url,
        settings.container,
        credential=credential,
        timeout=settings.timeout_seconds,
        retries=settings.retries,
    )


def named_store(spec: str, connection_string_env: str | None, environ: Mapping[str, str]) -> ArchiveStore:
    """Return the store a command line's ARCHIVE names: a folder, or https://<account>.blob.core.windows.net/<container>.

    Raises ArchiveError naming what is wrong with `spec`.
    """
    if not spec.startswith("https://"):
        if connection_string_env is not None:
            raise ArchiveError("--connection-string-env is for an Azure Blob archive (an https:// URL)")
        folder = Path(spec)
        if not folder.is_dir():
            raise ArchiveError(f"{folder} is not a folder")
        return FolderStore(folder)
    account_url, _, container = spec.rstrip("/").rpartition("/")
    if not container or account_url == "https:/":
        raise ArchiveError(f"{spec}: expected https://<account>.blob.core.windows.net/<container>")
    if connection_string_env is not None:
        connection = environ.get(connection_string_env, "").strip()
        if not connection:
            raise ArchiveError(f"--connection-string-env: {connection_string_env} is not set")
        return blob_store(account_url, container, connection_string=connection)
    return blob_store(account_url, container)
