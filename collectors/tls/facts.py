"""TLS endpoint facts: what a scan observed, free of any I/O import (no sslyze, no sockets).

The scanner (`collectors.tls.scanner`) fills these; the controls (12f.endpoint-tls,
6f.endpoint-certificate, 6f.https-enforced) judge them; a recording keeps them as JSON
(`collectors.fact_json`) and a replay rebuilds them unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal

from collectors.messages import Reason
from reports.message import msg

TLS_ENDPOINTS = "tls.endpoints"
"""One subject per configured endpoint, id `https://host:port/` or `tls://host:port` (see `TlsTarget.id`)."""


def normalise_name(name: str) -> str:
    """Return a host or SNI name as compared and shown: lower case, no trailing dot."""
    return name.strip().lower().rstrip(".")


@dataclass(frozen=True)
class TlsTarget:
    """One endpoint to scan: where to connect, what name to send, which CAs to trust.

    A scan's identity is (scheme, host, port, server name, starttls): endpoints that share an
    address but send another SNI name or speak another STARTTLS protocol are other virtual hosts
    or services, scanned and judged on their own.
    """

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
    def server_name(self) -> str:
        """Return the name sent as SNI and matched against the certificate."""
        return self.sni or self.host

    @property
    def id(self) -> str:
        """Return the stable subject id, which names the virtual host and service when they are not the default.

        `https://host:port/` or `tls://host:port`, followed by `#sni=NAME` when another name than
        the host is sent, and `#starttls=PROTOCOL` (joined with `&`) for a STARTTLS service.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"https://{host}:{self.port}/" if self.scheme == "https" else f"tls://{host}:{self.port}"
        qualifiers = []
        if self.sni is not None and normalise_name(self.sni) != normalise_name(self.host):
            qualifiers.append(f"sni={normalise_name(self.sni)}")
        if self.starttls is not None:
            qualifiers.append(f"starttls={self.starttls}")
        return base + ("#" + "&".join(qualifiers) if qualifiers else "")


@dataclass(frozen=True)
class KeyExchange:
    """The ephemeral key exchange one accepted cipher suite negotiated (sslyze's `ephemeral_key`)."""

    protocol: str
    """"TLS 1.2", "TLS 1.3", ..."""
    suite: str
    """The cipher suite's RFC name."""
    kind: str
    """"DH" (finite field), "ECDH" (elliptic curve), or "unknown" when the scanner could not read the key."""
    group: str
    """"DH 1024" for a finite-field group, the curve name ("secp256r1", "X25519") for ECDH, "" when unknown."""
    bits: int | None
    """The group's size: the DH prime's bits, the curve's bits (X25519: 253, as OpenSSL reports); None when unknown."""

    def describe(self) -> Reason:
        """Return e.g. "DH 1024 bits" or "ECDH secp256r1 (256 bits)" (data), or a message saying the key was not readable."""
        if self.kind == "DH":
            return f"DH {self.bits} bits"
        if self.kind == "ECDH":
            return f"ECDH {self.group} ({self.bits} bits)"
        return msg("unknown (the ephemeral key could not be read)")


@dataclass(frozen=True)
class EllipticCurveFact:
    """An elliptic curve (named group) the server accepted for ECDH key exchange."""

    name: str
    bits: int | None
    """The curve's size in bits (X25519: 253, as OpenSSL reports); None for a curve this code does not know."""


@dataclass(frozen=True)
class CipherSuiteFact:
    """A TLS 1.2 cipher suite the server accepted (RFC name)."""

    name: str
    forward_secret: bool
    aead: bool


@dataclass(frozen=True)
class CertificateFact:
    """The leaf certificate the server sent (with SNI) and how its chain validated."""

    RECORDING_OPTIONAL: ClassVar[frozenset[str]] = frozenset({"profile_deviations"})
    """Fields added after recordings existed: an older recording lacks them (their default applies)."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    names: tuple[str, ...]
    """subjectAltName DNS names and IP addresses."""
    chain_valid: bool
    """The chain builds to the trust store as TLS clients (OpenSSL, browsers) build it; judged at a
    time inside the leaf's validity, so expiry and host name are reported separately (not_after,
    hostname_matches)."""
    validation_error: Reason | None
    """Why the chain does not validate: the verifier's own text (cryptography/OpenSSL, plain text), or
    a message where this code found the reason (no subjectAltName, an unusable trust store)."""
    hostname_matches: bool
    trust_store: str
    chain_length: int
    profile_deviations: tuple[Reason, ...] = ()
    """Where the chain departs from the CA/Browser Forum web-PKI profile in ways TLS clients accept
    (e.g. a leaf without an Authority Key Identifier): observations, not a chain failure."""


@dataclass(frozen=True)
class TlsEndpoint:
    """What one TLS endpoint offered from the auditor's vantage point."""

    RECORDING_OPTIONAL: ClassVar[frozenset[str]] = frozenset(
        {"key_exchanges", "supported_curves", "key_exchange_observation"}
    )
    """Fields added after recordings existed: an older recording lacks them, so they are None
    ("not observed") and the control that needs them is `error`, never `pass`."""

    target: TlsTarget
    protocols_offered: tuple[str, ...]
    tls12_suites: tuple[CipherSuiteFact, ...]
    tls13_suites: tuple[str, ...]
    key_type: str | None
    key_bits: int | None
    certificate: CertificateFact | None
    hsts_max_age: int | None
    """max-age of the Strict-Transport-Security header; None when absent or not fetched."""
    hsts_observation: Reason
    """What the HTTPS header check saw: the header's value ("max-age=31536000", plain text) or a
    message ("no Strict-Transport-Security header", headers not readable with the error as detail)."""
    http_redirects_to_https: bool | None
    """True/False from a plain GET on http_port; None when no HTTP answer came (see http_observation)."""
    http_observation: Reason
    """What the plain-HTTP check saw: a redirect as data ("301 -> https://..."), or a message with the
    status or error as a plain parameter ("200 (no redirect)", refused, timed out)."""
    http_refused: bool
    """Port http_port actively refused the connection: nothing is served over plain HTTP there."""
    key_exchanges: tuple[KeyExchange, ...] | None = None
    """The ephemeral key exchange of every accepted suite that has one (every protocol version);
    None when not observed (a recording made before key exchanges were scanned)."""
    supported_curves: tuple[EllipticCurveFact, ...] | None = None
    """The elliptic curves the server accepts (empty: no ECDH at all); None when not observed."""
    key_exchange_observation: Reason | None = None
    """Why key exchanges or curves are missing when the scan could not observe them."""


def classify_tls12_suite(name: str) -> CipherSuiteFact:
    """Return a TLS 1.2 suite (RFC name) with whether it is forward secret and AEAD."""
    upper = name.upper()
    forward_secret = upper.startswith(("TLS_ECDHE_", "TLS_DHE_"))
    aead = "_GCM_" in upper or "CHACHA20_POLY1305" in upper or "_CCM" in upper
    return CipherSuiteFact(name=name, forward_secret=forward_secret, aead=aead)


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
