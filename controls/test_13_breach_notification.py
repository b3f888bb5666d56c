"""13: data-breach protocol: customers are told within 24 hours by e-mail to their technical contact.

"Al naar gelang de uitkomst hiervan zullen klanten, binnen 24 uur, op de hoogte gesteld worden
door een email naar de technisch contactpersoon." Telling customers in time needs the team to
hear about incidents first (Defender for Cloud alerts e-mailed to a security contact) and an
audit trail to analyse them (SQL auditing kept long enough).
"""

from __future__ import annotations

from datetime import timedelta

from collectors.azure.facts import SecurityContact, SqlAuditing, SubscriptionSecurityContacts
from collectors.config.policy import Policy
from collectors.trackers.facts import BREACH_POPULATION, CLOCK_SKEW, BreachIncident
from controls.framework import Evidence, EvidenceMissing, NotApplicable, control
from reports.evidence import Message, msg
from reports.i18n.translation import english

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
"""Alert severities from least to most severe; a contact gets every alert at or above its minimum."""


class UnknownSeverity(ValueError):
    """An alert severity that is not High, Medium or Low; `reason` says which, in words."""

    def __init__(self, reason: Message) -> None:
        self.reason = reason
        super().__init__(english(reason))


def severity_rank(severity: str) -> int:
    """Return the rank of an alert severity (Low 1 < Medium 2 < High 3); UnknownSeverity (a ValueError) if unknown."""
    rank = SEVERITY_RANK.get(severity.strip().lower())
    if rank is None:
        raise UnknownSeverity(
            msg("unknown alert severity {severity} (expected High, Medium or Low)", severity=repr(severity))
        )
    return rank


def contact_problems(contact: SecurityContact, policy: Policy) -> list[Message]:
    """Return why one security contact does not get the alerts the policy requires (empty: it does)."""
    problems: list[Message] = []
    if not contact.emails:
        problems.append(msg("no e-mail address is set"))
    if (contact.alert_notifications or "").lower() != "on":
        problems.append(
            msg("alert notifications are {state}", state=contact.alert_notifications or msg("not set"))
        )
    wanted = policy.security_alert_min_severity
    if contact.minimal_severity is None:
        problems.append(msg("no minimal alert severity is set"))
    elif severity_rank(contact.minimal_severity) > severity_rank(wanted):
        problems.append(
            msg(
                "only alerts of severity {severity} and above are e-mailed (required: {required} and above)",
                severity=contact.minimal_severity,
                required=wanted,
            )
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
        emails=msg("at least one address"),
        alert_notifications="On",
        minimal_severity=msg("{severity} or lower", severity=policy.security_alert_min_severity),
    )
    name = subscription.subscription_name
    assert subscription.contacts, evidence.fails(
        "subscription {subscription} has no security contact: Defender for Cloud alerts reach nobody by e-mail",
        subscription=name,
    )
    findings: list[Message] = []
    unreadable: list[Message] = []
    for contact in subscription.contacts:
        try:
            problems = contact_problems(contact, policy)
        except UnknownSeverity as exc:
            unreadable.append(msg("{contact}: {reason}", contact=contact.name, reason=exc.reason))
            continue
        if not problems:
            return
        findings.append(msg("{contact}: {problems}", contact=contact.name, problems=problems))
    if unreadable:
        raise EvidenceMissing(
            msg(
                "security contact settings of subscription {subscription} cannot be judged: {problems}",
                subscription=name,
                problems=unreadable,
            )
        )
    raise AssertionError(
        evidence.fails(
            "no security contact of subscription {subscription} is e-mailed security alerts: {findings}",
            subscription=name,
            findings=findings,
        )
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
        retention=msg(
            "retentionDays >= {minimum} (0 = unlimited), or a Log Analytics / Event Hub target",
            minimum=minimum,
        ),
    )
    server = auditing.server_name
    assert (auditing.state or "").lower() == "enabled", evidence.fails(
        "auditing is {state} on server {server}: no audit trail is kept",
        state=auditing.state or msg("not reported"),
        server=server,
    )
    if auditing.azure_monitor_target:
        return
    if auditing.retention_days is None:
        raise EvidenceMissing(
            msg(
                "auditing of server {server} reports no retentionDays and no Azure Monitor target",
                server=server,
            )
        )
    assert auditing.retention_days == 0 or auditing.retention_days >= minimum, evidence.fails_n(
        "server {server} keeps audit records for {days} day, fewer than {minimum}, "
        "and sends them to no Log Analytics / Event Hub target",
        "server {server} keeps audit records for {days} days, fewer than {minimum}, "
        "and sends them to no Log Analytics / Event Hub target",
        "days",
        server=server,
        days=auditing.retention_days,
        minimum=minimum,
    )


@control("13.breach-notification-sla", over=BREACH_POPULATION)
def test_customers_are_notified_of_a_breach_in_time(
    incident: BreachIncident, policy: Policy, evidence: Evidence
) -> None:
    """Customers are told within policy.breach_notification_hours of detection when the analysis says so.

    Incidents whose analysis needs no notification are not_applicable items (the population stays
    complete). An incident with no recorded analysis is pending (not_applicable, saying until when)
    within the hours of its detection and fails after them: the absence of the analysis is never
    read as "no notification needed". Times later than the tracker's answer (beyond CLOCK_SKEW), or
    a notification before the detection, are not judged (error).
    """
    allowed = policy.breach_notification_hours
    delay = (
        round((incident.notified - incident.detected).total_seconds() / 3600, 1)
        if incident.notified is not None and incident.detected is not None
        else None
    )
    evidence.observed(
        key=incident.key,
        detected=incident.detected.isoformat() if incident.detected is not None else None,
        detected_from=incident.detected_from,
        notification_required=incident.notification_required,
        analysis_from=incident.analysis_from or None,
        notified=incident.notified.isoformat() if incident.notified is not None else None,
        notified_from=incident.notified_from,
        hours=delay,
    )
    evidence.expected(
        analysis=msg("recorded within {hours} hours of detection", hours=allowed),
        hours=msg("at most {hours} hours from detection to notification", hours=allowed),
    )
    if incident.notification_required is False:
        raise NotApplicable(
            msg("incident {key}: the analysis says customers need not be notified", key=incident.key)
        )
    if incident.detected is None:
        raise EvidenceMissing(msg("incident {key}: the detection time cannot be read", key=incident.key))
    latest = incident.observed_at + CLOCK_SKEW
    if incident.detected > latest:
        raise EvidenceMissing(
            msg(
                "incident {key} was detected at {detected}, later than the tracker's answer ({answered}): "
                "its times cannot be judged",
                key=incident.key,
                detected=incident.detected.isoformat(),
                answered=incident.observed_at.isoformat(),
            )
        )
    since_detection = round((incident.observed_at - incident.detected).total_seconds() / 3600, 1)
    if incident.notification_required is None:
        deadline = incident.detected + timedelta(hours=allowed)
        if incident.observed_at <= deadline:
            raise NotApplicable(
                msg(
                    "incident {key}: the analysis whether customers must be notified is pending until {deadline}",
                    key=incident.key,
                    deadline=deadline.isoformat(),
                )
            )
        raise AssertionError(
            evidence.fails(
                "incident {key} has no recorded analysis {hours} hours after detection: whether customers "
                "had to be notified in time cannot be shown",
                key=incident.key,
                hours=since_detection,
            )
        )
    if incident.notified is None:
        deadline = incident.detected + timedelta(hours=allowed)
        if incident.observed_at <= deadline:
            raise NotApplicable(
                msg(
                    "incident {key} requires customer notification, due by {deadline}: not yet recorded, and not "
                    "yet late",
                    key=incident.key,
                    deadline=deadline.isoformat(),
                )
            )
        raise AssertionError(
            evidence.fails(
                "incident {key} requires customer notification, but the tracker records none ({where}) "
                "{hours} hours after detection",
                key=incident.key,
                where=incident.notified_from,
                hours=since_detection,
            )
        )
    if incident.notified > latest:
        raise EvidenceMissing(
            msg(
                "incident {key} records its notification at {notified}, later than the tracker's answer "
                "({answered}): its times cannot be judged",
                key=incident.key,
                notified=incident.notified.isoformat(),
                answered=incident.observed_at.isoformat(),
            )
        )
    if incident.notified < incident.detected:
        raise EvidenceMissing(
            msg("incident {key} records its notification before its detection", key=incident.key)
        )
    late = incident.notified - incident.detected > timedelta(hours=allowed)
    assert not late, evidence.fails(
        "customers were notified of incident {key} {hours} hours after detection (at most {allowed})",
        key=incident.key,
        hours=delay,
        allowed=allowed,
    )
