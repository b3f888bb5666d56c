"""6e: a user is subscribed to a newsletter only after actively ticking the opt-in."""

from __future__ import annotations

from collectors.databases.facts import NEWSLETTER_SUBSCRIPTIONS, NewsletterSubscriptions
from controls.framework import Evidence, control


@control("6e.newsletter-opt-in", over=NEWSLETTER_SUBSCRIPTIONS)
def test_every_subscription_has_an_opt_in(subscriptions: NewsletterSubscriptions, evidence: Evidence) -> None:
    evidence.observed(
        measured_by=subscriptions.measured_by,
        subscriptions=subscriptions.total,
        without_opt_in=subscriptions.without_opt_in,
    )
    evidence.expected(without_opt_in=0)
    if subscriptions.total is None:
        assert subscriptions.without_opt_in == 0, evidence.fails_n(
            "application {application} (database {database} on server {server}): {n} newsletter "
            "subscription has no opt-in",
            "application {application} (database {database} on server {server}): {n} newsletter "
            "subscriptions have no opt-in",
            "n",
            n=subscriptions.without_opt_in,
            application=subscriptions.application,
            database=subscriptions.database,
            server=subscriptions.server,
        )
    assert subscriptions.without_opt_in == 0, evidence.fails_n(
        "application {application} (database {database} on server {server}): {n} of {total} newsletter "
        "subscriptions has no opt-in",
        "application {application} (database {database} on server {server}): {n} of {total} newsletter "
        "subscriptions have no opt-in",
        "n",
        n=subscriptions.without_opt_in,
        total=subscriptions.total,
        application=subscriptions.application,
        database=subscriptions.database,
        server=subscriptions.server,
    )
