"""12g: all mobile data carriers (laptops, USB sticks, portable disks) are encrypted (attested)."""

from __future__ import annotations

from datetime import date

from collectors.attestations import MobileMediaAttestation
from collectors.config import Policy
from controls.framework import Evidence, control


@control("12g.mobile-media-encryption", over="attestations.mobile_media")
def test_mobile_media_encryption_is_attested_recently(
    attestation: MobileMediaAttestation, policy: Policy, run_date: date, evidence: Evidence
) -> None:
    age_days = (run_date - attestation.attested_on).days
    evidence.observed(
        attested_by=attestation.attested_by,
        attested_on=attestation.attested_on,
        age_days=age_days,
        statement=attestation.statement,
        evidence_file=attestation.evidence.path if attestation.evidence else None,
        evidence_sha256=attestation.evidence.sha256 if attestation.evidence else None,
    )
    evidence.expected(
        age_days=f"<= {policy.attestation_max_age_days}",
        evidence_file="present, hashed when attested and unchanged since",
    )
    assert attestation.evidence is not None, (
        f"no evidence file (e.g. an Intune export) for {attestation.scope}"
    )
    assert attestation.evidence.unchanged, (
        f"evidence file {attestation.evidence.path} changed since it was attested"
    )
    assert age_days >= 0, f"the attestation is dated {attestation.attested_on}, after the run date {run_date}"
    assert age_days <= policy.attestation_max_age_days, (
        f"the attestation of {attestation.attested_on} is {age_days} days old "
        f"(at most {policy.attestation_max_age_days} allowed)"
    )
    assert attestation.evidence.attested_sha256 is not None, (
        f"no evidence_sha256 is attested for {attestation.evidence.path}: "
        "nothing shows it is the export that was relied on"
    )
