"""RFC 3161 timestamps of a bundle's manifest: trusted time that the night existed, as sealed, then.

A timestamp authority (TSA) signs the sha256 of `MANIFEST.sha256` with the time it saw it. The
token (the DER TimeStampResp) is stored beside the manifest as `MANIFEST.sha256.tsr` and archived
with the bundle; verify-chain checks it against the TSA's trusted roots. Built on `rfc3161-client`
(request building, response parsing, signature and chain verification), with httpx for the POST.
Check a token without this tool: `openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr
-CAfile tsa-root.pem`.

Both functions take plain values (a URL, bytes, PEM roots), so callers hand them `[archive]
tsa_url` and the bytes of `tsa_ca_file` without this module knowing the configuration.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from reports.manifest import TIMESTAMP_NAME
from reports.setting_types import redacted_url

__all__ = [
    "TIMESTAMP_NAME",
    "TimestampCheck",
    "TimestampError",
    "TrustedRoot",
    "request_timestamp",
    "verify_timestamp",
]

TrustedRoot = x509.Certificate | bytes
"""A trusted TSA root: a certificate, or PEM bytes holding one or more (the content of `tsa_ca_file`)."""

_SHA256 = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
_HASH_NAMES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


class TimestampError(Exception):
    """The TSA gave no usable timestamp; the message names the TSA (without credentials) and why."""


@dataclass(frozen=True)
class TimestampCheck:
    """The verdict on a stored timestamp: valid or not, the time it states, and the TSA that signed it.

    `time` (the token's genTime, in UTC) and `tsa` (the signing certificate's subject) are set only
    when `ok`: a time from a token that does not verify is no evidence of anything.
    """

    ok: bool
    time: datetime | None = None
    tsa: str | None = None
    problem: str | None = None


def request_timestamp(data: bytes, tsa_url: str, *, timeout: float = 10.0) -> bytes:
    """Return the TSA's DER TimeStampResp for the sha256 of `data`, after checking it answers this request.

    The request carries a random nonce and asks for the TSA's certificate; the answer must be
    granted and hold this request's nonce and a sha256 message imprint of `data`, so a replayed,
    misrouted or substituted answer is never stored. The signature is not checked here (that needs
    the trusted roots: `verify_timestamp`). Raises TimestampError naming the TSA (credentials and
    path left out) and the reason: no answer, an HTTP error status, a refusal, a response to
    another request, or bytes that are no timestamp response.
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
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise TimestampError(f"TSA {where}: not a usable URL (an http or https URL is needed)") from None
    except httpx.HTTPError as exc:
        raise TimestampError(f"TSA {where}: no answer ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise TimestampError(f"TSA {where}: HTTP {answer.status_code}")
    problem = _answer_problem(answer.content, request.nonce, data)
    if problem is not None:
        raise TimestampError(f"TSA {where}: {problem}")
    return answer.content


def _answer_problem(body: bytes, nonce: int | None, data: bytes) -> str | None:
    """Return why `body` is no granted timestamp of `data` for the request with `nonce`, or None."""
    try:
        response = decode_timestamp_response(body)
        status = response.status
    except ValueError as exc:
        return f"the answer is not a timestamp response{_parse_detail(exc)}"
    if status != PKIStatus.GRANTED:
        return f"refused ({_status_text(response, status)})"
    try:
        info = response.tst_info
        answered_nonce = info.nonce
        algorithm = info.message_imprint.hash_algorithm
        imprint = info.message_imprint.message
    except ValueError as exc:
        return f"the answer is not a timestamp response (its token does not parse){_parse_detail(exc)}"
    if answered_nonce != nonce:
        return "the answer is for another request (nonce mismatch)"
    if algorithm != _SHA256 or imprint != hashlib.sha256(data).digest():
        return "the answer timestamps other data (message imprint mismatch)"
    return None


_PARSE_KIND = re.compile(r"kind: (\w+)")


def _parse_detail(error: ValueError) -> str:
    """Return a note for a parse failure that is no garbling: DER that is not strict, which some TSAs send.

    rfc3161-client reads strict DER only; OpenSSL's TSA when it includes its chain (and, as reported,
    some commercial TSAs) writes the SignedData certificates SET out of DER order, so such answers are
    refused here whole. Saying so tells the operator to pick another TSA rather than suspect tampering.
    """
    kind = _PARSE_KIND.search(str(error))
    if kind is not None and kind.group(1) == "InvalidSetOrdering":
        return " (not strict DER: a SET, such as its certificates, is out of order; rfc3161-client reads DER only)"
    return ""


def _status_text(response: TimeStampResponse, status: int) -> str:
    """Return the PKI status as words, with the TSA's own status text when it gave one."""
    try:
        name = PKIStatus(status).name.lower().replace("_", " ")
    except ValueError:
        name = f"unknown status {status}"
    if status == PKIStatus.GRANTED_WITH_MODS:
        name += ", which is not a timestamp of the request as made"
    try:
        said = "; ".join(response.status_string)
    except ValueError:
        said = ""
    return f"status {name}: {said}" if said else f"status {name}"


def _trusted(trusted_roots: Sequence[TrustedRoot]) -> list[x509.Certificate]:
    """Return the distinct certificates in `trusted_roots`; raises ValueError for bytes that are no PEM certificate."""
    certificates: list[x509.Certificate] = []
    for root in trusted_roots:
        if isinstance(root, x509.Certificate):
            certificates.append(root)
        else:
            certificates += x509.load_pem_x509_certificates(root)
    return list(dict.fromkeys(certificates))  # the verifier refuses a root given twice


def verify_timestamp(stored: bytes, data: bytes, trusted_roots: Sequence[TrustedRoot]) -> TimestampCheck:
    """Return whether `stored` is a valid timestamp of `data` by a TSA chaining to `trusted_roots`.

    Checks, with rfc3161-client's verifier, that the token is a granted response whose message
    imprint is the sha256 of `data`, whose signature verifies, and whose signing certificate
    chains to one of `trusted_roots` (certificates or PEM bytes) and carries the critical
    timeStamping extended key usage, all at the stamped time. Never raises for bad input (a
    garbled, truncated or refused token, or roots that are no certificates): the verdict's
    `problem` says what is wrong, in words for the verify-chain listing.
    """
    try:
        response = decode_timestamp_response(stored)
        status = response.status
    except ValueError as exc:
        return TimestampCheck(
            False, problem=f"{TIMESTAMP_NAME} is not a timestamp response{_parse_detail(exc)}"
        )
    if status != PKIStatus.GRANTED:
        return TimestampCheck(
            False, problem=f"it holds no timestamp: the TSA {_status_text(response, status)}"
        )
    try:
        info = response.tst_info
        generated = info.gen_time
        algorithm = info.message_imprint.hash_algorithm
        imprint = info.message_imprint.message
    except ValueError as exc:
        return TimestampCheck(False, problem=f"its timestamp token does not parse{_parse_detail(exc)}")
    try:
        roots = _trusted(trusted_roots)
    except ValueError:
        return TimestampCheck(False, problem="the trusted TSA roots are not PEM certificates")
    if not roots:
        return TimestampCheck(False, problem="no trusted TSA root was given")
    if algorithm != _SHA256:
        name = _HASH_NAMES.get(algorithm.dotted_string, algorithm.dotted_string)
        return TimestampCheck(False, problem=f"its message imprint is {name}, not sha256")
    if imprint != hashlib.sha256(data).digest():
        return TimestampCheck(False, problem="it timestamps other data (message imprint differs)")
    try:
        VerifierBuilder(roots=roots).build().verify(response, hashlib.sha256(data).digest())
    except VerificationError as exc:
        return TimestampCheck(False, problem=_verification_problem(str(exc)))
    except ValueError:
        return TimestampCheck(False, problem="its timestamp token does not parse (garbled)")
    when = generated.astimezone(UTC) if generated.tzinfo else generated.replace(tzinfo=UTC)
    return TimestampCheck(True, time=when, tsa=_signer_subject(response))


_OPENSSL_VERIFY = re.compile(r'data: "Verify error: ([^"]+)"')
_OPENSSL_REASON = re.compile(r'reason: "([^"]+)"')
_UNCHAINED = (
    "unable to get local issuer certificate",
    "unable to get issuer certificate",
    "self-signed certificate in certificate chain",
    "self signed certificate in certificate chain",
    "unable to verify the first certificate",
)


def _verification_problem(message: str) -> str:
    """Return the verifier's refusal in words: which check failed, with OpenSSL's short reason.

    rfc3161-client reports OpenSSL's whole error stack; the auditor needs the one line that says
    whether the chain, the certificate's purpose or validity, or the signature itself failed.
    """
    certificate = _OPENSSL_VERIFY.search(message)
    if certificate:
        reason = certificate.group(1)
        if reason in _UNCHAINED:
            return f"the TSA certificate does not chain to a trusted TSA root ({reason})"
        if reason == "unsuitable certificate purpose":
            return "the signing certificate is not a timestamping certificate (no critical timeStamping EKU)"
        if "expired" in reason or "not yet valid" in reason:
            return f"the TSA certificate was not valid at the stamped time ({reason})"
        return f"the TSA certificate is refused ({reason})"
    reasons = _OPENSSL_REASON.findall(message)
    if reasons:
        return f"its signature does not verify ({reasons[-1]})"
    return f"it does not verify ({message.rstrip('.')})"


def _signer_subject(response: TimeStampResponse) -> str | None:
    """Return the subject of the certificate that signed the token (the SignerInfo's issuer and serial)."""
    try:
        signers = list(response.signed_data.signer_infos)
        certificates = [x509.load_der_x509_certificate(der) for der in response.signed_data.certificates]
    except ValueError:
        return None
    for signer in signers:
        for certificate in certificates:
            if certificate.issuer == signer.issuer and certificate.serial_number == signer.serial_number:
                return certificate.subject.rfc4514_string()
    return None
