"""One subject, one entry: a duplicate identity is a config error, and a duplicate id from a collector is never dropped.

Issue 12 case 1.1: two [[subprocessors]] named "Acme" gave "1 passed" (the second, with an
invalid transfer basis, was in no evidence); two [[attestations]] for one datacenter gave one pass.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.facts import Population, observed, unobservable
from collectors.messages import english_text
from controls.catalog import CONTROLS
from controls.harness.config_file import ConfigError, load_config
from reports.evidence import Source
from tests.audit_runs import DEMO, run_audit

KNOWN_CONTROLS = frozenset(CONTROLS)

ACME_TWICE = """
[[subprocessors]]
name = "Acme"
country = "NL"
transfer_basis = "none"

[[subprocessors]]
name = "Acme"
country = "US"
transfer_basis = "privacy-shield"
"""

DC1_TWICE = """
[[attestations]]
control = "12a.datacenter-certification"
subject = "DC1"
standard = "ISO/IEC 27001:2022"
issuer = "Example Certification B.V."
valid_until = 2027-09-30
attested_by = "DPO"
attested_on = 2026-11-02

[[attestations]]
control = "12a.datacenter-certification"
subject = "DC1"
standard = "ISO/IEC 27001:2013"
issuer = "Example Certification B.V."
valid_until = 2025-01-31
attested_by = "DPO"
attested_on = 2026-11-02
"""


def load_error(tmp_path: Path, text: str, *, waivers: str | None = None) -> str:
    """Return the ConfigError message of loading `text` as audit.toml (and `waivers` as waivers.toml)."""
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    if waivers is not None:
        (tmp_path / "waivers.toml").write_text(waivers, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, known_controls=KNOWN_CONTROLS)
    return str(caught.value)


# --- the reproductions, through the real CLI ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(ACME_TWICE, "subprocessors[1].name", id="two-acme-subprocessors"),
        pytest.param(DC1_TWICE, "attestations[1].subject", id="two-dc1-attestations"),
    ],
)
def test_duplicate_subject_in_config_exits_4_naming_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    run = run_audit(tmp_path, text)
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert str(tmp_path / "audit.toml") in output
    assert key in output
    assert "repeats" in output
    assert "Traceback" not in output
    assert not (run.evidence_dir / "evidence.json").exists()


# --- every identity of the config ----------------------------------------------------------------

HOST = '[[hosts]]\nname = "{name}"\naddress = "{address}"\nuser = "audit"\n{extra}\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(
            ACME_TWICE.replace('name = "Acme"\ncountry = "US"', 'name = " ACME "\ncountry = "US"'),
            "subprocessors[1].name",
            id="subprocessor-name-case-and-space",
        ),
        pytest.param(
            DC1_TWICE.replace(
                'subject = "DC1"\nstandard = "ISO/IEC 27001:2013"',
                'subject = "dc1"\nstandard = "ISO/IEC 27001:2013"',
            ),
            "attestations[1].subject",
            id="attestation-subject-case",
        ),
        pytest.param(
            '[[endpoints]]\nurl = "https://www.example.nl/"\n[[endpoints]]\nurl = "https://WWW.example.nl:443"\n',
            "endpoints[1].url",
            id="endpoint-same-host-port",
        ),
        pytest.param(
            '[[endpoints]]\nurl = "https://www.example.nl/"\n'
            '[[endpoints]]\nurl = "tls://www.example.nl:443"\nsni = "www.example.nl"\n',
            "endpoints[1].url",
            id="endpoint-default-sni-is-the-host",
        ),
        pytest.param(
            '[[probes]]\naddress = "2001:db8::1"\n[[probes]]\naddress = "[2001:DB8:0::1]"\n',
            "probes[1].address",
            id="probe-same-address",
        ),
        pytest.param(
            HOST.format(name="web01", address="192.0.2.11", extra="")
            + HOST.format(name="WEB01", address="192.0.2.12", extra=""),
            "hosts[1].name",
            id="host-name-case",
        ),
        pytest.param(
            HOST.format(name="web01", address="web01.example.nl", extra="")
            + HOST.format(name="web01-again", address="WEB01.example.nl.", extra="port = 22"),
            "hosts[1].address",
            id="host-two-names-for-one-address",
        ),
        pytest.param(
            '[[databases]]\nname = "pg"\nengine = "postgresql"\nhost = "db1"\nuser = "a"\n'
            '[[databases]]\nname = "PG"\nengine = "postgresql"\nhost = "db2"\nuser = "a"\n',
            "databases[1].name",
            id="database-name-case",
        ),
        pytest.param(
            '[[databases]]\nname = "pg"\nengine = "postgresql"\nhost = "db1"\nuser = "a"\n'
            '[[applications]]\nname = "shop"\nserver = "pg"\ndatabase = "a"\nlogin = "a"\n'
            '[[applications]]\nname = "Shop"\nserver = "pg"\ndatabase = "b"\nlogin = "b"\n',
            "applications[1].name",
            id="application-name-case",
        ),
        pytest.param(
            '[[waivers]]\ncontrol = "12e.azure-sql-tde"\nresource = "*/databases/test"\n'
            'justification = "j"\napproved_by = "DPO"\nexpires = 2027-01-31\n'
            '[[waivers]]\ncontrol = "12e.azure-sql-tde"\nresource = "*/Databases/TEST"\n'
            'justification = "k"\napproved_by = "CISO"\nexpires = 2027-06-30\n',
            "waivers[1].resource",
            id="waiver-same-control-and-resource",
        ),
        pytest.param(
            '[azure]\nsubscriptions = ["11111111-1111-4111-8111-111111111111", '
            '"11111111-1111-4111-8111-111111111111"]\n',
            "azure.subscriptions[1]",
            id="subscription-twice",
        ),
        pytest.param(
            '[[probes]]\naddress = "192.0.2.7"\nports = [22, 3389, 22]\n',
            "probes[0].ports[2]",
            id="probe-port-twice",
        ),
    ],
)
def test_duplicate_identity_is_refused_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    message = load_error(tmp_path, text)
    assert str(tmp_path / "audit.toml") in message
    assert key in message


def test_same_waiver_in_audit_toml_and_waivers_toml_is_refused_naming_waivers_toml(tmp_path: Path) -> None:
    waiver = (
        '[[waivers]]\ncontrol = "12e.azure-sql-tde"\nresource = "*/databases/test"\n'
        'justification = "j"\napproved_by = "DPO"\nexpires = 2027-01-31\n'
    )
    message = load_error(tmp_path, waiver, waivers=waiver)
    assert str(tmp_path / "waivers.toml") in message
    assert "waivers[0].resource" in message
    assert f"waivers[0] of {tmp_path / 'audit.toml'}" in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '[[endpoints]]\nurl = "https://mail.example.nl/"\n'
            '[[endpoints]]\nurl = "tls://mail.example.nl:25"\nstarttls = "smtp"\n'
            '[[endpoints]]\nurl = "tls://mail.example.nl:443"\nsni = "webmail.example.nl"\n',
            id="endpoints-differing-in-port-starttls-or-sni",
        ),
        pytest.param(
            HOST.format(name="a", address="10.0.0.5", extra='jump = "bastion-a"')
            + HOST.format(name="b", address="10.0.0.5", extra='jump = "bastion-b"')
            + HOST.format(name="bastion-a", address="192.0.2.1", extra="")
            + HOST.format(name="bastion-b", address="192.0.2.2", extra=""),
            id="one-private-address-behind-two-bastions",
        ),
        pytest.param(
            HOST.format(name="a", address="192.0.2.5", extra="")
            + HOST.format(name="b", address="192.0.2.5", extra="port = 2222"),
            id="two-ssh-ports-of-one-address",
        ),
        pytest.param(
            '[[databases]]\nname = "pg"\nengine = "postgresql"\nhost = "db1"\nuser = "a"\n'
            '[[applications]]\nname = "shop"\nserver = "pg"\ndatabase = "shared"\nlogin = "a"\n'
            '[[applications]]\nname = "crm"\nserver = "pg"\ndatabase = "shared"\nlogin = "b"\n',
            id="two-applications-sharing-a-database-is-what-12d-judges",
        ),
    ],
)
def test_distinct_subjects_that_look_alike_are_accepted(tmp_path: Path, text: str) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    load_config(path, known_controls=KNOWN_CONTROLS)


# --- a duplicate id reaching a population -----------------------------------------------------------


def source(call: str) -> Source:
    return Source("test", call, datetime(2026, 11, 29, tzinfo=UTC), "0" * 64)


def test_two_subjects_with_one_id_both_become_errors_naming_each_other() -> None:
    population = Population("register.subprocessors")
    population.add(observed("subprocessor:Acme", "NL, none", [source("subprocessors[0]")]))
    population.add(observed("subprocessor:Acme", "US, privacy-shield", [source("subprocessors[1]")]))

    assert [s.id for s in population.subjects] == ["subprocessor:Acme", "subprocessor:Acme"]
    for subject in population.subjects:
        assert subject.fact is None
        assert subject.error is not None
        error = english_text(subject.error)
        assert "two subjects share the id subprocessor:Acme" in error
        assert "subprocessors[0]" in error
        assert "subprocessors[1]" in error
    assert [s.sources[0].call for s in population.subjects] == ["subprocessors[0]", "subprocessors[1]"]


def test_a_third_subject_with_the_same_id_is_an_error_too() -> None:
    population = Population("p")
    population.add(observed("x", 1, [source("first")]))
    population.add(unobservable("x", "403", [source("second")]))
    population.add(observed("x", 3, [source("third")]))
    population.add(observed("y", 4))

    errors = [english_text(s.error) for s in population.subjects if s.id == "x" and s.error is not None]
    assert len(errors) == 3
    assert all(e is not None and "three subjects share the id x" in e for e in errors)
    assert all(e is not None and "error: 403" in e for e in errors)
    assert [s.fact for s in population.subjects if s.id == "y"] == [4]


def test_the_same_observation_twice_is_kept_once() -> None:
    population = Population("p")
    population.add(unobservable("/subscriptions/s/providers/T", "could not be listed"))
    population.add(unobservable("/subscriptions/s/providers/T", "could not be listed"))
    (subject,) = population.subjects
    assert subject.error == "could not be listed"


def test_add_first_keeps_one_subject_per_id_for_work_lists() -> None:
    population = Population("azure.endpoints")
    assert population.add_first(observed("shop.example.nl:443", "app-1"))
    assert not population.add_first(observed("shop.example.nl:443", "app-2"))
    assert [s.fact for s in population.subjects] == ["app-1"]


# --- end to end: a recording whose answer lists one resource twice ------------------------------------


def _demo_config() -> str:
    text = (DEMO / "audit.toml").read_text(encoding="utf-8")
    return text.replace('evidence_file = "evidence/', f'evidence_file = "{DEMO}/evidence/')


def _recording_with_storage_account_twice(tmp_path: Path) -> tuple[Path, str]:
    recording: dict[str, Any] = json.loads((DEMO / "recording.json").read_text(encoding="utf-8"))
    for exchange in recording["exchanges"]:
        if "/providers/Microsoft.Storage/storageAccounts?" in exchange["url"] and exchange["status"] == 200:
            body = json.loads(exchange["body"])
            if body["value"]:
                account = body["value"][0]
                twin = json.loads(json.dumps(account))
                twin["properties"]["publicNetworkAccess"] = "Disabled"
                body["value"].append(twin)
                exchange["body"] = json.dumps(body)
                path = tmp_path / "recording.json"
                path.write_text(json.dumps(recording), encoding="utf-8")
                return path, str(account["id"])
    raise AssertionError("the demo recording lists no storage account")


def test_resource_listed_twice_by_azure_is_error_in_every_item_of_the_evidence(tmp_path: Path) -> None:
    recording, account_id = _recording_with_storage_account_twice(tmp_path)
    run = run_audit(tmp_path, _demo_config(), "--replay", str(recording))
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "Traceback" not in output
    twins = [r for r in run.bundle["results"] if r["resource"] == account_id]
    storage_controls = {"12b.azure-storage-network", "12e.azure-storage-encryption", "12f.azure-storage-tls"}
    assert storage_controls <= {r["control"] for r in twins}
    for control in storage_controls:
        items = [r for r in twins if r["control"] == control]
        assert len(items) == 2, (control, items)
        assert {r["status"] for r in items} == {"error"}, (control, items)
        assert all(f"two subjects share the id {account_id}" in r["message"] for r in items)
    # Both copies agree on the location, from the same answer: one observation, judged once.
    (located,) = [r for r in twins if r["control"] == "8.azure-region"]
    assert located["status"] == "pass"
