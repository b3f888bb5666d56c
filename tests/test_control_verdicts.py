"""A failing configuration for every pass condition: each control called directly on small literal facts.

The controls are plain functions (see controls/framework.py). They are reached through their
modules, never imported by name, so that pytest does not collect them here as tests.
"""

from __future__ import annotations

import ipaddress
from datetime import date, timedelta

import pytest

from collectors.attestations import (
    DatacenterCertificate,
    EvidenceFile,
    MobileMediaAttestation,
    SubProcessorEntry,
)
from collectors.azure.facts import FirewallRule, LocatedResource, SqlDatabase, SqlServer, SqlServerFirewall
from collectors.config.attestations import SubProcessor
from collectors.config.policy import IpNetwork, Policy
from controls import test_8_data_location as c8
from controls import test_9_subprocessors as c9
from controls import test_12a_datacenter_certification as c12a
from controls import test_12b_trusted_networks as c12b
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12f_encryption_in_transit as c12f
from controls import test_12g_mobile_media_encryption as c12g
from controls.framework import Evidence, EvidenceMissing, NotApplicable, Verdict, judge
from controls.networks import IpAddress, range_within
from controls.versions import tls_version
from tests.control_calls import verdict

RUN_DATE = date(2026, 11, 4)
SHA_A = "a" * 64
SHA_B = "b" * 64
CERTIFICATE_EVIDENCE = EvidenceFile("/evidence/cert.pdf", SHA_A, SHA_A)
MEDIA_EVIDENCE = EvidenceFile("/evidence/intune.csv", SHA_A, SHA_A)


# --- 12b.azure-sql-firewall ------------------------------------------------------------------------


def sql_server(
    *, public_network_access: str | None = "Enabled", minimal_tls_version: str | None = "1.2"
) -> SqlServer:
    return SqlServer(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web",
        name="sql-web",
        subscription_id="sub-1",
        resource_group="rg-web",
        location="westeurope",
        fqdn="sql-web.database.windows.net",
        minimal_tls_version=minimal_tls_version,
        public_network_access=public_network_access,
    )


def sql_firewall(
    *ranges: tuple[str, str], public_network_access: str | None = "Enabled"
) -> SqlServerFirewall:
    rules = tuple(FirewallRule(f"rule-{i}", start, end) for i, (start, end) in enumerate(ranges))
    return SqlServerFirewall(sql_server(public_network_access=public_network_access), rules)


def firewall_verdict(firewall: SqlServerFirewall, *trusted: str) -> Verdict:
    policy = Policy(trusted_networks=list(trusted))
    return verdict(c12b.test_sql_server_accepts_only_trusted_networks, firewall, policy=policy)


def test_public_network_access_disabled_passes_despite_open_rules() -> None:
    firewall = sql_firewall(
        ("0.0.0.0", "255.255.255.255"), ("0.0.0.0", "0.0.0.0"), public_network_access="Disabled"
    )
    assert firewall_verdict(firewall, "192.0.2.0/24").status == "pass"


def test_allow_azure_services_rule_fails() -> None:
    result = firewall_verdict(sql_firewall(("0.0.0.0", "0.0.0.0")), "192.0.2.0/24")
    assert result.status == "fail"
    assert "allow Azure services" in result.message


def test_allow_azure_services_rule_fails_even_with_broad_trusted_networks() -> None:
    result = firewall_verdict(sql_firewall(("0.0.0.0", "0.0.0.0")), "0.0.0.0/0", "::/0")
    assert result.status == "fail"


def test_rule_inside_trusted_network_passes() -> None:
    assert firewall_verdict(sql_firewall(("192.0.2.10", "192.0.2.20")), "192.0.2.0/24").status == "pass"


def test_rule_covering_exactly_the_trusted_network_passes() -> None:
    assert firewall_verdict(sql_firewall(("192.0.2.0", "192.0.2.255")), "192.0.2.0/24").status == "pass"


def test_rule_partly_overlapping_trusted_network_fails() -> None:
    result = firewall_verdict(sql_firewall(("192.0.2.200", "192.0.3.10")), "192.0.2.0/24")
    assert result.status == "fail"
    assert "192.0.2.200-192.0.3.10" in result.message


def test_rule_starting_before_trusted_network_fails() -> None:
    assert firewall_verdict(sql_firewall(("192.0.1.250", "192.0.2.10")), "192.0.2.0/24").status == "fail"


def test_rule_spanning_two_adjacent_trusted_networks_passes() -> None:
    firewall = sql_firewall(("192.0.2.128", "192.0.3.127"))
    assert firewall_verdict(firewall, "192.0.3.0/24", "192.0.2.0/24").status == "pass"


def test_rule_admitting_every_ipv4_address_fails() -> None:
    assert firewall_verdict(sql_firewall(("0.0.0.0", "255.255.255.255")), "192.0.2.0/24").status == "fail"


@pytest.mark.parametrize("ipv6_network", ["::/0", "::ffff:0:0/96", "::ffff:192.0.2.0/120"])
def test_ipv6_trusted_network_does_not_admit_ipv4_rule(ipv6_network: str) -> None:
    assert firewall_verdict(sql_firewall(("192.0.2.1", "192.0.2.1")), ipv6_network).status == "fail"


def test_one_untrusted_rule_among_trusted_ones_fails_and_is_named() -> None:
    firewall = sql_firewall(("192.0.2.1", "192.0.2.9"), ("198.51.100.7", "198.51.100.7"))
    result = firewall_verdict(firewall, "192.0.2.0/24")
    assert result.status == "fail"
    assert "rule-1" in result.message
    assert "rule-0" not in result.message


def test_no_firewall_rules_with_public_access_enabled_passes() -> None:
    assert firewall_verdict(sql_firewall(), "192.0.2.0/24").status == "pass"


def test_absent_public_network_access_is_treated_as_enabled() -> None:
    result = firewall_verdict(sql_firewall(("0.0.0.0", "255.255.255.255"), public_network_access=None))
    assert result.status == "fail"
    assert "Enabled" in result.message


def test_secured_by_perimeter_rules_are_still_evaluated() -> None:
    firewall = sql_firewall(("203.0.113.0", "203.0.113.255"), public_network_access="SecuredByPerimeter")
    assert firewall_verdict(firewall, "192.0.2.0/24").status == "fail"


def test_unreadable_firewall_rules_are_evidence_missing() -> None:
    firewall = SqlServerFirewall(
        sql_server(), None, "firewall rules could not be read: 403 AuthorizationFailed"
    )
    with pytest.raises(EvidenceMissing, match="403 AuthorizationFailed"):
        c12b.test_sql_server_accepts_only_trusted_networks(firewall, Policy(), Evidence(None))
    assert firewall_verdict(firewall, "0.0.0.0/0").status == "error"


def test_unreadable_firewall_rules_without_reason_are_evidence_missing() -> None:
    firewall = SqlServerFirewall(sql_server(), None)
    assert firewall_verdict(firewall, "0.0.0.0/0").status == "error"


@pytest.mark.parametrize("bad_address", ["10.0.0.300", "not-an-ip", "", "192.0.2.1/32"])
def test_malformed_firewall_rule_address_is_evidence_missing(bad_address: str) -> None:
    firewall = sql_firewall(("192.0.2.1", bad_address))
    with pytest.raises(EvidenceMissing, match="rule-0"):
        c12b.test_sql_server_accepts_only_trusted_networks(
            firewall, Policy(trusted_networks=["0.0.0.0/0"]), Evidence(None)
        )
    assert firewall_verdict(firewall, "0.0.0.0/0").status == "error"


def test_reversed_firewall_rule_range_is_evidence_missing() -> None:
    firewall = sql_firewall(("192.0.2.20", "192.0.2.10"))
    with pytest.raises(EvidenceMissing, match=r"rule-0 .*192\.0\.2\.20-192\.0\.2\.10"):
        c12b.test_sql_server_accepts_only_trusted_networks(
            firewall, Policy(trusted_networks=["0.0.0.0/0"]), Evidence(None)
        )


# --- controls/networks.py range_within ----------------------------------------------------------------


def address(text: str) -> IpAddress:
    return ipaddress.ip_address(text)


def networks(*cidrs: str) -> list[IpNetwork]:
    return [ipaddress.ip_network(cidr) for cidr in cidrs]


@pytest.mark.parametrize(
    ("start", "end", "trusted", "within"),
    [
        pytest.param("192.0.2.7", "192.0.2.7", ["192.0.2.0/24"], True, id="single-address-inside"),
        pytest.param("192.0.2.0", "192.0.2.255", ["192.0.2.0/24"], True, id="whole-network"),
        pytest.param("192.0.3.0", "192.0.3.0", ["192.0.2.0/24"], False, id="just-above"),
        pytest.param("192.0.1.255", "192.0.1.255", ["192.0.2.0/24"], False, id="just-below"),
        pytest.param("192.0.2.200", "192.0.3.10", ["192.0.2.0/24"], False, id="overlaps-high-end"),
        pytest.param("192.0.1.200", "192.0.2.10", ["192.0.2.0/24"], False, id="overlaps-low-end"),
        pytest.param(
            "192.0.2.0", "192.0.3.255", ["192.0.3.0/24", "192.0.2.0/24"], True, id="adjacent-unsorted"
        ),
        pytest.param("192.0.2.0", "192.0.4.255", ["192.0.2.0/24", "192.0.4.0/24"], False, id="gap-between"),
        pytest.param("10.1.0.0", "10.2.0.0", ["10.0.0.0/8", "10.1.0.0/16"], True, id="nested-large-first"),
        pytest.param("10.1.0.0", "10.2.0.0", ["10.1.0.0/16", "10.0.0.0/8"], True, id="nested-small-first"),
        pytest.param("0.0.0.0", "255.255.255.255", ["0.0.0.0/0"], True, id="everything-trusted"),
        pytest.param("255.255.255.255", "255.255.255.255", ["255.255.255.0/24"], True, id="top-of-space"),
        pytest.param("192.0.2.1", "192.0.2.1", [], False, id="no-trusted-networks"),
        pytest.param("192.0.2.1", "192.0.2.1", ["::/0"], False, id="ipv6-does-not-cover-ipv4"),
        pytest.param("2001:db8::1", "2001:db8::ff", ["2001:db8::/32"], True, id="ipv6-inside"),
        pytest.param(
            "2001:db9::1", "2001:db9::1", ["2001:db8::/32", "0.0.0.0/0"], False, id="ipv4-does-not-cover-ipv6"
        ),
        pytest.param("192.0.2.20", "192.0.2.10", ["0.0.0.0/0"], False, id="reversed"),
        pytest.param("192.0.2.1", "2001:db8::1", ["0.0.0.0/0", "::/0"], False, id="mixed-families"),
    ],
)
def test_range_within_trusted_networks(start: str, end: str, trusted: list[str], within: bool) -> None:
    assert range_within(address(start), address(end), networks(*trusted)) is within


# --- 12e.azure-sql-tde --------------------------------------------------------------------------------


def sql_database(tde_state: str | None) -> SqlDatabase:
    return SqlDatabase(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web/databases/shop",
        name="shop",
        server_id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web",
        location="westeurope",
        tde_state=tde_state,
    )


def test_tde_enabled_passes() -> None:
    assert verdict(c12e.test_sql_database_is_encrypted_at_rest, sql_database("Enabled")).status == "pass"


def test_tde_disabled_fails() -> None:
    result = verdict(c12e.test_sql_database_is_encrypted_at_rest, sql_database("Disabled"))
    assert result.status == "fail"
    assert "shop" in result.message


def test_tde_state_not_reported_fails() -> None:
    result = verdict(c12e.test_sql_database_is_encrypted_at_rest, sql_database(None))
    assert result.status == "fail"
    assert "not reported" in result.message


# --- 12f.azure-sql-min-tls ----------------------------------------------------------------------------


def tls_verdict(minimal_tls_version: str | None, min_tls: str = "1.2") -> Verdict:
    server = sql_server(minimal_tls_version=minimal_tls_version)
    return verdict(c12f.test_sql_server_refuses_old_tls, server, policy=Policy(min_tls=min_tls))


@pytest.mark.parametrize("minimal_tls_version", ["1.2", "1.3"])
def test_sql_min_tls_at_or_above_policy_passes(minimal_tls_version: str) -> None:
    assert tls_verdict(minimal_tls_version).status == "pass"


@pytest.mark.parametrize("minimal_tls_version", ["1.0", "1.1"])
def test_sql_min_tls_below_policy_fails(minimal_tls_version: str) -> None:
    result = tls_verdict(minimal_tls_version)
    assert result.status == "fail"
    assert "below 1.2" in result.message


@pytest.mark.parametrize("minimal_tls_version", [None, "None", "", "strongest", "1", "TLS 1.2 or later"])
def test_sql_min_tls_absent_or_unrecognisable_fails(minimal_tls_version: str | None) -> None:
    assert tls_verdict(minimal_tls_version).status == "fail"


def test_sql_min_tls_1_2_fails_when_policy_requires_1_3() -> None:
    assert tls_verdict("1.2", min_tls="1.3").status == "fail"
    assert tls_verdict("1.3", min_tls="1.3").status == "pass"


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("1.2", (1, 2)),
        ("1.3", (1, 3)),
        ("TLS1_2", (1, 2)),
        ("TLS1_0", (1, 0)),
        ("tls1_3", (1, 3)),
        (" 1.2 ", (1, 2)),
        ("1.10", (1, 10)),
        (None, None),
        ("None", None),
        ("", None),
        ("1", None),
        ("SSL3_0x", None),
    ],
)
def test_tls_version_parses_arm_spellings(text: str | None, version: tuple[int, int] | None) -> None:
    assert tls_version(text) == version


def test_tls_versions_compare_as_versions_not_strings() -> None:
    ten, two, three = tls_version("1.10"), tls_version("1.2"), tls_version("1.3")
    assert ten is not None
    assert two is not None
    assert three is not None
    assert ten > three > two
    assert tls_version("TLS1_2") == two


# --- 8.azure-region -----------------------------------------------------------------------------------


def region_verdict(location: str, policy: Policy | None = None) -> Verdict:
    resource = LocatedResource("/subscriptions/sub-1/resourceGroups/rg/providers/X/y/z", "X/y", location)
    return verdict(c8.test_resource_is_located_in_the_eu_eea, resource, policy=policy or Policy())


@pytest.mark.parametrize("location", ["westeurope", "norwayeast"])
def test_eu_eea_region_passes(location: str) -> None:
    assert region_verdict(location).status == "pass"


@pytest.mark.parametrize("location", ["uksouth", "switzerlandnorth", "eastus"])
def test_region_outside_eu_eea_fails(location: str) -> None:
    result = region_verdict(location)
    assert result.status == "fail"
    assert location in result.message


def test_custom_allowed_regions_are_honoured() -> None:
    policy = Policy(allowed_regions=["Germany West Central"])
    assert region_verdict("germanywestcentral", policy).status == "pass"
    assert region_verdict("westeurope", policy).status == "fail"


# --- 12a.datacenter-certification ---------------------------------------------------------------------


def certificate(
    *,
    standard: str = "ISO/IEC 27001:2022",
    valid_until: date = date(2027, 11, 4),
    evidence: EvidenceFile | None = CERTIFICATE_EVIDENCE,
) -> DatacenterCertificate:
    return DatacenterCertificate(
        datacenter="Databarn Rivium",
        standard=standard,
        issuer="Example Certification B.V.",
        scope="colocation",
        valid_until=valid_until,
        attested_by="DPO",
        attested_on=date(2025, 9, 1),
        evidence=evidence,
    )


def certificate_verdict(
    cert: DatacenterCertificate, run_date: date = RUN_DATE, policy: Policy | None = None
) -> Verdict:
    return verdict(
        c12a.test_datacenter_certificate_is_current, cert, policy=policy or Policy(), run_date=run_date
    )


def test_iso27001_2022_certificate_with_a_year_left_passes() -> None:
    assert certificate_verdict(certificate()).status == "pass"


def test_iso27001_2013_certificate_fails_after_2025_10_31() -> None:
    result = certificate_verdict(certificate(standard="ISO/IEC 27001:2013", valid_until=date(2027, 6, 1)))
    assert result.status == "fail"
    assert "31 October 2025" in result.message


def test_iso27001_2013_certificate_passes_before_transition_end() -> None:
    cert = certificate(standard="ISO/IEC 27001:2013", valid_until=date(2026, 6, 1))
    assert certificate_verdict(cert, run_date=date(2025, 10, 1)).status == "pass"


def test_dutch_nen_en_27001_2017_certificate_fails_after_2025_10_31() -> None:
    # NEN-EN-ISO/IEC 27001:2017 is the European adoption of ISO/IEC 27001:2013 (+ Cor 1, Cor 2);
    # its certificates ended with the same transition. Dutch certificates usually name it this way.
    cert = certificate(standard="NEN-EN-ISO/IEC 27001:2017", valid_until=date(2027, 6, 1))
    assert certificate_verdict(cert).status == "fail"


def test_dutch_nen_en_27001_2023_certificate_passes() -> None:
    # NEN-EN-ISO/IEC 27001:2023 adopts ISO/IEC 27001:2022: a current edition.
    assert certificate_verdict(certificate(standard="NEN-EN-ISO/IEC 27001:2023")).status == "pass"


def test_expired_certificate_fails() -> None:
    result = certificate_verdict(certificate(valid_until=RUN_DATE - timedelta(days=1)))
    assert result.status == "fail"
    assert "expired" in result.message


def test_certificate_with_10_days_left_fails() -> None:
    result = certificate_verdict(certificate(valid_until=RUN_DATE + timedelta(days=10)))
    assert result.status == "fail"
    assert "10 days" in result.message


def test_certificate_with_exactly_minimum_days_left_fails() -> None:
    assert certificate_verdict(certificate(valid_until=RUN_DATE + timedelta(days=30))).status == "fail"
    assert certificate_verdict(certificate(valid_until=RUN_DATE + timedelta(days=31))).status == "pass"


def test_certificate_minimum_days_left_follows_policy() -> None:
    cert = certificate(valid_until=RUN_DATE + timedelta(days=10))
    assert certificate_verdict(cert, policy=Policy(certificate_min_days_left=5)).status == "pass"


def test_certificate_without_evidence_file_fails() -> None:
    result = certificate_verdict(certificate(evidence=None))
    assert result.status == "fail"
    assert "no evidence file" in result.message


def test_certificate_evidence_sha256_mismatch_fails() -> None:
    result = certificate_verdict(certificate(evidence=EvidenceFile("/evidence/cert.pdf", SHA_B, SHA_A)))
    assert result.status == "fail"
    assert SHA_A in result.message


def test_certificate_evidence_sha256_attested_in_upper_case_passes() -> None:
    cert = certificate(evidence=EvidenceFile("/evidence/cert.pdf", SHA_A, SHA_A.upper()))
    assert certificate_verdict(cert).status == "pass"


# --- 12g.mobile-media-encryption ----------------------------------------------------------------------


def media_attestation(
    *, age_days: int, evidence: EvidenceFile | None = MEDIA_EVIDENCE
) -> MobileMediaAttestation:
    return MobileMediaAttestation(
        scope="laptops and removable media",
        statement="All managed devices report BitLocker protection On.",
        attested_by="IT operations",
        attested_on=RUN_DATE - timedelta(days=age_days),
        evidence=evidence,
    )


def media_verdict(attestation: MobileMediaAttestation, policy: Policy | None = None) -> Verdict:
    return verdict(
        c12g.test_mobile_media_encryption_is_attested_recently,
        attestation,
        policy=policy or Policy(),
        run_date=RUN_DATE,
    )


def test_mobile_media_attestation_10_days_old_passes() -> None:
    assert media_verdict(media_attestation(age_days=10)).status == "pass"


def test_mobile_media_attestation_100_days_old_fails() -> None:
    result = media_verdict(media_attestation(age_days=100))
    assert result.status == "fail"
    assert "100 days old" in result.message


def test_mobile_media_attestation_age_limit_is_inclusive() -> None:
    assert media_verdict(media_attestation(age_days=92)).status == "pass"
    assert media_verdict(media_attestation(age_days=93)).status == "fail"


def test_mobile_media_attestation_age_limit_follows_policy() -> None:
    assert media_verdict(media_attestation(age_days=40), Policy(attestation_max_age_days=30)).status == "fail"


def test_mobile_media_attestation_in_the_future_fails() -> None:
    result = media_verdict(media_attestation(age_days=-1))
    assert result.status == "fail"
    assert "after the run date" in result.message


def test_mobile_media_attestation_without_evidence_fails() -> None:
    assert media_verdict(media_attestation(age_days=10, evidence=None)).status == "fail"


def test_mobile_media_attestation_without_attested_sha256_fails() -> None:
    evidence = EvidenceFile("/evidence/intune.csv", SHA_A, None)
    result = media_verdict(media_attestation(age_days=10, evidence=evidence))
    assert result.status == "fail"
    assert "no evidence_sha256" in result.message


def test_mobile_media_attestation_with_changed_evidence_fails() -> None:
    evidence = EvidenceFile("/evidence/intune.csv", SHA_B, SHA_A)
    assert media_verdict(media_attestation(age_days=10, evidence=evidence)).status == "fail"


# --- 9.subprocessor-transfer-basis --------------------------------------------------------------------


def subprocessor(
    country: str, transfer_basis: str, basis_reference: str | None = "signed 2024-03-01"
) -> SubProcessorEntry:
    return SubProcessorEntry(
        name="Example Mail Inc.",
        services=("A. webhosting",),
        country=country,
        inside_eea=SubProcessor(name="Example Mail Inc.", country=country).inside_eea(),
        transfer_basis=transfer_basis,
        basis_reference=basis_reference,
        reviewed_on=date(2026, 11, 1),
    )


def transfer_verdict(country: str, transfer_basis: str) -> Verdict:
    return verdict(
        c9.test_subprocessor_outside_eea_has_valid_transfer_basis, subprocessor(country, transfer_basis)
    )


def test_privacy_shield_transfer_basis_fails() -> None:
    result = transfer_verdict("US", "privacy-shield")
    assert result.status == "fail"
    assert "Privacy Shield" in result.message


def test_no_transfer_basis_outside_eea_fails() -> None:
    assert transfer_verdict("US", "none").status == "fail"


def test_eu_us_dpf_for_us_recipient_passes() -> None:
    assert transfer_verdict("US", "eu-us-dpf").status == "pass"


def test_eu_us_dpf_for_non_us_recipient_fails() -> None:
    result = transfer_verdict("IN", "eu-us-dpf")
    assert result.status == "fail"
    assert "IN" in result.message


@pytest.mark.parametrize("country", ["US", "IN", "CN"])
def test_standard_contractual_clauses_pass(country: str) -> None:
    assert transfer_verdict(country, "scc").status == "pass"


@pytest.mark.parametrize("basis", ["eu-us-dpf", "scc", "bcr"])
@pytest.mark.parametrize("reference", [None, "", "   "])
def test_transfer_basis_claimed_without_a_reference_fails(basis: str, reference: str | None) -> None:
    entry = subprocessor("US", basis, basis_reference=reference)
    result = verdict(c9.test_subprocessor_outside_eea_has_valid_transfer_basis, entry)
    assert result.status == "fail"
    assert "without a basis_reference" in result.message


def test_adequacy_decision_needs_no_reference() -> None:
    entry = subprocessor("JP", "adequacy", basis_reference=None)
    assert verdict(c9.test_subprocessor_outside_eea_has_valid_transfer_basis, entry).status == "pass"


def test_adequacy_decision_for_japan_passes() -> None:
    assert transfer_verdict("JP", "adequacy").status == "pass"


def test_adequacy_decision_for_us_fails() -> None:
    assert transfer_verdict("US", "adequacy").status == "fail"


@pytest.mark.parametrize("country", ["NL", "NO", "DE", "IS"])
def test_subprocessor_inside_eea_passes_without_transfer_basis(country: str) -> None:
    assert transfer_verdict(country, "none").status == "pass"


@pytest.mark.parametrize("country", ["GB", "CH"])
def test_european_country_outside_eea_needs_a_transfer_basis(country: str) -> None:
    assert transfer_verdict(country, "none").status == "fail"
    assert transfer_verdict(country, "adequacy").status == "pass"


# --- judge() ------------------------------------------------------------------------------------------


def test_judge_no_exception_is_pass() -> None:
    evidence = Evidence(None)
    evidence.observed(tde_state="Enabled")
    assert judge(None, evidence) == Verdict("pass", "tde_state = Enabled")
    assert judge(None, None).status == "pass"


def test_judge_assertion_error_is_fail() -> None:
    assert judge(AssertionError("TDE is Disabled\nassert 'disabled' == 'enabled'"), None) == Verdict(
        "fail", "TDE is Disabled"
    )
    assert judge(AssertionError(), None).status == "fail"


def test_judge_evidence_missing_is_error() -> None:
    assert judge(EvidenceMissing("firewall rules could not be read"), None) == Verdict(
        "error", "firewall rules could not be read"
    )


def test_judge_not_applicable_is_not_applicable() -> None:
    assert judge(NotApplicable("no SQL servers in scope"), None) == Verdict(
        "not_applicable", "no SQL servers in scope"
    )


@pytest.mark.parametrize(
    "exc", [KeyError("minimalTlsVersion"), TypeError("None is not iterable"), ValueError("x"), RuntimeError()]
)
def test_judge_unexpected_exception_is_error_never_pass(exc: Exception) -> None:
    result = judge(exc, Evidence(None))
    assert result.status == "error"
    assert type(exc).__name__ in result.message
