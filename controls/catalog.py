"""The control catalog: every checkable measure of the Data Pro Statement, with its clause.

Each control carries the clause it proves (the Dutch text quoted from the statement and an
English rendering), a title, a severity, the ISO/IEC 27001:2022 Annex A references and the
pass condition in words. Reports and tickets read their texts from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]


@dataclass(frozen=True)
class Clause:
    """A numbered measure of the statement."""

    id: str
    text_nl: str
    text_en: str


@dataclass(frozen=True)
class ControlSpec:
    """What one control checks, and which clause it proves."""

    id: str
    clause: str
    title: str
    severity: Severity
    iso27001: tuple[str, ...]
    pass_condition: str


CLAUSES: dict[str, Clause] = {
    c.id: c
    for c in (
        Clause(
            "6b",
            "Onze weboplossingen bevatten uitsluitend gehashte wachtwoorden en geen wachtwoorden in "
            "leesbaar of decodeerbaar format.",
            "Our web solutions hold only hashed passwords, never passwords in readable or decodable form.",
        ),
        Clause(
            "6e",
            "Na succesvolle overdracht worden berichten na 7 dagen verwijdert. Bij mislukte overdracht "
            "worden berichten na 30 dagen verwijdert.",
            "After successful delivery messages are deleted after 7 days; after failed delivery after 30 days.",
        ),
        Clause(
            "6f",
            "Al onze weboplossingen worden standaard met SSL-certificaat uitgerust.",
            "All our web solutions are equipped with an SSL certificate by default.",
        ),
        Clause(
            "8",
            "Webhosting en Webdevelopment dataopslag: binnen de EU/EER.",
            "Web hosting and web development data storage: inside the EU/EEA.",
        ),
        Clause(
            "9",
            "Webapplicaties van Lucrasoft Digital maken standaard gebruik van de volgende sub-processors "
            "[...] dataopslag in de VS, EU-US Privacy Shield compliant.",
            "Web applications use these sub-processors by default [...]; data stored in the US must rest on "
            "a valid transfer basis.",
        ),
        Clause(
            "11",
            "Retentie in backups zorgt ervoor dat na 3 maanden de data daadwerkelijk verwijderd is.",
            "Backup retention ensures that data is actually deleted after 3 months.",
        ),
        Clause(
            "12a",
            "De datacenters (Databarn Rivium & Databarn Amsterdam), waar servers van Lucrasoft ICT Groep "
            "geplaatst zijn, zijn voorzien van een camera beveiligingssysteem en bezoekers registratie en "
            "zijn ISO:27001:2013 gecertificeerd.",
            "The datacenters housing Lucrasoft ICT Group's servers have camera surveillance and visitor "
            "registration and are ISO 27001 certified.",
        ),
        Clause(
            "12b",
            "Toegang tot de (database)servers is alleen mogelijk vanuit Lucrasoft vertrouwde netwerklocaties.",
            "Access to the (database) servers is possible only from Lucrasoft's trusted network locations.",
        ),
        Clause(
            "12c",
            "Er zijn procedures opgesteld waardoor alleen geautoriseerd personeel heeft toegang tot de "
            "persoonsgegevens.",
            "Procedures ensure that only authorised personnel have access to personal data.",
        ),
        Clause(
            "12d",
            "Onze web- en databaseservers worden beveiligd door firewall met het least priviliged principe. "
            "Applicaties hebben een eigen database per applicatie. Iedere applicatie heeft uitsluitend "
            "toegang tot zijn database.",
            "Web and database servers are protected by least-privilege firewalling. Each application has "
            "its own database and can access only that database.",
        ),
        Clause(
            "12e",
            "Alle data binnen diensten van Lucrasoft zal zo veilig mogelijk worden opgeslagen. Waar, in rust, "
            "encryptie mogelijk is zal dit worden toegepast.",
            "All data is stored as securely as possible; wherever encryption at rest is possible it is applied.",
        ),
        Clause(
            "12f",
            "Alle data zal met de hoogst mogelijke encryptie vorm die ondersteund wordt verstuurd worden.",
            "All data is sent with the strongest form of encryption supported.",
        ),
        Clause(
            "12g",
            "Onze webservers worden maandelijks gepatched naar de laatste Windows updates. Alle mobiele data "
            "dragers (denk aan oa laptops, USB-sticks en portable HD's) van Lucrasoft Systems B.V. worden "
            "versleuteld.",
            "Web servers are patched monthly to the latest Windows updates. All mobile data carriers "
            "(laptops, USB sticks, portable disks) are encrypted.",
        ),
        Clause(
            "13",
            "Al naar gelang de uitkomst hiervan zullen klanten, binnen 24 uur, op de hoogte gesteld worden "
            "door een email naar de technisch contactpersoon.",
            "Depending on the analysis, customers are notified within 24 hours by e-mail to the technical "
            "contact.",
        ),
    )
}


CONTROLS: dict[str, ControlSpec] = {
    c.id: c
    for c in (
        ControlSpec(
            "12b.azure-sql-firewall",
            "12b",
            "Azure SQL servers accept connections only from trusted networks",
            "high",
            ("A.8.20", "A.8.22"),
            "publicNetworkAccess is Disabled, or every firewall rule's start..end range lies inside the "
            "trusted networks; the 0.0.0.0-0.0.0.0 rule ('allow Azure services', any tenant's Azure IP) fails",
        ),
        ControlSpec(
            "12e.azure-sql-tde",
            "12e",
            "Azure SQL user databases are encrypted at rest (TDE)",
            "high",
            ("A.8.24",),
            "transparent data encryption state is Enabled on every user database (master excluded)",
        ),
        ControlSpec(
            "12f.azure-sql-min-tls",
            "12f",
            "Azure SQL servers refuse TLS below the policy minimum",
            "high",
            ("A.8.24", "A.8.21"),
            "minimalTlsVersion >= policy.min_tls, compared as versions; absent or 'None' fails",
        ),
        ControlSpec(
            "8.azure-region",
            "8",
            "Azure resources are located in the EU/EEA",
            "high",
            ("A.5.34",),
            "the resource's location is in policy.allowed_regions (default: Azure regions in EU/EEA countries)",
        ),
        ControlSpec(
            "12a.datacenter-certification",
            "12a",
            "Datacenters hold a current, valid information-security certificate",
            "medium",
            ("A.5.23", "A.7.1", "A.7.4"),
            "the attested certificate is not expired, has more than policy.certificate_min_days_left days "
            "left, is on a current standard version (ISO/IEC 27001:2013 certificates stopped being valid on "
            "2025-10-31) and its evidence file matches the attested sha256",
        ),
        ControlSpec(
            "12g.mobile-media-encryption",
            "12g",
            "Mobile data carriers are encrypted (attested)",
            "medium",
            ("A.7.10", "A.8.1", "A.8.24"),
            "an attestation with evidence exists and is not older than policy.attestation_max_age_days",
        ),
        ControlSpec(
            "9.subprocessor-transfer-basis",
            "9",
            "Sub-processors outside the EU/EEA have a valid transfer basis",
            "high",
            ("A.5.19", "A.5.20", "A.5.34"),
            "every sub-processor outside the EU/EEA has a valid transfer basis (EU-US Data Privacy "
            "Framework, SCCs, adequacy decision or BCRs); 'EU-US Privacy Shield' is invalid since 2020-07-16",
        ),
    )
}


def control_spec(control_id: str) -> ControlSpec:
    """Return the catalog entry of `control_id`; an unknown id is a programming error."""
    try:
        return CONTROLS[control_id]
    except KeyError:
        raise KeyError(f"control id {control_id!r} is not in the catalog (controls/catalog.py)") from None
