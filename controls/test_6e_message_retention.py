"""6e: messages are deleted 7 days after delivery and 30 days after a failed delivery."""

from __future__ import annotations

from collectors.config.policy import Policy
from collectors.databases.facts import MESSAGE_STORES, MessageStore
from controls.framework import Evidence, EvidenceMissing, control
from reports.evidence import Message, MessageParam, msg, msg_n


def _not_measured(kind: str, where: dict[str, MessageParam]) -> Message:
    """Return that the `kind` messages of a store were not measured."""
    if kind == "delivered":
        return msg(
            "application {application} (database {database} on server {server}): "
            "the delivered messages were not measured",
            **where,
        )
    return msg(
        "application {application} (database {database} on server {server}): "
        "the failed messages were not measured",
        **where,
    )


def _age_not_measured(kind: str, count: int, where: dict[str, MessageParam]) -> Message:
    """Return that `count` messages of `kind` were counted but their age was not measured."""
    if kind == "delivered":
        return msg_n(
            "application {application} (database {database} on server {server}): "
            "{n} delivered message was counted but its age was not measured",
            "application {application} (database {database} on server {server}): "
            "{n} delivered messages were counted but their age was not measured",
            "n",
            n=count,
            **where,
        )
    return msg_n(
        "application {application} (database {database} on server {server}): "
        "{n} failed message was counted but its age was not measured",
        "application {application} (database {database} on server {server}): "
        "{n} failed messages were counted but their age was not measured",
        "n",
        n=count,
        **where,
    )


def _too_old(kind: str, age: float, limit: int, count: int) -> Message:
    """Return that the oldest `kind` message is older than `limit` days (of `count` kept)."""
    if kind == "delivered":
        return msg_n(
            "the oldest delivered message is {age} days old (at most {limit} allowed; {n} delivered message kept)",
            "the oldest delivered message is {age} days old (at most {limit} allowed; {n} delivered messages kept)",
            "n",
            age=round(age, 1),
            limit=limit,
            n=count,
        )
    return msg_n(
        "the oldest failed message is {age} days old (at most {limit} allowed; {n} failed message kept)",
        "the oldest failed message is {age} days old (at most {limit} allowed; {n} failed messages kept)",
        "n",
        age=round(age, 1),
        limit=limit,
        n=count,
    )


@control("6e.message-retention", over=MESSAGE_STORES)
def test_messages_are_deleted_in_time(store: MessageStore, policy: Policy, evidence: Evidence) -> None:
    limits = {"delivered": policy.delivered_message_max_days, "failed": policy.failed_message_max_days}
    where: dict[str, MessageParam] = {
        "application": store.application,
        "database": store.database,
        "server": store.server,
    }
    observed: dict[str, object] = {"measured_by": store.measured_by}
    problems: list[Message] = []
    for kind, limit in limits.items():
        age = store.age(kind)
        if age is None:
            raise EvidenceMissing(_not_measured(kind, where))
        if age.count > 0 and age.oldest_age_days is None:
            raise EvidenceMissing(_age_not_measured(kind, age.count, where))
        observed[f"{kind}_count"] = age.count
        observed[f"oldest_{kind}_age_days"] = age.oldest_age_days
        if age.oldest_age_days is not None and age.oldest_age_days > limit:
            problems.append(_too_old(kind, age.oldest_age_days, limit, age.count))
    evidence.observed(**observed)
    evidence.expected(
        oldest_delivered_age_days=f"<= {limits['delivered']}", oldest_failed_age_days=f"<= {limits['failed']}"
    )
    assert not problems, evidence.fails(
        "application {application} (database {database} on server {server}): {problems}",
        problems=problems,
        **where,
    )
