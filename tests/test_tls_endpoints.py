"""The TLS endpoint scanner and its controls against real servers on loopback.

One module-scoped run starts every server (`openssl s_server` for protocol, cipher and
certificate cases; one nginx for the HSTS and plain-HTTP redirect cases), scans them all in
one concurrent `scan_endpoints` call, and each test judges one endpoint with the controls
12f.endpoint-tls, 6f.endpoint-certificate and 6f.https-enforced.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from collectors.azure.base import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config import AuditConfig, EndpointEntry, Policy
from collectors.facts import FactStore, Subject, observed
from collectors.tls.scanner import (
    TLS_ENDPOINTS,
    CipherSuiteFact,
    TlsEndpoint,
    TlsTarget,
    classify_tls12_suite,
    collect_tls,
    endpoints_to_scan,
    hostname_matches,
    scan_endpoints,
    unscanned_note,
)
from controls.test_6f_certificates import test_endpoint_certificate_is_valid as certificate_control
from controls.test_6f_certificates import test_endpoint_enforces_https as https_control
from controls.test_12f_encryption_in_transit import test_endpoint_speaks_only_strong_tls as tls_control
from tests.control_calls import verdict
from tests.loopback import free_port
from tests.tls_servers import (
    MODERN_CIPHERS,
    NginxSite,
    TlsServers,
    issue_cert,
    self_signed_cert,
)

HOST = "localhost"
MODERN = ("-min_protocol", "TLSv1.2", "-cipher", MODERN_CIPHERS)
LEGACY_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:@SECLEVEL=0"


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
    assert verdicts(scanned, "short_hsts")[2] == "fail"
    assert "max-age=86400 is below" in message(https_control, scanned, "short_hsts")


def test_http_without_redirect_fails_https_enforced(scanned: Scanned) -> None:
    endpoint = fact(scanned, "no_redirect")
    assert endpoint.http_redirects_to_https is False
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
    assert "could not connect" in subject.error


def test_silent_port_is_an_error_never_a_pass(scanned: Scanned) -> None:
    subject = scanned.subjects["silent"]
    assert subject.fact is None
    assert subject.error is not None
    assert "could not connect" in subject.error


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
        "tls://mail.example.nl:465",
        "https://shop.azurewebsites.net:443/",
    ]
    assert targets[1].server_name == "smtp.example.nl"
    assert targets[1].http_port is None
    assert targets[2].origin == "/subscriptions/s/sites/shop"
    assert targets[2].http_port == 80
    note = unscanned_note(discovered)
    assert note is not None
    assert "db1.database.windows.net:1433" in note


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
    assert "db1.database.windows.net:1433" in population.notes[0]


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
        endpoints = "".join(
            f'\n[[endpoints]]\nurl = "https://localhost:{port}/"\nca_bundle = "{ca_file}"\n'
            for port in (good, old)
        )
        recording = tmp_path / "recording.json"
        live = run_audit(tmp_path / "live", POLICY + endpoints, "--record", str(recording))
    replayed = run_audit(tmp_path / "replay", POLICY + endpoints, "--replay", str(recording))
    tls = {
        k: v for k, v in live.verdicts().items() if k[0] in ("12f.endpoint-tls", "6f.endpoint-certificate")
    }
    assert tls[("12f.endpoint-tls", f"https://localhost:{old}/")] == "fail"
    assert tls[("12f.endpoint-tls", f"https://localhost:{good}/")] == "pass"
    assert {k: v for k, v in replayed.verdicts().items() if k in tls} == tls
