"""Damaged catalog rows are an `error`, never a pass and never a crash (found by the mutation replay).

Every case starts from the demo's recorded rows (demo/recording.json: the planted PostgreSQL
cluster pg-legacy, the SQL Server sql01, the RavenDB raven01), damages one value the way a
truncated recording or a driver surprise would, and checks the parser's answer: the server's
catalog unreadable (CatalogError naming the result set, row and column), or, for a password
or message measurement, that one subject in error.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.databases.collect import READERS, collect_databases
from collectors.databases.facts import (
    RAVENDB_DATABASES,
    SERVERS,
    SQLSERVER_SERVERS,
    MessageStore,
    PasswordColumn,
)
from collectors.databases.reading import CatalogError, ServerReading
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.recording import Recording
from controls.catalog import CONTROLS
from controls.harness.config_file import AuditConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
DEMO_RECORDING = json.loads((ROOT / "demo" / "recording.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_config() -> AuditConfig:
    """The demo's configuration (its [[databases]] and [[applications]])."""
    return load_config(ROOT / "demo" / "audit.toml", known_controls=frozenset(CONTROLS))


def rows_of(server: str) -> dict[str, Any]:
    """Return a fresh copy of the demo's recorded catalog rows of `server`."""
    rows: dict[str, Any] = copy.deepcopy(DEMO_RECORDING["databases"][server]["rows"])
    return rows


def parse(config: AuditConfig, server: str, rows: dict[str, Any]) -> ServerReading:
    """Parse `rows` as the demo's `server` with its engine's reader and applications."""
    entry = next(e for e in config.databases if e.name == server)
    apps = [a for a in config.applications if a.server == server]
    collected_at = datetime.fromisoformat(DEMO_RECORDING["databases"][server]["collected_at"])
    return READERS[entry.engine].parse(entry, apps, rows, collected_at)


def row(rows: dict[str, Any], result_set: str, **match: Any) -> dict[str, Any]:
    """Return the first row of a result set whose columns have the values in `match`."""
    found: dict[str, Any] = next(r for r in rows[result_set] if all(r.get(k) == v for k, v in match.items()))
    return found


# --- the unmutated rows still parse ----------------------------------------------------------------


@pytest.mark.parametrize("server", ["pg-legacy", "pg-synda", "sql01", "sql-weu", "raven01"])
def test_recorded_demo_rows_parse(demo_config: AuditConfig, server: str) -> None:
    assert parse(demo_config, server, rows_of(server)).server.name == server


# --- PostgreSQL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 12345, "", "MutantUnknownValue"])
def test_postgres_connect_privilege_of_an_unreadable_or_unknown_role_is_an_error(
    demo_config: AuditConfig, value: object
) -> None:
    """Was a false pass: analytics_app's reach to hr_db vanished and 12d.app-login-scope passed."""
    rows = rows_of("pg-legacy")
    row(rows, "connect_privileges", rolname="analytics_app", datname="hr_db")["rolname"] = value
    with pytest.raises(CatalogError, match=r"connect_privileges\[\d+\]: rolname"):
        parse(demo_config, "pg-legacy", rows)


def test_postgres_connect_privilege_to_an_unlisted_database_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("pg-legacy")
    row(rows, "connect_privileges", rolname="analytics_app", datname="hr_db")["datname"] = "nowhere_db"
    with pytest.raises(CatalogError, match="datname 'nowhere_db' is not a database"):
        parse(demo_config, "pg-legacy", rows)


def test_postgres_role_attribute_missing_is_an_error_not_no_privilege(demo_config: AuditConfig) -> None:
    """A superuser whose rolsuper column is absent would read as an ordinary login."""
    rows = rows_of("pg-legacy")
    del row(rows, "roles", rolname="postgres")["rolsuper"]
    with pytest.raises(CatalogError, match=r"roles\[\d+\] has no column rolsuper"):
        parse(demo_config, "pg-legacy", rows)


def test_postgres_role_attribute_as_text_is_an_error_not_truthy(demo_config: AuditConfig) -> None:
    rows = rows_of("pg-legacy")
    row(rows, "roles", rolname="shop_app")["rolsuper"] = "false"
    with pytest.raises(CatalogError, match="rolsuper is text 'false', not a boolean"):
        parse(demo_config, "pg-legacy", rows)


def test_postgres_unknown_database_privilege_is_an_error(demo_config: AuditConfig) -> None:
    """An unreadable privilege word could hide PUBLIC's CONNECT on an application database."""
    rows = rows_of("pg-legacy")
    row(rows, "database_acl", privilege_type="CONNECT")["privilege_type"] = "MutantUnknownValue"
    with pytest.raises(CatalogError, match="privilege_type is text 'MutantUnknownValue'"):
        parse(demo_config, "pg-legacy", rows)


def test_postgres_connect_privileges_without_the_auditor_are_incomplete(demo_config: AuditConfig) -> None:
    """Was a false pass: emptied connect_privileges made every login reach only its own database."""
    rows = rows_of("pg-legacy")
    rows["connect_privileges"] = []
    with pytest.raises(CatalogError, match="does not list the auditor's own login auditor"):
        parse(demo_config, "pg-legacy", rows)


@pytest.mark.parametrize(
    "result_set", ["roles", "memberships", "databases", "database_acl", "connect_privileges"]
)
def test_postgres_missing_result_set_is_an_error(demo_config: AuditConfig, result_set: str) -> None:
    rows = rows_of("pg-legacy")
    del rows[result_set]
    with pytest.raises(CatalogError, match=f"no result set {result_set}"):
        parse(demo_config, "pg-legacy", rows)


def test_password_format_counts_not_adding_up_are_an_error_for_that_column(demo_config: AuditConfig) -> None:
    """Was a false pass: deleting the 'unrecognised' count left only accepted formats."""
    rows = rows_of("pg-legacy")
    del row(rows, "password_columns", application="hr")["formats"]["unrecognised"]
    reading = parse(demo_config, "pg-legacy", rows)
    measured = reading.password_columns[("hr", "public.users.password_hash")]
    assert not isinstance(measured, PasswordColumn | MessageStore)
    assert "add up to 3, not the 5 rows examined" in english_text(measured)


@pytest.mark.parametrize("column", ["rows_examined", "formats", "total_rows"])
def test_unreadable_password_measurement_is_an_error_for_that_column_not_a_crash(
    demo_config: AuditConfig, column: str
) -> None:
    rows = rows_of("pg-legacy")
    row(rows, "password_columns", application="hr")[column] = "not-a-number"
    reading = parse(demo_config, "pg-legacy", rows)
    measured = reading.password_columns[("hr", "public.users.password_hash")]
    assert not isinstance(measured, PasswordColumn | MessageStore)
    assert column in english_text(measured)
    assert reading.server.logins, "the rest of the server is still judged"


def test_message_count_without_an_oldest_timestamp_is_an_error(demo_config: AuditConfig) -> None:
    """Was a false pass: a failed message of unknown age was read as none too old."""
    rows = rows_of("pg-legacy")
    row(rows, "message_ages", application="portal", kind="failed")["oldest"] = None
    measured = parse(demo_config, "pg-legacy", rows).message_stores["portal"]
    assert not isinstance(measured, PasswordColumn | MessageStore)
    assert "1 failed message but no oldest timestamp" in english_text(measured)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("oldest", "MutantUnknownValue", "not an ISO 8601 timestamp"),
        ("oldest", 12345, "not an ISO 8601 timestamp"),
        ("count", None, "not a whole number"),
        ("count", "not-a-number", "not a whole number"),
        ("kind", "MutantUnknownValue", "not one of delivered, failed"),
    ],
)
def test_unreadable_message_measurement_is_an_error_not_a_crash(
    demo_config: AuditConfig, column: str, value: object, reason: str
) -> None:
    rows = rows_of("pg-legacy")
    row(rows, "message_ages", application="portal", kind="delivered")[column] = value
    measured = parse(demo_config, "pg-legacy", rows).message_stores["portal"]
    assert not isinstance(measured, PasswordColumn | MessageStore)
    assert reason in english_text(measured)


# --- SQL Server ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["DELETE", None, "not-a-number"])
def test_sqlserver_connection_count_unreadable_is_an_error_not_zero_plain_connections(
    demo_config: AuditConfig, value: object
) -> None:
    """Was a false pass: sql01's two unencrypted connections counted as 0 when their count was lost."""
    rows = rows_of("sql01")
    plain = row(rows, "connections", encrypt_option="FALSE")
    if value == "DELETE":
        del plain["connections"]
    else:
        plain["connections"] = value
    with pytest.raises(CatalogError, match=r"connections\[\d+\]"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_unknown_encrypt_option_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    row(rows, "connections", encrypt_option="FALSE")["encrypt_option"] = "MutantUnknownValue"
    with pytest.raises(CatalogError, match="encrypt_option"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_connections_set_missing_without_a_failed_read_is_an_error(
    demo_config: AuditConfig,
) -> None:
    rows = rows_of("sql01")
    del rows["connections"]
    with pytest.raises(CatalogError, match="no result set connections, and its read is not listed as failed"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_connections_read_that_failed_leaves_them_unknown(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    del rows["connections"]
    rows["unreadable"] = [{"step": "connections", "database": "master", "reason": "VIEW SERVER STATE"}]
    assert parse(demo_config, "sql01", rows).server.connections == ()


@pytest.mark.parametrize(
    ("result_set", "column"),
    [
        ("databases", "name"),
        ("logins", "name"),
        ("database_principals", "database"),
        ("database_role_members", "role_name"),
    ],
)
def test_sqlserver_row_missing_a_column_is_an_error_not_a_crash(
    demo_config: AuditConfig, result_set: str, column: str
) -> None:
    rows = rows_of("sql01")
    del rows[result_set][-1][column]
    with pytest.raises(CatalogError, match=f"{result_set}\\[\\d+\\] has no column {column}"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_user_in_a_database_the_catalog_does_not_list_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    rows["database_principals"][0]["database"] = "MutantUnknownValue"
    with pytest.raises(
        CatalogError, match="database 'MutantUnknownValue' is not in the databases result set"
    ):
        parse(demo_config, "sql01", rows)


@pytest.mark.parametrize("value", [None, 7, "MutantUnknownValue"])
def test_sqlserver_unreadable_encryption_state_is_an_error_not_no_key(
    demo_config: AuditConfig, value: object
) -> None:
    rows = rows_of("sql01")
    rows["encryption_keys"][0]["encryption_state"] = value
    with pytest.raises(CatalogError, match="encryption_state"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_guest_grants_unreadable_is_an_error_not_no_guest(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    rows["guest_connect"][0]["grants"] = None
    with pytest.raises(CatalogError, match="grants is null"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_force_encryption_neither_0_nor_1_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    row(rows, "registry", value_name="ForceEncryption")["value_data"] = "MutantUnknownValue"
    with pytest.raises(CatalogError, match="ForceEncryption is 'MutantUnknownValue', not 0 or 1"):
        parse(demo_config, "sql01", rows)


@pytest.mark.parametrize(
    ("column", "value"), [("type", "MutantUnknownValue"), ("is_disabled", "false"), ("sid", None)]
)
def test_sqlserver_unreadable_login_is_an_error(demo_config: AuditConfig, column: str, value: object) -> None:
    rows = rows_of("sql01")
    row(rows, "logins", name="sa")[column] = value
    with pytest.raises(CatalogError, match=r"logins\[\d+\]"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_empty_sa_result_set_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    rows["sa"] = []
    with pytest.raises(CatalogError, match="result set sa is empty"):
        parse(demo_config, "sql01", rows)


def test_sqlserver_unreadable_password_counts_are_an_error_for_that_column(demo_config: AuditConfig) -> None:
    rows = rows_of("sql01")
    rows["password_columns"][0]["formats"] = [["bcrypt", "two"]]
    measured = parse(demo_config, "sql01", rows).password_columns[("sql-shop", "dbo.Users.PasswordHash")]
    assert not isinstance(measured, PasswordColumn | MessageStore)
    assert "is 'two', not a count" in english_text(measured)


# --- RavenDB ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["DELETE", None, 12345, "", "MutantUnknownValue"])
def test_ravendb_certificate_clearance_unreadable_is_an_error(
    demo_config: AuditConfig, value: object
) -> None:
    """Was a false pass: raven-import's ClusterAdmin certificate without its clearance read as powerless."""
    rows = rows_of("raven01")
    certificate = row(rows, "certificates", SecurityClearance="ClusterAdmin")
    if value == "DELETE":
        del certificate["SecurityClearance"]
    else:
        certificate["SecurityClearance"] = value
    with pytest.raises(CatalogError, match=r"certificates\[\d+\]"):
        parse(demo_config, "raven01", rows)


@pytest.mark.parametrize("value", ["DELETE", None, ["mutant"]])
def test_ravendb_certificate_permissions_unreadable_is_an_error(
    demo_config: AuditConfig, value: object
) -> None:
    """Was a false pass: a certificate reaching two databases read as reaching none."""
    rows = rows_of("raven01")
    certificate = row(rows, "certificates", SecurityClearance="ValidUser")
    if value == "DELETE":
        del certificate["Permissions"]
    else:
        certificate["Permissions"] = value
    with pytest.raises(CatalogError, match="Permissions"):
        parse(demo_config, "raven01", rows)


def test_ravendb_unknown_access_level_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("raven01")
    certificate = row(rows, "certificates", SecurityClearance="ValidUser")
    database = next(iter(certificate["Permissions"]))
    certificate["Permissions"][database] = "MutantUnknownValue"
    with pytest.raises(CatalogError, match="not one of Admin, ReadWrite, Read"):
        parse(demo_config, "raven01", rows)


def test_ravendb_missing_databases_result_set_is_an_error_not_no_databases(demo_config: AuditConfig) -> None:
    """Was a silent loss: the unencrypted Synda database vanished and 12e.ravendb-encryption was n/a."""
    rows = rows_of("raven01")
    del rows["databases"]
    with pytest.raises(CatalogError, match="no result set databases"):
        parse(demo_config, "raven01", rows)


def test_ravendb_is_encrypted_as_text_is_an_error(demo_config: AuditConfig) -> None:
    rows = rows_of("raven01")
    row(rows, "databases", Name="Synda")["IsEncrypted"] = "false"
    with pytest.raises(CatalogError, match="IsEncrypted"):
        parse(demo_config, "raven01", rows)


# --- the collector: a bad recorded entry errs its server's subjects only ---------------------------


def collect(config: AuditConfig, databases: dict[str, Any]) -> FactStore:
    """Replay the databases part of a recording through `collect_databases`."""
    recording = Recording(endpoint="", run_date=DEMO_RECORDING["run_date"])
    recording.databases = databases
    store = FactStore()
    collect_databases(config, store, recording=None, replay=recording, progress=lambda line: None)
    return store


def errors_of(store: FactStore, population: str) -> dict[str, str]:
    found = store.get(population)
    assert found is not None
    return {s.id: english_text(s.error) for s in found.subjects if s.error is not None}


def test_recorded_catalog_of_another_engine_is_an_error(demo_config: AuditConfig) -> None:
    databases = copy.deepcopy(DEMO_RECORDING["databases"])
    databases["sql01"]["engine"] = "postgresql"
    errors = errors_of(collect(demo_config, databases), SQLSERVER_SERVERS)
    assert "holds a postgresql catalog for this sqlserver server" in errors["sql01"]
    assert "sql-weu" not in errors


@pytest.mark.parametrize(("key", "value"), [("error", 12345), ("rows", ["mutant"]), ("engine", None)])
def test_malformed_recorded_entry_is_an_error_not_a_crash(
    demo_config: AuditConfig, key: str, value: object
) -> None:
    databases = copy.deepcopy(DEMO_RECORDING["databases"])
    databases["raven01"][key] = value
    errors = errors_of(collect(demo_config, databases), SERVERS)
    assert "malformed recording entry" in errors["raven01"]


def test_unexpected_parser_exception_errs_only_its_server(
    demo_config: AuditConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> ServerReading:
        raise KeyError("surprise")

    monkeypatch.setattr(READERS["ravendb"], "parse", broken)
    store = collect(demo_config, copy.deepcopy(DEMO_RECORDING["databases"]))
    errors = errors_of(store, RAVENDB_DATABASES)
    assert "the catalog rows could not be parsed (KeyError: 'surprise')" in errors["raven01"]
    assert not errors_of(store, SQLSERVER_SERVERS)


def test_damaged_password_measurement_fails_closed_through_the_control(demo_config: AuditConfig) -> None:
    """The 6b item is an error naming the damage, never a pass."""
    rows = rows_of("pg-legacy")
    row(rows, "password_columns", application="hr")["formats"] = {}
    databases = copy.deepcopy(DEMO_RECORDING["databases"])
    databases["pg-legacy"]["rows"] = rows
    store = collect(demo_config, databases)
    columns = store.get("databases.password_columns")
    assert columns is not None
    subject = next(
        s for s in columns.subjects if s.id.endswith("public.users.password_hash") and "pg-legacy" in s.id
    )
    assert subject.fact is None
    assert subject.error is not None
    assert "add up to 0" in english_text(subject.error)
