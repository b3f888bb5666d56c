"""Is the Azure Blob archive write-once? Read (ARM, read-only) the container's immutability settings.

An auditor may rely on the archive as evidence that no night was changed afterwards only when
the storage itself refuses changes for at least the audit period: a **locked** time-based
retention policy of at least the period's length, set on the container (container-level WORM)
or as the default policy of a container with version-level immutability (or inherited from the
account's default policy). Anything else is said plainly and is not write-once:

* an **unlocked** policy can be shortened or deleted by anyone allowed to manage the account;
* a locked policy shorter than the period frees the oldest nights before the period ends;
* a **legal hold** alone can be cleared at any time by the same people;
* no policy at all leaves every object changeable and deletable.

When ARM cannot be read (no permission, unreachable, an answer of an unknown shape) the verdict
is unknown (`None`), with why: never a yes.

Three read-only calls (the Reader role suffices): `BlobContainers_Get`,
`BlobContainers_GetImmutabilityPolicy` and, only for a version-level container without its own
default policy, `StorageAccounts_GetProperties`. Blob-level (per version) policies are not read:
the archiver sets none. Judging (`judge_write_once`) is a pure function of the ARM JSON, so a
recorded answer can be judged again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.storage import StorageManagementClient

_ACCOUNT_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)/?$",
    re.IGNORECASE,
)

_READ_FAILURES = (AzureError, TypeError, ValueError, KeyError, AttributeError)
"""What a read can raise: ARM's and the network's errors, and the SDK's when an answer does not parse."""

_READ_PERMISSION = (
    "Microsoft.Storage/storageAccounts/blobServices/containers/read (in the Reader role) "
    "on the storage account"
)


@dataclass(frozen=True)
class WriteOnceState:
    """Whether the archive's objects can still be changed or deleted, and why, in one sentence.

    `write_once` is True only for a locked time-based retention policy at least as long as the
    audit period, False for anything weaker, None when ARM could not be read. The other fields
    are the facts the sentence was made from (for a report that writes it in another language).
    """

    write_once: bool | None
    reason: str
    scope: str | None = None
    """Where the deciding policy is set: "container", "version-level container default",
    "version-level account default"; None when there is no policy."""
    policy_state: str | None = None
    """The deciding policy's state as ARM says it: "Locked", "Unlocked", "Disabled"; None when none."""
    retention_days: int | None = None
    legal_hold: bool = False


@dataclass(frozen=True)
class _Policy:
    scope: str
    state: str | None
    days: int | None
    append_writes: bool


def parse_account_id(account_id: str) -> tuple[str, str, str]:
    """Return (subscription id, resource group, account name) of a storage account's ARM resource id.

    Raises ValueError for anything else, so a typo in the configuration is named before any call.
    """
    match = _ACCOUNT_ID.match(account_id.strip())
    if not match:
        raise ValueError(
            "not a storage account resource id (/subscriptions/<id>/resourceGroups/<group>"
            f"/providers/Microsoft.Storage/storageAccounts/<name>): {account_id!r}"
        )
    return match["subscription"], match["group"], match["account"]


def storage_client(
    credential: TokenCredential, account_id: str, **client_options: Any
) -> StorageManagementClient:
    """Return an ARM storage client for the subscription of `account_id`.

    `client_options` go to the SDK client as they are (`base_url`, `credential_scopes`,
    `connection_verify`, retry settings): the tests point it at the ARM emulator this way.
    """
    subscription, _, _ = parse_account_id(account_id)
    return StorageManagementClient(credential, subscription, **client_options)


def read_write_once(
    client: StorageManagementClient, account_id: str, container: str, *, period_days: int
) -> WriteOnceState:
    """Return whether `container` of the storage account `account_id` is write-once for `period_days`.

    Reads the container and its immutability policy (and, for a version-level container without
    a default policy of its own, the account's default policy) through ARM, read-only, then
    judges them with `judge_write_once`. Any failure to read gives `write_once=None` with the
    HTTP status, ARM's error code and what the auditor needs, never an exception.
    """
    if period_days < 1:
        raise ValueError(f"period_days must be at least 1, not {period_days}")
    _, group, account = parse_account_id(account_id)
    where = f"container {container} of storage account {account}"
    try:
        container_json = client.blob_containers.get(group, account, container).as_dict()
    except ResourceNotFoundError as exc:
        return WriteOnceState(None, f"cannot tell whether {where} is write-once: ARM {_said(exc)}")
    except _READ_FAILURES as exc:
        return WriteOnceState(None, _unreadable(where, "the container", exc))
    try:
        policy_json: Mapping[str, Any] | None = client.blob_containers.get_immutability_policy(
            group, account, container
        ).as_dict()
    except ResourceNotFoundError:
        policy_json = None  # no policy was ever set on the container
    except _READ_FAILURES as exc:
        return WriteOnceState(None, _unreadable(where, "its immutability policy", exc))
    account_json: Mapping[str, Any] | None = None
    if _inherits_account_policy(container_json, policy_json):
        try:
            account_json = client.storage_accounts.get_properties(group, account).as_dict()
        except _READ_FAILURES as exc:
            return WriteOnceState(None, _unreadable(where, "the account's default immutability policy", exc))
    return judge_write_once(container_json, policy_json, account_json, period_days=period_days, where=where)


def _inherits_account_policy(container: Mapping[str, Any], policy: Mapping[str, Any] | None) -> bool:
    """Return whether a version-level container has no default policy of its own (so the account's applies)."""
    try:
        versioned = _enabled(_properties(container).get("immutableStorageWithVersioning"))
        return versioned and _policy_of(container, policy) is None
    except (TypeError, ValueError, AttributeError):
        return False  # an answer of an odd shape: the judge says so


def judge_write_once(
    container: Mapping[str, Any],
    policy: Mapping[str, Any] | None,
    account: Mapping[str, Any] | None,
    *,
    period_days: int,
    where: str = "the archive container",
) -> WriteOnceState:
    """Return the write-once verdict from ARM's JSON: the container, its policy (None = 404), the account.

    The container's own policy (`immutabilityPolicies/default`, else the summary embedded in
    the container) decides; a version-level container without one inherits the account's
    default policy. Yes only when that policy is Locked and keeps objects at least `period_days`.
    """
    if period_days < 1:
        raise ValueError(f"period_days must be at least 1, not {period_days}")
    try:
        return _judge(container, policy, account, period_days, where)
    except (TypeError, ValueError, AttributeError) as exc:
        return WriteOnceState(
            None, f"cannot tell whether {where} is write-once: ARM's answer has an unexpected shape ({exc})"
        )


def _judge(
    container: Mapping[str, Any],
    policy: Mapping[str, Any] | None,
    account: Mapping[str, Any] | None,
    period_days: int,
    where: str,
) -> WriteOnceState:
    props = _properties(container)
    legal_hold = props.get("hasLegalHold") is True or (
        isinstance(props.get("legalHold"), Mapping) and props["legalHold"].get("hasLegalHold") is True
    )
    versioned = _enabled(props.get("immutableStorageWithVersioning"))
    found = _policy_of(container, policy)
    if found is None and versioned and account is not None:
        found = _account_policy(account)
    hold_note = (
        "; a legal hold is also set (it can be cleared at any time, so it adds no assurance)"
        if legal_hold
        else ""
    )
    if found is None:
        if legal_hold:
            return WriteOnceState(
                False,
                f"{where} is not write-once: it has only a legal hold, which anyone allowed to manage "
                "the account can clear at any time, and no time-based retention policy",
                legal_hold=True,
            )
        versioning_note = (
            " (version-level immutability is enabled, but no default retention policy is set)"
            if versioned
            else ""
        )
        return WriteOnceState(
            False,
            f"{where} is not write-once: it has no time-based retention policy{versioning_note}, "
            "so archived evidence can still be changed or deleted",
        )
    kind = {
        "container": "a container-level time-based retention policy",
        "version-level container default": "a version-level default retention policy on the container",
        "version-level account default": "the storage account's version-level default retention policy",
    }[found.scope]

    def verdict(write_once: bool | None, reason: str) -> WriteOnceState:
        return WriteOnceState(write_once, reason, found.scope, found.state, found.days, legal_hold)

    if found.state == "Unlocked":
        days = f" of {found.days} days" if found.days is not None else ""
        return verdict(
            False,
            f"{where} is not write-once: {kind}{days} is set but unlocked, so it can be shortened or "
            f"deleted; lock it to make the archive write-once{hold_note}",
        )
    if found.state == "Disabled":
        return verdict(
            False,
            f"{where} is not write-once: {kind} is disabled{hold_note}",
        )
    if found.state != "Locked":
        return verdict(
            None,
            f"cannot tell whether {where} is write-once: {kind} has the state {found.state!r}, "
            "which the auditor does not know",
        )
    if found.days is None:
        return verdict(
            None,
            f"cannot tell whether {where} is write-once: {kind} is locked but ARM gives no retention period",
        )
    if found.days < period_days:
        return verdict(
            False,
            f"{where} is not write-once for the audit period: {kind} is locked, but keeps objects "
            f"for {found.days} days, shorter than the period of {period_days} days, so the oldest "
            f"nights can be changed or deleted before the period ends{hold_note}",
        )
    versions_note = (
        "; an overwritten object keeps its earlier versions, which stay protected"
        if found.scope != "container"
        else ""
    )
    append_note = (
        "; protected append writes are allowed (new blocks only; existing data cannot change)"
        if found.append_writes
        else ""
    )
    return verdict(
        True,
        f"{where} is write-once: {kind} is locked and keeps every object for {found.days} days, "
        f"at least the audit period of {period_days} days{versions_note}{append_note}",
    )


def _properties(resource: Mapping[str, Any] | None) -> Mapping[str, Any]:
    props = resource.get("properties") if isinstance(resource, Mapping) else None
    return props if isinstance(props, Mapping) else {}


def _enabled(setting: object) -> bool:
    return isinstance(setting, Mapping) and setting.get("enabled") is True


def _days(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"immutabilityPeriodSinceCreationInDays is {value!r}, not a whole number")
    return value


def _from_properties(props: Mapping[str, Any], scope: str) -> _Policy | None:
    """Return the policy these properties describe; None for an absent or deleted policy."""
    state = props.get("state")
    if state is not None and not isinstance(state, str):
        raise ValueError(f"policy state is {state!r}, not text")
    days = _days(props.get("immutabilityPeriodSinceCreationInDays"))
    if state is None and days is None:
        return None
    if state is not None and state.lower() == "deleted":
        return None  # ARM's answer for a policy that was removed (or never set)
    canonical = next(
        (s for s in ("Locked", "Unlocked", "Disabled") if state and state.lower() == s.lower()), state
    )
    append = (
        props.get("allowProtectedAppendWrites") is True or props.get("allowProtectedAppendWritesAll") is True
    )
    return _Policy(scope, canonical, days, append)


def _policy_of(container: Mapping[str, Any], policy: Mapping[str, Any] | None) -> _Policy | None:
    """Return the container's own policy: its immutabilityPolicies/default, else the embedded summary."""
    props = _properties(container)
    scope = (
        "version-level container default"
        if _enabled(props.get("immutableStorageWithVersioning"))
        else "container"
    )
    if policy is not None:
        return _from_properties(_properties(policy), scope)
    embedded = props.get("immutabilityPolicy")
    if isinstance(embedded, Mapping):
        return _from_properties(_properties(embedded), scope)
    return None


def _account_policy(account: Mapping[str, Any]) -> _Policy | None:
    setting = _properties(account).get("immutableStorageWithVersioning")
    if not isinstance(setting, Mapping) or setting.get("enabled") is not True:
        return None
    default = setting.get("immutabilityPolicy")
    if not isinstance(default, Mapping):
        return None
    return _from_properties(default, "version-level account default")


def _said(exc: Exception) -> str:
    """Return ARM's answer in a few words: "answered HTTP 403 AuthorizationFailed: <first line>"."""
    if isinstance(exc, DecodeError):
        return f"answered HTTP {exc.status_code} with a body that is not JSON"
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) if error is not None else None
        message = getattr(error, "message", None) if error is not None else None
        lines = str(message or exc.reason or "").strip().splitlines()
        detail = f": {lines[0][:300]}" if lines else ""
        return f"answered HTTP {exc.status_code} {code or ''}".rstrip() + detail
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        lines = str(exc).strip().splitlines()
        return f"could not be reached ({type(exc).__name__}: {lines[0][:200] if lines else ''})"
    if isinstance(exc, ClientAuthenticationError):
        return "refused the credential"
    if isinstance(exc, AzureError):
        return f"failed ({type(exc).__name__})"
    return f"gave an answer the storage SDK cannot read ({type(exc).__name__})"


def _unreadable(where: str, what: str, exc: Exception) -> str:
    """Return why the verdict is unknown, with the permission to grant when ARM said 403."""
    need = ""
    if isinstance(exc, HttpResponseError) and exc.status_code == 403:
        need = f"; the auditor needs {_READ_PERMISSION}"
    return f"cannot tell whether {where} is write-once: reading {what}, ARM {_said(exc)}{need}"
