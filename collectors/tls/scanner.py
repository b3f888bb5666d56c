"""Scan TLS endpoints with sslyze, concurrently, and reduce each scan to a `TlsEndpoint` fact.

The endpoints come from `[[endpoints]]` in the config and from the host names Azure resources
publish (population `azure.endpoints`). Each target is scanned once: SSL 2.0/3.0 and TLS
1.0-1.3 cipher suites, the certificate chain, and (for https://) the HTTP response headers for
HSTS; an https:// target also gets one plain `GET /` on its HTTP port (80) to see whether it
redirects to HTTPS. Collectors never judge: the facts say what was offered and what validated;
the controls decide. A scan that cannot complete is an `unobservable` subject (an `error`).
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import math
import ssl
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
from sslyze.errors import ServerHostnameCouldNotBeResolved
from sslyze.json.json_output import ServerScanResultAsJson
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerConnectivityStatusEnum,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from collectors.azure.base import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config import AuditConfig
from collectors.fact_json import subject_from_json, subject_to_json
from collectors.facts import FactStore, Subject, observed, unobservable
from collectors.provenance import Source, utc_now

TLS_ENDPOINTS = "tls.endpoints"
"""One subject per scanned endpoint, id `https://host:port/` or `tls://host:port`."""
COLLECTOR = "tls"
SQL_TDS_PORT = 1433
APP_SERVICE_PORT = 443

PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
"""Every protocol version the scan tries, oldest first."""
STARTTLS_PROTOCOLS = {
    "smtp": "SMTP",
    "postgres": "POSTGRES",
    "imap": "IMAP",
    "pop3": "POP3",
    "ftp": "FTP",
    "xmpp": "XMPP",
    "ldap": "LDAP",
    "rdp": "RDP",
}
"""Config `starttls` values and sslyze's names for them (sslyze cannot upgrade MySQL)."""


@dataclass(frozen=True)
class TlsTarget:
    """One endpoint to scan: where to connect, what name to send, which CAs to trust."""

    host: str
    port: int
    scheme: Literal["https", "tls"] = "https"
    sni: str | None = None
    starttls: str | None = None
    ca_bundle: Path | None = None
    address: str | None = None
    """Connect to this IP address instead of resolving `host` (the name is still sent and checked)."""
    http_port: int | None = 80
    """Port of the plain-HTTP redirect check (https:// targets only; None skips it)."""
    origin: str = "config"
    """Where the target came from: "config" or the Azure resource id that published it."""

    @property
    def id(self) -> str:
        """Return the stable subject id: `https://host:port/` or `tls://host:port`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.scheme == "https":
            return f"https://{host}:{self.port}/"
        return f"tls://{host}:{self.port}"

    @property
    def server_name(self) -> str:
        """Return the name sent as SNI and matched against the certificate."""
        return self.sni or self.host


@dataclass(frozen=True)
class CipherSuiteFact:
    """A TLS 1.2 cipher suite the server accepted (RFC name)."""

    name: str
    forward_secret: bool
    aead: bool


@dataclass(frozen=True)
class CertificateFact:
    """The leaf certificate the server sent (with SNI) and how its chain validated."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    names: tuple[str, ...]
    """subjectAltName DNS names and IP addresses."""
    chain_valid: bool
    """The chain builds to the trust store; judged at a time inside the leaf's validity, so expiry
    and host name are reported separately (not_after, hostname_matches)."""
    validation_error: str | None
    hostname_matches: bool
    trust_store: str
    chain_length: int


@dataclass(frozen=True)
class TlsEndpoint:
    """What one TLS endpoint offered from the auditor's vantage point."""

    target: TlsTarget
    protocols_offered: tuple[str, ...]
    tls12_suites: tuple[CipherSuiteFact, ...]
    tls13_suites: tuple[str, ...]
    key_type: str | None
    key_bits: int | None
    certificate: CertificateFact | None
    hsts_max_age: int | None
    """max-age of the Strict-Transport-Security header; None when absent or not fetched."""
    hsts_observation: str
    """What the HTTPS header check saw, e.g. "max-age=31536000", "no Strict-Transport-Security header"."""
    http_redirects_to_https: bool | None
    """True/False from a plain GET on http_port; None when no HTTP answer came (see http_observation)."""
    http_observation: str
    """What the plain-HTTP check saw: "301 -> https://...", "200 (no redirect)", "refused", "timed out"."""
    http_refused: bool
    """Port http_port actively refused the connection: nothing is served over plain HTTP there."""


# --- which endpoints ------------------------------------------------------------------------------


def target_from_url(
    url: str, *, sni: str | None = None, starttls: str | None = None, ca_bundle: Path | None = None
) -> TlsTarget:
    """Return the target of a config URL (`https://host[:port]/` or `tls://host:port`)."""
    parts = urlsplit(url)
    scheme: Literal["https", "tls"] = "https" if parts.scheme == "https" else "tls"
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or 443
    return TlsTarget(
        host=host,
        port=port,
        scheme=scheme,
        sni=sni,
        starttls=starttls,
        ca_bundle=ca_bundle,
        http_port=80 if scheme == "https" and starttls is None else None,
    )


def endpoints_to_scan(config: AuditConfig, discovered: Iterable[DiscoveredEndpoint]) -> list[TlsTarget]:
    """Return the targets to scan, de-duplicated by host:port, config entries first.

    Discovered App Service host names (port 443) are scanned as https:// endpoints. SQL server
    FQDNs (port 1433) are not: Azure SQL wraps TLS inside TDS pre-login packets, which sslyze
    cannot speak (12f.azure-sql-min-tls covers their floor); `unscanned_note` says so.
    """
    targets: list[TlsTarget] = []
    seen: set[tuple[str, int]] = set()
    for entry in config.endpoints:
        ca_bundle = config.resolve(entry.ca_bundle) if entry.ca_bundle else None
        target = target_from_url(entry.url, sni=entry.sni, starttls=entry.starttls, ca_bundle=ca_bundle)
        if (target.host, target.port) not in seen:
            seen.add((target.host, target.port))
            targets.append(target)
    for endpoint in discovered:
        key = (endpoint.host.lower().rstrip("."), endpoint.port)
        if key in seen or endpoint.port == SQL_TDS_PORT:
            continue
        seen.add(key)
        targets.append(
            TlsTarget(
                host=key[0],
                port=key[1],
                scheme="https" if key[1] == APP_SERVICE_PORT else "tls",
                http_port=80 if key[1] == APP_SERVICE_PORT else None,
                origin=endpoint.resource_id,
            )
        )
    return targets


def unscanned_note(discovered: Iterable[DiscoveredEndpoint]) -> str | None:
    """Return the scope note naming the discovered SQL endpoints that are not TLS-scanned, if any."""
    skipped = sorted({f"{e.host.lower().rstrip('.')}:{e.port}" for e in discovered if e.port == SQL_TDS_PORT})
    if not skipped:
        return None
    return (
        f"{len(skipped)} SQL server endpoint(s) not TLS-scanned (Azure SQL wraps TLS in TDS, which sslyze "
        f"cannot speak; 12f.azure-sql-min-tls covers them): {', '.join(skipped)}"
    )


# --- facts from raw material ----------------------------------------------------------------------


def classify_tls12_suite(name: str) -> CipherSuiteFact:
    """Return a TLS 1.2 suite (RFC name) with whether it is forward secret and AEAD."""
    upper = name.upper()
    forward_secret = upper.startswith(("TLS_ECDHE_", "TLS_DHE_"))
    aead = "_GCM_" in upper or "CHACHA20_POLY1305" in upper or "_CCM" in upper
    return CipherSuiteFact(name=name, forward_secret=forward_secret, aead=aead)


def public_key_of(certificate: x509.Certificate) -> tuple[str, int | None]:
    """Return the leaf key's type ("RSA", "EC", "Ed25519", ...) and size in bits."""
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC ({key.curve.name})", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def names_of(certificate: x509.Certificate) -> tuple[str, ...]:
    """Return the subjectAltName DNS names and IP addresses of a certificate."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = [str(name) for name in san.get_values_for_type(x509.DNSName)]
    ips = [str(address) for address in san.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)


def hostname_matches(names: Iterable[str], host: str) -> bool:
    """Return True when `host` matches a SAN entry (RFC 6125: one left-most `*` label, no CN fallback)."""
    host = host.lower().rstrip(".")
    try:
        wanted_ip = ipaddress.ip_address(host)
    except ValueError:
        wanted_ip = None
    for name in names:
        name = name.lower().rstrip(".")
        if wanted_ip is not None:
            try:
                if ipaddress.ip_address(name) == wanted_ip:
                    return True
            except ValueError:
                continue
            continue
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            first, rest = host.split(".", 1)
            if first and rest == name[2:] and "*" not in rest:
                return True
    return False


def default_trust_store() -> Path:
    """Return the system CA bundle (or sslyze's Mozilla store when the system has none)."""
    cafile = ssl.get_default_verify_paths().cafile
    for candidate in (cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return TrustStoresRepository.get_default().get_main_store().path


def certificate_fact(chain: list[x509.Certificate], server_name: str, trust_store: Path) -> CertificateFact:
    """Return the leaf's fact: validity dates, names, and whether the chain builds to `trust_store`.

    The chain is verified with cryptography's web-PKI verifier at a moment inside the leaf's
    validity and for a name the leaf carries, so "untrusted chain", "expired" and "wrong host"
    remain separate observations.
    """
    leaf = chain[0]
    names = names_of(leaf)
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    now = datetime.now(UTC)
    moment = now if not_before <= now <= not_after else not_before + (not_after - not_before) / 2
    error: str | None = None
    if not names:
        error = "the leaf certificate has no subjectAltName"
    else:
        subject: x509.GeneralName
        try:
            subject = x509.IPAddress(ipaddress.ip_address(names[0]))
        except ValueError:
            subject = x509.DNSName(names[0].lstrip("*."))
            if names[0].startswith("*."):
                subject = x509.DNSName("x." + names[0][2:])
        try:
            store = Store(x509.load_pem_x509_certificates(trust_store.read_bytes()))
            verifier = PolicyBuilder().store(store).time(moment).build_server_verifier(subject)
            verifier.verify(leaf, chain[1:])
        except VerificationError as exc:
            error = str(exc.args[0]) if exc.args else "verification failed"
        except (ValueError, OSError) as exc:
            error = f"trust store {trust_store} unusable: {exc}"
    return CertificateFact(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=not_before,
        not_after=not_after,
        names=names,
        chain_valid=error is None,
        validation_error=error,
        hostname_matches=hostname_matches(names, server_name),
        trust_store=str(trust_store),
        chain_length=len(chain),
    )


def plain_http_check(target: TlsTarget, timeout: float) -> tuple[bool | None, str, bool]:
    """GET / over plain HTTP on the target's http_port, following no redirect.

    Returns (redirects to https, what was seen, refused).
    """
    assert target.http_port is not None
    connection = http.client.HTTPConnection(target.address or target.host, target.http_port, timeout=timeout)
    host_header = target.server_name if target.http_port == 80 else f"{target.server_name}:{target.http_port}"
    try:
        connection.request("GET", "/", headers={"Host": host_header, "User-Agent": "audit-tls-scanner"})
        response = connection.getresponse()
        location = response.getheader("Location") or ""
        response.read(65536)
    except ConnectionRefusedError:
        return None, f"port {target.http_port} refused the connection (no plain HTTP served)", True
    except TimeoutError:
        return None, f"port {target.http_port} timed out after {timeout:g} s", False
    except (OSError, http.client.HTTPException) as exc:
        return None, f"port {target.http_port}: {type(exc).__name__}: {exc}", False
    finally:
        connection.close()
    if response.status in (301, 302, 303, 307, 308):
        redirects = location.lower().startswith("https://")
        return redirects, f"{response.status} -> {location or '(no Location header)'}", False
    return False, f"{response.status} (no redirect)", False


# --- the scan -------------------------------------------------------------------------------------


def _trace_text(trace: object) -> str:
    """Return the last line of an sslyze TracebackException (the exception itself)."""
    format_only = getattr(trace, "format_exception_only", None)
    if format_only is None:
        return str(trace)
    lines = [line.strip() for line in format_only() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _raw_digest(result: object) -> bytes:
    """Return the scan result as JSON bytes (for the provenance hash)."""

    try:
        return ServerScanResultAsJson.model_validate(result).model_dump_json().encode()
    except Exception:
        return repr(result).encode()


def _scan_requests(
    targets: list[TlsTarget], timeout: float
) -> tuple[dict[str, TlsTarget], list[ServerScanRequest], dict[str, str]]:
    """Build one sslyze request per target; targets sslyze cannot even address are returned as errors."""

    by_uuid: dict[str, TlsTarget] = {}
    requests: list[ServerScanRequest] = []
    failed: dict[str, str] = {}
    for target in targets:
        commands = {
            ScanCommand.SSL_2_0_CIPHER_SUITES,
            ScanCommand.SSL_3_0_CIPHER_SUITES,
            ScanCommand.TLS_1_0_CIPHER_SUITES,
            ScanCommand.TLS_1_1_CIPHER_SUITES,
            ScanCommand.TLS_1_2_CIPHER_SUITES,
            ScanCommand.TLS_1_3_CIPHER_SUITES,
            ScanCommand.CERTIFICATE_INFO,
        }
        if target.scheme == "https" and target.starttls is None:
            commands.add(ScanCommand.HTTP_HEADERS)
        starttls = None
        if target.starttls is not None:
            if target.starttls not in STARTTLS_PROTOCOLS:
                failed[target.id] = f"STARTTLS {target.starttls!r} is not supported by the scanner (sslyze)"
                continue
            starttls = ProtocolWithOpportunisticTlsEnum(STARTTLS_PROTOCOLS[target.starttls])
        extra = ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=target.ca_bundle)
            if target.ca_bundle
            else None
        )
        try:
            location = ServerNetworkLocation(
                hostname=target.host, port=target.port, ip_address=target.address
            )
        except ServerHostnameCouldNotBeResolved as exc:
            failed[target.id] = f"host name {target.host} could not be resolved: {exc}"
            continue
        request = ServerScanRequest(
            server_location=location,
            network_configuration=ServerNetworkConfiguration(
                tls_server_name_indication=target.server_name,
                tls_opportunistic_encryption=starttls,
                network_timeout=max(1, math.ceil(timeout)),
                network_max_retries=1,
            ),
            scan_commands=commands,
            scan_commands_extra_arguments=extra,
        )
        by_uuid[str(request.uuid)] = target
        requests.append(request)
    return by_uuid, requests, failed


def endpoint_fact(
    target: TlsTarget, result: ServerScanResult, http_check: tuple[bool | None, str, bool] | None
) -> TlsEndpoint | str:
    """Reduce one sslyze ServerScanResult to a fact, or return why the scan is unusable."""
    if result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED:
        return f"could not connect to {target.host}:{target.port}: {_trace_text(result.connectivity_error_trace)}"
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        return f"the scan of {target.host}:{target.port} did not complete"
    scan = result.scan_result
    attempts = {
        "SSL 2.0": scan.ssl_2_0_cipher_suites,
        "SSL 3.0": scan.ssl_3_0_cipher_suites,
        "TLS 1.0": scan.tls_1_0_cipher_suites,
        "TLS 1.1": scan.tls_1_1_cipher_suites,
        "TLS 1.2": scan.tls_1_2_cipher_suites,
        "TLS 1.3": scan.tls_1_3_cipher_suites,
    }
    offered: list[str] = []
    accepted: dict[str, list[str]] = {}
    for protocol, attempt in attempts.items():
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
            reason = attempt.error_reason.value if attempt.error_reason else "no result"
            return f"{protocol} cipher suites of {target.host}:{target.port} could not be tested ({reason})"
        accepted[protocol] = [suite.cipher_suite.name for suite in attempt.result.accepted_cipher_suites]
        if accepted[protocol]:
            offered.append(protocol)
    if not offered:
        return f"{target.host}:{target.port} completed no handshake with any SSL/TLS version"
    certificate: CertificateFact | None = None
    key_type: str | None = None
    key_bits: int | None = None
    cert_attempt = scan.certificate_info
    if cert_attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or cert_attempt.result is None:
        reason = cert_attempt.error_reason.value if cert_attempt.error_reason else "no result"
        return f"the certificate of {target.host}:{target.port} could not be read ({reason})"
    deployments = cert_attempt.result.certificate_deployments
    if deployments and deployments[0].received_certificate_chain:
        chain = deployments[0].received_certificate_chain
        key_type, key_bits = public_key_of(chain[0])
        certificate = certificate_fact(chain, target.server_name, target.ca_bundle or default_trust_store())
    hsts_max_age: int | None = None
    hsts_observation = "not checked (not an https:// endpoint)"
    headers_attempt = scan.http_headers
    if target.scheme == "https" and target.starttls is None:
        if headers_attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or headers_attempt.result is None:
            hsts_observation = f"HTTP headers could not be read ({_trace_text(headers_attempt.error_trace)})"
        elif headers_attempt.result.http_error_trace is not None:
            hsts_observation = f"HTTPS request failed: {_trace_text(headers_attempt.result.http_error_trace)}"
        elif headers_attempt.result.strict_transport_security_header is None:
            hsts_observation = "no Strict-Transport-Security header"
        else:
            hsts_max_age = headers_attempt.result.strict_transport_security_header.max_age
            hsts_observation = (
                f"max-age={hsts_max_age}"
                if hsts_max_age is not None
                else "Strict-Transport-Security without max-age"
            )
    redirects, http_observation, refused = http_check or (
        None,
        "not checked (not an https:// endpoint)",
        False,
    )
    return TlsEndpoint(
        target=target,
        protocols_offered=tuple(offered),
        tls12_suites=tuple(classify_tls12_suite(name) for name in accepted["TLS 1.2"]),
        tls13_suites=tuple(accepted["TLS 1.3"]),
        key_type=key_type,
        key_bits=key_bits,
        certificate=certificate,
        hsts_max_age=hsts_max_age,
        hsts_observation=hsts_observation,
        http_redirects_to_https=redirects,
        http_observation=http_observation,
        http_refused=refused,
    )


def _source(target: TlsTarget, raw: bytes, call: str, collected_at: datetime) -> Source:
    return Source(
        collector=COLLECTOR, call=call, collected_at=collected_at, sha256=hashlib.sha256(raw).hexdigest()
    )


def scan_endpoints(
    targets: list[TlsTarget], *, max_concurrency: int = 8, timeout: float = 5.0
) -> list[Subject[object]]:
    """Scan every target (at most `max_concurrency` servers at once); one subject per target, in order.

    `timeout` bounds each network connection (sslyze's network_timeout, the plain-HTTP check).
    """

    started = utc_now()
    by_uuid, requests, failed = _scan_requests(targets, timeout)
    https_targets = [
        t for t in targets if t.scheme == "https" and t.http_port is not None and t.id not in failed
    ]
    subjects: dict[str, Subject[object]] = {
        target_id: unobservable(target_id, reason) for target_id, reason in failed.items()
    }
    with ThreadPoolExecutor(max_workers=max(1, min(max_concurrency, len(https_targets) or 1))) as pool:
        http_futures = {t.id: pool.submit(plain_http_check, t, timeout) for t in https_targets}
        if requests:
            scanner = Scanner(
                concurrent_server_scans_limit=max_concurrency, per_server_concurrent_connections_limit=5
            )
            scanner.queue_scans(requests)
            for result in scanner.get_results():
                target = by_uuid[str(result.uuid)]
                http_check = http_futures[target.id].result() if target.id in http_futures else None
                call = f"sslyze scan {target.host}:{target.port} sni={target.server_name}"
                sources = [_source(target, _raw_digest(result), call, started)]
                if http_check is not None:
                    raw = json.dumps(http_check[:2]).encode()
                    sources.append(
                        _source(target, raw, f"GET http://{target.server_name}:{target.http_port}/", started)
                    )
                fact = endpoint_fact(target, result, http_check)
                if isinstance(fact, str):
                    subjects[target.id] = unobservable(target.id, fact, sources)
                else:
                    subjects[target.id] = observed(target.id, fact, sources)
    return [subjects[t.id] for t in targets if t.id in subjects]


def collect_tls(
    config: AuditConfig,
    store: FactStore,
    *,
    max_concurrency: int = 8,
    timeout: float = 5.0,
    include_discovered: bool = True,
    replaying: bool = False,
    recorded: list[dict[str, Any]] | None = None,
    record: Callable[[list[dict[str, Any]]], None] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> list[TlsTarget]:
    """Fill `tls.endpoints`: scan the config's endpoints plus those Azure published (run it after Azure).

    `include_discovered=False` scans only `[[endpoints]]` (e.g. when Azure is an emulator whose
    host names resolve nowhere); the population's notes say so. With nothing to scan the
    population is marked out of scope (every TLS control is not_applicable, saying why).
    Returns the targets scanned.
    """
    published = store.get(AZURE_ENDPOINTS)
    discovered = [
        subject.fact
        for subject in (published.subjects if published else [])
        if isinstance(subject.fact, DiscoveredEndpoint)
    ]
    population = store.population(TLS_ENDPOINTS)
    if discovered and not include_discovered:
        population.notes.append(
            f"{len(discovered)} endpoint(s) published by Azure were not scanned (discovered endpoints are off)"
        )
        discovered = []
    targets = endpoints_to_scan(config, discovered)
    note = unscanned_note(discovered)
    if note:
        population.notes.append(note)
    if replaying and recorded is not None:
        # A replay judges what was scanned: the recorded results, whatever the config lists now.
        for item in recorded:
            population.add(subject_from_json(TlsEndpoint, item))
        return targets
    if not targets:
        store.mark_out_of_scope(
            [TLS_ENDPOINTS],
            "no TLS endpoints: the config has no [[endpoints]] and Azure published no web host names",
        )
        return targets
    if replaying:
        store.mark_out_of_scope([TLS_ENDPOINTS], "the replayed recording holds no TLS scans")
        return targets
    progress(f"tls: scanning {len(targets)} endpoint(s), {max_concurrency} at a time")
    subjects = scan_endpoints(targets, max_concurrency=max_concurrency, timeout=timeout)
    for subject in subjects:
        population.add(subject)
    if record is not None:
        record([subject_to_json(subject) for subject in subjects])
    return targets
