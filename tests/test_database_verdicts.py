"""12d, 6b and 6e database controls on literal facts: a failing case for every pass condition.

The controls are reached through their modules, never imported by name, so pytest does not
collect them here as tests.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from collectors.config.policy import Policy
from collectors.databases.applications import DatabaseLink, application_facts, plan_applications
from collectors.databases.facts import (
    Application,
    Database,
    DatabaseAccess,
    DatabaseServer,
    Engine,
    Login,
    MessageAge,
    MessageStore,
    PasswordColumn,
)
from collectors.messages import english_text
from controls import test_6b_hashed_passwords as c6b
from controls import test_6e_message_retention as c6e
from controls import test_12d_one_database_per_application as c12d
from controls.harness.config_file import AuditConfig
from tests.control_calls import verdict, verdict_and_evidence


def login(
    name: str = "shop_app", *reach: DatabaseAccess, privileges: tuple[str, ...] = (), **kw: object
) -> Login:
    """Return a login reaching `reach` (default: its own database shop_db by a grant)."""
    databases = reach or (DatabaseAccess("shop_db", "CONNECT granted to the login"),)
    return Login(name=name, kind="role", server_privileges=privileges, databases=databases, **kw)  # type: ignore[arg-type]


def app(engine: Engine = "postgresql", **changes: object) -> Application:
    """Return a well-behaved application; `changes` plant one fault."""
    base = Application(
        name="shop",
        server="pg01",
        engine=engine,
        database="shop_db",
        identity="shop_app",
        databases_used=("shop_db",),
        login=login(),
        admin_login="postgres",
        database_exists=True,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- 12d.app-own-database ---------------------------------------------------------------------


def test_application_with_one_database_of_its_own_passes() -> None:
    assert verdict(c12d.test_application_uses_one_database_of_its_own, app()).status == "pass"


def test_an_inventory_database_the_server_does_not_have_is_error_not_a_pass() -> None:
    result = verdict(c12d.test_application_uses_one_database_of_its_own, app(database_exists=False))
    assert result.status == "error"
    assert "catalog has no database shop_db" in result.message


def test_an_own_database_left_out_of_a_narrowed_read_is_error_not_a_pass() -> None:
    result = verdict(c12d.test_application_uses_one_database_of_its_own, app(database_exists=None))
    assert result.status == "error"
    assert "leaves shop_db out" in result.message


def test_a_terminated_application_whose_database_is_gone_is_not_applicable() -> None:
    gone = app(database_exists=False, terminated_on=date(2026, 8, 31), login=None)
    result = verdict(c12d.test_application_uses_one_database_of_its_own, gone)
    assert result.status == "not_applicable"
    assert "ended on 2026-08-31" in result.message
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, gone).status == "not_applicable"
    assert verdict(c12d.test_application_does_not_connect_as_server_admin, gone).status == "not_applicable"


def test_a_terminated_application_whose_login_still_reaches_other_databases_fails() -> None:
    leftover = app(
        database_exists=False,
        terminated_on=date(2026, 8, 31),
        login=login("shop_app", DatabaseAccess("crm_db", "CONNECT granted to PUBLIC")),
    )
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, leftover).status == "fail"


def test_application_using_two_databases_fails() -> None:
    result = verdict(
        c12d.test_application_uses_one_database_of_its_own, app(databases_used=("shop_db", "crm_db"))
    )
    assert result.status == "fail"
    assert "uses 2 databases (shop_db, crm_db)" in result.message


def test_database_used_by_two_applications_fails() -> None:
    result = verdict(c12d.test_application_uses_one_database_of_its_own, app(shared_with=("shopadmin",)))
    assert result.status == "fail"
    assert "shares its database with shopadmin" in result.message


# --- 12d.app-login-scope ----------------------------------------------------------------------


def test_login_reaching_only_its_own_database_passes() -> None:
    result, evidence = verdict_and_evidence(c12d.test_application_login_reaches_its_own_database_only, app())
    assert result.status == "pass"
    assert evidence.observations["reaches"] == {"shop_db": "CONNECT granted to the login"}


@pytest.mark.parametrize("privilege", ["SUPERUSER", "CREATEROLE", "CREATEDB", "sysadmin", "ClusterAdmin"])
def test_superuser_application_login_fails(privilege: str) -> None:
    result = verdict(
        c12d.test_application_login_reaches_its_own_database_only, app(login=login(privileges=(privilege,)))
    )
    assert result.status == "fail"
    assert f"holds server-wide {privilege}" in result.message


def test_login_able_to_connect_to_another_database_through_public_fails() -> None:
    reach = (
        DatabaseAccess("shop_db", "CONNECT granted to the login"),
        DatabaseAccess("hr_db", "CONNECT granted to PUBLIC"),
    )
    result = verdict(
        c12d.test_application_login_reaches_its_own_database_only, app(login=login("shop_app", *reach))
    )
    assert result.status == "fail"
    assert "can reach other databases: hr_db (CONNECT granted to PUBLIC)" in result.message


@pytest.mark.parametrize("role", ["db_owner", "OWNER"])
def test_owner_of_its_own_database_fails_and_says_a_waiver_can_accept_it(role: str) -> None:
    reach = (DatabaseAccess("shop_db", "user mapping", roles=(role, "db_datareader")),)
    result = verdict(
        c12d.test_application_login_reaches_its_own_database_only, app(login=login("shop_app", *reach))
    )
    assert result.status == "fail"
    assert f"is {role} of its own database shop_db" in result.message
    assert "a waiver can accept it" in result.message


def test_sql_server_database_names_compare_case_insensitively() -> None:
    reach = (DatabaseAccess("Shop_DB", "user mapping", roles=("db_datareader",)),)
    fact = app("sqlserver", login=login("shop_app", *reach), admin_login="sa")
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, fact).status == "pass"


def test_login_whose_server_roles_could_not_be_read_is_an_error_not_a_pass() -> None:
    unread = "sys.server_role_members in master could not be read: server roles are unknown"
    result = verdict(
        c12d.test_application_login_reaches_its_own_database_only,
        app("azuresql", login=login(privileges_unread=unread), admin_login="sqladmin"),
    )
    assert result.status == "error"
    assert unread in result.message


def test_login_with_unread_server_roles_that_already_reaches_another_database_fails() -> None:
    reach = (DatabaseAccess("shop_db", "user mapping"), DatabaseAccess("hr_db", "user mapping"))
    fact = app(
        "azuresql", login=login("shop_app", *reach, privileges_unread="unknown"), admin_login="sqladmin"
    )
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, fact).status == "fail"


def test_login_missing_from_the_catalog_is_an_error_not_a_pass() -> None:
    result = verdict(c12d.test_application_login_reaches_its_own_database_only, app(login=None))
    assert result.status == "error"
    assert "has no login shop_app" in result.message


# --- 12d.app-not-server-admin -----------------------------------------------------------------


def test_application_with_its_own_login_is_not_server_admin() -> None:
    assert verdict(c12d.test_application_does_not_connect_as_server_admin, app()).status == "pass"


def test_application_connecting_as_postgres_fails() -> None:
    fact = app(identity="postgres", login=login("postgres", is_server_admin=True))
    result = verdict(c12d.test_application_does_not_connect_as_server_admin, fact)
    assert result.status == "fail"
    assert "as the server administrator postgres" in result.message


def test_application_connecting_as_sa_in_other_case_fails() -> None:
    fact = app("sqlserver", identity="SA", admin_login="sa", login=login("sa"))
    assert verdict(c12d.test_application_does_not_connect_as_server_admin, fact).status == "fail"


def test_application_connecting_as_renamed_administrator_fails() -> None:
    fact = app(
        "sqlserver", identity="root_login", admin_login="sa", login=login("root_login", is_server_admin=True)
    )
    result = verdict(c12d.test_application_does_not_connect_as_server_admin, fact)
    assert result.status == "fail"
    assert "which is the server administrator login" in result.message


def test_server_admin_check_without_the_login_in_the_catalog_is_an_error() -> None:
    assert verdict(c12d.test_application_does_not_connect_as_server_admin, app(login=None)).status == "error"


# --- 12d.db-shared-logins ---------------------------------------------------------------------


def server(engine: Engine = "postgresql", **changes: object) -> DatabaseServer:
    """Return a server with two applications on their own logins and closed databases."""
    base = DatabaseServer(
        name="pg01",
        engine=engine,
        host="db.example.nl",
        port=5432,
        databases=(Database("pg01", "shop_db"), Database("pg01", "crm_db")),
        logins=(login("shop_app"), login("crm_app")),
        applications=("crm", "shop"),
        application_logins=(("crm", "crm_app"), ("shop", "shop_app")),
        application_databases=("crm_db", "shop_db"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_server_without_shared_or_open_logins_passes() -> None:
    assert verdict(c12d.test_server_has_no_shared_or_open_logins, server()).status == "pass"


def test_two_applications_sharing_one_login_fail() -> None:
    fact = server(application_logins=(("shop", "shop_app"), ("shopadmin", "shop_app")))
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, fact)
    assert result.status == "fail"
    assert "login shop_app is used by applications shop, shopadmin" in result.message


def test_sql_server_logins_differing_in_case_are_one_shared_login() -> None:
    fact = server("sqlserver", application_logins=(("shop", "Shop_App"), ("shopadmin", "shop_app")))
    assert verdict(c12d.test_server_has_no_shared_or_open_logins, fact).status == "fail"


def test_enabled_sa_fails() -> None:
    sa = Login("sa", "sql_login", is_server_admin=True)
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, server("sqlserver", logins=(sa,)))
    assert result.status == "fail"
    assert "the server administrator login sa is enabled" in result.message


def test_enabled_renamed_sa_fails() -> None:
    renamed = Login("root_login", "sql_login", is_server_admin=True)
    assert (
        verdict(c12d.test_server_has_no_shared_or_open_logins, server("sqlserver", logins=(renamed,))).status
        == "fail"
    )


def test_disabled_sa_passes() -> None:
    sa = Login("sa", "sql_login", disabled=True, is_server_admin=True)
    assert (
        verdict(c12d.test_server_has_no_shared_or_open_logins, server("sqlserver", logins=(sa,))).status
        == "pass"
    )


def test_guest_connect_in_a_user_database_fails() -> None:
    databases = (Database("sql01", "shop_db", guest_connect=True),)
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, server("sqlserver", databases=databases))
    assert result.status == "fail"
    assert "guest has CONNECT in database shop_db" in result.message


def test_public_connect_on_an_application_database_fails() -> None:
    databases = (Database("pg01", "shop_db", public_connect=True), Database("pg01", "crm_db"))
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, server(databases=databases))
    assert result.status == "fail"
    assert "PUBLIC can CONNECT to application database shop_db" in result.message


def test_public_connect_on_a_database_no_application_uses_is_not_judged() -> None:
    databases = (Database("pg01", "scratch", public_connect=True), Database("pg01", "shop_db"))
    assert (
        verdict(c12d.test_server_has_no_shared_or_open_logins, server(databases=databases)).status == "pass"
    )


# --- applications from the inventory and discovered links -------------------------------------


def config(tmp_path: Path) -> AuditConfig:
    """Return a config with one PostgreSQL server and two applications."""
    return AuditConfig.model_validate(
        {
            "path": tmp_path / "audit.toml",
            "sha256": "0" * 64,
            "databases": [
                {"name": "pg01", "engine": "postgresql", "host": "db.example.nl", "user": "auditor"},
            ],
            "applications": [
                {"name": "shop", "server": "pg01", "database": "shop_db", "login": "shop_app"},
                {"name": "crm", "server": "pg01", "database": "crm_db", "login": "crm_app"},
            ],
        }
    )


def test_discovered_link_to_a_second_database_fails_own_database(tmp_path: Path) -> None:
    link = DatabaseLink(
        "shop", "db.example.nl", "crm_db", "shop_app", "App Service site shop, DefaultConnection"
    )
    facts = {
        a.name: a for a in application_facts(plan_applications(config(tmp_path), [link]), {"pg01": server()})
    }
    assert facts["shop"].databases_used == ("shop_db", "crm_db")
    assert facts["shop"].discovered_from == ("App Service site shop, DefaultConnection",)
    assert facts["crm"].shared_with == ("shop",)
    assert verdict(c12d.test_application_uses_one_database_of_its_own, facts["shop"]).status == "fail"
    assert verdict(c12d.test_application_uses_one_database_of_its_own, facts["crm"]).status == "fail"


def test_undeclared_discovered_application_sharing_a_database_is_judged(tmp_path: Path) -> None:
    link = DatabaseLink("intranet", "pg01", "shop_db", "intranet_app", "App Service site intranet")
    facts = {
        a.name: a for a in application_facts(plan_applications(config(tmp_path), [link]), {"pg01": server()})
    }
    assert facts["intranet"].shared_with == ("shop",)
    assert verdict(c12d.test_application_uses_one_database_of_its_own, facts["shop"]).status == "fail"


def test_discovered_link_to_an_unknown_server_is_an_error_not_a_pass(tmp_path: Path) -> None:
    link = DatabaseLink("shop", "elsewhere.example.nl", "shop_db", "shop_app", "App Service site shop")
    planned = {p.name: p for p in plan_applications(config(tmp_path), [link])}
    assert planned["shop"].error is not None
    assert "not a [[databases]] entry" in english_text(planned["shop"].error or "")
    assert "shop" not in {a.name for a in application_facts(planned.values(), {"pg01": server()})}


# --- 6b.hashed-passwords ----------------------------------------------------------------------


def column(*formats: tuple[str, int], total: int | None = None) -> PasswordColumn:
    """Return a measured password column with `formats` counts."""
    examined = sum(count for _, count in formats)
    return PasswordColumn(
        application="hr",
        server="pg01",
        database="hr_db",
        column="public.users.password_hash",
        rows_examined=examined,
        total_rows=examined if total is None else total,
        formats=formats,
        sampled=total is not None and total > examined,
    )


def test_column_of_only_password_hashes_passes() -> None:
    result, evidence = verdict_and_evidence(
        c6b.test_password_column_holds_only_password_hashes, column(("bcrypt", 3), ("pbkdf2-django", 2))
    )
    assert result.status == "pass"
    assert evidence.observations["formats"] == {"bcrypt": 3, "pbkdf2-django": 2}


def test_plain_text_among_hashes_fails() -> None:
    fact = column(("bcrypt", 2), ("pbkdf2-django", 1), ("unrecognised", 2))
    result = verdict(c6b.test_password_column_holds_only_password_hashes, fact)
    assert result.status == "fail"
    assert "2 values not a recognised password hash (5 rows examined)" in result.message
    assert "public.users.password_hash in database hr_db on server pg01" in result.message


def test_empty_password_values_fail() -> None:
    result = verdict(c6b.test_password_column_holds_only_password_hashes, column(("bcrypt", 2), ("empty", 1)))
    assert result.status == "fail"
    assert "1 value empty" in result.message


def test_sampled_column_says_how_much_was_examined() -> None:
    fact = column(("bcrypt", 9), ("unrecognised", 1), total=5000)
    result = verdict(c6b.test_password_column_holds_only_password_hashes, fact)
    assert result.status == "fail"
    assert "10 of 5,000 rows examined" in result.message


def test_column_without_rows_is_not_applicable_not_a_pass() -> None:
    assert verdict(c6b.test_password_column_holds_only_password_hashes, column()).status == "not_applicable"


# --- 6e.message-retention ---------------------------------------------------------------------


def messages(delivered: float | None, failed: float | None) -> MessageStore:
    """Return a message store whose oldest delivered and failed messages have these ages (days)."""
    return MessageStore(
        application="synda",
        server="pg01",
        database="synda_db",
        measured_by="table public.messages (status, created_at)",
        ages=(
            MessageAge("delivered", 0 if delivered is None else 4, delivered),
            MessageAge("failed", 0 if failed is None else 2, failed),
        ),
    )


def test_fresh_messages_pass() -> None:
    result, evidence = verdict_and_evidence(
        c6e.test_messages_are_deleted_in_time, messages(6.5, 29.0), policy=Policy()
    )
    assert result.status == "pass"
    assert evidence.observations["oldest_delivered_age_days"] == 6.5
    assert evidence.observations["failed_count"] == 2


def test_messages_exactly_at_the_limit_pass() -> None:
    assert (
        verdict(c6e.test_messages_are_deleted_in_time, messages(7.0, 30.0), policy=Policy()).status == "pass"
    )


def test_no_messages_at_all_pass() -> None:
    assert (
        verdict(c6e.test_messages_are_deleted_in_time, messages(None, None), policy=Policy()).status == "pass"
    )


def test_delivered_message_older_than_seven_days_fails() -> None:
    result = verdict(c6e.test_messages_are_deleted_in_time, messages(9.0, 1.0), policy=Policy())
    assert result.status == "fail"
    assert "the oldest delivered message is 9 days old (at most 7 allowed" in result.message


def test_failed_message_older_than_thirty_days_fails() -> None:
    result = verdict(c6e.test_messages_are_deleted_in_time, messages(1.0, 31.0), policy=Policy())
    assert result.status == "fail"
    assert "the oldest failed message is 31 days old (at most 30 allowed" in result.message


def test_policy_thresholds_are_used() -> None:
    policy = Policy(delivered_message_max_days=3, failed_message_max_days=10)
    assert verdict(c6e.test_messages_are_deleted_in_time, messages(4.0, 1.0), policy=policy).status == "fail"
    assert verdict(c6e.test_messages_are_deleted_in_time, messages(1.0, 11.0), policy=policy).status == "fail"


def test_unmeasured_message_kind_is_an_error() -> None:
    store = dataclasses.replace(messages(1.0, 1.0), ages=(MessageAge("delivered", 1, 1.0),))
    result = verdict(c6e.test_messages_are_deleted_in_time, store, policy=Policy())
    assert result.status == "error"
    assert "the failed messages were not measured" in result.message


def test_counted_messages_without_an_age_are_an_error_not_none_too_old() -> None:
    """Fail-closed review: an age the reader could not measure is never read as 'not too old'."""
    store = dataclasses.replace(
        messages(6.5, 29.0), ages=(MessageAge("delivered", 4, 6.5), MessageAge("failed", 2, None))
    )
    result = verdict(c6e.test_messages_are_deleted_in_time, store, policy=Policy())
    assert result.status == "error"
    assert "2 failed messages were counted but their age was not measured" in result.message


def test_ravendb_certificate_with_admin_access_to_its_own_database_fails() -> None:
    """Fail-closed review: RavenDB's Admin access is the owner's power, like db_owner (was a pass)."""
    admin = login("A1B2C3", DatabaseAccess("Shop", "certificate permission", ("Admin",)))
    fact = app("ravendb", database="Shop", identity="A1B2C3", databases_used=("Shop",), login=admin)
    result = verdict(c12d.test_application_login_reaches_its_own_database_only, fact)
    assert result.status == "fail"
    assert "is Admin of its own database Shop" in result.message


def test_ravendb_certificate_with_read_write_access_to_its_own_database_passes() -> None:
    access = login("A1B2C3", DatabaseAccess("Shop", "certificate permission", ("ReadWrite",)))
    fact = app("ravendb", database="Shop", identity="A1B2C3", databases_used=("Shop",), login=access)
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, fact).status == "pass"
