"""12g: "Onze webservers worden maandelijks gepatched naar de laatste Windows updates." (Azure VMs)

Our web servers are patched monthly to the latest Windows updates. For Azure VMs the evidence
is Azure Update Manager's latest patch assessment (Resource Graph `patchassessmentresources`):
it must be recent, and it must not list a Critical or Security patch that has been out for
longer than the grace period.
"""

from __future__ import annotations

from datetime import date

from collectors.azure.facts import AvailablePatch, PatchAssessment
from collectors.config.policy import Policy
from controls.framework import Evidence, EvidenceMissing, control
from controls.patch_age import overdue_message, overdue_pending
from reports.evidence import Message, msg, msg_n

URGENT_CLASSIFICATIONS = ("critical", "security")
"""Classification words that make a pending patch urgent ("Critical", "Security", "Security Updates", ...)."""
COMPLETED_STATUSES = frozenset({"succeeded", "completedwithwarnings"})
"""Assessment statuses whose results can be relied on; InProgress is not yet, Failed/Unknown never."""


def patch_is_urgent(patch: AvailablePatch) -> bool:
    """Return True when a patch is classified Critical or Security (Windows and Linux spellings).

    A patch whose classification is not reported counts as urgent: it cannot be shown not to be.
    """
    if patch.classifications is None:
        return True
    return any(word in c.lower() for c in patch.classifications for word in URGENT_CLASSIFICATIONS)


def records_classified(assessment: PatchAssessment, word: str) -> int:
    """Return how many patch records the assessment returned with a classification containing `word`.

    Compared per classification with the summary's counts (a record of unknown classification
    proves neither), so one missing record is seen even when another class has a spare one.
    """
    return sum(
        1
        for patch in assessment.patches
        if patch.classifications is not None and any(word in c.lower() for c in patch.classifications)
    )


def patch_overdue(patch: AvailablePatch, run_date: date, grace_days: int) -> Message | None:
    """Return why a pending urgent patch is overdue on the run date, or None while it is within grace.

    A patch without a publish date cannot be shown to be within the grace period, so it counts as
    overdue (fail closed; Linux repositories often report no date).
    """
    return overdue_message(patch.published, run_date, grace_days, verb="published")


def _patch_label(patch: AvailablePatch) -> Message | str:
    kb_text = f"KB{patch.kb_id.upper().removeprefix('KB')}" if patch.kb_id else ""
    kb = f" ({kb_text})" if kb_text and kb_text.lower() not in patch.name.lower() else ""
    named = f"{patch.name}{kb}"
    if patch.classifications is None:
        return msg("{patch} [classification not reported]", patch=named)
    return f"{named} [{', '.join(patch.classifications)}]"


def _overdue_text(patch: AvailablePatch, reason: Message) -> Message:
    return msg("{patch}: {reason}", patch=_patch_label(patch), reason=reason)


def _records_short(classification: str, counted: int, records: int) -> Message:
    """Say that the assessment counts more patches of a classification than Resource Graph returned records."""
    return msg(
        "{patches} but only {records}",
        patches=msg_n(
            "{n} {classification} patch",
            "{n} {classification} patches",
            "n",
            n=counted,
            classification=classification,
        ),
        records=msg_n(
            "{n} {classification} record",
            "{n} {classification} records",
            "n",
            n=records,
            classification=classification,
        ),
    )


@control("12g.azure-update-manager", over="azure.vm_patch_assessments")
def test_vm_is_assessed_and_has_no_overdue_security_patches(
    assessment: PatchAssessment, policy: Policy, run_date: date, evidence: Evidence
) -> None:
    urgent = [p for p in assessment.patches if patch_is_urgent(p)]
    age_days = (run_date - assessment.last_modified.date()).days if assessment.last_modified else None
    evidence.observed(
        assessed=assessment.assessed,
        status=assessment.status,
        last_assessed=assessment.last_modified,
        age_days=age_days,
        critical_count=assessment.critical_count,
        security_count=assessment.security_count,
        pending_critical_or_security=[
            {
                "name": p.name,
                "kb_id": p.kb_id,
                "classifications": p.classifications,
                "published": p.published.date() if p.published else None,
            }
            for p in urgent
        ],
        patch_mode=assessment.patch_mode,
        assessment_mode=assessment.assessment_mode,
    )
    evidence.expected(
        status=msg("Succeeded or CompletedWithWarnings"),
        age_days=f"<= {policy.patch_assessment_max_age_days}",
        pending_critical_or_security=msg_n(
            "none published more than {days} day ago",
            "none published more than {days} days ago",
            "days",
            days=policy.pending_grace_days,
        ),
    )
    assert assessment.assessed, evidence.fails(
        "VM {vm} has no Update Manager patch assessment in Resource Graph (history: 7 days); assessment mode "
        "is {mode}: turn on periodic assessment (assessmentMode AutomaticByPlatform)",
        vm=assessment.vm_name,
        mode=assessment.assessment_mode or msg("not set"),
    )
    problems: list[Message] = []
    missing: list[Message] = []
    status = (assessment.status or "").lower()
    if status == "inprogress":
        missing.append(msg("the latest patch assessment is still in progress"))
    elif not status:
        missing.append(msg("the latest patch assessment reports no status"))
    elif status not in COMPLETED_STATUSES and assessment.error:
        problems.append(
            msg(
                "the latest patch assessment has status {status} ({error})",
                status=assessment.status,
                error=assessment.error,
            )
        )
    elif status not in COMPLETED_STATUSES:
        problems.append(msg("the latest patch assessment has status {status}", status=assessment.status))
    if age_days is None:
        missing.append(msg("the latest patch assessment reports no lastModifiedDateTime"))
    elif age_days < 0:
        problems.append(
            msg(
                "the patch assessment is dated {dated}, after the run date {run_date}",
                dated=assessment.last_modified,
                run_date=run_date,
            )
        )
    elif age_days > policy.patch_assessment_max_age_days:
        problems.append(
            msg_n(
                "the latest patch assessment is {days} day old (at most {max_days} allowed)",
                "the latest patch assessment is {days} days old (at most {max_days} allowed)",
                "days",
                days=age_days,
                max_days=policy.patch_assessment_max_age_days,
            )
        )
    overdue = [
        _overdue_text(p, reason)
        for p in urgent
        if (reason := patch_overdue(p, run_date, policy.pending_grace_days)) is not None
    ]
    if (pending := overdue_pending(overdue, policy.pending_grace_days, noun="patch")) is not None:
        problems.append(pending)
    assert not problems, evidence.fails("VM {vm}: {problems}", vm=assessment.vm_name, problems=problems)
    if assessment.critical_count is None or assessment.security_count is None:
        missing.append(
            msg(
                "the assessment does not report how many Critical and Security patches it found "
                "(availablePatchCountByClassification), so Resource Graph's patch records cannot be shown "
                "complete"
            )
        )
    short = [
        _records_short(classification, counted, records)
        for classification, counted, records in (
            ("Critical", assessment.critical_count or 0, records_classified(assessment, "critical")),
            ("Security", assessment.security_count or 0, records_classified(assessment, "security")),
        )
        if counted > records
    ]
    if short:
        missing.append(
            msg(
                "the assessment counts {shortfall} came back from Resource Graph, so the publish dates of the "
                "others are unknown",
                shortfall=short[0]
                if len(short) == 1
                else msg("{names} and {last}", names=short[0], last=short[1]),
            )
        )
    if missing:
        raise EvidenceMissing(msg("VM {vm}: {problems}", vm=assessment.vm_name, problems=missing))
