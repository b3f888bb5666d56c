"""8: web hosting and development data is stored inside the EU/EEA."""

from __future__ import annotations

from collectors.azure.facts import UNKNOWN_REGION, LocatedResource
from collectors.config import Policy
from controls.framework import Evidence, EvidenceMissing, control


@control("8.azure-region", over="azure.resources")
def test_resource_is_located_in_the_eu_eea(
    resource: LocatedResource, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(location=resource.location, type=resource.type)
    evidence.expected(location=f"one of {', '.join(policy.allowed_regions)}")
    if resource.location == UNKNOWN_REGION:
        raise EvidenceMissing(f"{resource.type} {resource.id}: the answer names no location (region unknown)")
    assert resource.location in policy.allowed_regions, (
        f"{resource.type} is in {resource.location}, outside the allowed EU/EEA regions"
    )
