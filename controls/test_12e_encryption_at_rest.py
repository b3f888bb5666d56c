"""12e: wherever encryption at rest is possible, it is applied."""

from __future__ import annotations

from collectors.azure.facts import SqlDatabase, StorageAccount, VirtualMachine, VmDisk
from collectors.config.policy import Policy
from collectors.databases.facts import RAVENDB_DATABASES, SQLSERVER_DATABASES, Database
from collectors.hosts.facts import HostFacts
from controls.framework import Evidence, EvidenceMissing, control
from reports.evidence import N_, Message, as_message, msg


@control("12e.azure-sql-tde", over="azure.sql_databases")
def test_sql_database_is_encrypted_at_rest(db: SqlDatabase, evidence: Evidence) -> None:
    evidence.observed(tde_state=db.tde_state)
    evidence.expected(tde_state="Enabled")
    assert (db.tde_state or "").lower() == "enabled", evidence.fails(
        "transparent data encryption is {state} on database {database}",
        state=db.tde_state or msg("not reported"),
        database=db.name,
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
    problems: list[Message] = []
    if account.blob_encryption_enabled is None and account.file_encryption_enabled is None:
        problems.append(msg("no encryption services are reported (encryption.services absent)"))
    else:
        for service, enabled in (
            ("blob", account.blob_encryption_enabled),
            ("file", account.file_encryption_enabled),
        ):
            if enabled is not True:
                state = msg("not reported") if enabled is None else msg("disabled")
                problems.append(msg("{service} encryption is {state}", service=service, state=state))
    if policy.require_infrastructure_encryption and account.require_infrastructure_encryption is not True:
        problems.append(
            msg(
                "requireInfrastructureEncryption is {value} (the policy requires infrastructure encryption)",
                value=msg("not set") if account.require_infrastructure_encryption is None else "false",
            )
        )
    if policy.require_customer_managed_keys and (account.key_source or "").lower() != "microsoft.keyvault":
        problems.append(
            msg(
                "keySource is {key_source}, not Microsoft.Keyvault (the policy requires customer-managed keys)",
                key_source=account.key_source or msg("not reported"),
            )
        )
    assert not problems, evidence.fails(
        "storage account {name}: {problems}", name=account.name, problems=problems
    )


# --- 12e.azure-vm-disk-encryption ---------------------------------------------------------------

VM_CUSTOMER_KEY_TYPES = frozenset(
    {"encryptionatrestwithcustomerkey", "encryptionatrestwithplatformandcustomerkeys"}
)
VM_DISK_ENCRYPTION_MODES = {
    "host": N_("encryption at host on the VM (securityProfile.encryptionAtHost = true)"),
    "cmk": N_(
        "every disk encrypted with a customer-managed key through a disk encryption set "
        "(encryption.type EncryptionAtRestWithCustomerKey or EncryptionAtRestWithPlatformAndCustomerKeys)"
    ),
    "ade": N_("Azure Disk Encryption on every disk (encryptionSettingsCollection.enabled = true)"),
}
"""What each policy.vm_disk_encryption mode requires, in the words the messages use (catalog texts)."""


def vm_disk_encryption_text(disk: VmDisk) -> Message:
    """Describe in words how a VM disk is encrypted at rest."""
    if disk.missing:
        return msg("unknown ({reason})", reason=disk.missing)
    if disk.storage == "ephemeral":
        base = msg("ephemeral OS disk on host storage (no disk resource; only encryption at host covers it)")
    elif disk.storage == "unmanaged":
        base = msg("unmanaged VHD blob (no disk encryption set possible)")
    elif (disk.encryption_type or "").lower() in VM_CUSTOMER_KEY_TYPES:
        key_set = (
            msg("none")
            if disk.disk_encryption_set_id is None
            else disk.disk_encryption_set_id.rsplit("/", 1)[-1]
        )
        base = msg(
            "customer-managed key ({type}, disk encryption set {key_set})",
            type=disk.encryption_type,
            key_set=key_set,
        )
    elif (disk.encryption_type or "").lower() == "encryptionatrestwithplatformkey":
        base = msg("platform-managed key") if disk.ade_enabled else msg("platform-managed key only")
    else:
        base = msg("encryption type {type}", type=disk.encryption_type or msg("not reported"))
    return msg("{encryption} + Azure Disk Encryption", encryption=base) if disk.ade_enabled else base


def vm_disk_text(disk: VmDisk) -> Message:
    """Name a VM disk and how it is encrypted, in a list of the VM's disks: `OS disk <name>: <encryption>`."""
    return msg(
        "{role} {name}: {encryption}",
        role=disk.role,
        name=disk.name,
        encryption=vm_disk_encryption_text(disk),
    )


def vm_disk_shortfall_text(disk: VmDisk) -> Message:
    """Name a disk that falls short of the policy and how it is encrypted: `OS disk <name> has <encryption>`."""
    return msg(
        "{role} {name} has {encryption}",
        role=disk.role,
        name=disk.name,
        encryption=vm_disk_encryption_text(disk),
    )


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
    requirement = msg(VM_DISK_ENCRYPTION_MODES[mode])
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
    if mode == "host":
        assert vm.encryption_at_host, evidence.fails(
            "encryption at host is off on VM {vm}: policy.vm_disk_encryption = 'host' expects "
            "{requirement}; its disks: {disks}",
            vm=vm.name,
            requirement=requirement,
            disks=[vm_disk_text(d) for d in vm.disks] or msg("none reported"),
        )
        return
    if not vm.disks:
        raise EvidenceMissing(msg("VM {vm} reports no disks", vm=vm.name))
    failing = [d for d in vm.disks if not d.missing and not vm_disk_meets(d, mode)]
    assert not failing, evidence.fails(
        "VM {vm}: policy.vm_disk_encryption = '{mode}' expects {requirement}, but {disks}",
        vm=vm.name,
        mode=mode,
        requirement=requirement,
        disks=[vm_disk_shortfall_text(d) for d in failing],
    )
    missing = [d.missing for d in vm.disks if d.missing]
    if missing:
        raise EvidenceMissing(
            msg(
                "VM {vm}: disk encryption unknown: {reasons}",
                vm=vm.name,
                reasons=[as_message(m) for m in missing],
            )
        )


# --- 12e.host-volume-encryption (hosts over SSH) ---------------------------------------------------

HOST_VOLUME_KINDS_NOT_JUDGED = {
    "boot": N_(
        "boot partition: the firmware must read the boot loader and kernel unencrypted; it holds no data"
    ),
    "image": N_("read-only image (snap package, installation medium): nothing is written to it"),
    "swap": N_(
        "swap area: not a filesystem (encrypt it with the data volumes where memory may hold personal data)"
    ),
}
"""Linux volume kinds this control does not judge, and why (shown in the evidence; catalog texts)."""


def unencrypted_volume_text(mount: str, kind: str, detail: str | None, windows: bool) -> Message:
    """Describe a volume that is not encrypted at rest: its mount, kind and what the host reported."""
    shown = detail or msg("no detail")
    if windows:
        return msg("{mount} ({kind}: {detail})", mount=mount, kind=kind, detail=shown)
    return msg("{mount} ({kind}: {detail}; no crypt device beneath it)", mount=mount, kind=kind, detail=shown)


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
            msg(
                "{mount}: {reason}",
                mount=v.mount,
                reason=msg(HOST_VOLUME_KINDS_NOT_JUDGED[v.kind.lower()]),
            )
            for v in host.volumes
            if v.kind.lower() in HOST_VOLUME_KINDS_NOT_JUDGED
        ],
    )
    evidence.expected(
        volumes=msg(
            "every fixed OS and data volume encrypted: BitLocker fully encrypted with protection On "
            "(Windows), a LUKS/dm-crypt device beneath the filesystem (Linux)"
        )
    )
    if not judged:
        raise EvidenceMissing(msg("host {host} reports no fixed volume", host=host.name))
    plain = [v for v in judged if not v.encrypted]
    windows = host.os.family == "windows"
    assert not plain, evidence.fails_n(
        "host {host}: {n} volume not encrypted at rest: {volumes}",
        "host {host}: {n} volumes not encrypted at rest: {volumes}",
        "n",
        host=host.name,
        n=len(plain),
        volumes=[unencrypted_volume_text(v.mount, v.kind, v.detail, windows) for v in plain],
    )


# --- 12e.sqlserver-tde and 12e.ravendb-encryption (database catalogs) ------------------------------

SQLSERVER_ENCRYPTION_STATES = {
    "none": N_("no database encryption key: TDE is off"),
    "0": N_("no database encryption key: TDE is off"),
    "1": N_("unencrypted (a key exists but encryption is not on)"),
    "2": N_("encryption in progress: the database is not yet fully encrypted"),
    "3": N_("encrypted"),
    "4": N_("key change in progress"),
    "5": N_("decryption in progress: TDE is being switched off"),
    "6": N_("protection change in progress"),
}
"""What sys.dm_database_encryption_keys.encryption_state means ('none': the database has no key; catalog texts)."""


def sqlserver_encryption_text(state: str) -> Message:
    """Return an encryption_state in words, for the evidence and the failure message."""
    meaning = SQLSERVER_ENCRYPTION_STATES.get(state)
    return msg("unknown encryption_state {state}", state=state) if meaning is None else msg(meaning)


@control("12e.sqlserver-tde", over=SQLSERVER_DATABASES)
def test_sqlserver_database_is_encrypted_at_rest(database: Database, evidence: Evidence) -> None:
    state = database.encryption_state
    evidence.observed(
        encryption_state=state, meaning=None if state is None else sqlserver_encryption_text(state)
    )
    evidence.expected(encryption_state=msg("3 (encrypted)"))
    if state is None:
        raise EvidenceMissing(
            msg(
                "database {database} on {server}: the encryption state could not be read "
                "(sys.dm_database_encryption_keys needs VIEW SERVER STATE, on Azure SQL VIEW DATABASE STATE) "
                "or the configured database is not on the server",
                database=database.name,
                server=database.server,
            )
        )
    assert state == "3", evidence.fails(
        "database {database} on {server} is not encrypted at rest: encryption_state {state}, {meaning}",
        database=database.name,
        server=database.server,
        state=state,
        meaning=sqlserver_encryption_text(state),
    )


@control("12e.ravendb-encryption", over=RAVENDB_DATABASES)
def test_ravendb_database_is_encrypted_at_rest(database: Database, evidence: Evidence) -> None:
    evidence.observed(encrypted=database.encrypted)
    evidence.expected(encrypted=True)
    if database.encrypted is None:
        raise EvidenceMissing(
            msg(
                "RavenDB database {database} on {server}: the database record does not say whether it is "
                "encrypted",
                database=database.name,
                server=database.server,
            )
        )
    assert database.encrypted, evidence.fails(
        "RavenDB database {database} on {server} is not encrypted at rest (Encrypted = false); "
        "RavenDB encrypts only databases created encrypted: export it into a new encrypted database",
        database=database.name,
        server=database.server,
    )
