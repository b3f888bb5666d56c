"""12g: all mobile data carriers (laptops, USB sticks, portable disks) are encrypted (attested)."""

from __future__ import annotations

from datetime import date

from collectors.attestations import MobileMediaAttestation
from collectors.config.policy import Policy
from controls.framework import Evidence, control
from reports.evidence import msg


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
        evidence_file=msg("present, hashed when attested and unchanged since"),
    )
    assert attestation.evidence is not None, evidence.fails(
        "no evidence file (e.g. an Intune export) for {scope}", scope=attestation.scope
    )
    assert attestation.evidence.unchanged, evidence.fails(
        "evidence file {path} changed since it was attested", path=attestation.evidence.path
    )
    assert age_days >= 0, evidence.fails(
        "the attestation is dated {attested_on}, after the run date {run_date}",
        attested_on=attestation.attested_on,
        run_date=run_date,
    )
    assert age_days <= policy.attestation_max_age_days, evidence.fails_n(
        "the attestation of {attested_on} is {age_days} day old (at most {max_days} allowed)",
        "the attestation of {attested_on} is {age_days} days old (at most {max_days} allowed)",
        "age_days",
        attested_on=attestation.attested_on,
        age_days=age_days,
        max_days=policy.attestation_max_age_days,
    )
    assert attestation.evidence.attested_sha256 is not None, evidence.fails(
        "no evidence_sha256 is attested for {path}: nothing shows it is the export that was relied on",
        path=attestation.evidence.path,
    )
