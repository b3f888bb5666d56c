"""Azure regions whose datacenters are in EU or EEA countries (statement clause 8).

Programmatic region names from Microsoft's "Azure regions list", applied by the country the
region physically sits in. Not the "Europe" geography group: that one also holds the United
Kingdom and Switzerland, which are outside the EU/EEA. Norway is EEA (not EU) and included.
"""

from __future__ import annotations

import difflib

EU_EEA_REGIONS: tuple[str, ...] = (
    "westeurope",  # Netherlands
    "northeurope",  # Ireland
    "francecentral",
    "francesouth",
    "germanywestcentral",
    "germanynorth",
    "swedencentral",
    "swedensouth",
    "italynorth",
    "polandcentral",
    "spaincentral",
    "austriaeast",
    "belgiumcentral",
    "denmarkeast",
    "norwayeast",  # EEA, not EU
    "norwaywest",  # EEA, not EU
)

NOT_EU_EEA_EUROPEAN_REGIONS: tuple[str, ...] = ("uksouth", "ukwest", "switzerlandnorth", "switzerlandwest")
"""European regions that are outside the EU/EEA; listed so the docs and tests can name them."""

EEA_COUNTRIES: frozenset[str] = frozenset(
    {
        # EU member states
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        # EEA, not EU
        "IS", "LI", "NO",
    }
)  # fmt: skip
"""ISO 3166-1 alpha-2 codes of the EU and EEA countries (for the sub-processor register)."""


AZURE_PUBLIC_REGIONS: tuple[str, ...] = (
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth", "brazilsoutheast",
    "canadacentral", "canadaeast",
    "centralindia", "southindia", "westindia", "jioindiacentral", "jioindiawest",
    "chilecentral",
    "denmarkeast",
    "eastasia", "southeastasia",
    "centralus", "eastus", "eastus2", "northcentralus", "southcentralus", "westcentralus",
    "westus", "westus2", "westus3",
    "centraluseuap", "eastus2euap",  # Microsoft's early-access (canary) regions
    "francecentral", "francesouth",
    "germanynorth", "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast", "japanwest",
    "koreacentral", "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northeurope", "westeurope",
    "norwayeast", "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth", "southafricawest",
    "spaincentral",
    "swedencentral", "swedensouth",
    "switzerlandnorth", "switzerlandwest",
    "taiwannorth", "taiwannorthwest",
    "uaecentral", "uaenorth",
    "uksouth", "ukwest",
)  # fmt: skip
"""Programmatic names of the Azure public cloud's regions.

Source: Microsoft Learn, "Azure regions list" (https://learn.microsoft.com/azure/reliability/regions-list,
column "Programmatic name"), cross-checked with `az account list-locations --query "[].name"`.
Microsoft opens regions every year: a newer name is accepted through
`policy.additional_region_names` until this list is updated.
"""

AZURE_SOVEREIGN_REGIONS: tuple[str, ...] = (
    # Azure Government (https://learn.microsoft.com/azure/azure-government/documentation-government-overview-dod)
    "usgovarizona", "usgoviowa", "usgovtexas", "usgovvirginia", "usdodcentral", "usdodeast",
    # Azure operated by 21Vianet (https://learn.microsoft.com/azure/china/resources-developer-guide)
    "chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3",
    # Microsoft Cloud Deutschland (closed 2021; resources of that era still carry these names)
    "germanycentral", "germanynortheast",
)  # fmt: skip
"""Region names of Microsoft's sovereign clouds (the [azure] endpoint may be one of them)."""

KNOWN_AZURE_REGIONS: frozenset[str] = frozenset(AZURE_PUBLIC_REGIONS + AZURE_SOVEREIGN_REGIONS)
"""Every region name policy.allowed_regions accepts without policy.additional_region_names."""


def region_hint(name: str) -> str | None:
    """Return the known region name closest to a misspelt one ("westeurop" -> "westeurope"), or None."""
    close = difflib.get_close_matches(normalise_region(name), sorted(KNOWN_AZURE_REGIONS), n=1, cutoff=0.75)
    return close[0] if close else None


def normalise_region(location: str) -> str:
    """Return the programmatic form of an ARM location ("West Europe" -> "westeurope").

    Some resource providers (App Service among them) report display names; ARM's own
    comparisons ignore case and spaces, and so do we.
    """
    return location.replace(" ", "").lower()
