"""Bad configuration gets a clear answer: a ConfigError naming the file and the key, never a traceback."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from controls.catalog import CONTROLS
from controls.harness.config_file import ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parents[1]
KNOWN_CONTROLS = frozenset(CONTROLS)

VALID_WAIVER = """
[[waivers]]
control = "12f.azure-sql-min-tls"
resource = "/subscriptions/*/resourceGroups/rg-legacy/*"
justification = "archive clients only speak TLS 1.0"
approved_by = "DPO"
expires = 2027-01-31
"""

FULL_CONFIG = (
    """
[policy]
trusted_networks = ["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"]
min_tls = "1.2"
attestation_max_age_days = 92
certificate_min_days_left = 30

[azure]
subscriptions = ["11111111-2222-3333-4444-555555555555"]
endpoint = "https://management.azure.com/"
credential = "default"

[[attestations]]
control = "12a.datacenter-certification"
subject = "Databarn Rivium"
standard = "ISO/IEC 27001:2022"
issuer = "Example Certification B.V."
certificate_scope = "colocation datacenter Rivium"
valid_until = 2027-09-30
attested_by = "DPO"
attested_on = 2026-11-02
evidence_file = "evidence/rivium.pdf"
evidence_sha256 = "5a3ae27e93add6da79fe3dbcd44d4d12592357e808e88cc19c9b9c981b0a68c4"

[[attestations]]
control = "12g.mobile-media-encryption"
subject = "Laptops and removable media"
statement = "All managed devices report BitLocker protection On."
attested_by = "IT operations"
attested_on = 2026-11-03

[[subprocessors]]
name = "Postmark"
services = ["A. webhosting e-mail"]
country = "us"
transfer_basis = "eu-us-dpf"
reviewed_on = 2026-11-01

[[subprocessors]]
name = "Lucrasoft ICT Group"
country = "NL"
"""
    + VALID_WAIVER
)


def write(folder: Path, text: str, name: str = "audit.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(
    config: Path, *, names: Path | None = None, known_controls: frozenset[str] | None = None
) -> str:
    """Return the message of the ConfigError that loading `config` raises, checking it names the file."""
    with pytest.raises(ConfigError) as caught:
        load_config(config, known_controls=known_controls)
    message = str(caught.value)
    assert str(names or config) in message
    return message


def test_malformed_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[policy\nmin_tls = "1.2"\n'))
    assert "not valid TOML" in message
    assert "line 1" in message


def test_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_bytes(b'[policy]\nmin_tls = "\xff"\n')
    assert "not valid TOML" in config_error(path)


def test_unknown_top_level_key_is_refused_by_name(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[polciy]\nmin_tls = "1.2"\n'))
    assert "unknown key 'polciy'" in message


def test_unknown_nested_key_is_refused_by_name(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[policy]\ntrusted_network = ["192.0.2.0/24"]\n'))
    assert "unknown key 'policy.trusted_network'" in message


def test_unknown_key_in_azure_section_is_refused_by_name(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[azure]\nsubscription = ["x"]\n'))
    assert "unknown key 'azure.subscription'" in message


@pytest.mark.parametrize(
    "bad_cidr", ["10.0.0.300/8", "10.0.0.1/8", "192.0.2.0/33", "2001:db8::1/32", "localhost"]
)
def test_invalid_trusted_network_cidr_is_refused_naming_its_index(tmp_path: Path, bad_cidr: str) -> None:
    message = config_error(write(tmp_path, f'[policy]\ntrusted_networks = ["192.0.2.0/24", "{bad_cidr}"]\n'))
    assert "policy.trusted_networks[1]" in message
    assert bad_cidr in message
    assert "policy.trusted_networks[0]" not in message


@pytest.mark.parametrize("min_tls", ["1.4", "TLS1_2", "1.20"])
def test_unknown_min_tls_is_refused(tmp_path: Path, min_tls: str) -> None:
    message = config_error(write(tmp_path, f'[policy]\nmin_tls = "{min_tls}"\n'))
    assert "policy.min_tls" in message
    assert min_tls in message


def test_plain_http_azure_endpoint_is_refused(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[azure]\nendpoint = "http://127.0.0.1:8443"\n'))
    assert "azure.endpoint" in message
    assert "https://" in message


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://management.azure.com",
        "https://management.azure.com/",
        "https://MANAGEMENT.azure.com",
        "https://management.azure.com:443",
    ],
)
def test_static_token_is_refused_with_the_public_endpoint(tmp_path: Path, endpoint: str) -> None:
    path = write(tmp_path, f'[azure]\nendpoint = "{endpoint}"\ncredential = "static-token"\n')
    message = config_error(path)
    assert "azure" in message
    assert "credential = 'static-token'" in message


def test_static_token_is_refused_with_the_default_endpoint(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[azure]\ncredential = "static-token"\n'))
    assert "credential = 'static-token'" in message


def test_static_token_is_accepted_with_a_local_emulator_endpoint(tmp_path: Path) -> None:
    path = write(tmp_path, '[azure]\nendpoint = "https://127.0.0.1:8443/"\ncredential = "static-token"\n')
    config = load_config(path)
    assert config.azure is not None
    assert config.azure.credential == "static-token"
    assert config.azure.endpoint == "https://127.0.0.1:8443"
    assert not config.azure.is_public_cloud()


def test_missing_ca_bundle_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[azure]\nendpoint = "https://127.0.0.1:8443"\nca_bundle = "no-such-ca.pem"\n')
    message = config_error(path)
    assert "azure.ca_bundle" in message
    assert "no-such-ca.pem" in message


def test_waiver_without_expiry_is_refused(tmp_path: Path) -> None:
    text = VALID_WAIVER.replace("expires = 2027-01-31\n", "")
    message = config_error(write(tmp_path, text))
    assert "waivers[0].expires" in message


def test_waiver_with_unknown_control_id_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_WAIVER.replace("12f.azure-sql-min-tls", "12f.azure-sql-min-tsl"))
    message = config_error(path, known_controls=KNOWN_CONTROLS)
    assert "waivers[0].control" in message
    assert "12f.azure-sql-min-tsl" in message


def test_waiver_with_unknown_control_id_is_accepted_without_known_controls(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_WAIVER.replace("12f.azure-sql-min-tls", "12f.azure-sql-min-tsl"))
    assert load_config(path).waivers[0].control == "12f.azure-sql-min-tsl"


def test_waivers_toml_beside_the_config_is_merged(tmp_path: Path) -> None:
    config = write(tmp_path, VALID_WAIVER)
    write(tmp_path, VALID_WAIVER.replace("rg-legacy", "rg-archive"), name="waivers.toml")
    waivers = load_config(config, known_controls=KNOWN_CONTROLS).waivers
    assert [w.resource for w in waivers] == [
        "/subscriptions/*/resourceGroups/rg-legacy/*",
        "/subscriptions/*/resourceGroups/rg-archive/*",
    ]


def test_waivers_toml_errors_name_waivers_toml(tmp_path: Path) -> None:
    config = write(tmp_path, VALID_WAIVER)
    waivers_file = write(tmp_path, VALID_WAIVER.replace("expires = 2027-01-31\n", ""), name="waivers.toml")
    message = config_error(config, names=waivers_file)
    assert "waivers[0].expires" in message


def test_malformed_waivers_toml_is_refused_naming_waivers_toml(tmp_path: Path) -> None:
    config = write(tmp_path, VALID_WAIVER)
    waivers_file = write(tmp_path, "[[waivers]\ncontrol = 1\n", name="waivers.toml")
    assert "not valid TOML" in config_error(config, names=waivers_file)


def test_unknown_key_in_waivers_toml_is_refused_naming_waivers_toml(tmp_path: Path) -> None:
    config = write(tmp_path, "")
    waivers_file = write(tmp_path, VALID_WAIVER.replace("[[waivers]]", "[[waiver]]"), name="waivers.toml")
    assert "unknown key 'waiver'" in config_error(config, names=waivers_file)


def test_unknown_control_id_in_waivers_toml_names_waivers_toml(tmp_path: Path) -> None:
    config = write(tmp_path, VALID_WAIVER)
    waivers_file = write(
        tmp_path, VALID_WAIVER.replace("12f.azure-sql-min-tls", "12b.azure-sql-firwall"), name="waivers.toml"
    )
    message = config_error(config, names=waivers_file, known_controls=KNOWN_CONTROLS)
    # The typo is the first waiver of waivers.toml: its own index, not one in the merged list.
    assert "waivers[0].control" in message
    assert "12b.azure-sql-firwall" in message


def test_missing_config_file_names_the_path_and_the_demo(tmp_path: Path) -> None:
    message = config_error(tmp_path / "audit.toml")
    assert "no such configuration file" in message
    assert "--demo" in message


def test_datacenter_attestation_without_valid_until_is_refused(tmp_path: Path) -> None:
    text = FULL_CONFIG.replace("valid_until = 2027-09-30\n", "")
    message = config_error(write(tmp_path, text))
    assert "attestations[0]" in message
    assert "valid_until" in message


def test_attestation_for_an_unattestable_control_is_refused(tmp_path: Path) -> None:
    text = FULL_CONFIG.replace('control = "12g.mobile-media-encryption"', 'control = "12e.azure-sql-tde"')
    assert "attestations[1].control" in config_error(write(tmp_path, text))


@pytest.mark.parametrize("country", ["Netherlands", "NLD", "N1", ""])
def test_subprocessor_country_that_is_not_an_iso_code_is_refused(tmp_path: Path, country: str) -> None:
    text = FULL_CONFIG.replace('country = "NL"', f'country = "{country}"')
    message = config_error(write(tmp_path, text))
    assert "subprocessors[1].country" in message
    assert "ISO 3166-1" in message


def test_unknown_transfer_basis_is_refused(tmp_path: Path) -> None:
    text = FULL_CONFIG.replace('transfer_basis = "eu-us-dpf"', 'transfer_basis = "dpf"')
    assert "subprocessors[0].transfer_basis" in config_error(write(tmp_path, text))


def test_valid_full_config_loads_with_typed_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL_CONFIG), known_controls=KNOWN_CONTROLS)

    assert config.policy.networks() == [
        ipaddress.ip_network("192.0.2.0/24"),
        ipaddress.ip_network("198.51.100.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    ]
    assert config.policy.min_tls == "1.2"
    assert "westeurope" in config.policy.allowed_regions
    assert "norwayeast" in config.policy.allowed_regions
    assert "uksouth" not in config.policy.allowed_regions
    assert "switzerlandnorth" not in config.policy.allowed_regions

    assert config.azure is not None
    assert config.azure.endpoint == "https://management.azure.com"
    assert config.azure.is_public_cloud()
    assert config.azure.subscriptions == ["11111111-2222-3333-4444-555555555555"]

    certificate, media = config.attestations
    assert type(certificate.valid_until) is date
    assert certificate.valid_until == date(2027, 9, 30)
    assert type(certificate.attested_on) is date
    assert certificate.evidence_file == Path("evidence/rivium.pdf")
    assert config.resolve(certificate.evidence_file) == tmp_path.resolve() / "evidence" / "rivium.pdf"
    assert media.control == "12g.mobile-media-encryption"
    assert media.valid_until is None

    assert config.subprocessors is not None
    postmark, lucrasoft = config.subprocessors
    assert postmark.country == "US"
    assert not postmark.inside_eea()
    assert lucrasoft.inside_eea()
    assert type(postmark.reviewed_on) is date

    (waiver,) = config.waivers
    assert type(waiver.expires) is date
    assert waiver.expires == date(2027, 1, 31)
    assert config.path == tmp_path.resolve() / "audit.toml"


def test_config_sha256_covers_the_waivers_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL_CONFIG)
    alone = load_config(path).sha256
    assert re.fullmatch(r"[0-9a-f]{64}", alone)

    write(tmp_path, VALID_WAIVER.replace("rg-legacy", "rg-archive"), name="waivers.toml")
    with_waivers = load_config(path).sha256
    write(
        tmp_path,
        VALID_WAIVER.replace("rg-legacy", "rg-archive").replace("2027-01-31", "2027-12-31"),
        name="waivers.toml",
    )
    with_changed_waivers = load_config(path).sha256

    assert len({alone, with_waivers, with_changed_waivers}) == 3
    assert load_config(path).sha256 == with_changed_waivers


def test_empty_config_loads_with_default_policy(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.policy.min_tls == "1.2"
    assert config.policy.attestation_max_age_days == 92
    assert config.policy.certificate_min_days_left == 30
    assert config.azure is None
    assert config.subprocessors is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[policy]\ntrusted_network = ["192.0.2.0/24"]\n', "policy.trusted_network"),
        ('[policy]\ntrusted_networks = ["10.0.0.1/8"]\n', "policy.trusted_networks[0]"),
        (VALID_WAIVER.replace("12f.azure-sql-min-tls", "12f.azure-sql-min-tsl"), "waivers[0].control"),
    ],
)
def test_audit_run_with_bad_config_exits_4_without_traceback(tmp_path: Path, text: str, key: str) -> None:
    bad = write(tmp_path, text)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "controls/", "--audit-config", str(bad), "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert str(bad) in output
    assert key in output
    assert "Traceback" not in output


def test_the_documented_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "audit.example.toml"
    config = load_config(example, known_controls=KNOWN_CONTROLS)
    assert config.azure is not None
    assert config.hosts
    assert config.endpoints
    assert config.probes


SCAN_SERVERS = """
[[databases]]
name = "sql1"
engine = "sqlserver"
host = "sql1.example"
user = "audit_reader"
password_env = "PW"

[[databases]]
name = "raven1"
engine = "ravendb"
host = "raven1.example"
client_cert = "auditor.pem"
"""


@pytest.mark.parametrize(
    ("application", "key", "words"),
    [
        ('server = "sql1"\nlogin = "a"\ncard_scan_tables = ["Tickets"]', "card_scan_tables", "schema.table"),
        ('server = "sql1"\nlogin = "a"\ncard_scan = ["dbo.Tickets"]', "card_scan", "schema.table.column"),
        (
            'server = "raven1"\ncertificate = "AB"\ncard_scan_tables = ["dbo.Tickets"]',
            "card_scan_tables",
            "collection",
        ),
        (
            'server = "raven1"\ncertificate = "AB"\nnewsletter = { table = "dbo.Subs", opt_in_column = "OptIn" }',
            "newsletter.table",
            "collection",
        ),
    ],
)
def test_a_scan_name_that_does_not_fit_its_servers_engine_is_refused_at_load(
    tmp_path: Path, application: str, key: str, words: str
) -> None:
    (tmp_path / "auditor.pem").write_text("not read at load\n", encoding="utf-8")
    text = SCAN_SERVERS + f'\n[[applications]]\nname = "shop"\ndatabase = "shop"\n{application}\n'
    message = config_error(write(tmp_path, text))
    assert f"applications[0].{key}" in message
    assert words in message
