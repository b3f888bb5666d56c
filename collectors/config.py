"""audit.toml: what to look at (inventory), what "good" means (policy), and accepted exceptions.

The file is validated into typed objects before anything is collected. A typo must never
silently disable a check, so unknown keys are errors, and every error names the file, the
key and what was expected.
"""

from __future__ import annotations

import hashlib
import ipaddress
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from collectors.regions import EEA_COUNTRIES, EU_EEA_REGIONS, normalise_region

PUBLIC_ARM_ENDPOINT = "https://management.azure.com"
MICROSOFT_ARM_HOSTS = frozenset(
    {
        "management.azure.com",
        "management.usgovcloudapi.net",
        "management.chinacloudapi.cn",
        "management.microsoftazure.de",
    }
)
"""Resource Manager hosts of Microsoft's own clouds, where only real credentials are accepted."""
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and what was expected."""


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected a CIDR such as 192.0.2.0/24 or 2001:db8::/32 ({exc})") from None
    return value


def _tls_version(value: str) -> str:
    if value not in TLS_VERSIONS:
        raise ValueError(f"expected one of {', '.join(TLS_VERSIONS)}")
    return value


def _iso_duration(value: str) -> str:
    import isodate

    try:
        isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError("expected an ISO-8601 duration such as P3M, P12W or P90D") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
IsoDuration = Annotated[str, AfterValidator(_iso_duration)]
TlsVersion = Annotated[str, AfterValidator(_tls_version)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Policy(_Section):
    """What "good" means; every threshold of the controls lives here."""

    trusted_networks: list[Cidr] = Field(default_factory=list)
    min_tls: TlsVersion = "1.2"
    allowed_regions: list[str] = Field(default_factory=lambda: list(EU_EEA_REGIONS))
    attestation_max_age_days: int = Field(default=92, gt=0)
    certificate_min_days_left: int = Field(default=30, ge=0)
    sensitive_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [22, 1433, 3306, 3389, 5432, 5985, 5986]
    )
    trusted_service_tags: list[str] = Field(default_factory=lambda: ["VirtualNetwork", "AzureLoadBalancer"])
    privileged_roles: list[str] = Field(
        default_factory=lambda: [
            "Owner",
            "Contributor",
            "User Access Administrator",
            "Role Based Access Control Administrator",
            "SQL Server Contributor",
            "SQL Security Manager",
            "SQL DB Contributor",
            "Virtual Machine Contributor",
            "Virtual Machine Administrator Login",
            "Storage Account Contributor",
            "Storage Blob Data Owner",
            "Website Contributor",
            "Key Vault Administrator",
        ]
    )
    authorized_principals: list[str] = Field(default_factory=list)
    require_infrastructure_encryption: bool = False
    require_customer_managed_keys: bool = False
    vm_disk_encryption: Literal["host", "cmk", "ade"] = "host"
    pending_grace_days: int = Field(default=14, ge=0)
    patch_assessment_max_age_days: int = Field(default=7, gt=0)
    backup_max_retention: IsoDuration = "P3M"
    audit_min_retention_days: int = Field(default=90, ge=0)
    security_alert_min_severity: Literal["High", "Medium", "Low"] = "Medium"
    require_tls13: bool = False
    cert_min_days: int = Field(default=21, ge=0)
    hsts_min_max_age: int = Field(default=31536000, ge=0)
    authorized_admins: list[str] = Field(default_factory=list)
    authorized_ssh_keys: list[str] = Field(default_factory=list)
    patch_max_age_days: int = Field(default=35, gt=0)
    delivered_message_max_days: int = Field(default=7, ge=0)
    failed_message_max_days: int = Field(default=30, ge=0)
    password_sample_limit: int = Field(default=10000, ge=1)

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [normalise_region(region) for region in value]

    def networks(self) -> list[IpNetwork]:
        """Return the trusted networks as ipaddress objects."""
        return [ipaddress.ip_network(cidr) for cidr in self.trusted_networks]


class AzureSource(_Section):
    """Where and how the auditor reads Azure Resource Manager."""

    subscriptions: list[str] = Field(default_factory=list)
    endpoint: str = PUBLIC_ARM_ENDPOINT
    ca_bundle: Path | None = None
    credential: Literal["default", "static-token"] = "default"
    max_concurrency: int = Field(default=8, ge=1, le=64)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=0.8, ge=0)
    reads_burst: int = Field(default=240, ge=1)
    reads_per_second: float = Field(default=24.0, gt=0)
    use_resource_graph: bool = False
    read_connection_strings: bool = False
    """Read App Service connection strings to discover application -> database links.

    Needs more than Reader (`Microsoft.Web/sites/config/list/action`, e.g. Website Contributor);
    the strings are reduced to server, database and user name inside the collector.
    """

    @field_validator("endpoint")
    @classmethod
    def _https_endpoint(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("expected an https:// URL (Azure refuses bearer tokens over plain http)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _static_token_only_off_public_cloud(self) -> AzureSource:
        if self.credential == "static-token" and self.is_public_cloud():
            raise ValueError(
                "credential = 'static-token' is refused for Microsoft's cloud endpoints; "
                "use credential = 'default' (managed identity, workload identity, environment, Azure CLI)"
            )
        return self

    def is_public_cloud(self) -> bool:
        """Return True when the endpoint is a Microsoft cloud's Resource Manager (not an emulator)."""
        host = (urlsplit(self.endpoint).hostname or "").rstrip(".").lower()
        return host in MICROSOFT_ARM_HOSTS


class HostEntry(_Section):
    """One server the auditor reaches over SSH (`[[hosts]]`).

    Secrets never live here: a key's passphrase comes from the environment variable named by
    `passphrase_env`, a password (discouraged) from `password_env`.
    """

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    user: str = Field(min_length=1)
    key_file: Path | None = None
    passphrase_env: str | None = None
    password_env: str | None = None
    known_hosts: Path = Path("~/.ssh/known_hosts")
    host_key_sha256: str | None = None
    os: Literal["windows", "linux", "auto"] = "auto"
    sudo: bool = False
    """Linux: run the fact script through `sudo -n` (firewall, sudoers and sshd need root)."""
    roles: list[str] = Field(default_factory=list)
    jump: str | None = None
    tags: list[str] = Field(default_factory=list)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    command_timeout_seconds: float = Field(default=900.0, gt=0)

    @field_validator("host_key_sha256")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digest = value.removeprefix("SHA256:")
        if not digest or len(digest) > 44:
            raise ValueError(
                "expected an OpenSSH SHA256 fingerprint such as SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
            )
        return f"SHA256:{digest}"


class EndpointEntry(_Section):
    """A TLS endpoint to scan (`[[endpoints]]`): `https://host[:port]/` or `tls://host:port`."""

    url: str
    sni: str | None = None
    starttls: Literal["smtp", "postgres", "imap", "pop3", "ftp", "xmpp", "ldap", "rdp", "mysql"] | None = None
    ca_bundle: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "tls") or not parts.hostname:
            raise ValueError("expected https://host[:port]/ or tls://host:port")
        if parts.scheme == "tls" and parts.port is None:
            raise ValueError("a tls:// endpoint needs an explicit port")
        return value


class ProbeEntry(_Section):
    """An address whose ports are probed from the auditor's vantage point (`[[probes]]`)."""

    address: str = Field(min_length=1)
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=list)
    """Default: policy.sensitive_ports."""


class ProbingSettings(_Section):
    """TCP exposure probes from the auditor's vantage point (`[probing]`)."""

    enabled: bool = True
    include_azure_sql: bool = True
    """Also probe port 1433 of the SQL server FQDNs discovered in Azure."""
    timeout_seconds: float = Field(default=3.0, gt=0)
    max_concurrency: int = Field(default=64, ge=1, le=1024)


class HostsSettings(_Section):
    """How hosts are reached as a whole (`[hosts_settings]`)."""

    max_concurrency: int = Field(default=8, ge=1, le=256)
    max_output_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)


class Attestation(_Section):
    """A person vouches for a measure that no collector can observe, with evidence and a date."""

    control: Literal["12a.datacenter-certification", "12g.mobile-media-encryption"]
    subject: str
    attested_by: str
    attested_on: date
    evidence_file: Path | None = None
    evidence_sha256: str | None = None
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


class SubProcessor(_Section):
    """One entry of the sub-processor register (statement clause 9)."""

    name: str
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


DatabaseEngine = Literal["sqlserver", "azuresql", "postgresql", "ravendb"]
DEFAULT_DATABASE_PORTS: dict[str, int] = {
    "sqlserver": 1433,
    "azuresql": 1433,
    "postgresql": 5432,
    "ravendb": 443,
}
DEFAULT_ADMIN_LOGINS: dict[str, str] = {
    "sqlserver": "sa",
    "azuresql": "",
    "postgresql": "postgres",
    "ravendb": "",
}


class DatabaseServerEntry(_Section):
    """One database server the auditor reads catalogs from (`[[databases]]`)."""

    name: str = Field(min_length=1)
    engine: DatabaseEngine
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    """The auditor's own read-only login (SQL Server, Azure SQL, PostgreSQL)."""
    password_env: str | None = None
    """The environment variable holding that login's password; never the password itself."""
    client_cert: Path | None = None
    """RavenDB: PEM file with the auditor's client certificate (and its key unless client_key is set)."""
    client_key: Path | None = None
    ca_bundle: Path | None = None
    databases: list[str] | None = None
    """Databases to read; all user databases when absent."""
    admin_login: str | None = None
    """The server's administrator login (Azure SQL administratorLogin); default sa / postgres."""
    timeout_seconds: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _credentials_for_engine(self) -> DatabaseServerEntry:
        if self.engine == "ravendb":
            if self.client_cert is None:
                raise ValueError("client_cert: RavenDB is read with a client certificate; set client_cert")
        elif self.user is None:
            raise ValueError(f"user: the auditor's read-only login is required for engine {self.engine!r}")
        return self

    def effective_port(self) -> int:
        """Return the configured port or the engine's default port."""
        return self.port or DEFAULT_DATABASE_PORTS[self.engine]

    def effective_admin_login(self) -> str:
        """Return the server administrator's login name ('' when the engine has none)."""
        return self.admin_login or DEFAULT_ADMIN_LOGINS[self.engine]


class MessageRetention(_Section):
    """Where an application keeps its messages, so their age can be measured (clause 6e).

    Either table/column settings (the auditor builds a bounded aggregate query with quoted
    identifiers) or two queries that each return one row: (count, oldest timestamp).
    """

    table: str | None = None
    timestamp_column: str | None = None
    status_column: str | None = None
    delivered_values: list[str] = Field(default_factory=list)
    failed_values: list[str] = Field(default_factory=list)
    delivered_query: str | None = None
    failed_query: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> MessageRetention:
        by_table = self.table is not None
        by_query = self.delivered_query is not None or self.failed_query is not None
        if by_table == by_query:
            raise ValueError(
                "expected either table/timestamp_column/status_column/delivered_values/failed_values "
                "or delivered_query/failed_query"
            )
        if by_table and not (
            self.timestamp_column and self.status_column and self.delivered_values and self.failed_values
        ):
            raise ValueError(
                "table: also set timestamp_column, status_column, delivered_values and failed_values"
            )
        if by_query and not (self.delivered_query and self.failed_query):
            raise ValueError("delivered_query: set both delivered_query and failed_query")
        return self


class ApplicationEntry(_Section):
    """One application and the database it is meant to use (`[[applications]]`)."""

    name: str = Field(min_length=1)
    server: str
    """The `[[databases]]` name of the server holding its database."""
    database: str
    login: str | None = None
    certificate: str | None = None
    """RavenDB: the thumbprint of the application's client certificate."""
    owner: str | None = None
    password_columns: list[str] = Field(default_factory=list)
    """Columns holding password hashes, as schema.table.column (e.g. dbo.Users.PasswordHash)."""
    retention: MessageRetention | None = None

    @field_validator("password_columns")
    @classmethod
    def _qualified_columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if len([part for part in column.split(".") if part]) != 3:
                raise ValueError(f"{column!r}: expected schema.table.column, e.g. dbo.Users.PasswordHash")
        return value

    @model_validator(mode="after")
    def _identity(self) -> ApplicationEntry:
        if (self.login is None) == (self.certificate is None):
            raise ValueError("login: set exactly one of login (SQL/PostgreSQL) or certificate (RavenDB)")
        return self


TicketBackendName = Literal["jira", "azure-devops", "github", "webhook", "email"]
TicketMode = Literal["off", "dry-run", "on"]


class TicketSettings(_Section):
    """Where failing controls become tickets (`[tickets]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    backend: TicketBackendName
    mode: TicketMode = "off"
    url: str | None = None
    """API base: a Jira site, https://dev.azure.com/ORG, https://api.github.com, a webhook URL."""
    ca_bundle: Path | None = None
    repository: str | None = None
    """GitHub: owner/name."""
    project: str | None = None
    """Jira project key or Azure DevOps project."""
    token_env: str | None = None
    """The environment variable holding the credential (API token, PAT, webhook HMAC secret, SMTP password)."""
    user_env: str | None = None
    """Jira Cloud: the variable holding the account e-mail for basic auth; e-mail: the SMTP user."""
    grouping: Literal["control-scope", "control-resource"] = "control-scope"
    resolve_after: int = Field(default=3, ge=1)
    reminder_days: int = Field(default=7, ge=1)
    reopen_days: int = Field(default=30, ge=0)
    max_new: int = Field(default=20, ge=1)
    labels: list[str] = Field(default_factory=lambda: ["statement-auditor"])
    issue_type: str = "Task"
    """Jira issue type / Azure DevOps work item type."""
    open_state: str = "New"
    resolved_state: str = "Closed"
    reopened_state: str = "Active"
    """Azure DevOps state names (they differ per process: Agile, Scrum, Basic, CMMI)."""
    wont_fix: list[str] = Field(
        default_factory=lambda: ["Won't Fix", "Won't Do", "Risk Accepted", "Declined", "not_planned"]
    )
    """Resolutions / reasons / state reasons that mean a person decided not to fix: never reopened."""
    report_url: str | None = None
    """Where the night's evidence report is published; ticket bodies link to it."""
    owner: str | None = None
    """Who receives the one 'could not evaluate' ticket of a run (the auditor's owner)."""
    state_file: Path | None = None
    """Optional local cache of fingerprint -> ticket; the tracker stays the system of record."""
    timeout_seconds: float = Field(default=20.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    from_address: str | None = Field(default=None, alias="from")
    to: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("expected an https:// URL (credentials are never sent in clear text)")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _backend_needs(self) -> TicketSettings:
        needs: dict[str, tuple[str, ...]] = {
            "jira": ("url", "project", "token_env"),
            "azure-devops": ("url", "project", "token_env"),
            "github": ("url", "repository", "token_env"),
            "webhook": ("url", "token_env"),
            "email": ("smtp_host", "from_address", "to"),
        }
        for key in needs[self.backend]:
            if not getattr(self, key):
                shown = "from" if key == "from_address" else key
                raise ValueError(f"{shown}: required for backend {self.backend!r}")
        if self.backend == "github" and self.repository and self.repository.count("/") != 1:
            raise ValueError("repository: expected owner/name")
        return self


class Waiver(_Section):
    """An accepted exception: who approved it, why, and until when (expiry is required)."""

    control: str
    resource: str
    justification: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: date


class _WaiverFile(_Section):
    waivers: list[Waiver] = Field(default_factory=list)


class AuditConfig(BaseModel):
    """The whole validated audit.toml (plus waivers.toml beside it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    sha256: str
    policy: Policy = Field(default_factory=Policy)
    azure: AzureSource | None = None
    hosts: list[HostEntry] = Field(default_factory=list)
    endpoints: list[EndpointEntry] = Field(default_factory=list)
    probes: list[ProbeEntry] = Field(default_factory=list)
    probing: ProbingSettings = Field(default_factory=ProbingSettings)
    hosts_settings: HostsSettings = Field(default_factory=HostsSettings)
    attestations: list[Attestation] = Field(default_factory=list)
    subprocessors: list[SubProcessor] | None = None
    waivers: list[Waiver] = Field(default_factory=list)
    databases: list[DatabaseServerEntry] = Field(default_factory=list)
    applications: list[ApplicationEntry] = Field(default_factory=list)
    tickets: TicketSettings | None = None

    @model_validator(mode="after")
    def _applications_consistent(self) -> AuditConfig:
        servers = [server.name for server in self.databases]
        for index, server in enumerate(self.databases):
            if servers.count(server.name) > 1:
                raise ValueError(f"databases[{index}].name: {server.name!r} is used by more than one server")
        names = [app.name for app in self.applications]
        for index, app in enumerate(self.applications):
            if names.count(app.name) > 1:
                raise ValueError(
                    f"applications[{index}].name: {app.name!r} is used by more than one application"
                )
            if app.server not in servers:
                raise ValueError(
                    f"applications[{index}].server: no [[databases]] entry is named {app.server!r}"
                )
        return self

    @model_validator(mode="after")
    def _hosts_consistent(self) -> AuditConfig:
        names = [host.name for host in self.hosts]
        for index, host in enumerate(self.hosts):
            if names.count(host.name) > 1:
                raise ValueError(f"hosts[{index}].name: {host.name!r} is used by more than one host")
            if host.jump is not None and host.jump not in names:
                raise ValueError(f"hosts[{index}].jump: no host is named {host.jump!r}")
            seen, hop = {host.name}, host.jump
            while hop is not None:
                if hop in seen:
                    raise ValueError(
                        f"hosts[{index}].jump: the bastion chain of {host.name!r} loops back to {hop!r}"
                    )
                seen.add(hop)
                hop = next((h.jump for h in self.hosts if h.name == hop), None)
        return self

    def resolve(self, relative: Path) -> Path:
        """Return a path from the config resolved against the config file's folder."""
        return relative if relative.is_absolute() else (self.path.parent / relative)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _describe(error: ValidationError, file: Path, raw: dict[str, Any]) -> str:
    lines = []
    for item in error.errors():
        key = _location(tuple(item["loc"]))
        if item["type"] == "extra_forbidden":
            lines.append(f"{file}: unknown key '{key}' (check its spelling: unknown keys are refused)")
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        got = item.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{file}: {key}: {message}{shown}")
    return "\n".join(lines)


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such configuration file (pass --audit-config PATH, copy audit.example.toml, "
            "or try the bundled demo with --demo)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(path: Path, known_controls: frozenset[str] | None = None) -> AuditConfig:
    """Return the validated configuration at `path`, merged with waivers.toml beside it.

    Raises ConfigError with one line per problem; `known_controls`, when given, is used to
    refuse waivers for control ids that do not exist (a typo would otherwise waive nothing).
    """
    data, raw = _read_toml(path)
    digest = hashlib.sha256(raw)
    waivers_file = path.parent / "waivers.toml"
    if waivers_file.is_file():
        extra, extra_raw = _read_toml(waivers_file)
        digest.update(extra_raw)
        try:
            extra_waivers = _WaiverFile.model_validate(extra).waivers
        except ValidationError as exc:
            raise ConfigError(_describe(exc, waivers_file, extra)) from None
    else:
        extra_waivers = []
    for reserved in ("path", "sha256"):
        if reserved in data:
            raise ConfigError(
                f"{path}: unknown key '{reserved}' (check its spelling: unknown keys are refused)"
            )
    try:
        config = AuditConfig.model_validate({**data, "path": path.resolve(), "sha256": digest.hexdigest()})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, data)) from None
    if known_controls is not None:
        for file, waivers in ((path, config.waivers), (waivers_file, extra_waivers)):
            for index, waiver in enumerate(waivers):
                if waiver.control not in known_controls:
                    raise ConfigError(
                        f"{file}: waivers[{index}].control: unknown control id {waiver.control!r} "
                        "(expected an id from the control catalog, e.g. 12b.azure-sql-firewall)"
                    )
    if extra_waivers:
        config = config.model_copy(update={"waivers": [*config.waivers, *extra_waivers]})
    if config.azure and config.azure.ca_bundle and not config.resolve(config.azure.ca_bundle).is_file():
        raise ConfigError(f"{path}: azure.ca_bundle: no such file {config.resolve(config.azure.ca_bundle)}")
    return config
