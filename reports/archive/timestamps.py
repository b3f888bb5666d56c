"""RFC 3161 timestamps of a bundle's manifest: trusted time that the night existed, as sealed, then.

A timestamp authority (TSA) signs the sha256 of `MANIFEST.sha256` with the time it saw it. The
token (the DER TimeStampResp) is stored beside the manifest as `MANIFEST.sha256.tsr` and archived
with the bundle; verify-chain checks it against the TSA's trusted roots. Built on `rfc3161-client`
(request building, response parsing, signature and chain verification), with httpx for the POST.
Check a token without this tool: `openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr
-CAfile tsa-root.pem`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from reports.manifest import TIMESTAMP_NAME
from reports.setting_types import redacted_url

__all__ = ["TIMESTAMP_NAME", "TimestampCheck", "TimestampError", "request_timestamp", "verify_timestamp"]


class TimestampError(Exception):
    """The TSA gave no usable timestamp; the message names the TSA (without credentials) and why."""


@dataclass(frozen=True)
class TimestampCheck:
    """The verdict on a stored timestamp: valid or not, the time it states, and the TSA that signed it."""

    ok: bool
    time: datetime | None = None
    tsa: str | None = None
    problem: str | None = None


def request_timestamp(data: bytes, tsa_url: str, *, timeout: float = 10.0) -> bytes:
    """Return the TSA's DER TimeStampResp for the sha256 of `data`, after checking it answers this request.

    The request carries a random nonce and asks for the TSA's certificate; the answer must be
    granted and hold this request's nonce and message imprint. Raises TimestampError otherwise
    (HTTP failure, refusal, a response to another request, or bytes that are no timestamp).
    """
    where = redacted_url(tsa_url)
    request = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        answer = httpx.post(
            tsa_url,
            content=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise TimestampError(f"TSA {where}: no answer ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise TimestampError(f"TSA {where}: HTTP {answer.status_code}")
    try:
        response = decode_timestamp_response(answer.content)
    except ValueError:
        raise TimestampError(f"TSA {where}: the answer is not a timestamp response") from None
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"TSA {where}: refused (PKI status {response.status})")
    info = response.tst_info
    if info.nonce != request.nonce:
        raise TimestampError(f"TSA {where}: the answer is for another request (nonce mismatch)")
    if info.message_imprint.message != hashlib.sha256(data).digest():
        raise TimestampError(f"TSA {where}: the answer timestamps other data (message imprint mismatch)")
    return answer.content


def _roots(trusted_roots: Sequence[bytes]) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for pem in trusted_roots:
        certificates += x509.load_pem_x509_certificates(pem)
    return certificates


def verify_timestamp(stored: bytes, data: bytes, trusted_roots: Sequence[bytes]) -> TimestampCheck:
    """Return whether `stored` is a valid timestamp of `data` by a TSA chaining to `trusted_roots` (PEM).

    Checks the token's signature, the TSA certificate's chain to a trusted root and its
    timeStamping purpose, and that its message imprint is the sha256 of `data`. Never raises for a
    bad token: the verdict says what is wrong.
    """
    try:
        response = decode_timestamp_response(stored)
    except ValueError:
        return TimestampCheck(False, problem=f"{TIMESTAMP_NAME} is not a timestamp response")
    try:
        roots = _roots(trusted_roots)
    except ValueError:
        return TimestampCheck(False, problem="the trusted TSA roots are not PEM certificates")
    if not roots:
        return TimestampCheck(False, problem="no trusted TSA root was given")
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    info = response.tst_info
    generated = info.gen_time if info.gen_time.tzinfo else info.gen_time.replace(tzinfo=UTC)
    if info.message_imprint.message != hashlib.sha256(data).digest():
        return TimestampCheck(
            False, time=generated, problem="it timestamps other data (message imprint differs)"
        )
    try:
        builder.build().verify_message(response, data)
    except (VerificationError, ValueError) as exc:
        return TimestampCheck(
            False, time=generated, problem=f"does not verify against the trusted TSA roots ({exc})"
        )
    return TimestampCheck(True, time=generated.astimezone(UTC), tsa=_tsa_name(response))


def _tsa_name(response: object) -> str | None:
    """Return the subject of the TSA certificate carried in the token, when there is one."""
    certificates = getattr(getattr(response, "signed_data", None), "certificates", None) or set()
    for der in certificates:
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            continue
        usage = _extended_usage(certificate)
        if usage is not None and ExtendedKeyUsageOID.TIME_STAMPING in usage:
            return certificate.subject.rfc4514_string()
    return None


def _extended_usage(certificate: x509.Certificate) -> x509.ExtendedKeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
