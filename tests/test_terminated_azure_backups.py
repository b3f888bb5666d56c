"""11.terminated-data-removed on Azure SQL: the long-term retention backups of a terminated application's
database are gone three months after its deletion was due.

Unit verdicts on the fact; the fact derived from the Azure SQL servers read (matched by host name;
not found, not listed or Azure out of scope is `error`, never "no backups"); and the real
azure-mgmt-sql client listing `longTermRetentionBackups` from the HTTPS ARM emulator, shaped like
Microsoft's LongTermRetentionBackupListByServer example (plus the expiry and legal-hold fields
that api-version 2025-01-01 returns).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.facts import SQL_LTR_BACKUPS, SQL_SERVERS, LtrBackup, SqlLtrBackups, SqlServer
from collectors.azure.sql import SqlCollector
from collectors.azure.sql_governance import SqlGovernanceCollector
from collectors.config.policy import Policy
from collectors.databases.facts import SERVERS, Database, DatabaseServer
from collectors.databases.termination import (
    TERMINATED_APPLICATIONS,
    TerminatedApplication,
    collect_terminated_applications,
)
from collectors.facts import FactStore, observed, unobservable
from collectors.messages import english_text
from controls import test_11_backup_retention as c11
from controls.harness.config_file import load_config
from demo.standins.arm_emulator import ArmEmulator, Fault, load_estate
from tests.audit_runs import DEMO, SUB_PROD
from tests.control_calls import verdict
from tests.test_identity_sql_collectors import collect

CONTROL = c11.test_terminated_application_has_no_database_left
ENDED = date(2026, 5, 29)
"""Deletion due the same day (termination_delete_days 0); the backups must be gone by 2026-08-29."""
SERVER_ID = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-prod-weu"
HOST = "sql-prod-weu.database.windows.net"


def _backup(
    expires: datetime | None = datetime(2026, 8, 20, tzinfo=UTC), legal_hold: str | None = "Disabled"
) -> LtrBackup:
    return LtrBackup(
        name="55555555-6666-7777-8888-999999999999;131637960820000000",
        database_name="archive",
        backup_time=datetime(2026, 5, 24, 2, 0, tzinfo=UTC),
        expiration_time=expires,
        database_deletion_time=datetime(2026, 5, 29, 9, 0, tzinfo=UTC),
        legal_hold=legal_hold,
        time_based_immutability=None,
    )


def _application(*backups: LtrBackup, known: bool = True, left: bool = False) -> TerminatedApplication:
    return TerminatedApplication(
        name="archive",
        server="sql-weu",
        engine="azuresql",
        database="archive",
        terminated_on=ENDED,
        server_databases=("shop", "ARCHIVE") if left else ("shop",),
        long_term_backups=tuple(backups) if known else None,
        long_term_backups_error=None if known else "HTTP 403 AuthorizationFailed",
    )


def _status(application: TerminatedApplication, run_date: date) -> tuple[str, str]:
    result = verdict(CONTROL, application, policy=Policy(), run_date=run_date)
    return result.status, result.message


# --- the control ----------------------------------------------------------------------------------


def test_no_long_term_backup_left_passes() -> None:
    assert _status(_application(), date(2026, 11, 29))[0] == "pass"


def test_a_long_term_backup_kept_past_three_months_fails() -> None:
    status, message = _status(_application(_backup()), date(2026, 11, 29))
    assert status == "fail"
    assert "must be gone by 2026-08-29" in message
    assert "the backup of 2026-05-24 is still kept" in message


def test_a_backup_expiring_after_the_three_months_fails_before_the_date() -> None:
    late = _backup(expires=datetime(2027, 5, 24, tzinfo=UTC))
    status, message = _status(_application(late), date(2026, 6, 10))
    assert status == "fail"
    assert "expires on 2027-05-24" in message


def test_a_backup_expiring_in_time_passes_before_the_date() -> None:
    assert _status(_application(_backup()), date(2026, 6, 10))[0] == "pass"


def test_a_backup_under_legal_hold_fails_although_it_expires_in_time() -> None:
    status, message = _status(_application(_backup(legal_hold="Enabled")), date(2026, 6, 10))
    assert status == "fail"
    assert "legal hold" in message


def test_a_backup_whose_expiry_is_not_reported_is_error_not_a_pass() -> None:
    status, message = _status(_application(_backup(expires=None)), date(2026, 6, 10))
    assert status == "error"
    assert "reports no backupExpirationTime" in message


def test_backups_that_could_not_be_listed_are_error() -> None:
    status, message = _status(_application(known=False), date(2026, 11, 29))
    assert status == "error"
    assert "HTTP 403" in message


def test_a_database_left_fails_even_when_its_backups_could_not_be_listed() -> None:
    status, message = _status(_application(known=False, left=True), date(2026, 11, 29))
    assert status == "fail"
    assert "still on sql-weu" in message


def test_before_the_deletion_date_with_clean_backups_it_is_not_applicable() -> None:
    application = _application(_backup())
    result = verdict(
        CONTROL, application, policy=Policy(termination_delete_days=30), run_date=date(2026, 6, 10)
    )
    assert result.status == "not_applicable"


def test_the_three_months_follow_policy_backup_max_retention() -> None:
    application = _application(_backup(expires=datetime(2026, 7, 30, tzinfo=UTC)))
    result = verdict(
        CONTROL, application, policy=Policy(backup_max_retention="P1M"), run_date=date(2026, 6, 10)
    )
    assert result.status == "fail", "2026-05-29 + P1M = 2026-06-29 < 2026-07-30"
    assert c11.backups_gone_by(date(2026, 11, 30), "P3M") == date(2027, 2, 28)


# --- the fact: Azure SQL servers matched by host name ---------------------------------------------------

CONFIG = """
[[databases]]
name = "sql-weu"
engine = "azuresql"
host = "SQL-PROD-WEU.database.windows.net"
user = "audit_reader"
password_env = "PW"

[[applications]]
name = "archive"
server = "sql-weu"
database = "archive"
login = "archive_app"
terminated_on = 2026-05-29
"""


def _server() -> SqlServer:
    return SqlServer(SERVER_ID, "sql-prod-weu", SUB_PROD, "rg-web", "westeurope", HOST, "1.2", "Disabled")


def _derive(tmp_path: Path, store: FactStore) -> Any:
    path = tmp_path / "audit.toml"
    path.write_text(CONFIG, encoding="utf-8")
    database_server = DatabaseServer(
        name="sql-weu", engine="azuresql", host=HOST, port=1433, databases=(Database("sql-weu", "shop"),)
    )
    store.population(SERVERS).add(observed("sql-weu", database_server))
    collect_terminated_applications(load_config(path), store)
    (subject,) = store.population(TERMINATED_APPLICATIONS).subjects
    assert subject.error is None, subject.error
    return subject.fact


def test_the_backups_of_the_applications_database_are_attached_by_host_name(tmp_path: Path) -> None:
    store = FactStore()
    store.population(SQL_SERVERS).add(observed(SERVER_ID, _server()))
    other = LtrBackup("x", "shop", None, None, None, None, None)
    backups = SqlLtrBackups(SERVER_ID, "sql-prod-weu", HOST, "westeurope", (_backup(), other))
    store.population(SQL_LTR_BACKUPS).add(observed(SERVER_ID, backups))
    fact = _derive(tmp_path, store)
    assert fact.long_term_backups == (_backup(),), "only the application's own database, names without case"


def test_azure_out_of_scope_makes_the_backups_unknown(tmp_path: Path) -> None:
    fact = _derive(tmp_path, FactStore())
    assert fact.long_term_backups is None
    assert "Azure is not read in this run" in english_text(fact.long_term_backups_error)


def test_a_server_not_among_those_read_makes_the_backups_unknown(tmp_path: Path) -> None:
    store = FactStore()
    store.population(SQL_SERVERS)
    store.population(SQL_LTR_BACKUPS)
    fact = _derive(tmp_path, store)
    assert "is not among the Azure SQL servers read" in english_text(fact.long_term_backups_error)


def test_a_listing_that_failed_makes_the_backups_unknown(tmp_path: Path) -> None:
    store = FactStore()
    store.population(SQL_SERVERS).add(observed(SERVER_ID, _server()))
    store.population(SQL_LTR_BACKUPS).add(unobservable(SERVER_ID, "HTTP 403 AuthorizationFailed"))
    fact = _derive(tmp_path, store)
    assert fact.long_term_backups is None
    assert fact.long_term_backups_error == "HTTP 403 AuthorizationFailed"


# --- the collector: the real SDK against the ARM emulator -------------------------------------------------

LTR_SERVER = f"/subscriptions/{SUB_PROD}/providers/Microsoft.Sql/locations/westeurope/longTermRetentionServers/sql-prod-weu"
BACKUP_TYPE = (
    "Microsoft.Sql/locations/longTermRetentionServers/longTermRetentionDatabases/longTermRetentionBackups"
)


def _backup_resource(database: str, name: str, **properties: Any) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "serverName": "sql-prod-weu",
        "serverCreateTime": "2024-03-10T08:00:00Z",
        "databaseName": database,
        "databaseDeletionTime": None,
        "backupTime": "2026-05-24T02:00:00Z",
        "backupExpirationTime": "2026-08-16T02:00:00Z",
        "backupStorageRedundancy": "Geo",
        "isBackupImmutable": False,
        "legalHoldImmutability": "Disabled",
    }
    shaped.update(properties)
    return {
        "id": f"{LTR_SERVER}/longTermRetentionDatabases/{database}/longTermRetentionBackups/{name}",
        "name": name,
        "type": BACKUP_TYPE,
        "properties": shaped,
    }


def _estate(*backups: dict[str, Any]) -> dict[str, Any]:
    estate = copy.deepcopy(load_estate(DEMO / "estate"))
    estate["resources"].extend(backups)
    return estate


ARCHIVE = _backup_resource(
    "archive",
    "55555555-6666-7777-8888-999999999999;133950000000000000",
    databaseDeletionTime="2026-05-29T09:00:00Z",
    backupExpirationTime="2027-05-24T02:00:00Z",
)
EMMA = _backup_resource("emma", "12341234-1234-1234-1234-123123123123;133951000000000000")


@pytest.mark.integration
def test_the_sdk_lists_the_backups_of_live_and_deleted_databases(tmp_path: Path) -> None:
    with ArmEmulator(_estate(ARCHIVE, EMMA), page_size=1) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    subjects = {s.id: s for s in store.population(SQL_LTR_BACKUPS).subjects}
    fact = subjects[SERVER_ID].fact
    assert isinstance(fact, SqlLtrBackups)
    assert {b.database_name for b in fact.backups} == {"archive", "emma"}, "both pages, both database states"
    archive = next(b for b in fact.backups if b.database_name == "archive")
    assert archive.expiration_time == datetime(2027, 5, 24, 2, 0, tzinfo=UTC)
    assert archive.database_deletion_time == datetime(2026, 5, 29, 9, 0, tzinfo=UTC)
    assert all(s.error is None for s in subjects.values()), "servers without backups list an empty set"
    assert all(isinstance(s.fact, SqlLtrBackups) for s in subjects.values())
    application = _derive(tmp_path, store)
    assert verdict(CONTROL, application, policy=Policy(), run_date=date(2026, 11, 29)).status == "fail"


@pytest.mark.integration
def test_a_backup_that_names_no_database_makes_its_server_error() -> None:
    nameless = _backup_resource("archive", "1;2", databaseName=None)
    with ArmEmulator(_estate(nameless), page_size=0) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    subject = next(s for s in store.population(SQL_LTR_BACKUPS).subjects if s.id == SERVER_ID)
    assert subject.error is not None
    assert "databaseName is not reported" in english_text(subject.error)


@pytest.mark.integration
def test_an_expiry_that_is_not_a_time_makes_its_server_error() -> None:
    odd = _backup_resource("archive", "1;2", backupExpirationTime="next spring")
    with ArmEmulator(_estate(odd), page_size=0) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    subject = next(s for s in store.population(SQL_LTR_BACKUPS).subjects if s.id == SERVER_ID)
    assert subject.error is not None
    assert "not a time" in english_text(subject.error)


@pytest.mark.integration
def test_a_listing_refused_makes_exactly_its_server_error() -> None:
    fault = Fault(path=r"/longTermRetentionServers/sql-prod-weu/longTermRetentionBackups$", status=403)
    with ArmEmulator(_estate(ARCHIVE), faults=[fault]) as emulator:
        store = collect(emulator, [SqlCollector, SqlGovernanceCollector])
    errors = [s.id for s in store.population(SQL_LTR_BACKUPS).subjects if s.error is not None]
    assert errors == [SERVER_ID]
