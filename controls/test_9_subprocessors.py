"""9: sub-processors that store data outside the EU/EEA do so on a valid transfer basis."""

from __future__ import annotations

from datetime import date

from collectors.attestations import SubProcessorEntry
from controls.framework import Evidence, control

PRIVACY_SHIELD_INVALID_SINCE = date(2020, 7, 16)
"""The CJEU's Schrems II judgment (C-311/18) invalidated the EU-US Privacy Shield on this day."""

ADEQUACY_COUNTRIES = frozenset(
    {"AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"}
)
"""Countries with a European Commission adequacy decision (the US only through the DPF)."""

BASIS_NAMES = {
    "eu-us-dpf": "EU-US Data Privacy Framework",
    "scc": "Standard Contractual Clauses",
    "adequacy": "adequacy decision",
    "bcr": "Binding Corporate Rules",
    "privacy-shield": "EU-US Privacy Shield",
    "none": "none",
}


def transfer_basis_problem(entry: SubProcessorEntry) -> str | None:
    """Return why the sub-processor's transfer basis is not valid, or None when it is."""
    if entry.inside_eea:
        return None
    basis = entry.transfer_basis
    if basis == "privacy-shield":
        return f"the EU-US Privacy Shield is not a transfer basis since {PRIVACY_SHIELD_INVALID_SINCE} (Schrems II)"
    if basis == "none":
        return "no transfer basis is recorded"
    if basis == "eu-us-dpf" and entry.country != "US":
        return f"the EU-US Data Privacy Framework covers US recipients only, not {entry.country}"
    if basis == "adequacy":
        if entry.country not in ADEQUACY_COUNTRIES:
            return f"{entry.country} has no adequacy decision of the European Commission"
        return None
    if not (entry.basis_reference or "").strip():
        return (
            f"the {BASIS_NAMES[basis]} are claimed without a basis_reference "
            "(the DPF list entry, the signed clauses or the approved rules to check it against)"
        )
    return None


@control("9.subprocessor-transfer-basis", over="register.subprocessors")
def test_subprocessor_outside_eea_has_valid_transfer_basis(
    entry: SubProcessorEntry, evidence: Evidence
) -> None:
    evidence.observed(
        country=entry.country,
        inside_eu_eea=entry.inside_eea,
        transfer_basis=BASIS_NAMES[entry.transfer_basis],
        basis_reference=entry.basis_reference,
        services=entry.services,
        reviewed_on=entry.reviewed_on,
    )
    evidence.expected(
        transfer_basis="inside the EU/EEA, or DPF (US), SCCs, adequacy decision or BCRs",
        basis_reference="recorded for DPF, SCCs and BCRs",
    )
    problem = transfer_basis_problem(entry)
    assert problem is None, f"{entry.name} stores data in {entry.country}: {problem}"
