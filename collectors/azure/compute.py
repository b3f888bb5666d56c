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

from azure.core.exceptions import AzureError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Disk, DiskEncryptionSet
from azure.mgmt.compute.models import VirtualMachine as VmModel

from collectors.azure.arm import describe_failure
from collectors.azure.base import AZURE_RESOURCES, AzureCollector, prop, resource_group_of, text_of
from collectors.azure.resource_graph import GraphRows, ResourceGraph
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.provenance import Source
from collectors.regions import normalise_region

VMS = "azure.vms"
PATCH_ASSESSMENTS = "azure.vm_patch_assessments"
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
class VmDisk:
    """One OS or data disk of a VM and how it is encrypted at rest.

    `storage` is "managed" (a Microsoft.Compute/disks resource), "unmanaged" (a VHD blob) or
    "ephemeral" (an OS disk on the host's local storage, no disk resource). `missing` says why a
    managed disk's encryption is unknown (not in the disk list, or the list was unreadable).
    """

    role: str
    name: str
    id: str | None
    storage: str
    encryption_type: str | None
    disk_encryption_set_id: str | None
    ade_enabled: bool
    missing: str | None = None


@dataclass(frozen=True)
class VirtualMachine:
    """A virtual machine, its encryption at host switch and the encryption of its disks."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    os_type: str | None
    encryption_at_host: bool
    security_type: str | None
    disks: tuple[VmDisk, ...]


@dataclass(frozen=True)
class AvailablePatch:
    """A patch the latest assessment found available (not installed) on a VM."""

    name: str
    kb_id: str | None
    version: str | None
    classifications: tuple[str, ...]
    published: datetime | None
    """When the publisher released it; None when not reported (Linux repositories often do not)."""


@dataclass(frozen=True)
class PatchAssessment:
    """The latest Update Manager patch assessment of one VM, or its absence (`assessed` False)."""

    vm_id: str
    vm_name: str
    os_type: str | None
    patch_mode: str | None
    assessment_mode: str | None
    assessed: bool
    status: str | None = None
    last_modified: datetime | None = None
    critical_count: int | None = None
    security_count: int | None = None
    error: str | None = None
    patches: tuple[AvailablePatch, ...] = ()


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


def _error_text(details: Any) -> str | None:
    """Return the message of a patch summary's errorDetails, None when it reports no error."""
    if not isinstance(details, Mapping):
        return _text(details)
    message = _text(details.get("message"))
    code = _text(details.get("code"))
    if message:
        return f"{message} (code {code})" if code and code != "0" else message
    return f"error code {code}" if code and code != "0" else None


def _disk_state(model: Any) -> _DiskState:
    encryption = prop(model, "encryption")
    collection = prop(model, "encryption_settings_collection")
    return _DiskState(
        encryption_type=text_of(getattr(encryption, "type", None)) if encryption is not None else None,
        disk_encryption_set_id=text_of(getattr(encryption, "disk_encryption_set_id", None))
        if encryption is not None
        else None,
        ade_enabled=bool(getattr(collection, "enabled", False)) if collection is not None else False,
    )


def vm_disk(
    role: str,
    profile: Any,
    disks: Mapping[str, _DiskState] | None,
    disks_error: str | None,
    vm_ade_enabled: bool = False,
) -> VmDisk:
    """Return one disk of a VM from its storage profile entry and the subscription's disk list.

    `disks` maps lower-cased managed disk ids to their encryption (None when the disk list could
    not be read, `disks_error` saying why); `vm_ade_enabled` is the VM-level (legacy) ADE switch
    of the OS disk.
    """
    name = str(getattr(profile, "name", None) or "")
    managed = getattr(profile, "managed_disk", None)
    referenced_set = getattr(managed, "disk_encryption_set", None) if managed is not None else None
    set_id = (
        str(referenced_set.id) if referenced_set is not None and getattr(referenced_set, "id", None) else None
    )
    diff = getattr(profile, "diff_disk_settings", None)
    if diff is not None and text_of(getattr(diff, "option", None)):
        return VmDisk(role, name, None, "ephemeral", None, set_id, False)
    vhd = getattr(profile, "vhd", None)
    if managed is None and vhd is not None:
        return VmDisk(
            role, name or str(getattr(vhd, "uri", "")), None, "unmanaged", None, None, vm_ade_enabled
        )
    disk_id = str(managed.id) if managed is not None and getattr(managed, "id", None) else None
    if disk_id is None:
        reason = f"the VM reports no managed disk id for {role} {name or '(unnamed)'}"
        return VmDisk(role, name, None, "managed", None, set_id, vm_ade_enabled, missing=reason)
    if disks is None:
        return VmDisk(role, name, disk_id, "managed", None, set_id, vm_ade_enabled, missing=disks_error)
    state = disks.get(disk_id.lower())
    if state is None:
        reason = f"{role} {disk_id} is not in the disk list of its subscription"
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


def _patch_settings(model: Any) -> tuple[str | None, str | None]:
    """Return the VM's (patchMode, assessmentMode) from its Windows or Linux configuration."""
    profile = prop(model, "os_profile")
    for configuration in ("windows_configuration", "linux_configuration"):
        settings = getattr(getattr(profile, configuration, None), "patch_settings", None)
        if settings is not None:
            return text_of(getattr(settings, "patch_mode", None)), text_of(
                getattr(settings, "assessment_mode", None)
            )
    return None, None


def virtual_machine(
    subscription: AzureSubscription,
    model: Any,
    disks: Mapping[str, _DiskState] | None,
    disks_error: str | None,
) -> VirtualMachine:
    """Return the fact of one VM, its disks matched against the subscription's disk list."""
    storage = prop(model, "storage_profile")
    os_disk = getattr(storage, "os_disk", None)
    security = prop(model, "security_profile")
    encryption_settings = getattr(os_disk, "encryption_settings", None)
    vm_ade = (
        bool(getattr(encryption_settings, "enabled", False)) if encryption_settings is not None else False
    )
    vm_disks: list[VmDisk] = []
    if os_disk is not None:
        vm_disks.append(vm_disk("OS disk", os_disk, disks, disks_error, vm_ade))
    for data in getattr(storage, "data_disks", None) or ():
        lun = getattr(data, "lun", None)
        vm_disks.append(vm_disk(f"data disk (LUN {lun})", data, disks, disks_error))
    os_type = text_of(getattr(os_disk, "os_type", None))
    return VirtualMachine(
        id=str(model.id),
        name=str(model.name),
        subscription_id=subscription.id,
        resource_group=resource_group_of(str(model.id)),
        location=normalise_region(str(model.location or "unknown")),
        os_type=os_type,
        encryption_at_host=bool(getattr(security, "encryption_at_host", None)) if security else False,
        security_type=text_of(getattr(security, "security_type", None)) if security else None,
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
    """Return one software-patch row of the assessment."""
    properties = _properties(row)
    classifications = properties.get("classifications")
    return AvailablePatch(
        name=_text(properties.get("patchName"))
        or str(row.get("name") or row.get("id", "")).rsplit("/", 1)[-1],
        kb_id=_text(properties.get("kbId")),
        version=_text(properties.get("version")),
        classifications=tuple(str(c) for c in classifications) if isinstance(classifications, list) else (),
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
            sorted((available_patch(r) for r in patch_rows), key=lambda p: (p.name.lower(), p.kb_id or ""))
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
        try:
            fetched = self.listing(
                subscription.resource_id,
                VM_TYPE,
                lambda hook: self.compute(subscription.id).virtual_machines.list_all(raw_response_hook=hook),
                VmModel,
            )
        except AzureError as exc:
            self.could_not_list(subscription, VM_TYPE, exc, (VMS, PATCH_ASSESSMENTS))
            return []
        listed = []
        for model in fetched.value:
            vm = virtual_machine(subscription, model, disks, disks_error)
            self.locate(vm.id, VM_TYPE, vm.location, fetched.sources)
            patch_mode, assessment_mode = _patch_settings(model)
            listed.append(_ListedVm(vm, patch_mode, assessment_mode, (*fetched.sources, *disk_sources)))
        return listed

    def _encryption_sets(self, subscription: AzureSubscription) -> None:
        try:
            fetched = self.listing(
                subscription.resource_id,
                DISK_ENCRYPTION_SET_TYPE,
                lambda hook: self.compute(subscription.id).disk_encryption_sets.list(raw_response_hook=hook),
                DiskEncryptionSet,
            )
        except AzureError as exc:
            self.could_not_list(subscription, DISK_ENCRYPTION_SET_TYPE, exc, ())
            return
        for model in fetched.value:
            self.locate(str(model.id), DISK_ENCRYPTION_SET_TYPE, text_of(model.location), fetched.sources)

    def _disks(
        self, subscription: AzureSubscription
    ) -> tuple[dict[str, _DiskState] | None, str | None, tuple[Source, ...]]:
        try:
            fetched = self.listing(
                subscription.resource_id,
                DISK_TYPE,
                lambda hook: self.compute(subscription.id).disks.list(raw_response_hook=hook),
                Disk,
            )
        except AzureError as exc:
            self.could_not_list(subscription, DISK_TYPE, exc, ())
            reason = (
                f"the disks of subscription {subscription.id} could not be listed: {describe_failure(exc)}"
            )
            return None, reason, ()
        disks: dict[str, _DiskState] = {}
        for model in fetched.value:
            disks[str(model.id).lower()] = _disk_state(model)
            self.locate(str(model.id), DISK_TYPE, text_of(model.location), fetched.sources)
        return disks, None, fetched.sources

    def _patch_assessments(self, listed: list[_ListedVm]) -> None:
        population = self.population(PATCH_ASSESSMENTS)
        if not listed:
            return
        subscriptions = sorted({entry.vm.subscription_id for entry in listed})
        self.context.progress(
            f"azure: reading Update Manager patch assessments of {len(listed)} VM(s) from Resource Graph"
        )
        try:
            result: GraphRows = ResourceGraph(self.arm).query(PATCH_QUERY, subscriptions)
        except AzureError as exc:
            reason = (
                "patch assessments could not be read from Resource Graph (patchassessmentresources): "
                f"{describe_failure(exc)}"
            )
            for entry in listed:
                population.add(unobservable(entry.vm.id, reason, entry.sources))
            return
        summaries, patches = split_patch_rows(result.rows)
        for entry in listed:
            key = entry.vm.id.lower()
            fact = patch_assessment(entry, summaries.get(key), patches.get(key, []))
            population.add(observed(entry.vm.id, fact, (*entry.sources, *result.sources)))
