"""SQL Server and Azure SQL catalogs: `fetch` through a recorded DB-API connection, then `parse`.

The recorded connection answers each tagged reader query (`/* auditor:NAME */`) with rows shaped
like the documented catalog views and DMVs (demo/standins/database_recordings/sqlserver/), per database
the connection was opened on, and keeps every statement it was sent.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry
from collectors.config.policy import Policy
from collectors.databases.facts import DatabaseServer, Login, MessageStore, PasswordColumn
from collectors.databases.reading import CatalogError, CatalogRows, ServerReading
from collectors.databases.sqlserver import (
    AZURE_READER,
    READER,
    SqlServerReader,
    query_name,
    quote_identifier,
)
from demo.standins.recorded_databases import (
    RecordedServer,
    azure_apps,
    azure_entry,
    onprem_apps,
    onprem_entry,
    recorded,
)

COLLECTED_AT = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
CANARY = "Canary-Pw-7f3a9c1e-do-not-leak"


def read(
    reader: SqlServerReader,
    server: RecordedServer,
    entry: DatabaseServerEntry,
    apps: list[ApplicationEntry],
    secret: str = CANARY,
) -> tuple[CatalogRows, ServerReading]:
    live = SqlServerReader(azure=reader.azure, connector=server.connector)
    rows = live.fetch(entry, apps, Policy(), secret)
    replayed = json.loads(json.dumps(rows))  # what a recording stores and gives back
    return rows, reader.parse(entry, apps, replayed, COLLECTED_AT)


def onprem(variant: str | None = None) -> tuple[RecordedServer, CatalogRows, DatabaseServer, ServerReading]:
    server = recorded("onprem.json", variant)
    rows, reading = read(READER, server, onprem_entry(), onprem_apps())
    return server, rows, reading.server, reading


def azure(variant: str | None = None) -> tuple[RecordedServer, CatalogRows, DatabaseServer]:
    server = recorded("azure.json", variant)
    rows, reading = read(AZURE_READER, server, azure_entry(), azure_apps())
    return server, rows, reading.server


def login(server: DatabaseServer, name: str) -> Login:
    found = server.login(name)
    assert found is not None, f"no login {name}: {[x.name for x in server.logins]}"
    return found


# --- on-prem: a compliant server -------------------------------------------------------------------


def test_compliant_server_gives_each_application_login_its_own_database_only() -> None:
    _, _, facts, _ = onprem()
    shop = login(facts, "shop_app")
    assert shop.reaches() == ("Shop",)
    assert shop.databases[0].via == "user mapping"
    assert set(shop.databases[0].roles) == {"db_datareader", "db_datawriter"}
    assert shop.server_privileges == ()
    crm = login(facts, "crm_app")
    assert crm.reaches() == ("Crm",)
    assert set(crm.databases[0].roles) == {"app_rw", "db_datareader"}, "nested database roles are followed"


def test_compliant_server_has_disabled_sa_forced_encryption_and_encrypted_user_databases() -> None:
    _, _, facts, _ = onprem()
    sa = login(facts, "sa")
    assert sa.is_server_admin
    assert sa.disabled
    assert facts.admin_login == "sa"
    assert facts.force_encryption is True
    assert [(d.name, d.encryption_state, d.encrypted) for d in facts.databases] == [
        ("Shop", "3", True),
        ("Crm", "3", True),
    ]
    assert not any(d.guest_connect for d in facts.databases)
    assert facts.version == "16.0.4135.4 Standard Edition (64-bit)"
    assert facts.application_logins == (("shop", "shop_app"), ("crm", "crm_app"))


def test_system_databases_are_not_user_databases() -> None:
    _, _, facts, _ = onprem()
    assert {d.name for d in facts.databases}.isdisjoint({"master", "tempdb", "model", "msdb"})


def test_windows_group_in_sysadmin_is_a_privileged_login() -> None:
    _, _, facts, _ = onprem()
    group = login(facts, "CONTOSO\\DBA Team")
    assert group.kind == "windows_group"
    assert "sysadmin" in group.server_privileges


def test_auditor_own_connection_is_excluded_and_shared_memory_kept_apart() -> None:
    server, _, facts, _ = onprem()
    sql = next(s for _, s, _ in server.statements if query_name(s) == "connections")
    assert "@@SPID" in sql
    assert {(c.transport, c.encrypted, c.count) for c in facts.connections} == {
        ("TCP", True, 14),
        ("Shared memory", False, 1),
    }


# --- on-prem: findings -----------------------------------------------------------------------------


def test_sysadmin_application_login_carries_the_server_role() -> None:
    _, _, facts, _ = onprem("sysadmin_app_login")
    assert "sysadmin" in login(facts, "shop_app").server_privileges


def test_control_server_granted_to_a_role_reaches_its_members() -> None:
    _, _, facts, _ = onprem("control_server_through_role")
    assert {"ops_role", "CONTROL SERVER"} <= set(login(facts, "crm_app").server_privileges)


def test_login_mapped_into_two_databases_reaches_both() -> None:
    _, _, facts, _ = onprem("login_in_two_databases")
    shop = login(facts, "shop_app")
    assert shop.reaches() == ("Crm", "Shop")
    crm_access = next(a for a in shop.databases if a.database == "Crm")
    assert crm_access.via == "user mapping (as user shop_reader)", "matched by sid, not by user name"


def test_db_owner_membership_is_reported_as_a_database_role() -> None:
    _, _, facts, _ = onprem("db_owner_app")
    assert "db_owner" in login(facts, "shop_app").databases[0].roles


def test_application_login_owning_its_database_is_dbo() -> None:
    _, _, facts, _ = onprem("app_owns_database")
    access = login(facts, "shop_app").databases[0]
    assert access.database == "Shop"
    assert "db_owner" in access.roles
    assert next(d for d in facts.databases if d.name == "Shop").owner == "shop_app"


def test_enabled_sa_is_found_by_sid_even_when_renamed() -> None:
    _, _, facts, _ = onprem("enabled_renamed_sa")
    admin = login(facts, "dbadmin")
    assert admin.is_server_admin
    assert not admin.disabled
    assert facts.admin_login == "dbadmin"


def test_guest_connect_marks_the_database_and_lets_every_login_reach_it() -> None:
    _, _, facts, _ = onprem("guest_connect")
    crm = next(d for d in facts.databases if d.name == "Crm")
    assert crm.guest_connect
    access = next(a for a in login(facts, "shop_app").databases if a.database == "Crm")
    assert access.via == "guest user has CONNECT"


def test_encryption_states_unencrypted_in_progress_and_no_key() -> None:
    _, _, facts, _ = onprem("encryption_states")
    states = {d.name: (d.encryption_state, d.encrypted) for d in facts.databases}
    assert states == {"Shop": ("1", False), "Crm": ("2", False), "Archive": ("none", False)}


def test_force_encryption_off_with_an_unencrypted_connection() -> None:
    _, _, facts, _ = onprem("force_encryption_off")
    assert facts.force_encryption is False
    assert {(c.encrypted, c.count) for c in facts.connections} == {(True, 9), (False, 2)}


def test_without_view_server_state_encryption_facts_are_unknown_not_good() -> None:
    _, rows, facts, _ = onprem("no_view_server_state")
    assert facts.force_encryption is None
    assert facts.connections == ()
    assert all(d.encryption_state is None and d.encrypted is None for d in facts.databases)
    assert {u["step"] for u in rows["unreadable"]} == {"registry", "connections", "encryption_keys"}


def test_configured_database_missing_from_the_server_has_unknown_encryption() -> None:
    server = recorded("onprem.json")
    _rows, reading = read(READER, server, onprem_entry(databases=["Shop", "Gone"]), onprem_apps())
    names = {d.name: d.encryption_state for d in reading.server.databases}
    assert names == {"Shop": "3", "Gone": None}
    assert reading.message_stores["crm"] == (
        "database Crm was not read (not an online user database on sql01)"
    )


# --- measurements: password columns and message retention -----------------------------------------


def test_password_column_is_reduced_to_format_counts_inside_fetch() -> None:
    server, rows, _, reading = onprem()
    column = reading.password_columns[("shop", "dbo.Users.PasswordHash")]
    assert isinstance(column, PasswordColumn)
    assert dict(column.formats) == {"bcrypt": 2, "pbkdf2-aspnet-identity-v3": 2}
    assert (column.rows_examined, column.total_rows, column.sampled) == (4, 4, False)
    assert column.database == "Shop"
    sample = next(s for _, s, _ in server.statements if query_name(s) == "password_sample")
    assert "SELECT TOP (10000) [PasswordHash] AS value FROM [dbo].[Users]" in sample
    assert "$2b$" not in json.dumps(rows), "a stored value left fetch"


def test_plain_text_password_planted_as_canary_never_leaves_fetch() -> None:
    server = recorded("onprem.json")
    server.results["Shop"]["password_sample"] = [{"value": CANARY}, {"value": "Welkom01"}]
    server.results["Shop"]["password_total"] = [{"total": 25000}]
    rows, reading = read(READER, server, onprem_entry(), onprem_apps())
    column = reading.password_columns[("shop", "dbo.Users.PasswordHash")]
    assert isinstance(column, PasswordColumn)
    assert column.count_of("unrecognised") == 2
    assert column.sampled
    assert CANARY not in json.dumps(rows) + repr(reading)


def test_message_ages_are_measured_with_quoted_identifiers_and_bound_values() -> None:
    server, _, _, reading = onprem()
    store = reading.message_stores["crm"]
    assert isinstance(store, MessageStore)
    delivered, failed = store.age("delivered"), store.age("failed")
    assert delivered is not None
    assert failed is not None
    assert (delivered.count, failed.count) == (120, 3)
    assert delivered.oldest_age_days == pytest.approx(5.0)
    assert failed.oldest_age_days == pytest.approx(19.0)
    assert store.measured_by == "table dbo.Messages (Status, CreatedAt)"
    sql, params = next((s, p) for _, s, p in server.statements if query_name(s) == "retention_failed")
    assert "FROM [dbo].[Messages] WHERE [Status] IN (%s, %s)" in sql
    assert params == ("Failed", "Bounced")


def test_unreadable_password_column_is_an_error_not_a_measurement() -> None:
    server = recorded("onprem.json")
    server.results["Shop"]["password_sample"] = {"error": [208, "Invalid object name 'dbo.Users'."]}
    _, reading = read(READER, server, onprem_entry(), onprem_apps())
    assert reading.password_columns[("shop", "dbo.Users.PasswordHash")] == (
        "could not be read: error 208: Invalid object name 'dbo.Users'."
    )


def test_identifiers_are_bracket_quoted_with_closing_brackets_doubled() -> None:
    assert quote_identifier("we]ird; DROP TABLE x--") == "[we]]ird; DROP TABLE x--]"
    with pytest.raises(CatalogError):
        quote_identifier("")


# --- read-only and failure behaviour ---------------------------------------------------------------

WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|GRANT|EXEC|COMMIT|USE)\b", re.I)


def test_every_statement_is_a_bounded_read_and_every_session_is_rolled_back() -> None:
    server, _, _, _ = onprem()
    for _, sql, _ in server.statements:
        assert "NOLOCK" not in sql.upper()
        code = re.sub(r"N?'[^']*'", "''", sql).replace("SET LOCK_TIMEOUT", "")
        assert sql.startswith(("/* auditor:", "SET LOCK_TIMEOUT")), sql
        assert not WRITES.search(code), sql
    assert all(c.rolled_back and c.closed for c in server.connections)
    first_per_connection = {db: s for db, s, _ in reversed(server.statements)}
    assert all(s.startswith("SET LOCK_TIMEOUT 7500") for s in first_per_connection.values())


def test_login_failure_is_a_catalog_error_without_the_secret() -> None:
    server = recorded("onprem.json")
    server.refuse_login = "audit_reader"
    with pytest.raises(CatalogError) as failure:
        read(READER, server, onprem_entry(), onprem_apps())
    assert "error 18456: Login failed for user 'audit_reader'." in str(failure.value)
    assert "sql01.example.nl:1433" in str(failure.value)
    assert CANARY not in str(failure.value)


def test_unreadable_user_database_fails_the_whole_server_rather_than_hide_mappings() -> None:
    server = recorded("onprem.json")
    server.results["Crm"]["database_principals"] = {
        "error": [916, "The server principal is not able to access the database."]
    }
    with pytest.raises(CatalogError, match="database_principals in database Crm"):
        read(READER, server, onprem_entry(), onprem_apps())


# --- Azure SQL Database ----------------------------------------------------------------------------


def test_azure_reads_master_then_one_connection_per_database_without_use() -> None:
    server, _, facts = azure()
    assert [c.database for c in server.connections] == ["master", "shop", "crm"]
    assert not any(re.search(r"\bUSE\b", s, re.I) for _, s, _ in server.statements)
    names = [query_name(s) for db, s, _ in server.statements if db == "master"]
    assert "logins" in names
    assert "master_role_members" in names
    assert "FROM sys.sql_logins" in next(s for _, s, _ in server.statements if query_name(s) == "logins")
    assert [d.name for d in facts.databases] == ["shop", "crm"]


def test_azure_compliant_server_maps_logins_by_sid_and_encrypts_every_connection() -> None:
    _, _, facts = azure()
    assert login(facts, "shop_app").reaches() == ("shop",)
    assert login(facts, "crm_app").reaches() == ("crm",)
    assert facts.force_encryption is True, "Azure SQL Database encrypts every connection"
    assert {(c.encrypted, c.count) for c in facts.connections} == {(True, 6)}
    assert all(d.encryption_state == "3" for d in facts.databases)


def test_azure_administrator_login_is_dbo_everywhere() -> None:
    _, _, facts = azure()
    admin = login(facts, "sqladmin")
    assert admin.is_server_admin
    assert admin.reaches() == ("crm", "shop")
    assert facts.admin_login == "sqladmin"


def test_azure_contained_user_is_a_database_scoped_identity() -> None:
    _, _, facts = azure()
    user = login(facts, "reporting")
    assert user.kind == "contained_user"
    assert user.reaches() == ("shop",)


def test_azure_dbmanager_application_login_is_privileged() -> None:
    _, _, facts = azure("dbmanager_app_login")
    assert "dbmanager" in login(facts, "crm_app").server_privileges


def test_azure_database_connector_role_reaches_every_database() -> None:
    _, _, facts = azure("database_connector_app_login")
    shop = login(facts, "shop_app")
    assert "##MS_DatabaseConnector##" in shop.server_privileges
    assert shop.reaches() == ("crm", "shop")


def test_azure_database_without_key_is_unencrypted_and_unreadable_key_is_unknown() -> None:
    _, rows, facts = azure("no_tde_key_and_unreadable_key")
    states = {d.name: (d.encryption_state, d.encrypted) for d in facts.databases}
    assert states == {"shop": ("none", False), "crm": (None, None)}
    assert rows["unreadable"] == [
        {
            "step": "encryption_keys",
            "database": "crm",
            "reason": "error 297: The user does not have permission to perform this action.",
        }
    ]


def test_azure_unreadable_server_role_members_leaves_every_login_privileges_unread() -> None:
    """Was a false pass: the failed read was taken as "no server roles" for every login."""
    _, rows, facts = azure("unreadable_server_role_members")
    assert [u["step"] for u in rows["unreadable"]] == ["server_role_members"]
    server_logins = [each for each in facts.logins if each.kind != "contained_user"]
    assert server_logins
    for each in server_logins:  # a contained user is database-scoped: it holds no server role
        assert "sys.server_role_members in master could not be read" in each.privileges_unread
    _, _, complete = azure()
    assert all(not each.privileges_unread for each in complete.logins)


# --- the auditor's own visibility: a partial catalog is an error, never a pass ---------------------


def test_login_without_view_any_definition_is_an_error_not_an_empty_catalog() -> None:
    server = recorded("onprem.json", "no_view_any_definition")
    reader = SqlServerReader(azure=False, connector=server.connector)
    with pytest.raises(CatalogError) as caught:
        reader.fetch(onprem_entry(), onprem_apps(), Policy(), CANARY)
    assert "VIEW ANY DEFINITION" in str(caught.value)
    assert "audit_reader" in str(caught.value)
    assert CANARY not in str(caught.value)


def test_login_without_view_definition_in_one_database_is_an_error() -> None:
    server = recorded("onprem.json", "no_view_definition_in_shop")
    reader = SqlServerReader(azure=False, connector=server.connector)
    with pytest.raises(CatalogError) as caught:
        reader.fetch(onprem_entry(), onprem_apps(), Policy(), CANARY)
    assert "VIEW DEFINITION in database Shop" in str(caught.value)


def test_azure_login_without_view_definition_in_master_is_an_error() -> None:
    server = recorded("azure.json", "no_view_definition_in_master")
    reader = SqlServerReader(azure=True, connector=server.connector)
    with pytest.raises(CatalogError) as caught:
        reader.fetch(azure_entry(), azure_apps(), Policy(), CANARY)
    assert "VIEW DEFINITION in database master" in str(caught.value)
