"""A credential the config names must exist before anything is collected (issue 12 case 3.5).

An unset `password_env` / `passphrase_env` variable or a missing `key_file` used to give only
`error` items, night after night; now it is a configuration error (exit 4) naming the key and
the variable or file, never a value. A --replay / --demo run needs no collection credential;
the ticket tracker's variables are needed whenever tickets are on or dry-run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controls.harness.config_file import ConfigError, load_config
from controls.harness.credentials import credential_problems
from tests.audit_runs import DEMO, run_audit

SECRET = "canary-password-7d1e0b"
"""The value of a variable that IS set: it must never be printed."""

MISSING = """
[[hosts]]
name = "web01"
address = "192.0.2.11"
user = "audit"
key_file = "keys/no-such-key"
passphrase_env = "AUDIT_TEST_UNSET_PASSPHRASE"

[[hosts]]
name = "web02"
address = "192.0.2.12"
user = "audit"
password_env = "AUDIT_TEST_SET_PASSWORD"

[[databases]]
name = "pg"
engine = "postgresql"
host = "db1.example.nl"
user = "audit"
password_env = "AUDIT_TEST_UNSET_DB_PASSWORD"
ca_bundle = "certs/no-such-ca.pem"

[[databases]]
name = "raven"
engine = "ravendb"
host = "raven.example.nl"
client_cert = "certs/no-such-client.pem"
client_key = "certs/no-such-client.key"

[[endpoints]]
url = "https://www.example.nl/"
ca_bundle = "certs/no-such-internal-ca.pem"
"""


def test_missing_credentials_exit_4_naming_each_key_and_never_a_value(tmp_path: Path) -> None:
    run = run_audit(tmp_path, MISSING, env={"AUDIT_TEST_SET_PASSWORD": SECRET})
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    config = tmp_path / "audit.toml"
    for line in [
        f"{config}: hosts[0].key_file: no such file {tmp_path / 'keys' / 'no-such-key'}",
        f"{config}: hosts[0].passphrase_env: the environment variable AUDIT_TEST_UNSET_PASSPHRASE is not set",
        f"{config}: databases[0].password_env: the environment variable AUDIT_TEST_UNSET_DB_PASSWORD is not set",
        f"{config}: databases[0].ca_bundle: no such file",
        f"{config}: databases[1].client_cert: no such file",
        f"{config}: databases[1].client_key: no such file",
        f"{config}: endpoints[0].ca_bundle: no such file",
    ]:
        assert line in output, line
    assert "hosts[1].password_env" not in output  # that variable is set
    assert SECRET not in output
    assert "Traceback" not in output
    assert not (run.evidence_dir / "evidence.json").exists()


def test_empty_variable_counts_as_missing(tmp_path: Path) -> None:
    run = run_audit(tmp_path, MISSING, env={"AUDIT_TEST_SET_PASSWORD": "  "})
    assert run.returncode == 4
    assert (
        "hosts[1].password_env: the environment variable AUDIT_TEST_SET_PASSWORD is not set"
        in run.stdout + run.stderr
    )


def test_replay_needs_no_collection_credential() -> None:
    config = load_config(DEMO / "audit.toml")
    assert credential_problems(config, {}, collecting=False, tickets_mode="off") == []
    live = credential_problems(config, {}, collecting=True, tickets_mode="off")
    assert any("hosts[0].key_file" in problem for problem in live)
    assert any("databases[0].password_env: the environment variable AUDIT_PG_PASSWORD" in p for p in live)


def test_credentials_that_exist_pass(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "audit_ed25519").write_text("not checked here: the SSH layer parses it\n")
    path = tmp_path / "audit.toml"
    path.write_text(
        '[[hosts]]\nname = "a"\naddress = "192.0.2.1"\nuser = "u"\nkey_file = "keys/audit_ed25519"\n'
        'passphrase_env = "PASS"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert credential_problems(config, {"PASS": "x"}, collecting=True, tickets_mode="off") == []


def test_explicit_known_hosts_must_exist_but_the_default_may_be_absent(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    host = '[[hosts]]\nname = "a"\naddress = "192.0.2.1"\nuser = "u"\n'
    path.write_text(host, encoding="utf-8")
    assert credential_problems(load_config(path), {}, collecting=True, tickets_mode="off") == []
    path.write_text(host + 'known_hosts = "ssh/known_hosts"\n', encoding="utf-8")
    (problem,) = credential_problems(load_config(path), {}, collecting=True, tickets_mode="off")
    assert "hosts[0].known_hosts: no such file" in problem


TICKETS = """
[tickets]
backend = "jira"
url = "https://example.atlassian.net"
project = "SEC"
token_env = "AUDIT_TEST_UNSET_JIRA_TOKEN"
user_env = "AUDIT_TEST_JIRA_USER"
"""


def test_ticket_credentials_are_checked_only_when_tickets_run(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(TICKETS, encoding="utf-8")
    config = load_config(path)
    env = {"AUDIT_TEST_JIRA_USER": "auditor@example.nl"}
    assert credential_problems(config, env, collecting=True, tickets_mode="off") == []
    for mode in ("dry-run", "on"):
        (problem,) = credential_problems(config, env, collecting=False, tickets_mode=mode)
        assert "tickets.token_env: the environment variable AUDIT_TEST_UNSET_JIRA_TOKEN is not set" in problem


def test_replay_with_tickets_dry_run_and_no_token_exits_4(tmp_path: Path) -> None:
    text = (DEMO / "audit.toml").read_text(encoding="utf-8") + TICKETS
    run = run_audit(
        tmp_path,
        text,
        "--replay",
        str(DEMO / "recording.json"),
        "--tickets",
        "dry-run",
        env={"AUDIT_TEST_JIRA_USER": "auditor@example.nl"},
    )
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert "tickets.token_env: the environment variable AUDIT_TEST_UNSET_JIRA_TOKEN is not set" in output
    assert "auditor@example.nl" not in output


def test_jira_without_user_env_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(TICKETS.replace('user_env = "AUDIT_TEST_JIRA_USER"\n', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tickets\.user_env: required for backend 'jira'"):
        load_config(path)


def test_a_tracker_registers_token_must_exist_before_collecting(tmp_path: Path) -> None:
    config_file = tmp_path / "audit.toml"
    config_file.write_text(
        '[data_subject_requests]\ntracker = "jira"\nurl = "https://jira.example"\nproject = "SEC"\n'
        'token_env = "DSR_TOKEN"\nuser_env = "DSR_USER"\nlabel = "avg-verzoek"\n',
        encoding="utf-8",
    )
    config = load_config(config_file)
    problems = credential_problems(config, {"DSR_USER": "ops@example"}, collecting=True, tickets_mode="off")
    assert problems == [
        f"{config_file.resolve()}: data_subject_requests.token_env: the environment variable DSR_TOKEN is not set (or is empty)"
    ]
    assert credential_problems(config, {}, collecting=False, tickets_mode="off") == []
