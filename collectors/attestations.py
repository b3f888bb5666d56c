"""Attested measures: what a person vouches for, with an evidence file, a date and an expiry.

No collector can see a datacenter's certificate or every laptop's disk; the config holds a
person's attestation instead, and its evidence file is hashed so that the report proves which
document was relied on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from collectors.config.attestations import Attestation, SubProcessor
from collectors.config.estate import EstateConfig
from collectors.facts import FactStore, observed, unobservable
from reports.evidence import Source, msg, sha256_hex, utc_now

DATACENTERS = "attestations.datacenters"
MOBILE_MEDIA = "attestations.mobile_media"
SUBPROCESSORS = "register.subprocessors"


@dataclass(frozen=True)
class EvidenceFile:
    """An attestation's evidence document: where it is, its hash now, and the hash attested."""

    path: str
    sha256: str
    attested_sha256: str | None

    @property
    def unchanged(self) -> bool:
        """Return True when no sha256 was attested or the file still has the attested one."""
        return self.attested_sha256 is None or self.attested_sha256.lower() == self.sha256


@dataclass(frozen=True)
class DatacenterCertificate:
    """A datacenter's certificate as attested (standard, issuer, scope, validity)."""

    datacenter: str
    standard: str
    issuer: str
    scope: str | None
    valid_until: date
    attested_by: str
    attested_on: date
    evidence: EvidenceFile | None


@dataclass(frozen=True)
class MobileMediaAttestation:
    """An attestation that mobile data carriers are encrypted (e.g. an Intune export)."""

    scope: str
    statement: str | None
    attested_by: str
    attested_on: date
    evidence: EvidenceFile | None


@dataclass(frozen=True)
class SubProcessorEntry:
    """One sub-processor of the register and the transfer basis claimed for it."""

    name: str
    services: tuple[str, ...]
    country: str
    inside_eea: bool
    transfer_basis: str
    basis_reference: str | None
    reviewed_on: date | None


def _evidence(config: EstateConfig, attestation: Attestation) -> tuple[EvidenceFile | None, Source | None]:
    if attestation.evidence_file is None:
        return None, None
    path = config.resolve(attestation.evidence_file)
    raw = path.read_bytes()  # FileNotFoundError handled by the caller: missing evidence is an error
    digest = sha256_hex(raw)
    source = Source(collector="attestation", call=f"read {path}", collected_at=utc_now(), sha256=digest)
    return EvidenceFile(str(path), digest, attestation.evidence_sha256), source


def _config_source(config: EstateConfig, what: str) -> Source:
    return Source(
        collector="config", call=f"{what} in {config.path}", collected_at=utc_now(), sha256=config.sha256
    )


def collect_attestations(config: EstateConfig, store: FactStore) -> None:
    """Fill the attested populations from the config; a missing evidence file is an `error`."""
    datacenters, media = store.population(DATACENTERS), store.population(MOBILE_MEDIA)
    datacenters.empty_reason = msg(
        "no [[attestations]] with control = '{control}' in the config", control="12a.datacenter-certification"
    )
    media.empty_reason = msg(
        "no [[attestations]] with control = '{control}' in the config", control="12g.mobile-media-encryption"
    )
    for index, attestation in enumerate(config.attestations):
        config_source = _config_source(config, f"attestations[{index}]")
        subject_id = f"attestation:{attestation.subject}"
        try:
            evidence, file_source = _evidence(config, attestation)
        except OSError as exc:
            target = datacenters if attestation.control == "12a.datacenter-certification" else media
            target.add(
                unobservable(
                    subject_id,
                    msg(
                        "evidence file {path} cannot be read ({error})",
                        path=str(attestation.evidence_file),
                        error=str(exc.strerror),
                    ),
                    [config_source],
                )
            )
            continue
        sources = [config_source, *([file_source] if file_source else [])]
        if attestation.control == "12a.datacenter-certification":
            if attestation.standard is None or attestation.issuer is None or attestation.valid_until is None:
                raise ValueError(
                    "datacenter attestation without standard, issuer or valid_until"
                )  # config refuses it
            fact = DatacenterCertificate(
                datacenter=attestation.subject,
                standard=attestation.standard,
                issuer=attestation.issuer,
                scope=attestation.certificate_scope,
                valid_until=attestation.valid_until,
                attested_by=attestation.attested_by,
                attested_on=attestation.attested_on,
                evidence=evidence,
            )
            datacenters.add(observed(subject_id, fact, sources))
        else:
            media.add(
                observed(
                    subject_id,
                    MobileMediaAttestation(
                        scope=attestation.subject,
                        statement=attestation.statement,
                        attested_by=attestation.attested_by,
                        attested_on=attestation.attested_on,
                        evidence=evidence,
                    ),
                    sources,
                )
            )
    _collect_register(config, store)


def _entry(processor: SubProcessor) -> SubProcessorEntry:
    return SubProcessorEntry(
        name=processor.name,
        services=tuple(processor.services),
        country=processor.country,
        inside_eea=processor.inside_eea(),
        transfer_basis=processor.transfer_basis,
        basis_reference=processor.basis_reference,
        reviewed_on=processor.reviewed_on,
    )


def _collect_register(config: EstateConfig, store: FactStore) -> None:
    register = store.population(SUBPROCESSORS)
    if config.subprocessors is None:
        register.out_of_scope = msg("the config has no [[subprocessors]] register")
        return
    register.empty_reason = msg("the [[subprocessors]] register is empty")
    for index, processor in enumerate(config.subprocessors):
        source = _config_source(config, f"subprocessors[{index}]")
        register.add(observed(f"subprocessor:{processor.name}", _entry(processor), [source]))
