"""audit.toml: what to look at (inventory), what "good" means (policy), and accepted exceptions.

The file is validated into typed objects before anything is collected. A typo must never
silently disable a check, so unknown keys are errors, and every error names the file, the
key and what was expected.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tomllib
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from collectors.regions import (
    EEA_COUNTRIES,
    EU_EEA_REGIONS,
    KNOWN_AZURE_REGIONS,
    normalise_region,
    region_hint,
)

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

DAYS_MAX = 36500
"""The largest day count any setting accepts (a century): beyond it date arithmetic overflows."""
SECONDS_MAX = 86400.0
"""The longest timeout or back-off any setting accepts (a day): beyond it socket timeouts overflow."""

TRUSTED_PREFIX_FLOOR_V4 = 8
TRUSTED_PREFIX_FLOOR_V6 = 16
"""The broadest trusted networks the auditor accepts, and the default floors.

A trusted location is a network an organisation controls; the largest block one organisation
ever held is an IPv4 /8. `policy.trusted_network_min_prefix_v4/_v6` can raise the floor, never
lower it, so `0.0.0.0/0`, `::/0` or half of the Internet can never be called trusted.
"""
IPV4_EMBEDDINGS: tuple[tuple[ipaddress.IPv6Network, int], ...] = (
    (ipaddress.IPv6Network("::ffff:0:0/96"), 96),  # IPv4-mapped (RFC 4291 2.5.5.2)
    (ipaddress.IPv6Network("::/96"), 96),  # IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
    (ipaddress.IPv6Network("64:ff9b::/96"), 96),  # NAT64 well-known prefix (RFC 6052)
    (ipaddress.IPv6Network("2002::/16"), 16),  # 6to4 (RFC 3056): the IPv4 address is bits 16-47
)
"""IPv6 ranges whose addresses carry an IPv4 address: a network inside one is as broad as its IPv4 part."""
EVERYONE_SERVICE_TAGS = frozenset({"*", "any", "internet"})
"""NSG sources that mean anyone, never a trusted location whatever policy.trusted_service_tags says."""
ANY_TENANT_SERVICE_TAGS = ("azurecloud",)
"""Service tags (and their regional forms, AzureCloud.westeurope) holding every Azure customer's addresses.

Consistent with 12b.azure-sql-firewall, which fails "allow Azure services" (any Azure IP of any
tenant): such a tag is not a trusted location either.
"""


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and what was expected."""


_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def host_problem(host: str) -> str | None:
    """Return why `host` is neither an IP address nor a DNS host name, or None when it is one.

    It exists so that every host and URL setting refuses the same malformed names before anything
    is collected (a space, a scheme, a port or a path in a host field crashes or misleads later).
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        try:
            ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return f"{host!r} is not an IPv6 address in brackets"
        return None
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    name = text.rstrip(".").lower()
    if not name:
        return "expected a host name or IP address, got an empty string"
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return f"{host!r} is not a valid host name"
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        return f"{host!r} is not an IP address or a DNS host name"
    if labels[-1].isdigit():
        return f"{host!r} is not a valid IP address"
    return None


def url_problem(value: str, schemes: Sequence[str]) -> str | None:
    """Return why `value` is not a usable URL with one of `schemes`, or None when it is one.

    Checks the scheme, that there is a valid host, that the port (if any) is 1-65535 and that no
    user name or password is embedded: credentials come from the environment, never the config.
    """
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        return f"expected a {wanted} URL ({exc})"
    if parts.scheme not in schemes:
        return f"expected a {wanted} URL"
    if "@" in parts.netloc:
        return "a URL must not carry a user name or password (credentials come from the environment)"
    if not parts.hostname:
        return f"expected a {wanted} URL with a host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        written = parts.netloc.rsplit("]", 1)[-1].rpartition(":")[2]
        return f"the port {written!r} is not a number from 1 to 65535"
    return host_problem(parts.hostname)


def redacted_url(value: str) -> str:
    """Return a URL as safe to print: scheme, host and port only (paths and user info may hold secrets)."""
    scheme, _, rest = value.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{netloc.rsplit('@', 1)[-1]}/..." if netloc else "<a URL>"


def effective_prefix(network: IpNetwork) -> tuple[int, int]:
    """Return (IP version, prefix length) that measure how broad `network` really is.

    An IPv6 network inside an IPv4-embedding range (IPv4-mapped, NAT64, 6to4) is measured by its
    IPv4 part: `::ffff:0:0/96` is as broad as `0.0.0.0/0`.
    """
    if isinstance(network, ipaddress.IPv6Network):
        for embedding, offset in IPV4_EMBEDDINGS:
            if network.subnet_of(embedding):
                return 4, min(network.prefixlen, offset + 32) - offset
    return network.version, network.prefixlen


def _path_text(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a file path, got an empty string")
        return Path(value.strip())
    if isinstance(value, Path):
        return value
    raise ValueError("expected a file path (a string)")


def _host(value: str) -> str:
    problem = host_problem(value)
    if problem:
        raise ValueError(problem)
    return value


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # The value is not echoed: a secret pasted here by mistake must not reach the terminal.
        raise ValueError("expected the NAME of an environment variable (letters, digits, _), not its value")
    return value


def normalise_host(host: str) -> str:
    """Return a host as compared for identity: lower case, no trailing dot, IPv6 compressed, no brackets."""
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return False
    return True


def _auto_or_bool(value: object) -> object:
    if isinstance(value, bool) or value == "auto":
        return value
    raise ValueError('expected true, false or "auto"')


ConfigPath = Annotated[Path, BeforeValidator(_path_text)]
"""A file path written as a string in the TOML file (strict mode accepts no other type)."""
HostName = Annotated[str, AfterValidator(_host)]
"""An IP address or DNS host name (IPv6 may be written in brackets)."""
EnvName = Annotated[str, AfterValidator(_env_name)]
"""The name of an environment variable that holds a secret (the secret itself never is in the config)."""
Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0, le=SECONDS_MAX)]


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
    # strict: a string is never a number, a number never a string, a bool never an int (TOML has
    # real types, so a quoted "92" is a mistake to report, not to guess at); non-finite floats
    # (inf, nan) are refused for every float setting.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, strict=True, allow_inf_nan=False
    )


class Policy(_Section):
    """What "good" means; every threshold of the controls lives here."""

    trusted_networks: list[Cidr] = Field(default_factory=list)
    trusted_network_min_prefix_v4: int = Field(
        default=TRUSTED_PREFIX_FLOOR_V4, ge=TRUSTED_PREFIX_FLOOR_V4, le=32
    )
    """No trusted IPv4 network (alone or merged with its neighbours) may be broader than this prefix."""
    trusted_network_min_prefix_v6: int = Field(
        default=TRUSTED_PREFIX_FLOOR_V6, ge=TRUSTED_PREFIX_FLOOR_V6, le=128
    )
    """No trusted IPv6 network (alone or merged with its neighbours) may be broader than this prefix."""
    min_tls: TlsVersion = "1.2"
    allowed_regions: list[str] = Field(default_factory=lambda: list(EU_EEA_REGIONS))
    additional_region_names: list[str] = Field(default_factory=list)
    """Region names allowed_regions may use although Microsoft's list lacks them (a region opened
    after this release, an Azure Stack Hub region)."""
    attestation_max_age_days: int = Field(default=92, gt=0, le=DAYS_MAX)
    certificate_min_days_left: int = Field(default=30, ge=0, le=DAYS_MAX)
    sensitive_ports: list[Port] = Field(default_factory=lambda: [22, 1433, 3306, 3389, 5432, 5985, 5986])
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
    pending_grace_days: int = Field(default=14, ge=0, le=DAYS_MAX)
    patch_assessment_max_age_days: int = Field(default=7, gt=0, le=DAYS_MAX)
    backup_max_retention: IsoDuration = "P3M"
    audit_min_retention_days: int = Field(default=90, ge=0, le=DAYS_MAX)
    security_alert_min_severity: Literal["High", "Medium", "Low"] = "Medium"
    require_tls13: bool = False
    cert_min_days: int = Field(default=21, ge=0, le=DAYS_MAX)
    hsts_min_max_age: int = Field(default=31536000, ge=0, le=DAYS_MAX * 86400)
    authorized_admins: list[str] = Field(default_factory=list)
    authorized_ssh_keys: list[str] = Field(default_factory=list)
    patch_max_age_days: int = Field(default=35, gt=0, le=DAYS_MAX)
    delivered_message_max_days: int = Field(default=7, ge=0, le=DAYS_MAX)
    failed_message_max_days: int = Field(default=30, ge=0, le=DAYS_MAX)
    password_sample_limit: int = Field(default=10000, ge=1, le=10_000_000)

    @field_validator("allowed_regions", "additional_region_names")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [normalise_region(region) for region in value]

    @model_validator(mode="after")
    def _known_regions(self) -> Policy:
        known = KNOWN_AZURE_REGIONS | set(self.additional_region_names)
        for index, region in enumerate(self.allowed_regions):
            if region not in known:
                hint = region_hint(region)
                raise ValueError(
                    f"allowed_regions[{index}]: {region!r} is not an Azure region name"
                    + (f" (did you mean {hint!r}?)" if hint else "")
                    + "; a region Microsoft opened after this release, or an Azure Stack Hub region, "
                    "can be named in policy.additional_region_names"
                )
        return self

    def networks(self) -> list[IpNetwork]:
        """Return the trusted networks as ipaddress objects."""
        return [ipaddress.ip_network(cidr) for cidr in self.trusted_networks]

    def prefix_floor(self, version: int) -> int:
        """Return the floor of IP `version`: the shortest prefix a trusted network of it may have."""
        return self.trusted_network_min_prefix_v4 if version == 4 else self.trusted_network_min_prefix_v6

    def within_floor(self, network: IpNetwork) -> bool:
        """Return True when `network` is no broader than the floor of its (effective) IP version."""
        version, prefix = effective_prefix(network)
        return prefix >= self.prefix_floor(version)

    def trust_problems(self) -> list[str]:
        """Return why trusted_networks or trusted_service_tags would trust too much (empty when sound).

        Checked when a config file is loaded; controls/networks.py also ignores any network
        broader than the floor, so a Policy built in code cannot trust the Internet either.
        """
        problems = []
        for index, network in enumerate(self.networks()):
            if not self.within_floor(network):
                version, prefix = effective_prefix(network)
                key = f"trusted_network_min_prefix_v{version}"
                problems.append(
                    f"policy.trusted_networks[{index}]: {network} is as broad as an IPv{version} "
                    f"/{prefix}, broader than the floor /{self.prefix_floor(version)} (policy.{key}); "
                    "a trusted location is a network you control: list the narrower networks you use"
                )
        if not problems:
            for version in (4, 6):
                family = [n for n in self.networks() if n.version == version]
                for block in ipaddress.collapse_addresses(family):  # type: ignore[type-var]
                    if not self.within_floor(block):
                        parts = [str(n) for n in family if n.subnet_of(block)]  # type: ignore[arg-type]
                        problems.append(
                            f"policy.trusted_networks: {', '.join(parts)} together form {block}, broader "
                            f"than the floor /{self.prefix_floor(version)} "
                            f"(policy.trusted_network_min_prefix_v{version})"
                        )
        for index, tag in enumerate(self.trusted_service_tags):
            lowered = tag.strip().lower()
            if lowered in EVERYONE_SERVICE_TAGS:
                problems.append(
                    f"policy.trusted_service_tags[{index}]: {tag!r} means any address and is never trusted"
                )
            elif lowered.split(".", 1)[0] in ANY_TENANT_SERVICE_TAGS:
                problems.append(
                    f"policy.trusted_service_tags[{index}]: {tag!r} holds the addresses of every Azure "
                    "customer (like 'allow Azure services', which 12b.azure-sql-firewall fails) and is "
                    "never trusted"
                )
        return problems


class AzureSource(_Section):
    """Where and how the auditor reads Azure Resource Manager."""

    subscriptions: list[str] = Field(default_factory=list)
    endpoint: str = PUBLIC_ARM_ENDPOINT
    ca_bundle: ConfigPath | None = None
    credential: Literal["default", "static-token"] = "default"
    max_concurrency: int = Field(default=8, ge=1, le=64)
    timeout_seconds: Seconds = 30.0
    retries: int = Field(default=3, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=0.8, ge=0, le=SECONDS_MAX)
    reads_burst: int = Field(default=240, ge=1, le=1_000_000)
    reads_per_second: float = Field(default=24.0, gt=0, le=1_000_000)
    use_resource_graph: bool = False
    read_connection_strings: bool = False
    """Read App Service connection strings to discover application -> database links.

    Needs more than Reader (`Microsoft.Web/sites/config/list/action`, e.g. Website Contributor);
    the strings are reduced to server, database and user name inside the collector.
    """
    scan_discovered_endpoints: Annotated[bool | Literal["auto"], BeforeValidator(_auto_or_bool)] = "auto"
    """TLS-scan the endpoints Azure publishes (App Service host names): true, false, or "auto" =
    only when `endpoint` is a Microsoft cloud's Resource Manager (an emulator or proxy publishes
    names that may not exist)."""

    @field_validator("endpoint")
    @classmethod
    def _https_endpoint(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("expected an https:// URL (Azure refuses bearer tokens over plain http)")
        problem = url_problem(value, ("https",))
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("subscriptions")
    @classmethod
    def _unique_subscriptions(cls, value: list[str]) -> list[str]:
        seen: dict[str, int] = {}
        for index, subscription in enumerate(value):
            first = seen.setdefault(subscription.lower(), index)
            if first != index:
                raise ValueError(f"[{index}] {subscription!r} repeats subscriptions[{first}]")
        return value

    def scans_discovered_endpoints(self) -> bool:
        """Return True when endpoints Azure publishes are TLS-scanned (scan_discovered_endpoints).

        "auto" keeps the rule of earlier releases: only against a Microsoft cloud's Resource Manager.
        """
        if self.scan_discovered_endpoints == "auto":
            return self.is_public_cloud()
        return self.scan_discovered_endpoints

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
    address: HostName
    port: Port = 22
    user: str = Field(min_length=1)
    key_file: ConfigPath | None = None
    passphrase_env: EnvName | None = None
    password_env: EnvName | None = None
    known_hosts: ConfigPath = Path("~/.ssh/known_hosts")
    host_key_sha256: str | None = None
    os: Literal["windows", "linux", "auto"] = "auto"
    sudo: bool = False
    """Linux: run the fact script through `sudo -n` (firewall, sudoers and sshd need root)."""
    roles: list[str] = Field(default_factory=list)
    jump: str | None = None
    tags: list[str] = Field(default_factory=list)
    connect_timeout_seconds: Seconds = 10.0
    command_timeout_seconds: Seconds = 900.0

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

    def identity(self) -> tuple[str, int, str]:
        """Return what makes two entries the same machine: address (normalised), port and jump host."""
        return normalise_host(self.address), self.port, self.jump or ""


class EndpointEntry(_Section):
    """A TLS endpoint to scan (`[[endpoints]]`): `https://host[:port]/` or `tls://host:port`."""

    url: str
    sni: str | None = None
    starttls: Literal["smtp", "postgres", "imap", "pop3", "ftp", "xmpp", "ldap", "rdp", "mysql"] | None = None
    ca_bundle: ConfigPath | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "tls://")):
            raise ValueError("expected https://host[:port]/ or tls://host:port")
        problem = url_problem(value, ("https", "tls"))
        if problem:
            raise ValueError(problem)
        parts = urlsplit(value)
        if parts.scheme == "tls" and parts.port is None:
            raise ValueError("a tls:// endpoint needs an explicit port")
        return value

    @field_validator("sni")
    @classmethod
    def _server_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = host_problem(value)
        if problem or _is_ip(value):
            raise ValueError(problem or "SNI carries a DNS host name, never an IP address (RFC 6066)")
        return value

    def identity(self) -> tuple[str, int, str, str]:
        """Return what makes two entries the same TLS scan: host, port, server name and STARTTLS."""
        parts = urlsplit(self.url)
        host = normalise_host(parts.hostname or "")
        server_name = normalise_host(self.sni) if self.sni else host
        return host, parts.port or 443, server_name, self.starttls or ""


class ProbeEntry(_Section):
    """An address whose ports are probed from the auditor's vantage point (`[[probes]]`)."""

    address: HostName
    ports: list[Port] = Field(default_factory=list)
    """Default: policy.sensitive_ports."""

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, value: list[int]) -> list[int]:
        for index, port in enumerate(value):
            if port in value[:index]:
                raise ValueError(f"[{index}] port {port} is listed twice")
        return value


class ProbingSettings(_Section):
    """TCP exposure probes from the auditor's vantage point (`[probing]`)."""

    enabled: bool = True
    include_azure_sql: bool = True
    """Also probe port 1433 of the SQL server FQDNs discovered in Azure."""
    timeout_seconds: Seconds = 3.0
    max_concurrency: int = Field(default=64, ge=1, le=1024)


class HostsSettings(_Section):
    """How hosts are reached as a whole (`[hosts_settings]`)."""

    max_concurrency: int = Field(default=8, ge=1, le=256)
    max_output_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=1024**4)


class Attestation(_Section):
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


class SubProcessor(_Section):
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
    host: HostName
    port: Port | None = None
    user: str | None = None
    """The auditor's own read-only login (SQL Server, Azure SQL, PostgreSQL)."""
    password_env: EnvName | None = None
    """The environment variable holding that login's password; never the password itself."""
    client_cert: ConfigPath | None = None
    """RavenDB: PEM file with the auditor's client certificate (and its key unless client_key is set)."""
    client_key: ConfigPath | None = None
    ca_bundle: ConfigPath | None = None
    databases: list[str] | None = None
    """Databases to read; all user databases when absent."""
    admin_login: str | None = None
    """The server's administrator login (Azure SQL administratorLogin); default sa / postgres."""
    timeout_seconds: Seconds = 15.0

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

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        populate_by_name=True,
        strict=True,
        allow_inf_nan=False,
    )

    backend: TicketBackendName
    mode: TicketMode = "off"
    url: str | None = None
    """API base: a Jira site, https://dev.azure.com/ORG, https://api.github.com, a webhook URL."""
    ca_bundle: ConfigPath | None = None
    repository: str | None = None
    """GitHub: owner/name."""
    project: str | None = None
    """Jira project key or Azure DevOps project."""
    token_env: EnvName | None = None
    """The environment variable holding the credential (API token, PAT, webhook HMAC secret, SMTP password)."""
    user_env: EnvName | None = None
    """Jira Cloud: the variable holding the account e-mail for basic auth; e-mail: the SMTP user."""
    grouping: Literal["control-scope", "control-resource"] = "control-scope"
    resolve_after: int = Field(default=3, ge=1, le=DAYS_MAX)
    reminder_days: int = Field(default=7, ge=1, le=DAYS_MAX)
    reopen_days: int = Field(default=30, ge=0, le=DAYS_MAX)
    max_new: int = Field(default=20, ge=1, le=100_000)
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
    state_file: ConfigPath | None = None
    """Optional local cache of fingerprint -> ticket; the tracker stays the system of record."""
    timeout_seconds: Seconds = 20.0
    smtp_host: HostName | None = None
    smtp_port: Port = 587
    from_address: str | None = Field(default=None, alias="from")
    to: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("expected an https:// URL (credentials are never sent in clear text)")
        problem = url_problem(value, ("https",)) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value.rstrip("/") if value else value

    @field_validator("report_url")
    @classmethod
    def _report_url(cls, value: str | None) -> str | None:
        problem = url_problem(value, ("https", "http")) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _backend_needs(self) -> TicketSettings:
        needs: dict[str, tuple[str, ...]] = {
            "jira": ("url", "project", "token_env", "user_env"),
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


WaiverScope = Literal["resource", "control"]


def blanket_pattern(pattern: str) -> bool:
    """Return True when a waiver's resource glob matches every resource id of its control.

    Made only of `*` (and `?`, each matching one character of an id that is never empty)
    with at least one `*`: "*", "**", "*/*" is not (it needs a slash) but "*?" is.
    """
    text = pattern.strip()
    return "*" in text and set(text) <= {"*", "?"}


class Waiver(_Section):
    """An accepted exception: who approved it, why, and until when (expiry is required).

    `scope = "resource"` (the default): `resource` is a case-insensitive glob on resource ids and
    must not match every id. `scope = "control"`: the whole control is waived, said out loud;
    `resource` is then "*" or left out. The report lists blanket waivers on its cover.
    """

    control: str = Field(min_length=1)
    scope: WaiverScope = "resource"
    resource: str = Field(min_length=1)
    justification: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: date

    @model_validator(mode="before")
    @classmethod
    def _control_scope_resource(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("scope") == "control" and "resource" not in data:
            return {**data, "resource": "*"}
        return data

    @model_validator(mode="after")
    def _blanket_is_explicit(self) -> Waiver:
        if self.scope == "control" and self.resource != "*":
            raise ValueError(
                f"resource: a waiver with scope = 'control' waives every resource; its resource must be "
                f"'*' or absent (got {self.resource!r}); for some resources use scope = 'resource'"
            )
        if self.scope == "resource" and blanket_pattern(self.resource):
            raise ValueError(
                f"resource: {self.resource!r} matches every resource of {self.control}; a blanket waiver "
                "must say so with scope = 'control' (it is then listed on the report's cover), or "
                "name the resources it covers"
            )
        return self

    def identity(self) -> tuple[str, str]:
        """Return what makes two waivers the same exception: control and (case-folded) resource glob."""
        return self.control, self.resource.lower()


ItemT = TypeVar("ItemT")


def first_repeat(items: Sequence[ItemT], identity: Callable[[ItemT], Hashable]) -> tuple[int, int] | None:
    """Return (index, index of its first occurrence) of the first item whose identity repeats, or None."""
    seen: dict[Hashable, int] = {}
    for index, item in enumerate(items):
        first = seen.setdefault(identity(item), index)
        if first != index:
            return index, first
    return None


class _WaiverFile(_Section):
    waivers: list[Waiver] = Field(default_factory=list)


class AuditConfig(BaseModel):
    """The whole validated audit.toml (plus waivers.toml beside it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

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
    def _identities_unique(self) -> AuditConfig:
        """Refuse two entries that name the same subject: one of them would be judged, the other lost."""
        checks: list[tuple[str, Sequence[Any], Callable[[Any], Hashable], str, str]] = [
            ("hosts", self.hosts, lambda h: h.name.lower(), "name", "names are compared without case"),
            (
                "hosts",
                self.hosts,
                HostEntry.identity,
                "address",
                "the same address, port and jump host: one machine audited twice under two names",
            ),
            (
                "endpoints",
                self.endpoints,
                EndpointEntry.identity,
                "url",
                "the same host, port, sni and starttls",
            ),
            ("probes", self.probes, lambda e: normalise_host(e.address), "address", "merge their ports"),
            (
                "attestations",
                self.attestations,
                lambda a: (a.control, a.subject.lower()),
                "subject",
                "the same control and subject (compared without case)",
            ),
            (
                "subprocessors",
                self.subprocessors or [],
                lambda p: p.name.lower(),
                "name",
                "names are compared without case",
            ),
            (
                "databases",
                self.databases,
                lambda d: d.name.lower(),
                "name",
                "names are compared without case",
            ),
            (
                "applications",
                self.applications,
                lambda a: a.name.lower(),
                "name",
                "names are compared without case",
            ),
            ("waivers", self.waivers, Waiver.identity, "resource", "the same control and resource glob"),
        ]
        for section, entries, identity, key, why in checks:
            repeat = first_repeat(entries, identity)
            if repeat is not None:
                index, first = repeat
                shown = getattr(entries[index], key)
                raise ValueError(
                    f"{section}[{index}].{key}: {shown!r} repeats {section}[{first}] ({why}); "
                    "every subject is listed once, so that none is silently left out"
                )
        return self

    @model_validator(mode="after")
    def _applications_consistent(self) -> AuditConfig:
        servers = [server.name for server in self.databases]
        for index, app in enumerate(self.applications):
            if app.server not in servers:
                raise ValueError(
                    f"applications[{index}].server: no [[databases]] entry is named {app.server!r}"
                )
        return self

    @model_validator(mode="after")
    def _hosts_consistent(self) -> AuditConfig:
        names = [host.name for host in self.hosts]
        for index, host in enumerate(self.hosts):
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

    @model_validator(mode="after")
    def _trust_is_bounded(self) -> AuditConfig:
        problems = self.policy.trust_problems()
        if problems:
            raise ValueError(problems[0])
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
    return out


_SUBKEY = re.compile(r"^(\[\d+\] |[A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*: )")
"""A message that starts by naming a key below the error's location ("valid_until: ...", "[2] ...")."""


def _describe(error: ValidationError, file: Path, raw: dict[str, Any]) -> str:
    lines = []
    for item in error.errors():
        key = _location(tuple(item["loc"]))
        if item["type"] == "extra_forbidden":
            lines.append(f"{file}: unknown key '{key}' (check its spelling: unknown keys are refused)")
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        subkey = _SUBKEY.match(message)
        if subkey:
            below = subkey.group(1).rstrip(": ").rstrip()
            key = f"{key}{below}" if below.startswith("[") or not key else f"{key}.{below}"
            message = message[subkey.end() :]
        got = item.get("input")
        last = key.rsplit(".", 1)[-1]
        if last.endswith("_env") or isinstance(got, dict | list) or subkey:
            shown = ""  # a *_env value may be a secret pasted by mistake: never echoed
        elif isinstance(got, str) and "://" in got:
            shown = f" (got {redacted_url(got)!r})"
        else:
            shown = f" (got {got!r})"
        lines.append(f"{file}: {key or '(top level)'}: {message}{shown}")
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
        merged = [*config.waivers, *extra_waivers]
        repeat = first_repeat(merged, Waiver.identity)
        if repeat is not None:
            index, first = repeat
            own = len(config.waivers)
            where = f"waivers[{first}] of {path}" if first < own else f"waivers[{first - own}]"
            raise ConfigError(
                f"{waivers_file}: waivers[{index - own}].resource: {merged[index].resource!r} repeats "
                f"{where} (the same control and resource glob); every exception is granted once"
            )
        config = config.model_copy(update={"waivers": merged})
    if config.azure and config.azure.ca_bundle and not config.resolve(config.azure.ca_bundle).is_file():
        raise ConfigError(f"{path}: azure.ca_bundle: no such file {config.resolve(config.azure.ca_bundle)}")
    return config
