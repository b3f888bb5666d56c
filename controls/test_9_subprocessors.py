"""9: sub-processors that store data outside the EU/EEA do so on a valid transfer basis."""

from __future__ import annotations

from datetime import date

from collectors.attestations import SubProcessorEntry
from controls.framework import Evidence, control
from reports.evidence import N_, Message, msg
from reports.i18n.translation import english

PRIVACY_SHIELD_INVALID_SINCE = date(2020, 7, 16)
"""The CJEU's Schrems II judgment (C-311/18) invalidated the EU-US Privacy Shield on this day."""

ADEQUACY_COUNTRIES = frozenset(
    {"AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"}
)
"""Countries with a European Commission adequacy decision (the US only through the DPF)."""

BASIS_NAMES = {
    "eu-us-dpf": N_("EU-US Data Privacy Framework"),
    "scc": N_("Standard Contractual Clauses"),
    "adequacy": N_("adequacy decision"),
    "bcr": N_("Binding Corporate Rules"),
    "privacy-shield": N_("EU-US Privacy Shield"),
    "none": N_("none"),
}
"""The transfer bases the register may claim, in words (catalog texts)."""

CLAIMED_WITHOUT_REFERENCE = {
    "eu-us-dpf": N_(
        "the EU-US Data Privacy Framework is claimed without a basis_reference "
        "(the DPF list entry, the signed clauses or the approved rules to check it against)"
    ),
    "scc": N_(
        "the Standard Contractual Clauses are claimed without a basis_reference "
        "(the DPF list entry, the signed clauses or the approved rules to check it against)"
    ),
    "bcr": N_(
        "the Binding Corporate Rules are claimed without a basis_reference "
        "(the DPF list entry, the signed clauses or the approved rules to check it against)"
    ),
}
"""Per transfer basis that needs a reference to check it against: the finding when it has none."""


def transfer_basis_message(entry: SubProcessorEntry) -> Message | None:
    """Return why the sub-processor's transfer basis is not valid, or None when it is."""
    if entry.inside_eea:
        return None
    basis = entry.transfer_basis
    if basis == "privacy-shield":
        return msg(
            "the EU-US Privacy Shield is not a transfer basis since {date} (Schrems II)",
            date=PRIVACY_SHIELD_INVALID_SINCE,
        )
    if basis == "none":
        return msg("no transfer basis is recorded")
    if basis == "eu-us-dpf" and entry.country != "US":
        return msg(
            "the EU-US Data Privacy Framework covers US recipients only, not {country}", country=entry.country
        )
    if basis == "adequacy":
        if entry.country not in ADEQUACY_COUNTRIES:
            return msg("{country} has no adequacy decision of the European Commission", country=entry.country)
        return None
    if not (entry.basis_reference or "").strip():
        return msg(CLAIMED_WITHOUT_REFERENCE[basis])
    return None


def transfer_basis_problem(entry: SubProcessorEntry) -> str | None:
    """Return transfer_basis_message in English words, or None when the transfer basis is valid."""
    problem = transfer_basis_message(entry)
    return None if problem is None else english(problem)


@control("9.subprocessor-transfer-basis", over="register.subprocessors")
def test_subprocessor_outside_eea_has_valid_transfer_basis(
    entry: SubProcessorEntry, evidence: Evidence
) -> None:
    evidence.observed(
        country=entry.country,
        inside_eu_eea=entry.inside_eea,
        transfer_basis=msg(BASIS_NAMES[entry.transfer_basis]),
        basis_reference=entry.basis_reference,
        services=entry.services,
        reviewed_on=entry.reviewed_on,
    )
    evidence.expected(
        transfer_basis=msg("inside the EU/EEA, or DPF (US), SCCs, adequacy decision or BCRs"),
        basis_reference=msg("recorded for DPF, SCCs and BCRs"),
    )
    problem = transfer_basis_message(entry)
    assert problem is None, evidence.fails(
        "{name} stores data in {country}: {problem}", name=entry.name, country=entry.country, problem=problem
    )
