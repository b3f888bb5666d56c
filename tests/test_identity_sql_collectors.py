"""Role assignment, security contact and SQL governance collectors against the HTTPS ARM emulator.

The real SDK clients (azure-mgmt-authorization, azure-mgmt-security, azure-mgmt-sql) read the
demo estate (demo/estate/, including identity_sql.json) and Microsoft's example responses;
faults show that a failed read makes exactly its own subjects `error`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.authorization import RoleAssignmentCollector
from collectors.azure.base import AzureCollector, AzureContext
from collectors.azure.facts import (
    AZURE_RESOURCES,
    ROLE_ASSIGNMENTS,
    SECURITY_CONTACTS,
    SQL_AUDITING,
    SQL_BACKUP_RETENTION,
    SQL_DATABASES,
    SQL_ENTRA_ADMINS,
    LocatedResource,
    RoleAssignment,
    RolePermission,
    SqlAuditing,
    SqlBackupRetention,
    SqlEntraAdministration,
    SubscriptionSecurityContacts,
)
from collectors.azure.resource_graph import GraphInventory, ResourceGraph, inventory_query
from collectors.azure.security_contacts import SecurityContactCollector
from collectors.azure.sql import SqlCollector
from collectors.azure.sql_governance import SqlGovernanceCollector
from collectors.azure.subscriptions import AzureSubscription
from collectors.config.inventory import AzureSource
from collectors.config.policy import Policy
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from controls import test_8_data_location as c8
from controls import test_11_backup_retention as c11
from controls import test_12c_authorised_access as c12c
from controls import test_13_breach_notification as c13
from demo.standins.arm_emulator import ArmEmulator, Fault, load_estate
from tests.audit_runs import DEMO, SUB_DEV, SUB_PROD
from tests.control_calls import verdict

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "fixtures" / "azure-examples"
TENANT = "33333333-3333-4333-8333-333333333333"
DEMO_SUBSCRIPTIONS = [
    AzureSubscription(SUB_PROD, "Lucrasoft Production", "Enabled", TENANT),
    AzureSubscription(SUB_DEV, "Lucrasoft Development", "Enabled", TENANT),
]
ALL = (SqlCollector, SqlGovernanceCollector, RoleAssignmentCollector, SecurityContactCollector)
MY_POPULATIONS = (ROLE_ASSIGNMENTS, SECURITY_CONTACTS, SQL_ENTRA_ADMINS, SQL_AUDITING, SQL_BACKUP_RETENTION)

PROD_WEU = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-prod-weu"
SYNDA = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-synda/providers/Microsoft.Sql/servers/sql-synda-neu"
TEST_UKS = f"/subscriptions/{SUB_DEV}/resourceGroups/rg-test/providers/Microsoft.Sql/servers/sql-test-uks"
LEGACY = f"/subscriptions/{SUB_DEV}/resourceGroups/rg-legacy/providers/Microsoft.Sql/servers/sql-legacy"
DBA = "7a2b3c4d-5e6f-4071-8b82-1c2d3e4f5a61"
AUTHORISED = ["6f1c2a3b-4d5e-4f60-8a71-0b2c3d4e5f60", DBA, "8b3c4d5e-6f70-4182-9c93-2d3e4f5a6b72"]


def assignment_id(sub: str, number: int, rg: str | None = None) -> str:
    scope = f"/subscriptions/{sub}" + (f"/resourceGroups/{rg}" if rg else "")
    series = "1001-4e5f-8a01" if sub == SUB_PROD else "2002-4e5f-8a02"
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-{series}-{number:012d}"


def collect(
    emulator: ArmEmulator,
    collectors: Sequence[type[AzureCollector]] = ALL,
    subscriptions: Sequence[AzureSubscription] = DEMO_SUBSCRIPTIONS,
    *,
    graph: bool = False,
) -> FactStore:
    """Run `collectors` in order against the emulator (optionally with a Resource Graph inventory)."""
    source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
    arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
    store = FactStore()
    context = AzureContext(arm=arm, store=store, progress=lambda line: None)
    try:
        if graph:
            types = [t for collector in collectors for t in collector.listed_types]
            result = ResourceGraph(arm).query(inventory_query(types), [s.id for s in subscriptions])
            context.inventory = GraphInventory(types, result)
        for collector in collectors:
            collector(context).collect(list(subscriptions))
    finally:
        arm.close()
    return store


def subjects(store: FactStore, population: str) -> dict[str, Subject[object]]:
    return {s.id: s for s in store.population(population).subjects}


def fact(store: FactStore, population: str, subject_id: str) -> Any:
    subject = subjects(store, population)[subject_id]
    assert subject.error is None, subject.error
    return subject.fact


def example_body(path: str) -> Any:
    return json.loads((EXAMPLES / path).read_text(encoding="utf-8"))["responses"]["200"]["body"]


@pytest.fixture(scope="module")
def demo_store() -> FactStore:
    """The demo estate read once by every collector of this area (after the SQL collector)."""
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2) as emulator:
        return collect(emulator)


# --- role assignments ---------------------------------------------------------------------------------


def test_role_assignments_carry_role_names_principals_and_scopes(demo_store: FactStore) -> None:
    owner = fact(demo_store, ROLE_ASSIGNMENTS, assignment_id(SUB_DEV, 2))
    assert isinstance(owner, RoleAssignment)
    assert (owner.role_name, owner.principal_type, owner.scope_level) == ("Owner", "User", "subscription")
    assert owner.principal_id == "9c4d5e6f-7081-4293-8da4-3e4f5a6b7c83"
    security_manager = fact(demo_store, ROLE_ASSIGNMENTS, assignment_id(SUB_DEV, 4, "rg-legacy"))
    assert security_manager.role_name == "SQL Security Manager"
    assert security_manager.scope == f"/subscriptions/{SUB_DEV}/resourceGroups/rg-legacy"
    assert security_manager.scope_level == "resource group"


def test_role_named_in_tenant_form_is_matched_on_its_guid(demo_store: FactStore) -> None:
    reader = fact(demo_store, ROLE_ASSIGNMENTS, assignment_id(SUB_PROD, 3))
    assert reader.role_definition_id.startswith("/providers/Microsoft.Authorization/roleDefinitions/")
    assert reader.role_name == "Reader"


def test_assignment_of_a_deleted_role_is_unknown_and_an_error(demo_store: FactStore) -> None:
    orphan = fact(demo_store, ROLE_ASSIGNMENTS, assignment_id(SUB_DEV, 5, "rg-legacy"))
    assert orphan.role_name is None
    assert orphan.role == "unknown role e1f2a3b4-c5d6-47e8-9f00-112233445566"
    control = c12c.test_privileged_role_is_held_by_an_authorised_principal
    result = verdict(control, orphan, policy=Policy(authorized_principals=AUTHORISED))
    assert result.status == "error"


def test_demo_role_assignments_give_passing_and_failing_verdicts(demo_store: FactStore) -> None:
    policy = Policy(authorized_principals=AUTHORISED)
    control = c12c.test_privileged_role_is_held_by_an_authorised_principal
    expected = {
        assignment_id(SUB_PROD, 1): "pass",
        assignment_id(SUB_PROD, 2, "rg-web"): "pass",
        assignment_id(SUB_PROD, 3): "pass",
        assignment_id(SUB_PROD, 4, "rg-synda"): "pass",
        assignment_id(SUB_DEV, 1): "pass",
        assignment_id(SUB_DEV, 2): "fail",
        assignment_id(SUB_DEV, 3, "rg-test"): "fail",
        assignment_id(SUB_DEV, 4, "rg-legacy"): "fail",
        assignment_id(SUB_DEV, 5, "rg-legacy"): "error",
    }
    found = subjects(demo_store, ROLE_ASSIGNMENTS)
    assert set(expected) <= set(found)
    assert {key: verdict(control, found[key].fact, policy=policy).status for key in expected} == expected


def test_forbidden_role_assignment_list_makes_only_that_subscription_an_error() -> None:
    fault = Fault(
        path=rf"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleAssignments$", status=403
    )
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        store = collect(emulator, [RoleAssignmentCollector])
    found = subjects(store, ROLE_ASSIGNMENTS)
    failed = found[f"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleAssignments"]
    assert failed.error is not None
    assert "HTTP 403" in english_text(failed.error)
    assert SUB_DEV in english_text(failed.error)
    assert [s for s in found.values() if s.error] == [failed]
    assert not [key for key in found if key.startswith(f"/subscriptions/{SUB_DEV}/resourceGroups")]
    assert fact(store, ROLE_ASSIGNMENTS, assignment_id(SUB_PROD, 1)).role_name == "Owner"
    assert not store.population(AZURE_RESOURCES).subjects, "role assignments are not located resources"


def test_unreadable_role_definitions_leave_that_subscriptions_roles_unknown() -> None:
    fault = Fault(
        path=rf"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleDefinitions$", status=403
    )
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        store = collect(emulator, [RoleAssignmentCollector])
    contributor = fact(store, ROLE_ASSIGNMENTS, assignment_id(SUB_DEV, 1))
    assert contributor.role_name is None
    assert "role definitions could not be listed: HTTP 403" in english_text(contributor.role_problem or "")
    control = c12c.test_privileged_role_is_held_by_an_authorised_principal
    assert verdict(control, contributor, policy=Policy(authorized_principals=AUTHORISED)).status == "error"
    assert fact(store, ROLE_ASSIGNMENTS, assignment_id(SUB_PROD, 1)).role_name == "Owner"


def test_microsoft_role_assignment_example_is_read_with_its_role_definition() -> None:
    listed = example_body("authorization/RoleAssignments_ListForScope.json")["value"][0]
    definition = example_body("authorization/GetRoleDefinitionById.json")
    sub = listed["id"].split("/")[2]
    guid = listed["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]
    moved = {
        **definition,
        "id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "name": guid,
    }
    estate = {
        "subscriptions": [{"id": f"/subscriptions/{sub}", "displayName": "Example", "state": "Enabled"}],
        "resources": [listed, moved],
    }
    subscription = AzureSubscription(sub, "Example", "Enabled", None)
    with ArmEmulator(estate) as emulator:
        store = collect(emulator, [RoleAssignmentCollector], [subscription])
        api_versions = {r.query["api-version"][0] for r in emulator.requests}
    assert api_versions == {"2022-04-01"}
    read = fact(store, ROLE_ASSIGNMENTS, listed["id"])
    assert read.role_name == "Role name"
    assert read.principal_id == "ce2ce14e-85d7-4629-bdbc-454d0519d987"
    assert read.principal_type == "User"
    assert read.scope_level == "subscription"
    assert read.role_type == "roletype"
    assert read.permissions == (RolePermission(("action",), (), ("dataAction",), ()),)
    control = c12c.test_privileged_role_is_held_by_an_authorised_principal
    result = verdict(control, read, policy=Policy())
    assert result.status == "fail", "'Role name' is not named privileged, but 'action' is more than a read"
    assert "privileged by its permissions" in result.message


# --- security contacts --------------------------------------------------------------------------------


def test_security_contacts_are_one_subject_per_subscription(demo_store: FactStore) -> None:
    found = subjects(demo_store, SECURITY_CONTACTS)
    assert set(found) == {f"/subscriptions/{SUB_PROD}", f"/subscriptions/{SUB_DEV}"}
    prod = fact(demo_store, SECURITY_CONTACTS, f"/subscriptions/{SUB_PROD}")
    assert isinstance(prod, SubscriptionSecurityContacts)
    (default,) = prod.contacts
    assert default.emails == ("security@lucrasoft.example", "soc@lucrasoft.example")
    assert (default.alert_notifications, default.minimal_severity) == ("On", "Medium")
    assert default.notify_roles == ("Owner",)
    control = c13.test_security_alerts_reach_a_contact_by_email
    assert verdict(control, prod, policy=Policy()).status == "pass"
    dev = verdict(control, fact(demo_store, SECURITY_CONTACTS, f"/subscriptions/{SUB_DEV}"), policy=Policy())
    assert dev.status == "fail"
    assert "no e-mail address" in dev.message
    assert "alert notifications are Off" in dev.message
    assert "severity High" in dev.message


def test_forbidden_security_contacts_make_only_that_subscription_an_error() -> None:
    fault = Fault(
        path=rf"/subscriptions/{SUB_DEV}/providers/Microsoft.Security/securityContacts$", status=403
    )
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        store = collect(emulator, [SecurityContactCollector])
    dev = subjects(store, SECURITY_CONTACTS)[f"/subscriptions/{SUB_DEV}"]
    assert dev.error is not None
    assert "HTTP 403" in english_text(dev.error)
    assert fact(store, SECURITY_CONTACTS, f"/subscriptions/{SUB_PROD}").contacts


def test_subscription_without_security_contacts_is_a_fact_that_fails() -> None:
    sub = "44444444-4444-4444-8444-444444444444"
    estate = {"subscriptions": [{"id": f"/subscriptions/{sub}", "displayName": "Empty", "state": "Enabled"}]}
    with ArmEmulator(estate) as emulator:
        store = collect(
            emulator, [SecurityContactCollector], [AzureSubscription(sub, "Empty", "Enabled", None)]
        )
        (request,) = emulator.requests
    assert request.query["api-version"] == ["2020-01-01-preview"]
    empty = fact(store, SECURITY_CONTACTS, f"/subscriptions/{sub}")
    assert empty.contacts == ()
    result = verdict(c13.test_security_alerts_reach_a_contact_by_email, empty, policy=Policy())
    assert result.status == "fail"
    assert "no security contact" in result.message


def _example_contact_estate(properties: dict[str, Any]) -> tuple[dict[str, Any], AzureSubscription]:
    example = example_body("security/GetSecurityContactsSubscription_example.json")["value"][0]
    sub = example["id"].split("/")[2]
    contact = {
        "id": f"/subscriptions/{sub}/providers/Microsoft.Security/securityContacts/default",
        "name": "default",
        "type": "Microsoft.Security/securityContacts",
        "properties": properties,
    }
    estate = {
        "subscriptions": [{"id": f"/subscriptions/{sub}", "displayName": "Example", "state": "Enabled"}],
        "resources": [contact],
    }
    return estate, AzureSubscription(sub, "Example", "Enabled", None)


def test_microsoft_security_contact_example_in_the_stable_api_shape_passes() -> None:
    # Microsoft's example is the 2023-12-01-preview shape; the stable SDK reads 2020-01-01-preview,
    # so the same contact is served in the 2020 shape: isEnabled -> alertNotifications.state,
    # the Alert source's minimalSeverity -> alertNotifications.minimalSeverity.
    newer = example_body("security/GetSecurityContactsSubscription_example.json")["value"][0]["properties"]
    alert_source = next(s for s in newer["notificationsSources"] if s["sourceType"] == "Alert")
    stable = {
        "emails": newer["emails"],
        "phone": newer["phone"],
        "alertNotifications": {
            "state": "On" if newer["isEnabled"] else "Off",
            "minimalSeverity": alert_source["minimalSeverity"],
        },
        "notificationsByRole": newer["notificationsByRole"],
    }
    estate, subscription = _example_contact_estate(stable)
    with ArmEmulator(estate) as emulator:
        store = collect(emulator, [SecurityContactCollector], [subscription])
    read = fact(store, SECURITY_CONTACTS, subscription.resource_id)
    (contact,) = read.contacts
    assert contact.emails == ("john@contoso.com", "Jane@contoso.com")
    assert (contact.alert_notifications, contact.minimal_severity) == ("On", "Medium")
    assert verdict(c13.test_security_alerts_reach_a_contact_by_email, read, policy=Policy()).status == "pass"


def test_security_contact_in_the_newer_api_shape_is_not_mistaken_for_alerts_being_on() -> None:
    newer = example_body("security/GetSecurityContactsSubscription_example.json")["value"][0]["properties"]
    estate, subscription = _example_contact_estate(newer)
    with ArmEmulator(estate) as emulator:
        store = collect(emulator, [SecurityContactCollector], [subscription])
    read = fact(store, SECURITY_CONTACTS, subscription.resource_id)
    (contact,) = read.contacts
    assert contact.emails == ("john@contoso.com", "Jane@contoso.com")
    assert contact.alert_notifications is None
    result = verdict(c13.test_security_alerts_reach_a_contact_by_email, read, policy=Policy())
    assert result.status == "fail"


# --- SQL governance -----------------------------------------------------------------------------------


def test_entra_admins_of_the_demo_servers(demo_store: FactStore) -> None:
    prod = fact(demo_store, SQL_ENTRA_ADMINS, PROD_WEU)
    assert isinstance(prod, SqlEntraAdministration)
    assert prod.admin is not None
    assert (prod.admin.login, prod.admin.sid) == ("sg-lucrasoft-dba", DBA)
    assert prod.azure_ad_only_authentication is True
    legacy = fact(demo_store, SQL_ENTRA_ADMINS, LEGACY)
    assert legacy.admin is None
    assert legacy.azure_ad_only_authentication is False
    control = c12c.test_sql_server_is_administered_by_an_authorised_entra_admin
    policy = Policy(authorized_principals=AUTHORISED)
    statuses = {
        server: verdict(control, fact(demo_store, SQL_ENTRA_ADMINS, server), policy=policy).status
        for server in (PROD_WEU, SYNDA, TEST_UKS, LEGACY)
    }
    assert statuses == {PROD_WEU: "pass", SYNDA: "pass", TEST_UKS: "fail", LEGACY: "fail"}


def test_auditing_of_the_demo_servers(demo_store: FactStore) -> None:
    prod = fact(demo_store, SQL_AUDITING, PROD_WEU)
    assert isinstance(prod, SqlAuditing)
    assert (prod.state, prod.retention_days, prod.azure_monitor_target) == ("Enabled", 180, False)
    synda = fact(demo_store, SQL_AUDITING, SYNDA)
    assert (synda.retention_days, synda.azure_monitor_target) == (0, True)
    control = c13.test_sql_server_keeps_an_audit_trail
    statuses = {
        server: verdict(control, fact(demo_store, SQL_AUDITING, server), policy=Policy()).status
        for server in (PROD_WEU, SYNDA, TEST_UKS, LEGACY)
    }
    assert statuses == {PROD_WEU: "pass", SYNDA: "pass", TEST_UKS: "fail", LEGACY: "fail"}


def test_long_term_retention_of_the_demo_databases(demo_store: FactStore) -> None:
    picario = fact(demo_store, SQL_BACKUP_RETENTION, f"{TEST_UKS}/databases/picario-test")
    assert isinstance(picario, SqlBackupRetention)
    (policy,) = picario.policies
    assert (policy.weekly_retention, policy.monthly_retention, policy.yearly_retention) == (
        "P14W",
        "P12M",
        "P5Y",
    )
    control = c11.test_sql_database_backups_are_gone_after_three_months
    statuses = {
        name: verdict(control, fact(demo_store, SQL_BACKUP_RETENTION, database), policy=Policy()).status
        for name, database in (
            ("emma", f"{PROD_WEU}/databases/emma"),
            ("movin", f"{PROD_WEU}/databases/movin"),
            ("synda", f"{SYNDA}/databases/synda"),
            ("picario-test", f"{TEST_UKS}/databases/picario-test"),
            ("xpo-archive", f"{LEGACY}/databases/xpo-archive"),
        )
    }
    assert statuses == {
        "emma": "pass",
        "movin": "pass",
        "synda": "pass",
        "picario-test": "fail",
        "xpo-archive": "pass",
    }
    assert f"{PROD_WEU}/databases/master" not in subjects(demo_store, SQL_BACKUP_RETENTION)
    message = verdict(control, picario, policy=Policy()).message
    assert all(period in message for period in ("weekly", "monthly", "yearly"))


def test_geo_replicas_are_located_in_their_partner_region(demo_store: FactStore) -> None:
    located = {
        s.id: s.fact
        for s in demo_store.population(AZURE_RESOURCES).subjects
        if isinstance(s.fact, LocatedResource) and "/replicationLinks/" in s.id
    }
    emma = f"{PROD_WEU}/databases/emma/replicationLinks/5b7e9f21-3c4d-4a6b-9e0f-1a2b3c4d5e6f"
    picario = f"{TEST_UKS}/databases/picario-test/replicationLinks/6c8fa032-4d5e-4b7c-8f10-2b3c4d5e6f70"
    assert {key: value.location for key, value in located.items()} == {
        emma: "northeurope",
        picario: "switzerlandnorth",
    }
    assert located[picario].type == "Microsoft.Sql/servers/databases/replicationLinks"
    control = c8.test_resource_is_located_in_the_eu_eea
    assert verdict(control, located[emma], policy=Policy()).status == "pass"
    assert verdict(control, located[picario], policy=Policy()).status == "fail"


def test_databases_the_sql_collector_could_not_list_are_errors_of_backup_retention() -> None:
    fault = Fault(path=r"/servers/sql-legacy/databases$", status=403)
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    carried = subjects(store, SQL_BACKUP_RETENTION)[f"{LEGACY}/databases"]
    assert carried.error == subjects(store, SQL_DATABASES)[f"{LEGACY}/databases"].error
    assert carried.error is not None
    assert "HTTP 403" in english_text(carried.error)
    assert [s.id for s in store.population(SQL_BACKUP_RETENTION).subjects if s.error] == [
        f"{LEGACY}/databases"
    ]
    assert fact(store, SQL_ENTRA_ADMINS, LEGACY).admin is None
    assert fact(store, SQL_AUDITING, LEGACY).state == "Disabled"


def test_servers_the_sql_collector_could_not_list_are_errors_of_entra_and_auditing() -> None:
    fault = Fault(path=rf"/subscriptions/{SUB_DEV}/providers/Microsoft.Sql/servers$", status=403)
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    subject = f"/subscriptions/{SUB_DEV}/providers/Microsoft.Sql/servers"
    for population in (SQL_ENTRA_ADMINS, SQL_AUDITING, SQL_BACKUP_RETENTION):
        errors = [s.id for s in store.population(population).subjects if s.error]
        assert errors == [subject], population
    assert fact(store, SQL_ENTRA_ADMINS, PROD_WEU).admin is not None


def test_database_whose_encryption_could_not_be_read_still_has_its_retention_read() -> None:
    fault = Fault(path=r"/databases/emma/transparentDataEncryption/current$", status=403)
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    assert subjects(store, SQL_DATABASES)[f"{PROD_WEU}/databases/emma"].error
    emma = fact(store, SQL_BACKUP_RETENTION, f"{PROD_WEU}/databases/emma")
    assert emma.policies[0].weekly_retention == "P12W"


def test_failed_governance_reads_make_exactly_their_subjects_errors() -> None:
    faults = [
        Fault(path=r"/servers/sql-prod-weu/azureADOnlyAuthentications$", status=403),
        Fault(path=r"/servers/sql-synda-neu/auditingSettings/default$", status=403),
        Fault(path=r"/databases/movin/backupLongTermRetentionPolicies$", status=500),
        Fault(path=r"/servers/sql-prod-weu/replicationLinks$", status=403),
    ]
    with ArmEmulator(load_estate(DEMO / "estate"), faults=faults) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])

    def errors(population: str) -> dict[str, str]:
        return {s.id: english_text(s.error) for s in store.population(population).subjects if s.error}

    entra = errors(SQL_ENTRA_ADMINS)
    assert list(entra) == [PROD_WEU]
    assert "Entra-only authentication of server sql-prod-weu could not be read: HTTP 403" in entra[PROD_WEU]
    assert list(errors(SQL_AUDITING)) == [SYNDA]
    retention = errors(SQL_BACKUP_RETENTION)
    assert list(retention) == [f"{PROD_WEU}/databases/movin"]
    assert "HTTP 500" in retention[f"{PROD_WEU}/databases/movin"]
    resources = errors(AZURE_RESOURCES)
    assert list(resources) == [f"{PROD_WEU}/replicationLinks"]
    assert "geo-replicas" in resources[f"{PROD_WEU}/replicationLinks"]
    assert fact(store, SQL_AUDITING, PROD_WEU).state == "Enabled"
    assert fact(store, SQL_ENTRA_ADMINS, SYNDA).admin is not None
    picario_link = f"{TEST_UKS}/databases/picario-test/replicationLinks/6c8fa032-4d5e-4b7c-8f10-2b3c4d5e6f70"
    assert fact(store, AZURE_RESOURCES, picario_link).location == "switzerlandnorth"


def test_microsoft_sql_examples_give_the_expected_facts_and_verdicts() -> None:
    servers = example_body("sql/ServerList.json")["value"]
    first, second = servers[0]["id"], servers[1]["id"]
    sub = first.split("/")[2]
    resources: list[dict[str, Any]] = list(servers)
    for database in example_body("sql/ListVCoreDatabasesByServer.json")["value"]:
        resources.append({**database, "id": f"{first}/databases/{database['name']}"})
    resources.append(
        {
            **example_body("sql/TransparentDataEncryptionGet.json"),
            "id": f"{first}/databases/testdb/transparentDataEncryption/current",
        }
    )
    admin = example_body("sql/AdministratorList.json")["value"][0]
    resources.append({**admin, "id": f"{first}/administrators/ActiveDirectory"})
    resources.append(
        {**example_body("sql/ServerBlobAuditingGet.json"), "id": f"{first}/auditingSettings/default"}
    )
    ltr = example_body("sql/LongTermRetentionPolicyGet.json")
    resources.append({**ltr, "id": f"{first}/databases/testdb/backupLongTermRetentionPolicies/default"})
    estate = {
        "subscriptions": [{"id": f"/subscriptions/{sub}", "displayName": "Example", "state": "Enabled"}],
        "resources": resources,
    }
    subscription = AzureSubscription(sub, "Example", "Enabled", None)
    with ArmEmulator(estate) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector], [subscription])

    entra = fact(store, SQL_ENTRA_ADMINS, first)
    assert entra.admin.login == "bob@contoso.com"
    assert entra.admin.sid == "c6b82b90-a647-49cb-8a62-0d2d3cb7ac7c"
    assert entra.azure_ad_only_authentication is True, "taken from the administrator when no switch is listed"
    entra_control = c12c.test_sql_server_is_administered_by_an_authorised_entra_admin
    assert (
        verdict(entra_control, entra, policy=Policy(authorized_principals=[entra.admin.sid])).status == "pass"
    )
    assert verdict(entra_control, entra, policy=Policy(authorized_principals=[DBA])).status == "fail"
    assert fact(store, SQL_ENTRA_ADMINS, second).admin is None

    auditing = fact(store, SQL_AUDITING, first)
    assert (auditing.state, auditing.retention_days, auditing.storage_endpoint) == ("Disabled", 0, None)
    assert verdict(c13.test_sql_server_keeps_an_audit_trail, auditing, policy=Policy()).status == "fail"
    missing = subjects(store, SQL_AUDITING)[second]
    assert missing.error is not None
    assert "HTTP 404" in english_text(missing.error), (
        "no auditing settings is unreadable evidence, never a pass"
    )

    retention = fact(store, SQL_BACKUP_RETENTION, f"{first}/databases/testdb")
    result = verdict(c11.test_sql_database_backups_are_gone_after_three_months, retention, policy=Policy())
    assert result.status == "fail"
    assert "monthly backups are kept for P1Y" in result.message
    assert "yearly backups are kept for P5Y" in result.message


# --- both read paths, provenance ------------------------------------------------------------------------


def _facts(store: FactStore) -> dict[str, dict[str, object]]:
    return {
        name: {s.id: s.fact if s.fact is not None else s.error for s in store.population(name).subjects}
        for name in (*MY_POPULATIONS, AZURE_RESOURCES)
    }


def test_resource_graph_and_arm_paths_give_identical_facts() -> None:
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2) as emulator:
        by_arm = collect(emulator)
        before = len(emulator.requests)
        by_graph = collect(emulator, graph=True)
        graph_requests = emulator.requests[before:]
    assert any(r.method == "POST" for r in graph_requests)
    assert not [r for r in graph_requests if r.path.lower().endswith("/microsoft.sql/servers")]
    assert _facts(by_graph) == _facts(by_arm)
    assert all(_facts(by_arm)[name] for name in MY_POPULATIONS)


def test_every_governance_read_is_a_get_sent_once_with_its_api_version() -> None:
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2) as emulator:
        store = collect(emulator)
        requests = list(emulator.requests)
    assert {r.method for r in requests} == {"GET"}
    seen = [(r.path.lower(), tuple(sorted((k, tuple(v)) for k, v in r.query.items()))) for r in requests]
    assert len(seen) == len(set(seen)), "a URL was fetched twice"
    versions = {
        "roleassignments": "2022-04-01",
        "roledefinitions": "2022-04-01",
        "securitycontacts": "2020-01-01-preview",
        "administrators": "2025-01-01",
        "azureadonlyauthentications": "2025-01-01",
        "auditingsettings/default": "2025-01-01",
        "backuplongtermretentionpolicies": "2025-01-01",
        "replicationlinks": "2025-01-01",
    }
    for suffix, version in versions.items():
        matching = [r for r in requests if r.path.lower().endswith(suffix)]
        assert matching, suffix
        assert {r.query["api-version"][0] for r in matching} == {version}, suffix
    owner = subjects(store, ROLE_ASSIGNMENTS)[assignment_id(SUB_PROD, 1)]
    calls = [source.call for source in owner.sources]
    assert any("/providers/Microsoft.Authorization/roleAssignments" in call for call in calls)
    assert any("/providers/Microsoft.Authorization/roleDefinitions" in call for call in calls)
