"""Every Azure fact type, and the names of the populations they fill: no SDK, no I/O.

The Azure collectors (`collectors.azure.sql`, `web`, `storage`, ...) read ARM through the SDK
and turn its models into these frozen dataclasses; the controls judge them. Both import them
from here, so a control never loads the Azure SDK. Each fact keeps None for what the answer
did not give (unknown, never "none" or "secure"), see `collectors.azure.fields`.

Longer than most modules (about 500 lines) because it is the one catalogue of what the Azure
collectors observe, read as a reference by whoever writes a control: splitting it per area
would scatter what one control (12b reads SQL, storage and NSG facts) looks up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the facts stay free of the evidence model's machine-identity I/O
    from collectors.messages import Reason

# ---------------------------------------------------------------------------- populations
AZURE_RESOURCES = "azure.resources"
"""Every collected resource with its region: the population of 8.azure-region."""
AZURE_ENDPOINTS = "azure.endpoints"
"""Network endpoints Azure resources publish (SQL FQDNs, App Service host names), for TLS scans."""
SQL_SERVERS = "azure.sql_servers"
SQL_FIREWALLS = "azure.sql_firewalls"
SQL_DATABASES = "azure.sql_databases"
SQL_ENTRA_ADMINS = "azure.sql_entra_admins"
SQL_AUDITING = "azure.sql_auditing"
SQL_BACKUP_RETENTION = "azure.sql_backup_retention"
SQL_LTR_BACKUPS = "azure.sql_ltr_backups"
"""Per Azure SQL server: the long-term retention backups it still keeps, of live and deleted databases."""
STORAGE_ACCOUNTS = "azure.storage_accounts"
WEB_APPS = "azure.web_apps"
NSGS = "azure.nsgs"
VMS = "azure.vms"
PATCH_ASSESSMENTS = "azure.vm_patch_assessments"
ROLE_ASSIGNMENTS = "azure.role_assignments"
SECURITY_CONTACTS = "azure.security_contacts"
APP_DATABASE_LINKS = "azure.app_database_links"
"""One subject per App Service site: the database links its connection strings and app settings name."""

UNKNOWN_REGION = "unknown"
"""The region of a resource whose answer names none (8.azure-region reports it `error`, never a region)."""


# ------------------------------------------------------------------------ every resource


@dataclass(frozen=True)
class DiscoveredEndpoint:
    """A host name and port that an Azure resource serves, found while collecting it."""

    host: str
    port: int
    kind: str
    resource_id: str


@dataclass(frozen=True)
class LocatedResource:
    """Any collected Azure resource (or replica of one) and the region it lives in (clause 8)."""

    id: str
    type: str
    location: str


# ------------------------------------------------------------ SQL (collectors.azure.sql)


@dataclass(frozen=True)
class FirewallRule:
    """A server-level firewall rule: an inclusive IPv4 start..end range (None: absent from the answer)."""

    name: str
    start_ip: str | None
    end_ip: str | None


@dataclass(frozen=True)
class SqlServer:
    """A logical Azure SQL server as ARM reports it."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    fqdn: str | None
    minimal_tls_version: str | None
    public_network_access: str | None


@dataclass(frozen=True)
class SqlServerFirewall:
    """A server's network exposure: public access switch and firewall rules (None if unreadable)."""

    server: SqlServer
    rules: tuple[FirewallRule, ...] | None
    rules_error: Reason | None = None


@dataclass(frozen=True)
class SqlDatabase:
    """A user database on an Azure SQL server, with its transparent data encryption state."""

    id: str
    name: str
    server_id: str
    location: str
    tde_state: str | None


# -------------------------------------- SQL governance (collectors.azure.sql_governance)


@dataclass(frozen=True)
class EntraAdmin:
    """The Entra ID (Azure AD) administrator of a server: a user, group or application (ARM does not say which)."""

    login: str | None
    sid: str | None
    """The principal's object id (application id for applications)."""
    tenant_id: str | None


@dataclass(frozen=True)
class SqlEntraAdministration:
    """Who administers a server through Entra ID, and whether SQL logins are switched off."""

    server_id: str
    server_name: str
    admin: EntraAdmin | None
    azure_ad_only_authentication: bool | None
    """True when only Entra ID logins are accepted (SQL authentication disabled)."""


@dataclass(frozen=True)
class SqlAuditing:
    """A server's auditing settings (`auditingSettings/default`)."""

    server_id: str
    server_name: str
    state: str | None
    retention_days: int | None
    """Days kept in the storage account; 0 means unlimited."""
    azure_monitor_target: bool | None
    """True when audit records also go to Azure Monitor (Log Analytics / Event Hub)."""
    storage_endpoint: str | None


@dataclass(frozen=True)
class LongTermRetention:
    """One long-term backup retention policy: ISO-8601 durations as ARM reports them."""

    name: str
    weekly_retention: str | None
    monthly_retention: str | None
    yearly_retention: str | None
    week_of_year: int | None


@dataclass(frozen=True)
class SqlBackupRetention:
    """The long-term retention policies of a user database (none = nothing kept long-term)."""

    database_id: str
    database_name: str
    server_id: str
    policies: tuple[LongTermRetention, ...]


@dataclass(frozen=True)
class LtrBackup:
    """One long-term retention backup: whose it is, when it was taken, when Azure deletes it."""

    name: str
    database_name: str
    backup_time: datetime | None
    expiration_time: datetime | None
    """When Azure deletes the backup; None when ARM does not say (it cannot be judged)."""
    database_deletion_time: datetime | None
    """When the database was deleted; None while it lives."""
    legal_hold: str | None
    """`legalHoldImmutability`: "Enabled" keeps the backup past its expiry until the hold is removed."""
    time_based_immutability: str | None


@dataclass(frozen=True)
class SqlLtrBackups:
    """The long-term retention backups a logical server keeps (`longTermRetentionBackups`, all database states)."""

    server_id: str
    server_name: str
    fqdn: str | None
    location: str
    backups: tuple[LtrBackup, ...]


# ---------------------------------------------------- storage (collectors.azure.storage)


@dataclass(frozen=True)
class StorageIpRule:
    """A storage firewall rule admitting one address or one CIDR range."""

    value: str | None
    """The address or CIDR the rule admits; None when the rule does not say (it cannot be judged)."""
    action: str | None


@dataclass(frozen=True)
class StorageAccount:
    """A storage account with the network, transport and encryption settings the controls judge."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    kind: str | None
    sku: str | None
    public_network_access: str | None
    default_action: str | None
    bypass: str | None
    ip_rules: tuple[StorageIpRule, ...] | None
    """None when networkAcls is present but its ipRules list is absent (unknown, never "no rule")."""
    virtual_network_rules: tuple[str, ...]
    resource_access_rules: tuple[str, ...]
    https_only: bool | None
    minimum_tls_version: str | None
    blob_encryption_enabled: bool | None
    file_encryption_enabled: bool | None
    key_source: str | None
    require_infrastructure_encryption: bool | None
    primary_location: str
    secondary_location: str | None
    status_of_secondary: str | None


# ---------------------------------------------------- App Service (collectors.azure.web)


@dataclass(frozen=True)
class WebApp:
    """An App Service web app (or function app), or one of its deployment slots, as 12f judges it.

    A slot has its own id (`<app id>/slots/<slot>`), `slot` (its name) and `app_name` (the app it
    belongs to); `name` is ARM's name for it (`<app>/<slot>`).
    """

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    kind: str | None
    state: str | None
    https_only: bool | None
    min_tls_version: str | None
    scm_min_tls_version: str | None
    ftps_state: str | None
    host_names: tuple[str, ...]
    slot: str | None = None
    app_name: str | None = None

    @property
    def label(self) -> str:
        """Return how messages name it: "web app <name>" or "deployment slot <slot> of web app <app>"."""
        if self.slot is None:
            return f"web app {self.name}"
        return f"deployment slot {self.slot} of web app {self.app_name or self.name.split('/', 1)[0]}"


# ---------------------------------------------------- network (collectors.azure.network)


@dataclass(frozen=True)
class UnreadableField:
    """An ARM field the answer lacks or holds in the wrong type, and why: data a control matches by
    `field`, words (`reason`) it shows as they are."""

    field: str
    """The ARM field as the answer spells it ("direction", "securityRules"); a name, never translated."""
    reason: Reason
    """Why it cannot be read, naming the field ("direction is a number (5), not text")."""


@dataclass(frozen=True)
class SecurityRule:
    """One NSG rule, custom or default, with the singular and plural fields merged.

    `source_prefixes` is the union of `sourceAddressPrefix` and `sourceAddressPrefixes` (CIDRs,
    IPs, `*` or service tags); `destination_port_ranges` the union of `destinationPortRange` and
    `destinationPortRanges` ("22", "1000-2000", "*"); application security groups by id.

    A field is None when the answer does not give it (a prefix/port pair is None when neither
    the singular nor the plural form holds a value; the sources are None when neither prefixes
    nor application security groups are given): unknown, never "none".
    """

    name: str
    direction: str | None
    access: str | None
    priority: int | None
    protocol: str | None
    source_prefixes: tuple[str, ...] | None
    source_application_security_groups: tuple[str, ...]
    source_port_ranges: tuple[str, ...] | None
    destination_prefixes: tuple[str, ...] | None
    destination_application_security_groups: tuple[str, ...]
    destination_port_ranges: tuple[str, ...] | None
    is_default: bool
    unreadable: tuple[UnreadableField, ...] = ()
    """ARM fields of this rule that were absent or of the wrong type, each with why."""


@dataclass(frozen=True)
class AttachedInterface:
    """A network interface an NSG filters (directly, or through the NIC's subnet)."""

    id: str
    virtual_machine_id: str | None
    public_ip_address_ids: tuple[str, ...]
    via_subnet: str | None
    """The subnet id when the NSG reaches this NIC through its subnet; None when attached to the NIC."""


@dataclass(frozen=True)
class NetworkSecurityGroup:
    """A network security group: its rules and what it is attached to.

    `interfaces` is None when the subscription's network interfaces could not be listed
    (`interfaces_error` says why); the NIC and subnet ids come from the NSG itself and are
    always known.
    """

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    rules: tuple[SecurityRule, ...]
    """Custom and default rules; a rule list the answer lacks is named in `rules_unreadable`."""
    subnet_ids: tuple[str, ...]
    network_interface_ids: tuple[str, ...]
    interfaces: tuple[AttachedInterface, ...] | None
    interfaces_error: Reason | None = None
    rules_unreadable: tuple[UnreadableField, ...] = ()
    """Why the rule lists are incomplete: the list (securityRules or defaultSecurityRules) absent or
    unreadable, or a rule of it that is not an object; `field` names the list."""

    @property
    def virtual_machine_ids(self) -> tuple[str, ...] | None:
        """Return the VMs behind this NSG (via NICs or their subnets), None when NICs are unknown."""
        if self.interfaces is None:
            return None
        return tuple(sorted({i.virtual_machine_id for i in self.interfaces if i.virtual_machine_id}))

    @property
    def public_ip_address_ids(self) -> tuple[str, ...] | None:
        """Return the public IPs in front of NICs this NSG filters, None when NICs are unknown."""
        if self.interfaces is None:
            return None
        return tuple(sorted({p for i in self.interfaces for p in i.public_ip_address_ids}))


# ---------------------------------------------------- compute (collectors.azure.compute)


@dataclass(frozen=True)
class VmDisk:
    """One OS or data disk of a VM and how it is encrypted at rest.

    `storage` is "managed" (a Microsoft.Compute/disks resource), "unmanaged" (a VHD blob) or
    "ephemeral" (an OS disk on the host's local storage, no disk resource). `missing` says why a
    managed disk's encryption is unknown (not in the disk list, or the list was unreadable).
    """

    role: str
    name: str
    id: str | None
    storage: str
    encryption_type: str | None
    disk_encryption_set_id: str | None
    ade_enabled: bool
    missing: Reason | None = None


@dataclass(frozen=True)
class VirtualMachine:
    """A virtual machine, its encryption at host switch and the encryption of its disks."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    os_type: str | None
    encryption_at_host: bool
    security_type: str | None
    disks: tuple[VmDisk, ...]


@dataclass(frozen=True)
class AvailablePatch:
    """A patch the latest assessment found available (not installed) on a VM."""

    name: str
    kb_id: str | None
    version: str | None
    classifications: tuple[str, ...] | None
    """None when the row does not say (12g then counts the patch as Critical/Security)."""
    published: datetime | None
    """When the publisher released it; None when not reported (Linux repositories often do not)."""


@dataclass(frozen=True)
class PatchAssessment:
    """The latest Update Manager patch assessment of one VM, or its absence (`assessed` False)."""

    vm_id: str
    vm_name: str
    os_type: str | None
    patch_mode: str | None
    assessment_mode: str | None
    assessed: bool
    status: str | None = None
    last_modified: datetime | None = None
    critical_count: int | None = None
    """None when the summary does not report it (availablePatchCountByClassification.critical)."""
    security_count: int | None = None
    error: Reason | None = None
    """The summary's errorDetails: Azure's own message (plain text) and code, None when it reports none."""
    patches: tuple[AvailablePatch, ...] = ()


# ------------------------------------- role assignments (collectors.azure.authorization)


@dataclass(frozen=True)
class RolePermission:
    """One permission block of a role definition: what it allows, minus what it excludes.

    ARM patterns ("*", "*/read", "Microsoft.Authorization/*/Write", ...), as the definition has them.
    """

    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    not_data_actions: tuple[str, ...]


@dataclass(frozen=True)
class RoleAssignment:
    """One role granted to one principal at one scope, as ARM reports it.

    `role_name` is None when the role definition could not be found; `role_problem` says why,
    and the role is then shown as "unknown role <guid>" (a control cannot judge it).
    `permissions` are the role's permission blocks (None when they could not be read:
    `permissions_problem` says why), so a role is judged by what it allows, whatever its name.
    """

    id: str
    subscription_id: str
    scope: str
    role_definition_id: str
    role_name: str | None
    principal_id: str
    principal_type: str | None
    role_problem: Reason | None = None
    role_type: str | None = None
    permissions: tuple[RolePermission, ...] | None = None
    permissions_problem: Reason | None = None

    @property
    def role_guid(self) -> str:
        """Return the role definition's GUID (the last segment of its id, in either id form)."""
        return role_guid_of(self.role_definition_id)

    @property
    def role(self) -> str:
        """Return the role's name, or "unknown role <guid>" when its definition was not found."""
        return self.role_name or f"unknown role {self.role_guid}"

    @property
    def scope_level(self) -> str:
        """Return the kind of scope: management group, subscription, resource group, resource or tenant."""
        return scope_level_of(self.scope)


def role_guid_of(role_definition_id: str) -> str:
    """Return the GUID that ends a role definition id, lower-cased.

    Assignments name their role in subscription form
    (`/subscriptions/<s>/providers/Microsoft.Authorization/roleDefinitions/<guid>`) or tenant
    form (`/providers/Microsoft.Authorization/roleDefinitions/<guid>`): only the GUID identifies it.
    """
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def scope_level_of(scope: str) -> str:
    """Return which kind of scope an ARM scope string is."""
    parts = [p.lower() for p in scope.strip("/").split("/") if p]
    if not parts:
        return "tenant"
    if parts[0] == "providers" and len(parts) >= 4 and parts[1] == "microsoft.management":
        return "management group"
    if parts[0] != "subscriptions":
        return "tenant"
    if len(parts) == 2:
        return "subscription"
    if len(parts) == 4 and parts[2] == "resourcegroups":
        return "resource group"
    return "resource"


# -------------------------------- security contacts (collectors.azure.security_contacts)


@dataclass(frozen=True)
class SecurityContact:
    """One security contact setting of a subscription (usually the one named `default`)."""

    name: str
    emails: tuple[str, ...]
    alert_notifications: str | None
    """Whether alerts are e-mailed to `emails`: "On" or "Off" (None when not reported)."""
    minimal_severity: str | None
    """The lowest alert severity that is e-mailed: "High", "Medium" or "Low"."""
    notify_roles_state: str | None = None
    notify_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubscriptionSecurityContacts:
    """The security contacts configured for one subscription (possibly none)."""

    subscription_id: str
    subscription_name: str
    contacts: tuple[SecurityContact, ...]


# ---------------------- application database links (collectors.azure.connection_strings)


@dataclass(frozen=True)
class DatabaseLink:
    """A database an App Service site connects to: where, which database, as whom; never the password."""

    server_host: str
    database: str
    user: str
    source: str
    """Where it was found, e.g. 'connection string DefaultConnection (SQLAzure)' or 'app setting DATABASE_URL'."""


@dataclass(frozen=True)
class AppDatabaseLinks:
    """Every database link found in one site's connection strings and app settings."""

    site: str
    links: tuple[DatabaseLink, ...]


def as_application_links(fact: AppDatabaseLinks) -> list[tuple[str, str, str, str, str]]:
    """Return a site's links as (application, server, database, user, source) tuples.

    Exists for `collectors.databases.applications.discovered_links`, which reads links in
    that 5-tuple shape; the site name is the application name.
    """
    return [
        (
            fact.site,
            link.server_host,
            link.database,
            link.user,
            f"App Service site {fact.site}, {link.source}",
        )
        for link in fact.links
    ]
