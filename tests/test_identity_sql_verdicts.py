"""Identity and SQL governance controls, called directly on literal facts: every pass condition fails once.

Covers 12c.azure-privileged-roles, 12c.azure-sql-entra-admin, 11.azure-sql-backup-retention,
13.azure-security-contacts and 13.azure-sql-auditing. Controls are reached through their
modules so that pytest does not collect them here as tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from collectors.azure.facts import (
    EntraAdmin,
    LongTermRetention,
    RoleAssignment,
    RolePermission,
    SecurityContact,
    SqlAuditing,
    SqlBackupRetention,
    SqlEntraAdministration,
    SubscriptionSecurityContacts,
    role_guid_of,
    scope_level_of,
)
from collectors.azure.security_contacts import split_emails
from collectors.config.policy import Policy
from controls import test_11_backup_retention as c11
from controls import test_12c_authorised_access as c12c
from controls import test_13_breach_notification as c13
from controls.framework import Verdict
from reports.i18n.translation import english
from tests.control_calls import verdict, verdict_and_evidence

SUB = "11111111-1111-4111-8111-111111111111"
OPS = "6f1c2a3b-4d5e-4f60-8a71-0b2c3d4e5f60"
DBA = "7a2b3c4d-5e6f-4071-8b82-1c2d3e4f5a61"
STRANGER = "9c4d5e6f-7081-4293-8da4-3e4f5a6b7c83"
OWNER_GUID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
SERVER = f"/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web"


# --- 12c.azure-privileged-roles ---------------------------------------------------------------------


BUILT_IN_PERMISSIONS = {
    "owner": RolePermission(("*",), (), (), ()),
    "contributor": RolePermission(
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
        (),
        (),
    ),
    "reader": RolePermission(("*/read",), (), (), ()),
    "user access administrator": RolePermission(
        ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"), (), (), ()
    ),
}
"""The permissions of the built-in roles these tests assign, as Microsoft defines them."""


def assignment(
    role_name: str | None = "Owner",
    principal_id: str = OPS,
    *,
    scope: str = f"/subscriptions/{SUB}",
    role_problem: str | None = None,
    permissions: tuple[RolePermission, ...] | None = None,
) -> RoleAssignment:
    if permissions is None and role_name is not None and role_name.lower() in BUILT_IN_PERMISSIONS:
        permissions = (BUILT_IN_PERMISSIONS[role_name.lower()],)
    return RoleAssignment(
        id=f"{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-1001-4e5f-8a01-000000000001",
        subscription_id=SUB,
        scope=scope,
        role_definition_id=f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER_GUID}",
        role_name=role_name,
        principal_id=principal_id,
        principal_type="Group",
        role_problem=role_problem,
        permissions=permissions,
        permissions_problem=None if permissions is not None else "not given",
    )


def role_verdict(fact: RoleAssignment, *authorised: str, **policy: Any) -> Verdict:
    return verdict(
        c12c.test_privileged_role_is_held_by_an_authorised_principal,
        fact,
        policy=Policy(authorized_principals=list(authorised), **policy),
    )


def test_privileged_role_held_by_an_authorised_principal_passes() -> None:
    assert role_verdict(assignment("Owner", OPS), OPS, DBA).status == "pass"


def test_privileged_role_held_by_an_unlisted_principal_fails() -> None:
    result = role_verdict(
        assignment("Owner", STRANGER, scope=f"/subscriptions/{SUB}/resourceGroups/rg-web"), OPS
    )
    assert result.status == "fail"
    assert "Owner" in result.message
    assert STRANGER in result.message
    assert "resource group" in result.message
    assert "rg-web" in result.message


def test_principal_ids_are_compared_case_insensitively() -> None:
    assert role_verdict(assignment("Owner", OPS), OPS.upper()).status == "pass"


def test_role_names_are_compared_case_insensitively() -> None:
    fact = assignment("user access administrator", STRANGER)
    assert role_verdict(fact, OPS).status == "fail"


def test_non_privileged_role_passes_for_any_principal_and_says_so() -> None:
    result, evidence = verdict_and_evidence(
        c12c.test_privileged_role_is_held_by_an_authorised_principal,
        assignment("Reader", STRANGER),
        policy=Policy(authorized_principals=[OPS]),
    )
    assert result.status == "pass"
    assert "not in policy.privileged_roles" in english(evidence.observations["privileged"])
    assert "Reader" in result.message


def test_privileged_roles_come_from_the_policy() -> None:
    fact = assignment("Reader", STRANGER)
    assert role_verdict(fact, OPS, privileged_roles=["Reader"]).status == "fail", "named: privileged"
    result = role_verdict(assignment("Owner", STRANGER), OPS, privileged_roles=["Reader"])
    assert result.status == "fail", "not named, but its permissions ('*') make it privileged all the same"
    assert "privileged by its permissions" in result.message


def test_privileged_role_with_no_authorised_principals_fails_closed_and_asks_for_the_list() -> None:
    result = role_verdict(assignment("Owner", OPS))
    assert result.status == "fail"
    assert "nobody is authorised" in result.message
    assert "authorized_principals" in result.message


def test_unknown_role_is_an_error_even_for_an_authorised_principal() -> None:
    fact = assignment(
        None, OPS, role_problem="no role definition with this id is assignable in the subscription"
    )
    result = role_verdict(fact, OPS)
    assert result.status == "error"
    assert f"unknown role {OWNER_GUID}" in result.message
    assert "cannot be judged" in result.message


def test_role_definition_guid_matches_in_subscription_and_tenant_form() -> None:
    tenant_form = f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER_GUID.upper()}"
    subscription_form = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER_GUID}"
    assert role_guid_of(tenant_form) == role_guid_of(subscription_form) == OWNER_GUID


@pytest.mark.parametrize(
    ("scope", "level"),
    [
        ("/providers/Microsoft.Management/managementGroups/lucrasoft", "management group"),
        (f"/subscriptions/{SUB}", "subscription"),
        (f"/subscriptions/{SUB}/resourceGroups/rg-web", "resource group"),
        (f"{SERVER}", "resource"),
        ("/", "tenant"),
    ],
)
def test_scope_levels_are_named(scope: str, level: str) -> None:
    assert scope_level_of(scope) == level


# --- 12c.azure-sql-entra-admin ----------------------------------------------------------------------


def entra(
    login: str | None = "sg-lucrasoft-dba",
    sid: str | None = DBA,
    *,
    entra_only: bool | None = True,
    admin: bool = True,
) -> SqlEntraAdministration:
    return SqlEntraAdministration(
        server_id=SERVER,
        server_name="sql-web",
        admin=EntraAdmin(login, sid, "33333333-3333-4333-8333-333333333333") if admin else None,
        azure_ad_only_authentication=entra_only,
    )


def entra_verdict(fact: SqlEntraAdministration, *authorised: str) -> Verdict:
    return verdict(
        c12c.test_sql_server_is_administered_by_an_authorised_entra_admin,
        fact,
        policy=Policy(authorized_principals=list(authorised)),
    )


def test_authorised_entra_admin_with_entra_only_authentication_passes() -> None:
    assert entra_verdict(entra(), DBA).status == "pass"


def test_entra_admin_authorised_by_login_passes() -> None:
    assert (
        entra_verdict(entra(sid="00000000-0000-4000-8000-000000000000"), "SG-Lucrasoft-DBA").status == "pass"
    )


def test_entra_admin_sid_is_compared_case_insensitively() -> None:
    assert entra_verdict(entra(), DBA.upper()).status == "pass"


def test_server_without_entra_admin_fails() -> None:
    result = entra_verdict(entra(admin=False, entra_only=False), DBA)
    assert result.status == "fail"
    assert "no Entra ID administrator" in result.message


def test_entra_admin_not_in_authorised_principals_fails() -> None:
    result = entra_verdict(entra("k.jansen@lucrasoft.example", STRANGER), DBA)
    assert result.status == "fail"
    assert "k.jansen@lucrasoft.example" in result.message
    assert "not in policy.authorized_principals" in result.message


def test_entra_admin_with_no_authorised_principals_fails_closed() -> None:
    result = entra_verdict(entra())
    assert result.status == "fail"
    assert "nobody is authorised" in result.message


def test_sql_logins_still_enabled_fails() -> None:
    result = entra_verdict(entra(entra_only=False), DBA)
    assert result.status == "fail"
    assert "azureADOnlyAuthentication is false" in result.message


def test_entra_only_authentication_not_reported_fails() -> None:
    result = entra_verdict(entra(entra_only=None), DBA)
    assert result.status == "fail"
    assert "not reported" in result.message


# --- 11.azure-sql-backup-retention ------------------------------------------------------------------


def retention(*policies: tuple[str | None, str | None, str | None]) -> SqlBackupRetention:
    return SqlBackupRetention(
        database_id=f"{SERVER}/databases/emma",
        database_name="emma",
        server_id=SERVER,
        policies=tuple(
            LongTermRetention("default", weekly, monthly, yearly, 0) for weekly, monthly, yearly in policies
        ),
    )


def retention_verdict(fact: SqlBackupRetention, **policy: Any) -> Verdict:
    return verdict(c11.test_sql_database_backups_are_gone_after_three_months, fact, policy=Policy(**policy))


@pytest.mark.parametrize(
    ("duration", "days"),
    [
        ("PT0S", 0),
        ("P90D", 90),
        ("P12W", 84),
        ("P13W", 91),
        ("P14W", 98),
        ("P1M", 31),
        ("P2M", 62),
        ("P3M", 92),
        ("P12M", 366),
        ("P1Y", 366),
        ("P1Y2M3D", 431),
        ("P5Y", 5 * 365 + 2),
        ("PT36H", 1.5),
    ],
)
def test_durations_are_measured_by_their_longest_calendar_length(duration: str, days: float) -> None:
    assert c11.longest_days(duration) == days


def test_no_long_term_retention_policy_passes_because_nothing_is_kept() -> None:
    result, evidence = verdict_and_evidence(
        c11.test_sql_database_backups_are_gone_after_three_months, retention(), policy=Policy()
    )
    assert result.status == "pass"
    assert "nothing is kept long-term" in english(evidence.observations["long_term_retention"])


def test_retention_within_three_months_passes() -> None:
    assert retention_verdict(retention(("P12W", "P3M", "PT0S"))).status == "pass"


def test_retention_of_exactly_the_maximum_passes() -> None:
    assert retention_verdict(retention(("P3M", "P3M", "PT0S"))).status == "pass"


def test_thirteen_weeks_pass_and_fourteen_weeks_fail() -> None:
    assert retention_verdict(retention(("P13W", "PT0S", "PT0S"))).status == "pass"
    result = retention_verdict(retention(("P14W", "PT0S", "PT0S")))
    assert result.status == "fail"
    assert "weekly backups are kept for P14W" in result.message


def test_days_are_compared_as_durations() -> None:
    assert retention_verdict(retention(("P92D", "PT0S", "PT0S"))).status == "pass"
    assert retention_verdict(retention(("P93D", "PT0S", "PT0S"))).status == "fail"


def test_durations_are_not_compared_as_strings() -> None:
    # As text "P4W" > "P3M" and "P100D" < "P3M"; as durations 28 days pass and 100 days fail.
    assert retention_verdict(retention(("P4W", "PT0S", "PT0S"))).status == "pass"
    assert retention_verdict(retention(("P100D", "PT0S", "PT0S"))).status == "fail"


def test_monthly_retention_of_a_year_fails() -> None:
    result = retention_verdict(retention(("PT0S", "P12M", "PT0S")))
    assert result.status == "fail"
    assert "monthly backups are kept for P12M" in result.message


def test_any_yearly_retention_fails_even_when_short() -> None:
    result = retention_verdict(retention(("PT0S", "PT0S", "P1M")))
    assert result.status == "fail"
    assert "yearly retention must be unset" in result.message


@pytest.mark.parametrize("yearly", ["PT0S", "P0Y"])
def test_unset_yearly_retention_passes(yearly: str | None) -> None:
    assert retention_verdict(retention(("P12W", "PT0S", yearly))).status == "pass"


@pytest.mark.parametrize("period", [0, 1, 2])
@pytest.mark.parametrize("absent", [None, ""])
def test_retention_period_not_reported_is_an_error_not_unset(period: int, absent: str | None) -> None:
    values: list[str | None] = ["P12W", "PT0S", "PT0S"]
    values[period] = absent
    result = retention_verdict(retention((values[0], values[1], values[2])))
    assert result.status == "error"
    assert f"{('weekly', 'monthly', 'yearly')[period]}Retention is not reported" in result.message


def test_retention_period_not_reported_does_not_hide_a_definite_failure() -> None:
    result = retention_verdict(retention((None, "PT0S", "P5Y")))
    assert result.status == "fail"
    assert "yearly backups are kept for P5Y" in result.message
    assert "weeklyRetention is not reported" in result.message


def test_microsoft_example_policy_fails_on_monthly_and_yearly() -> None:
    # LongTermRetentionPolicyGet.json: weekly P1M, monthly P1Y, yearly P5Y.
    result = retention_verdict(retention(("P1M", "P1Y", "P5Y")))
    assert result.status == "fail"
    assert "monthly backups are kept for P1Y" in result.message
    assert "yearly backups are kept for P5Y" in result.message
    assert "weekly" not in result.message


def test_longer_maximum_from_the_policy_is_respected() -> None:
    assert retention_verdict(retention(("P12W", "P12M", "PT0S")), backup_max_retention="P1Y").status == "pass"


def test_twelve_months_and_a_year_are_the_same_length() -> None:
    assert c11.longest_days("P12M") == c11.longest_days("P1Y")


def test_negative_retention_duration_is_an_error() -> None:
    assert retention_verdict(retention(("-P1D", "PT0S", "PT0S"))).status == "error"


def test_unreadable_retention_duration_is_an_error() -> None:
    result = retention_verdict(retention(("three months", "PT0S", "PT0S")))
    assert result.status == "error"
    assert "three months" in result.message


# --- 13.azure-security-contacts ---------------------------------------------------------------------


def contacts(*entries: SecurityContact) -> SubscriptionSecurityContacts:
    return SubscriptionSecurityContacts(SUB, "Lucrasoft Production", tuple(entries))


def contact(
    emails: tuple[str, ...] = ("security@lucrasoft.example",),
    state: str | None = "On",
    severity: str | None = "Medium",
) -> SecurityContact:
    return SecurityContact("default", emails, state, severity)


def contact_verdict(fact: SubscriptionSecurityContacts, **policy: Any) -> Verdict:
    return verdict(c13.test_security_alerts_reach_a_contact_by_email, fact, policy=Policy(**policy))


def test_contact_with_email_and_medium_alerts_passes() -> None:
    assert contact_verdict(contacts(contact())).status == "pass"


def test_low_minimal_severity_passes() -> None:
    assert contact_verdict(contacts(contact(severity="Low"))).status == "pass"


def test_high_minimal_severity_fails_for_the_default_medium() -> None:
    result = contact_verdict(contacts(contact(severity="High")))
    assert result.status == "fail"
    assert "High" in result.message
    assert "Medium" in result.message


def test_high_minimal_severity_passes_when_the_policy_asks_only_for_high() -> None:
    assert (
        contact_verdict(contacts(contact(severity="High")), security_alert_min_severity="High").status
        == "pass"
    )
    assert (
        contact_verdict(contacts(contact(severity="Medium")), security_alert_min_severity="Low").status
        == "fail"
    )


def test_contact_without_email_fails() -> None:
    result = contact_verdict(contacts(contact(emails=())))
    assert result.status == "fail"
    assert "no e-mail address" in result.message


def test_alert_notifications_off_fails() -> None:
    result = contact_verdict(contacts(contact(state="Off")))
    assert result.status == "fail"
    assert "alert notifications are Off" in result.message


def test_alert_notifications_not_reported_fails() -> None:
    result = contact_verdict(contacts(contact(state=None, severity=None)))
    assert result.status == "fail"
    assert "not set" in result.message


def test_subscription_without_security_contact_fails() -> None:
    result = contact_verdict(contacts())
    assert result.status == "fail"
    assert "no security contact" in result.message


def test_one_good_contact_among_several_passes() -> None:
    fact = contacts(SecurityContact("old", (), "Off", "High"), contact())
    assert contact_verdict(fact).status == "pass"


def test_unknown_severity_is_an_error() -> None:
    result = contact_verdict(contacts(contact(severity="Critical")))
    assert result.status == "error"
    assert "Critical" in result.message


def test_emails_are_split_on_semicolons() -> None:
    assert split_emails("john@contoso.com;Jane@contoso.com; ") == ("john@contoso.com", "Jane@contoso.com")
    assert split_emails("") == ()
    assert split_emails(None) == ()


# --- 13.azure-sql-auditing --------------------------------------------------------------------------


def auditing(
    state: str | None = "Enabled", retention_days: int | None = 90, monitor: bool | None = False
) -> SqlAuditing:
    endpoint = "https://stlucrasoftaudit.blob.core.windows.net/"
    return SqlAuditing(SERVER, "sql-web", state, retention_days, monitor, endpoint)


def auditing_verdict(fact: SqlAuditing, **policy: Any) -> Verdict:
    return verdict(c13.test_sql_server_keeps_an_audit_trail, fact, policy=Policy(**policy))


def test_auditing_with_ninety_days_retention_passes() -> None:
    assert auditing_verdict(auditing(retention_days=90)).status == "pass"


def test_auditing_with_short_retention_fails() -> None:
    result = auditing_verdict(auditing(retention_days=30))
    assert result.status == "fail"
    assert "30 days" in result.message
    assert "90" in result.message


def test_auditing_with_unlimited_retention_passes() -> None:
    assert auditing_verdict(auditing(retention_days=0)).status == "pass"


def test_auditing_to_azure_monitor_passes_regardless_of_storage_retention() -> None:
    assert auditing_verdict(auditing(retention_days=7, monitor=True)).status == "pass"


def test_disabled_auditing_fails_even_with_a_monitor_target() -> None:
    result = auditing_verdict(auditing(state="Disabled", retention_days=0, monitor=True))
    assert result.status == "fail"
    assert "auditing is Disabled" in result.message


def test_auditing_state_not_reported_fails() -> None:
    assert auditing_verdict(auditing(state=None)).status == "fail"


def test_auditing_without_reported_retention_is_an_error() -> None:
    assert auditing_verdict(auditing(retention_days=None)).status == "error"


def test_audit_retention_minimum_comes_from_the_policy() -> None:
    assert auditing_verdict(auditing(retention_days=30), audit_min_retention_days=30).status == "pass"
    assert auditing_verdict(auditing(retention_days=90), audit_min_retention_days=365).status == "fail"
