"""Azure compute facts: VMs with the encryption of every disk, and their Update Manager patch assessment.

VMs, managed disks and disk encryption sets are listed per subscription (ARM, or the Resource
Graph inventory); each VM's OS and data disks are matched to the disk list by managed disk id
(case-insensitively) to learn their encryption. Patch assessments come from Resource Graph's
`patchassessmentresources` table on both read paths: it is the only source of per-patch publish
dates, and Reader can query it. Nothing is judged here: 12e.azure-vm-disk-encryption and
12g.azure-update-manager do that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Disk, DiskEncryptionSet
from azure.mgmt.compute.models import VirtualMachine as VmModel

from collectors.azure import fields
from collectors.azure.arm import Fetched
from collectors.azure.base import AzureCollector, resource_group_of
from collectors.azure.facts import (
    AZURE_RESOURCES,
    PATCH_ASSESSMENTS,
    UNKNOWN_REGION,
    VMS,
    AvailablePatch,
    PatchAssessment,
    VirtualMachine,
    VmDisk,
)
from collectors.azure.reading import Unreadable
from collectors.azure.resource_graph import GraphRows, ResourceGraph
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.messages import Reason
from collectors.regions import normalise_region
from reports.evidence import Source, msg

VM_TYPE = "Microsoft.Compute/virtualMachines"
DISK_TYPE = "Microsoft.Compute/disks"
DISK_ENCRYPTION_SET_TYPE = "Microsoft.Compute/diskEncryptionSets"
PATCH_SUMMARY_TYPE = "microsoft.compute/virtualmachines/patchassessmentresults"
PATCH_TYPE = "microsoft.compute/virtualmachines/patchassessmentresults/softwarepatches"
PATCH_QUERY = (
    "patchassessmentresources "
    f"| where type in~ ('{PATCH_SUMMARY_TYPE}', '{PATCH_TYPE}') "
    "| project id, name, type, properties "
    "| order by id asc"
)
"""Every Azure VM's latest assessment summary and the patches it found available (history: 7 days)."""


@dataclass(frozen=True)
class _DiskState:
    encryption_type: str | None
    disk_encryption_set_id: str | None
    ade_enabled: bool


@dataclass(frozen=True)
class _ListedVm:
    vm: VirtualMachine
    patch_mode: str | None
    assessment_mode: str | None
    sources: tuple[Source, ...]


def parse_timestamp(value: Any) -> datetime | None:
    """Return an ARM/Resource Graph timestamp as an aware UTC datetime; None when absent or a 0001 placeholder."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.year <= 1:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _error_text(details: Any) -> Reason | None:
    """Return the message of a patch summary's errorDetails, None when it reports no error.

    Azure's own message and code are plain text; only the words around them are the catalog's.
    """
    if not isinstance(details, Mapping):
        return _text(details)
    message = _text(details.get("message"))
    code = _text(details.get("code"))
    if message:
        return msg("{message} (code {code})", message=message, code=code) if code and code != "0" else message
    return msg("error code {code}", code=code) if code and code != "0" else None


def _disk_state(model: Any) -> _DiskState:
    encryption = fields.child(model, "encryption", "encryption")
    collection = fields.child(model, "encryption_settings_collection", "encryptionSettingsCollection")
    ade = (
        None
        if collection is None
        else fields.flag(collection, "enabled", "encryptionSettingsCollection.enabled", nested=False)
    )
    return _DiskState(
        encryption_type=None
        if encryption is None
        else fields.text(encryption, "type", "encryption.type", nested=False),
        disk_encryption_set_id=None
        if encryption is None
        else fields.text(
            encryption, "disk_encryption_set_id", "encryption.diskEncryptionSetId", nested=False
        ),
        ade_enabled=ade is True,
    )


def vm_disk(
    role: str,
    profile: Any,
    disks: Mapping[str, _DiskState] | None,
    disks_error: Reason | None,
    vm_ade_enabled: bool = False,
) -> VmDisk:
    """Return one disk of a VM from its storage profile entry and the subscription's disk list.

    `disks` maps lower-cased managed disk ids to their encryption (None when the disk list could
    not be read, `disks_error` saying why); `vm_ade_enabled` is the VM-level (legacy) ADE switch
    of the OS disk.
    """
    fields.obj(profile, role)
    name = fields.text(profile, "name", f"{role}.name", nested=False) or ""
    managed = fields.child(profile, "managed_disk", f"{role}.managedDisk", nested=False)
    set_id = (
        None
        if managed is None
        else fields.reference(
            managed, "disk_encryption_set", f"{role}.managedDisk.diskEncryptionSet", nested=False
        )
    )
    diff = fields.child(profile, "diff_disk_settings", f"{role}.diffDiskSettings", nested=False)
    if diff is not None and fields.text(diff, "option", f"{role}.diffDiskSettings.option", nested=False):
        return VmDisk(role, name, None, "ephemeral", None, set_id, False)
    vhd = fields.child(profile, "vhd", f"{role}.vhd", nested=False)
    if managed is None and vhd is not None:
        uri = fields.text(vhd, "uri", f"{role}.vhd.uri", nested=False) or ""
        return VmDisk(role, name or uri, None, "unmanaged", None, None, vm_ade_enabled)
    disk_id = None if managed is None else fields.text(managed, "id", f"{role}.managedDisk.id", nested=False)
    if disk_id is None:
        reason = msg(
            "the VM reports no managed disk id for {role} {name}", role=role, name=name or "(unnamed)"
        )
        return VmDisk(role, name, None, "managed", None, set_id, vm_ade_enabled, missing=reason)
    if disks is None:
        return VmDisk(role, name, disk_id, "managed", None, set_id, vm_ade_enabled, missing=disks_error)
    state = disks.get(disk_id.lower())
    if state is None:
        reason = msg("{role} {disk} is not in the disk list of its subscription", role=role, disk=disk_id)
        return VmDisk(role, name, disk_id, "managed", None, set_id, vm_ade_enabled, missing=reason)
    return VmDisk(
        role=role,
        name=name or disk_id.rsplit("/", 1)[-1],
        id=disk_id,
        storage="managed",
        encryption_type=state.encryption_type,
        disk_encryption_set_id=state.disk_encryption_set_id or set_id,
        ade_enabled=state.ade_enabled or vm_ade_enabled,
    )


def _unknown_disks(role: str, reason: Reason) -> VmDisk:
    """Return a placeholder disk standing for disks the VM does not list (their encryption is unknown)."""
    return VmDisk(role, "", None, "unknown", None, None, False, missing=reason)


def _patch_settings(model: Any) -> tuple[str | None, str | None]:
    """Return the VM's (patchMode, assessmentMode) from its Windows or Linux configuration."""
    profile = fields.child(model, "os_profile", "osProfile")
    if profile is None:
        return None, None
    for configuration, arm_name in (
        ("windows_configuration", "osProfile.windowsConfiguration"),
        ("linux_configuration", "osProfile.linuxConfiguration"),
    ):
        found = fields.child(profile, configuration, arm_name, nested=False)
        settings = (
            None
            if found is None
            else fields.child(found, "patch_settings", f"{arm_name}.patchSettings", nested=False)
        )
        if settings is not None:
            return (
                fields.text(settings, "patch_mode", f"{arm_name}.patchSettings.patchMode", nested=False),
                fields.text(
                    settings, "assessment_mode", f"{arm_name}.patchSettings.assessmentMode", nested=False
                ),
            )
    return None, None


def virtual_machine(
    subscription: AzureSubscription,
    model: Any,
    disks: Mapping[str, _DiskState] | None,
    disks_error: Reason | None,
) -> VirtualMachine:
    """Return the fact of one VM, its disks matched against the subscription's disk list.

    Every VM has an OS disk and ARM lists its data disks (`dataDisks`, [] when none): when the
    storage profile lacks either, a disk with `missing` set stands for the unknown disk(s).
    `securityProfile.encryptionAtHost` absent is false (Microsoft's documented default).
    """
    vm_id = fields.resource_id(model, msg("the VM"))
    storage = fields.child(model, "storage_profile", "storageProfile")
    security = fields.child(model, "security_profile", "securityProfile")
    vm_disks: list[VmDisk] = []
    os_type = None
    if storage is None:
        vm_disks.append(
            _unknown_disks("disks", msg("the VM reports no storageProfile: its disks are unknown"))
        )
    else:
        os_disk = fields.child(storage, "os_disk", "storageProfile.osDisk", nested=False)
        if os_disk is None:
            vm_disks.append(_unknown_disks("OS disk", msg("the VM's storageProfile reports no osDisk")))
        else:
            settings = fields.child(os_disk, "encryption_settings", "osDisk.encryptionSettings", nested=False)
            vm_ade = (
                settings is not None
                and fields.flag(settings, "enabled", "osDisk.encryptionSettings.enabled", nested=False)
                is True
            )
            vm_disks.append(vm_disk("OS disk", os_disk, disks, disks_error, vm_ade))
            os_type = fields.text(os_disk, "os_type", "osDisk.osType", nested=False)
        data_disks = fields.items(storage, "data_disks", "storageProfile.dataDisks", nested=False)
        if data_disks is None:
            vm_disks.append(
                _unknown_disks("data disks", msg("the VM's storageProfile reports no dataDisks list"))
            )
        for data in data_disks or ():
            lun = fields.integer(data, "lun", "dataDisks.lun", nested=False)
            vm_disks.append(vm_disk(f"data disk (LUN {lun})", data, disks, disks_error))
    at_host = (
        None
        if security is None
        else fields.flag(security, "encryption_at_host", "securityProfile.encryptionAtHost", nested=False)
    )
    return VirtualMachine(
        id=vm_id,
        name=fields.resource_name(model),
        subscription_id=subscription.id,
        resource_group=resource_group_of(vm_id),
        location=normalise_region(fields.text(model, "location", "location", nested=False) or UNKNOWN_REGION),
        os_type=os_type,
        encryption_at_host=at_host is True,
        security_type=None
        if security is None
        else fields.text(security, "security_type", "securityProfile.securityType", nested=False),
        disks=tuple(vm_disks),
    )


def split_patch_rows(
    rows: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Return (summary row by VM id, patch rows by VM id), VM ids lower-cased.

    The table holds both kinds of row (and, for Arc servers, other types); they are told apart
    by their id: `<vm>/patchAssessmentResults/latest` vs `.../latest/softwarePatches/<patch>`.
    """
    summaries: dict[str, dict[str, Any]] = {}
    patches: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row_id = str(row.get("id", "")).lower()
        row_type = str(row.get("type", "")).lower()
        marker = row_id.find("/patchassessmentresults/")
        if marker < 0 or not row_type.startswith(PATCH_SUMMARY_TYPE):
            continue
        vm_key, rest = row_id[:marker], row_id[marker:]
        if "/softwarepatches/" in rest:
            patches.setdefault(vm_key, []).append(row)
        elif rest.rstrip("/").endswith("/latest"):
            summaries[vm_key] = row
    return summaries, patches


def _properties(row: Mapping[str, Any]) -> Mapping[str, Any]:
    found = row.get("properties")
    return found if isinstance(found, Mapping) else {}


def available_patch(row: Mapping[str, Any]) -> AvailablePatch:
    """Return one software-patch row of the assessment (classifications None when not a list of text)."""
    properties = _properties(row)
    classifications = properties.get("classifications")
    # A patch always has a classification: an empty or mistyped list is unknown, not "none".
    known = (
        isinstance(classifications, list)
        and bool(classifications)
        and all(isinstance(c, str) and c.strip() for c in classifications)
    )
    return AvailablePatch(
        name=_text(properties.get("patchName"))
        or str(row.get("name") or row.get("id", "")).rsplit("/", 1)[-1],
        kb_id=_text(properties.get("kbId")),
        version=_text(properties.get("version")),
        classifications=tuple(classifications) if known and isinstance(classifications, list) else None,
        published=parse_timestamp(properties.get("publishedDateTime")),
    )


def patch_assessment(
    listed: _ListedVm, summary: Mapping[str, Any] | None, patch_rows: list[dict[str, Any]]
) -> PatchAssessment:
    """Return the patch assessment fact of one VM from its Resource Graph rows."""
    vm = listed.vm
    if summary is None:
        return PatchAssessment(
            vm.id, vm.name, vm.os_type, listed.patch_mode, listed.assessment_mode, assessed=False
        )
    properties = _properties(summary)
    counts = properties.get("availablePatchCountByClassification")
    counts = counts if isinstance(counts, Mapping) else {}
    return PatchAssessment(
        vm_id=vm.id,
        vm_name=vm.name,
        os_type=_text(properties.get("osType")) or vm.os_type,
        patch_mode=listed.patch_mode,
        assessment_mode=listed.assessment_mode,
        assessed=True,
        status=_text(properties.get("status")),
        last_modified=parse_timestamp(properties.get("lastModifiedDateTime")),
        critical_count=_count(counts.get("critical")),
        security_count=_count(counts.get("security")),
        error=_error_text(properties.get("errorDetails")),
        patches=tuple(
            sorted(
                (available_patch(r) for r in patch_rows if isinstance(r, Mapping)),
                key=lambda p: (p.name.lower(), p.kb_id or ""),
            )
        ),
    )


class ComputeCollector(AzureCollector):
    """Reads VMs, disks, disk encryption sets and Update Manager patch assessments."""

    populations = (VMS, PATCH_ASSESSMENTS, AZURE_RESOURCES)
    listed_types = (VM_TYPE, DISK_TYPE, DISK_ENCRYPTION_SET_TYPE)

    def compute(self, subscription_id: str) -> ComputeManagementClient:
        """Return the compute management client of a subscription."""
        return self.client(ComputeManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Collect VMs with their disks' encryption, then every VM's latest patch assessment."""
        self.context.progress(
            f"azure: reading virtual machines, disks and disk encryption sets of {len(subscriptions)} "
            "subscription(s)"
        )
        listed = [entry for found in self.arm.map(self._subscription, subscriptions) for entry in found]
        for entry in listed:
            self.population(VMS).add(observed(entry.vm.id, entry.vm, entry.sources))
        self._patch_assessments(listed)

    def _subscription(self, subscription: AzureSubscription) -> list[_ListedVm]:
        self._encryption_sets(subscription)
        disks, disks_error, disk_sources = self._disks(subscription)
        found = self.read_items_in(
            subscription,
            VM_TYPE,
            lambda hook: self.compute(subscription.id).virtual_machines.list_all(raw_response_hook=hook),
            VmModel,
            lambda model: (virtual_machine(subscription, model, disks, disks_error), _patch_settings(model)),
            item=msg("a virtual machine"),
            populations=(VMS, PATCH_ASSESSMENTS),
        )
        if found is None:
            return []
        vms, fetched = found
        listed = [
            _ListedVm(vm, patch_mode, assessment_mode, (*fetched.sources, *disk_sources))
            for vm, (patch_mode, assessment_mode) in vms
        ]
        for entry in listed:
            self.locate(entry.vm.id, VM_TYPE, entry.vm.location, fetched.sources)
        return listed

    def _encryption_sets(self, subscription: AzureSubscription) -> None:
        found = self.read_items_in(
            subscription,
            DISK_ENCRYPTION_SET_TYPE,
            lambda hook: self.compute(subscription.id).disk_encryption_sets.list(raw_response_hook=hook),
            DiskEncryptionSet,
            _id_and_location,
            item=msg("a {type} resource", type=DISK_ENCRYPTION_SET_TYPE),
            populations=(),
        )
        if found is not None:
            sets, fetched = found
            for resource_id, location in sets:
                self.locate(resource_id, DISK_ENCRYPTION_SET_TYPE, location, fetched.sources)

    def _locate_each(
        self, fetched: Fetched, resource_type: str, subscription: AzureSubscription
    ) -> list[str]:
        """Locate every resource of a list answer (clause 8); return their ids (unreadable ones are errors)."""
        located = self.each(
            msg(
                "a {type} resource of subscription {subscription} could not be read",
                type=resource_type,
                subscription=subscription.id,
            ),
            fetched,
            _id_and_location,
            list_subject=f"{subscription.resource_id}/providers/{resource_type}",
            populations=(AZURE_RESOURCES,),
        )
        for resource_id, location in located:
            self.locate(resource_id, resource_type, location, fetched.sources)
        return [resource_id for resource_id, _ in located]

    def _disks(
        self, subscription: AzureSubscription
    ) -> tuple[dict[str, _DiskState] | None, Reason | None, tuple[Source, ...]]:
        what, failed_list = self.unlisted(subscription, DISK_TYPE, ())
        failures: list[Unreadable] = []

        def failed(unreadable: Unreadable) -> None:
            failed_list(unreadable)
            failures.append(unreadable)

        found = self.read_items(
            what,
            subscription.resource_id,
            DISK_TYPE,
            lambda hook: self.compute(subscription.id).disks.list(raw_response_hook=hook),
            Disk,
            lambda model: (fields.resource_id(model, msg("the disk")), _disk_state(model)),
            item=msg("a disk of subscription {subscription} could not be read", subscription=subscription.id),
            list_subject=f"{subscription.resource_id}/providers/{DISK_TYPE}",
            populations=(),  # a disk is placed (or an `error`) in azure.resources by _locate_each
            failed=failed,
        )
        if found is None:
            return None, (failures[0].reason if failures else what), ()
        states, fetched = found
        self._locate_each(fetched, DISK_TYPE, subscription)
        return {disk_id.lower(): state for disk_id, state in states}, None, fetched.sources

    def _patch_assessments(self, listed: list[_ListedVm]) -> None:
        population = self.population(PATCH_ASSESSMENTS)
        if not listed:
            return
        subscriptions = sorted({entry.vm.subscription_id for entry in listed})
        self.context.progress(
            f"azure: reading Update Manager patch assessments of {len(listed)} VM(s) from Resource Graph"
        )
        failures: list[Unreadable] = []
        fetched = self.read_with(
            msg("patch assessments could not be read from Resource Graph (patchassessmentresources)"),
            lambda: _graph_rows(ResourceGraph(self.arm).query(PATCH_QUERY, subscriptions)),
            failed=failures.append,
        )
        if fetched is None:
            for entry in listed:
                population.add(unobservable(entry.vm.id, failures[0].reason, entry.sources))
            return
        summaries, patches = split_patch_rows(fetched.value)
        for entry in listed:
            key = entry.vm.id.lower()
            fact = patch_assessment(entry, summaries.get(key), patches.get(key, []))
            population.add(observed(entry.vm.id, fact, (*entry.sources, *fetched.sources)))


def _id_and_location(model: Any) -> tuple[str, str | None]:
    """Return the id and region of any listed resource (what clause 8 needs of it)."""
    return fields.resource_id(model), fields.text(model, "location", "location", nested=False)


def _graph_rows(result: GraphRows) -> Fetched:
    return Fetched(result.rows, result.sources)
