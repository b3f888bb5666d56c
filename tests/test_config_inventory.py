"""[[databases]], [[applications]] and [tickets]: valid settings load, mistakes name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from controls.harness.config_file import ConfigError, load_config

DATABASES = """
[[databases]]
name = "pg-prod"
engine = "postgresql"
host = "db1.example.nl"
user = "auditor"
password_env = "AUDIT_PG_PASSWORD"

[[databases]]
name = "raven"
engine = "ravendb"
host = "raven.example.nl"
client_cert = "auditor.pem"

[[applications]]
name = "webshop"
server = "pg-prod"
database = "webshop"
login = "webshop_app"
owner = "team-shop"
password_columns = ["public.customers.password_hash"]

[applications.retention]
table = "public.messages"
timestamp_column = "created_at"
status_column = "status"
delivered_values = ["delivered"]
failed_values = ["failed", "bounced"]
"""

TICKETS = """
[tickets]
backend = "github"
url = "https://api.github.com/"
repository = "hosting/ops"
token_env = "AUDIT_GITHUB_TOKEN"
"""


def error_of(folder: Path, text: str) -> str:
    path = folder / "audit.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_databases_and_applications_load_with_engine_defaults(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(DATABASES, encoding="utf-8")
    config = load_config(path)
    pg, raven = config.databases
    assert (pg.effective_port(), pg.effective_admin_login()) == (5432, "postgres")
    assert raven.effective_port() == 443
    app = config.applications[0]
    assert app.retention is not None
    assert app.retention.failed_values == ["failed", "bounced"]


def test_application_on_unknown_server_is_refused_naming_it(tmp_path: Path) -> None:
    message = error_of(tmp_path, DATABASES.replace('server = "pg-prod"', 'server = "pg-prd"'))
    assert "applications[0].server" in message
    assert "pg-prd" in message


def test_sql_server_without_auditor_login_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[[databases]]\nname = "s"\nengine = "sqlserver"\nhost = "h"\n')
    assert "databases[0]" in message
    assert "user" in message


def test_ravendb_without_client_certificate_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[[databases]]\nname = "r"\nengine = "ravendb"\nhost = "h"\n')
    assert "client_cert" in message


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, DATABASES.replace('engine = "postgresql"', 'engine = "mysql"'))
    assert "databases[0].engine" in message
    assert "mysql" in message


def test_password_column_without_schema_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, DATABASES.replace("public.customers.password_hash", "customers.hash"))
    assert "applications[0].password_columns" in message
    assert "schema.table.column" in message


def test_application_with_login_and_certificate_is_refused(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, DATABASES.replace('login = "webshop_app"', 'login = "a"\ncertificate = "AB12"')
    )
    assert "exactly one of login" in message


def test_half_configured_retention_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, DATABASES.replace('status_column = "status"\n', ""))
    assert "applications[0].retention" in message
    assert "status_column" in message


def test_retention_with_table_and_queries_is_refused(tmp_path: Path) -> None:
    text = DATABASES + 'delivered_query = "SELECT 1"\nfailed_query = "SELECT 1"\n'
    assert "either table" in error_of(tmp_path, text)


def test_tickets_section_loads_with_documented_defaults(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(TICKETS, encoding="utf-8")
    tickets = load_config(path).tickets
    assert tickets is not None
    assert (tickets.mode, tickets.grouping, tickets.resolve_after, tickets.reopen_days) == (
        "off",
        "control-scope",
        3,
        30,
    )
    assert tickets.url == "https://api.github.com"


def test_github_tickets_without_repository_are_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, TICKETS.replace('repository = "hosting/ops"\n', ""))
    assert "tickets" in message
    assert "repository: required for backend 'github'" in message


def test_plain_http_ticket_url_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, TICKETS.replace("https://api.github.com/", "http://tracker.local"))
    assert "tickets.url" in message
    assert "https://" in message


def test_email_tickets_need_from_address(tmp_path: Path) -> None:
    text = '[tickets]\nbackend = "email"\nsmtp_host = "smtp.example.nl"\nto = ["ops@example.nl"]\n'
    assert "from: required for backend 'email'" in error_of(tmp_path, text)


def test_email_tickets_accept_from_key(tmp_path: Path) -> None:
    text = (
        '[tickets]\nbackend = "email"\nsmtp_host = "smtp.example.nl"\nfrom = "audit@example.nl"\n'
        'to = ["ops@example.nl"]\n'
    )
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    tickets = load_config(path).tickets
    assert tickets is not None
    assert tickets.from_address == "audit@example.nl"


def test_unknown_tickets_mode_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, TICKETS + 'mode = "always"\n')
    assert "tickets.mode" in message
    assert "always" in message
