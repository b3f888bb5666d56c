"""What people vouch for where no collector can look: attestations (`[[attestations]]`) and the
sub-processor register (`[[subprocessors]]`, statement clause 9).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from collectors.regions import EEA_COUNTRIES
from reports.setting_types import ConfigPath, ConfigSection


class Attestation(ConfigSection):
    """A person vouches for a measure that no collector can observe, with evidence and a date."""

    control: Literal["12a.datacenter-certification", "12g.mobile-media-encryption"]
    subject: str = Field(min_length=1)
    attested_by: str = Field(min_length=1)
    attested_on: date
    evidence_file: ConfigPath | None = None
    evidence_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    # datacenter certification
    standard: str | None = None
    issuer: str | None = None
    certificate_scope: str | None = None
    valid_until: date | None = None
    # mobile media encryption
    statement: str | None = None

    @model_validator(mode="after")
    def _certificate_fields(self) -> Attestation:
        if self.control == "12a.datacenter-certification":
            missing = [key for key in ("standard", "issuer", "valid_until") if getattr(self, key) is None]
            if missing:
                raise ValueError(f"a datacenter certification needs {', '.join(missing)}")
        return self


TransferBasis = Literal["none", "eu-us-dpf", "scc", "adequacy", "bcr", "privacy-shield"]


class SubProcessor(ConfigSection):
    """One entry of the sub-processor register (statement clause 9)."""

    name: str = Field(min_length=1)
    services: list[str] = Field(default_factory=list)
    country: str
    transfer_basis: TransferBasis = "none"
    basis_reference: str | None = None
    reviewed_on: date | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError("expected an ISO 3166-1 alpha-2 country code such as NL or US")
        return code

    def inside_eea(self) -> bool:
        """Return True when the data stays in an EU or EEA country."""
        return self.country in EEA_COUNTRIES
