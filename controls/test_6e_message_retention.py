"""6e: messages are deleted 7 days after delivery and 30 days after a failed delivery."""

from __future__ import annotations

from collectors.config import Policy
from collectors.databases.facts import MESSAGE_STORES, MessageStore
from controls.framework import Evidence, EvidenceMissing, control


@control("6e.message-retention", over=MESSAGE_STORES)
def test_messages_are_deleted_in_time(store: MessageStore, policy: Policy, evidence: Evidence) -> None:
    limits = {"delivered": policy.delivered_message_max_days, "failed": policy.failed_message_max_days}
    where = f"application {store.application} (database {store.database} on server {store.server})"
    observed: dict[str, object] = {"measured_by": store.measured_by}
    problems: list[str] = []
    for kind, limit in limits.items():
        age = store.age(kind)
        if age is None:
            raise EvidenceMissing(f"{where}: the {kind} messages were not measured")
        if age.count > 0 and age.oldest_age_days is None:
            raise EvidenceMissing(
                f"{where}: {age.count} {kind} message(s) were counted but their age was not measured"
            )
        observed[f"{kind}_count"] = age.count
        observed[f"oldest_{kind}_age_days"] = age.oldest_age_days
        if age.oldest_age_days is not None and age.oldest_age_days > limit:
            problems.append(
                f"the oldest {kind} message is {age.oldest_age_days:.1f} days old (at most {limit} allowed; "
                f"{age.count} {kind} message(s) kept)"
            )
    evidence.observed(**observed)
    evidence.expected(
        oldest_delivered_age_days=f"<= {limits['delivered']}", oldest_failed_age_days=f"<= {limits['failed']}"
    )
    assert not problems, f"{where}: " + "; ".join(problems)
