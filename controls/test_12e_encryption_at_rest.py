"""12e: wherever encryption at rest is possible, it is applied."""

from __future__ import annotations

from collectors.azure.facts import SqlDatabase, StorageAccount, VirtualMachine, VmDisk
from collectors.config import Policy
from collectors.databases.facts import RAVENDB_DATABASES, SQLSERVER_DATABASES, Database
from collectors.hosts.facts import HostFacts
from controls.framework import Evidence, EvidenceMissing, control


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


# --- 12e.azure-vm-disk-encryption ---------------------------------------------------------------

VM_CUSTOMER_KEY_TYPES = frozenset(
    {"encryptionatrestwithcustomerkey", "encryptionatrestwithplatformandcustomerkeys"}
)
VM_DISK_ENCRYPTION_MODES = {
    "host": "encryption at host on the VM (securityProfile.encryptionAtHost = true)",
    "cmk": "every disk encrypted with a customer-managed key through a disk encryption set "
    "(encryption.type EncryptionAtRestWithCustomerKey or EncryptionAtRestWithPlatformAndCustomerKeys)",
    "ade": "Azure Disk Encryption on every disk (encryptionSettingsCollection.enabled = true)",
}
"""What each policy.vm_disk_encryption mode requires, in the words the messages use."""


def vm_disk_encryption_text(disk: VmDisk) -> str:
    """Describe in words how a VM disk is encrypted at rest."""
    if disk.missing:
        return f"unknown ({disk.missing})"
    if disk.storage == "ephemeral":
        base = "ephemeral OS disk on host storage (no disk resource; only encryption at host covers it)"
    elif disk.storage == "unmanaged":
        base = "unmanaged VHD blob (no disk encryption set possible)"
    elif (disk.encryption_type or "").lower() in VM_CUSTOMER_KEY_TYPES:
        key_set = (disk.disk_encryption_set_id or "none").rsplit("/", 1)[-1]
        base = f"customer-managed key ({disk.encryption_type}, disk encryption set {key_set})"
    elif (disk.encryption_type or "").lower() == "encryptionatrestwithplatformkey":
        base = "platform-managed key" if disk.ade_enabled else "platform-managed key only"
    else:
        base = f"encryption type {disk.encryption_type or 'not reported'}"
    return base + (" + Azure Disk Encryption" if disk.ade_enabled else "")


def vm_disk_meets(disk: VmDisk, mode: str) -> bool:
    """Return True when a (readable) disk meets the 'cmk' or 'ade' mode of policy.vm_disk_encryption."""
    if mode == "cmk":
        return (
            disk.storage == "managed"
            and (disk.encryption_type or "").lower() in VM_CUSTOMER_KEY_TYPES
            and bool(disk.disk_encryption_set_id)
        )
    return disk.ade_enabled


@control("12e.azure-vm-disk-encryption", over="azure.vms")
def test_vm_disks_are_encrypted_as_policy_requires(
    vm: VirtualMachine, policy: Policy, evidence: Evidence
) -> None:
    mode = policy.vm_disk_encryption
    requirement = VM_DISK_ENCRYPTION_MODES[mode]
    evidence.observed(
        encryption_at_host=vm.encryption_at_host,
        disks=[
            {
                "role": d.role,
                "name": d.name,
                "id": d.id,
                "encryption": vm_disk_encryption_text(d),
                "disk_encryption_set": d.disk_encryption_set_id,
                "azure_disk_encryption": d.ade_enabled,
            }
            for d in vm.disks
        ],
    )
    evidence.expected(vm_disk_encryption=mode, requirement=requirement)
    disks_text = "; ".join(f"{d.role} {d.name}: {vm_disk_encryption_text(d)}" for d in vm.disks)
    if mode == "host":
        assert vm.encryption_at_host, (
            f"encryption at host is off on VM {vm.name}: policy.vm_disk_encryption = 'host' expects "
            f"{requirement}; its disks: {disks_text or 'none reported'}"
        )
        return
    if not vm.disks:
        raise EvidenceMissing(f"VM {vm.name} reports no disks")
    failing = [d for d in vm.disks if not d.missing and not vm_disk_meets(d, mode)]
    assert not failing, (
        f"VM {vm.name}: policy.vm_disk_encryption = '{mode}' expects {requirement}, but "
        + "; ".join(f"{d.role} {d.name} has {vm_disk_encryption_text(d)}" for d in failing)
    )
    missing = [d.missing for d in vm.disks if d.missing]
    if missing:
        raise EvidenceMissing(f"VM {vm.name}: disk encryption unknown: " + "; ".join(missing))


# --- 12e.host-volume-encryption (hosts over SSH) ---------------------------------------------------

HOST_VOLUME_KINDS_NOT_JUDGED = {
    "boot": "boot partition: the firmware must read the boot loader and kernel unencrypted; it holds no data",
    "image": "read-only image (snap package, installation medium): nothing is written to it",
    "swap": "swap area: not a filesystem (encrypt it with the data volumes where memory may hold personal data)",
}
"""Linux volume kinds this control does not judge, and why (shown in the evidence)."""


@control("12e.host-volume-encryption", over="hosts.all")
def test_host_volumes_are_encrypted_at_rest(host: HostFacts, evidence: Evidence) -> None:
    if host.volumes is None:
        raise EvidenceMissing(host.missing("volumes"))
    judged = [v for v in host.volumes if v.kind.lower() not in HOST_VOLUME_KINDS_NOT_JUDGED]
    evidence.observed(
        volumes=[
            {"mount": v.mount, "kind": v.kind, "encrypted": v.encrypted, "detail": v.detail} for v in judged
        ],
        not_judged=[
            f"{v.mount}: {HOST_VOLUME_KINDS_NOT_JUDGED[v.kind.lower()]}"
            for v in host.volumes
            if v.kind.lower() in HOST_VOLUME_KINDS_NOT_JUDGED
        ],
    )
    evidence.expected(
        volumes="every fixed OS and data volume encrypted: BitLocker fully encrypted with protection On "
        "(Windows), a LUKS/dm-crypt device beneath the filesystem (Linux)"
    )
    if not judged:
        raise EvidenceMissing(f"host {host.name} reports no fixed volume")
    plain = [v for v in judged if not v.encrypted]
    why = "" if host.os.family == "windows" else "; no crypt device beneath it"
    assert not plain, f"host {host.name}: {len(plain)} volume(s) not encrypted at rest: " + "; ".join(
        f"{v.mount} ({v.kind}: {v.detail or 'no detail'}{why})" for v in plain
    )


# --- 12e.sqlserver-tde and 12e.ravendb-encryption (database catalogs) ------------------------------

SQLSERVER_ENCRYPTION_STATES = {
    "none": "no database encryption key: TDE is off",
    "0": "no database encryption key: TDE is off",
    "1": "unencrypted (a key exists but encryption is not on)",
    "2": "encryption in progress: the database is not yet fully encrypted",
    "3": "encrypted",
    "4": "key change in progress",
    "5": "decryption in progress: TDE is being switched off",
    "6": "protection change in progress",
}
"""What sys.dm_database_encryption_keys.encryption_state means ('none': the database has no key)."""


def sqlserver_encryption_text(state: str) -> str:
    """Return an encryption_state in words, for the evidence and the failure message."""
    return SQLSERVER_ENCRYPTION_STATES.get(state, f"unknown encryption_state {state}")


@control("12e.sqlserver-tde", over=SQLSERVER_DATABASES)
def test_sqlserver_database_is_encrypted_at_rest(database: Database, evidence: Evidence) -> None:
    state = database.encryption_state
    evidence.observed(
        encryption_state=state, meaning=None if state is None else sqlserver_encryption_text(state)
    )
    evidence.expected(encryption_state="3 (encrypted)")
    if state is None:
        raise EvidenceMissing(
            f"database {database.name} on {database.server}: the encryption state could not be read "
            "(sys.dm_database_encryption_keys needs VIEW SERVER STATE, on Azure SQL VIEW DATABASE STATE) "
            "or the configured database is not on the server"
        )
    assert state == "3", (
        f"database {database.name} on {database.server} is not encrypted at rest: "
        f"encryption_state {state}, {sqlserver_encryption_text(state)}"
    )


@control("12e.ravendb-encryption", over=RAVENDB_DATABASES)
def test_ravendb_database_is_encrypted_at_rest(database: Database, evidence: Evidence) -> None:
    evidence.observed(encrypted=database.encrypted)
    evidence.expected(encrypted=True)
    if database.encrypted is None:
        raise EvidenceMissing(
            f"RavenDB database {database.name} on {database.server}: the database record does not say "
            "whether it is encrypted"
        )
    assert database.encrypted, (
        f"RavenDB database {database.name} on {database.server} is not encrypted at rest (Encrypted = false); "
        "RavenDB encrypts only databases created encrypted: export it into a new encrypted database"
    )
