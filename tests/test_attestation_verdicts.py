"""12a on attested certificates: what the attestation does not show is never a pass (fail-closed review)."""

from __future__ import annotations

from datetime import date

import pytest

from collectors.attestations import DatacenterCertificate, EvidenceFile
from collectors.config.policy import Policy
from controls import test_12a_datacenter_certification as c12a
from controls.framework import Verdict
from tests.control_calls import verdict

RUN_DATE = date(2026, 11, 29)
SHA = "5a3ae27e93add6da79fe3dbcd44d4d12592357e808e88cc19c9b9c981b0a68c4"


def certificate(
    standard: str = "ISO/IEC 27001:2022",
    *,
    attested_sha256: str | None = SHA,
    attested_on: date = date(2026, 11, 2),
) -> DatacenterCertificate:
    return DatacenterCertificate(
        datacenter="Databarn Rivium",
        standard=standard,
        issuer="DEMO Certification B.V.",
        scope="colocation",
        valid_until=date(2027, 9, 30),
        attested_by="DPO",
        attested_on=attested_on,
        evidence=EvidenceFile("/evidence/cert.txt", SHA, attested_sha256),
    )


def judged(fact: DatacenterCertificate) -> Verdict:
    return verdict(c12a.test_datacenter_certificate_is_current, fact, policy=Policy(), run_date=RUN_DATE)


@pytest.mark.parametrize(
    "standard", ["ISO 9001:2015", "SOC 2 Type II", "NEN 7510:2017", "ISO/IEC 27701:2019"]
)
def test_certificate_to_another_standard_is_not_iso27001(standard: str) -> None:
    """Was a false pass: any standard without '2013' in its name passed as ISO 27001."""
    result = judged(certificate(standard))
    assert result.status == "fail"
    assert "not an ISO/IEC 27001 certification" in result.message


@pytest.mark.parametrize("standard", ["ISO/IEC 27001", "ISO 27001 certified", "ISO/IEC 27001:20222"])
def test_certificate_without_its_edition_fails(standard: str) -> None:
    """Was a false pass: an edition the attestation does not name could be the withdrawn 2013 one."""
    result = judged(certificate(standard))
    assert result.status == "fail"
    assert "does not name its edition" in result.message


@pytest.mark.parametrize(
    "standard",
    ["ISO/IEC 27001:2022", "ISO 27001 : 2022", "NEN-EN-ISO/IEC 27001:2023", "ISO/IEC 27001:2022/Amd 1:2024"],
)
def test_current_editions_pass(standard: str) -> None:
    assert judged(certificate(standard)).status == "pass"


def test_certificate_without_an_attested_sha256_fails() -> None:
    """Was a pass: without an attested hash nothing shows the file is the certificate relied on."""
    result = judged(certificate(attested_sha256=None))
    assert result.status == "fail"
    assert "no evidence_sha256 is attested" in result.message


def test_attestation_dated_after_the_run_fails() -> None:
    result = judged(certificate(attested_on=date(2026, 12, 1)))
    assert result.status == "fail"
    assert "after the run date 29 November 2026" in result.message


def test_withdrawn_edition_message_is_unchanged() -> None:
    result = judged(certificate("ISO/IEC 27001:2013"))
    assert result.message == (
        "Databarn Rivium is certified to ISO/IEC 27001:2013, which stopped being valid on 31 October 2025"
    )
