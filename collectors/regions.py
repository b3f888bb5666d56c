"""Azure regions whose datacenters are in EU or EEA countries (statement clause 8).

Programmatic region names from Microsoft's "Azure regions list", applied by the country the
region physically sits in. Not the "Europe" geography group: that one also holds the United
Kingdom and Switzerland, which are outside the EU/EEA. Norway is EEA (not EU) and included.
"""

from __future__ import annotations

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


def normalise_region(location: str) -> str:
    """Return the programmatic form of an ARM location ("West Europe" -> "westeurope").

    Some resource providers (App Service among them) report display names; ARM's own
    comparisons ignore case and spaces, and so do we.
    """
    return location.replace(" ", "").lower()
