"""12g: "Onze webservers worden maandelijks gepatched naar de laatste Windows updates."

Our web servers are patched monthly to the latest Windows updates. For Azure VMs the evidence
is Azure Update Manager's latest patch assessment (Resource Graph `patchassessmentresources`):
it must be recent, and it must not list a Critical or Security patch that has been out for
longer than the grace period.
"""

from __future__ import annotations

from datetime import date

from collectors.azure.facts import AvailablePatch, PatchAssessment
from collectors.config import Policy
from controls.framework import Evidence, EvidenceMissing, control
from controls.patch_age import overdue_reason

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


def patch_overdue(patch: AvailablePatch, run_date: date, grace_days: int) -> str | None:
    """Return why a pending urgent patch is overdue on the run date, or None while it is within grace.

    A patch without a publish date cannot be shown to be within the grace period, so it counts as
    overdue (fail closed; Linux repositories often report no date).
    """
    return overdue_reason(patch.published, run_date, grace_days, verb="published")


def _patch_label(patch: AvailablePatch) -> str:
    kb_text = f"KB{patch.kb_id.upper().removeprefix('KB')}" if patch.kb_id else ""
    kb = f" ({kb_text})" if kb_text and kb_text.lower() not in patch.name.lower() else ""
    classes = (
        "classification not reported" if patch.classifications is None else ", ".join(patch.classifications)
    )
    return f"{patch.name}{kb} [{classes}]"


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
        status="Succeeded or CompletedWithWarnings",
        age_days=f"<= {policy.patch_assessment_max_age_days}",
        pending_critical_or_security=f"none published more than {policy.pending_grace_days} days ago",
    )
    assert assessment.assessed, (
        f"VM {assessment.vm_name} has no Update Manager patch assessment in Resource Graph (history: "
        f"7 days); assessment mode is {assessment.assessment_mode or 'not set'}: turn on periodic "
        "assessment (assessmentMode AutomaticByPlatform)"
    )
    problems: list[str] = []
    missing: list[str] = []
    status = (assessment.status or "").lower()
    if status == "inprogress":
        missing.append("the latest patch assessment is still in progress")
    elif not status:
        missing.append("the latest patch assessment reports no status")
    elif status not in COMPLETED_STATUSES:
        detail = f" ({assessment.error})" if assessment.error else ""
        problems.append(f"the latest patch assessment has status {assessment.status}{detail}")
    if age_days is None:
        missing.append("the latest patch assessment reports no lastModifiedDateTime")
    elif age_days < 0:
        problems.append(
            f"the patch assessment is dated {assessment.last_modified}, after the run date {run_date}"
        )
    elif age_days > policy.patch_assessment_max_age_days:
        problems.append(
            f"the latest patch assessment is {age_days} days old (at most "
            f"{policy.patch_assessment_max_age_days} allowed)"
        )
    overdue = [
        f"{_patch_label(p)}: {reason}"
        for p in urgent
        if (reason := patch_overdue(p, run_date, policy.pending_grace_days)) is not None
    ]
    if overdue:
        problems.append(
            f"{len(overdue)} Critical/Security patch(es) pending beyond the {policy.pending_grace_days}-day "
            "grace period: " + "; ".join(overdue)
        )
    assert not problems, f"VM {assessment.vm_name}: " + "; ".join(problems)
    if assessment.critical_count is None or assessment.security_count is None:
        missing.append(
            "the assessment does not report how many Critical and Security patches it found "
            "(availablePatchCountByClassification), so Resource Graph's patch records cannot be shown complete"
        )
    short = [
        f"{counted} {word} patch(es) but only {records} {word} record(s)"
        for word, counted, records in (
            ("Critical", assessment.critical_count or 0, records_classified(assessment, "critical")),
            ("Security", assessment.security_count or 0, records_classified(assessment, "security")),
        )
        if counted > records
    ]
    if short:
        missing.append(
            "the assessment counts " + " and ".join(short) + " came back from Resource Graph, so the "
            "publish dates of the others are unknown"
        )
    if missing:
        raise EvidenceMissing(f"VM {assessment.vm_name}: " + "; ".join(missing))
