"""10: requests for access, correction or erasure are processed within 5 working days.

"In geval van een inzage, correctie- of verwijderverzoek [...] zullen wij deze binnen 5 werkdagen
verwerken en bevestigen/opleveren." Every request of the tracker's register was resolved within
policy.dsr_working_days Dutch working days of its creation (weekends and Dutch public holidays
do not count); a request still open when the tracker was read fails once its deadline has passed.
Evidence holds the ticket key, the dates, the working-day count and the resolution the tracker
records (`resolution=`, a short workflow word): never the request's text.

A request closed as not planned, won't do or duplicate counts as handled: refusing a request (for
instance one that cannot be verified) or merging it into another is also processing and
confirming it, and the statement promises an answer in time, not a granted request. Its
resolution is in the evidence so that an auditor can sample those tickets. A ticket that is not
done is open, even when it still carries an old resolution time (reopened).

Times that cannot be true are not judged (`error`): a resolution before the creation, or a
creation or resolution later than the tracker's answer (beyond `CLOCK_SKEW`).
"""

from __future__ import annotations

from collectors.config.policy import Policy
from collectors.trackers.facts import CLOCK_SKEW, DSR_POPULATION, DataSubjectRequest
from controls.framework import Evidence, EvidenceMissing, control
from controls.working_days import local_date, working_day_deadline, working_days_between
from reports.evidence import msg


@control("10.data-subject-requests", over=DSR_POPULATION)
def test_data_subject_request_is_resolved_within_working_days(
    dsr: DataSubjectRequest, policy: Policy, evidence: Evidence
) -> None:
    allowed = policy.dsr_working_days
    created_on = local_date(dsr.created)
    deadline = working_day_deadline(created_on, allowed)
    ended = dsr.resolved if dsr.resolved is not None else dsr.observed_at
    days = working_days_between(created_on, local_date(ended))
    evidence.observed(
        key=dsr.key,
        created=dsr.created.isoformat(),
        resolved=dsr.resolved.isoformat() if dsr.resolved is not None else None,
        resolution=dsr.resolution,
        open_at=dsr.observed_at.isoformat() if dsr.resolved is None else None,
        working_days=days,
        deadline=deadline.isoformat(),
    )
    evidence.expected(
        working_days=msg("at most {days} Dutch working days after the day of creation", days=allowed)
    )
    latest = dsr.observed_at + CLOCK_SKEW
    if dsr.created > latest:
        raise EvidenceMissing(
            msg(
                "request {key} was created at {created}, later than the tracker's answer ({answered}): "
                "its times cannot be judged",
                key=dsr.key,
                created=dsr.created.isoformat(),
                answered=dsr.observed_at.isoformat(),
            )
        )
    if dsr.resolved is not None and dsr.resolved > latest:
        raise EvidenceMissing(
            msg(
                "request {key} was resolved at {resolved}, later than the tracker's answer ({answered}): "
                "its times cannot be judged",
                key=dsr.key,
                resolved=dsr.resolved.isoformat(),
                answered=dsr.observed_at.isoformat(),
            )
        )
    if dsr.resolved is not None and dsr.resolved < dsr.created:
        raise EvidenceMissing(
            msg("request {key} was resolved before it was created: its times cannot be judged", key=dsr.key)
        )
    if dsr.resolved is None:
        assert days <= allowed, evidence.fails(
            "request {key} is still open after {count} Dutch working days (created {created}, deadline {deadline})",
            key=dsr.key,
            count=days,
            created=created_on.isoformat(),
            deadline=deadline.isoformat(),
        )
        return
    assert days <= allowed, evidence.fails(
        "request {key} was resolved after {count} Dutch working days (created {created}, resolved {resolved}, "
        "deadline {deadline})",
        key=dsr.key,
        count=days,
        created=created_on.isoformat(),
        resolved=local_date(dsr.resolved).isoformat(),
        deadline=deadline.isoformat(),
    )
