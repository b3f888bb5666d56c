"""The subscriptions in scope: those configured, or all the credential can see."""

from __future__ import annotations

from dataclasses import dataclass

from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError
from azure.mgmt.resource.subscriptions import SubscriptionClient

from collectors.azure.arm import ArmReader, ArmUnavailable, describe_failure
from collectors.provenance import Source


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
    visible = {
        str(s.subscription_id).lower(): AzureSubscription(
            id=str(s.subscription_id),
            name=str(s.display_name or s.subscription_id),
            state=str(getattr(s.state, "value", s.state)),
            tenant_id=str(s.tenant_id) if s.tenant_id else None,
        )
        for s in fetched.value
    }
    if not configured:
        chosen = sorted(visible.values(), key=lambda s: s.id)
        return SubscriptionScope(
            [s for s in chosen if s.state in ("Enabled", "Warned", "PastDue")], [], fetched.sources
        )
    chosen, missing = [], []
    for sub in configured:
        if sub.lower() in visible:
            chosen.append(visible[sub.lower()])
        else:
            missing.append(sub)
    return SubscriptionScope(chosen, missing, fetched.sources)
