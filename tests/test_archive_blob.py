"""The Azure Blob archive: BlobStore against a real Azurite, and the write-once check against the ARM emulator.

Azurite (npm `azurite`, pinned in demo/standins/node) is Microsoft's storage emulator: the
store's uploads, conditional writes, listings and downloads go through the real
azure-storage-blob client to a real blob service. Azurite does not enforce immutability
policies (Azure/Azurite#2648), so whether the container is write-once is read through the real
azure-mgmt-storage client from the HTTPS ARM emulator, with Microsoft's response shapes.
"""

from __future__ import annotations

import logging
import os
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import (
    AccountSasPermissions,
    ContainerClient,
    ResourceTypes,
    generate_account_sas,
)

from demo.standins import azurite as azurite_standin
from demo.standins.arm_emulator import ArmEmulator, Fault
from demo.standins.azurite import Azurite, random_key, running_azurite
from reports.archive.blob_store import BlobStore
from reports.archive.immutability import (
    WriteOnceState,
    judge_write_once,
    parse_account_id,
    read_write_once,
    storage_client,
)
from reports.archive.store import ArchiveConflictError, ArchiveError, ArchiveStore

pytestmark = pytest.mark.integration

ACCOUNT = "auditarchive"
"""The Azurite account: its key is made fresh per test module, so no key in any output is an accident."""


# ---------------------------------------------------------------------------------------- Azurite


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    """A real Azurite blob service with a fresh random account key, for this module's tests."""
    with running_azurite(account=ACCOUNT, key=random_key()) as running:
        yield running


@pytest.fixture
def container(azurite: Azurite) -> str:
    """A new, empty container of its own for one test (made by the test, as an archive's owner would)."""
    name = f"archive-{uuid.uuid4().hex[:12]}"
    ContainerClient.from_connection_string(azurite.connection_string, name).create_container()
    return name


@pytest.fixture
def store(azurite: Azurite, container: str) -> BlobStore:
    """A BlobStore on the test's container, opened from the connection string."""
    return BlobStore.from_connection_string(azurite.connection_string, container, retries=0, timeout=10)


def account_sas(azurite: Azurite) -> str:
    """Return an account SAS token (read, write, list, create) valid for an hour."""
    return generate_account_sas(
        azurite.account,
        azurite.key,
        resource_types=ResourceTypes(container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, list=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


def messages_of(store: BlobStore, key: str) -> list[str]:
    """Put `key` twice (a conflict), read a missing key and list: return every error's str and repr."""
    attempts: list[Callable[[], object]] = [
        partial(store.put, key, b"x"),
        partial(store.put, key, b"again"),
        partial(store.get, "missing/key"),
        partial(store.list, "n/"),
    ]
    said: list[str] = []
    for attempt in attempts:
        try:
            attempt()
        except ArchiveError as exc:
            said += [str(exc), repr(exc)]
    return said


def sas_signature(token: str) -> str:
    """Return the `sig` value of a SAS token: the part that is a secret."""
    return next(part.split("=", 1)[1] for part in token.split("&") if part.startswith("sig="))


def test_put_get_list_round_trip_with_nested_keys(store: BlobStore) -> None:
    """Every object comes back byte for byte; a listing is sorted and stays inside its folder prefix."""
    night = "2026/06/01/run-20260601T0200Z"
    objects = {
        f"{night}/evidence.json": b'{"results": []}\n',
        f"{night}/MANIFEST.sha256": b"0" * 64 + b"  evidence.json\n",
        f"{night}/timestamps/manifest.tsr": bytes(range(256)),
        f"{night}/report/assets/style.css": b"",
        "2026/06/010/run-x/evidence.json": b"another night, whose folder shares a prefix of letters",
        "2026/06/02/run-20260602T0200Z/evidence.json": b"{}",
        "2026/06/02/run-20260602T0200Z/evidence.json.gz": os.urandom(5 * 1024 * 1024),
    }
    assert store.list("") == []
    for key, data in objects.items():
        store.put(key, data)

    assert store.list("") == sorted(objects)
    night_keys = sorted(key for key in objects if key.startswith(night + "/"))
    assert store.list(night + "/") == night_keys
    assert store.list("2026/06/01") == night_keys  # a folder, not a string prefix: not 2026/06/010
    assert store.list("2026/06/01/run-20260601T0200Z/timestamps/") == [f"{night}/timestamps/manifest.tsr"]
    assert store.list("2027/") == []
    for key, data in objects.items():
        assert store.get(key) == data


def test_the_store_is_an_archive_store(store: BlobStore) -> None:
    """BlobStore meets the lead's protocol and names where it is without any credential."""
    typed: ArchiveStore = store
    assert typed.describe() == f"Azure Blob container {store.container} at {store.account_url}"
    assert store.account_url.startswith("http://127.0.0.1:")
    assert store.account_url.endswith(f"/{ACCOUNT}")


def test_put_of_an_existing_key_conflicts_and_keeps_the_first_object(store: BlobStore) -> None:
    """A second put of a key raises ArchiveConflictError; the first bytes stay as they were."""
    key = "2026/06/01/run-1/evidence.json"
    store.put(key, b"first night's evidence")
    with pytest.raises(ArchiveConflictError) as caught:
        store.put(key, b"altered evidence")
    assert key in str(caught.value)
    assert store.describe() in str(caught.value)
    assert store.get(key) == b"first night's evidence"
    assert store.list("2026/") == [key]


def test_get_of_a_missing_key_names_the_key(store: BlobStore) -> None:
    """Reading an absent key is an ArchiveError (not a conflict) that names the store and the key."""
    store.put("2026/06/01/run-1/evidence.json", b"{}")
    with pytest.raises(ArchiveError) as caught:
        store.get("2026/06/01/run-1/MANIFEST.sha256")
    assert not isinstance(caught.value, ArchiveConflictError)
    assert str(caught.value) == (
        f"{store.describe()}: cannot read 2026/06/01/run-1/MANIFEST.sha256: no such object"
    )


def test_a_missing_container_is_said_on_every_operation(azurite: Azurite) -> None:
    """The store never creates its container: reading, writing and listing a missing one fail plainly."""
    store = BlobStore.from_connection_string(azurite.connection_string, "not-made-yet", retries=0)
    with pytest.raises(ArchiveError, match="cannot read a/b: the container does not exist"):
        store.get("a/b")
    with pytest.raises(ArchiveError, match="cannot write a/b: the container does not exist"):
        store.put("a/b", b"x")
    with pytest.raises(ArchiveError, match="cannot list /: the container does not exist"):
        store.list("")


def test_keys_that_would_leave_the_archive_are_refused(store: BlobStore) -> None:
    """The same key rule as the folder store: no absolute, `..`, `.` or empty parts."""
    for key in ("/etc/passwd", "2026/../../x", "2026//x", "./x", "a\\b"):
        with pytest.raises(ValueError, match="not an archive key"):
            store.put(key, b"x")
    with pytest.raises(ValueError, match="not an archive key"):
        store.list("../")


def test_the_constructor_signs_with_a_credential_object(azurite: Azurite, container: str) -> None:
    """`BlobStore(account_url, container, credential)`: a shared key or a SAS in azure-core's credential types."""
    by_key = BlobStore(
        azurite.blob_endpoint, container, AzureNamedKeyCredential(azurite.account, azurite.key), retries=0
    )
    by_key.put("k/1", b"one")
    by_sas = BlobStore(azurite.blob_endpoint, container, AzureSasCredential(account_sas(azurite)), retries=0)
    by_sas.put("k/2", b"two")
    assert by_sas.list("k/") == ["k/1", "k/2"]
    assert by_key.get("k/2") == b"two"
    assert (
        by_key.describe()
        == by_sas.describe()
        == f"Azure Blob container {container} at {azurite.blob_endpoint}"
    )


def test_a_token_credential_over_plain_http_is_refused_plainly(azurite: Azurite, container: str) -> None:
    """azure-core never sends a bearer token over http: the store says so instead of leaking a traceback."""

    class FixedToken:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("not-sent", int(time.time()) + 3600)

    with pytest.raises(ArchiveError) as caught:
        BlobStore(f"{azurite.blob_endpoint}?sv=2026-10-06&sig=c2VjcmV0", container, FixedToken(), retries=0)
    assert str(caught.value) == (
        f"Azure Blob container {container} at {azurite.blob_endpoint}: a token credential needs an https account URL"
    )
    assert caught.value.__cause__ is None


def test_azurite_down_is_an_archive_error_without_traceback() -> None:
    """A blob service that stopped answering: one ArchiveError line, no chained SDK exception, quickly."""
    with running_azurite(account=ACCOUNT, key=random_key()) as stopped:
        ContainerClient.from_connection_string(stopped.connection_string, "archive").create_container()
        store = BlobStore.from_connection_string(stopped.connection_string, "archive", retries=0, timeout=5)
        store.put("2026/06/01/run-1/evidence.json", b"{}")
    started = time.monotonic()
    for operation, words in (
        (lambda: store.get("2026/06/01/run-1/evidence.json"), "cannot read 2026/06/01/run-1/evidence.json"),
        (
            lambda: store.put("2026/06/02/run-2/evidence.json", b"{}"),
            "cannot write 2026/06/02/run-2/evidence.json",
        ),
        (lambda: store.list("2026/"), "cannot list 2026/"),
    ):
        with pytest.raises(ArchiveError) as caught:
            operation()
        error = caught.value
        assert str(error) == f"{store.describe()}: {words}: cannot connect (Connection refused)"
        assert error.__cause__ is None
        assert error.__suppress_context__
        assert "\n" not in str(error)
    assert time.monotonic() - started < 10


def test_no_secret_in_messages_logs_or_repr(
    azurite: Azurite, container: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The account key and a SAS signature appear in no message, log record (SDK debug logs included) or repr."""
    sas = account_sas(azurite)
    signature = sas_signature(sas)  # as the token carries it: URL-encoded
    plain = urllib.parse.unquote(signature)
    secrets = [
        azurite.key,
        sas,
        signature,
        plain,
        urllib.parse.quote(plain, safe=""),
        urllib.parse.quote(plain),
    ]
    sas_connection = f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}"
    wrong_key = azurite.connection_string.replace(azurite.key, random_key())
    stores = [
        BlobStore.from_connection_string(azurite.connection_string, container, retries=0),
        BlobStore.from_connection_string(sas_connection, container, retries=0),
        BlobStore.from_connection_string(wrong_key, container, retries=0),
        BlobStore(azurite.blob_endpoint, container, AzureNamedKeyCredential(azurite.account, azurite.key)),
        BlobStore(azurite.blob_endpoint, container, AzureSasCredential(sas), retries=0),
    ]
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for number, store in enumerate(stores):
            texts += [repr(store), str(store), store.describe(), store.account_url]
            texts += messages_of(store, f"n/{number}")
        # a malformed connection string is refused without being echoed
        with pytest.raises(ArchiveError, match="connection string is malformed") as caught:
            BlobStore.from_connection_string(f"not-a-connection-string-{azurite.key}", container)
        texts += [str(caught.value), repr(caught.value)]
    assert any("HTTP 403" in text for text in texts)  # the wrong key failed, and said how
    assert any("exists already" in text for text in texts)
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "sig=REDACTED" in logged  # requests with the SAS were logged (urllib3 too), signature redacted
    for secret in secrets:
        assert not [text for text in texts if secret in text]
        assert secret not in logged


def test_missing_azurite_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without Azurite installed the tests fail (never skip) with the one command that installs it."""
    monkeypatch.setattr(azurite_standin, "AZURITE_MAIN", tmp_path / "main.js")
    starting = running_azurite()
    with pytest.raises(azurite_standin.AzuriteUnavailable, match="npm ci --prefix demo/standins/node"):
        starting.__enter__()


# ----------------------------------------------------------------------------- write-once check

SUB = "5f3c1a2b-0d4e-4f60-8a7b-9c0d1e2f3a4b"
GROUP = "rg-audit-archive"
ACCOUNT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/auditarchive"
)
VLW_ACCOUNT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/auditarchivevlw"
)
PERIOD_DAYS = 183
CONTAINER_TYPE = "Microsoft.Storage/storageAccounts/blobServices/containers"
POLICY_TYPE = f"{CONTAINER_TYPE}/immutabilityPolicies"


class StubCredential:
    """A token credential that hands out a fixed bearer token without talking to Entra ID."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the fixed token, valid for an hour."""
        return AccessToken("test-token", int(time.time()) + 3600)


def account(account_id: str, immutability: dict[str, Any] | None = None) -> dict[str, Any]:
    """A StorageV2 account, as in Microsoft's StorageAccountGetProperties example (trimmed)."""
    properties: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "creationTime": "2025-11-03T08:12:40.1234567Z",
        "primaryEndpoints": {"blob": f"https://{account_id.rsplit('/', 1)[1]}.blob.core.windows.net/"},
        "allowBlobPublicAccess": False,
        "minimumTlsVersion": "TLS1_2",
    }
    if immutability is not None:
        properties["immutableStorageWithVersioning"] = immutability
    return {
        "id": account_id,
        "type": "Microsoft.Storage/storageAccounts",
        "kind": "StorageV2",
        "location": "westeurope",
        "sku": {"name": "Standard_GRS", "tier": "Standard"},
        "properties": properties,
    }


def blob_container(account_id: str, name: str, **properties: Any) -> dict[str, Any]:
    """A blob container in ARM's shape (BlobContainers_Get): the emulator adds the policy summary."""
    return {
        "id": f"{account_id}/blobServices/default/containers/{name}",
        "name": name,
        "type": CONTAINER_TYPE,
        "etag": '"0x8DE1A2B3C4D5E6F"',
        "properties": {
            "publicAccess": "None",
            "leaseStatus": "Unlocked",
            "leaseState": "Available",
            "lastModifiedTime": "2026-01-05T09:30:00Z",
            **properties,
        },
    }


def policy(account_id: str, container: str, state: str, days: int, **extra: Any) -> dict[str, Any]:
    """The container's `immutabilityPolicies/default` (BlobContainers_GetImmutabilityPolicy's shape)."""
    return {
        "id": f"{account_id}/blobServices/default/containers/{container}/immutabilityPolicies/default",
        "name": "default",
        "type": POLICY_TYPE,
        "etag": '"8de1a2b3c4d5e6f"',
        "properties": {"immutabilityPeriodSinceCreationInDays": days, "state": state, **extra},
    }


LEGAL_HOLD = {
    "hasLegalHold": True,
    "tags": [
        {
            "tag": "audit2026",
            "timestamp": "2026-01-05T09:31:00Z",
            "objectIdentifier": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
            "tenantId": "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
        }
    ],
}


def archive_estate() -> dict[str, Any]:
    """Containers with every kind of protection the check must tell apart."""
    vlw = {"enabled": True, "timeStamp": "2026-01-05T09:30:00Z", "migrationState": "Completed"}
    return {
        "subscriptions": [
            {
                "id": f"/subscriptions/{SUB}",
                "subscriptionId": SUB,
                "displayName": "Audit",
                "state": "Enabled",
            }
        ],
        "resources": [
            account(ACCOUNT_ID),
            blob_container(ACCOUNT_ID, "locked-long"),
            policy(ACCOUNT_ID, "locked-long", "Locked", 400, allowProtectedAppendWrites=False),
            blob_container(ACCOUNT_ID, "locked-exact"),
            policy(ACCOUNT_ID, "locked-exact", "Locked", PERIOD_DAYS),
            blob_container(ACCOUNT_ID, "locked-short"),
            policy(ACCOUNT_ID, "locked-short", "Locked", 30),
            blob_container(ACCOUNT_ID, "unlocked"),
            policy(ACCOUNT_ID, "unlocked", "Unlocked", 400, allowProtectedAppendWrites=True),
            blob_container(ACCOUNT_ID, "no-policy"),
            blob_container(ACCOUNT_ID, "hold-only", legalHold=LEGAL_HOLD),
            blob_container(ACCOUNT_ID, "locked-and-hold", legalHold=LEGAL_HOLD),
            policy(ACCOUNT_ID, "locked-and-hold", "Locked", 365),
            blob_container(ACCOUNT_ID, "policy-removed"),
            policy(ACCOUNT_ID, "policy-removed", "Deleted", 0),
            blob_container(ACCOUNT_ID, "version-level", immutableStorageWithVersioning=vlw),
            policy(ACCOUNT_ID, "version-level", "Locked", 365),
            blob_container(ACCOUNT_ID, "version-level-no-default", immutableStorageWithVersioning=vlw),
            account(
                VLW_ACCOUNT_ID,
                {
                    "enabled": True,
                    "immutabilityPolicy": {
                        "immutabilityPeriodSinceCreationInDays": 730,
                        "allowProtectedAppendWrites": False,
                        "state": "Locked",
                    },
                },
            ),
            blob_container(VLW_ACCOUNT_ID, "inherits", immutableStorageWithVersioning={"enabled": True}),
        ],
    }


@pytest.fixture(scope="module")
def arm() -> Iterator[ArmEmulator]:
    """The HTTPS ARM emulator serving the archive estate."""
    with ArmEmulator(archive_estate()) as emulator:
        yield emulator


def client_of(emulator: ArmEmulator, account_id: str = ACCOUNT_ID) -> Any:
    """A real StorageManagementClient pointed at the emulator (no retries: failures show at once)."""
    return storage_client(
        StubCredential(),
        account_id,
        base_url=emulator.url,
        credential_scopes=[emulator.url + "/.default"],
        connection_verify=str(emulator.ca_file),
        retry_total=0,
    )


def check(emulator: ArmEmulator, container: str, account_id: str = ACCOUNT_ID) -> WriteOnceState:
    """Return the verdict on `container` for a period of PERIOD_DAYS."""
    return read_write_once(client_of(emulator, account_id), account_id, container, period_days=PERIOD_DAYS)


def test_a_locked_policy_of_at_least_the_period_is_write_once(arm: ArmEmulator) -> None:
    """Locked time-based retention as long as the period or longer: yes, with the days in the reason."""
    long = check(arm, "locked-long")
    assert long.write_once is True
    assert "is write-once" in long.reason
    assert "400 days" in long.reason
    assert f"{PERIOD_DAYS} days" in long.reason
    assert (long.scope, long.policy_state, long.retention_days, long.legal_hold) == (
        "container",
        "Locked",
        400,
        False,
    )
    assert check(arm, "locked-exact").write_once is True


def test_a_locked_policy_shorter_than_the_period_is_not(arm: ArmEmulator) -> None:
    """Locked but for 30 days of a 183-day period: no, and the reason says both numbers."""
    state = check(arm, "locked-short")
    assert state.write_once is False
    assert "30 days" in state.reason
    assert f"shorter than the period of {PERIOD_DAYS} days" in state.reason
    assert state.retention_days == 30


def test_an_unlocked_policy_is_not(arm: ArmEmulator) -> None:
    """Unlocked retention, however long, can be shortened or deleted: no, and the reason says unlocked."""
    state = check(arm, "unlocked")
    assert state.write_once is False
    assert "unlocked" in state.reason
    assert "400 days" in state.reason
    assert state.policy_state == "Unlocked"


def test_no_policy_is_not(arm: ArmEmulator) -> None:
    """No policy (404 from the policy call), or one ARM reports as Deleted: no, said plainly."""
    for name in ("no-policy", "policy-removed"):
        state = check(arm, name)
        assert state.write_once is False
        assert "no time-based retention policy" in state.reason
        assert "can still be changed or deleted" in state.reason
        assert state.scope is None


def test_a_legal_hold_alone_is_not(arm: ArmEmulator) -> None:
    """A legal hold can be cleared at any time: no; with a locked long policy beside it: yes."""
    hold = check(arm, "hold-only")
    assert hold.write_once is False
    assert "legal hold" in hold.reason
    assert "clear" in hold.reason
    assert hold.legal_hold is True
    both = check(arm, "locked-and-hold")
    assert both.write_once is True
    assert both.legal_hold is True


def test_version_level_immutability_counts_with_a_locked_default_policy(arm: ArmEmulator) -> None:
    """Version-level WORM: the container's default policy decides, else the account's, else none."""
    container_default = check(arm, "version-level")
    assert container_default.write_once is True
    assert container_default.scope == "version-level container default"
    assert "earlier versions" in container_default.reason
    inherited = check(arm, "inherits", VLW_ACCOUNT_ID)
    assert inherited.write_once is True
    assert inherited.scope == "version-level account default"
    assert inherited.retention_days == 730
    no_default = check(arm, "version-level-no-default")
    assert no_default.write_once is False
    assert "no default retention policy" in no_default.reason


def test_arm_403_is_unknown_with_the_reason(arm: ArmEmulator) -> None:
    """A refused read is never a yes or a no: None, with ARM's status and code and the permission needed."""
    arm.add_fault(Fault(path=r"/containers/locked-long$", status=403, code="AuthorizationFailed", times=1))
    state = check(arm, "locked-long")
    assert state.write_once is None
    assert "HTTP 403 AuthorizationFailed" in state.reason
    assert "containers/read" in state.reason
    assert "Reader" in state.reason

    arm.add_fault(
        Fault(path=r"/immutabilityPolicies/default$", status=403, code="AuthorizationFailed", times=1)
    )
    policy_refused = check(arm, "locked-long")
    assert policy_refused.write_once is None
    assert "reading its immutability policy" in policy_refused.reason
    assert check(arm, "locked-long").write_once is True  # the faults are spent: the same call answers again


def test_answers_the_check_cannot_read_are_unknown(arm: ArmEmulator) -> None:
    """A body that is not JSON, or a policy whose period is not a number: None, never an exception."""
    arm.add_fault(Fault(path=r"/containers/locked-long$", status=200, malformed=True, times=1))
    garbled = check(arm, "locked-long")
    assert garbled.write_once is None
    assert "cannot tell whether container locked-long" in garbled.reason
    assert "a body that is not JSON" in garbled.reason
    odd_policy = {"properties": {"immutabilityPeriodSinceCreationInDays": "a year", "state": "Locked"}}
    arm.add_fault(
        Fault(path=r"/locked-long/immutabilityPolicies/default$", status=200, body=odd_policy, times=1)
    )
    odd = check(arm, "locked-long")
    assert odd.write_once is None
    assert "unexpected shape" in odd.reason


def test_missing_container_and_unreachable_arm_are_unknown(arm: ArmEmulator) -> None:
    """A container ARM does not know, or ARM not answering: None, saying which."""
    missing = check(arm, "never-made")
    assert missing.write_once is None
    assert "HTTP 404" in missing.reason
    with ArmEmulator(archive_estate()) as short_lived:
        client = client_of(short_lived)
    down = read_write_once(client, ACCOUNT_ID, "locked-long", period_days=PERIOD_DAYS)
    assert down.write_once is None
    assert "could not be reached" in down.reason


def test_the_check_only_reads(arm: ArmEmulator) -> None:
    """Every request the check sends is a GET (the Reader role is enough)."""
    before = len(arm.requests)
    for name in ("locked-long", "version-level-no-default", "hold-only"):
        check(arm, name)
    check(arm, "inherits", VLW_ACCOUNT_ID)
    sent = arm.requests[before:]
    assert sent
    assert {request.method for request in sent} == {"GET"}


def test_the_emulator_answers_containers_as_arm_does(arm: ArmEmulator) -> None:
    """The container's policy summary and flags follow its policy and legal hold; the policy has its ETag."""
    client = client_of(arm)
    locked = client.blob_containers.get(GROUP, "auditarchive", "locked-and-hold")
    assert locked.has_immutability_policy is True
    assert locked.has_legal_hold is True
    assert locked.immutability_policy.state == "Locked"
    assert locked.immutability_policy.immutability_period_since_creation_in_days == 365
    plain = client.blob_containers.get(GROUP, "auditarchive", "no-policy")
    assert plain.has_immutability_policy is False
    assert plain.has_legal_hold is False
    assert plain.immutability_policy is None
    removed = client.blob_containers.get(GROUP, "auditarchive", "policy-removed")
    assert removed.has_immutability_policy is False
    got = client.blob_containers.get_immutability_policy(GROUP, "auditarchive", "locked-long")
    assert got.etag == '"8de1a2b3c4d5e6f"'
    assert got.state == "Locked"


def test_judging_microsoft_shaped_answers() -> None:
    """The pure judge, on literal ARM JSON: embedded summary, account default, odd shapes."""
    embedded = {
        "properties": {
            "hasImmutabilityPolicy": True,
            "hasLegalHold": False,
            "immutabilityPolicy": {
                "etag": '"8d592d74cb3011a"',
                "properties": {
                    "immutabilityPeriodSinceCreationInDays": 100,
                    "allowProtectedAppendWritesAll": True,
                    "state": "Locked",
                },
                "updateHistory": [],
            },
        }
    }
    yes = judge_write_once(embedded, None, None, period_days=90)
    assert yes.write_once is True
    assert "protected append writes" in yes.reason
    assert judge_write_once(embedded, None, None, period_days=101).write_once is False
    odd = {"properties": {"immutabilityPeriodSinceCreationInDays": "ninety", "state": "Locked"}}
    assert judge_write_once({"properties": {}}, odd, None, period_days=90).write_once is None
    unknown = {"properties": {"immutabilityPeriodSinceCreationInDays": 900, "state": "Frozen"}}
    assert judge_write_once({"properties": {}}, unknown, None, period_days=90).write_once is None
    disabled_account = {
        "properties": {
            "immutableStorageWithVersioning": {
                "enabled": True,
                "immutabilityPolicy": {"immutabilityPeriodSinceCreationInDays": 900, "state": "Disabled"},
            }
        }
    }
    vlw = {"properties": {"immutableStorageWithVersioning": {"enabled": True}}}
    disabled = judge_write_once(vlw, None, disabled_account, period_days=90)
    assert disabled.write_once is False
    assert "disabled" in disabled.reason
    with pytest.raises(ValueError, match="period_days"):
        judge_write_once(vlw, None, None, period_days=0)


def test_account_ids_are_checked_before_any_call() -> None:
    """A storage account's ARM id is parsed into its parts; anything else is named as wrong."""
    assert parse_account_id(ACCOUNT_ID) == (SUB, GROUP, "auditarchive")
    with pytest.raises(ValueError, match="not a storage account resource id"):
        parse_account_id("https://auditarchive.blob.core.windows.net")
