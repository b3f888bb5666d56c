"""What the auditor reaches over the network: Azure (`[azure]`), SSH hosts (`[[hosts]]`,
`[hosts_settings]`), TLS endpoints (`[[endpoints]]`) and probed addresses (`[[probes]]`, `[probing]`).

Secrets never live here: every entry names the environment variable or file that holds one.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator, model_validator

from reports.setting_types import (
    SECONDS_MAX,
    ConfigPath,
    ConfigSection,
    EnvName,
    HostName,
    Port,
    Seconds,
    host_problem,
    normalise_host,
    url_problem,
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


class AzureSource(ConfigSection):
    """Where and how the auditor reads Azure Resource Manager."""

    site: str = "local"
    """The `[[sites]]` entry whose worker reads Azure (with [distributed]); default "local"."""
    subscriptions: list[str] = Field(default_factory=list)
    endpoint: str = PUBLIC_ARM_ENDPOINT
    ca_bundle: ConfigPath | None = None
    credential: Literal["default", "static-token"] = "default"
    max_concurrency: int = Field(default=8, ge=1, le=64)
    """ARM requests in flight at once per subscription (ARM meters reads per subscription)."""
    max_concurrency_total: int = Field(default=64, ge=1, le=512)
    """ARM requests in flight at once over all subscriptions: the run's threads and connections."""
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
    open_discovered_pages: bool = False
    """6d: also open the home page of every App Service host name Azure publishes (not the .scm. ones)
    in headless Chromium, with no cookie declared allowed."""

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


class HostEntry(ConfigSection):
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
    site: str = "local"
    """The `[[sites]]` entry this host is reached from (default "local": the run's own machine)."""

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


class EndpointEntry(ConfigSection):
    """A TLS endpoint to scan (`[[endpoints]]`): `https://host[:port]/` or `tls://host:port`."""

    url: str
    sni: str | None = None
    starttls: Literal["smtp", "postgres", "imap", "pop3", "ftp", "xmpp", "ldap", "rdp", "mysql"] | None = None
    ca_bundle: ConfigPath | None = None
    site: str = "local"
    """The `[[sites]]` entry this endpoint is reached from (default "local": the run's own machine)."""
    pages: list[str] = Field(default_factory=list)
    """Paths of this web solution's pages ("/", "/contact") opened in headless Chromium with no
    consent given (6d.tracking-after-consent); https:// endpoints only."""
    allowed_cookies: list[str] = Field(default_factory=list)
    """The strictly necessary cookies these pages may set before consent: exact names, or a
    prefix ending in `*` ("wp-settings-*")."""

    @field_validator("pages")
    @classmethod
    def _page_paths(cls, value: list[str]) -> list[str]:
        for index, page in enumerate(value):
            if not page.startswith("/") or page.startswith("//") or any(c.isspace() for c in page):
                raise ValueError(f'[{index}] {page!r}: expected a path on this endpoint, such as "/contact"')
            if "#" in page:
                raise ValueError(f"[{index}] {page!r}: a fragment never reaches the server; leave it out")
            if page in value[:index]:
                raise ValueError(f"[{index}] {page!r} is listed twice")
        return value

    @field_validator("allowed_cookies")
    @classmethod
    def _cookie_names(cls, value: list[str]) -> list[str]:
        for index, name in enumerate(value):
            stem = name.removesuffix("*")
            if not stem or any(c in stem for c in ' \t;,="*'):
                raise ValueError(f"[{index}] {name!r}: expected a cookie name, or a prefix ending in *")
        return value

    @model_validator(mode="after")
    def _pages_on_web_endpoints(self) -> EndpointEntry:
        if self.pages and (self.starttls is not None or not self.url.startswith("https://")):
            raise ValueError("pages: only an https:// endpoint without starttls serves web pages")
        if self.allowed_cookies and not self.pages:
            raise ValueError("allowed_cookies: no pages are listed, so no cookie is looked at")
        return self

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


class ProbeEntry(ConfigSection):
    """An address whose ports are probed from the auditor's vantage point (`[[probes]]`)."""

    address: HostName
    ports: list[Port] = Field(default_factory=list)
    """Default: policy.sensitive_ports."""
    site: str = "local"
    """The `[[sites]]` entry the address lives at (shown in its origin); it is probed from every
    untrusted site all the same, since exposure is judged from where an attacker is."""

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, value: list[int]) -> list[int]:
        for index, port in enumerate(value):
            if port in value[:index]:
                raise ValueError(f"[{index}] port {port} is listed twice")
        return value


class ProbingSettings(ConfigSection):
    """TCP exposure probes from the auditor's vantage point (`[probing]`)."""

    enabled: bool = True
    include_azure_sql: bool = True
    """Also probe port 1433 of the SQL server FQDNs discovered in Azure."""
    timeout_seconds: Seconds = 3.0
    max_concurrency: int = Field(default=64, ge=1, le=1024)
    from_trusted_sites: bool = False
    """With [distributed], also probe from the `trusted` sites: what they see is never a finding, but
    a host that answers there shows that a port filtered from an untrusted site is a firewall's doing."""


class HostsSettings(ConfigSection):
    """How hosts are reached as a whole (`[hosts_settings]`)."""

    max_concurrency: int = Field(default=8, ge=1, le=256)
    max_output_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=1024**4)
