"""13: data-breach protocol: customers are told within 24 hours by e-mail to their technical contact.

"Al naar gelang de uitkomst hiervan zullen klanten, binnen 24 uur, op de hoogte gesteld worden
door een email naar de technisch contactpersoon." Telling customers in time needs the team to
hear about incidents first (Defender for Cloud alerts e-mailed to a security contact) and an
audit trail to analyse them (SQL auditing kept long enough).
"""

from __future__ import annotations

from collectors.azure.facts import SecurityContact, SqlAuditing, SubscriptionSecurityContacts
from collectors.config import Policy
from controls.framework import Evidence, EvidenceMissing, control

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
"""Alert severities from least to most severe; a contact gets every alert at or above its minimum."""


def severity_rank(severity: str) -> int:
    """Return the rank of an alert severity (Low 1 < Medium 2 < High 3); ValueError if unknown."""
    rank = SEVERITY_RANK.get(severity.strip().lower())
    if rank is None:
        raise ValueError(f"unknown alert severity {severity!r} (expected High, Medium or Low)")
    return rank


def contact_problems(contact: SecurityContact, policy: Policy) -> list[str]:
    """Return why one security contact does not get the alerts the policy requires (empty: it does)."""
    problems = []
    if not contact.emails:
        problems.append("no e-mail address is set")
    if (contact.alert_notifications or "").lower() != "on":
        problems.append(f"alert notifications are {contact.alert_notifications or 'not set'}")
    wanted = policy.security_alert_min_severity
    if contact.minimal_severity is None:
        problems.append("no minimal alert severity is set")
    elif severity_rank(contact.minimal_severity) > severity_rank(wanted):
        problems.append(
            f"only alerts of severity {contact.minimal_severity} and above are e-mailed "
            f"(required: {wanted} and above)"
        )
    return problems


@control("13.azure-security-contacts", over="azure.security_contacts")
def test_security_alerts_reach_a_contact_by_email(
    subscription: SubscriptionSecurityContacts, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(
        security_contacts=[
            {
                "name": c.name,
                "emails": list(c.emails),
                "alert_notifications": c.alert_notifications,
                "minimal_severity": c.minimal_severity,
            }
            for c in subscription.contacts
        ]
    )
    evidence.expected(
        emails="at least one address",
        alert_notifications="On",
        minimal_severity=f"{policy.security_alert_min_severity} or lower",
    )
    name = subscription.subscription_name
    assert subscription.contacts, (
        f"subscription {name} has no security contact: Defender for Cloud alerts reach nobody by e-mail"
    )
    findings: list[str] = []
    unreadable: list[str] = []
    for contact in subscription.contacts:
        try:
            problems = contact_problems(contact, policy)
        except ValueError as exc:
            unreadable.append(f"{contact.name}: {exc}")
            continue
        if not problems:
            return
        findings.append(f"{contact.name}: " + ", ".join(problems))
    if unreadable:
        raise EvidenceMissing(
            f"security contact settings of subscription {name} cannot be judged: " + "; ".join(unreadable)
        )
    raise AssertionError(
        f"no security contact of subscription {name} is e-mailed security alerts: " + "; ".join(findings)
    )


@control("13.azure-sql-auditing", over="azure.sql_auditing")
def test_sql_server_keeps_an_audit_trail(auditing: SqlAuditing, policy: Policy, evidence: Evidence) -> None:
    minimum = policy.audit_min_retention_days
    evidence.observed(
        state=auditing.state,
        retention_days=auditing.retention_days,
        azure_monitor_target=auditing.azure_monitor_target,
        storage_endpoint=auditing.storage_endpoint,
    )
    evidence.expected(
        state="Enabled",
        retention=f"retentionDays >= {minimum} (0 = unlimited), or a Log Analytics / Event Hub target",
    )
    server = auditing.server_name
    assert (auditing.state or "").lower() == "enabled", (
        f"auditing is {auditing.state or 'not reported'} on server {server}: no audit trail is kept"
    )
    if auditing.azure_monitor_target:
        return
    if auditing.retention_days is None:
        raise EvidenceMissing(
            f"auditing of server {server} reports no retentionDays and no Azure Monitor target"
        )
    assert auditing.retention_days == 0 or auditing.retention_days >= minimum, (
        f"server {server} keeps audit records for {auditing.retention_days} days, fewer than {minimum}, "
        "and sends them to no Log Analytics / Event Hub target"
    )
