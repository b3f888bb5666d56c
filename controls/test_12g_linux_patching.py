"""12g: "Onze webservers worden maandelijks gepatched naar de laatste Windows updates." (Linux hosts)

Our web servers are patched monthly. On a Linux host the evidence is its package manager: apt
(`apt list --upgradable` against the index the host already has; the auditor never runs
`apt-get update`, which writes) or dnf/yum (`updateinfo list --security` from the metadata
cache). Neither says when a pending update was published, so any pending security update fails.

An index that has not been refreshed lately cannot show what is missing: a host whose newest
package list is older than policy.patch_assessment_max_age_days (default 7, the same limit as an
Azure patch assessment) fails too, because its "nothing pending" is not evidence of being patched.
"""

from __future__ import annotations

from datetime import date

from collectors.config.policy import Policy
from collectors.hosts.facts import HostFacts, LinuxPendingUpdate
from controls.framework import Evidence, EvidenceMissing, control
from reports.evidence import Message, msg, msg_n

SHOWN_UPDATES = 25
"""How many pending security updates the message names (the evidence lists all)."""


def _update_label(update: LinuxPendingUpdate) -> str:
    return f"{update.package} {update.version} ({update.origin})"


@control("12g.linux-patching", over="hosts.linux")
def test_linux_host_has_no_pending_security_updates(
    host: HostFacts, policy: Policy, run_date: date, evidence: Evidence
) -> None:
    updates = host.linux_updates
    if updates is None:
        raise EvidenceMissing(host.missing("linux_updates"))
    security = [u for u in updates.pending if u.security]
    index_age = (run_date - updates.index_updated.date()).days if updates.index_updated else None
    evidence.observed(
        package_manager=updates.manager,
        index_updated=updates.index_updated,
        index_age_days=index_age,
        pending_security_updates=[
            {"package": u.package, "version": u.version, "origin": u.origin} for u in security
        ],
        pending_other_updates=len(updates.pending) - len(security),
    )
    max_age = policy.patch_assessment_max_age_days
    evidence.expected(pending_security_updates=msg("none"), index_age_days=f"<= {max_age}")
    problems: list[Message] = []
    if security:
        named: Message | list[str] = [_update_label(u) for u in security[:SHOWN_UPDATES]]
        if len(security) > SHOWN_UPDATES:
            named = msg("{updates} and {n} more", updates=named, n=len(security) - SHOWN_UPDATES)
        problems.append(
            msg_n(
                "{n} pending security update ({manager}): {updates}",
                "{n} pending security updates ({manager}): {updates}",
                "n",
                n=len(security),
                manager=updates.manager,
                updates=named,
            )
        )
    if updates.index_updated is not None and index_age is not None and index_age > max_age:
        problems.append(
            msg_n(
                "the {manager} package index was last refreshed {refreshed}, {days} day before the run date "
                "(at most {max_age} allowed): updates published since are unknown to the host",
                "the {manager} package index was last refreshed {refreshed}, {days} days before the run date "
                "(at most {max_age} allowed): updates published since are unknown to the host",
                "days",
                manager=updates.manager,
                refreshed=updates.index_updated.date(),
                days=index_age,
                max_age=max_age,
            )
        )
    assert not problems, evidence.fails("host {host}: {problems}", host=host.name, problems=problems)
    if updates.index_updated is None:
        raise EvidenceMissing(
            msg(
                "host {host}: when the {manager} package index was last refreshed is unknown, so "
                "'no pending security update' cannot be relied on",
                host=host.name,
                manager=updates.manager,
            )
        )
