"""The control catalog: every checkable measure of the Data Pro Statement, with its clause.

Each control carries the clause it proves (the Dutch text quoted from the statement and an
English rendering), a title, a severity, the ISO/IEC 27001:2022 Annex A references and the
pass condition in words. Reports and tickets read their texts from here.

Long (~600 lines) because it is data: the statement's clauses and one entry per control (40),
kept in one file so that the catalog can be reviewed against the statement from top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reports.evidence import N_, CatalogEntry

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
            "6c",
            "Wij ontvangen geen betaal- of creditcardgegevens. Deze wisselt de bezoeker direct uit met de "
            "door opdrachtgever gekozen paymentprovider.",
            "We receive no payment or credit card data: the visitor exchanges them directly with the "
            "payment provider the client chose.",
        ),
        Clause(
            "6d",
            "Gebruikerstracking wordt alleen op verzoek van opdrachtgever geïmplementeerd en alleen "
            "geactiveerd als bezoeker daar expliciet toestemming voor heeft gegeven.",
            "User tracking is implemented only at the client's request and activated only when the visitor "
            "has explicitly consented.",
        ),
        Clause(
            "6e",
            "Na succesvolle overdracht worden berichten na 7 dagen verwijdert. Bij mislukte overdracht "
            "worden berichten na 30 dagen verwijdert. [...] Gebruiker wordt alleen voor een nieuwsbrief "
            "ingeschreven als deze de opt-in actief heeft aangevinkt.",
            "After successful delivery messages are deleted after 7 days; after failed delivery after 30 days. "
            "[...] A user is subscribed to a newsletter only after actively ticking the opt-in.",
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
            "10",
            "In geval van een inzage, correctie- of verwijderverzoek [...] zullen wij deze binnen 5 werkdagen "
            "verwerken en bevestigen/opleveren.",
            "A request for access, correction or erasure is processed and confirmed or delivered within 5 "
            "working days.",
        ),
        Clause(
            "11",
            "Na beëindiging van de overeenkomst met een opdrachtgever verwijdert Lucrasoft Digital de "
            "applicatie specifieke databases, inclusief persoonsgegevens, op moment van eindigen van de "
            "overeenkomst. [...] Retentie in backups zorgt ervoor dat na 3 maanden de data daadwerkelijk "
            "verwijderd is.",
            "When the agreement ends, the application's own databases, personal data included, are deleted. "
            "[...] Backup retention ensures that data is actually deleted after 3 months.",
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
            N_("Azure SQL servers accept connections only from trusted networks"),
            "high",
            ("A.8.20", "A.8.22"),
            N_(
                "publicNetworkAccess is Disabled, or every firewall rule's start..end range lies inside the "
                "trusted networks; the 0.0.0.0-0.0.0.0 rule ('allow Azure services', any tenant's Azure IP) fails"
            ),
        ),
        ControlSpec(
            "12e.azure-sql-tde",
            "12e",
            N_("Azure SQL user databases are encrypted at rest (TDE)"),
            "high",
            ("A.8.24",),
            N_("transparent data encryption state is Enabled on every user database (master excluded)"),
        ),
        ControlSpec(
            "12f.azure-sql-min-tls",
            "12f",
            N_("Azure SQL servers refuse TLS below the policy minimum"),
            "high",
            ("A.8.24", "A.8.21"),
            N_("minimalTlsVersion >= policy.min_tls, compared as versions; absent or 'None' fails"),
        ),
        ControlSpec(
            "8.azure-region",
            "8",
            N_("Azure resources are located in the EU/EEA"),
            "high",
            ("A.5.34",),
            N_(
                "the resource's location is in policy.allowed_regions (default: Azure regions in EU/EEA countries)"
            ),
        ),
        ControlSpec(
            "12b.azure-nsg-admin-ports",
            "12b",
            N_("Network security groups admit database and management ports only from trusted networks"),
            "high",
            ("A.8.20", "A.8.22"),
            N_(
                "no inbound Allow rule (custom or default, singular or plural port/prefix fields) from a source "
                "outside the trusted networks (*, Internet, 0.0.0.0/0, an untrusted CIDR or service tag) to a port "
                "in policy.sensitive_ports; a rule whose direction, access, priority, protocol, sources or ports "
                "cannot be read is an error naming the rule and the field"
            ),
        ),
        ControlSpec(
            "12b.azure-storage-network",
            "12b",
            N_("Storage accounts accept network access only from trusted networks"),
            "high",
            ("A.8.20", "A.8.22"),
            N_(
                "publicNetworkAccess Disabled, or networkAcls.defaultAction Deny with every ipRule inside the "
                "trusted networks"
            ),
        ),
        ControlSpec(
            "12c.azure-privileged-roles",
            "12c",
            N_("Privileged Azure roles are held only by authorised principals"),
            "high",
            ("A.5.15", "A.5.18", "A.8.2"),
            N_(
                "every assignment of a privileged role that reaches the subscription (at subscription, "
                "resource-group or resource scope, or inherited from a management group) goes to a principal in "
                "policy.authorized_principals; a role is privileged when policy.privileged_roles names it or its "
                "permissions (actions minus notActions, dataActions minus notDataActions) allow any write, delete "
                "or action, or reading Key Vault secrets or keys; an unknown role, or one whose permissions "
                "cannot be read, is an error"
            ),
        ),
        ControlSpec(
            "12c.azure-sql-entra-admin",
            "12c",
            N_("Azure SQL servers are administered through an authorised Entra ID admin only"),
            "high",
            ("A.5.15", "A.8.2", "A.8.5"),
            N_(
                "an Entra ID administrator is set and is in policy.authorized_principals, and "
                "azureADOnlyAuthentication is true (SQL logins disabled) unless waived"
            ),
        ),
        ControlSpec(
            "12e.azure-storage-encryption",
            "12e",
            N_("Storage accounts encrypt blobs and files at rest"),
            "high",
            ("A.8.24",),
            N_(
                "blob and file service encryption enabled; infrastructure encryption and customer-managed keys "
                "when policy.require_infrastructure_encryption / require_customer_managed_keys are set"
            ),
        ),
        ControlSpec(
            "12e.azure-vm-disk-encryption",
            "12e",
            N_("Virtual machine disks are encrypted as the policy requires"),
            "high",
            ("A.8.24",),
            N_(
                "per policy.vm_disk_encryption: 'host' = encryptionAtHost on the VM (default), 'cmk' = every "
                "disk encrypted with a disk encryption set, 'ade' = Azure Disk Encryption on every disk"
            ),
        ),
        ControlSpec(
            "12f.azure-app-service-tls",
            "12f",
            N_("Web apps accept HTTPS only with a modern TLS floor"),
            "high",
            ("A.8.24", "A.8.21"),
            N_(
                "httpsOnly true; minTlsVersion and scmMinTlsVersion >= policy.min_tls; ftpsState FtpsOnly or "
                "Disabled; for every web app and every deployment slot"
            ),
        ),
        ControlSpec(
            "12f.azure-storage-tls",
            "12f",
            N_("Storage accounts accept HTTPS only with a modern TLS floor"),
            "high",
            ("A.8.24", "A.8.21"),
            N_("supportsHttpsTrafficOnly true and minimumTlsVersion >= policy.min_tls"),
        ),
        ControlSpec(
            "12g.azure-update-manager",
            "12g",
            N_("Azure VMs are assessed for updates and have no overdue security patches"),
            "high",
            ("A.8.8",),
            N_(
                "a patch assessment younger than policy.patch_assessment_max_age_days (7) and no pending "
                "Critical/Security patch older than policy.pending_grace_days (14)"
            ),
        ),
        ControlSpec(
            "11.azure-sql-backup-retention",
            "11",
            N_("Azure SQL long-term backups are gone after three months"),
            "medium",
            ("A.8.10", "A.8.13"),
            N_(
                "weekly, monthly and yearly long-term retention each at most policy.backup_max_retention (P3M), "
                "compared as durations; yearly retention unset"
            ),
        ),
        ControlSpec(
            "13.azure-security-contacts",
            "13",
            N_("Defender for Cloud alerts reach a security contact by e-mail"),
            "medium",
            ("A.5.24", "A.6.8"),
            N_(
                "an e-mail contact is set, alert notifications are on, and their minimal severity is at most "
                "policy.security_alert_min_severity (Medium)"
            ),
        ),
        ControlSpec(
            "13.azure-sql-auditing",
            "13",
            N_("Azure SQL servers keep an audit trail for incident analysis"),
            "medium",
            ("A.5.24", "A.8.15"),
            N_(
                "auditing Enabled with retention >= policy.audit_min_retention_days (90; 0 = unlimited) or a "
                "Log Analytics / Event Hub target"
            ),
        ),
        ControlSpec(
            "12b.host-firewall",
            "12b",
            N_("Hosts run a firewall that blocks inbound traffic by default"),
            "high",
            ("A.8.20", "A.8.22"),
            N_(
                "Windows: every profile (Domain, Private, Public) of the ActiveStore enabled with default inbound "
                "Block; Linux: an nftables/iptables input chain with policy drop, or an active ufw/firewalld"
            ),
        ),
        ControlSpec(
            "12b.host-port-scope",
            "12b",
            N_("Hosts allow sensitive ports only from trusted networks"),
            "high",
            ("A.8.20", "A.8.22"),
            N_(
                "every enabled inbound allow rule (Windows firewall rule / nftables or iptables accept) for a port in "
                "policy.sensitive_ports is restricted to remote addresses inside the trusted networks"
            ),
        ),
        ControlSpec(
            "12c.host-admins",
            "12c",
            N_("Only authorised people administer the hosts"),
            "high",
            ("A.5.15", "A.5.18", "A.8.2"),
            N_(
                "members of local Administrators (Windows) / sudo, wheel, admin and sudoers entries (Linux) are all in "
                "policy.authorized_admins, and every SSH authorized_keys fingerprint is in policy.authorized_ssh_keys"
            ),
        ),
        ControlSpec(
            "12e.host-volume-encryption",
            "12e",
            N_("Host volumes are encrypted at rest"),
            "high",
            ("A.8.24",),
            N_(
                "every fixed data and OS volume protected: BitLocker fully encrypted with protection On (Windows); a "
                "LUKS/dm-crypt device beneath every mounted filesystem (Linux)"
            ),
        ),
        ControlSpec(
            "12f.host-schannel",
            "12f",
            N_("Windows hosts refuse SSL and TLS below 1.2 (SCHANNEL)"),
            "high",
            ("A.8.24", "A.8.21"),
            N_(
                "server-side SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1 disabled, with the OS defaults applied when the "
                "registry keys are absent (they are enabled by default up to Windows Server 2025); TLS 1.2 enabled"
            ),
        ),
        ControlSpec(
            "12g.windows-monthly-patching",
            "12g",
            N_("Windows web servers are patched monthly to the latest updates"),
            "high",
            ("A.8.8",),
            N_(
                "the newest installed cumulative update (Windows Update Agent history, by KB/title, and the build's "
                "UBR) is from the current or previous Patch Tuesday cycle and installed within "
                "policy.patch_max_age_days (35); no pending Security/Critical update older than policy.pending_grace_days"
            ),
        ),
        ControlSpec(
            "12g.os-supported",
            "12g",
            N_("Hosts run an operating system that still receives security updates"),
            "high",
            ("A.8.8",),
            N_(
                "the OS product and build are within their vendor's (extended) support on the run date; Windows "
                "Server 2012 R2 fails"
            ),
        ),
        ControlSpec(
            "12g.linux-patching",
            "12g",
            N_("Linux hosts have no overdue security updates"),
            "high",
            ("A.8.8",),
            N_(
                "no pending security update (apt: a -security suite; dnf: a security advisory); a pending update's "
                "publish date is not known to the package manager, so any pending security update fails"
            ),
        ),
        ControlSpec(
            "12f.endpoint-tls",
            "12f",
            N_("Endpoints speak only strong TLS"),
            "high",
            ("A.8.24", "A.8.21"),
            N_(
                "no SSLv2, SSLv3, TLS 1.0 or TLS 1.1; TLS 1.2 only with forward-secret AEAD suites; TLS 1.3 offered "
                "when policy.require_tls13; no weak keys (RSA < 2048, EC < 256); no weak key exchange (finite-field "
                "DH groups < 2048 bits, elliptic curves < 256 bits, in any accepted suite or among the accepted curves)"
            ),
        ),
        ControlSpec(
            "6f.endpoint-certificate",
            "6f",
            N_("Every web solution has a valid SSL certificate"),
            "high",
            ("A.8.24", "A.5.14"),
            N_(
                "the chain validates to the configured trust store as TLS clients validate it (web-PKI profile "
                "deviations such as a missing Authority Key Identifier are shown, not failed), the host name matches, "
                "the certificate is not expired and has more than policy.cert_min_days (21) days left"
            ),
        ),
        ControlSpec(
            "6f.https-enforced",
            "6f",
            N_("Web solutions enforce HTTPS"),
            "medium",
            ("A.8.24", "A.8.21"),
            N_(
                "plain HTTP on port 80 redirects to HTTPS; HTTPS answers carry HSTS with max-age >= "
                "policy.hsts_min_max_age (31536000)"
            ),
        ),
        ControlSpec(
            "12b.exposure-probe",
            "12b",
            N_("Sensitive ports are not reachable from an untrusted vantage point"),
            "high",
            ("A.8.20", "A.8.22"),
            N_(
                "a TCP connect from the auditor's (untrusted) vantage point to each sensitive port of the inventory's "
                "hosts, probes and SQL FQDNs is refused or filtered, not open, on a host shown to be there (some "
                "probed port, or a host's SSH port, answered; an unreachable host is an error); the vantage point is "
                "recorded"
            ),
        ),
        ControlSpec(
            "12a.datacenter-certification",
            "12a",
            N_("Datacenters hold a current, valid information-security certificate"),
            "medium",
            ("A.5.23", "A.7.1", "A.7.4"),
            N_(
                "the attested certificate is not expired, has more than policy.certificate_min_days_left days "
                "left, is on a current standard version (ISO/IEC 27001:2013 certificates stopped being valid on "
                "2025-10-31) and its evidence file matches the attested sha256"
            ),
        ),
        ControlSpec(
            "12g.mobile-media-encryption",
            "12g",
            N_("Mobile data carriers are encrypted (attested)"),
            "medium",
            ("A.7.10", "A.8.1", "A.8.24"),
            N_(
                "an attestation with evidence, hashed when attested and unchanged since, exists and is not older "
                "than policy.attestation_max_age_days"
            ),
        ),
        ControlSpec(
            "9.subprocessor-transfer-basis",
            "9",
            N_("Sub-processors outside the EU/EEA have a valid transfer basis"),
            "high",
            ("A.5.19", "A.5.20", "A.5.34"),
            N_(
                "every sub-processor outside the EU/EEA has a valid transfer basis (EU-US Data Privacy "
                "Framework, SCCs, adequacy decision or BCRs, with a reference to check the DPF, SCC or BCR claim "
                "against); 'EU-US Privacy Shield' is invalid since 2020-07-16"
            ),
        ),
        ControlSpec(
            "12d.app-own-database",
            "12d",
            N_("Every application has a database of its own"),
            "high",
            ("A.8.3", "A.8.2"),
            N_(
                "each application uses exactly one database (inventory and discovered connection strings), "
                "which the server's catalog lists, and no database is used by two applications"
            ),
        ),
        ControlSpec(
            "12d.app-login-scope",
            "12d",
            N_("An application's login reaches its own database only"),
            "high",
            ("A.8.3", "A.8.2", "A.5.15"),
            N_(
                "the application's login or certificate exists on the server and reaches no database but its "
                "own (no user mapping, CONNECT, PUBLIC CONNECT or certificate permission elsewhere); it holds no "
                "server-wide power (SQL Server: sysadmin, securityadmin, serveradmin, dbmanager, loginmanager, "
                "CONTROL SERVER; PostgreSQL: SUPERUSER, CREATEROLE, CREATEDB; RavenDB: ClusterAdmin, Operator); "
                "db_owner fails unless waived"
            ),
        ),
        ControlSpec(
            "12d.app-not-server-admin",
            "12d",
            N_("No application connects as the server administrator"),
            "critical",
            ("A.8.2", "A.8.3"),
            N_(
                "the application's login is not the server's administrator login (administratorLogin, sa, "
                "postgres or the bootstrap superuser)"
            ),
        ),
        ControlSpec(
            "12d.db-shared-logins",
            "12d",
            N_("Database servers have no shared or open logins"),
            "high",
            ("A.8.2", "A.8.3", "A.5.16"),
            N_(
                "no login or certificate is used by more than one application; no enabled sa login; the guest "
                "user has no CONNECT in a user database (SQL Server); PUBLIC has no CONNECT on an application's "
                "database (PostgreSQL)"
            ),
        ),
        ControlSpec(
            "12e.sqlserver-tde",
            "12e",
            N_("SQL Server databases are encrypted at rest (TDE)"),
            "high",
            ("A.8.24",),
            N_("every user database has a database encryption key with encryption_state 3 (encrypted)"),
        ),
        ControlSpec(
            "12e.ravendb-encryption",
            "12e",
            N_("RavenDB databases are encrypted at rest"),
            "high",
            ("A.8.24",),
            N_("every database record says Encrypted = true"),
        ),
        ControlSpec(
            "12f.sqlserver-encrypted-connections",
            "12f",
            N_("SQL Server encrypts every client connection"),
            "high",
            ("A.8.24", "A.8.21"),
            N_(
                "ForceEncryption is on (Azure SQL enforces it by platform); where it is off or unreadable, at "
                "least one current network connection is seen and every one is encrypted (shared-memory "
                "connections are not judged); unreadable with no connection seen is an error"
            ),
        ),
        ControlSpec(
            "6b.hashed-passwords",
            "6b",
            N_("Application passwords are stored only as salted password hashes"),
            "critical",
            ("A.8.24", "A.5.17", "A.8.5"),
            N_(
                "every examined value of a configured password column is a recognised password hash (bcrypt, "
                "argon2, scrypt, PBKDF2 incl. ASP.NET Identity v2/v3, Django and passlib formats, SHA-crypt); "
                "empty values and anything else fail; evidence holds counts per format only"
            ),
        ),
        ControlSpec(
            "6c.no-card-data",
            "6c",
            N_("Application databases hold no payment card numbers"),
            "high",
            ("A.5.34", "A.8.11"),
            N_(
                "no configured column (or sampled text column of the configured tables) holds a digit run of "
                "13-19 digits that passes the Luhn check in a real issuer range; evidence holds counts per "
                "column and card brand only"
            ),
        ),
        ControlSpec(
            "6d.tracking-after-consent",
            "6d",
            N_("Web pages set no tracking cookie and call no tracker before consent"),
            "high",
            ("A.5.34",),
            N_(
                "opened in a fresh browser profile with no consent given, a page sets no cookie outside the "
                "declared strictly necessary ones and sends no request to a host in the tracker database"
            ),
        ),
        ControlSpec(
            "6e.newsletter-opt-in",
            "6e",
            N_("Every newsletter subscription has an opt-in record"),
            "medium",
            ("A.5.34",),
            N_(
                "every row of each configured subscriber table has its opt-in record; evidence holds counts only"
            ),
        ),
        ControlSpec(
            "10.data-subject-requests",
            "10",
            N_("Data-subject requests are resolved within 5 working days"),
            "medium",
            ("A.5.34",),
            N_(
                "every data-subject request in the tracker was resolved within policy.dsr_working_days (5) Dutch "
                "working days of its creation, and none still open is older; evidence holds keys and dates only"
            ),
        ),
        ControlSpec(
            "11.terminated-data-removed",
            "11",
            N_("A terminated application's databases are gone after the agreed period"),
            "high",
            ("A.8.10", "A.5.34"),
            N_(
                "an application with terminated_on has no database left on its server "
                "policy.termination_delete_days (0) after that date; on Azure SQL, no long-term retention "
                "backup of it is kept policy.backup_max_retention (P3M) after that, none expires later and "
                "none is under legal hold"
            ),
        ),
        ControlSpec(
            "13.breach-notification-sla",
            "13",
            N_("Customers are notified of a breach within 24 hours"),
            "high",
            ("A.5.24", "A.5.26"),
            N_(
                "every incident in the tracker that requires customer notification records a notification at "
                "most policy.breach_notification_hours (24) after detection; evidence holds keys and times only"
            ),
        ),
        ControlSpec(
            "6e.message-retention",
            "6e",
            N_("Messages are deleted 7 days after delivery and 30 days after a failed delivery"),
            "medium",
            ("A.8.10", "A.5.33"),
            N_(
                "no delivered message older than policy.delivered_message_max_days (7) and no failed message "
                "older than policy.failed_message_max_days (30); evidence holds counts and oldest ages only"
            ),
        ),
    )
}


def control_spec(control_id: str) -> ControlSpec:
    """Return the catalog entry of `control_id`; an unknown id is a programming error."""
    try:
        return CONTROLS[control_id]
    except KeyError:
        raise KeyError(f"control id {control_id!r} is not in the catalog (controls/catalog.py)") from None


def catalog_entries() -> dict[str, CatalogEntry]:
    """Return every control with its clause's texts, as the evidence model's catalog entries.

    The run harness hands these to the bundle writer, so the reports render the catalog as data.
    """
    return {
        spec.id: CatalogEntry(
            id=spec.id,
            clause=spec.clause,
            title=spec.title,
            severity=spec.severity,
            iso27001=spec.iso27001,
            pass_condition=spec.pass_condition,
            clause_text_nl=CLAUSES[spec.clause].text_nl,
            clause_text_en=CLAUSES[spec.clause].text_en,
        )
        for spec in CONTROLS.values()
    }
