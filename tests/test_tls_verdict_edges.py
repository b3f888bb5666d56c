"""Edges of the transport-encryption and certificate verdicts (12f.*, 6f.*) that mutation testing found unpinned.

Each test judges literal facts (no servers): a weak key exchange or certificate key named in the
message, a value the control cannot read being `error` (never `pass`), the SCHANNEL defaults of
each Windows build at their edges, and the HTTPS checks that must not pass on what was not seen.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from collectors.azure.facts import SqlServer, StorageAccount, WebApp
from collectors.config.policy import Policy
from collectors.databases.facts import ConnectionEncryption, DatabaseServer
from collectors.fact_json import subject_from_json, subject_to_json
from collectors.facts import observed
from collectors.hosts.facts import HostFacts, OperatingSystem, SchannelProtocol
from collectors.tls.facts import (
    CertificateFact,
    CipherSuiteFact,
    EllipticCurveFact,
    KeyExchange,
    TlsEndpoint,
    TlsTarget,
)
from controls import test_6f_certificates as c6f
from controls import test_12f_encryption_in_transit as c12f
from controls.framework import Verdict
from reports.evidence import Message, as_message, msg
from reports.i18n.translation import english, translator
from tests.control_calls import verdict, verdict_and_evidence

RUN_DATE = date(2026, 11, 29)
RUN_START = datetime(2026, 11, 29, tzinfo=UTC)
ECDHE_GCM = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
DHE_GCM = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
TLS13_SUITE = "TLS_AES_128_GCM_SHA256"
P256 = EllipticCurveFact("secp256r1", 256)


def endpoint(**changed: Any) -> TlsEndpoint:
    """A strong TLS 1.2 + 1.3 endpoint (RSA 2048, ECDHE P-256, HSTS, HTTP redirect), with `changed`."""
    strong = TlsEndpoint(
        target=TlsTarget("www.example.test", 443),
        protocols_offered=("TLS 1.2", "TLS 1.3"),
        tls12_suites=(CipherSuiteFact(ECDHE_GCM, True, True),),
        tls13_suites=(TLS13_SUITE,),
        key_type="RSA",
        key_bits=2048,
        certificate=certificate(),
        hsts_max_age=31536000,
        hsts_observation="max-age=31536000",
        http_redirects_to_https=True,
        http_observation="301 -> https://www.example.test/",
        http_refused=False,
        key_exchanges=(
            KeyExchange("TLS 1.2", ECDHE_GCM, "ECDH", "secp256r1", 256),
            KeyExchange("TLS 1.3", TLS13_SUITE, "ECDH", "secp256r1", 256),
        ),
        supported_curves=(P256,),
    )
    return dataclasses.replace(strong, **changed)


def certificate(**changed: Any) -> CertificateFact:
    """A valid certificate for www.example.test, 90 days left on RUN_DATE, with `changed`."""
    valid = CertificateFact(
        subject="CN=www.example.test",
        issuer="CN=Example CA",
        not_before=RUN_START - timedelta(days=60),
        not_after=RUN_START + timedelta(days=90),
        names=("www.example.test",),
        chain_valid=True,
        validation_error=None,
        hostname_matches=True,
        trust_store="system",
        chain_length=2,
    )
    return dataclasses.replace(valid, **changed)


def texts(messages: list[Message]) -> list[str]:
    """The findings of a helper as the English report shows them."""
    return [english(m) for m in messages]


def in_english(found: tuple[list[Message], list[Message]]) -> tuple[list[str], list[str]]:
    """A helper's (weak, not judged) findings in English."""
    return texts(found[0]), texts(found[1])


def endpoint_tls(fact: TlsEndpoint, **settings: Any) -> Verdict:
    return verdict(c12f.test_endpoint_speaks_only_strong_tls, fact, policy=Policy(**settings))


def test_the_strong_endpoint_of_these_tests_passes() -> None:
    assert endpoint_tls(endpoint()).status == "pass"


# --- 12f.endpoint-tls: the certificate key -------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "bits", "status"),
    [
        pytest.param("RSA", 2048, "pass", id="rsa-2048"),
        pytest.param("RSA", 2047, "fail", id="rsa-2047"),
        pytest.param("EC (secp256r1)", 256, "pass", id="ec-256"),
        pytest.param("EC (secp384r1)", 384, "pass", id="ec-384"),
        pytest.param("EC (secp224r1)", 224, "fail", id="ec-224"),
        pytest.param("Ed25519", 256, "pass", id="ed25519"),
        pytest.param("Ed448", 456, "pass", id="ed448"),
        pytest.param("DSA", 3072, "fail", id="dsa"),
    ],
)
def test_certificate_key_size_and_type_edges(key_type: str, bits: int, status: str) -> None:
    assert endpoint_tls(endpoint(key_type=key_type, key_bits=bits)).status == status


def test_weak_certificate_keys_are_named_in_the_message() -> None:
    assert "RSA key of 2047 bits (< 2048)" in endpoint_tls(endpoint(key_bits=2047)).message
    ec = endpoint_tls(endpoint(key_type="EC (secp224r1)", key_bits=224))
    assert "EC key of 224 bits (< 256)" in ec.message
    dsa = endpoint_tls(endpoint(key_type="DSA", key_bits=3072))
    assert "DSA key (no longer allowed for TLS)" in dsa.message
    assert in_english(c12f.certificate_key_findings(endpoint(key_type="DSA", key_bits=3072))) == (
        ["DSA key (no longer allowed for TLS)"],
        [],
    )


@pytest.mark.parametrize(
    ("key_type", "bits"),
    [
        pytest.param(None, 2048, id="type-unread"),
        pytest.param("RSA", None, id="size-unread"),
        pytest.param(None, None, id="both-unread"),
    ],
)
def test_certificate_key_that_could_not_be_read_is_error(key_type: str | None, bits: int | None) -> None:
    assert in_english(c12f.certificate_key_findings(endpoint(key_type=key_type, key_bits=bits))) == (
        [],
        ["the server's certificate key could not be read"],
    )
    result = endpoint_tls(endpoint(key_type=key_type, key_bits=bits))
    assert result.status == "error"
    assert "the server's certificate key could not be read" in result.message


@pytest.mark.parametrize("key_type", ["ec (secp256r1)", "rsa", "dsa", "ed25519", "MLDSA65PublicKey"])
def test_certificate_key_of_a_type_not_spelled_as_the_scanner_does_is_error(key_type: str) -> None:
    result = endpoint_tls(endpoint(key_type=key_type, key_bits=4096))
    assert result.status == "error"
    assert f"certificate key type {key_type!r} cannot be judged" in result.message


# --- 12f.endpoint-tls: key exchanges and curves ---------------------------------------------------


def dhe_endpoint(bits: int | None) -> TlsEndpoint:
    """A TLS 1.2-only endpoint offering one DHE suite with a `bits`-bit group and no ECDH."""
    return endpoint(
        protocols_offered=("TLS 1.2",),
        tls12_suites=(CipherSuiteFact(DHE_GCM, True, True),),
        tls13_suites=(),
        key_exchanges=(KeyExchange("TLS 1.2", DHE_GCM, "DH", f"DH {bits}", bits),),
        supported_curves=(),
    )


def test_dh_group_of_1024_bits_fails_naming_the_group_and_suite() -> None:
    weak, unknown = in_english(c12f.key_exchange_findings(dhe_endpoint(1024)))
    assert weak == [f"DH 1024 (< 2048 bits) on {DHE_GCM}"]
    assert unknown == []
    result = endpoint_tls(dhe_endpoint(1024))
    assert result.status == "fail"
    assert f"weak key exchange: DH 1024 (< 2048 bits) on {DHE_GCM}" in result.message


def test_dh_group_of_exactly_2048_bits_passes() -> None:
    assert c12f.key_exchange_findings(dhe_endpoint(2048)) == ([], [])
    assert endpoint_tls(dhe_endpoint(2048)).status == "pass"


def test_dh_group_of_unknown_size_is_error() -> None:
    result = endpoint_tls(dhe_endpoint(None))
    assert result.status == "error"
    assert f"the key exchange of {DHE_GCM} (TLS 1.2) could not be read" in result.message


def test_weak_dh_on_two_suites_is_one_finding_listing_both_suites() -> None:
    other = "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"
    fact = dataclasses.replace(
        dhe_endpoint(1024),
        tls12_suites=(CipherSuiteFact(DHE_GCM, True, True), CipherSuiteFact(other, True, True)),
        key_exchanges=(
            KeyExchange("TLS 1.2", other, "DH", "DH 1024", 1024),
            KeyExchange("TLS 1.2", DHE_GCM, "DH", "DH 1024", 1024),
        ),
    )
    assert texts(c12f.key_exchange_findings(fact)[0]) == [f"DH 1024 (< 2048 bits) on {DHE_GCM}, {other}"]


def test_ecdh_exchange_on_a_224_bit_curve_fails_naming_the_curve_and_suite() -> None:
    fact = endpoint(key_exchanges=(KeyExchange("TLS 1.2", ECDHE_GCM, "ECDH", "secp224r1", 224),))
    assert in_english(c12f.key_exchange_findings(fact)) == (
        [f"ECDH secp224r1 of 224 bits (< 256) on {ECDHE_GCM}"],
        [],
    )
    result = endpoint_tls(fact)
    assert result.status == "fail"
    assert f"ECDH secp224r1 of 224 bits (< 256) on {ECDHE_GCM}" in result.message


def test_accepted_224_bit_curve_fails_as_an_accepted_curve() -> None:
    fact = endpoint(supported_curves=(P256, EllipticCurveFact("secp224r1", 224)))
    assert in_english(c12f.key_exchange_findings(fact)) == (
        ["ECDH secp224r1 of 224 bits (< 256) on accepted curve"],
        [],
    )
    result = endpoint_tls(fact)
    assert result.status == "fail"
    assert "ECDH secp224r1 of 224 bits (< 256) on accepted curve" in result.message


def test_x25519_and_x448_count_by_security_level_not_reported_bits() -> None:
    x25519 = KeyExchange("TLS 1.3", TLS13_SUITE, "ECDH", "X25519", 253)
    fact = endpoint(
        key_exchanges=(KeyExchange("TLS 1.2", ECDHE_GCM, "ECDH", "X448", 448), x25519),
        supported_curves=(EllipticCurveFact("X25519", 253), EllipticCurveFact("X448", 448)),
    )
    assert c12f.ec_strength("X25519", 253) == 256
    assert c12f.ec_strength("secp256r1", 256) == 256
    assert c12f.key_exchange_findings(fact) == ([], [])
    assert endpoint_tls(fact).status == "pass"


def test_a_253_bit_curve_other_than_x25519_is_weak() -> None:
    assert c12f.ec_strength("brainpoolP253", 253) == 253
    fact = endpoint(supported_curves=(P256, EllipticCurveFact("brainpoolP253", 253)))
    assert endpoint_tls(fact).status == "fail"


@pytest.mark.parametrize("kind", ["unknown", "KEM", "dh", "ecdh"])
def test_key_exchange_of_a_kind_the_control_does_not_know_is_error_even_with_a_size(kind: str) -> None:
    fact = endpoint(key_exchanges=(KeyExchange("TLS 1.3", TLS13_SUITE, kind, "X25519MLKEM768", 1216),))
    result = endpoint_tls(fact)
    assert result.status == "error"
    assert f"the key exchange of {TLS13_SUITE} (TLS 1.3) could not be read" in result.message


def test_key_exchanges_not_observed_is_error_naming_the_re_recording() -> None:
    result = endpoint_tls(endpoint(key_exchanges=None))
    assert result.status == "error"
    assert "the key exchanges were not observed (the scan result predates them: re-record)" in result.message


def test_supported_curves_not_observed_is_error_with_the_scanners_reason() -> None:
    said = endpoint(supported_curves=None, key_exchange_observation="the curve scan timed out")
    result = endpoint_tls(said)
    assert result.status == "error"
    assert "the curve scan timed out" in result.message
    silent = endpoint_tls(endpoint(supported_curves=None))
    assert silent.status == "error"
    assert "the supported elliptic curves were not observed" in silent.message
    assert in_english(c12f.key_exchange_findings(endpoint(supported_curves=None))) == (
        [],
        ["the supported elliptic curves were not observed"],
    )


def test_curve_of_unknown_size_is_error() -> None:
    result = endpoint_tls(endpoint(supported_curves=(P256, EllipticCurveFact("frp256v1", None))))
    assert result.status == "error"
    assert "the size of elliptic curve 'frp256v1' is unknown" in result.message


# --- 12f.endpoint-tls: protocols, suites, what could not be judged ---------------------------------


@pytest.mark.parametrize(
    "suite",
    [
        pytest.param("TLS_RSA_WITH_AES_128_GCM_SHA256", id="aead-without-forward-secrecy"),
        pytest.param("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", id="forward-secret-without-aead"),
    ],
)
def test_tls12_suite_missing_forward_secrecy_or_aead_fails(suite: str) -> None:
    fact = endpoint(tls12_suites=(CipherSuiteFact(ECDHE_GCM, True, True), CipherSuiteFact(suite, True, True)))
    result = endpoint_tls(fact)
    assert result.status == "fail"
    assert f"TLS 1.2 accepts suites without forward secrecy or AEAD: {suite}" in result.message


def test_tls13_not_offered_passes_unless_policy_requires_it() -> None:
    only_12 = endpoint(
        protocols_offered=("TLS 1.2",),
        tls13_suites=(),
        key_exchanges=(KeyExchange("TLS 1.2", ECDHE_GCM, "ECDH", "secp256r1", 256),),
    )
    assert endpoint_tls(only_12).status == "pass"
    required = endpoint_tls(only_12, require_tls13=True)
    assert required.status == "fail"
    assert "TLS 1.3 is not offered (policy.require_tls13)" in required.message
    assert endpoint_tls(endpoint(), require_tls13=True).status == "pass"


def test_min_tls_13_expects_tls12_not_offered_even_when_it_is_not() -> None:
    only_13 = endpoint(
        protocols_offered=("TLS 1.3",),
        tls12_suites=(),
        key_exchanges=(KeyExchange("TLS 1.3", TLS13_SUITE, "ECDH", "secp256r1", 256),),
    )
    result, evidence = verdict_and_evidence(
        c12f.test_endpoint_speaks_only_strong_tls, only_13, policy=Policy(min_tls="1.3")
    )
    assert result.status == "pass"
    assert evidence.expectations["protocols_not_offered"] == [*c12f.RETIRED_PROTOCOLS, "TLS 1.2"]


def test_no_protocol_recorded_as_offered_is_error() -> None:
    fact = endpoint(
        protocols_offered=(), tls12_suites=(), tls13_suites=(), key_exchanges=(), supported_curves=()
    )
    result = endpoint_tls(fact)
    assert result.status == "error"
    assert result.message == "https://www.example.test:443/: no protocol version is recorded as offered"


def test_protocol_the_scanner_does_not_try_is_error() -> None:
    result = endpoint_tls(endpoint(protocols_offered=("TLS 1.2", "TLS 1.3", "TLS 1.4")))
    assert result.status == "error"
    assert "protocol 'TLS 1.4' is not one the scanner tries" in result.message


def test_problem_with_something_not_judged_fails_and_says_what_was_not_judged() -> None:
    result = endpoint_tls(endpoint(key_bits=1024, key_exchanges=None))
    assert result.status == "fail"
    assert "RSA key of 1024 bits (< 2048)" in result.message
    assert "also not judged: the key exchanges were not observed" in result.message


def test_every_reason_not_to_judge_is_in_the_error() -> None:
    result = endpoint_tls(
        endpoint(key_type=None, key_exchanges=None, protocols_offered=("TLS 1.2", "TLS 1.3", "TLS 1.4"))
    )
    assert result.status == "error"
    for reason in (
        "the key exchanges were not observed",
        "the server's certificate key could not be read",
        "protocol 'TLS 1.4' is not one the scanner tries",
    ):
        assert reason in result.message


# --- 12f.azure-sql-min-tls, 12f.azure-storage-tls, 12f.azure-app-service-tls: unset floors ---------


def sql_server(minimal_tls_version: str | None) -> SqlServer:
    return SqlServer(
        id="/subscriptions/sub-1/resourceGroups/rg-db/providers/Microsoft.Sql/servers/sql-one",
        name="sql-one",
        subscription_id="sub-1",
        resource_group="rg-db",
        location="westeurope",
        fqdn="sql-one.database.windows.net",
        minimal_tls_version=minimal_tls_version,
        public_network_access="Disabled",
    )


@pytest.mark.parametrize(
    ("value", "shown"), [pytest.param(None, "not set", id="absent"), pytest.param("None", "None", id="None")]
)
def test_sql_server_without_a_tls_floor_fails_saying_any_version_is_accepted(
    value: str | None, shown: str
) -> None:
    result = verdict(c12f.test_sql_server_refuses_old_tls, sql_server(value), policy=Policy())
    assert result.status == "fail"
    assert f"minimalTlsVersion is {shown}: the server accepts any TLS version" in result.message


def storage_account(minimum_tls_version: str | None) -> StorageAccount:
    return StorageAccount(
        id="/subscriptions/sub-1/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stone",
        name="stone",
        subscription_id="sub-1",
        resource_group="rg-data",
        kind="StorageV2",
        sku="Standard_LRS",
        public_network_access="Disabled",
        default_action="Deny",
        bypass="AzureServices",
        ip_rules=(),
        virtual_network_rules=(),
        resource_access_rules=(),
        https_only=True,
        minimum_tls_version=minimum_tls_version,
        blob_encryption_enabled=True,
        file_encryption_enabled=True,
        key_source="Microsoft.Storage",
        require_infrastructure_encryption=False,
        primary_location="westeurope",
        secondary_location=None,
        status_of_secondary=None,
    )


def test_storage_account_without_a_tls_floor_fails_with_azures_default() -> None:
    control = c12f.test_storage_account_accepts_only_modern_tls
    result = verdict(control, storage_account(None), policy=Policy())
    assert result.status == "fail"
    assert "minimumTlsVersion is not set: Azure's default TLS1_0 applies" in result.message
    assert verdict(control, storage_account("TLS1_2"), policy=Policy()).status == "pass"


def web_app(**changed: Any) -> WebApp:
    app = WebApp(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Web/sites/app-web",
        name="app-web",
        subscription_id="sub-1",
        resource_group="rg-web",
        location="westeurope",
        kind="app",
        state="Running",
        https_only=True,
        min_tls_version="1.2",
        scm_min_tls_version="1.2",
        ftps_state="FtpsOnly",
        host_names=("app-web.azurewebsites.net",),
    )
    return dataclasses.replace(app, **changed)


def web_app_verdict(app: WebApp) -> Verdict:
    return verdict(c12f.test_web_app_accepts_only_modern_tls, app, policy=Policy())


@pytest.mark.parametrize("setting", ["min_tls_version", "scm_min_tls_version"])
def test_web_app_without_a_tls_floor_fails_saying_none_is_evidenced(setting: str) -> None:
    result = web_app_verdict(web_app(**{setting: None}))
    assert result.status == "fail"
    name = {"min_tls_version": "minTlsVersion", "scm_min_tls_version": "scmMinTlsVersion"}[setting]
    assert f"{name} is not set: no TLS floor is evidenced" in result.message


@pytest.mark.parametrize(
    ("ftps_state", "status"),
    [
        pytest.param("FtpsOnly", "pass", id="ftps-only"),
        pytest.param("disabled", "pass", id="disabled-any-case"),
        pytest.param("AllAllowed", "fail", id="all-allowed"),
        pytest.param(None, "fail", id="absent-is-all-allowed"),
        pytest.param("", "fail", id="empty"),
        pytest.param("Ftps", "fail", id="unknown-value"),
    ],
)
def test_web_app_ftps_state_allows_no_plain_ftp(ftps_state: str | None, status: str) -> None:
    result = web_app_verdict(web_app(ftps_state=ftps_state))
    assert result.status == status
    if ftps_state is None:
        assert "ftpsState is not set (AllAllowed): plain FTP is accepted" in result.message


def test_deployment_slot_is_named_in_the_evidence_and_an_app_is_not_called_a_slot() -> None:
    control = c12f.test_web_app_accepts_only_modern_tls
    slot = web_app(
        id=web_app().id + "/slots/staging", name="app-web/staging", slot="staging", app_name="app-web"
    )
    _, slot_evidence = verdict_and_evidence(control, slot, policy=Policy())
    assert slot_evidence.observations["deployment_slot"] == "staging"
    assert slot_evidence.observations["of_web_app"] == "app-web"
    _, app_evidence = verdict_and_evidence(control, web_app(), policy=Policy())
    assert "deployment_slot" not in app_evidence.observations


# --- 12f.sqlserver-encrypted-connections -----------------------------------------------------------


def test_force_encryption_off_with_a_single_encrypted_connection_and_no_plain_one_passes() -> None:
    server = DatabaseServer(
        name="sql-on-prem",
        engine="sqlserver",
        host="sql.example.test",
        port=1433,
        force_encryption=False,
        connections=(ConnectionEncryption(True, 1),),
    )
    assert verdict(c12f.test_sqlserver_encrypts_every_connection, server).status == "pass"
    none = dataclasses.replace(server, connections=(ConnectionEncryption(True, 0),))
    assert verdict(c12f.test_sqlserver_encrypts_every_connection, none).status == "fail"


# --- 12f.host-schannel ------------------------------------------------------------------------------

HARDENED: dict[str, tuple[int | None, int | None]] = {
    "SSL 2.0": (0, 1),
    "SSL 3.0": (0, 1),
    "TLS 1.0": (0, 1),
    "TLS 1.1": (0, 1),
    "TLS 1.2": (1, 0),
}


def windows_host(build: int, keys: dict[str, tuple[int | None, int | None]]) -> HostFacts:
    """A Windows host of `build` reporting exactly the SCHANNEL keys `keys` (protocol: (Enabled, DisabledByDefault))."""
    return HostFacts(
        name="win-one",
        address="192.0.2.10",
        roles=("web",),
        os=OperatingSystem("windows", "Windows Server", f"10.0.{build}", build, 1),
        schannel=tuple(SchannelProtocol(p, *values) for p, values in keys.items()),
    )


def schannel(host: HostFacts) -> Verdict:
    return verdict(c12f.test_windows_host_refuses_old_tls, host)


@pytest.mark.parametrize(
    ("protocol", "build", "state"),
    [
        pytest.param("SSL 2.0", 9200, "enabled", id="ssl2-server-2012"),
        pytest.param("SSL 2.0", 9600, "disabled", id="ssl2-server-2012r2"),
        pytest.param("SSL 2.0", 14392, "disabled", id="ssl2-one-build-before-2016"),
        pytest.param("SSL 2.0", 14393, "not supported", id="ssl2-server-2016"),
        pytest.param("SSL 3.0", 14392, "enabled", id="ssl3-one-build-before-2016"),
        pytest.param("SSL 3.0", 14393, "disabled", id="ssl3-server-2016"),
        pytest.param("TLS 1.2", 7601, "disabled", id="tls12-server-2008r2"),
        pytest.param("TLS 1.2", 9199, "disabled", id="tls12-one-build-before-2012"),
        pytest.param("TLS 1.2", 9200, "enabled", id="tls12-server-2012"),
        pytest.param("TLS 1.3", 20347, "not supported", id="tls13-one-build-before-2022"),
        pytest.param("TLS 1.3", 20348, "enabled", id="tls13-server-2022"),
        pytest.param("TLS 1.1", 7601, "enabled", id="tls11-server-2008r2"),
    ],
)
def test_schannel_default_at_each_builds_edge(protocol: str, build: int, state: str) -> None:
    assert c12f.schannel_default(protocol, build) == state


def test_schannel_enabled_zero_is_disabled_whatever_disabled_by_default_says() -> None:
    for disabled_by_default in (None, 0, 1):
        key = SchannelProtocol("TLS 1.0", 0, disabled_by_default)
        state, why = c12f.schannel_state(key, 20348)
        assert (state, english(why)) == ("disabled", "Enabled=0")


def test_ssl2_enabled_in_the_registry_of_server_2016_is_not_supported_and_passes() -> None:
    key = SchannelProtocol("SSL 2.0", 1, 0)
    state, why = c12f.schannel_state(key, 14393)
    assert (state, english(why)) == ("not supported", "not implemented on build 14393")
    host = windows_host(14393, HARDENED | {"SSL 2.0": (1, 0)})
    assert schannel(host).status == "pass"


def test_ssl2_without_registry_values_on_server_2012_fails() -> None:
    result = schannel(windows_host(9200, HARDENED | {"SSL 2.0": (None, None)}))
    assert result.status == "fail"
    assert "SSL 2.0 is enabled (no registry values: Windows build 9200 default)" in result.message


def test_tls12_without_registry_values_on_server_2008_r2_fails() -> None:
    result = schannel(windows_host(7601, HARDENED | {"TLS 1.2": (None, None)}))
    assert result.status == "fail"
    assert "TLS 1.2 is disabled (no registry values: Windows build 7601 default)" in result.message


def test_every_unreported_or_enabled_retired_protocol_is_named() -> None:
    keys = {p: v for p, v in HARDENED.items() if p != "SSL 2.0"} | {"TLS 1.0": (1, 0)}
    result = schannel(windows_host(20348, keys))
    assert result.status == "fail"
    assert "SSL 2.0 was not reported" in result.message
    assert "TLS 1.0 is enabled (Enabled=1, DisabledByDefault=0)" in result.message


# --- 6f.endpoint-certificate ------------------------------------------------------------------------


def certificate_verdict(cert: CertificateFact) -> Verdict:
    return verdict(
        c6f.test_endpoint_certificate_is_valid, endpoint(certificate=cert), policy=Policy(), run_date=RUN_DATE
    )


def test_the_valid_certificate_of_these_tests_passes() -> None:
    assert certificate_verdict(certificate()).status == "pass"


def test_recorded_hostname_match_is_not_trusted_when_the_names_do_not_match() -> None:
    result = certificate_verdict(certificate(names=("other.example.test",), hostname_matches=True))
    assert result.status == "fail"
    assert "www.example.test is not among the certificate's names" in result.message


def test_recorded_hostname_mismatch_fails_even_when_the_names_match() -> None:
    assert certificate_verdict(certificate(hostname_matches=False)).status == "fail"


def test_chain_flagged_valid_with_a_validation_error_fails() -> None:
    result = certificate_verdict(certificate(chain_valid=True, validation_error="unable to get local issuer"))
    assert result.status == "fail"
    assert "the chain does not validate to system: unable to get local issuer" in result.message


def test_chain_flagged_invalid_without_a_reason_fails() -> None:
    result = certificate_verdict(certificate(chain_valid=False))
    assert result.status == "fail"
    assert "no reason recorded" in result.message


def test_certificate_expiring_during_the_run_date_is_expiring_not_expired() -> None:
    result = certificate_verdict(certificate(not_after=RUN_START + timedelta(hours=12)))
    assert result.status == "fail"
    assert "expires in 0.5 days" in result.message
    assert "expired" not in result.message


def test_certificate_expired_before_the_run_date_is_expired() -> None:
    result = certificate_verdict(certificate(not_after=RUN_START - timedelta(seconds=1)))
    assert result.status == "fail"
    assert "expired on" in result.message


def test_endpoint_without_a_readable_certificate_is_error() -> None:
    result = verdict(
        c6f.test_endpoint_certificate_is_valid, endpoint(certificate=None), policy=Policy(), run_date=RUN_DATE
    )
    assert result.status == "error"


# --- 6f.https-enforced ------------------------------------------------------------------------------


def https_verdict(fact: TlsEndpoint) -> Verdict:
    return verdict(c6f.test_endpoint_enforces_https, fact, policy=Policy())


def test_the_https_endpoint_of_these_tests_passes() -> None:
    assert https_verdict(endpoint()).status == "pass"


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(TlsTarget("mail.example.test", 465, scheme="tls"), id="tls-without-starttls"),
        pytest.param(TlsTarget("mail.example.test", 25, scheme="tls", starttls="smtp"), id="starttls"),
        pytest.param(TlsTarget("mail.example.test", 443, starttls="smtp"), id="https-with-starttls"),
    ],
)
def test_non_web_endpoint_is_not_applicable(target: TlsTarget) -> None:
    assert https_verdict(endpoint(target=target)).status == "not_applicable"


def test_plain_http_that_neither_answered_nor_refused_is_error() -> None:
    fact = endpoint(http_redirects_to_https=None, http_refused=False, http_observation="timed out")
    result = https_verdict(fact)
    assert result.status == "error"
    assert "plain HTTP could not be checked: timed out" in result.message


def test_plain_http_port_that_refuses_connections_passes() -> None:
    fact = endpoint(http_redirects_to_https=None, http_refused=True, http_observation="refused")
    assert https_verdict(fact).status == "pass"


@pytest.mark.parametrize(
    "observation",
    [
        "HTTP headers could not be read (connection reset)",
        "HTTPS request failed: certificate verify failed",
    ],
)
def test_hsts_not_seen_because_the_https_request_failed_is_error(observation: str) -> None:
    result = https_verdict(endpoint(hsts_max_age=None, hsts_observation=observation))
    assert result.status == "error"
    assert observation in result.message


def test_hsts_header_absent_fails() -> None:
    fact = endpoint(hsts_max_age=None, hsts_observation="no Strict-Transport-Security header")
    result = https_verdict(fact)
    assert result.status == "fail"
    assert "no HSTS: no Strict-Transport-Security header" in result.message


# --- exact messages: every reason is named, each once, in the order the control reports them --------

ID = "https://www.example.test:443/"


def test_endpoint_tls_message_lists_every_problem_then_what_was_not_judged() -> None:
    rsa_cbc = "TLS_RSA_WITH_AES_128_CBC_SHA"
    ecdhe_cbc = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"
    fact = endpoint(
        protocols_offered=("TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.4"),
        tls12_suites=(CipherSuiteFact(rsa_cbc, False, False), CipherSuiteFact(ecdhe_cbc, True, False)),
        tls13_suites=(),
        key_bits=1024,
        key_exchanges=(
            KeyExchange("TLS 1.2", ecdhe_cbc, "ECDH", "secp224r1", 224),
            KeyExchange("TLS 1.2", DHE_GCM, "DH", "DH 1024", 1024),
        ),
        supported_curves=(P256, EllipticCurveFact("frp256v1", None)),
    )
    result = endpoint_tls(fact, require_tls13=True)
    assert result.status == "fail"
    assert result.message == (
        f"{ID}: offers TLS 1.0, TLS 1.1; "
        f"TLS 1.2 accepts suites without forward secrecy or AEAD: {rsa_cbc}, {ecdhe_cbc}; "
        f"weak key exchange: ECDH secp224r1 of 224 bits (< 256) on {ecdhe_cbc}; DH 1024 (< 2048 bits) on {DHE_GCM}; "
        "TLS 1.3 is not offered (policy.require_tls13); RSA key of 1024 bits (< 2048); "
        "also not judged: the size of elliptic curve 'frp256v1' is unknown; "
        "protocol 'TLS 1.4' is not one the scanner tries"
    )


def test_endpoint_tls_error_message_lists_every_reason_not_to_judge() -> None:
    fact = endpoint(key_type=None, key_exchanges=None, tls13_suites=())
    result = endpoint_tls(fact)
    assert result.status == "error"
    assert result.message == (
        f"{ID}: the key exchanges were not observed (the scan result predates them: re-record); "
        "the server's certificate key could not be read; TLS 1.3 offered and its accepted suites disagree"
    )


def test_suites_accepted_for_a_protocol_not_recorded_as_offered_is_error() -> None:
    result = endpoint_tls(endpoint(protocols_offered=("TLS 1.3",)))
    assert result.status == "error"
    assert result.message == f"{ID}: TLS 1.2 offered and its accepted suites disagree"


def test_web_app_message_joins_every_problem() -> None:
    app = web_app(https_only=None, min_tls_version="1.0", ftps_state=None)
    assert web_app_verdict(app).message == (
        "web app app-web: httpsOnly is not set: plain HTTP is served; minTlsVersion 1.0 is below 1.2; "
        "ftpsState is not set (AllAllowed): plain FTP is accepted"
    )


def test_storage_account_message_joins_every_problem() -> None:
    account = dataclasses.replace(storage_account("TLS1_1"), https_only=False)
    result = verdict(c12f.test_storage_account_accepts_only_modern_tls, account, policy=Policy())
    assert result.message == (
        "storage account stone: supportsHttpsTrafficOnly is false: plain HTTP is accepted; "
        "minimumTlsVersion TLS1_1 is below 1.2"
    )


def test_schannel_message_joins_every_problem_and_says_how_to_switch_off() -> None:
    keys = {p: v for p, v in HARDENED.items() if p != "TLS 1.2"} | {"TLS 1.1": (1, 1)}
    result = schannel(windows_host(20348, keys))
    assert result.status == "fail"
    assert result.message == (
        "host win-one: SCHANNEL server side: TLS 1.1 is only disabled by default (DisabledByDefault=1, "
        "Enabled 1): applications that ask for it still get it; set Enabled=0; TLS 1.2 was not reported"
    )


def test_schannel_on_an_unknown_build_is_error_naming_why_the_os_is_unknown() -> None:
    host = dataclasses.replace(
        windows_host(20348, HARDENED),
        os=OperatingSystem("windows", "unknown", "unknown"),
        section_errors={"os": "Win32_OperatingSystem could not be read"},
    )
    result = schannel(host)
    assert result.status == "error"
    assert result.message.endswith("keys cannot be told (Win32_OperatingSystem could not be read)")


def sqlserver(force: bool | None, *connections: ConnectionEncryption) -> DatabaseServer:
    return DatabaseServer(
        name="sql01",
        engine="sqlserver",
        host="sql01.example.test",
        port=1433,
        force_encryption=force,
        connections=connections,
    )


@pytest.mark.parametrize(
    ("force", "shown"),
    [(True, "on"), (False, "off"), (None, "unknown (sys.dm_server_registry not readable)")],
)
def test_sqlserver_force_encryption_is_shown_as_read(force: bool | None, shown: str) -> None:
    server = sqlserver(force, ConnectionEncryption(True, 3))
    _, evidence = verdict_and_evidence(c12f.test_sqlserver_encrypts_every_connection, server)
    assert english(evidence.observations["force_encryption"]) == shown


def test_sqlserver_messages_name_the_permission_and_the_missing_connection() -> None:
    control = c12f.test_sqlserver_encrypts_every_connection
    unknown = verdict(control, sqlserver(None))
    assert unknown.message == (
        "SQL Server sql01: ForceEncryption could not be read (sys.dm_server_registry needs VIEW SERVER STATE) "
        "and no current network connection was seen (sys.dm_exec_connections)"
    )
    off = verdict(control, sqlserver(False))
    assert off.message == (
        "SQL Server sql01: ForceEncryption is off, so clients may connect without encryption, "
        "and no current connection shows otherwise"
    )


def test_certificate_message_joins_every_problem() -> None:
    cert = certificate(chain_valid=False, names=("other.example.test",), hostname_matches=False)
    assert certificate_verdict(cert).message == (
        f"{ID}: the chain does not validate to system: no reason recorded; "
        "www.example.test is not among the certificate's names ['other.example.test']"
    )


def test_endpoint_without_a_readable_certificate_says_so() -> None:
    result = verdict(
        c6f.test_endpoint_certificate_is_valid, endpoint(certificate=None), policy=Policy(), run_date=RUN_DATE
    )
    assert result.message == f"{ID}: the server sent no certificate the scanner could read"


def test_plain_http_without_redirect_and_without_hsts_fails_naming_both() -> None:
    fact = endpoint(
        http_redirects_to_https=False,
        http_observation="200 (no redirect)",
        hsts_max_age=None,
        hsts_observation="no Strict-Transport-Security header",
    )
    result = https_verdict(fact)
    assert result.status == "fail"
    assert result.message == (
        f"{ID}: plain HTTP on port 80 does not redirect to HTTPS (200 (no redirect)); "
        "no HSTS: no Strict-Transport-Security header"
    )


def test_https_endpoint_whose_redirect_was_not_checked_is_error() -> None:
    fact = endpoint(target=TlsTarget("www.example.test", 443, http_port=None))
    result = https_verdict(fact)
    assert result.status == "error"
    assert result.message == f"{ID}: the plain-HTTP redirect was not checked"


def test_non_web_endpoint_says_why_it_is_not_applicable() -> None:
    result = https_verdict(endpoint(target=TlsTarget("mail.example.test", 465, scheme="tls")))
    assert result.message == "tls://mail.example.test:465 is not a web (https://) endpoint"


def test_hsts_unreadable_said_as_a_message_is_error_and_reads_in_dutch() -> None:
    observation = msg("HTTP headers could not be read ({detail})", detail="ConnectionResetError")
    result = https_verdict(endpoint(hsts_max_age=None, hsts_observation=observation))
    assert result.status == "error"
    assert "HTTP headers could not be read (ConnectionResetError)" in result.message
    assert "ConnectionResetError" in translator("nl").render(observation)


def test_a_tls_observation_message_survives_a_recording() -> None:
    fact = endpoint(
        hsts_max_age=None,
        hsts_observation=msg("no Strict-Transport-Security header"),
        http_observation=msg("port {port} refused the connection (no plain HTTP served)", port=80),
    )
    subject = observed(fact.target.id, fact, ())
    back = subject_from_json(TlsEndpoint, subject_to_json(subject))
    assert back.fact == fact
    assert isinstance(back.fact.http_observation, Message)
    assert back.fact.http_observation.params == {"port": 80}


def test_a_recording_of_certificate_reasons_keeps_the_messages_and_their_parameters() -> None:
    cert = certificate(
        chain_valid=False,
        validation_error=msg("the leaf certificate has no subjectAltName"),
        profile_deviations=(msg("CA {ca} has no keyUsage extension", ca="CN=Example CA"),),
    )
    fact = endpoint(
        certificate=cert,
        supported_curves=None,
        key_exchange_observation=msg(
            "the supported elliptic curves could not be tested ({reason}: {detail})",
            reason="timeout",
            detail="TimeoutError: timed out",
        ),
    )
    back = subject_from_json(TlsEndpoint, subject_to_json(observed(fact.target.id, fact, ())))
    assert back.fact == fact
    assert back.fact.certificate is not None
    assert back.fact.certificate.profile_deviations[0].params == {"ca": "CN=Example CA"}
    assert isinstance(back.fact.key_exchange_observation, Message)
    assert back.fact.key_exchange_observation.params["detail"] == "TimeoutError: timed out"
    result = certificate_verdict(back.fact.certificate)
    assert result.message.endswith(
        "the chain does not validate to system: the leaf certificate has no subjectAltName"
    )


def test_an_old_recording_with_observations_as_text_reads_back_and_says_the_same_in_english() -> None:
    said_as_messages = endpoint(
        hsts_max_age=None,
        hsts_observation=msg("no Strict-Transport-Security header"),
        http_redirects_to_https=False,
        http_observation=msg("{status} (no redirect)", status="200"),
    )
    recorded = subject_to_json(observed(said_as_messages.target.id, said_as_messages, ()))
    recorded["fact"]["hsts_observation"] = "no Strict-Transport-Security header"
    recorded["fact"]["http_observation"] = "200 (no redirect)"
    old = subject_from_json(TlsEndpoint, recorded).fact
    assert isinstance(old, TlsEndpoint)
    assert (old.hsts_observation, old.http_observation) == (
        "no Strict-Transport-Security header",
        "200 (no redirect)",
    )
    assert https_verdict(old) == https_verdict(said_as_messages)
    assert https_verdict(old).message == (
        f"{ID}: plain HTTP on port 80 does not redirect to HTTPS (200 (no redirect)); "
        "no HSTS: no Strict-Transport-Security header"
    )


def test_a_key_exchange_whose_key_was_not_readable_is_observed_in_words_among_the_groups() -> None:
    fact = endpoint(
        key_exchanges=(
            KeyExchange("TLS 1.3", TLS13_SUITE, "unknown", "", None),
            KeyExchange("TLS 1.2", ECDHE_GCM, "ECDH", "secp256r1", 256),
            KeyExchange("TLS 1.2", DHE_GCM, "ECDH", "secp256r1", 256),
        )
    )
    _, evidence = verdict_and_evidence(c12f.test_endpoint_speaks_only_strong_tls, fact, policy=Policy())
    seen = evidence.observations["key_exchanges"]
    assert seen[0] == "TLS 1.2 ECDH secp256r1 (256 bits)", "a known group is data, each once"
    assert isinstance(seen[1], Message)
    assert seen[1].params["protocol"] == "TLS 1.3"
    assert [english(as_message(item)) for item in seen] == [
        "TLS 1.2 ECDH secp256r1 (256 bits)",
        "TLS 1.3 unknown (the ephemeral key could not be read)",
    ]


def test_a_pass_line_shows_a_profile_deviation_in_words() -> None:
    deviation = msg("the leaf has no Authority Key Identifier extension")
    result = certificate_verdict(certificate(profile_deviations=(deviation,)))
    assert result.status == "pass"
    assert "profile_deviations = [the leaf has no Authority Key Identifier extension]" in result.message
