"""Defender for Cloud security contacts: who is e-mailed about security alerts, per subscription.

`azure-mgmt-security` 7.0.0 (the stable SDK) reads `securityContacts` with api-version
2020-01-01-preview: `emails` is one semicolon-separated string, `alertNotifications` holds
`state` (On/Off) and `minimalSeverity` (High/Medium/Low). (The 2023-12-01-preview shape, with
`notificationsSources`, is read only by the 8.0 betas.)

One subject per subscription, id `/subscriptions/<id>`: a subscription without any contact is a
fact too (the control fails it). Security contacts are not in Resource Graph's `Resources` table,
so they are always read from ARM.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.security import SecurityCenter

from collectors.azure import fields
from collectors.azure.base import AzureCollector
from collectors.azure.facts import SECURITY_CONTACTS, SecurityContact, SubscriptionSecurityContacts
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed
from reports.evidence import msg


def split_emails(text: str | None) -> tuple[str, ...]:
    """Return the addresses of ARM's semicolon-separated `emails` string (commas tolerated)."""
    if not text:
        return ()
    return tuple(part.strip() for part in text.replace(",", ";").split(";") if part.strip())


def contact_of(model: Any) -> SecurityContact:
    """Return the security contact an SDK `SecurityContact` model (2020-01-01-preview) describes.

    Absent settings stay None (the control fails them); a setting of the wrong type is unreadable.
    """
    fields.obj(model, msg("a security contact"))
    alerts = fields.child(model, "alert_notifications", "alertNotifications")
    by_role = fields.child(model, "notifications_by_role", "notificationsByRole")
    return SecurityContact(
        name=fields.text(model, "name", "name", nested=False) or "default",
        emails=split_emails(fields.text(model, "emails", "emails")),
        alert_notifications=None
        if alerts is None
        else fields.text(alerts, "state", "alertNotifications.state", nested=False),
        minimal_severity=None
        if alerts is None
        else fields.text(alerts, "minimal_severity", "alertNotifications.minimalSeverity", nested=False),
        notify_roles_state=None
        if by_role is None
        else fields.text(by_role, "state", "notificationsByRole.state", nested=False),
        notify_roles=()
        if by_role is None
        else fields.texts(by_role, "roles", "notificationsByRole.roles", nested=False) or (),
    )


def contacts_of(models: Any) -> tuple[SecurityContact, ...]:
    """Return the contacts of a list answer; one that cannot be read makes the subscription's unreadable."""
    if not isinstance(models, list):
        raise fields.FieldUnreadable(msg("the security contact list is {shown}", shown=fields.shown(models)))
    return tuple(contact_of(model) for model in models)


class SecurityContactCollector(AzureCollector):
    """Reads the Defender for Cloud security contacts of every subscription in scope."""

    populations = (SECURITY_CONTACTS,)
    listed_types = ()

    def security(self, subscription_id: str) -> SecurityCenter:
        """Return the Defender for Cloud (Security Center) client of a subscription."""
        return self.client(SecurityCenter, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Collect one azure.security_contacts subject per subscription."""
        self.context.progress(f"azure: reading security contacts of {len(subscriptions)} subscription(s)")
        self.arm.map(self._contacts_of, subscriptions)

    def _contacts_of(self, subscription: AzureSubscription) -> None:
        client = self.security(subscription.id)
        found = self.read_parsed(
            msg(
                "security contacts of subscription {subscription} could not be listed",
                subscription=subscription.id,
            ),
            lambda hook: client.security_contacts.list(raw_response_hook=hook),
            contacts_of,
            failed=self.errors_for(subscription.resource_id, (SECURITY_CONTACTS,)),
        )
        if found is None:
            return
        contacts, sources = found
        fact = SubscriptionSecurityContacts(
            subscription_id=subscription.id, subscription_name=subscription.name, contacts=contacts
        )
        self.population(SECURITY_CONTACTS).add(observed(subscription.resource_id, fact, sources))
