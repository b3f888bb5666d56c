"""Network and compute controls on literal facts: a failing configuration for every pass condition.

12b.azure-nsg-admin-ports (NSG rules), 12e.azure-vm-disk-encryption (VM disks per policy mode)
and 12g.azure-update-manager (patch assessments). The controls are reached through their
modules so that pytest does not collect them here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pytest

from collectors.azure.facts import (
    AttachedInterface,
    AvailablePatch,
    NetworkSecurityGroup,
    PatchAssessment,
    SecurityRule,
    VirtualMachine,
    VmDisk,
)
from collectors.config.policy import Policy
from controls import test_12b_trusted_networks as c12b
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12g_azure_vm_patching as c12g
from controls.framework import Evidence, Verdict
from tests.control_calls import verdict
from tests.nsg_facts import network_security_group, security_rule

TRUSTED = ["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]
RUN_DATE = date(2026, 11, 29)
SUB = "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-web/providers"
NSG_ID = f"{SUB}/Microsoft.Network/networkSecurityGroups/nsg-web"
VM_ID = f"{SUB}/Microsoft.Compute/virtualMachines/vm-web-01"
DES_ID = f"{SUB}/Microsoft.Compute/diskEncryptionSets/des-prod"
ASG_ID = f"{SUB}/Microsoft.Network/applicationSecurityGroups/asg-app"


# --- 12b.azure-nsg-admin-ports --------------------------------------------------------------------


def rule(
    name: str = "allow-in",
    *,
    sources: tuple[str, ...] = ("Internet",),
    ports: tuple[str, ...] = ("3389",),
    access: str = "Allow",
    direction: str = "Inbound",
    priority: int | None = 100,
    protocol: str = "Tcp",
    groups: tuple[str, ...] = (),
    destinations: tuple[str, ...] = ("*",),
    source_ports: tuple[str, ...] = ("*",),
    is_default: bool = False,
) -> SecurityRule:
    return security_rule(
        name,
        access,
        priority,
        direction=direction,
        protocol=protocol,
        source_prefixes=sources,
        source_application_security_groups=groups,
        source_port_ranges=source_ports,
        destination_prefixes=destinations,
        destination_port_ranges=ports,
        is_default=is_default,
    )


DEFAULT_RULES = (
    rule("AllowVnetInBound", sources=("VirtualNetwork",), ports=("*",), priority=65000, protocol="*",
         destinations=("VirtualNetwork",), is_default=True),
    rule("AllowAzureLoadBalancerInBound", sources=("AzureLoadBalancer",), ports=("*",), priority=65001,
         protocol="*", is_default=True),
    rule("DenyAllInBound", sources=("*",), ports=("*",), access="Deny", priority=65500, protocol="*",
         is_default=True),
    rule("AllowVnetOutBound", sources=("VirtualNetwork",), ports=("*",), direction="Outbound",
         priority=65000, protocol="*", is_default=True),
    rule("AllowInternetOutBound", sources=("*",), ports=("*",), direction="Outbound", priority=65001,
         protocol="*", is_default=True),
    rule("DenyAllOutBound", sources=("*",), ports=("*",), access="Deny", direction="Outbound",
         priority=65500, protocol="*", is_default=True),
)  # fmt: skip


def nsg(
    *rules: SecurityRule, nics: tuple[str, ...] = (), subnets: tuple[str, ...] = ()
) -> NetworkSecurityGroup:
    return network_security_group(
        *rules,
        *DEFAULT_RULES,
        id=NSG_ID,
        subscription_id="11111111-1111-4111-8111-111111111111",
        subnet_ids=subnets,
        network_interface_ids=nics,
        interfaces=tuple(
            AttachedInterface(n, VM_ID, (f"{SUB}/Microsoft.Network/publicIPAddresses/pip-1",), None)
            for n in nics
        ),
    )


def nsg_verdict(group: NetworkSecurityGroup, **policy: Any) -> Verdict:
    return verdict(
        c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks,
        group,
        policy=Policy(**{"trusted_networks": TRUSTED, **policy}),
    )


def test_nsg_with_only_default_rules_passes_with_the_default_trusted_tags() -> None:
    assert nsg_verdict(nsg()).status == "pass"


def test_default_load_balancer_rule_fails_when_its_tag_is_not_trusted() -> None:
    result = nsg_verdict(nsg(), trusted_service_tags=["VirtualNetwork"])
    assert result.status == "fail"
    assert "AllowAzureLoadBalancerInBound (default, priority 65001" in result.message
    assert "AzureLoadBalancer (service tag not in policy.trusted_service_tags)" in result.message


def test_nsg_rule_from_internet_to_rdp_fails() -> None:
    result = nsg_verdict(nsg(rule("allow-rdp", sources=("Internet",), ports=("3389",))))
    assert result.status == "fail"
    assert "allow-rdp (custom, priority 100, protocol Tcp) from Internet (the Internet) to port 3389" in (
        result.message
    )


@pytest.mark.parametrize("source", ["*", "Any", "0.0.0.0/0", "::/0", "internet"])
def test_nsg_rule_from_any_source_fails(source: str) -> None:
    assert nsg_verdict(nsg(rule(sources=(source,), ports=("22",)))).status == "fail"


def test_internet_stays_untrusted_even_when_listed_as_a_trusted_tag() -> None:
    result = nsg_verdict(
        nsg(rule(sources=("Internet",))), trusted_service_tags=["Internet", "VirtualNetwork"]
    )
    assert result.status == "fail"


def test_nsg_rule_from_untrusted_cidr_fails() -> None:
    result = nsg_verdict(nsg(rule("partner", sources=("233.252.0.0/24",), ports=("22",))))
    assert result.status == "fail"
    assert "233.252.0.0/24 (outside the trusted networks) to port 22" in result.message


def test_nsg_rule_from_cidr_partly_outside_the_trusted_networks_fails() -> None:
    assert nsg_verdict(nsg(rule(sources=("192.0.2.0/23",)))).status == "fail"


@pytest.mark.parametrize("source", ["192.0.2.0/24", "192.0.2.17", "203.0.113.128/25", "2001:db8:10::/48"])
def test_nsg_rule_from_trusted_address_passes(source: str) -> None:
    assert nsg_verdict(nsg(rule(sources=(source,), ports=("22", "3389")))).status == "pass"


def test_private_vnet_cidr_is_untrusted_unless_listed() -> None:
    assert nsg_verdict(nsg(rule(sources=("10.0.0.0/8",)))).status == "fail"
    assert nsg_verdict(nsg(rule(sources=("10.0.0.0/8",))), trusted_networks=["10.0.0.0/8"]).status == "pass"


def test_nsg_rule_from_untrusted_service_tag_fails() -> None:
    result = nsg_verdict(nsg(rule("winrm", sources=("AzureCloud",), ports=("5985-5986",))))
    assert result.status == "fail"
    assert "AzureCloud (service tag not in policy.trusted_service_tags) to ports 5985, 5986" in result.message


def test_trusted_service_tags_are_compared_without_case() -> None:
    assert nsg_verdict(nsg(rule(sources=("virtualnetwork",)))).status == "pass"


def test_nsg_rule_with_plural_port_ranges_fails() -> None:
    result = nsg_verdict(nsg(rule("web-and-rdp", sources=("Internet",), ports=("80", "443", "3389"))))
    assert result.status == "fail"
    assert "to port 3389" in result.message


def test_nsg_rule_with_plural_source_prefixes_fails_on_the_untrusted_one() -> None:
    result = nsg_verdict(nsg(rule("ssh", sources=("198.51.100.0/24", "233.252.0.0/24"), ports=("22",))))
    assert result.status == "fail"
    assert "233.252.0.0/24" in result.message
    assert "198.51.100.0/24" not in result.message


def test_nsg_rule_with_port_range_covering_a_sensitive_port_fails() -> None:
    result = nsg_verdict(nsg(rule("sql-range", sources=("0.0.0.0/0",), ports=("1400-1500",))))
    assert result.status == "fail"
    assert "to port 1433" in result.message


def test_nsg_rule_with_wildcard_port_lists_every_sensitive_port() -> None:
    result = nsg_verdict(nsg(rule(sources=("Internet",), ports=("*",))))
    assert result.status == "fail"
    assert "to ports 22, 1433, 3306, 3389, 5432, 5985, 5986" in result.message


def test_nsg_rule_from_internet_to_a_port_that_is_not_sensitive_passes() -> None:
    assert nsg_verdict(nsg(rule(sources=("Internet",), ports=("80", "443", "8000-8100")))).status == "pass"


def test_policy_sensitive_ports_decide_which_ports_count() -> None:
    group = nsg(rule(sources=("Internet",), ports=("8080",)))
    assert nsg_verdict(group).status == "pass"
    assert nsg_verdict(group, sensitive_ports=[22, 8080]).status == "fail"


def test_nsg_udp_rule_to_rdp_fails() -> None:
    result = nsg_verdict(nsg(rule(sources=("Internet",), ports=("3389",), protocol="Udp")))
    assert result.status == "fail"
    assert "protocol Udp" in result.message


@pytest.mark.parametrize("protocol", ["Icmp", "Esp", "Ah"])
def test_nsg_rule_for_a_protocol_without_ports_is_ignored(protocol: str) -> None:
    assert nsg_verdict(nsg(rule(sources=("Internet",), ports=("*",), protocol=protocol))).status == "pass"


def test_inbound_deny_rule_from_internet_passes() -> None:
    assert nsg_verdict(nsg(rule(access="Deny", sources=("Internet",), ports=("*",)))).status == "pass"


def test_outbound_allow_rule_is_not_inbound_exposure() -> None:
    assert nsg_verdict(nsg(rule(direction="Outbound", sources=("*",), ports=("22",)))).status == "pass"


def test_higher_priority_deny_shadows_a_later_allow() -> None:
    deny = rule("deny-ssh", access="Deny", sources=("*",), ports=("22",), protocol="*", priority=100)
    allow = rule("allow-ssh", sources=("Internet",), ports=("22",), priority=200)
    evidence = Evidence(None)
    c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks(
        nsg(deny, allow), policy=Policy(trusted_networks=TRUSTED), evidence=evidence
    )
    assert evidence.observations["shadowed_by_higher_priority_deny"] == ["allow-ssh"]


def test_lower_priority_deny_does_not_shadow_an_allow() -> None:
    deny = rule("deny-ssh", access="Deny", sources=("*",), ports=("22",), protocol="*", priority=300)
    allow = rule("allow-ssh", sources=("Internet",), ports=("22",), priority=200)
    assert nsg_verdict(nsg(deny, allow)).status == "fail"


def test_deny_covering_only_tcp_leaves_udp_exposed() -> None:
    deny = rule("deny-rdp-tcp", access="Deny", sources=("*",), ports=("3389",), protocol="Tcp", priority=100)
    allow = rule("allow-rdp", sources=("Internet",), ports=("3389",), protocol="*", priority=200)
    result = nsg_verdict(nsg(deny, allow))
    assert result.status == "fail"
    assert "to port 3389/udp" in result.message


def test_deny_covering_only_some_ports_leaves_the_others_exposed() -> None:
    deny = rule("deny-ssh", access="Deny", sources=("*",), ports=("22",), priority=100)
    allow = rule("allow-admin", sources=("Internet",), ports=("22", "3389"), priority=200)
    result = nsg_verdict(nsg(deny, allow))
    assert result.status == "fail"
    assert "to port 3389" in result.message
    assert "22" not in result.message.split("to port")[-1]


def test_deny_for_another_source_does_not_shadow() -> None:
    deny = rule("deny-partner", access="Deny", sources=("233.252.0.0/24",), ports=("22",), priority=100)
    allow = rule("allow-ssh", sources=("Internet",), ports=("22",), priority=200)
    assert nsg_verdict(nsg(deny, allow)).status == "fail"


def test_deny_of_the_same_tag_shadows() -> None:
    deny = rule("deny-internet", access="Deny", sources=("Internet",), ports=("*",), priority=100)
    allow = rule("allow-ssh", sources=("Internet",), ports=("22",), priority=200)
    assert nsg_verdict(nsg(deny, allow)).status == "pass"


def test_denies_whose_cidrs_together_cover_the_source_shadow() -> None:
    low = rule("deny-low", access="Deny", sources=("233.252.0.0/25",), ports=("22",), priority=100)
    high = rule("deny-high", access="Deny", sources=("233.252.0.128/25",), ports=("22",), priority=110)
    allow = rule("allow-ssh", sources=("233.252.0.0/24",), ports=("22",), priority=200)
    assert nsg_verdict(nsg(low, high, allow)).status == "pass"
    assert nsg_verdict(nsg(low, allow)).status == "fail"


def test_deny_limited_to_one_destination_does_not_shadow_an_allow_to_any_destination() -> None:
    deny = rule(
        "deny-ssh", access="Deny", sources=("*",), ports=("22",), destinations=("10.1.1.4",), priority=100
    )
    allow = rule("allow-ssh", sources=("Internet",), ports=("22",), priority=200)
    assert nsg_verdict(nsg(deny, allow)).status == "fail"


def test_deny_limited_to_some_source_ports_does_not_shadow() -> None:
    deny = rule(
        "deny-ssh", access="Deny", sources=("*",), ports=("22",), source_ports=("1024",), priority=100
    )
    allow = rule("allow-ssh", sources=("Internet",), ports=("22",), priority=200)
    assert nsg_verdict(nsg(deny, allow)).status == "fail"


def test_application_security_group_source_is_trusted_with_the_virtual_network() -> None:
    group = nsg(rule("postgres", sources=(), groups=(ASG_ID,), ports=("5432",)))
    assert nsg_verdict(group).status == "pass"
    result = nsg_verdict(group, trusted_service_tags=["AzureLoadBalancer"])
    assert result.status == "fail"
    assert "application security group asg-app" in result.message


def test_message_lists_each_offending_rule_and_the_attachment() -> None:
    group = nsg(
        rule("allow-rdp", sources=("Internet",), ports=("3389",), priority=100),
        rule("allow-sql", sources=("233.252.0.0/24",), ports=("1433",), priority=110),
        nics=(f"{SUB}/Microsoft.Network/networkInterfaces/nic-1",),
    )
    result = nsg_verdict(group)
    assert result.status == "fail"
    assert "2 inbound Allow rules" in result.message
    assert "allow-rdp" in result.message
    assert "allow-sql" in result.message
    assert "attached to 1 NIC, VM vm-web-01, 1 public IP in front" in result.message


def test_unattached_nsg_still_fails_and_says_it_is_unattached() -> None:
    result = nsg_verdict(nsg(rule(sources=("Internet",))))
    assert "attached to no subnet or NIC" in result.message


def test_unreadable_port_range_is_an_error_not_a_pass() -> None:
    result = nsg_verdict(nsg(rule("odd", sources=("Internet",), ports=("ssh",))))
    assert result.status == "error"
    assert "odd" in result.message


def test_unreadable_port_range_does_not_hide_another_rules_failure() -> None:
    group = nsg(rule("odd", ports=("ssh",)), rule("rdp", ports=("3389",), priority=110))
    assert nsg_verdict(group).status == "fail"


# --- 12e.azure-vm-disk-encryption -----------------------------------------------------------------

PMK = "EncryptionAtRestWithPlatformKey"
CMK = "EncryptionAtRestWithCustomerKey"
DOUBLE = "EncryptionAtRestWithPlatformAndCustomerKeys"


def disk(
    role: str = "OS disk",
    *,
    encryption_type: str | None = PMK,
    key_set: str | None = None,
    ade: bool = False,
    storage: str = "managed",
    missing: str | None = None,
) -> VmDisk:
    name = f"{role.split()[0].lower()}-disk"
    return VmDisk(
        role,
        name,
        f"{SUB}/Microsoft.Compute/disks/{name}",
        storage,
        encryption_type,
        key_set,
        ade,
        missing,
    )


def machine(*disks: VmDisk, at_host: bool = False) -> VirtualMachine:
    return VirtualMachine(
        id=VM_ID,
        name="vm-web-01",
        subscription_id="11111111-1111-4111-8111-111111111111",
        resource_group="rg-web",
        location="westeurope",
        os_type="Windows",
        encryption_at_host=at_host,
        security_type="TrustedLaunch",
        disks=disks,
    )


def vm_verdict(vm: VirtualMachine, mode: Literal["host", "cmk", "ade"] = "host") -> Verdict:
    return verdict(
        c12e.test_vm_disks_are_encrypted_as_policy_requires, vm, policy=Policy(vm_disk_encryption=mode)
    )


def test_host_mode_passes_with_encryption_at_host() -> None:
    assert vm_verdict(machine(disk(), at_host=True)).status == "pass"


def test_host_mode_fails_with_platform_managed_keys_only_and_says_what_it_expects() -> None:
    result = vm_verdict(machine(disk()))
    assert result.status == "fail"
    assert "encryption at host is off on VM vm-web-01" in result.message
    assert "policy.vm_disk_encryption = 'host' expects" in result.message
    assert "platform-managed key only" in result.message


def test_host_mode_fails_even_when_disks_use_customer_managed_keys() -> None:
    assert vm_verdict(machine(disk(encryption_type=CMK, key_set=DES_ID))).status == "fail"


def test_host_mode_does_not_need_the_disk_list() -> None:
    unknown = disk(missing="the disk list could not be read")
    assert vm_verdict(machine(unknown, at_host=True)).status == "pass"


@pytest.mark.parametrize("encryption_type", [CMK, DOUBLE])
def test_cmk_mode_passes_with_a_disk_encryption_set_on_every_disk(encryption_type: str) -> None:
    vm = machine(
        disk(encryption_type=encryption_type, key_set=DES_ID),
        disk("data disk (LUN 0)", encryption_type=CMK, key_set=DES_ID),
    )
    assert vm_verdict(vm, "cmk").status == "pass"


def test_cmk_mode_fails_on_a_platform_managed_disk() -> None:
    vm = machine(disk(encryption_type=CMK, key_set=DES_ID), disk("data disk (LUN 0)"), at_host=True)
    result = vm_verdict(vm, "cmk")
    assert result.status == "fail"
    assert "policy.vm_disk_encryption = 'cmk' expects every disk encrypted with a customer-managed key" in (
        result.message
    )
    assert "data disk (LUN 0) data-disk has platform-managed key only" in result.message
    assert "OS disk" not in result.message.split("but", 1)[1]


def test_cmk_mode_fails_on_customer_key_type_without_a_disk_encryption_set() -> None:
    assert vm_verdict(machine(disk(encryption_type=CMK, key_set=None)), "cmk").status == "fail"


@pytest.mark.parametrize("storage", ["unmanaged", "ephemeral"])
def test_cmk_mode_fails_on_disks_without_a_disk_resource(storage: str) -> None:
    result = vm_verdict(machine(disk(storage=storage, encryption_type=None)), "cmk")
    assert result.status == "fail"
    assert storage in result.message


def test_cmk_mode_with_a_disk_missing_from_the_disk_list_is_an_error() -> None:
    vm = machine(
        disk(encryption_type=CMK, key_set=DES_ID), disk("data disk (LUN 0)", missing="not in the disk list")
    )
    result = vm_verdict(vm, "cmk")
    assert result.status == "error"
    assert "not in the disk list" in result.message


def test_a_failing_disk_beats_a_missing_one() -> None:
    vm = machine(disk(), disk("data disk (LUN 0)", missing="not in the disk list"))
    assert vm_verdict(vm, "cmk").status == "fail"


def test_vm_without_disks_is_an_error_in_disk_modes() -> None:
    assert vm_verdict(machine(), "ade").status == "error"


def test_ade_mode_passes_with_azure_disk_encryption_on_every_disk() -> None:
    vm = machine(disk(ade=True), disk("data disk (LUN 0)", ade=True))
    assert vm_verdict(vm, "ade").status == "pass"


def test_ade_mode_fails_on_a_disk_without_azure_disk_encryption() -> None:
    vm = machine(disk(ade=True), disk("data disk (LUN 0)", encryption_type=CMK, key_set=DES_ID))
    result = vm_verdict(vm, "ade")
    assert result.status == "fail"
    assert "expects Azure Disk Encryption on every disk" in result.message
    assert "customer-managed key" in result.message


def test_ade_mode_fails_on_platform_managed_keys_only() -> None:
    result = vm_verdict(machine(disk(), at_host=True), "ade")
    assert result.status == "fail"
    assert "platform-managed key only" in result.message


def test_ade_mode_with_an_unreadable_disk_list_is_an_error() -> None:
    assert vm_verdict(machine(disk(missing="HTTP 403")), "ade").status == "error"


# --- 12g.azure-update-manager ---------------------------------------------------------------------


def patch(
    name: str = "2026-11 Cumulative Update (KB5071001)",
    classifications: tuple[str, ...] = ("Security",),
    published: date | None = date(2026, 11, 20),
    kb_id: str | None = "5071001",
) -> AvailablePatch:
    moment = datetime(published.year, published.month, published.day, tzinfo=UTC) if published else None
    return AvailablePatch(name, kb_id, None, classifications, moment)


def assessed(
    *patches: AvailablePatch,
    status: str | None = "Succeeded",
    age_days: int | None = 1,
    critical: int | None = None,
    security: int | None = None,
    error: str | None = None,
) -> PatchAssessment:
    urgent = [p for p in patches if c12g.patch_is_urgent(p)]
    modified = (
        datetime(2026, 11, 29, 2, 0, tzinfo=UTC) - timedelta(days=age_days) if age_days is not None else None
    )
    return PatchAssessment(
        vm_id=VM_ID,
        vm_name="vm-web-01",
        os_type="Windows",
        patch_mode="AutomaticByPlatform",
        assessment_mode="AutomaticByPlatform",
        assessed=True,
        status=status,
        last_modified=modified,
        critical_count=critical
        if critical is not None
        else sum("Critical" in (p.classifications or ()) for p in urgent),
        security_count=security
        if security is not None
        else sum("Security" in (p.classifications or ()) for p in urgent),
        error=error,
        patches=patches,
    )


def patch_verdict(assessment: PatchAssessment, **policy: Any) -> Verdict:
    return verdict(
        c12g.test_vm_is_assessed_and_has_no_overdue_security_patches,
        assessment,
        policy=Policy(**policy),
        run_date=RUN_DATE,
    )


def test_recent_assessment_without_overdue_patches_passes() -> None:
    assert patch_verdict(assessed(patch())).status == "pass"


def test_vm_without_an_assessment_fails_and_names_the_assessment_mode() -> None:
    none = PatchAssessment(VM_ID, "vm-web-01", "Linux", "ImageDefault", "ImageDefault", assessed=False)
    result = patch_verdict(none)
    assert result.status == "fail"
    assert "no Update Manager patch assessment" in result.message
    assert "assessment mode is ImageDefault" in result.message


def test_assessment_older_than_the_maximum_age_fails() -> None:
    result = patch_verdict(assessed(age_days=8))
    assert result.status == "fail"
    assert "8 days old (at most 7 allowed)" in result.message


def test_assessment_exactly_the_maximum_age_passes() -> None:
    assert patch_verdict(assessed(age_days=7)).status == "pass"


def test_policy_patch_assessment_max_age_days_is_used() -> None:
    assert patch_verdict(assessed(age_days=2), patch_assessment_max_age_days=1).status == "fail"


def test_assessment_dated_after_the_run_date_fails() -> None:
    assert patch_verdict(assessed(age_days=-2)).status == "fail"


def test_assessment_without_a_date_is_an_error() -> None:
    assert patch_verdict(assessed(age_days=None)).status == "error"


def test_failed_assessment_fails_with_its_error() -> None:
    result = patch_verdict(assessed(status="Failed", error="Package manager on machine is not healthy"))
    assert result.status == "fail"
    assert "status Failed (Package manager on machine is not healthy)" in result.message


def test_unknown_assessment_status_fails() -> None:
    assert patch_verdict(assessed(status="Unknown")).status == "fail"


def test_assessment_with_warnings_passes() -> None:
    assert patch_verdict(assessed(status="CompletedWithWarnings")).status == "pass"


def test_assessment_in_progress_is_an_error_not_a_pass() -> None:
    result = patch_verdict(assessed(status="InProgress"))
    assert result.status == "error"
    assert "in progress" in result.message


def test_pending_security_patch_older_than_the_grace_period_fails() -> None:
    result = patch_verdict(assessed(patch(published=date(2026, 10, 14))))
    assert result.status == "fail"
    assert "1 Critical/Security patch pending beyond the 14-day grace period" in result.message
    assert (
        "2026-11 Cumulative Update (KB5071001) [Security]: published 14 October 2026, 46 days"
        in result.message
    )


def test_pending_critical_patch_older_than_the_grace_period_fails() -> None:
    old = patch("Servicing Stack Update", ("Critical",), date(2026, 11, 1), kb_id="5071030")
    result = patch_verdict(assessed(old))
    assert result.status == "fail"
    assert "Servicing Stack Update (KB5071030) [Critical]" in result.message


def test_classification_spelled_as_security_updates_counts() -> None:
    assert patch_verdict(
        assessed(patch(classifications=("Security Updates",), published=date(2026, 9, 1)))
    ).status == ("fail")


def test_urgent_patch_published_exactly_the_grace_period_ago_passes() -> None:
    assert patch_verdict(assessed(patch(published=RUN_DATE - timedelta(days=14)))).status == "pass"
    assert patch_verdict(assessed(patch(published=RUN_DATE - timedelta(days=15)))).status == "fail"


def test_policy_pending_grace_days_is_used() -> None:
    assert (
        patch_verdict(assessed(patch(published=RUN_DATE - timedelta(days=3))), pending_grace_days=2).status
        == "fail"
    )


@pytest.mark.parametrize("classification", ["Definition", "Other", "UpdateRollup", "FeaturePack"])
def test_old_pending_patch_that_is_not_critical_or_security_passes(classification: str) -> None:
    old = patch("Defender definitions", (classification,), date(2026, 1, 1))
    assert patch_verdict(assessed(old)).status == "pass"


def test_urgent_patch_without_a_publish_date_counts_as_overdue() -> None:
    result = patch_verdict(assessed(patch("openssl", ("Security",), None, kb_id=None)))
    assert result.status == "fail"
    assert "publish date not reported" in result.message


def test_summary_counting_more_urgent_patches_than_records_is_an_error() -> None:
    result = patch_verdict(assessed(security=2))
    assert result.status == "error"
    assert "2 Security patches" in result.message


def test_an_overdue_patch_fails_even_when_other_records_are_missing() -> None:
    assert patch_verdict(assessed(patch(published=date(2026, 9, 1)), security=3)).status == "fail"


def test_several_problems_are_reported_together() -> None:
    result = patch_verdict(assessed(patch(published=date(2026, 9, 1)), age_days=10, status="Failed"))
    assert result.status == "fail"
    assert "status Failed" in result.message
    assert "10 days old" in result.message
    assert "grace period" in result.message


def test_evidence_lists_the_pending_urgent_patches() -> None:
    evidence = Evidence(None)
    c12g.test_vm_is_assessed_and_has_no_overdue_security_patches(
        assessed(patch(), patch("Defender", ("Definition",))),
        policy=Policy(),
        run_date=RUN_DATE,
        evidence=evidence,
    )
    pending = evidence.observations["pending_critical_or_security"]
    assert [p["name"] for p in pending] == ["2026-11 Cumulative Update (KB5071001)"]
    assert pending[0]["published"] == "2026-11-20"
    assert evidence.observations["age_days"] == 1
