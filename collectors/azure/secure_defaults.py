"""Every place where an absent Azure field is read as a known value, each with Microsoft's word for it.

The rule of the Azure collectors and controls: a field a control needs that is absent, null or
unparseable is never read as "nothing to worry about". An absent field becomes None, and the
control fails or reports `error`. The only exceptions are listed here: fields whose absent value
Microsoft documents, so reading the documented value is reading the resource as Azure treats
it. Nothing else may default to a value that lets an item pass; the mutation replay of the
recordings (issue 12, part 5) accepts a fail→pass change only for the fields listed here.

Absent values that Microsoft documents as *insecure* (SQL `minimalTlsVersion` absent = no
minimum, storage `minimumTlsVersion` absent = TLS 1.0, storage `networkAcls.defaultAction`
absent = Allow, VM `securityProfile.encryptionAtHost` absent = false) need no entry: the
controls fail them, naming the documented default in the message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentedDefault:
    """An Azure field whose absence Microsoft documents, and what the auditor reads for it."""

    resource_type: str
    field: str
    """The field's ARM JSON path inside the resource (e.g. `properties.networkAcls.ipv6Rules`)."""
    absent_means: str
    source: str
    """Where Microsoft says so: the page (URL) or REST API specification, and what it says."""


STORAGE_IPV6_RULES_ABSENT = DocumentedDefault(
    resource_type="Microsoft.Storage/storageAccounts",
    field="properties.networkAcls.ipv6Rules",
    absent_means="no IPv6 firewall rule: with defaultAction Deny nothing is admitted over IPv6 by rule",
    source=(
        "Azure Storage REST API (Microsoft.Storage, NetworkRuleSet): `ipv6Rules` is an optional list "
        '("Sets the IPv6 ACL rules") added after `ipRules`, omitted by older API versions and accounts '
        "without IPv6 rules; https://learn.microsoft.com/azure/storage/common/storage-network-security: "
        '"Turning on firewall rules for your storage account blocks incoming requests for data by '
        "default, unless the requests originate from a service that operates within an Azure Virtual "
        'Network (VNet) or from allowed public IP addresses" (only listed addresses are admitted)'
    ),
)

SQL_DATABASE_LOCATION_ABSENT = DocumentedDefault(
    resource_type="Microsoft.Sql/servers/databases",
    field="location",
    absent_means="the region of the database's logical server",
    source=(
        "https://learn.microsoft.com/azure/azure-sql/database/logical-servers: a logical server is the "
        "parent of its databases, which are created in the server's region (the databases list of "
        "Microsoft's REST examples, ListVCoreDatabasesByServer.json, gives each the server's location)"
    ),
)

DOCUMENTED_DEFAULTS: tuple[DocumentedDefault, ...] = (
    STORAGE_IPV6_RULES_ABSENT,
    SQL_DATABASE_LOCATION_ABSENT,
)
"""Every absent field the Azure side reads as a value (none other may be)."""
