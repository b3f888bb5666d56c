"""The subscriptions in scope: those configured, or all the credential can see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError
from azure.mgmt.resource.subscriptions import SubscriptionClient

from collectors.azure import fields
from collectors.azure.arm import ArmReader, ArmUnavailable, MalformedAnswer, describe_failure, failure_reason
from collectors.azure.reading import PARSE_FAILURES, calls_of
from collectors.messages import Reason
from reports.evidence import Source, msg

INACTIVE_STATES = frozenset({"disabled", "deleted"})
"""Subscription states that hold nothing to audit; any other state, unknown ones included, is audited."""


@dataclass(frozen=True)
class AzureSubscription:
    """A subscription the auditor reads, as the subscriptions API reports it."""

    id: str
    name: str
    state: str
    tenant_id: str | None

    @property
    def resource_id(self) -> str:
        """Return the ARM id of the subscription (/subscriptions/<guid>)."""
        return f"/subscriptions/{self.id}"


@dataclass(frozen=True)
class SubscriptionScope:
    """Which subscriptions are audited, and those configured but not visible to the credential."""

    subscriptions: list[AzureSubscription]
    missing: list[str]
    sources: tuple[Source, ...]
    unreadable: tuple[Reason, ...] = ()
    """Why entries of the subscription list could not be read (each is an `error` in every population)."""


def subscription_of(model: Any) -> AzureSubscription:
    """Return a subscription of the list answer; one without a text subscriptionId is unreadable."""
    sub_id = fields.text(model, "subscription_id", "subscriptionId", nested=False)
    if not sub_id:
        raise fields.FieldUnreadable(msg("the subscription has no subscriptionId"))
    return AzureSubscription(
        id=sub_id,
        name=fields.text(model, "display_name", "displayName", nested=False) or sub_id,
        state=fields.text(model, "state", "state", nested=False) or "unknown",
        tenant_id=fields.text(model, "tenant_id", "tenantId", nested=False),
    )


def subscriptions_in_scope(arm: ArmReader, configured: list[str]) -> SubscriptionScope:
    """Return the subscriptions to audit; raise ArmUnavailable when ARM cannot be read at all.

    Listing subscriptions is the run's first call, so a missing credential or an unreachable
    endpoint surfaces here as one clear message instead of one error per control.
    """
    client = SubscriptionClient(arm.credential, **arm.client_options())
    try:
        fetched = arm.fetch(lambda hook: client.subscriptions.list(raw_response_hook=hook))
    except ClientAuthenticationError as exc:
        raise ArmUnavailable(
            f"no usable Azure credential for {arm.endpoint}: {describe_failure(exc)} "
            "(set up a managed identity, workload identity, environment variables or `az login`)"
        ) from None
    except ServiceRequestError as exc:
        raise ArmUnavailable(
            f"cannot reach the ARM endpoint {arm.endpoint}: {describe_failure(exc)}"
        ) from None
    except MalformedAnswer as exc:
        if configured:
            return SubscriptionScope(
                subscriptions=[AzureSubscription(sub, sub, "unknown", None) for sub in configured],
                missing=[],
                sources=(),
            )
        # ARM answered, but not with a list the auditor can read: every Azure item is an error
        # (the rest of the audit still runs), never a run that looks empty.
        reason = msg(
            "the subscriptions the credential can see could not be listed: {failure} ({call})",
            failure=failure_reason(exc),
            call=exc.call,
        )
        return SubscriptionScope([], [], (), unreadable=(reason,))
    except AzureError as exc:
        if not configured:
            raise ArmUnavailable(
                f"cannot list subscriptions at {arm.endpoint}: {describe_failure(exc)}"
            ) from None
        return SubscriptionScope(
            subscriptions=[AzureSubscription(sub, sub, "unknown", None) for sub in configured],
            missing=[],
            sources=(),
        )
    visible: dict[str, AzureSubscription] = {}
    unreadable: list[Reason] = []
    for index, model in enumerate(fetched.value if isinstance(fetched.value, list) else []):
        try:
            subscription = subscription_of(model)
        except PARSE_FAILURES as exc:
            unreadable.append(
                msg(
                    "subscription {index} of the subscription list could not be read: {problem} ({calls})",
                    index=index,
                    problem=exc.reason if isinstance(exc, fields.FieldUnreadable) else str(exc),
                    calls=calls_of(fetched.sources),
                )
            )
            continue
        visible[subscription.id.lower()] = subscription
    if not configured:
        chosen = sorted(visible.values(), key=lambda s: s.id)
        return SubscriptionScope(
            [s for s in chosen if s.state.strip().lower() not in INACTIVE_STATES],
            [],
            fetched.sources,
            tuple(unreadable),
        )
    chosen, missing = [], []
    for sub in configured:
        if sub.lower() in visible:
            chosen.append(visible[sub.lower()])
        else:
            missing.append(sub)
    return SubscriptionScope(chosen, missing, fetched.sources, tuple(unreadable))
