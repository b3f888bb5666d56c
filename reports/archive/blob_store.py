"""An archive in an Azure Blob container (`[archive] kind = "azure-blob"`), with azure-storage-blob.

Objects are block blobs named by their archive keys. A put never overwrites: the upload is
conditional (`If-None-Match: *`, the SDK's `overwrite=False`), so a key written once keeps its
first bytes even when two runs race, and a second put raises `ArchiveConflictError`. The
container itself is made by whoever owns the archive (with its immutability policy); the store
never creates, deletes or changes a container.

Secrets stay inside the SDK client: an error names the store (account URL and container, without
a query string) and the key, never the connection string, account key or SAS token, and the
store's `repr` is its description.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient

from reports.archive.store import ArchiveConflictError, ArchiveError, check_key

BlobCredential = TokenCredential | AzureNamedKeyCredential | AzureSasCredential
"""What `BlobStore` signs requests with: an azure-identity credential (the normal case), or a
shared key or SAS held in azure-core's credential objects (never shown by the store)."""

_CONFLICT_CODES = frozenset({"BlobAlreadyExists", "ConditionNotMet"})
"""The answers to a conditional upload (`If-None-Match: *`) that mean "the key is taken"."""

_PLAIN_WORDS = {
    "ContainerNotFound": "the container does not exist",
    "AuthenticationFailed": "the credential was refused",
    "AuthorizationFailure": "the credential may not do this here",
    "AuthorizationPermissionMismatch": "the credential may not do this here",
}
"""Storage error codes said in words (the status and code follow in parentheses)."""

_SAS_SIGNATURE = re.compile(r"(?i)(sig=)[^&\s\"']+")
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")
"""urllib3 logs request URLs (with a SAS token's signature) at DEBUG; azure-core's own logs redact it."""


class _RedactSasSignature(logging.Filter):
    """Replaces the value of every `sig=` in a log record with REDACTED (the record is still logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True (keep the record), with any SAS signature in its message redacted."""
        text = record.getMessage()
        if "sig=" in text.lower():
            record.msg = _SAS_SIGNATURE.sub(r"\1REDACTED", text)
            record.args = ()
        return True


def _redact_urllib3_logs() -> None:
    """Make sure urllib3's URL-logging loggers redact SAS signatures (once per logger)."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, _RedactSasSignature) for existing in logger.filters):
            logger.addFilter(_RedactSasSignature())


class BlobStore:
    """An archive in one Azure Blob container: put (never overwriting), get and list by key."""

    def __init__(
        self,
        account_url: str,
        container: str,
        credential: BlobCredential,
        *,
        timeout: float = 60.0,
        retries: int = 3,
    ) -> None:
        """Open the container `container` of the account at `account_url` (no request is sent yet).

        `timeout` bounds connecting and each read (seconds); `retries` is how often the SDK
        retries a failed request (0 = once only).
        """
        try:
            client = ContainerClient(
                account_url, container, credential=credential, **_client_options(timeout, retries)
            )
        except ValueError as exc:
            # The SDK's own message may echo the URL, and with it a SAS token in its query string.
            problem = (
                "a token credential needs an https account URL"
                if "HTTPS" in str(exc)
                else "the account URL or container name is not valid"
            )
            raise ArchiveError(
                f"Azure Blob container {container} at {_safe_url(account_url)}: {problem}"
            ) from None
        self._attach(client, container)

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        container: str,
        *,
        timeout: float = 60.0,
        retries: int = 3,
    ) -> BlobStore:
        """Return a store on `container` of the account a storage connection string names.

        The string (account key or SAS inside) goes to the SDK client and nowhere else; a
        malformed one raises ArchiveError without echoing it.
        """
        try:
            client = ContainerClient.from_connection_string(
                connection_string, container, **_client_options(timeout, retries)
            )
        except (ValueError, TypeError, AttributeError):
            raise ArchiveError(
                f"Azure Blob container {container}: the storage connection string is malformed"
            ) from None
        store = cls.__new__(cls)
        store._attach(client, container)
        return store

    def _attach(self, client: ContainerClient, container: str) -> None:
        _redact_urllib3_logs()
        self._client = client
        self.container = container
        self.account_url = _account_url(client)

    def __repr__(self) -> str:
        """Return `BlobStore(<description>)`: where the archive is, and no credential."""
        return f"BlobStore({self.describe()})"

    def describe(self) -> str:
        """Return "Azure Blob container <container> at <account_url>" (no query string, no key)."""
        return f"Azure Blob container {self.container} at {self.account_url}"

    def put(self, key: str, data: bytes) -> None:
        """Upload `data` as a new blob `key`; ArchiveConflictError when the key exists, ArchiveError on failure.

        The upload is conditional on the blob not existing, so an archived object is never
        replaced, not even by a concurrent writer.
        """
        name = check_key(key)
        try:
            self._client.upload_blob(name, data, overwrite=False)
        except (ResourceExistsError, ResourceModifiedError) as exc:
            if _error_code(exc) in _CONFLICT_CODES or _error_code(exc) is None:
                raise ArchiveConflictError(f"{self.describe()}: {name} exists already") from None
            raise ArchiveError(f"{self.describe()}: cannot write {name}: {_why(exc)}") from None
        except (AzureError, ValueError) as exc:
            raise ArchiveError(f"{self.describe()}: cannot write {name}: {_why(exc)}") from None

    def get(self, key: str) -> bytes:
        """Return the bytes of blob `key`; ArchiveError naming the key when it is absent or unreadable."""
        name = check_key(key)
        try:
            return self._client.download_blob(name).readall()
        except ResourceNotFoundError as exc:
            if _error_code(exc) in (None, "BlobNotFound"):
                raise ArchiveError(f"{self.describe()}: cannot read {name}: no such object") from None
            raise ArchiveError(f"{self.describe()}: cannot read {name}: {_why(exc)}") from None
        except (AzureError, ValueError) as exc:
            raise ArchiveError(f"{self.describe()}: cannot read {name}: {_why(exc)}") from None

    def list(self, prefix: str) -> list[str]:
        """Return the name of every blob under `prefix` (`/`-ended, or "" for all), sorted.

        A prefix names a folder of keys, as in the folder store: "2026/01" lists "2026/01/...",
        never "2026/010/...".
        """
        start = check_key(prefix.rstrip("/")) + "/" if prefix else ""
        try:
            return sorted(self._client.list_blob_names(name_starts_with=start or None))
        except (AzureError, ValueError) as exc:
            raise ArchiveError(f"{self.describe()}: cannot list {start or '/'}: {_why(exc)}") from None


def _client_options(timeout: float, retries: int) -> dict[str, Any]:
    return {"connection_timeout": timeout, "read_timeout": timeout, "retry_total": max(0, retries)}


def _account_url(client: ContainerClient) -> str:
    """Return the account's URL from the client's container URL, without query string (a SAS) or container."""
    parts = urlsplit(_safe_url(client.primary_endpoint))
    path = parts.path.rstrip("/")
    account_path = path.rsplit("/", 1)[0] if "/" in path else ""
    return urlunsplit((parts.scheme, parts.netloc, account_path, "", ""))


def _safe_url(url: str) -> str:
    """Return `url` without query string, fragment or user information (where a SAS or password would be)."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "(an unreadable URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")


def _error_code(exc: BaseException) -> str | None:
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))


def _why(exc: BaseException) -> str:
    """Return what went wrong in a few words: status and storage error code, or the network failure.

    Built from fields, never from the SDK's message: a connection failure's text can carry the
    request URL, and with it a SAS token.
    """
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        code = _error_code(exc)
        status = f"HTTP {exc.status_code} {code}" if code else f"HTTP {exc.status_code}"
        words = _PLAIN_WORDS.get(code or "")
        return f"{words} ({status})" if words else status
    if isinstance(exc, ServiceRequestError):
        cause = _os_error(exc)
        return f"cannot connect ({cause})" if cause else "cannot connect"
    if isinstance(exc, ServiceResponseError):
        cause = _os_error(exc)
        return f"no complete answer ({cause})" if cause else "no complete answer"
    return type(exc).__name__


def _os_error(exc: BaseException) -> str | None:
    """Return the operating-system error behind `exc` ("Connection refused", "timed out"), if any."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror)
        if isinstance(current, TimeoutError):
            return "timed out"
        todo.extend(
            [
                current.__cause__,
                current.__context__,
                getattr(current, "inner_exception", None),
                getattr(current, "reason", None),
                *current.args,
            ]
        )
    return None
