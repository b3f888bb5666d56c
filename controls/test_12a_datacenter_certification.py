"""12a: the datacenters are protected and certified to ISO 27001 (attested)."""

from __future__ import annotations

import re
from datetime import date

from collectors.attestations import DatacenterCertificate
from collectors.config.policy import Policy
from controls.framework import Evidence, control
from reports.evidence import Message, msg
from reports.i18n.translation import english

ISO27001_2013_LAST_VALID_DAY = date(2025, 10, 31)
"""The end of the transition to ISO/IEC 27001:2022: certificates to the 2013 edition stopped being valid."""


def is_iso27001_2013(standard: str) -> bool:
    """Return True when the certificate is to the withdrawn 2013 edition of ISO/IEC 27001.

    NEN-EN-ISO/IEC 27001:2017 is the European adoption of the 2013 edition (the usual name
    on Dutch certificates), and ended with it.
    """
    compact = standard.replace(" ", "")
    return "27001" in compact and ("2013" in compact or "27001:2017" in compact)


CURRENT_EDITION = re.compile(r"27001\D{0,3}(2022|2023)(?!\d)")
"""ISO/IEC 27001:2022, or its European adoption EN ISO/IEC 27001:2023 (CEN-CENELEC approved the text of
ISO/IEC 27001:2022 as EN ISO/IEC 27001:2023 without modification; NEN publishes it as NEN-EN-ISO/IEC 27001:2023)."""


def standard_problem_message(standard: str, run_date: date) -> Message | None:
    """Return why the attested standard is not a current ISO/IEC 27001 certification ("which ..."), or None.

    Exists so that a certificate to another standard (ISO 9001, SOC 2) or one whose edition is
    not stated is never read as ISO 27001-certified: the statement names ISO 27001, and after
    the transition only the 2022 edition is valid.
    """
    compact = standard.replace(" ", "")  # only digits and punctuation are compared: case does not matter
    if "27001" not in compact:
        return msg("which is not an ISO/IEC 27001 certification")
    if is_iso27001_2013(standard):
        if run_date > ISO27001_2013_LAST_VALID_DAY:
            return msg("which stopped being valid on {date}", date=ISO27001_2013_LAST_VALID_DAY)
        return None
    if CURRENT_EDITION.search(compact) is None:
        return msg("which does not name its edition (attest e.g. ISO/IEC 27001:2022)")
    return None


def standard_problem(standard: str, run_date: date) -> str | None:
    """Return standard_problem_message in English words, or None."""
    problem = standard_problem_message(standard, run_date)
    return None if problem is None else english(problem)


@control("12a.datacenter-certification", over="attestations.datacenters")
def test_datacenter_certificate_is_current(
    certificate: DatacenterCertificate, policy: Policy, run_date: date, evidence: Evidence
) -> None:
    days_left = (certificate.valid_until - run_date).days
    evidence.observed(
        standard=certificate.standard,
        issuer=certificate.issuer,
        scope=certificate.scope,
        valid_until=certificate.valid_until,
        days_left=days_left,
        attested_by=certificate.attested_by,
        attested_on=certificate.attested_on,
        evidence_file=certificate.evidence.path if certificate.evidence else None,
        evidence_sha256=certificate.evidence.sha256 if certificate.evidence else None,
    )
    evidence.expected(
        days_left=f"> {policy.certificate_min_days_left}",
        standard=msg(
            "a current edition (ISO/IEC 27001:2013 is not valid after {date})",
            date=ISO27001_2013_LAST_VALID_DAY,
        ),
        evidence_file=msg("present and unchanged since attested"),
    )
    assert certificate.evidence is not None, evidence.fails(
        "no evidence file is attested for {datacenter}", datacenter=certificate.datacenter
    )
    assert certificate.evidence.attested_sha256 is not None, evidence.fails(
        "no evidence_sha256 is attested for {path}: nothing shows it is the certificate that was relied on",
        path=certificate.evidence.path,
    )
    assert certificate.evidence.unchanged, evidence.fails(
        "evidence file {path} has sha256 {sha256}, not the attested {attested_sha256}",
        path=certificate.evidence.path,
        sha256=certificate.evidence.sha256,
        attested_sha256=certificate.evidence.attested_sha256,
    )
    problem = standard_problem_message(certificate.standard, run_date)
    assert problem is None, evidence.fails(
        "{datacenter} is certified to {standard}, {problem}",
        datacenter=certificate.datacenter,
        standard=certificate.standard,
        problem=problem,
    )
    assert certificate.attested_on <= run_date, evidence.fails(
        "the attestation is dated {attested_on}, after the run date {run_date}",
        attested_on=certificate.attested_on,
        run_date=run_date,
    )
    assert days_left >= 0, evidence.fails(
        "the certificate of {datacenter} expired on {valid_until}",
        datacenter=certificate.datacenter,
        valid_until=certificate.valid_until,
    )
    assert days_left > policy.certificate_min_days_left, evidence.fails_n(
        "the certificate of {datacenter} expires on {valid_until}, only {days_left} day from now",
        "the certificate of {datacenter} expires on {valid_until}, only {days_left} days from now",
        "days_left",
        datacenter=certificate.datacenter,
        valid_until=certificate.valid_until,
        days_left=days_left,
    )
