"""App Service and storage controls called directly on small literal facts: a failing case for every condition.

The controls are reached through their modules, never imported by name, so that pytest does
not collect them here as tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from collectors.azure.facts import StorageAccount, StorageIpRule, WebApp
from collectors.config.policy import Policy
from controls import test_12b_trusted_networks as c12b
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12f_encryption_in_transit as c12f
from controls.framework import Evidence, Verdict
from reports.evidence import msg
from tests.control_calls import verdict_and_evidence

TRUSTED = ["192.0.2.0/24", "203.0.113.0/24", "2001:db8::/32"]
ACCOUNT_ID = "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Storage/storageAccounts/stweb"


def run(control: Any, fact: object, policy: Policy) -> tuple[Verdict, Evidence]:
    """Call a control on one fact with `policy`; return the verdict and what the control recorded."""
    return verdict_and_evidence(control, fact, policy=policy)


def account(**changes: Any) -> StorageAccount:
    """A storage account that passes every storage control; `changes` break one thing at a time."""
    good = StorageAccount(
        id=ACCOUNT_ID,
        name="stweb",
        subscription_id="sub-1",
        resource_group="rg-web",
        kind="StorageV2",
        sku="Standard_RAGRS",
        public_network_access="Enabled",
        default_action="Deny",
        bypass="AzureServices",
        ip_rules=(StorageIpRule("192.0.2.0/24", "Allow"),),
        virtual_network_rules=(),
        resource_access_rules=(),
        https_only=True,
        minimum_tls_version="TLS1_2",
        blob_encryption_enabled=True,
        file_encryption_enabled=True,
        key_source="Microsoft.Storage",
        require_infrastructure_encryption=False,
        primary_location="westeurope",
        secondary_location="northeurope",
        status_of_secondary="available",
    )
    return dataclasses.replace(good, **changes)


def rules(*values: str) -> tuple[StorageIpRule, ...]:
    return tuple(StorageIpRule(value, "Allow") for value in values)


# --- 12b.azure-storage-network ---------------------------------------------------------------------


def network_verdict(fact: StorageAccount, trusted: list[str] | None = None) -> Verdict:
    policy = Policy(trusted_networks=TRUSTED if trusted is None else trusted)
    return run(c12b.test_storage_account_accepts_only_trusted_networks, fact, policy)[0]


@pytest.mark.parametrize("access", ["Disabled", "disabled"])
def test_public_network_access_disabled_passes_whatever_the_acls_say(access: str) -> None:
    fact = account(public_network_access=access, default_action="Allow", ip_rules=rules("0.0.0.0/1"))
    assert network_verdict(fact).status == "pass"


def test_absent_network_acls_are_the_default_allow_and_fail() -> None:
    result = network_verdict(
        account(public_network_access=None, default_action=None, bypass=None, ip_rules=())
    )
    assert result.status == "fail"
    assert "Enabled" in result.message
    assert "not set (Allow)" in result.message


def test_default_action_allow_fails_even_with_only_trusted_ip_rules() -> None:
    result = network_verdict(account(default_action="Allow"))
    assert result.status == "fail"
    assert "defaultAction is Allow" in result.message


def test_deny_without_ip_rules_passes() -> None:
    assert network_verdict(account(ip_rules=())).status == "pass"


@pytest.mark.parametrize(
    "value",
    ["192.0.2.7", "192.0.2.0/24", "192.0.2.128/25", "203.0.113.0/26", "2001:db8:1::/48", "2001:db8::7"],
)
def test_ip_rule_inside_trusted_networks_passes(value: str) -> None:
    assert network_verdict(account(ip_rules=rules(value))).status == "pass"


@pytest.mark.parametrize(
    "value", ["198.51.100.7", "192.0.2.0/23", "0.0.0.0/0", "203.0.112.0/22", "2001:db9::/32", "::/0"]
)
def test_ip_rule_outside_or_partly_outside_trusted_networks_fails_and_is_named(value: str) -> None:
    result = network_verdict(account(ip_rules=rules("192.0.2.10", value)))
    assert result.status == "fail"
    assert value in result.message
    assert "192.0.2.10" not in result.message


def test_cidr_with_host_bits_is_judged_as_its_whole_network() -> None:
    assert network_verdict(account(ip_rules=rules("192.0.2.77/23"))).status == "fail"
    assert network_verdict(account(ip_rules=rules("192.0.2.77/24"))).status == "pass"


def test_ipv6_trusted_network_does_not_admit_an_ipv4_rule() -> None:
    assert network_verdict(account(ip_rules=rules("192.0.2.1")), ["::/0"]).status == "fail"


def test_ip_rule_over_two_adjacent_trusted_networks_passes() -> None:
    fact = account(ip_rules=rules("192.0.2.0/23"))
    assert network_verdict(fact, ["192.0.3.0/24", "192.0.2.0/24"]).status == "pass"


@pytest.mark.parametrize("access", ["SecuredByPerimeter", "Enabled"])
def test_secured_by_perimeter_and_enabled_evaluate_the_acls(access: str) -> None:
    assert network_verdict(account(public_network_access=access)).status == "pass"
    assert network_verdict(account(public_network_access=access, default_action="Allow")).status == "fail"
    fact = account(public_network_access=access, ip_rules=rules("198.51.100.0/24"))
    assert network_verdict(fact).status == "fail"


def test_virtual_network_rules_are_not_ip_exposure_but_are_recorded() -> None:
    subnet = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    fact = account(ip_rules=(), virtual_network_rules=(subnet,), resource_access_rules=("/x/workspace",))
    result, evidence = run(c12b.test_storage_account_accepts_only_trusted_networks, fact, Policy())
    assert result.status == "pass"
    assert evidence.observations["virtual_network_rules"] == [subnet]
    assert evidence.observations["resource_access_rules"] == ["/x/workspace"]


def test_every_ip_rule_is_recorded_with_the_untrusted_ones() -> None:
    fact = account(ip_rules=rules("192.0.2.1", "198.51.100.9"))
    result, evidence = run(
        c12b.test_storage_account_accepts_only_trusted_networks, fact, Policy(trusted_networks=TRUSTED)
    )
    assert result.status == "fail"
    assert evidence.observations["ip_rules"] == [
        {"value": "192.0.2.1", "action": "Allow"},
        {"value": "198.51.100.9", "action": "Allow"},
    ]
    assert evidence.observations["untrusted_ip_rules"] == ["198.51.100.9"]


@pytest.mark.parametrize("value", ["not-an-ip", "192.0.2.300", "192.0.2.0/33", "", "None"])
def test_unreadable_ip_rule_is_evidence_missing(value: str) -> None:
    result = network_verdict(account(ip_rules=rules(value)))
    assert result.status == "error"
    assert "stweb" in result.message


def test_unreadable_ip_rule_does_not_hide_a_default_allow() -> None:
    assert network_verdict(account(default_action="Allow", ip_rules=rules("garbage"))).status == "fail"


# --- 12e.azure-storage-encryption ------------------------------------------------------------------


def encryption_verdict(fact: StorageAccount, **policy: Any) -> Verdict:
    return run(c12e.test_storage_account_is_encrypted_at_rest, fact, Policy(**policy))[0]


def test_blob_and_file_encryption_enabled_passes() -> None:
    assert encryption_verdict(account()).status == "pass"


def test_absent_encryption_services_fail_with_a_message() -> None:
    result = encryption_verdict(account(blob_encryption_enabled=None, file_encryption_enabled=None))
    assert result.status == "fail"
    assert "no encryption services are reported" in result.message


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"file_encryption_enabled": False}, "file encryption is disabled"),
        ({"blob_encryption_enabled": False}, "blob encryption is disabled"),
        ({"file_encryption_enabled": None}, "file encryption is not reported"),
        ({"blob_encryption_enabled": None}, "blob encryption is not reported"),
    ],
)
def test_blob_or_file_encryption_missing_fails_and_names_the_service(
    changes: dict[str, Any], words: str
) -> None:
    result = encryption_verdict(account(**changes))
    assert result.status == "fail"
    assert words in result.message


@pytest.mark.parametrize("value", [False, None])
def test_required_infrastructure_encryption_missing_fails(value: bool | None) -> None:
    result = encryption_verdict(
        account(require_infrastructure_encryption=value), require_infrastructure_encryption=True
    )
    assert result.status == "fail"
    assert "requireInfrastructureEncryption" in result.message


def test_required_infrastructure_encryption_present_passes() -> None:
    fact = account(require_infrastructure_encryption=True)
    assert encryption_verdict(fact, require_infrastructure_encryption=True).status == "pass"


def test_infrastructure_encryption_is_not_required_by_default() -> None:
    assert encryption_verdict(account(require_infrastructure_encryption=None)).status == "pass"


@pytest.mark.parametrize("key_source", ["Microsoft.Storage", None])
def test_required_customer_managed_keys_missing_fails(key_source: str | None) -> None:
    result = encryption_verdict(account(key_source=key_source), require_customer_managed_keys=True)
    assert result.status == "fail"
    assert "Microsoft.Keyvault" in result.message


@pytest.mark.parametrize("key_source", ["Microsoft.Keyvault", "microsoft.keyvault"])
def test_required_customer_managed_keys_present_passes(key_source: str) -> None:
    assert (
        encryption_verdict(account(key_source=key_source), require_customer_managed_keys=True).status
        == "pass"
    )


def test_every_encryption_shortfall_is_named_at_once() -> None:
    fact = account(file_encryption_enabled=False, require_infrastructure_encryption=False)
    result = encryption_verdict(
        fact, require_infrastructure_encryption=True, require_customer_managed_keys=True
    )
    assert result.status == "fail"
    for words in ("file encryption", "requireInfrastructureEncryption", "keySource"):
        assert words in result.message


# --- 12f.azure-app-service-tls ---------------------------------------------------------------------


def web_app(**changes: Any) -> WebApp:
    """A web app that passes 12f.azure-app-service-tls; `changes` break one thing at a time."""
    good = WebApp(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Web/sites/app-web",
        name="app-web",
        subscription_id="sub-1",
        resource_group="rg-web",
        location="westeurope",
        kind="app",
        state="Running",
        https_only=True,
        min_tls_version="1.2",
        scm_min_tls_version="1.2",
        ftps_state="FtpsOnly",
        host_names=("app-web.azurewebsites.net", "app-web.scm.azurewebsites.net"),
    )
    return dataclasses.replace(good, **changes)


def app_verdict(fact: WebApp, min_tls: str = "1.2") -> Verdict:
    return run(c12f.test_web_app_accepts_only_modern_tls, fact, Policy(min_tls=min_tls))[0]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"min_tls_version": "1.3"},
        {"scm_min_tls_version": "1.3"},
        {"ftps_state": "Disabled"},
        {"ftps_state": "FtpsOnly"},
    ],
)
def test_https_only_modern_tls_and_no_plain_ftp_passes(changes: dict[str, Any]) -> None:
    assert app_verdict(web_app(**changes)).status == "pass"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"https_only": False}, "httpsOnly is false"),
        ({"https_only": None}, "httpsOnly is not set"),
        ({"min_tls_version": "1.1"}, "minTlsVersion 1.1 is below 1.2"),
        ({"min_tls_version": "1.0"}, "minTlsVersion 1.0 is below 1.2"),
        ({"min_tls_version": None}, "minTlsVersion is not set"),
        ({"scm_min_tls_version": "1.0"}, "scmMinTlsVersion 1.0 is below 1.2"),
        ({"scm_min_tls_version": None}, "scmMinTlsVersion is not set"),
        ({"scm_min_tls_version": "strongest"}, "scmMinTlsVersion is strongest"),
        ({"ftps_state": "AllAllowed"}, "ftpsState is AllAllowed"),
        ({"ftps_state": None}, "ftpsState is not set (AllAllowed)"),
    ],
)
def test_each_web_app_shortfall_fails_and_is_named(changes: dict[str, Any], words: str) -> None:
    result = app_verdict(web_app(**changes))
    assert result.status == "fail"
    assert words in result.message


def test_web_app_tls_1_2_fails_when_policy_requires_1_3() -> None:
    result = app_verdict(web_app(min_tls_version="1.3", scm_min_tls_version="1.2"), min_tls="1.3")
    assert result.status == "fail"
    assert "scmMinTlsVersion 1.2 is below 1.3" in result.message
    assert "minTlsVersion 1.3" not in result.message


def test_absent_ftps_state_is_recorded_as_the_default() -> None:
    _, evidence = run(c12f.test_web_app_accepts_only_modern_tls, web_app(ftps_state=None), Policy())
    assert evidence.observations["ftps_state"] == msg("AllAllowed (not set)")


# --- 12f.azure-storage-tls -------------------------------------------------------------------------


def storage_tls_verdict(fact: StorageAccount, min_tls: str = "1.2") -> Verdict:
    return run(c12f.test_storage_account_accepts_only_modern_tls, fact, Policy(min_tls=min_tls))[0]


@pytest.mark.parametrize("version", ["TLS1_2", "TLS1_3"])
def test_https_only_storage_at_or_above_the_floor_passes(version: str) -> None:
    assert storage_tls_verdict(account(minimum_tls_version=version)).status == "pass"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"minimum_tls_version": "TLS1_0"}, "minimumTlsVersion TLS1_0 is below 1.2"),
        ({"minimum_tls_version": "TLS1_1"}, "minimumTlsVersion TLS1_1 is below 1.2"),
        ({"minimum_tls_version": None}, "Azure's default TLS1_0"),
        ({"https_only": False}, "supportsHttpsTrafficOnly is false"),
        ({"https_only": None}, "supportsHttpsTrafficOnly is not set"),
    ],
)
def test_each_storage_transport_shortfall_fails_and_is_named(changes: dict[str, Any], words: str) -> None:
    result = storage_tls_verdict(account(**changes))
    assert result.status == "fail"
    assert words in result.message


def test_storage_tls1_2_fails_when_policy_requires_1_3() -> None:
    assert storage_tls_verdict(account(minimum_tls_version="TLS1_2"), min_tls="1.3").status == "fail"
    assert storage_tls_verdict(account(minimum_tls_version="TLS1_3"), min_tls="1.3").status == "pass"
