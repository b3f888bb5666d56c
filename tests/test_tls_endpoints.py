"""The TLS endpoint scanner and its controls against real servers on loopback.

One module-scoped run starts every server (`openssl s_server` for protocol, cipher, key
exchange and certificate cases; one nginx for the HSTS and plain-HTTP redirect cases), scans
them all in one concurrent `scan_endpoints` call, and each test judges one endpoint with the
controls 12f.endpoint-tls, 6f.endpoint-certificate and 6f.https-enforced. A second module run
(`client_checked`) serves certificates made by the `openssl` command from an internal CA and
asks `openssl s_client -verify_return_error` for each what a real TLS client decides, so the
certificate verdict is pinned to the clients'. Virtual hosts (three SNI names on one nginx
port) and record/replay go through the real CLI (`pytest controls/`).
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config.inventory import EndpointEntry
from collectors.config.policy import Policy
from collectors.fact_json import subject_to_json
from collectors.facts import FactStore, Subject, observed
from collectors.messages import english_text
from collectors.tls.scanner import (
    TLS_ENDPOINTS,
    CertificateFact,
    CipherSuiteFact,
    TlsEndpoint,
    TlsTarget,
    classify_tls12_suite,
    collect_tls,
    endpoints_to_scan,
    hostname_matches,
    plain_http_check,
    replayed_subject,
    scan_endpoints,
    unscanned_note,
)
from controls.harness.config_file import AuditConfig
from controls.test_6f_certificates import test_endpoint_certificate_is_valid as certificate_control
from controls.test_6f_certificates import test_endpoint_enforces_https as https_control
from controls.test_12f_encryption_in_transit import test_endpoint_speaks_only_strong_tls as tls_control
from demo.standins.loopback import free_port
from demo.standins.tls_servers import (
    MODERN_CIPHERS,
    CertFiles,
    NginxSite,
    OpensslPki,
    TlsServers,
    dh_params,
    issue_cert,
    openssl_accepts,
    self_signed_cert,
)
from reports.evidence import Message, msg
from tests.control_calls import verdict, verdict_and_evidence

HOST = "localhost"
DELETE = object()
"""Marker: remove the field."""
MODERN = ("-min_protocol", "TLSv1.2", "-cipher", MODERN_CIPHERS)
LEGACY_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:@SECLEVEL=0"
DHE_ONLY = (
    "-min_protocol",
    "TLSv1.2",
    "-max_protocol",
    "TLSv1.2",
    "-cipher",
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0",
)
"""A TLS 1.2 server offering only forward-secret AEAD suites with finite-field DH (its group from -dhparam)."""


@dataclass(frozen=True)
class Scanned:
    """Every endpoint's subject by case name, and how long the scan took."""

    subjects: dict[str, Subject[object]]
    seconds: float


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    """Start every server, scan them all at once, stop them; yield the subjects by case."""
    folder: Path = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    trust = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(trust))
    now = datetime.now(UTC)
    good = issue_cert(folder, ca, "good", HOST)
    rsa = issue_cert(folder, ca, "rsa2048", HOST, rsa_bits=2048)
    silent = socket.socket()  # accepts TCP (kernel backlog) and never says a word: a hung server
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    with silent, TlsServers(folder) as servers:
        sites = servers.nginx(
            [
                NginxSite("modern", good),
                NginxSite("no_hsts", good, hsts=None),
                NginxSite("short_hsts", good, hsts="max-age=86400"),
                NginxSite("no_redirect", good, redirect=False),
            ]
        )
        ports = {
            "tls10": servers.openssl(good, "-min_protocol", "TLSv1", "-cipher", LEGACY_CIPHERS),
            "tls11_only": servers.openssl(
                good, "-min_protocol", "TLSv1.1", "-max_protocol", "TLSv1.1", "-cipher", LEGACY_CIPHERS
            ),
            "expired": servers.openssl(
                issue_cert(
                    folder,
                    ca,
                    "expired",
                    HOST,
                    not_before=now - timedelta(days=90),
                    not_after=now - timedelta(days=1),
                ),
                *MODERN,
            ),
            "self_signed": servers.openssl(self_signed_cert(folder, HOST), *MODERN),
            "wrong_host": servers.openssl(issue_cert(folder, ca, "wrong-host", "other.test"), *MODERN),
            "expiring": servers.openssl(
                issue_cert(folder, ca, "expiring", HOST, not_after=now + timedelta(days=5)), *MODERN
            ),
            "rsa1024": servers.openssl(
                issue_cert(folder, ca, "rsa1024", HOST, rsa_bits=1024),
                "-min_protocol",
                "TLSv1.2",
                "-cipher",
                f"{MODERN_CIPHERS}:@SECLEVEL=0",
            ),
            "cbc_only": servers.openssl(
                good,
                "-min_protocol",
                "TLSv1.2",
                "-max_protocol",
                "TLSv1.2",
                "-cipher",
                "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384",
            ),
            "dh1024": servers.openssl(rsa, *DHE_ONLY, "-dhparam", str(dh_params(folder, 1024))),
            "dh2048": servers.openssl(rsa, *DHE_ONLY, "-dhparam", str(dh_params(folder, 2048))),
            "ecdh_p224": servers.openssl(
                rsa, "-max_protocol", "TLSv1.2", "-cipher", "ECDHE+AESGCM", "-groups", "P-256:P-224"
            ),
            "closed": free_port(),
        }
        targets = {
            name: TlsTarget(HOST, port, address="127.0.0.1", ca_bundle=trust, http_port=None)
            for name, port in ports.items()
        }
        for name, at in sites.items():
            targets[name] = TlsTarget(HOST, at.https, address="127.0.0.1", ca_bundle=trust, http_port=at.http)
        # The modern nginx again, under another id (by address, SNI localhost) with port 80 closed.
        targets["http_closed"] = TlsTarget(
            "127.0.0.1", sites["modern"].https, sni=HOST, ca_bundle=trust, http_port=free_port()
        )
        hung = TlsTarget(HOST, silent.getsockname()[1], address="127.0.0.1", http_port=None)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # sslyze waits about 11 x timeout on a server that never answers, so it gets a short one,
            # in parallel with the main scan.
            hung_scan = pool.submit(scan_endpoints, [hung], timeout=1)
            started = time.monotonic()
            subjects = scan_endpoints(list(targets.values()), max_concurrency=16, timeout=3)
            seconds = time.monotonic() - started
            subjects += hung_scan.result()
        targets["silent"] = hung
    by_id = {subject.id: subject for subject in subjects}
    return Scanned({name: by_id[target.id] for name, target in targets.items()}, seconds)


def fact(scanned: Scanned, name: str) -> TlsEndpoint:
    """Return the fact of a case, failing the test with the scan error when there is none."""
    subject = scanned.subjects[name]
    assert subject.fact is not None, f"{name}: {subject.error}"
    assert isinstance(subject.fact, TlsEndpoint)
    return subject.fact


def verdicts(scanned: Scanned, name: str, policy: Policy | None = None) -> tuple[str, str, str]:
    """Return the statuses of 12f.endpoint-tls, 6f.endpoint-certificate and 6f.https-enforced."""
    endpoint, policy = fact(scanned, name), policy or Policy()
    today = datetime.now(UTC).date()
    return (
        verdict(tls_control, endpoint, policy=policy).status,
        verdict(certificate_control, endpoint, policy=policy, run_date=today).status,
        verdict(https_control, endpoint, policy=policy).status,
    )


def message(control: object, scanned: Scanned, name: str, **arguments: object) -> str:
    """Return the verdict message of one control on one case."""
    arguments.setdefault("policy", Policy())
    if control is certificate_control:
        arguments.setdefault("run_date", datetime.now(UTC).date())
    return verdict(control, fact(scanned, name), **arguments).message  # type: ignore[arg-type]


def test_the_whole_scan_is_quick(scanned: Scanned) -> None:
    assert scanned.seconds < 30, f"scanning {len(scanned.subjects)} endpoints took {scanned.seconds:.1f} s"


def test_modern_valid_endpoint_passes_everything(scanned: Scanned) -> None:
    endpoint = fact(scanned, "modern")
    assert endpoint.protocols_offered == ("TLS 1.2", "TLS 1.3")
    assert all(s.forward_secret and s.aead for s in endpoint.tls12_suites)
    assert endpoint.hsts_max_age == 31536000
    assert endpoint.http_redirects_to_https is True
    assert verdicts(scanned, "modern") == ("pass", "pass", "pass")
    assert verdict(tls_control, endpoint, policy=Policy(require_tls13=True)).status == "pass"


def test_tls10_enabled_fails_12f(scanned: Scanned) -> None:
    assert "TLS 1.0" in fact(scanned, "tls10").protocols_offered
    assert verdicts(scanned, "tls10")[0] == "fail"
    assert "offers TLS 1.0" in message(tls_control, scanned, "tls10")


def test_tls11_only_fails_12f(scanned: Scanned) -> None:
    assert fact(scanned, "tls11_only").protocols_offered == ("TLS 1.1",)
    assert verdicts(scanned, "tls11_only")[0] == "fail"
    assert "offers TLS 1.1" in message(tls_control, scanned, "tls11_only")


def test_cbc_only_tls12_fails_12f(scanned: Scanned) -> None:
    endpoint = fact(scanned, "cbc_only")
    assert endpoint.protocols_offered == ("TLS 1.2",)
    assert endpoint.tls12_suites
    assert not any(s.aead for s in endpoint.tls12_suites)
    assert verdicts(scanned, "cbc_only")[0] == "fail"
    assert "without forward secrecy or AEAD" in message(tls_control, scanned, "cbc_only")
    assert "TLS 1.3 is not offered" in message(
        tls_control, scanned, "cbc_only", policy=Policy(require_tls13=True)
    )


def test_rsa1024_key_fails_12f(scanned: Scanned) -> None:
    endpoint = fact(scanned, "rsa1024")
    assert (endpoint.key_type, endpoint.key_bits) == ("RSA", 1024)
    assert verdicts(scanned, "rsa1024")[0] == "fail"
    assert "RSA key of 1024 bits" in message(tls_control, scanned, "rsa1024")


def test_dhe_with_a_1024_bit_group_fails_12f_naming_the_group(scanned: Scanned) -> None:
    endpoint = fact(scanned, "dh1024")
    assert endpoint.protocols_offered == ("TLS 1.2",)
    assert endpoint.tls12_suites, "forward-secret AEAD suites only: the suite rule alone would pass it"
    assert all(s.forward_secret and s.aead for s in endpoint.tls12_suites)
    assert endpoint.key_exchanges is not None
    assert {(e.kind, e.group, e.bits) for e in endpoint.key_exchanges} == {("DH", "DH 1024", 1024)}
    assert verdicts(scanned, "dh1024")[0] == "fail"
    text = message(tls_control, scanned, "dh1024")
    assert "weak key exchange: DH 1024 (< 2048 bits)" in text
    assert "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" in text


def test_dhe_with_a_2048_bit_group_passes_12f(scanned: Scanned) -> None:
    endpoint = fact(scanned, "dh2048")
    assert endpoint.key_exchanges is not None
    assert {(e.kind, e.bits) for e in endpoint.key_exchanges} == {("DH", 2048)}
    assert endpoint.supported_curves == (), "no ECDHE suite: no curve accepted"
    assert verdicts(scanned, "dh2048")[0] == "pass"


def test_an_accepted_elliptic_curve_below_256_bits_fails_12f(scanned: Scanned) -> None:
    endpoint = fact(scanned, "ecdh_p224")
    assert endpoint.supported_curves is not None
    assert {c.name: c.bits for c in endpoint.supported_curves} == {"secp224r1": 224, "secp256r1": 256}
    assert verdicts(scanned, "ecdh_p224")[0] == "fail"
    assert "ECDH secp224r1 of 224 bits (< 256) on accepted curve" in message(
        tls_control, scanned, "ecdh_p224"
    )


def test_modern_key_exchanges_and_curves_are_observed_and_pass(scanned: Scanned) -> None:
    endpoint = fact(scanned, "modern")
    assert endpoint.key_exchanges
    assert {e.kind for e in endpoint.key_exchanges} == {"ECDH"}
    assert {e.protocol for e in endpoint.key_exchanges} == {"TLS 1.2", "TLS 1.3"}
    assert endpoint.supported_curves
    assert "X25519" in {c.name for c in endpoint.supported_curves}, "253 bits, judged at the P-256 level"
    result, evidence = verdict_and_evidence(tls_control, endpoint, policy=Policy())
    assert result.status == "pass"
    assert any("X25519" in text for text in evidence.observations["key_exchanges"])


# --- replaying a recorded scan result: read strictly, never a pass on what is left -----------------


def recorded(scanned: Scanned, name: str) -> dict[str, Any]:
    """Return a case's subject as its recording keeps it (JSON round trip)."""
    document: dict[str, Any] = json.loads(json.dumps(subject_to_json(scanned.subjects[name])))
    return document


def test_a_replayed_result_without_key_exchanges_is_an_error_for_12f_never_a_pass(scanned: Scanned) -> None:
    today = datetime.now(UTC).date()
    for name, before in (("modern", "pass"), ("tls10", "fail")):
        item = recorded(scanned, name)
        for added_later in ("key_exchanges", "supported_curves", "key_exchange_observation"):
            del item["fact"][added_later]  # a recording made before key exchanges were scanned
        endpoint = replayed_subject(item).fact
        assert isinstance(endpoint, TlsEndpoint)
        assert endpoint.key_exchanges is None
        after = verdict(tls_control, endpoint, policy=Policy())
        assert after.status == ("error" if before == "pass" else "fail")
        assert "key exchanges were not observed" in after.message
        assert "re-record" in after.message
        assert verdict(certificate_control, endpoint, policy=Policy(), run_date=today).status == "pass"


@pytest.mark.parametrize(
    ("where", "value", "said"),
    [
        (("protocols_offered",), DELETE, "protocols_offered: missing"),
        (("protocols_offered",), "TLS 1.2", "protocols_offered: expected a list"),
        (("tls12_suites", 0, "name"), 12345, "tls12_suites[0].name: expected a string"),
        (("key_bits",), True, "key_bits: expected an integer"),
        (
            ("certificate", "not_after"),
            "2027-01-01T00:00:00",
            "certificate.not_after: expected a date-time with a time zone",
        ),
        (("certificate", "chain_valid"), "true", "certificate.chain_valid: expected true or false"),
        (("target", "scheme"), "MutantUnknownValue", "target.scheme: expected one of 'https', 'tls'"),
        (("key_exchanges", 0, "bits"), "1024", "key_exchanges[0].bits"),
    ],
)
def test_a_replayed_result_with_a_field_missing_or_mistyped_is_an_error_naming_it(
    scanned: Scanned, where: tuple[str | int, ...], value: object, said: str
) -> None:
    item = recorded(scanned, "modern")
    parent = item["fact"]
    for step in where[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    subject = replayed_subject(item)
    assert subject.fact is None
    assert subject.error is not None
    assert said in english_text(subject.error)
    assert subject.sources, "the recorded sources are kept for the auditor"


def test_a_replayed_result_for_another_endpoint_than_its_id_is_an_error(scanned: Scanned) -> None:
    item = recorded(scanned, "modern")
    item["fact"]["target"]["sni"] = "other.test"
    subject = replayed_subject(item)
    assert subject.error is not None
    assert "is for https://localhost:" in english_text(subject.error)


def test_expired_certificate_fails_6f(scanned: Scanned) -> None:
    assert verdicts(scanned, "expired")[:2] == ("pass", "fail")
    assert "expired on" in message(certificate_control, scanned, "expired")


def test_self_signed_certificate_fails_6f(scanned: Scanned) -> None:
    assert fact(scanned, "self_signed").certificate is not None
    assert verdicts(scanned, "self_signed")[:2] == ("pass", "fail")
    assert "does not validate" in message(certificate_control, scanned, "self_signed")


def test_wrong_host_name_fails_6f(scanned: Scanned) -> None:
    certificate = fact(scanned, "wrong_host").certificate
    assert certificate is not None
    assert certificate.chain_valid
    assert not certificate.hostname_matches
    assert verdicts(scanned, "wrong_host")[:2] == ("pass", "fail")
    assert "localhost is not among" in message(certificate_control, scanned, "wrong_host")


def test_certificate_expiring_in_5_days_fails_6f(scanned: Scanned) -> None:
    assert verdicts(scanned, "expiring")[:2] == ("pass", "fail")
    assert "expires in" in message(certificate_control, scanned, "expiring")
    relaxed = Policy(cert_min_days=3)
    assert verdict(
        certificate_control, fact(scanned, "expiring"), policy=relaxed, run_date=date.today()
    ).status == ("pass")


def test_no_hsts_fails_https_enforced(scanned: Scanned) -> None:
    assert verdicts(scanned, "no_hsts") == ("pass", "pass", "fail")
    assert "no HSTS" in message(https_control, scanned, "no_hsts")
    assert fact(scanned, "no_hsts").hsts_observation == msg("no Strict-Transport-Security header")
    assert verdicts(scanned, "short_hsts")[2] == "fail"
    assert "max-age=86400 is below" in message(https_control, scanned, "short_hsts")


def test_http_without_redirect_fails_https_enforced(scanned: Scanned) -> None:
    endpoint = fact(scanned, "no_redirect")
    assert endpoint.http_redirects_to_https is False
    assert endpoint.http_observation == msg("{status} (no redirect)", status="200")
    assert verdicts(scanned, "no_redirect") == ("pass", "pass", "fail")
    assert "does not redirect to HTTPS" in message(https_control, scanned, "no_redirect")


def test_refused_port_80_serves_nothing_in_plaintext(scanned: Scanned) -> None:
    endpoint = fact(scanned, "http_closed")
    assert endpoint.http_refused
    assert endpoint.http_redirects_to_https is None
    assert verdict(https_control, endpoint, policy=Policy()).status == "pass"


def test_closed_port_is_an_error_never_a_pass(scanned: Scanned) -> None:
    subject = scanned.subjects["closed"]
    assert subject.fact is None
    assert subject.error is not None
    assert "could not connect" in english_text(subject.error)


def test_silent_port_is_an_error_never_a_pass(scanned: Scanned) -> None:
    subject = scanned.subjects["silent"]
    assert subject.fact is None
    assert subject.error is not None
    assert "accepted the TCP connection but did not answer the TLS handshake" in english_text(subject.error)
    assert "the scan was skipped" in english_text(subject.error)


# --- the certificate verdict is what TLS clients decide (openssl s_client) --------------------------


@dataclass(frozen=True)
class ClientChecked:
    """Per case: the scanned subject and what `openssl s_client -verify_return_error` decided."""

    subjects: dict[str, Subject[object]]
    openssl: dict[str, tuple[bool, str]]


CLIENT_CASES = (
    "internal_ca",
    "leaf_without_authority_key_id",
    "ca_without_key_usage",
    "ca_basic_constraints_not_critical",
    "ca_without_subject_key_id",
    "leaf_for_client_auth_only",
    "issuer_not_a_ca",
    "untrusted_root",
    "wrong_host",
    "self_signed",
    "expired",
)
CLIENTS_ACCEPT = {
    "internal_ca",
    "leaf_without_authority_key_id",
    "ca_without_key_usage",
    "ca_basic_constraints_not_critical",
    "ca_without_subject_key_id",
}


@pytest.fixture(scope="module")
def client_checked(tmp_path_factory: pytest.TempPathFactory) -> ClientChecked:
    """Serve certificates made by the openssl command, scan them, and ask openssl s_client about each."""
    folder: Path = tmp_path_factory.mktemp("pki")
    pki = OpensslPki(folder)
    internal = pki.ca("internal")
    no_key_usage = pki.ca("internal-no-ku", "keyUsage = omit")
    soft_constraints = pki.ca("internal-soft-bc", "basicConstraints = CA:TRUE")
    no_key_id = pki.ca("internal-no-skid", "subjectKeyIdentifier = omit")
    not_a_ca = pki.ca("not-a-ca", "basicConstraints = critical, CA:FALSE")
    stranger = pki.ca("stranger")
    trustme_ca = trustme.CA()
    trustme_file = folder / "trustme.pem"
    trustme_ca.cert_pem.write_to_path(str(trustme_file))
    now = datetime.now(UTC)
    cases: dict[str, tuple[CertFiles, Path]] = {
        "internal_ca": (pki.leaf(internal, "plain", HOST), internal.cert),
        "leaf_without_authority_key_id": (
            pki.leaf(internal, "no-akid", HOST, "authorityKeyIdentifier = omit"),
            internal.cert,
        ),
        "ca_without_key_usage": (pki.leaf(no_key_usage, "under-no-ku", HOST), no_key_usage.cert),
        "ca_basic_constraints_not_critical": (
            pki.leaf(soft_constraints, "under-soft-bc", HOST),
            soft_constraints.cert,
        ),
        "ca_without_subject_key_id": (
            pki.leaf(no_key_id, "under-no-skid", HOST, "authorityKeyIdentifier = omit"),
            no_key_id.cert,
        ),
        "leaf_for_client_auth_only": (
            pki.leaf(internal, "client-auth", HOST, "extendedKeyUsage = clientAuth"),
            internal.cert,
        ),
        "issuer_not_a_ca": (pki.leaf(not_a_ca, "under-not-a-ca", HOST), not_a_ca.cert),
        "untrusted_root": (pki.leaf(stranger, "stranger-leaf", HOST), internal.cert),
        "wrong_host": (pki.leaf(internal, "other-host", "other.test"), internal.cert),
        "self_signed": (self_signed_cert(folder, HOST), internal.cert),
        "expired": (
            issue_cert(
                folder,
                trustme_ca,
                "expired",
                HOST,
                not_before=now - timedelta(days=90),
                not_after=now - timedelta(days=1),
            ),
            trustme_file,
        ),
    }
    with TlsServers(folder) as servers:
        ports = {name: servers.openssl(files, *MODERN) for name, (files, _) in cases.items()}
        targets = {
            name: TlsTarget(HOST, ports[name], address="127.0.0.1", ca_bundle=cases[name][1], http_port=None)
            for name in cases
        }
        with ThreadPoolExecutor(max_workers=8) as pool:
            decided = dict(
                zip(
                    cases,
                    pool.map(lambda name: openssl_accepts(ports[name], HOST, cases[name][1]), cases),
                    strict=True,
                )
            )
        subjects = scan_endpoints(list(targets.values()), max_concurrency=16, timeout=3)
    by_id = {subject.id: subject for subject in subjects}
    return ClientChecked({name: by_id[t.id] for name, t in targets.items()}, decided)


@pytest.mark.parametrize("case", CLIENT_CASES)
def test_the_certificate_verdict_is_what_openssl_s_client_decides(
    client_checked: ClientChecked, case: str
) -> None:
    accepted, why = client_checked.openssl[case]
    assert accepted == (case in CLIENTS_ACCEPT), f"openssl s_client on {case}: {why}"
    subject = client_checked.subjects[case]
    assert isinstance(subject.fact, TlsEndpoint), subject.error
    result = verdict(certificate_control, subject.fact, policy=Policy(), run_date=datetime.now(UTC).date())
    assert (result.status == "pass") == accepted, (
        f"{case}: ours {result.status} ({result.message}); openssl: {why}"
    )


def test_a_leaf_without_authority_key_id_validates_with_the_deviation_observed(
    client_checked: ClientChecked,
) -> None:
    subject = client_checked.subjects["leaf_without_authority_key_id"]
    assert isinstance(subject.fact, TlsEndpoint)
    certificate = subject.fact.certificate
    assert certificate is not None
    assert (certificate.chain_valid, certificate.validation_error) == (True, None)
    assert [english_text(d) for d in certificate.profile_deviations] == [
        "the leaf has no Authority Key Identifier extension"
    ]
    assert all(isinstance(d, Message) for d in certificate.profile_deviations), "our words, translated"
    result, evidence = verdict_and_evidence(
        certificate_control, subject.fact, policy=Policy(), run_date=datetime.now(UTC).date()
    )
    assert result.status == "pass"
    assert [english_text(d) for d in evidence.observations["profile_deviations"]] == [
        "the leaf has no Authority Key Identifier extension"
    ]
    # That the pass message shows the deviation too: tests/test_tls_verdict_edges.py
    # (test_a_pass_line_shows_a_profile_deviation_in_words).


def test_ca_profile_deviations_are_observations_and_rejections_keep_their_reason(
    client_checked: ClientChecked,
) -> None:
    def certificate_of(case: str) -> CertificateFact:
        fact = client_checked.subjects[case].fact
        assert isinstance(fact, TlsEndpoint)
        assert fact.certificate is not None
        return fact.certificate

    no_key_usage = certificate_of("ca_without_key_usage").profile_deviations
    assert no_key_usage == (msg("CA {ca} has no keyUsage extension", ca="CN=internal-no-ku"),)
    assert [english_text(d) for d in no_key_usage] == ["CA CN=internal-no-ku has no keyUsage extension"]
    assert [
        english_text(d) for d in certificate_of("ca_basic_constraints_not_critical").profile_deviations
    ] == ["CA CN=internal-soft-bc does not mark basicConstraints critical"]
    assert certificate_of("internal_ca").profile_deviations == ()
    # The verifier's own reason (cryptography's text) stays plain text, as the library wrote it.
    for case, said in (("leaf_for_client_auth_only", "EKU"), ("issuer_not_a_ca", "basicConstraints.cA")):
        error = certificate_of(case).validation_error
        assert isinstance(error, str), (case, error)
        assert said in error, (case, error)
    assert certificate_of("untrusted_root").chain_valid is False


def test_suite_classification_and_host_name_matching() -> None:
    assert classify_tls12_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") == CipherSuiteFact(
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", forward_secret=True, aead=True
    )
    assert classify_tls12_suite("TLS_DHE_RSA_WITH_AES_256_CCM").aead
    assert not classify_tls12_suite("TLS_RSA_WITH_AES_128_GCM_SHA256").forward_secret
    assert not classify_tls12_suite("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256").forward_secret
    assert not classify_tls12_suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256").aead
    assert hostname_matches(["*.example.nl"], "shop.example.nl")
    assert not hostname_matches(["*.example.nl"], "a.shop.example.nl")
    assert not hostname_matches(["*.example.nl"], "example.nl")
    assert hostname_matches(["127.0.0.1"], "127.0.0.1")
    assert not hostname_matches(["localhost"], "127.0.0.1")
    assert hostname_matches(["Shop.Example.NL."], "shop.example.nl")


def test_https_enforced_is_not_applicable_to_a_plain_tls_endpoint(scanned: Scanned) -> None:
    endpoint = fact(scanned, "modern")
    plain = TlsEndpoint(
        **{**endpoint.__dict__, "target": TlsTarget(HOST, endpoint.target.port, scheme="tls", http_port=None)}
    )
    assert verdict(https_control, plain, policy=Policy()).status == "not_applicable"


def test_endpoints_come_from_config_and_azure_deduplicated(tmp_path: Path) -> None:
    config = AuditConfig(
        path=tmp_path / "audit.toml",
        sha256="0" * 64,
        endpoints=[
            EndpointEntry(url="https://shop.example.nl/"),
            EndpointEntry(url="tls://mail.example.nl:465", sni="smtp.example.nl"),
        ],
    )
    discovered = [
        DiscoveredEndpoint("shop.example.nl", 443, "app-service", "/subscriptions/s/sites/shop"),
        DiscoveredEndpoint("shop.azurewebsites.net", 443, "app-service", "/subscriptions/s/sites/shop"),
        DiscoveredEndpoint("db1.database.windows.net", 1433, "azure-sql", "/subscriptions/s/servers/db1"),
    ]
    targets = endpoints_to_scan(config, discovered)
    assert [t.id for t in targets] == [
        "https://shop.example.nl:443/",
        "tls://mail.example.nl:465#sni=smtp.example.nl",
        "https://shop.azurewebsites.net:443/",
    ]
    assert targets[1].server_name == "smtp.example.nl"
    assert targets[1].http_port is None
    assert targets[2].origin == "/subscriptions/s/sites/shop"
    assert targets[2].http_port == 80
    note = unscanned_note(discovered)
    assert note is not None
    assert "db1.database.windows.net:1433" in english_text(note)


def test_endpoints_sharing_host_and_port_are_one_target_per_sni_name_and_starttls(tmp_path: Path) -> None:
    config = AuditConfig(
        path=tmp_path / "audit.toml",
        sha256="0" * 64,
        endpoints=[
            EndpointEntry(url="https://192.0.2.10/", sni="a.example.nl"),
            EndpointEntry(url="https://192.0.2.10/", sni="B.example.nl."),
            EndpointEntry(url="https://192.0.2.10/", sni="c.example.nl"),
            EndpointEntry(url="https://192.0.2.10:443/"),
            EndpointEntry(url="https://www.example.nl/", sni="WWW.example.nl"),
            EndpointEntry(url="tls://mail.example.nl:25", starttls="smtp"),
            EndpointEntry(url="tls://mail.example.nl:25"),
        ],
    )
    discovered = [DiscoveredEndpoint("a.example.nl", 443, "app-service", "/subscriptions/s/sites/a")]
    targets = endpoints_to_scan(config, discovered)
    assert [t.id for t in targets] == [
        "https://192.0.2.10:443/#sni=a.example.nl",
        "https://192.0.2.10:443/#sni=b.example.nl",
        "https://192.0.2.10:443/#sni=c.example.nl",
        "https://192.0.2.10:443/",
        "https://www.example.nl:443/",
        "tls://mail.example.nl:25#starttls=smtp",
        "tls://mail.example.nl:25",
        "https://a.example.nl:443/",
    ]
    assert [t.server_name for t in targets[:4]] == [
        "a.example.nl",
        "b.example.nl",
        "c.example.nl",
        "192.0.2.10",
    ]
    assert targets[4].server_name == "www.example.nl"
    assert targets[5].http_port is None
    again = endpoints_to_scan(config.model_copy(update={"endpoints": config.endpoints * 2}), discovered)
    assert [t.id for t in again] == [t.id for t in targets], "an identical entry is one scan"


def test_three_sni_names_on_one_nginx_port_are_three_items_with_their_own_certificates(
    tmp_path: Path,
) -> None:
    from tests.audit_runs import POLICY, run_audit

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.now(UTC)
    names = ("a.test", "b.test", "c.test")
    (tmp_path / "servers").mkdir()
    with TlsServers(tmp_path / "servers") as servers:
        sites = [
            NginxSite(
                name,
                issue_cert(
                    tmp_path,
                    ca,
                    name,
                    name,
                    not_before=now - timedelta(days=90) if name == "c.test" else None,
                    not_after=now - timedelta(days=2) if name == "c.test" else None,
                ),
                server_name=name,
            )
            for name in names
        ]
        at = servers.nginx_virtual_hosts(sites)
        endpoints = "".join(
            f'\n[[endpoints]]\nurl = "https://127.0.0.1:{at.https}/"\nsni = "{name}"\nca_bundle = "{ca_file}"\n'
            for name in names
        )
        recording = tmp_path / "recording.json"
        today = now.date().isoformat()
        live = run_audit(tmp_path / "live", POLICY + endpoints, "--record", str(recording), "--as-of", today)
    ids = {name: f"https://127.0.0.1:{at.https}/#sni={name}" for name in names}
    certificates = {name: live.result("6f.endpoint-certificate", ids[name]) for name in names}
    assert [certificates[n]["status"] for n in names] == ["pass", "pass", "fail"], live.stdout[-3000:]
    for name in names:
        observed = certificates[name]["observed"]
        assert observed["subject"] == f"CN={name}", "each virtual host's own certificate"
        assert observed["hostname"] == name
    assert "expired on" in certificates["c.test"]["message"]
    assert {live.result("12f.endpoint-tls", ids[n])["status"] for n in names} == {"pass"}
    kept = json.loads(recording.read_text(encoding="utf-8"))["tls"]
    assert sorted(item["id"] for item in kept) == sorted(ids.values()), "the recording keeps them apart"
    replayed = run_audit(
        tmp_path / "replay", POLICY + endpoints, "--replay", str(recording), "--as-of", today
    )
    for name in names:
        assert replayed.result("6f.endpoint-certificate", ids[name])["status"] == certificates[name]["status"]


def test_collect_tls_with_nothing_to_scan_is_out_of_scope_and_names_sql(tmp_path: Path) -> None:
    store = FactStore()
    store.population(AZURE_ENDPOINTS).add(
        observed(
            "db1.database.windows.net:1433",
            DiscoveredEndpoint("db1.database.windows.net", 1433, "azure-sql", "/subscriptions/s/servers/db1"),
        )
    )
    config = AuditConfig(path=tmp_path / "audit.toml", sha256="0" * 64)
    assert collect_tls(config, store) == []
    population = store.population(TLS_ENDPOINTS)
    assert population.out_of_scope is not None
    assert "db1.database.windows.net:1433" in english_text(population.notes[0])


def test_tls_scan_recorded_and_replayed_gives_the_live_verdicts(tmp_path: Path) -> None:
    from tests.audit_runs import POLICY, run_audit

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    (tmp_path / "servers").mkdir()
    with TlsServers(tmp_path / "servers") as servers:
        good = servers.openssl(
            issue_cert(tmp_path, ca, "good", "localhost"),
            "-min_protocol",
            "TLSv1.2",
            "-cipher",
            MODERN_CIPHERS,
        )
        old = servers.openssl(
            issue_cert(tmp_path, ca, "old", "localhost"),
            "-min_protocol",
            "TLSv1",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
        )
        weak_dh = servers.openssl(
            issue_cert(tmp_path, ca, "dh", "localhost", rsa_bits=2048),
            *DHE_ONLY,
            "-dhparam",
            str(dh_params(tmp_path, 1024)),
        )
        endpoints = "".join(
            f'\n[[endpoints]]\nurl = "https://localhost:{port}/"\nca_bundle = "{ca_file}"\n'
            for port in (good, old, weak_dh)
        )
        recording = tmp_path / "recording.json"
        live = run_audit(tmp_path / "live", POLICY + endpoints, "--record", str(recording))
    replayed = run_audit(tmp_path / "replay", POLICY + endpoints, "--replay", str(recording))
    tls = {
        k: v for k, v in live.verdicts().items() if k[0] in ("12f.endpoint-tls", "6f.endpoint-certificate")
    }
    assert tls[("12f.endpoint-tls", f"https://localhost:{old}/")] == "fail"
    assert tls[("12f.endpoint-tls", f"https://localhost:{good}/")] == "pass"
    assert tls[("12f.endpoint-tls", f"https://localhost:{weak_dh}/")] == "fail"
    assert {k: v for k, v in replayed.verdicts().items() if k in tls} == tls
    for run in (live, replayed):
        weak = run.result("12f.endpoint-tls", f"https://localhost:{weak_dh}/")
        assert "weak key exchange: DH 1024 (< 2048 bits)" in weak["message"]
        assert "TLS 1.2 DH 1024 bits" in weak["observed"]["key_exchanges"]
    kept = json.loads(recording.read_text(encoding="utf-8"))["tls"]
    assert all(item["fact"]["key_exchanges"] for item in kept), "the recording keeps the key exchanges"


# --- what the plain-HTTP check saw: a message, the target's status line as a plain parameter -------


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers GET / with the status and Location header the test sets on the server."""

    def do_GET(self) -> None:
        status, location = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_plain_http_observation_is_a_message_with_the_status_as_parameter() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    port = server.server_address[1]
    target = TlsTarget(HOST, 443, address="127.0.0.1", http_port=port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        server.answer = (200, None)  # type: ignore[attr-defined]
        redirects, seen, refused = plain_http_check(target, timeout=3)
        assert (redirects, seen, refused) == (False, msg("{status} (no redirect)", status="200"), False)
        assert english_text(seen) == "200 (no redirect)"
        server.answer = (301, None)  # type: ignore[attr-defined]
        redirects, seen, _ = plain_http_check(target, timeout=3)
        assert (redirects, seen) == (False, msg("{status} -> (no Location header)", status="301"))
        assert english_text(seen) == "301 -> (no Location header)"
        server.answer = (308, "https://localhost/")  # type: ignore[attr-defined]
        assert plain_http_check(target, timeout=3) == (True, "308 -> https://localhost/", False), (
            "a redirect is data: status and the target's Location as received"
        )
    finally:
        server.shutdown()
        server.server_close()
    closed = TlsTarget(HOST, 443, address="127.0.0.1", http_port=free_port())
    redirects, seen, refused = plain_http_check(closed, timeout=3)
    assert (redirects, refused) == (None, True)
    assert seen == msg("port {port} refused the connection (no plain HTTP served)", port=closed.http_port)
