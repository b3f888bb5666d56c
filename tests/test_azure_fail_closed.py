"""A field an Azure control needs that is absent or unreadable is never read as "nothing to worry about".

Issue 12, case 1.3: the NSG collector turned a rule's missing `direction`, port or source into
"" / (), and 12b.azure-nsg-admin-ports dropped the rule, so replaying the demo with the failing
rule of nsg-legacy lacking `direction`, `destinationPortRange` or `sourceAddressPrefix` flipped
the item fail -> pass (its evidence showing `destination_ports: []`). Now an absent field is None
in the facts, the control reports the NSG `error` naming the rule and the field, and the same
rule holds for every Azure collector and control. The only absent fields read as a value are
listed, with Microsoft's word for each, in `collectors.azure.secure_defaults`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.azure import fields
from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.base import AzureContext
from collectors.azure.compute import ComputeCollector
from collectors.azure.facts import (
    NSGS,
    PATCH_ASSESSMENTS,
    SQL_BACKUP_RETENTION,
    SQL_ENTRA_ADMINS,
    SQL_FIREWALLS,
    STORAGE_ACCOUNTS,
    VMS,
    AvailablePatch,
    FirewallRule,
    NetworkSecurityGroup,
    PatchAssessment,
    SecurityRule,
    SqlBackupRetention,
    SqlEntraAdministration,
    SqlServer,
    SqlServerFirewall,
    StorageAccount,
    StorageIpRule,
    UnreadableField,
    VirtualMachine,
)
from collectors.azure.network import NetworkCollector
from collectors.azure.secure_defaults import DOCUMENTED_DEFAULTS
from collectors.azure.sql import SqlCollector
from collectors.azure.sql_governance import SqlGovernanceCollector
from collectors.azure.storage import StorageCollector
from collectors.azure.subscriptions import AzureSubscription
from collectors.config.inventory import AzureSource
from collectors.config.policy import Policy
from collectors.facts import FactStore
from collectors.messages import english_text
from controls import test_12b_trusted_networks as c12b
from controls import test_12c_authorised_access as c12c
from controls import test_12g_azure_vm_patching as c12g
from controls.framework import Verdict
from demo.standins.arm_emulator import ArmEmulator, load_estate
from reports.evidence import Message, msg
from tests.audit_runs import DEMO, ROOT, SUB_DEV, SUB_PROD, run_audit
from tests.control_calls import verdict, verdict_and_evidence
from tests.nsg_facts import network_security_group, security_rule

TRUSTED = ["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]
SUB = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers"
DEV_NSGS = f"/subscriptions/{SUB_DEV}/providers/microsoft.network/networksecuritygroups?"
LEGACY_NSG = f"/subscriptions/{SUB_DEV}/resourceGroups/rg-legacy/providers/Microsoft.Network/networkSecurityGroups/nsg-legacy"
RUN_DATE = date(2026, 11, 29)


# --- 12b.azure-nsg-admin-ports on literal facts ------------------------------------------------------------


def rule(name: str = "allow-sql", /, **changes: Any) -> SecurityRule:
    """An inbound Allow from anyone to 1433 over TCP, with `changes` (None: the field is absent)."""
    return security_rule(
        name, **{"source_prefixes": ("0.0.0.0/0",), "destination_port_ranges": ("1400-1500",), **changes}
    )


DENY_ALL = rule(
    "DenyAllInBound",
    access="Deny",
    priority=65500,
    protocol="*",
    source_prefixes=("*",),
    destination_port_ranges=("*",),
    is_default=True,
)


def nsg(*rules: SecurityRule, rules_unreadable: tuple[UnreadableField, ...] = ()) -> NetworkSecurityGroup:
    return network_security_group(
        *rules,
        DENY_ALL,
        id=f"{SUB}/Microsoft.Network/networkSecurityGroups/nsg-legacy",
        name="nsg-legacy",
        subscription_id=SUB_PROD,
        rules_unreadable=rules_unreadable,
    )


def nsg_verdict(group: NetworkSecurityGroup) -> Verdict:
    control = c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks
    return verdict(control, group, policy=Policy(trusted_networks=TRUSTED))


def test_nsg_rule_from_anyone_to_sql_fails() -> None:
    assert nsg_verdict(nsg(rule())).status == "fail"


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("direction", "direction is absent"),
        ("access", "access is absent"),
        ("protocol", "protocol is absent"),
        ("priority", "priority is absent"),
        ("destination_port_ranges", "destinationPortRange(s) are absent"),
        ("source_prefixes", "no source"),
    ],
)
def test_nsg_rule_without_a_field_is_error_naming_the_rule_and_the_field(field: str, named: str) -> None:
    changes: dict[str, object] = {field: None}
    result = nsg_verdict(nsg(rule(**changes)))
    assert result.status == "error", "an unreadable Allow rule is never dropped as harmless"
    assert "rule allow-sql (custom)" in result.message
    assert named in result.message


def test_nsg_rule_without_direction_is_error() -> None:
    result = nsg_verdict(nsg(rule(direction=None)))
    assert result.status == "error"
    assert "allow-sql" in result.message
    assert "direction" in result.message


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("direction", "Sideways", "direction 'Sideways' is neither Inbound nor Outbound"),
        ("access", "Maybe", "access 'Maybe' is neither Allow nor Deny"),
        ("protocol", "Carrier-Pigeon", "protocol 'Carrier-Pigeon' is not one ARM documents"),
    ],
)
def test_nsg_rule_with_an_unknown_value_is_error_not_skipped(field: str, value: str, named: str) -> None:
    changes: dict[str, object] = {field: value}
    result = nsg_verdict(nsg(rule(**changes)))
    assert result.status == "error"
    assert named in result.message


def test_evidence_of_an_unreadable_rule_shows_unknown_ports_not_an_empty_list() -> None:
    _, evidence = verdict_and_evidence(
        c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks,
        nsg(rule(destination_port_ranges=None)),
        policy=Policy(trusted_networks=TRUSTED),
    )
    [shown] = [r for r in evidence.observations["inbound_allow_rules"] if r["name"] == "allow-sql"]
    assert shown["destination_ports"] is None
    assert evidence.observations["unreadable_rules"]


def test_definite_offence_beats_an_unreadable_rule_and_the_message_names_both() -> None:
    offending = rule("allow-rdp", destination_port_ranges=("3389",), priority=100)
    result = nsg_verdict(nsg(offending, rule("broken", direction=None, priority=300)))
    assert result.status == "fail"
    assert "allow-rdp" in result.message
    assert "rule broken (custom): direction is absent" in result.message


def test_an_unreadable_rule_that_may_deny_first_makes_an_offence_uncertain() -> None:
    maybe_deny = rule("maybe-deny", access=None, priority=100)
    result = nsg_verdict(nsg(maybe_deny, rule("allow-sql", priority=200)))
    assert result.status == "error"
    assert "unless the unreadable rule maybe-deny denies it first" in result.message


def test_an_unreadable_deny_after_the_offence_cannot_excuse_it() -> None:
    late_deny = rule("late-deny", access="Deny", priority=300, source_port_ranges=None)
    result = nsg_verdict(nsg(rule("allow-sql", priority=200), late_deny))
    assert result.status == "fail"


def test_outbound_rule_with_missing_fields_is_not_needed() -> None:
    outbound = rule("out", direction="Outbound", destination_port_ranges=None, source_prefixes=None)
    assert nsg_verdict(nsg(outbound)).status == "pass"


def test_missing_rule_list_is_error_not_no_rules() -> None:
    absent = UnreadableField("securityRules", msg("{field} is absent", field="securityRules"))
    result = nsg_verdict(nsg(rules_unreadable=(absent,)))
    assert result.status == "error"
    assert "securityRules is absent" in result.message


# --- the NSG collector keeps absent fields absent -------------------------------------------------------------


def network_estate(mutate: Any) -> dict[str, Any]:
    estate = load_estate(DEMO / "estate" / "network_compute.json")
    for resource in estate["resources"]:
        if resource["id"] == LEGACY_NSG:
            mutate(resource)
    return estate


def collect(estate: dict[str, Any], *collectors: Any) -> FactStore:
    subscriptions = [
        AzureSubscription(SUB_PROD, "Lucrasoft Production", "Enabled", None),
        AzureSubscription(SUB_DEV, "Lucrasoft Development", "Enabled", None),
    ]
    estate = {
        **estate,
        "subscriptions": [
            {"id": f"/subscriptions/{s.id}", "displayName": s.name, "state": "Enabled"} for s in subscriptions
        ],
    }
    with ArmEmulator(estate, page_size=2) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        store = FactStore()
        context = AzureContext(arm=arm, store=store, progress=lambda line: None)
        try:
            for collector in collectors:
                collector(context).collect(subscriptions)
        finally:
            arm.close()
    return store


def legacy_rule(store: FactStore, name: str) -> SecurityRule:
    [subject] = [s for s in store.population(NSGS).subjects if s.id == LEGACY_NSG]
    assert isinstance(subject.fact, NetworkSecurityGroup)
    return next(r for r in subject.fact.rules if r.name == name)


def without(field: str) -> Any:
    def mutate(resource: dict[str, Any]) -> None:
        for entry in resource["properties"]["securityRules"]:
            if entry["name"] == "allow-sql-vendor-range":
                entry["properties"].pop(field)

    return mutate


@pytest.mark.parametrize(
    ("field", "attribute"),
    [
        ("direction", "direction"),
        ("access", "access"),
        ("protocol", "protocol"),
        ("priority", "priority"),
        ("destinationPortRange", "destination_port_ranges"),
        ("sourceAddressPrefix", "source_prefixes"),
    ],
)
def test_nsg_collector_keeps_an_absent_rule_field_absent(field: str, attribute: str) -> None:
    store = collect(network_estate(without(field)), NetworkCollector)
    read = legacy_rule(store, "allow-sql-vendor-range")
    assert getattr(read, attribute) is None, "absent is unknown, never '' or ()"
    assert read.unreadable


def test_nsg_collector_reads_a_rule_field_of_the_wrong_type_as_unreadable() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        resource["properties"]["securityRules"][0]["properties"]["direction"] = 5

    read = legacy_rule(collect(network_estate(mutate), NetworkCollector), "allow-sql-vendor-range")
    assert read.direction is None
    [unreadable] = read.unreadable
    assert unreadable.field == "direction"
    assert unreadable.reason == msg(
        "{field} is {shown}, not text",
        field="direction",
        shown=msg("{kind} ({value})", kind=msg("a number"), value="5"),
    )
    assert english_text(unreadable.reason) == "direction is a number (5), not text"


def test_nsg_without_its_rule_list_names_it() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        del resource["properties"]["securityRules"]

    store = collect(network_estate(mutate), NetworkCollector)
    [subject] = [s for s in store.population(NSGS).subjects if s.id == LEGACY_NSG]
    assert isinstance(subject.fact, NetworkSecurityGroup)
    assert subject.fact.rules_unreadable == (
        UnreadableField("securityRules", msg("{field} is absent", field="securityRules")),
    )
    assert english_text(subject.fact.rules_unreadable[0].reason) == "securityRules is absent"


def test_nsg_collector_names_an_absent_rule_field_as_data_with_a_message() -> None:
    read = legacy_rule(
        collect(network_estate(without("direction")), NetworkCollector), "allow-sql-vendor-range"
    )
    assert read.unreadable == (UnreadableField("direction", msg("{field} is absent", field="direction")),)


def test_nsg_collector_names_a_rule_without_ports_by_its_field_with_a_message() -> None:
    read = legacy_rule(
        collect(network_estate(without("destinationPortRange")), NetworkCollector), "allow-sql-vendor-range"
    )
    assert read.unreadable == (
        UnreadableField(
            "destinationPortRange", msg("no destination port: destinationPortRange(s) are absent")
        ),
    )


def test_nsg_rule_list_entry_that_is_not_an_object_is_a_message_naming_the_entry() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        resource["properties"]["securityRules"].insert(0, "broken")

    store = collect(network_estate(mutate), NetworkCollector)
    [subject] = [s for s in store.population(NSGS).subjects if s.id == LEGACY_NSG]
    assert isinstance(subject.fact, NetworkSecurityGroup)
    [gap] = subject.fact.rules_unreadable
    assert gap.field == "securityRules"
    assert isinstance(gap.reason, Message)
    assert gap.reason.id == "{field}: {problem}"
    assert gap.reason.params["field"] == "securityRules[0]"
    assert isinstance(gap.reason.params["problem"], Message)
    assert english_text(gap.reason) == "securityRules[0]: a security rule is text 'broken', not an object"
    assert subject.fact.rules, "the readable rules are kept"


def messages_in(message: Message) -> list[Message]:
    """Return `message` and every message among its parameters (in lists too), depth first."""
    found = [message]
    for value in message.params.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Message):
                found.extend(messages_in(item))
    return found


def test_nsg_finding_carries_the_collectors_reason_as_a_message_not_its_text() -> None:
    mistyped = msg("{field} is {shown}, not text", field="protocol", shown=msg("a list"))
    broken = rule("broken", protocol=None, unreadable=(UnreadableField("protocol", mistyped),))
    result = nsg_verdict(nsg(broken))
    assert result.status == "error"
    assert "rule broken (custom): protocol is a list, not text" in result.message
    assert mistyped in messages_in(result.finding)
    assert not any(m.verbatim for m in messages_in(result.finding))


def test_nsg_gap_is_matched_by_field_never_by_the_reasons_words() -> None:
    # the account of another field that happens to start with "protocol" is not the protocol's
    other = UnreadableField("sourcePortRange", "protocol-specific port list is malformed")
    result = nsg_verdict(nsg(rule("broken", protocol=None, unreadable=(other,))))
    assert "rule broken (custom): protocol is absent" in result.message
    assert "malformed" not in result.message


def test_two_unreadable_entries_of_one_rule_list_are_one_list_that_may_deny_first() -> None:
    entries = tuple(
        UnreadableField(
            "securityRules",
            msg("{field}: {problem}", field=f"securityRules[{index}]", problem=msg("a security rule")),
        )
        for index in (3, 4)
    )
    result = nsg_verdict(nsg(rule("allow-sql"), rules_unreadable=entries))
    assert result.status == "error"
    assert (
        "unless the unreadable rule list (securityRules[3]: a security rule; securityRules[4]: a security rule) "
        "denies it first" in result.message
    )


# --- the demo, replayed with the failing rule of nsg-legacy mutated ------------------------------------------


def mutated_demo(tmp_path: Path, field: str, *, drop_other_offender: bool) -> Path:
    """The demo recording with `field` removed from nsg-legacy's allow-sql-vendor-range rule.

    With `drop_other_offender`, nsg-legacy's other Allow rule (WinRM from AzureCloud) is removed
    too, so the unreadable rule is the only one that could make the NSG fail.
    """
    recording = json.loads((ROOT / "demo" / "recording.json").read_text(encoding="utf-8"))
    found = 0
    for exchange in recording["exchanges"]:
        if DEV_NSGS not in exchange["url"].lower() or exchange["status"] != 200:
            continue
        body = json.loads(exchange["body"])
        for group in body["value"]:
            if group["name"] != "nsg-legacy":
                continue
            rules = group["properties"]["securityRules"]
            for entry in rules:
                if entry["name"] == "allow-sql-vendor-range":
                    del entry["properties"][field]
                    found += 1
            if drop_other_offender:
                group["properties"]["securityRules"] = [
                    r for r in rules if r["name"] != "allow-winrm-azurecloud"
                ]
        exchange["body"] = json.dumps(body)
    assert found == 1
    path = tmp_path / f"recording-without-{field}.json"
    path.write_text(json.dumps(recording), encoding="utf-8")
    return path


def replay_nsg_legacy(tmp_path: Path, recording: Path) -> dict[str, Any]:
    run = run_audit(
        tmp_path,
        (ROOT / "demo" / "audit.toml").read_text(encoding="utf-8"),
        "--replay",
        str(recording),
        "-k",
        "nsg_admits",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    return run.result("12b.azure-nsg-admin-ports", "/networkSecurityGroups/nsg-legacy")


@pytest.mark.integration
@pytest.mark.parametrize("field", ["direction", "destinationPortRange", "sourceAddressPrefix"])
def test_demo_replay_with_a_field_missing_from_the_failing_nsg_rule_is_error(
    tmp_path: Path, field: str
) -> None:
    result = replay_nsg_legacy(tmp_path, mutated_demo(tmp_path, field, drop_other_offender=True))
    assert result["status"] == "error", "before issue 12 this item passed"
    assert "allow-sql-vendor-range" in result["message"]
    expected = {
        "direction": "direction is absent",
        "destinationPortRange": "destinationPortRange(s) are absent",
        "sourceAddressPrefix": "no source",
    }[field]
    assert expected in result["message"]
    [shown] = [
        r for r in result["observed"]["inbound_allow_rules"] if r["name"] == "allow-sql-vendor-range"
    ] or [None]
    if field == "destinationPortRange":
        assert shown is not None
        assert shown["destination_ports"] is None, "never [] for an unreadable rule"


@pytest.mark.integration
@pytest.mark.parametrize("field", ["direction", "destinationPortRange", "sourceAddressPrefix"])
def test_demo_replay_with_a_field_missing_never_turns_nsg_legacy_into_a_pass(
    tmp_path: Path, field: str
) -> None:
    result = replay_nsg_legacy(tmp_path, mutated_demo(tmp_path, field, drop_other_offender=False))
    assert result["status"] in ("fail", "error")
    assert "allow-sql-vendor-range" in result["message"]


# --- the same rule in the other Azure collectors and controls ------------------------------------------------


def firewall(*rules: FirewallRule) -> SqlServerFirewall:
    server = SqlServer(
        f"{SUB}/Microsoft.Sql/servers/sql-web",
        "sql-web",
        SUB_PROD,
        "rg-web",
        "westeurope",
        None,
        "1.2",
        "Enabled",
    )
    return SqlServerFirewall(server, rules)


def test_sql_firewall_rule_without_an_address_is_error_naming_the_field() -> None:
    result = verdict(
        c12b.test_sql_server_accepts_only_trusted_networks,
        firewall(FirewallRule("office", None, "192.0.2.255")),
        policy=Policy(trusted_networks=TRUSTED),
    )
    assert result.status == "error"
    assert "firewall rule office cannot be read: startIpAddress absent" in result.message


def test_sql_firewall_unreadable_rule_does_not_hide_an_untrusted_one() -> None:
    result = verdict(
        c12b.test_sql_server_accepts_only_trusted_networks,
        firewall(FirewallRule("office", None, None), FirewallRule("world", "0.0.0.0", "255.255.255.255")),
        policy=Policy(trusted_networks=TRUSTED),
    )
    assert result.status == "fail"
    assert "world" in result.message
    assert "office cannot be read" in result.message


def storage(**changes: Any) -> StorageAccount:
    values: dict[str, Any] = {
        "id": f"{SUB}/Microsoft.Storage/storageAccounts/stweb",
        "name": "stweb",
        "subscription_id": SUB_PROD,
        "resource_group": "rg-web",
        "kind": "StorageV2",
        "sku": "Standard_LRS",
        "public_network_access": "Enabled",
        "default_action": "Deny",
        "bypass": "AzureServices",
        "ip_rules": (StorageIpRule("192.0.2.0/24", "Allow"),),
        "virtual_network_rules": (),
        "resource_access_rules": (),
        "https_only": True,
        "minimum_tls_version": "TLS1_2",
        "blob_encryption_enabled": True,
        "file_encryption_enabled": True,
        "key_source": "Microsoft.Storage",
        "require_infrastructure_encryption": False,
        "primary_location": "westeurope",
        "secondary_location": None,
        "status_of_secondary": None,
    }
    values.update(changes)
    return StorageAccount(**values)


def storage_verdict(account: StorageAccount) -> Verdict:
    return verdict(
        c12b.test_storage_account_accepts_only_trusted_networks,
        account,
        policy=Policy(trusted_networks=TRUSTED),
    )


def test_storage_with_trusted_rules_passes() -> None:
    assert storage_verdict(storage()).status == "pass"


def test_storage_deny_without_an_ip_rule_list_is_error_not_no_rules() -> None:
    result = storage_verdict(storage(ip_rules=None))
    assert result.status == "error"
    assert "no ipRules list" in result.message


def test_storage_ip_rule_without_a_value_is_error() -> None:
    result = storage_verdict(storage(ip_rules=(StorageIpRule(None, "Allow"),)))
    assert result.status == "error"
    assert "has no value" in result.message


def storage_estate(mutate: Any) -> dict[str, Any]:
    estate = load_estate(DEMO / "estate" / "web_storage.json")
    for resource in estate["resources"]:
        if resource["name"] == "stxpoarchive":
            mutate(resource["properties"])
    return estate


def account_of(store: FactStore) -> StorageAccount:
    [subject] = [s for s in store.population(STORAGE_ACCOUNTS).subjects if s.id.endswith("/stxpoarchive")]
    assert isinstance(subject.fact, StorageAccount), subject.error
    return subject.fact


def test_storage_collector_keeps_an_absent_ip_rule_list_absent() -> None:
    def mutate(properties: dict[str, Any]) -> None:
        del properties["networkAcls"]["ipRules"]

    assert account_of(collect(storage_estate(mutate), StorageCollector)).ip_rules is None


def test_storage_collector_reads_absent_ipv6_rules_as_none_the_documented_default() -> None:
    def mutate(properties: dict[str, Any]) -> None:
        properties["networkAcls"].pop("ipv6Rules", None)

    account = account_of(collect(storage_estate(mutate), StorageCollector))
    assert account.ip_rules is not None
    assert "ipv6Rules" in {d.field.rsplit(".", 1)[-1] for d in DOCUMENTED_DEFAULTS}


def test_storage_https_only_given_as_text_is_unreadable_not_true() -> None:
    def mutate(properties: dict[str, Any]) -> None:
        properties["supportsHttpsTrafficOnly"] = "false"

    store = collect(storage_estate(mutate), StorageCollector)
    [subject] = [s for s in store.population(STORAGE_ACCOUNTS).subjects if s.id.endswith("/stxpoarchive")]
    assert subject.fact is None
    assert "supportsHttpsTrafficOnly is text 'false', not a boolean" in english_text(subject.error or "")


def sql_estate(mutate: Any) -> dict[str, Any]:
    estate = load_estate(DEMO / "estate")
    estate["resources"] = [r for r in estate["resources"] if "Microsoft.Sql" in r["type"]]
    for resource in estate["resources"]:
        mutate(resource)
    return estate


def test_sql_firewall_collector_keeps_an_absent_address_absent() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        if resource["id"].endswith("/sql-prod-weu/firewallRules/office-rivium"):
            del resource["properties"]["startIpAddress"]

    store = collect(sql_estate(mutate), SqlCollector)
    [subject] = [s for s in store.population(SQL_FIREWALLS).subjects if s.id.endswith("/sql-prod-weu")]
    assert isinstance(subject.fact, SqlServerFirewall)
    office = next(r for r in subject.fact.rules or () if r.name == "office-rivium")
    assert office.start_ip is None


def test_unreadable_sql_firewall_list_is_a_message_naming_the_server_with_the_detail() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        if resource["id"].endswith("/sql-prod-weu/firewallRules/office-rivium"):
            resource["properties"] = "broken"

    store = collect(sql_estate(mutate), SqlCollector)
    [subject] = [s for s in store.population(SQL_FIREWALLS).subjects if s.id.endswith("/sql-prod-weu")]
    assert isinstance(subject.fact, SqlServerFirewall)
    error = subject.fact.rules_error
    assert subject.fact.rules is None
    assert isinstance(error, Message)
    assert error.params["what"] == msg(
        "firewall rules of server {server} could not be read", server="sql-prod-weu"
    )
    assert error.params["problem"] == fields.not_an_object("properties", "broken")
    assert english_text(error).startswith(
        "firewall rules of server sql-prod-weu could not be read: properties is text 'broken', not an object (GET "
    )
    result = verdict(
        c12b.test_sql_server_accepts_only_trusted_networks,
        subject.fact,
        policy=Policy(trusted_networks=TRUSTED),
    )
    assert result.status == "error"
    assert result.finding == error, "the control passes the collector's message on"


def test_long_term_retention_period_absent_is_none_not_unset() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        if resource["id"].endswith("/databases/emma/backupLongTermRetentionPolicies/default"):
            del resource["properties"]["yearlyRetention"]

    store = collect(sql_estate(mutate), SqlCollector, SqlGovernanceCollector)
    [subject] = [
        s for s in store.population(SQL_BACKUP_RETENTION).subjects if s.id.endswith("/databases/emma")
    ]
    assert isinstance(subject.fact, SqlBackupRetention)
    assert subject.fact.policies[0].yearly_retention is None


def test_entra_only_setting_that_cannot_be_read_is_unknown_not_taken_from_the_admin() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        if resource["id"].endswith("/sql-test-uks/azureADOnlyAuthentications/Default"):
            del resource["properties"]["azureADOnlyAuthentication"]
        if resource["id"].endswith("/sql-test-uks/administrators/ActiveDirectory"):
            resource["properties"]["azureADOnlyAuthentication"] = True

    store = collect(sql_estate(mutate), SqlCollector, SqlGovernanceCollector)
    [subject] = [s for s in store.population(SQL_ENTRA_ADMINS).subjects if s.id.endswith("/sql-test-uks")]
    assert isinstance(subject.fact, SqlEntraAdministration)
    assert subject.fact.azure_ad_only_authentication is None
    result = verdict(
        c12c.test_sql_server_is_administered_by_an_authorised_entra_admin, subject.fact, policy=Policy()
    )
    assert result.status == "fail"
    assert "azureADOnlyAuthentication is not reported" in result.message


def compute_estate(mutate: Any) -> dict[str, Any]:
    estate = load_estate(DEMO / "estate" / "network_compute.json")
    for resource in estate["resources"]:
        mutate(resource)
    return estate


def test_vm_without_a_data_disk_list_has_unknown_disks_and_is_error_under_cmk() -> None:
    from controls import test_12e_encryption_at_rest as c12e

    def mutate(resource: dict[str, Any]) -> None:
        if resource["type"] == "Microsoft.Compute/virtualMachines" and resource["name"] == "vm-web-01":
            del resource["properties"]["storageProfile"]["dataDisks"]

    store = collect(compute_estate(mutate), ComputeCollector)
    [subject] = [s for s in store.population(VMS).subjects if s.id.endswith("/vm-web-01")]
    assert isinstance(subject.fact, VirtualMachine)
    unknown = [d for d in subject.fact.disks if d.missing]
    assert [english_text(d.missing or "") for d in unknown] == [
        "the VM's storageProfile reports no dataDisks list"
    ]
    result = verdict(
        c12e.test_vm_disks_are_encrypted_as_policy_requires,
        subject.fact,
        policy=Policy(vm_disk_encryption="cmk"),
    )
    assert result.status in ("fail", "error"), "disks the VM does not list are never read as encrypted"


def test_patch_summary_without_counts_is_error_not_complete() -> None:
    def mutate(resource: dict[str, Any]) -> None:
        if resource["id"].endswith("/vm-web-01/patchAssessmentResults/latest"):
            del resource["properties"]["availablePatchCountByClassification"]

    store = collect(compute_estate(mutate), ComputeCollector)
    [subject] = [s for s in store.population(PATCH_ASSESSMENTS).subjects if s.id.endswith("/vm-web-01")]
    assert isinstance(subject.fact, PatchAssessment)
    assert subject.fact.critical_count is None
    result = verdict(
        c12g.test_vm_is_assessed_and_has_no_overdue_security_patches,
        subject.fact,
        policy=Policy(),
        run_date=RUN_DATE,
    )
    assert result.status == "error"
    assert "availablePatchCountByClassification" in result.message


def web_01_assessment_with_error(details: dict[str, Any]) -> PatchAssessment:
    def mutate(resource: dict[str, Any]) -> None:
        if resource["id"].endswith("/vm-web-01/patchAssessmentResults/latest"):
            resource["properties"]["status"] = "Failed"
            resource["properties"]["errorDetails"] = details

    store = collect(compute_estate(mutate), ComputeCollector)
    [subject] = [s for s in store.population(PATCH_ASSESSMENTS).subjects if s.id.endswith("/vm-web-01")]
    assert isinstance(subject.fact, PatchAssessment)
    return subject.fact


def test_patch_error_is_a_message_with_azures_text_and_code_as_plain_parameters() -> None:
    said = "Assessment timed out: repository 'contoso' returned HTTP 503"
    assessment = web_01_assessment_with_error({"code": "AssessmentTimeout", "message": said})
    assert assessment.error == msg("{message} (code {code})", message=said, code="AssessmentTimeout")
    result = verdict(
        c12g.test_vm_is_assessed_and_has_no_overdue_security_patches,
        assessment,
        policy=Policy(),
        run_date=RUN_DATE,
    )
    assert result.status == "fail"
    assert (
        f"the latest patch assessment has status Failed ({said} (code AssessmentTimeout))" in result.message
    )
    assert assessment.error in messages_in(result.finding), "the reason stays a message in the finding"


def test_patch_error_with_only_a_code_is_a_message_naming_the_code() -> None:
    assessment = web_01_assessment_with_error({"code": "PackageManagerFailure", "message": ""})
    assert assessment.error == msg("error code {code}", code="PackageManagerFailure")
    assert english_text(assessment.error) == "error code PackageManagerFailure"


def test_patch_error_with_only_azures_message_stays_its_plain_text() -> None:
    assessment = web_01_assessment_with_error({"code": "0", "message": "Reboot pending"})
    assert assessment.error == "Reboot pending"


def test_patch_without_classifications_counts_as_critical_or_security() -> None:
    unknown = AvailablePatch("KB5099999", "5099999", None, None, datetime(2026, 9, 1, tzinfo=UTC))
    assert c12g.patch_is_urgent(unknown)
    assessment = PatchAssessment(
        f"{SUB}/Microsoft.Compute/virtualMachines/vm-web-01",
        "vm-web-01",
        "Windows",
        "AutomaticByPlatform",
        "AutomaticByPlatform",
        assessed=True,
        status="Succeeded",
        last_modified=datetime(2026, 11, 28, tzinfo=UTC),
        critical_count=0,
        security_count=0,
        patches=(unknown,),
    )
    result = verdict(
        c12g.test_vm_is_assessed_and_has_no_overdue_security_patches,
        assessment,
        policy=Policy(),
        run_date=RUN_DATE,
    )
    assert result.status == "fail"
    assert "classification not reported" in result.message


@pytest.mark.parametrize("classifications", [None, ("Critical",)])
def test_a_missing_security_record_is_seen_even_when_a_critical_one_is_there(
    classifications: tuple[str, ...] | None,
) -> None:
    """The summary counts 1 Critical and 1 Security patch; the Security record is gone (or unclassified)."""
    critical = AvailablePatch("KB5071030", "5071030", None, ("Critical",), datetime(2026, 11, 20, tzinfo=UTC))
    other = AvailablePatch("KB5068842", "5068842", None, classifications, datetime(2026, 11, 25, tzinfo=UTC))
    patches = (critical,) if classifications == ("Critical",) else (critical, other)
    assessment = PatchAssessment(
        f"{SUB}/Microsoft.Compute/virtualMachines/vm-test-01",
        "vm-test-01",
        "Windows",
        "AutomaticByPlatform",
        "AutomaticByPlatform",
        assessed=True,
        status="Succeeded",
        last_modified=datetime(2026, 11, 28, tzinfo=UTC),
        critical_count=1,
        security_count=1,
        patches=patches,
    )
    result = verdict(
        c12g.test_vm_is_assessed_and_has_no_overdue_security_patches,
        assessment,
        policy=Policy(),
        run_date=RUN_DATE,
    )
    assert result.status == "error"
    assert "1 Security patch but only 0 Security records" in result.message


def test_an_empty_classification_list_is_unknown_not_unclassified() -> None:
    from collectors.azure.compute import available_patch

    row = {"id": "x/softwarePatches/1", "properties": {"patchName": "KB1", "classifications": []}}
    assert available_patch(row).classifications is None


def test_resource_whose_answer_names_no_location_is_error_not_a_region() -> None:
    from collectors.azure.facts import UNKNOWN_REGION, LocatedResource
    from controls import test_8_data_location as c8

    unknown = LocatedResource(f"{SUB}/Microsoft.Web/sites/app", "Microsoft.Web/sites", UNKNOWN_REGION)
    result = verdict(c8.test_resource_is_located_in_the_eu_eea, unknown, policy=Policy())
    assert result.status == "error"
    assert "names no location" in result.message


def test_every_documented_default_names_its_source() -> None:
    fields = [(d.resource_type, d.field) for d in DOCUMENTED_DEFAULTS]
    assert len(fields) == len(set(fields))
    for default in DOCUMENTED_DEFAULTS:
        assert default.absent_means
        assert "learn.microsoft.com" in default.source or "REST API" in default.source
