"""11.terminated-data-removed: an application whose agreement ended has no database left on its server.

Unit verdicts on the fact, the fact derived from what the database collectors read (a server that
could not be read, or whose list of databases is narrowed past the application's, is `error`),
and a run against real PostgreSQL clusters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from collectors.config.policy import Policy
from collectors.databases.facts import SERVERS, DatabaseServer
from collectors.databases.termination import (
    TERMINATED_APPLICATIONS,
    TerminatedApplication,
    collect_terminated_applications,
)
from collectors.facts import FactStore, observed, unobservable
from collectors.messages import english_text
from controls import test_11_backup_retention as c11
from controls.harness.config_file import load_config
from demo.standins.postgres_clusters import (
    AUDITOR_PASSWORD,
    PASSWORD_ENV,
    PlantedClusters,
    databases_toml,
    planted_clusters,
)
from tests.audit_runs import run_audit
from tests.control_calls import verdict

CONTROL = c11.test_terminated_application_has_no_database_left
ENDED = date(2026, 8, 31)


def _application(
    *databases: str, engine: str = "postgresql", database: str = "crm_db"
) -> TerminatedApplication:
    return TerminatedApplication(
        name="crm",
        server="pg1",
        engine=engine,  # type: ignore[arg-type]
        database=database,
        terminated_on=ENDED,
        server_databases=databases,
    )


def test_a_database_left_after_the_deletion_was_due_fails() -> None:
    result = verdict(CONTROL, _application("crm_db", "shop_db"), policy=Policy(), run_date=date(2026, 11, 29))
    assert result.status == "fail"
    assert "crm_db of crm is still on pg1, 90 day(s) after its deletion was due" in result.message


def test_a_terminated_application_without_its_database_passes() -> None:
    assert (
        verdict(CONTROL, _application("shop_db"), policy=Policy(), run_date=date(2026, 11, 29)).status
        == "pass"
    )


def test_before_the_agreed_period_has_passed_it_is_not_applicable_and_says_when() -> None:
    policy = Policy(termination_delete_days=120)
    result = verdict(CONTROL, _application("crm_db"), policy=policy, run_date=date(2026, 11, 29))
    assert result.status == "not_applicable"
    assert "must be gone by 2026-12-29" in result.message


def test_sql_server_database_names_are_compared_without_case() -> None:
    left = _application("CRM_DB", engine="sqlserver")
    assert verdict(CONTROL, left, policy=Policy(), run_date=date(2026, 11, 29)).status == "fail"
    postgres = _application("CRM_DB", engine="postgresql")
    assert verdict(CONTROL, postgres, policy=Policy(), run_date=date(2026, 11, 29)).status == "pass"


CONFIG = """
[[databases]]
name = "pg1"
engine = "postgresql"
host = "127.0.0.1"
user = "auditor"
password_env = "PG"
{listed}

[[applications]]
name = "crm"
server = "pg1"
database = "crm_db"
login = "crm_app"
terminated_on = 2026-08-31

[[applications]]
name = "shop"
server = "pg1"
database = "shop_db"
login = "shop_app"
"""


def _derived(tmp_path: Path, server: object, listed: str = "") -> dict[str, object]:
    path = tmp_path / "audit.toml"
    path.write_text(CONFIG.format(listed=listed), encoding="utf-8")
    config = load_config(path)
    store = FactStore()
    store.population(SERVERS).add(server)  # type: ignore[arg-type]
    collect_terminated_applications(config, store)
    return {s.id: s for s in store.population(TERMINATED_APPLICATIONS).subjects}


def test_only_terminated_applications_are_items_and_carry_the_servers_databases(tmp_path: Path) -> None:
    server = DatabaseServer(name="pg1", engine="postgresql", host="127.0.0.1", port=5432)
    subjects = _derived(tmp_path, observed("pg1", server))
    assert list(subjects) == ["crm"], "shop's agreement has not ended"


def test_an_unread_server_makes_the_terminated_application_error(tmp_path: Path) -> None:
    subjects = _derived(tmp_path, unobservable("pg1", "connection refused"))
    error = subjects["crm"].error  # type: ignore[attr-defined]
    assert error is not None
    assert "whether crm_db is gone cannot be judged" in english_text(error)
    assert "connection refused" in english_text(error)


def test_a_server_read_narrowed_past_the_database_is_error_not_a_pass(tmp_path: Path) -> None:
    server = DatabaseServer(name="pg1", engine="postgresql", host="127.0.0.1", port=5432)
    subjects = _derived(tmp_path, observed("pg1", server), listed='databases = ["shop_db"]')
    error = subjects["crm"].error  # type: ignore[attr-defined]
    assert error is not None
    assert "reads only the databases shop_db" in english_text(error)


@pytest.fixture(scope="module")
def clusters() -> Iterator[PlantedClusters]:
    with planted_clusters() as running:
        yield running


def test_real_postgresql_terminated_application_with_its_database_left_fails(
    clusters: PlantedClusters, tmp_path: Path
) -> None:
    config = "[probing]\nenabled = false\n" + databases_toml(clusters).replace(
        'database = "crm_db"\n', 'database = "crm_db"\nterminated_on = 2026-08-31\n', 1
    ).replace('database = "webshop_db"\n', 'database = "webshop_db"\nterminated_on = 2026-11-28\n', 1)
    run = run_audit(tmp_path, config, env={PASSWORD_ENV: AUDITOR_PASSWORD})
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.result("11.terminated-data-removed", "crm")["status"] == "fail"
    webshop = run.result("11.terminated-data-removed", "webshop")
    assert webshop["status"] == "fail", (
        "deletion is due the day the agreement ends (termination_delete_days 0)"
    )
    assert not [
        r
        for r in run.bundle["results"]
        if r["control"] == "11.terminated-data-removed" and r["resource"] == "billing"
    ]
