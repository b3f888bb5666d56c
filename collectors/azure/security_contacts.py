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

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.security import SecurityCenter

from collectors.azure.arm import describe_failure
from collectors.azure.base import AzureCollector, text_of
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable

SECURITY_CONTACTS = "azure.security_contacts"


@dataclass(frozen=True)
class SecurityContact:
    """One security contact setting of a subscription (usually the one named `default`)."""

    name: str
    emails: tuple[str, ...]
    alert_notifications: str | None
    """Whether alerts are e-mailed to `emails`: "On" or "Off" (None when not reported)."""
    minimal_severity: str | None
    """The lowest alert severity that is e-mailed: "High", "Medium" or "Low"."""
    notify_roles_state: str | None = None
    notify_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubscriptionSecurityContacts:
    """The security contacts configured for one subscription (possibly none)."""

    subscription_id: str
    subscription_name: str
    contacts: tuple[SecurityContact, ...]


def split_emails(text: str | None) -> tuple[str, ...]:
    """Return the addresses of ARM's semicolon-separated `emails` string (commas tolerated)."""
    if not text:
        return ()
    return tuple(part.strip() for part in text.replace(",", ";").split(";") if part.strip())


def contact_of(model: Any) -> SecurityContact:
    """Return the security contact an SDK `SecurityContact` model (2020-01-01-preview) describes."""
    alerts = getattr(model, "alert_notifications", None)
    by_role = getattr(model, "notifications_by_role", None)
    return SecurityContact(
        name=str(model.name or "default"),
        emails=split_emails(getattr(model, "emails", None)),
        alert_notifications=text_of(getattr(alerts, "state", None)),
        minimal_severity=text_of(getattr(alerts, "minimal_severity", None)),
        notify_roles_state=text_of(getattr(by_role, "state", None)),
        notify_roles=tuple(str(text_of(role)) for role in (getattr(by_role, "roles", None) or ())),
    )


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
        population = self.population(SECURITY_CONTACTS)
        client = self.security(subscription.id)
        try:
            fetched = self.arm.fetch(lambda hook: client.security_contacts.list(raw_response_hook=hook))
        except AzureError as exc:
            reason = (
                f"security contacts of subscription {subscription.id} could not be listed: "
                f"{describe_failure(exc)}"
            )
            population.add(unobservable(subscription.resource_id, reason))
            return
        fact = SubscriptionSecurityContacts(
            subscription_id=subscription.id,
            subscription_name=subscription.name,
            contacts=tuple(contact_of(model) for model in fetched.value),
        )
        population.add(observed(subscription.resource_id, fact, fetched.sources))
