"""12e: wherever encryption at rest is possible, it is applied."""

from __future__ import annotations

from collectors.azure.sql import SqlDatabase
from collectors.azure.storage import StorageAccount
from collectors.config import Policy
from controls.framework import Evidence, control


@control("12e.azure-sql-tde", over="azure.sql_databases")
def test_sql_database_is_encrypted_at_rest(db: SqlDatabase, evidence: Evidence) -> None:
    evidence.observed(tde_state=db.tde_state)
    evidence.expected(tde_state="Enabled")
    assert (db.tde_state or "").lower() == "enabled", (
        f"transparent data encryption is {db.tde_state or 'not reported'} on database {db.name}"
    )


@control("12e.azure-storage-encryption", over="azure.storage_accounts")
def test_storage_account_is_encrypted_at_rest(
    account: StorageAccount, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(
        blob_encryption_enabled=account.blob_encryption_enabled,
        file_encryption_enabled=account.file_encryption_enabled,
        key_source=account.key_source,
        require_infrastructure_encryption=account.require_infrastructure_encryption,
    )
    expected: dict[str, object] = {"blob_encryption_enabled": True, "file_encryption_enabled": True}
    if policy.require_infrastructure_encryption:
        expected["require_infrastructure_encryption"] = True
    if policy.require_customer_managed_keys:
        expected["key_source"] = "Microsoft.Keyvault"
    evidence.expected(**expected)
    problems: list[str] = []
    if account.blob_encryption_enabled is None and account.file_encryption_enabled is None:
        problems.append("no encryption services are reported (encryption.services absent)")
    else:
        for service, enabled in (
            ("blob", account.blob_encryption_enabled),
            ("file", account.file_encryption_enabled),
        ):
            if enabled is not True:
                problems.append(
                    f"{service} encryption is {'not reported' if enabled is None else 'disabled'}"
                )
    if policy.require_infrastructure_encryption and account.require_infrastructure_encryption is not True:
        problems.append(
            "requireInfrastructureEncryption is "
            f"{'not set' if account.require_infrastructure_encryption is None else 'false'}"
            " (the policy requires infrastructure encryption)"
        )
    if policy.require_customer_managed_keys and (account.key_source or "").lower() != "microsoft.keyvault":
        problems.append(
            f"keySource is {account.key_source or 'not reported'}, not Microsoft.Keyvault "
            "(the policy requires customer-managed keys)"
        )
    assert not problems, f"storage account {account.name}: " + "; ".join(problems)
