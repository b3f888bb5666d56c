"""Network and compute collectors in-process against the HTTPS ARM emulator (real SDK clients).

The emulator serves demo/estate/network_compute.json (and Microsoft's example responses); the
tests check the facts, that a failed list or query makes exactly its own subjects `error`, that
every resource is located for clause 8, and that the Resource Graph path gives the same facts.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.base import AzureContext
from collectors.azure.compute import ComputeCollector
from collectors.azure.facts import (
    AZURE_RESOURCES,
    NSGS,
    PATCH_ASSESSMENTS,
    VMS,
    LocatedResource,
    NetworkSecurityGroup,
    PatchAssessment,
    VirtualMachine,
)
from collectors.azure.network import NetworkCollector
from collectors.azure.resource_graph import GraphInventory, ResourceGraph, inventory_query
from collectors.azure.subscriptions import AzureSubscription
from collectors.config.inventory import AzureSource
from collectors.config.policy import Policy
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from controls import test_12b_trusted_networks as c12b
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12g_azure_vm_patching as c12g
from demo.standins.arm_emulator import ArmEmulator, Fault
from reports.evidence import Message, msg
from tests.audit_runs import DEMO, SUB_DEV, SUB_PROD
from tests.control_calls import verdict
from tests.test_azure_fail_closed import messages_in

pytestmark = pytest.mark.integration

FRAGMENT = DEMO / "estate" / "network_compute.json"
EXAMPLES = Path(__file__).parent / "fixtures" / "azure-examples"
SUB_EXAMPLE = "00000000-0000-0000-0000-000000000000"
RUN_DATE = date(2026, 11, 29)
DEMO_POLICY = Policy(trusted_networks=["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"])
LISTED_TYPES = (*NetworkCollector.listed_types, *ComputeCollector.listed_types)


def _subscription(sub_id: str, name: str) -> AzureSubscription:
    return AzureSubscription(id=sub_id, name=name, state="Enabled", tenant_id=None)


DEMO_SUBSCRIPTIONS = [
    _subscription(SUB_PROD, "Lucrasoft Production"),
    _subscription(SUB_DEV, "Lucrasoft Development"),
]


def _estate_subscription(sub_id: str, name: str) -> dict[str, str]:
    return {
        "id": f"/subscriptions/{sub_id}",
        "subscriptionId": sub_id,
        "displayName": name,
        "state": "Enabled",
    }


def demo_estate(drop: Callable[[dict[str, Any]], bool] = lambda _: False) -> dict[str, Any]:
    """The network/compute demo fragment with its two subscriptions, minus the resources `drop` names."""
    resources = json.loads(FRAGMENT.read_text(encoding="utf-8"))["resources"]
    return {
        "subscriptions": [_estate_subscription(s.id, s.name) for s in DEMO_SUBSCRIPTIONS],
        "resources": [r for r in resources if not drop(r)],
    }


def collect(
    estate: dict[str, Any],
    subscriptions: Sequence[AzureSubscription] = DEMO_SUBSCRIPTIONS,
    *,
    faults: Sequence[Fault] = (),
    graph: bool = False,
) -> tuple[FactStore, ArmEmulator]:
    """Run both collectors against an emulator serving `estate` (pages of two) and return the facts."""
    with ArmEmulator(estate, page_size=2, faults=faults) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        try:
            store = FactStore()
            context = AzureContext(arm=arm, store=store, progress=lambda line: None)
            if graph:
                rows = ResourceGraph(arm).query(inventory_query(LISTED_TYPES), [s.id for s in subscriptions])
                context.inventory = GraphInventory(LISTED_TYPES, rows)
            NetworkCollector(context).collect(list(subscriptions))
            ComputeCollector(context).collect(list(subscriptions))
        finally:
            arm.close()
    return store, emulator


@pytest.fixture(scope="module")
def demo_store() -> FactStore:
    """The facts of the demo fragment read through ARM."""
    return collect(demo_estate())[0]


def subjects(store: FactStore, population: str) -> dict[str, Subject[Any]]:
    """Return the subjects of a population keyed by the last segment of their id."""
    return {s.id.rsplit("/", 1)[-1]: s for s in store.population(population).subjects}


def facts(store: FactStore, population: str) -> dict[str, Any]:
    """Return the facts of a population keyed by the last segment of their id (errors excluded)."""
    return {key: s.fact for key, s in subjects(store, population).items() if s.fact is not None}


def status(control: Callable[..., None], fact: object, **arguments: Any) -> str:
    """Return the status the framework gives a control's outcome on one fact."""
    return verdict(control, fact, **arguments).status


# --- facts ----------------------------------------------------------------------------------------


def test_nsgs_carry_custom_and_default_rules_from_both_field_forms(demo_store: FactStore) -> None:
    nsgs: dict[str, NetworkSecurityGroup] = facts(demo_store, NSGS)
    assert sorted(nsgs) == ["nsg-legacy", "nsg-synda", "nsg-test", "nsg-web"]
    test = {r.name: r for r in nsgs["nsg-test"].rules}
    assert test["allow-web-and-rdp"].destination_port_ranges == ("80", "443", "3389")
    assert test["allow-web-and-rdp"].source_prefixes == ("Internet",)
    assert test["allow-ssh-partners"].source_prefixes == ("198.51.100.0/24", "233.252.0.0/24")
    assert test["allow-ssh-partners"].destination_port_ranges == ("22",)
    assert (test["allow-ssh-partners"].priority, test["allow-ssh-partners"].protocol) == (110, "Tcp")
    defaults = [r.name for r in nsgs["nsg-test"].rules if r.is_default]
    assert defaults == [
        "AllowVnetInBound",
        "AllowAzureLoadBalancerInBound",
        "DenyAllInBound",
        "AllowVnetOutBound",
        "AllowInternetOutBound",
        "DenyAllOutBound",
    ]
    synda = {r.name: r for r in nsgs["nsg-synda"].rules}
    assert synda["allow-postgres-app"].source_prefixes == ()
    assert synda["allow-postgres-app"].source_application_security_groups[0].endswith("/asg-synda-app")
    assert (synda["deny-ssh-all"].access, synda["deny-ssh-all"].direction) == ("Deny", "Inbound")


def test_nsg_attachments_resolve_vms_and_public_ips(demo_store: FactStore) -> None:
    nsgs: dict[str, NetworkSecurityGroup] = facts(demo_store, NSGS)
    web = nsgs["nsg-web"]
    assert [s.rsplit("/", 1)[-1] for s in web.subnet_ids] == ["snet-web"]
    assert web.network_interface_ids == ()
    assert [i.via_subnet is not None for i in web.interfaces or ()] == [True]
    assert [v.rsplit("/", 1)[-1] for v in web.virtual_machine_ids or ()] == ["vm-web-01"]
    assert [p.rsplit("/", 1)[-1] for p in web.public_ip_address_ids or ()] == ["pip-vm-web-01"]
    synda = nsgs["nsg-synda"]
    assert [v.rsplit("/", 1)[-1] for v in synda.virtual_machine_ids or ()] == ["vm-synda-01"]
    assert synda.public_ip_address_ids == ()
    legacy = nsgs["nsg-legacy"]
    assert (legacy.subnet_ids, legacy.network_interface_ids, legacy.interfaces) == ((), (), ())


def test_vms_carry_encryption_at_host_and_the_encryption_of_every_disk(demo_store: FactStore) -> None:
    vms: dict[str, VirtualMachine] = facts(demo_store, VMS)
    assert sorted(vms) == [
        "vm-legacy-01",
        "vm-legacy-02",
        "vm-synda-01",
        "vm-test-01",
        "vm-test-02",
        "vm-web-01",
    ]
    web = vms["vm-web-01"]
    assert (web.encryption_at_host, web.os_type, web.location) == (True, "Windows", "westeurope")
    os_disk, data_disk = web.disks
    assert (os_disk.role, os_disk.encryption_type, os_disk.disk_encryption_set_id) == (
        "OS disk",
        "EncryptionAtRestWithPlatformKey",
        None,
    )
    assert data_disk.role == "data disk (LUN 0)"
    assert data_disk.encryption_type == "EncryptionAtRestWithCustomerKey"
    assert (data_disk.disk_encryption_set_id or "").endswith("/diskEncryptionSets/des-prod-weu")
    assert all(d.missing is None and d.storage == "managed" for d in web.disks)
    assert vms["vm-test-01"].encryption_at_host is False, "securityProfile without encryptionAtHost means off"
    assert vms["vm-legacy-01"].encryption_at_host is False, "no securityProfile at all means off"
    assert vms["vm-legacy-01"].disks[0].ade_enabled is True
    assert vms["vm-synda-01"].location == "northeurope"


def test_patch_assessments_separate_summaries_from_patches(demo_store: FactStore) -> None:
    assessments: dict[str, PatchAssessment] = facts(demo_store, PATCH_ASSESSMENTS)
    assert sorted(assessments) == sorted(facts(demo_store, VMS))
    web = assessments["vm-web-01"]
    assert (web.assessed, web.status, web.security_count, web.critical_count) == (True, "Succeeded", 1, 0)
    assert web.last_modified is not None
    assert web.last_modified.isoformat().startswith("2026-11-28T02:14:37")
    assert [(p.kb_id, p.classifications) for p in web.patches] == [
        ("5071001", ("Security",)),
        ("2267602", ("Definition",)),
    ]
    assert web.patches[0].published is not None
    assert web.patches[0].published.date() == date(2026, 11, 20)
    assert (web.patch_mode, web.assessment_mode) == ("AutomaticByPlatform", "AutomaticByPlatform")
    assert assessments["vm-test-02"].assessed is False
    assert assessments["vm-test-02"].assessment_mode == "ImageDefault"
    failed = assessments["vm-legacy-02"]
    assert failed.status == "Failed"
    assert failed.error == msg(
        "{message} (code {code})",
        message="Package manager on machine is not healthy: repository 'rhel-8-appstream' returned HTTP 403",
        code="PackageManagerFailure",
    ), "Azure's own words and code are plain parameters of the catalog's"
    linux = assessments["vm-synda-01"]
    assert [p.published for p in linux.patches] == [None, None]
    assert [p.version for p in linux.patches] == ["2.39-0ubuntu8.7", "2026c-0ubuntu0.24.04"]


def test_every_collected_resource_is_located(demo_store: FactStore) -> None:
    resources = json.loads(FRAGMENT.read_text(encoding="utf-8"))["resources"]
    wanted = {
        r["id"].lower(): r["location"]
        for r in resources
        if r["type"]
        in (
            "Microsoft.Network/networkSecurityGroups",
            "Microsoft.Network/networkInterfaces",
            "Microsoft.Compute/virtualMachines",
            "Microsoft.Compute/disks",
            "Microsoft.Compute/diskEncryptionSets",
        )
    }
    located = {
        s.id.lower(): s.fact
        for s in demo_store.population(AZURE_RESOURCES).subjects
        if isinstance(s.fact, LocatedResource)
    }
    assert {k: v.location for k, v in located.items()} == wanted
    assert not [s for s in demo_store.population(AZURE_RESOURCES).subjects if s.error]


def test_demo_fragment_passes_in_production_and_fails_in_development_on_purpose(
    demo_store: FactStore,
) -> None:
    controls: list[tuple[str, Callable[..., None], dict[str, Any]]] = [
        (NSGS, c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks, {"policy": DEMO_POLICY}),
        (VMS, c12e.test_vm_disks_are_encrypted_as_policy_requires, {"policy": DEMO_POLICY}),
        (
            PATCH_ASSESSMENTS,
            c12g.test_vm_is_assessed_and_has_no_overdue_security_patches,
            {"policy": DEMO_POLICY, "run_date": RUN_DATE},
        ),
    ]
    verdicts = {
        (population, key): status(control, fact, **arguments)
        for population, control, arguments in controls
        for key, fact in facts(demo_store, population).items()
    }
    assert verdicts == {
        (NSGS, "nsg-web"): "pass",
        (NSGS, "nsg-synda"): "pass",
        (NSGS, "nsg-test"): "fail",
        (NSGS, "nsg-legacy"): "fail",
        (VMS, "vm-web-01"): "pass",
        (VMS, "vm-synda-01"): "pass",
        (VMS, "vm-test-01"): "fail",
        (VMS, "vm-test-02"): "pass",
        (VMS, "vm-legacy-01"): "fail",
        (VMS, "vm-legacy-02"): "pass",
        (PATCH_ASSESSMENTS, "vm-web-01"): "pass",
        (PATCH_ASSESSMENTS, "vm-synda-01"): "pass",
        (PATCH_ASSESSMENTS, "vm-test-01"): "fail",
        (PATCH_ASSESSMENTS, "vm-test-02"): "fail",
        (PATCH_ASSESSMENTS, "vm-legacy-01"): "fail",
        (PATCH_ASSESSMENTS, "vm-legacy-02"): "fail",
    }
    cmk = DEMO_POLICY.model_copy(update={"vm_disk_encryption": "cmk"})
    ade = DEMO_POLICY.model_copy(update={"vm_disk_encryption": "ade"})
    vms = facts(demo_store, VMS)
    assert {
        k
        for k, v in vms.items()
        if status(c12e.test_vm_disks_are_encrypted_as_policy_requires, v, policy=cmk) == "pass"
    } == {"vm-synda-01"}
    assert {
        k
        for k, v in vms.items()
        if status(c12e.test_vm_disks_are_encrypted_as_policy_requires, v, policy=ade) == "pass"
    } == {"vm-legacy-01"}


# --- failures -------------------------------------------------------------------------------------


def test_forbidden_nsg_list_makes_exactly_that_subscriptions_nsgs_error() -> None:
    forbidden = Fault(
        path=rf"^/subscriptions/{SUB_DEV}/providers/Microsoft.Network/networkSecurityGroups$", status=403
    )
    store, _ = collect(demo_estate(), faults=[forbidden])
    nsgs = store.population(NSGS).subjects
    errors = [s for s in nsgs if s.error]
    assert [s.id for s in errors] == [
        f"/subscriptions/{SUB_DEV}/providers/Microsoft.Network/networkSecurityGroups"
    ]
    assert "HTTP 403 AuthorizationFailed" in english_text(errors[0].error or "")
    assert sorted(s.id.rsplit("/", 1)[-1] for s in nsgs if s.fact) == ["nsg-synda", "nsg-web"]
    located_errors = [s.id for s in store.population(AZURE_RESOURCES).subjects if s.error]
    assert located_errors == [errors[0].id]
    assert len(facts(store, VMS)) == 6


def test_forbidden_nic_list_keeps_the_rules_but_makes_attachments_unknown() -> None:
    forbidden = Fault(
        path=rf"^/subscriptions/{SUB_PROD}/providers/Microsoft.Network/networkInterfaces$", status=403
    )
    store, _ = collect(demo_estate(), faults=[forbidden])
    nsgs: dict[str, NetworkSecurityGroup] = facts(store, NSGS)
    web = nsgs["nsg-web"]
    assert web.interfaces is None
    assert web.virtual_machine_ids is None
    assert web.interfaces_error == msg(
        "network interfaces of subscription {subscription} could not be listed, so the VMs "
        "and public IPs behind this NSG are unknown",
        subscription=SUB_PROD,
    )
    assert web.subnet_ids, "the NSG's own back-references are still known"
    assert (
        status(c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks, web, policy=DEMO_POLICY)
        == "pass"
    )
    assert nsgs["nsg-test"].virtual_machine_ids is not None
    assert [s.id for s in store.population(AZURE_RESOURCES).subjects if s.error] == [
        f"/subscriptions/{SUB_PROD}/providers/Microsoft.Network/networkInterfaces"
    ]


def test_unreadable_nic_makes_the_nsgs_attachments_incomplete_with_a_message_naming_the_subscription() -> (
    None
):
    estate = demo_estate()
    [nic] = [
        r
        for r in estate["resources"]
        if r["type"] == "Microsoft.Network/networkInterfaces" and r["id"].endswith("/nic-vm-web-01")
    ]
    nic["properties"]["ipConfigurations"] = "broken"
    store, _ = collect(estate)
    web: NetworkSecurityGroup = facts(store, NSGS)["nsg-web"]
    assert web.interfaces is not None
    assert web.interfaces_error == msg(
        "a network interface of subscription {subscription} could not be read, so the VMs "
        "and public IPs behind this NSG may be incomplete",
        subscription=SUB_PROD,
    )


def test_forbidden_vm_list_errors_the_vms_and_patch_assessments_of_that_subscription() -> None:
    forbidden = Fault(
        path=rf"^/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines$", status=403
    )
    store, _ = collect(demo_estate(), faults=[forbidden])
    subject = f"/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines"
    for population in (VMS, PATCH_ASSESSMENTS):
        items = store.population(population).subjects
        assert [s.id for s in items if s.error] == [subject]
        assert all(SUB_DEV in s.id for s in items if s.fact), "development VMs are unaffected"
        assert len([s for s in items if s.fact]) == 4


def test_forbidden_disk_list_makes_disk_encryption_unknown_not_passing() -> None:
    forbidden = Fault(path=rf"^/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/disks$", status=403)
    store, _ = collect(demo_estate(), faults=[forbidden])
    vms: dict[str, VirtualMachine] = facts(store, VMS)
    synda = vms["vm-synda-01"]
    assert all(d.missing and "HTTP 403" in english_text(d.missing) for d in synda.disks)
    reason = synda.disks[0].missing
    assert all(d.missing == reason for d in synda.disks)
    assert isinstance(reason, Message), (
        "the disks' reason is a catalog message, Azure's answer a parameter of it"
    )
    assert SUB_PROD in english_text(reason)
    cmk = DEMO_POLICY.model_copy(update={"vm_disk_encryption": "cmk"})
    check = c12e.test_vm_disks_are_encrypted_as_policy_requires
    assert status(check, synda, policy=cmk) == "error"
    assert status(check, synda, policy=DEMO_POLICY) == "pass", "host mode needs no disk"
    assert status(check, vms["vm-legacy-01"], policy=DEMO_POLICY) == "fail"
    assert [s.id for s in store.population(AZURE_RESOURCES).subjects if s.error] == [
        f"/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/disks"
    ]


def test_disk_missing_from_the_disk_list_is_recorded_on_its_vm() -> None:
    store, _ = collect(demo_estate(drop=lambda r: r["name"] == "vm-web-01_data_0"))
    web: VirtualMachine = facts(store, VMS)["vm-web-01"]
    assert web.disks[0].missing is None
    data_disk = web.disks[1]
    assert data_disk.missing == msg(
        "{role} {disk} is not in the disk list of its subscription",
        role="data disk (LUN 0)",
        disk=data_disk.id,
    )
    only_missing = dataclasses.replace(web, disks=(data_disk,))
    cmk_only = verdict(
        c12e.test_vm_disks_are_encrypted_as_policy_requires,
        only_missing,
        policy=DEMO_POLICY.model_copy(update={"vm_disk_encryption": "cmk"}),
    )
    assert cmk_only.status == "error"
    assert data_disk.missing in messages_in(cmk_only.finding), "the finding keeps the collector's message"
    cmk = DEMO_POLICY.model_copy(update={"vm_disk_encryption": "cmk"})
    assert status(c12e.test_vm_disks_are_encrypted_as_policy_requires, web, policy=cmk) == "fail", (
        "the OS disk is platform-managed: a known failure beats the missing disk"
    )
    synda = store.population(VMS).subjects
    assert all(s.fact for s in synda)


def test_failed_resource_graph_query_makes_every_patch_assessment_an_error() -> None:
    forbidden = Fault(path=r"^/providers/Microsoft.ResourceGraph/resources$", status=403, method="POST")
    store, _ = collect(demo_estate(), faults=[forbidden])
    items = store.population(PATCH_ASSESSMENTS).subjects
    assert len(items) == 6
    assert all(
        s.error and "Resource Graph" in english_text(s.error) and "HTTP 403" in english_text(s.error)
        for s in items
    )
    assert len(facts(store, VMS)) == 6


# --- Resource Graph path ---------------------------------------------------------------------------


def test_resource_graph_inventory_gives_the_same_facts(demo_store: FactStore) -> None:
    store, emulator = collect(demo_estate(), graph=True)
    for population in (NSGS, VMS, PATCH_ASSESSMENTS, AZURE_RESOURCES):
        arm_facts = {s.id: s.fact for s in demo_store.population(population).subjects}
        graph_facts = {s.id: s.fact for s in store.population(population).subjects}
        assert graph_facts == arm_facts, population
    listed = ("networksecuritygroups", "networkinterfaces", "virtualmachines", "disks", "diskencryptionsets")
    arm_lists = [r.path for r in emulator.requests if r.method == "GET" and r.path.lower().endswith(listed)]
    assert arm_lists == [], "with an inventory nothing is listed through ARM"
    queries = [r for r in emulator.requests if r.method == "POST"]
    assert len(queries) == 2, "one inventory query and one patch assessment query"


# --- Microsoft's example responses -----------------------------------------------------------------


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))["responses"]["200"]["body"]


def microsoft_estate() -> dict[str, Any]:
    """Microsoft's NSG, disk and VM example responses, moved onto one subscription."""
    nsgs = _example("network/NetworkSecurityGroupListAll.json")["value"]
    rg1 = f"/subscriptions/{SUB_EXAMPLE}/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups"
    defaults = json.loads(
        json.dumps(nsgs[0]["properties"]["defaultSecurityRules"]).replace("/nsg1/", "/testnsg/")
    )
    testnsg = {
        "id": f"{rg1}/testnsg",
        "name": "testnsg",
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westus",
        "properties": {
            "securityRules": _example("network/NetworkSecurityGroupRuleList.json")["value"],
            "defaultSecurityRules": defaults,
            "provisioningState": "Succeeded",
        },
    }
    disks = _example("compute/Disk_ListBySubscription.json")
    assert disks["nextLink"].startswith("http://"), "the example's nextLink is unusable and is dropped"
    disk_text = json.dumps(disks["value"]).replace("{subscriptionId}", SUB_EXAMPLE)
    vm_text = json.dumps(_example("compute/VirtualMachine_Create_WithEncryptionAtHost.json"))
    return {
        "subscriptions": [_estate_subscription(SUB_EXAMPLE, "Example")],
        "resources": [
            *nsgs,
            testnsg,
            *json.loads(disk_text),
            json.loads(vm_text.replace("{subscription-id}", SUB_EXAMPLE)),
        ],
    }


def test_microsoft_examples_give_the_expected_verdicts() -> None:
    store, _ = collect(microsoft_estate(), [_subscription(SUB_EXAMPLE, "Example")])
    nsgs: dict[str, NetworkSecurityGroup] = facts(store, NSGS)
    assert sorted(nsgs) == ["nsg1", "nsg3", "testnsg"]
    assert all(len([r for r in n.rules if r.is_default]) == 6 for n in nsgs.values())
    check_nsg = c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks
    # Default rules only: AllowVnetInBound and AllowAzureLoadBalancerInBound come from trusted tags.
    assert status(check_nsg, nsgs["nsg1"], policy=DEMO_POLICY) == "pass"
    assert status(check_nsg, nsgs["nsg3"], policy=DEMO_POLICY) == "pass"
    # NetworkSecurityGroupRuleList: rule1 admits * to port 80, which is not a sensitive port...
    rule1 = next(r for r in nsgs["testnsg"].rules if r.name == "rule1")
    assert (rule1.source_prefixes, rule1.destination_port_ranges, rule1.is_default) == (
        ("*",),
        ("80",),
        False,
    )
    assert status(check_nsg, nsgs["testnsg"], policy=DEMO_POLICY) == "pass"
    # ...unless the policy makes it one.
    web_ports = DEMO_POLICY.model_copy(update={"sensitive_ports": [22, 80]})
    assert status(check_nsg, nsgs["testnsg"], policy=web_ports) == "fail"
    # VirtualMachine_Create_WithEncryptionAtHost: encryptionAtHost true; its managed OS disk has no id.
    vm: VirtualMachine = facts(store, VMS)["myVM"]
    assert vm.encryption_at_host is True
    assert vm.os_type == "Windows"
    assert "no managed disk id" in english_text(vm.disks[0].missing or "")
    check_vm = c12e.test_vm_disks_are_encrypted_as_policy_requires
    assert status(check_vm, vm, policy=DEMO_POLICY) == "pass"
    assert (
        status(check_vm, vm, policy=DEMO_POLICY.model_copy(update={"vm_disk_encryption": "cmk"})) == "error"
    )
    # No assessment rows exist for the example VM: the patch control fails it.
    assessment: PatchAssessment = facts(store, PATCH_ASSESSMENTS)["myVM"]
    assert assessment.assessed is False
    check_patch = c12g.test_vm_is_assessed_and_has_no_overdue_security_patches
    assert status(check_patch, assessment, policy=DEMO_POLICY, run_date=RUN_DATE) == "fail"
    # Disk_ListBySubscription: three disks in westus, located for clause 8 (the example's http nextLink dropped).
    located = [
        s.fact for s in store.population(AZURE_RESOURCES).subjects if isinstance(s.fact, LocatedResource)
    ]
    disks = [r for r in located if r.type == "Microsoft.Compute/disks"]
    assert sorted(r.id.rsplit("/", 1)[-1] for r in disks) == [
        "myManagedDisk1",
        "myManagedDisk2",
        "myManagedDisk3",
    ]
    assert {r.location for r in located} == {"westus"}
