"""Values are what they claim to be: strict types, finite numbers, real ports and hosts, known regions.

Issue 12 cases 2.3 (`inf` accepted, OverflowError later), 2.4 (`https://127.0.0.1:99999/` accepted,
crash later) and 4.3 (`attestation_max_age_days = "92"` and `allowed_regions = ["westeurop"]`
accepted): each is refused before anything is collected, naming file and key.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from collectors.regions import EU_EEA_REGIONS, KNOWN_AZURE_REGIONS, NOT_EU_EEA_EUROPEAN_REGIONS
from controls.harness.config_file import ConfigError, load_config
from tests.audit_runs import run_audit

DATABASE = '[[databases]]\nname = "pg"\nengine = "postgresql"\nhost = "db1.example.nl"\nuser = "audit"\n'
HOST = '[[hosts]]\nname = "web01"\naddress = "192.0.2.11"\nuser = "audit"\n'
WAIVER = (
    '[[waivers]]\ncontrol = "12e.azure-sql-tde"\nresource = "*/databases/test"\n'
    'justification = "test copy"\napproved_by = "DPO"\nexpires = 2027-01-31\n'
)
ATTESTATION = (
    '[[attestations]]\ncontrol = "12g.mobile-media-encryption"\nsubject = "Laptops"\n'
    'statement = "BitLocker on"\nattested_by = "IT"\nattested_on = 2026-11-03\n'
)


def error_of(tmp_path: Path, text: str) -> str:
    """Return the ConfigError message of loading `text`, after checking it names the file."""
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    load_config(path)


# --- 2.3: no infinite or not-a-number float ----------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "+inf", "-inf", "nan"])
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[probing]\ntimeout_seconds = {v}\n", "probing.timeout_seconds"),
        (DATABASE + "timeout_seconds = {v}\n", "databases[0].timeout_seconds"),
        (HOST + "connect_timeout_seconds = {v}\n", "hosts[0].connect_timeout_seconds"),
        (HOST + "command_timeout_seconds = {v}\n", "hosts[0].command_timeout_seconds"),
        ('[azure]\nendpoint = "https://127.0.0.1:8443"\ntimeout_seconds = {v}\n', "azure.timeout_seconds"),
        (
            '[azure]\nendpoint = "https://127.0.0.1:8443"\nretry_backoff_seconds = {v}\n',
            "azure.retry_backoff_seconds",
        ),
        ('[azure]\nendpoint = "https://127.0.0.1:8443"\nreads_per_second = {v}\n', "azure.reads_per_second"),
        (
            '[tickets]\nbackend = "github"\nurl = "https://api.github.com"\nrepository = "a/b"\n'
            'token_env = "T"\ntimeout_seconds = {v}\n',
            "tickets.timeout_seconds",
        ),
    ],
)
def test_non_finite_float_setting_is_refused(tmp_path: Path, text: str, key: str, value: str) -> None:
    message = error_of(tmp_path, text.format(v=value))
    assert key in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[probing]\ntimeout_seconds = 1e300\n", "probing.timeout_seconds"),
        ("[policy]\nattestation_max_age_days = 1000000000000\n", "policy.attestation_max_age_days"),
        ("[policy]\npatch_max_age_days = 99999999\n", "policy.patch_max_age_days"),
        ("[policy]\ncert_min_days = 3000000\n", "policy.cert_min_days"),
    ],
)
def test_number_too_large_to_compute_with_is_refused(tmp_path: Path, text: str, key: str) -> None:
    # 1e300 s overflows a socket timeout; a billion days overflows date arithmetic (OverflowError).
    assert key in error_of(tmp_path, text)


# --- 2.4: every URL has a real host and port ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:99999/",
        "https://shop.example.nl:0/",
        "https://shop.example.nl:-1/",
        "tls://mail.example.nl:smtp",
        "https://shop example.nl/",
        "https://shop.example.nl:443:443/",
        "https://10.0.0.300/",
        "https://[2001:db8::zz]/",
    ],
)
def test_endpoint_url_with_impossible_port_or_host_is_refused(tmp_path: Path, url: str) -> None:
    assert "endpoints[0].url" in error_of(tmp_path, f'[[endpoints]]\nurl = "{url}"\n')


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[azure]\nendpoint = "https://127.0.0.1:70000"\n', "azure.endpoint"),
        ('[azure]\nendpoint = "https://management azure.com"\n', "azure.endpoint"),
        (
            '[tickets]\nbackend = "webhook"\nurl = "https://hooks.example.nl:99999/x"\ntoken_env = "T"\n',
            "tickets.url",
        ),
        (
            '[tickets]\nbackend = "github"\nurl = "https://api.github.com"\nrepository = "a/b"\n'
            'token_env = "T"\nreport_url = "https://audit.example.nl:123456/report.html"\n',
            "tickets.report_url",
        ),
        ('[[probes]]\naddress = "10.0.0.300"\n', "probes[0].address"),
        ('[[hosts]]\nname = "a"\naddress = "https://web01.example.nl"\nuser = "u"\n', "hosts[0].address"),
        (
            '[[databases]]\nname = "pg"\nengine = "postgresql"\nhost = "db1:5432"\nuser = "a"\n',
            "databases[0].host",
        ),
        ('[[endpoints]]\nurl = "https://a.example.nl/"\nsni = "192.0.2.1"\n', "endpoints[0].sni"),
    ],
)
def test_every_url_and_host_setting_is_checked(tmp_path: Path, text: str, key: str) -> None:
    assert key in error_of(tmp_path, text)


def test_url_with_credentials_is_refused_without_echoing_them(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[[endpoints]]\nurl = "https://auditor:s3cret-pw@shop.example.nl/"\n')
    assert "endpoints[0].url" in message
    assert "user name or password" in message
    assert "s3cret-pw" not in message


def test_bad_webhook_url_is_refused_without_printing_its_secret_path(tmp_path: Path) -> None:
    text = (
        '[tickets]\nbackend = "webhook"\ntoken_env = "T"\n'
        'url = "https://outlook.office.com:99999/webhookb2/secret-token-abc/IncomingWebhook"\n'
    )
    message = error_of(tmp_path, text)
    assert "tickets.url" in message
    assert "secret-token-abc" not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.nl/",
        "https://[2001:db8::1]:8443/",
        "tls://mail.example.nl:465",
        "https://xn--bcher-kva.example/",
    ],
)
def test_valid_endpoint_urls_are_accepted(tmp_path: Path, url: str) -> None:
    loads(tmp_path, f'[[endpoints]]\nurl = "{url}"\n')


def test_the_issue_port_reproduction_exits_4_through_the_cli(tmp_path: Path) -> None:
    run = run_audit(tmp_path, '[[endpoints]]\nurl = "https://127.0.0.1:99999/"\n')
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert "endpoints[0].url" in output
    assert "Traceback" not in output


# --- 4.3: strings are not numbers, numbers not strings, bools not ints ------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[policy]\nattestation_max_age_days = "92"\n', "policy.attestation_max_age_days"),
        ("[policy]\nattestation_max_age_days = 92.0\n", "policy.attestation_max_age_days"),
        ("[policy]\nattestation_max_age_days = true\n", "policy.attestation_max_age_days"),
        ('[policy]\nsensitive_ports = ["22"]\n', "policy.sensitive_ports[0]"),
        ('[policy]\nrequire_tls13 = "true"\n', "policy.require_tls13"),
        ("[policy]\nrequire_tls13 = 1\n", "policy.require_tls13"),
        ("[policy]\nmin_tls = 1.2\n", "policy.min_tls"),
        ('[policy]\nauthorized_admins = ["root", 0]\n', "policy.authorized_admins[1]"),
        ('[probing]\ntimeout_seconds = "3"\n', "probing.timeout_seconds"),
        (HOST + 'port = "22"\n', "hosts[0].port"),
        (HOST + "key_file = 5\n", "hosts[0].key_file"),
        (WAIVER.replace("expires = 2027-01-31", 'expires = "2027-01-31"'), "waivers[0].expires"),
        (WAIVER.replace("expires = 2027-01-31", "expires = 2027-01-31T12:00:00"), "waivers[0].expires"),
        (
            ATTESTATION.replace("attested_on = 2026-11-03", "attested_on = 20261103"),
            "attestations[0].attested_on",
        ),
        (
            '[azure]\nendpoint = "https://127.0.0.1:8443"\nscan_discovered_endpoints = "yes"\n',
            "azure.scan_discovered_endpoints",
        ),
    ],
)
def test_value_of_the_wrong_type_is_refused_not_coerced(tmp_path: Path, text: str, key: str) -> None:
    assert key in error_of(tmp_path, text)


def test_integers_are_accepted_for_float_settings_and_dates_stay_dates(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text("[probing]\ntimeout_seconds = 3\n" + WAIVER, encoding="utf-8")
    config = load_config(path)
    assert config.probing.timeout_seconds == 3.0
    assert type(config.waivers[0].expires) is date


def test_pasted_secret_in_an_env_name_is_refused_without_echoing_it(tmp_path: Path) -> None:
    message = error_of(tmp_path, HOST + 'password_env = "Zomer2026!"\n')
    assert "hosts[0].password_env" in message
    assert "NAME of an environment variable" in message
    assert "Zomer2026" not in message


# --- 4.3: regions are real Azure region names ------------------------------------------------------------


def test_misspelt_region_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[policy]\nallowed_regions = ["northeurope", "westeurop"]\n')
    assert "policy.allowed_regions[1]" in message
    assert "'westeurop' is not an Azure region name" in message
    assert "did you mean 'westeurope'?" in message


def test_display_names_of_regions_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[policy]\nallowed_regions = ["West Europe", "Germany West Central"]\n', encoding="utf-8")
    assert load_config(path).policy.allowed_regions == ["westeurope", "germanywestcentral"]


def test_a_region_unknown_to_this_release_can_be_declared(tmp_path: Path) -> None:
    text = '[policy]\nallowed_regions = ["westeurope", "local"]\nadditional_region_names = ["Local"]\n'
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path).policy.allowed_regions == ["westeurope", "local"]
    assert "policy.allowed_regions[1]" in error_of(tmp_path, text.replace('["Local"]', "[]"))


def test_the_region_lists_agree() -> None:
    assert set(EU_EEA_REGIONS) <= KNOWN_AZURE_REGIONS
    assert set(NOT_EU_EEA_EUROPEAN_REGIONS) <= KNOWN_AZURE_REGIONS
    assert not set(EU_EEA_REGIONS) & set(NOT_EU_EEA_EUROPEAN_REGIONS)
    assert all(name == name.lower() and " " not in name for name in KNOWN_AZURE_REGIONS)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[policy]\nattestation_max_age_days = "92"\n' + ATTESTATION, "policy.attestation_max_age_days"),
        ('[policy]\nallowed_regions = ["westeurop"]\n' + ATTESTATION, "policy.allowed_regions[0]"),
        ("[probing]\ntimeout_seconds = inf\n" + ATTESTATION, "probing.timeout_seconds"),
    ],
)
def test_loose_input_exits_4_through_the_cli(tmp_path: Path, text: str, key: str) -> None:
    run = run_audit(tmp_path, text)
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert str(tmp_path / "audit.toml") in output
    assert key in output
    assert "Traceback" not in output


# --- 3.9 (config side): scanning Azure-published endpoints is an explicit setting ------------------------


@pytest.mark.parametrize(
    ("endpoint", "setting", "scans"),
    [
        ("https://management.azure.com", None, True),
        ("https://management.usgovcloudapi.net", None, True),
        ("https://127.0.0.1:8443", None, False),
        ("https://arm-proxy.example.nl", "true", True),
        ("https://management.azure.com", "false", False),
        ("https://127.0.0.1:8443", '"auto"', False),
    ],
)
def test_scan_discovered_endpoints_is_auto_unless_set(
    tmp_path: Path, endpoint: str, setting: str | None, scans: bool
) -> None:
    path = tmp_path / "audit.toml"
    line = f"scan_discovered_endpoints = {setting}\n" if setting else ""
    path.write_text(f'[azure]\nendpoint = "{endpoint}"\n{line}', encoding="utf-8")
    azure = load_config(path).azure
    assert azure is not None
    assert azure.scans_discovered_endpoints() is scans
