"""8: web hosting and development data is stored inside the EU/EEA."""

from __future__ import annotations

from collectors.azure.facts import UNKNOWN_REGION, LocatedResource
from collectors.config.policy import Policy
from controls.framework import Evidence, EvidenceMissing, control
from reports.evidence import msg


@control("8.azure-region", over="azure.resources")
def test_resource_is_located_in_the_eu_eea(
    resource: LocatedResource, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(location=resource.location, type=resource.type)
    evidence.expected(location=msg("one of {regions}", regions=list(policy.allowed_regions)))
    if resource.location == UNKNOWN_REGION:
        raise EvidenceMissing(
            msg(
                "{type} {resource}: the answer names no location (region unknown)",
                type=resource.type,
                resource=resource.id,
            )
        )
    assert resource.location in policy.allowed_regions, evidence.fails(
        "{type} is in {location}, outside the allowed EU/EEA regions",
        type=resource.type,
        location=resource.location,
    )
