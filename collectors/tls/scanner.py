"""Scan TLS endpoints with sslyze, concurrently, and reduce each scan to a `TlsEndpoint` fact.

The endpoints come from `[[endpoints]]` in the config and from the host names Azure resources
publish (population `azure.endpoints`). Each endpoint is scanned once per identity (scheme,
host, port, SNI name, STARTTLS protocol: virtual hosts on one address are scanned and judged
apart): SSL 2.0/3.0 and TLS 1.0-1.3 cipher suites with the ephemeral key exchange of each
accepted suite, the elliptic curves accepted, the certificate chain, and (for https://) the
HTTP response headers for HSTS; an https:// target also gets one plain `GET /` on its HTTP
port (80) to see whether it redirects to HTTPS. Collectors never judge: the facts say what was
offered and what validated; the controls decide. A scan that cannot complete is an
`unobservable` subject (an `error`).

One module of ~720 lines: sslyze's request and result types are used here and nowhere else (the
scan, each plugin's result reduced to suites, curves and key exchanges, the replay of recorded
scans); what leaves it is collectors/tls/facts.py. The certificate-chain verdict (`# --- certificate
chains`, cryptography only) is the part that could stand on its own.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import math
import re
import ssl
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from cryptography.x509.verification import (
    Policy as VerificationPolicy,
)
from cryptography.x509.verification import (
    Subject as VerificationSubject,
)
from nassl.ephemeral_key_info import DhEphemeralKeyInfo, EcDhEphemeralKeyInfo, EphemeralKeyInfo
from sslyze.connection_helpers.opportunistic_tls_helpers import ProtocolWithOpportunisticTlsEnum
from sslyze.errors import ServerHostnameCouldNotBeResolved
from sslyze.json.json_output import ServerScanResultAsJson
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository
from sslyze.plugins.openssl_cipher_suites._test_cipher_suite import CipherSuiteAcceptedByServer
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    AllScanCommandsAttempts,
    ScanCommandsExtraArguments,
    ServerConnectivityStatusEnum,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config.estate import EstateConfig
from collectors.fact_json import subject_to_json
from collectors.facts import FactStore, Subject, observed, unobservable
from collectors.messages import Reason, reason_json
from collectors.recorded_subjects import rebuild_subject
from collectors.tls.facts import (
    TLS_ENDPOINTS,
    CertificateFact,
    CipherSuiteFact,
    EllipticCurveFact,
    KeyExchange,
    TlsEndpoint,
    TlsTarget,
    classify_tls12_suite,
    hostname_matches,
    normalise_name,
)
from collectors.tls.first_handshake import silent_targets
from reports.evidence import N_, Source, msg, msg_n, utc_now

__all__ = [
    "TLS_ENDPOINTS",
    "CertificateFact",
    "CipherSuiteFact",
    "EllipticCurveFact",
    "KeyExchange",
    "TlsEndpoint",
    "TlsTarget",
    "classify_tls12_suite",
    "collect_tls",
    "endpoints_to_scan",
    "hostname_matches",
    "scan_endpoints",
    "target_from_url",
    "unscanned_note",
]

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
SPECIAL_CURVE_BITS = {"X25519": 253, "X448": 448}
"""Curve sizes as OpenSSL reports them (EVP_PKEY_bits) for the curves whose name holds no size."""


# --- which endpoints ------------------------------------------------------------------------------


def target_from_url(
    url: str, *, sni: str | None = None, starttls: str | None = None, ca_bundle: Path | None = None
) -> TlsTarget:
    """Return the target of a config URL (`https://host[:port]/` or `tls://host:port`).

    An `sni` equal to the host name is the default and dropped, so it does not change the id.
    """
    parts = urlsplit(url)
    scheme: Literal["https", "tls"] = "https" if parts.scheme == "https" else "tls"
    host = normalise_name(parts.hostname or "")
    port = parts.port or 443
    server_name = normalise_name(sni) if sni else None
    return TlsTarget(
        host=host,
        port=port,
        scheme=scheme,
        sni=server_name if server_name != host else None,
        starttls=starttls,
        ca_bundle=ca_bundle,
        http_port=80 if scheme == "https" and starttls is None else None,
    )


def endpoints_to_scan(config: EstateConfig, discovered: Iterable[DiscoveredEndpoint]) -> list[TlsTarget]:
    """Return the targets to scan, one per identity (`TlsTarget.id`), config entries first.

    Endpoints sharing host:port but sending another SNI name or speaking STARTTLS are other
    virtual hosts or services: each is its own target. Discovered App Service host names (port
    443) are scanned as https:// endpoints unless a config entry already names them. SQL server
    FQDNs (port 1433) are not: Azure SQL wraps TLS inside TDS pre-login packets, which sslyze
    cannot speak (12f.azure-sql-min-tls covers their floor); `unscanned_note` says so.
    """
    targets: dict[str, TlsTarget] = {}
    for entry in config.endpoints:
        ca_bundle = config.resolve(entry.ca_bundle) if entry.ca_bundle else None
        target = target_from_url(entry.url, sni=entry.sni, starttls=entry.starttls, ca_bundle=ca_bundle)
        targets.setdefault(target.id, target)
    for endpoint in discovered:
        host = normalise_name(endpoint.host)
        if endpoint.port == SQL_TDS_PORT:
            continue
        target = TlsTarget(
            host=host,
            port=endpoint.port,
            scheme="https" if endpoint.port == APP_SERVICE_PORT else "tls",
            http_port=80 if endpoint.port == APP_SERVICE_PORT else None,
            origin=endpoint.resource_id,
        )
        targets.setdefault(target.id, target)
    return list(targets.values())


def unscanned_note(discovered: Iterable[DiscoveredEndpoint]) -> Reason | None:
    """Return the scope note naming the discovered SQL endpoints that are not TLS-scanned, if any."""
    skipped = sorted({f"{e.host.lower().rstrip('.')}:{e.port}" for e in discovered if e.port == SQL_TDS_PORT})
    if not skipped:
        return None
    return msg_n(
        "{n} SQL server endpoint not TLS-scanned (Azure SQL wraps TLS in TDS, which sslyze cannot "
        "speak; 12f.azure-sql-min-tls covers it): {endpoints}",
        "{n} SQL server endpoints not TLS-scanned (Azure SQL wraps TLS in TDS, which sslyze cannot "
        "speak; 12f.azure-sql-min-tls covers them): {endpoints}",
        "n",
        n=len(skipped),
        endpoints=skipped,
    )


# --- facts from raw material ----------------------------------------------------------------------


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


def default_trust_store() -> Path:
    """Return the system CA bundle (or sslyze's Mozilla store when the system has none)."""
    cafile = ssl.get_default_verify_paths().cafile
    for candidate in (cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return TrustStoresRepository.get_default().get_main_store().path


# --- certificate chains, judged the way TLS clients judge them ------------------------------------


def _ca_basic_constraints(
    policy: VerificationPolicy, certificate: x509.Certificate, value: x509.BasicConstraints
) -> None:
    """Refuse an issuer whose basicConstraints does not assert cA (OpenSSL: "invalid CA certificate")."""
    if not value.ca:
        raise ValueError("basicConstraints.cA must be asserted in a CA certificate")


def _ca_key_usage(
    policy: VerificationPolicy, certificate: x509.Certificate, value: x509.KeyUsage | None
) -> None:
    """Refuse an issuer whose keyUsage, when present, does not allow certificate signing (as OpenSSL does)."""
    if value is not None and not value.key_cert_sign:
        raise ValueError("a CA certificate's keyUsage must include keyCertSign")


def client_extension_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """Return the (leaf, CA) extension policies of the chain verdict: what TLS clients enforce.

    cryptography's defaults are the CA/Browser Forum web-PKI *issuance* profile, stricter than
    what OpenSSL, browsers and testssl.sh accept from a trusted (internal) CA. Relaxed here, and
    reported as profile deviations instead (`profile_deviations`): a leaf without an Authority
    Key Identifier, a CA without keyUsage, a CA whose basicConstraints is not marked critical.
    Kept exactly: signatures, validity, basicConstraints cA and path length, keyCertSign when a
    keyUsage is present, the serverAuth extended key usage, name constraints, subjectAltName.
    """
    leaf = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None
    )
    ca = (
        ExtensionPolicy.webpki_defaults_ca()
        .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ca_basic_constraints)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _ca_key_usage)
    )
    return leaf, ca


def _extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[Any] | None:
    try:
        return certificate.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def profile_deviations(path: Sequence[x509.Certificate]) -> list[Reason]:
    """Return where a validated path departs from the web-PKI profile in ways TLS clients accept."""
    found: list[Reason] = []
    leaf, issuers = path[0], path[1:]
    if _extension(leaf, x509.AuthorityKeyIdentifier) is None:
        found.append(msg("the leaf has no Authority Key Identifier extension"))
    for issuer in issuers:
        who = issuer.subject.rfc4514_string()
        if _extension(issuer, x509.SubjectKeyIdentifier) is None:
            found.append(msg("CA {ca} has no Subject Key Identifier extension", ca=who))
        if _extension(issuer, x509.KeyUsage) is None:
            found.append(msg("CA {ca} has no keyUsage extension", ca=who))
        constraints = _extension(issuer, x509.BasicConstraints)
        if constraints is not None and not constraints.critical:
            found.append(msg("CA {ca} does not mark basicConstraints critical", ca=who))
    return found


def verify_chain(
    chain: Sequence[x509.Certificate], subject: VerificationSubject, store: Store, moment: datetime
) -> tuple[Reason | None, tuple[Reason, ...]]:
    """Return (why the chain does not validate or None, the profile deviations of a valid chain).

    Why a chain does not validate is the verifier's own text (cryptography's, kept as plain text).

    The verdict is the TLS clients' (`client_extension_policies`); when the strict web-PKI
    profile would also refuse the chain for a reason the deviation list does not name, its
    message is added to the deviations, so nothing it saw is lost.
    """
    leaf_policy, ca_policy = client_extension_policies()
    builder = PolicyBuilder().store(store).time(moment)
    try:
        path = (
            builder.extension_policies(ee_policy=leaf_policy, ca_policy=ca_policy)
            .build_server_verifier(subject)
            .verify(chain[0], list(chain[1:]))
        )
    except VerificationError as exc:
        return (str(exc.args[0]) if exc.args else msg("verification failed")), ()
    deviations = profile_deviations(path)
    try:
        builder.build_server_verifier(subject).verify(chain[0], list(chain[1:]))
    except VerificationError as exc:
        if not deviations:
            deviations.append(
                msg("the web-PKI profile check says: {detail}", detail=str(exc.args[0] if exc.args else exc))
            )
    return None, tuple(deviations)


def certificate_fact(chain: list[x509.Certificate], server_name: str, trust_store: Path) -> CertificateFact:
    """Return the leaf's fact: validity dates, names, and whether the chain builds to `trust_store`.

    The chain is verified as TLS clients verify it (`verify_chain`) at a moment inside the
    leaf's validity and for a name the leaf carries, so "untrusted chain", "expired" and "wrong
    host" remain separate observations; web-PKI profile deviations are observations too.
    """
    leaf = chain[0]
    names = names_of(leaf)
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    now = datetime.now(UTC)
    moment = now if not_before <= now <= not_after else not_before + (not_after - not_before) / 2
    error: Reason | None = None
    deviations: tuple[Reason, ...] = ()
    if not names:
        error = msg("the leaf certificate has no subjectAltName")
    else:
        subject: VerificationSubject
        try:
            subject = x509.IPAddress(ipaddress.ip_address(names[0]))
        except ValueError:
            subject = x509.DNSName(names[0].lstrip("*."))
            if names[0].startswith("*."):
                subject = x509.DNSName("x." + names[0][2:])
        try:
            store = Store(x509.load_pem_x509_certificates(trust_store.read_bytes()))
            error, deviations = verify_chain(chain, subject, store, moment)
        except (ValueError, OSError) as exc:
            error = msg("trust store {path} unusable: {detail}", path=str(trust_store), detail=str(exc))
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
        profile_deviations=deviations,
    )


def plain_http_check(target: TlsTarget, timeout: float) -> tuple[bool | None, Reason, bool]:
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
        return (
            None,
            msg("port {port} refused the connection (no plain HTTP served)", port=target.http_port),
            True,
        )
    except TimeoutError:
        seconds = format(timeout, "g")
        return (
            None,
            msg("port {port} timed out after {seconds} s", port=target.http_port, seconds=seconds),
            False,
        )
    except (OSError, http.client.HTTPException) as exc:
        detail = type(exc).__name__ + ": " + str(exc)
        return None, msg("port {port}: {detail}", port=target.http_port, detail=detail), False
    finally:
        connection.close()
    if response.status in (301, 302, 303, 307, 308):
        redirects = location.lower().startswith("https://")
        if not location:
            return False, msg("{status} -> (no Location header)", status=str(response.status)), False
        return redirects, f"{response.status} -> {location}", False
    return False, msg("{status} (no redirect)", status=str(response.status)), False


# --- the scan -------------------------------------------------------------------------------------


def _trace_text(trace: object) -> Reason:
    """Return the last line of an sslyze TracebackException (the exception itself, plain text)."""
    format_only = getattr(trace, "format_exception_only", None)
    if format_only is None:
        return str(trace)
    lines = [line.strip() for line in format_only() if line.strip()]
    return lines[-1] if lines else msg("unknown error")


def _raw_digest(result: object) -> bytes:
    """Return the scan result as JSON bytes (for the provenance hash)."""

    try:
        return ServerScanResultAsJson.model_validate(result).model_dump_json().encode()
    except Exception:
        return repr(result).encode()


def _scan_requests(
    targets: list[TlsTarget], timeout: float
) -> tuple[dict[str, TlsTarget], list[ServerScanRequest], dict[str, Reason]]:
    """Build one sslyze request per target; targets sslyze cannot even address are returned as errors."""

    by_uuid: dict[str, TlsTarget] = {}
    requests: list[ServerScanRequest] = []
    failed: dict[str, Reason] = {}
    for target in targets:
        commands = {
            ScanCommand.SSL_2_0_CIPHER_SUITES,
            ScanCommand.SSL_3_0_CIPHER_SUITES,
            ScanCommand.TLS_1_0_CIPHER_SUITES,
            ScanCommand.TLS_1_1_CIPHER_SUITES,
            ScanCommand.TLS_1_2_CIPHER_SUITES,
            ScanCommand.TLS_1_3_CIPHER_SUITES,
            ScanCommand.CERTIFICATE_INFO,
            ScanCommand.ELLIPTIC_CURVES,
        }
        if target.scheme == "https" and target.starttls is None:
            commands.add(ScanCommand.HTTP_HEADERS)
        starttls = None
        if target.starttls is not None:
            if target.starttls not in STARTTLS_PROTOCOLS:
                failed[target.id] = msg(
                    "STARTTLS {protocol} is not supported by the scanner (sslyze)",
                    protocol=repr(target.starttls),
                )
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
            failed[target.id] = msg(
                "host name {host} could not be resolved: {error}", host=target.host, error=str(exc)
            )
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


def curve_bits(name: str) -> int | None:
    """Return the size in bits of a TLS named curve from its SECG/RFC name, None when unknown."""
    if name in SPECIAL_CURVE_BITS:
        return SPECIAL_CURVE_BITS[name]
    match = re.fullmatch(r"(?:sec[pt]|brainpoolP)(\d{3})[a-z]\d", name)
    return int(match.group(1)) if match else None


def key_exchange_of(protocol: str, accepted: CipherSuiteAcceptedByServer) -> KeyExchange | None:
    """Return the ephemeral key exchange of an accepted suite, None for a suite without one (RSA key transport).

    A TLS 1.3 suite, or a TLS 1.2 (EC)DHE suite, whose key the scanner could not read is kept as
    kind "unknown", so the control can say it cannot judge it rather than skip it.
    """
    name = accepted.cipher_suite.name
    key: EphemeralKeyInfo | None = accepted.ephemeral_key
    if isinstance(key, DhEphemeralKeyInfo):
        return KeyExchange(protocol, name, "DH", f"DH {key.size}", key.size)
    if isinstance(key, EcDhEphemeralKeyInfo):
        return KeyExchange(protocol, name, "ECDH", key.curve_name, key.size)
    ephemeral = protocol == "TLS 1.3" or name.upper().startswith(("TLS_ECDHE_", "TLS_DHE_"))
    if key is not None or ephemeral:
        return KeyExchange(protocol, name, "unknown", type(key).__name__ if key is not None else "", None)
    return None


def supported_curves_of(
    scan: AllScanCommandsAttempts,
) -> tuple[tuple[EllipticCurveFact, ...] | None, Reason | None]:
    """Return the elliptic curves the server accepted (empty: no ECDH), or None and why not."""
    attempt = scan.elliptic_curves
    if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
        reason: Reason = attempt.error_reason.value if attempt.error_reason else msg("no result")
        return (
            None,
            msg(
                "the supported elliptic curves could not be tested ({reason}: {detail})",
                reason=reason,
                detail=_trace_text(attempt.error_trace),
            ),
        )
    if not attempt.result.supports_ecdh_key_exchange:
        return (), None
    curves = attempt.result.supported_curves or []
    return tuple(EllipticCurveFact(c.name, curve_bits(c.name)) for c in curves), None


def _where(target: TlsTarget) -> str:
    """Return host:port, with the SNI name when it is not the host (messages name the virtual host)."""
    return f"{target.host}:{target.port}" + (f" (SNI {target.sni})" if target.sni else "")


def endpoint_fact(
    target: TlsTarget, result: ServerScanResult, http_check: tuple[bool | None, Reason, bool] | None
) -> TlsEndpoint | Reason:
    """Reduce one sslyze ServerScanResult to a fact, or return why the scan is unusable."""
    where = _where(target)
    if result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED:
        return msg(
            "could not connect to {endpoint}: {error}",
            endpoint=where,
            error=_trace_text(result.connectivity_error_trace),
        )
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        return msg("the scan of {endpoint} did not complete", endpoint=where)
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
    key_exchanges: list[KeyExchange] = []
    for protocol, attempt in attempts.items():
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
            reason: Reason = attempt.error_reason.value if attempt.error_reason else msg("no result")
            return msg(
                "{protocol} cipher suites of {endpoint} could not be tested ({reason})",
                protocol=protocol,
                endpoint=where,
                reason=reason,
            )
        accepted[protocol] = [suite.cipher_suite.name for suite in attempt.result.accepted_cipher_suites]
        for suite in attempt.result.accepted_cipher_suites:
            exchange = key_exchange_of(protocol, suite)
            if exchange is not None:
                key_exchanges.append(exchange)
        if accepted[protocol]:
            offered.append(protocol)
    if not offered:
        return msg("{endpoint} completed no handshake with any SSL/TLS version", endpoint=where)
    supported_curves, curves_observation = supported_curves_of(scan)
    certificate: CertificateFact | None = None
    key_type: str | None = None
    key_bits: int | None = None
    cert_attempt = scan.certificate_info
    if cert_attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or cert_attempt.result is None:
        cert_reason: Reason = (
            cert_attempt.error_reason.value if cert_attempt.error_reason else msg("no result")
        )
        return msg(
            "the certificate of {endpoint} could not be read ({reason})", endpoint=where, reason=cert_reason
        )
    deployments = cert_attempt.result.certificate_deployments
    if deployments and deployments[0].received_certificate_chain:
        chain = deployments[0].received_certificate_chain
        key_type, key_bits = public_key_of(chain[0])
        certificate = certificate_fact(chain, target.server_name, target.ca_bundle or default_trust_store())
    hsts_max_age: int | None = None
    hsts_observation: Reason = msg("not checked (not an https:// endpoint)")
    headers_attempt = scan.http_headers
    if target.scheme == "https" and target.starttls is None:
        if headers_attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or headers_attempt.result is None:
            hsts_observation = msg(
                "HTTP headers could not be read ({detail})", detail=_trace_text(headers_attempt.error_trace)
            )
        elif headers_attempt.result.http_error_trace is not None:
            hsts_observation = msg(
                "HTTPS request failed: {detail}", detail=_trace_text(headers_attempt.result.http_error_trace)
            )
        elif headers_attempt.result.strict_transport_security_header is None:
            hsts_observation = msg("no Strict-Transport-Security header")
        else:
            hsts_max_age = headers_attempt.result.strict_transport_security_header.max_age
            hsts_observation = (
                f"max-age={hsts_max_age}"
                if hsts_max_age is not None
                else msg("Strict-Transport-Security without max-age")
            )
    redirects, http_observation, refused = http_check or (
        None,
        msg("not checked (not an https:// endpoint)"),
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
        key_exchanges=tuple(key_exchanges),
        supported_curves=supported_curves,
        key_exchange_observation=curves_observation,
    )


def _source(target: TlsTarget, raw: bytes, call: str, collected_at: datetime) -> Source:
    return Source(
        collector=COLLECTOR, call=call, collected_at=collected_at, sha256=hashlib.sha256(raw).hexdigest()
    )


def scan_endpoints(
    targets: list[TlsTarget], *, max_concurrency: int = 8, timeout: float = 5.0
) -> list[Subject[object]]:
    """Scan every target (at most `max_concurrency` servers at once); one subject per target, in order.

    `timeout` bounds each network connection (sslyze's network_timeout, the plain-HTTP check, the
    first handshake). A server that accepts TCP but does not answer a first handshake is `error`
    after one timeout instead of after sslyze's retries (collectors/tls/first_handshake.py).
    """

    started = utc_now()
    by_uuid, requests, failed = _scan_requests(targets, timeout)
    silent = silent_targets([by_uuid[str(r.uuid)] for r in requests], timeout, max_concurrency)
    if silent:
        requests = [r for r in requests if by_uuid[str(r.uuid)].id not in silent]
        failed.update(silent)
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
                call = f"sslyze scan {target.host}:{target.port} sni={target.server_name}" + (
                    f" starttls={target.starttls}" if target.starttls else ""
                )
                sources = [_source(target, _raw_digest(result), call, started)]
                if http_check is not None:
                    raw = json.dumps([http_check[0], reason_json(http_check[1])]).encode()
                    sources.append(
                        _source(target, raw, f"GET http://{target.server_name}:{target.http_port}/", started)
                    )
                fact = endpoint_fact(target, result, http_check)
                if not isinstance(fact, TlsEndpoint):
                    subjects[target.id] = unobservable(target.id, fact, sources)
                else:
                    subjects[target.id] = observed(target.id, fact, sources)
    return [subjects[t.id] for t in targets if t.id in subjects]


def replayed_subject(item: dict[str, Any]) -> Subject[Any]:
    """Return a recorded scan result as a subject; a fact that cannot be read fully is an `error`.

    The recording's envelope (id, error, sources) was checked when it was loaded; here the scan
    result itself is rebuilt strictly (`collectors.fact_json`): a missing or mistyped field
    makes this endpoint's items `error`, naming the field, never a pass on what is left.
    """
    return rebuild_subject(
        TlsEndpoint,
        item,
        N_("the recorded scan result is for {recorded}, not {id}: the recording is inconsistent"),
    )


def collect_tls(
    config: EstateConfig,
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
            msg_n(
                "{n} endpoint published by Azure was not scanned (discovered endpoints are off)",
                "{n} endpoints published by Azure were not scanned (discovered endpoints are off)",
                "n",
                n=len(discovered),
            )
        )
        discovered = []
    targets = endpoints_to_scan(config, discovered)
    note = unscanned_note(discovered)
    if note:
        population.notes.append(note)
    if replaying and recorded is not None:
        # A replay judges what was scanned: the recorded results, whatever the config lists now.
        for item in recorded:
            population.add(replayed_subject(item))
        return targets
    if not targets:
        store.mark_out_of_scope(
            [TLS_ENDPOINTS],
            msg("no TLS endpoints: the config has no [[endpoints]] and Azure published no web host names"),
        )
        return targets
    if replaying:
        store.mark_out_of_scope([TLS_ENDPOINTS], msg("the replayed recording holds no TLS scans"))
        return targets
    progress(f"tls: scanning {len(targets)} endpoint(s), {max_concurrency} at a time")
    subjects = scan_endpoints(targets, max_concurrency=max_concurrency, timeout=timeout)
    for subject in subjects:
        population.add(subject)
    if record is not None:
        record([subject_to_json(subject) for subject in subjects])
    return targets
