"""The PostgreSQL collector and the 12d/6b/6e controls against real PostgreSQL clusters.

One cluster is planted with every fault of issue 6, the other is clean (demo/standins/postgres_clusters.py).
The controls are reached through their modules so pytest does not collect them here.
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from collectors.databases import postgresql
from collectors.databases.collect import DatabasesScope, collect_databases
from collectors.databases.facts import (
    APPLICATIONS,
    DATABASE_POPULATIONS,
    MESSAGE_STORES,
    PASSWORD_COLUMNS,
    SERVERS,
    DatabaseServer,
    PasswordColumn,
)
from collectors.databases.reading import CatalogError
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from collectors.recording import Recording
from controls import test_6b_hashed_passwords as c6b
from controls import test_6e_message_retention as c6e
from controls import test_12d_one_database_per_application as c12d
from controls.framework import Verdict
from controls.harness.config_file import AuditConfig, load_config
from demo.standins.postgres_clusters import (
    AUDITOR,
    AUDITOR_PASSWORD,
    PASSWORD_ENV,
    PLAIN_CANARY,
    PlantedClusters,
    databases_toml,
    planted_clusters,
)
from demo.standins.postgres_server import running_postgres
from reports.evidence import utc_now
from tests.control_calls import verdict

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_clusters() -> Iterator[PlantedClusters]:
    """The planted and the clean cluster, for this module."""
    with planted_clusters() as clusters:
        yield clusters


@dataclass
class Collected:
    """One collection of both clusters: the config, facts, scope and recording."""

    config: AuditConfig
    store: FactStore
    scope: DatabasesScope
    recording: Recording

    def subject(self, population: str, subject_id: str) -> Subject[Any]:
        """Return the subject `subject_id` of `population`."""
        found = self.store.get(population)
        assert found is not None, population
        for subject in found.subjects:
            if subject.id == subject_id:
                return subject
        raise AssertionError(f"{population}: no subject {subject_id} in {[s.id for s in found.subjects]}")

    def fact(self, population: str, subject_id: str) -> Any:
        """Return the fact of a subject that must have been collected."""
        subject = self.subject(population, subject_id)
        assert subject.error is None, subject.error
        return subject.fact


def write_config(folder: Path, text: str) -> AuditConfig:
    """Write `text` as folder/audit.toml and return it loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "audit.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def collect(
    config: AuditConfig, *, replay: Recording | None = None, password: str | None = AUDITOR_PASSWORD
) -> Collected:
    """Collect the databases of `config` with the auditor's password in the environment."""
    saved = os.environ.pop(PASSWORD_ENV, None)
    if password is not None:
        os.environ[PASSWORD_ENV] = password
    try:
        store = FactStore()
        recording = Recording(endpoint="", run_date="2026-11-29")
        scope = collect_databases(
            config, store, recording=None if replay else recording, replay=replay, progress=lambda line: None
        )
    finally:
        os.environ.pop(PASSWORD_ENV, None)
        if saved is not None:
            os.environ[PASSWORD_ENV] = saved
    return Collected(config, store, scope, recording)


@pytest.fixture(scope="module")
def collected(postgres_clusters: PlantedClusters, tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """Both clusters collected once, live."""
    return collect(write_config(tmp_path_factory.mktemp("pg-config"), databases_toml(postgres_clusters)))


def app_verdict(collected: Collected, control: Any, name: str) -> Verdict:
    return verdict(control, collected.fact(APPLICATIONS, name))


# --- 12d on the planted cluster ---------------------------------------------------------------


def test_superuser_application_login_fails(collected: Collected) -> None:
    result = app_verdict(collected, c12d.test_application_login_reaches_its_own_database_only, "billing")
    assert result.status == "fail"
    assert "holds server-wide SUPERUSER" in result.message


def test_createrole_application_login_fails(collected: Collected) -> None:
    result = app_verdict(collected, c12d.test_application_login_reaches_its_own_database_only, "crm")
    assert result.status == "fail"
    assert "holds server-wide CREATEROLE" in result.message
    assert "is OWNER of its own database crm_db" in result.message
    assert "a waiver can accept it" in result.message


def test_two_applications_sharing_a_login_fail_on_the_server(collected: Collected) -> None:
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, collected.fact(SERVERS, "pg-planted"))
    assert result.status == "fail"
    assert "login shop_app is used by applications shop, shopadmin" in result.message
    shop = app_verdict(collected, c12d.test_application_login_reaches_its_own_database_only, "shop")
    assert shop.status == "fail"
    assert "shopadmin_db (CONNECT granted to the login)" in shop.message


def test_application_able_to_connect_to_another_database_through_public_fails(collected: Collected) -> None:
    result = app_verdict(collected, c12d.test_application_login_reaches_its_own_database_only, "portal")
    assert result.status == "fail"
    assert "can reach other databases: hr_db (CONNECT granted to PUBLIC)" in result.message
    server = verdict(c12d.test_server_has_no_shared_or_open_logins, collected.fact(SERVERS, "pg-planted"))
    assert "PUBLIC can CONNECT to application database hr_db" in server.message


def test_application_whose_database_is_open_to_public_still_reaches_only_its_own(
    collected: Collected,
) -> None:
    assert (
        app_verdict(collected, c12d.test_application_login_reaches_its_own_database_only, "hr").status
        == "pass"
    )


def test_database_used_by_two_applications_fails_for_both(collected: Collected) -> None:
    for name, other in (("reports", "analytics"), ("analytics", "reports")):
        result = app_verdict(collected, c12d.test_application_uses_one_database_of_its_own, name)
        assert result.status == "fail"
        assert f"shares its database with {other}" in result.message
    assert (
        app_verdict(collected, c12d.test_application_uses_one_database_of_its_own, "billing").status == "pass"
    )


def test_application_connecting_as_postgres_fails(collected: Collected) -> None:
    result = app_verdict(collected, c12d.test_application_does_not_connect_as_server_admin, "legacy")
    assert result.status == "fail"
    assert (
        app_verdict(collected, c12d.test_application_does_not_connect_as_server_admin, "billing").status
        == "pass"
    )


def test_bootstrap_superuser_is_the_server_admin(collected: Collected) -> None:
    server: DatabaseServer = collected.fact(SERVERS, "pg-planted")
    admin = server.login("postgres")
    assert admin is not None
    assert admin.is_server_admin
    assert server.admin_login == "postgres"
    assert {db.name for db in server.databases} >= {"hr_db", "portal_db"}
    assert not {"postgres", "template0", "template1"} & {db.name for db in server.databases}


# --- 6b and 6e on the planted cluster ---------------------------------------------------------


def test_plain_text_among_bcrypt_and_pbkdf2_fails(collected: Collected) -> None:
    fact = collected.fact(PASSWORD_COLUMNS, "pg-planted/hr_db/public.users.password_hash")
    assert dict(fact.formats) == {"bcrypt": 2, "pbkdf2-django": 1, "unrecognised": 2}
    result = verdict(c6b.test_password_column_holds_only_password_hashes, fact)
    assert result.status == "fail"
    assert PLAIN_CANARY not in repr(fact) + result.message


def test_old_delivered_and_failed_messages_fail(collected: Collected) -> None:
    fact = collected.fact(MESSAGE_STORES, "pg-planted/portal_db/portal")
    delivered, failed = fact.age("delivered"), fact.age("failed")
    assert (delivered.count, failed.count) == (2, 1)
    assert 8.99 < delivered.oldest_age_days < 9.01
    assert 30.99 < failed.oldest_age_days < 31.01
    result = verdict(c6e.test_messages_are_deleted_in_time, fact, policy=collected.config.policy)
    assert result.status == "fail"
    assert "oldest delivered message is 9 days old" in result.message
    assert "oldest failed message is 31 days old" in result.message


# --- the clean cluster passes everything -------------------------------------------------------


def test_clean_setup_passes_every_control(collected: Collected) -> None:
    for name in ("webshop", "synda"):
        for control in (
            c12d.test_application_uses_one_database_of_its_own,
            c12d.test_application_login_reaches_its_own_database_only,
            c12d.test_application_does_not_connect_as_server_admin,
        ):
            result = app_verdict(collected, control, name)
            assert result.status == "pass", (name, result)
    assert (
        verdict(c12d.test_server_has_no_shared_or_open_logins, collected.fact(SERVERS, "pg-clean")).status
        == "pass"
    )
    column = collected.fact(PASSWORD_COLUMNS, "pg-clean/webshop_db/public.customers.password_hash")
    assert verdict(c6b.test_password_column_holds_only_password_hashes, column).status == "pass"
    store = collected.fact(MESSAGE_STORES, "pg-clean/synda_db/synda")
    assert store.measured_by == "configured queries"
    assert (
        verdict(c6e.test_messages_are_deleted_in_time, store, policy=collected.config.policy).status == "pass"
    )


# --- collection behaviour ---------------------------------------------------------------------


def test_scope_lists_servers_without_secrets(collected: Collected) -> None:
    scope = collected.scope.as_json()
    servers = cast(list[dict[str, object]], scope["servers"])
    assert [s["name"] for s in servers] == ["pg-planted", "pg-clean"]
    assert all(s["status"] == "ok" for s in servers)
    assert scope["applications"] == 11
    assert AUDITOR_PASSWORD not in json.dumps(scope)


def test_recording_holds_counts_never_a_secret_or_value(collected: Collected) -> None:
    text = json.dumps(collected.recording.databases)
    assert "pg-planted" in text
    assert AUDITOR_PASSWORD not in text
    assert PLAIN_CANARY not in text
    assert "hunter2" not in text


def test_replay_gives_the_same_facts(collected: Collected, tmp_path: Path) -> None:
    path = tmp_path / "recording.json"
    collected.recording.save(path)
    replayed = collect(collected.config, replay=Recording.load(path), password=None)
    for name in DATABASE_POPULATIONS:
        live, again = collected.store.get(name), replayed.store.get(name)
        assert live is not None
        assert again is not None
        assert [(s.id, s.fact, s.error, s.sources) for s in live.subjects] == [
            (s.id, s.fact, s.error, s.sources) for s in again.subjects
        ], name


def test_sources_name_the_queries_and_hash_the_rows(collected: Collected) -> None:
    subject = collected.subject(SERVERS, "pg-planted")
    (source,) = subject.sources
    assert source.call.startswith(f"postgresql {AUDITOR}@127.0.0.1:")
    assert "roles" in source.call
    assert "connect_privileges" in source.call
    assert len(source.sha256) == 64


def test_missing_password_variable_errors_every_subject_of_that_server(
    postgres_clusters: PlantedClusters, tmp_path: Path
) -> None:
    config = write_config(tmp_path, databases_toml(postgres_clusters))
    result = collect(config, password=None)
    for name in (SERVERS, APPLICATIONS, PASSWORD_COLUMNS, MESSAGE_STORES):
        population = result.store.get(name)
        assert population is not None
        assert population.subjects
        for subject in population.subjects:
            assert subject.error is not None, (name, subject.id)
            assert PASSWORD_ENV in english_text(subject.error)


def test_wrong_password_is_an_error_that_never_echoes_it(
    postgres_clusters: PlantedClusters, tmp_path: Path
) -> None:
    config = write_config(tmp_path, databases_toml(postgres_clusters))
    result = collect(config, password="wrong-canary-pw-1c2d")
    error = english_text(result.subject(SERVERS, "pg-planted").error or "")
    assert error is not None
    assert error.startswith("database server pg-planted (127.0.0.1:")
    assert "connect: " in error
    assert "password authentication failed" in error
    assert "wrong-canary-pw-1c2d" not in json.dumps(result.recording.databases)
    assert "wrong-canary-pw-1c2d" not in error


def test_unreachable_server_is_an_error_for_its_subjects_only(
    postgres_clusters: PlantedClusters, tmp_path: Path
) -> None:
    text = databases_toml(postgres_clusters).replace(
        f"port = {postgres_clusters.planted.port}", "port = 1", 1
    )
    result = collect(write_config(tmp_path, text))
    assert result.subject(SERVERS, "pg-planted").error is not None
    assert result.subject(APPLICATIONS, "billing").error is not None
    assert result.subject(SERVERS, "pg-clean").error is None
    assert result.subject(APPLICATIONS, "webshop").error is None
    servers = cast(list[dict[str, object]], result.scope.as_json()["servers"])
    assert [s["status"] for s in servers] == ["error", "ok"]


def test_no_databases_in_the_config_is_out_of_scope(tmp_path: Path) -> None:
    result = collect(write_config(tmp_path, ""))
    for name in DATABASE_POPULATIONS:
        population = result.store.get(name)
        assert population is not None
        assert english_text(population.out_of_scope or "") == (
            "databases are out of scope: the config has no [[databases]]"
        )


# --- the reader's own guarantees ----------------------------------------------------------------


@pytest.fixture
def clean_entry(postgres_clusters: PlantedClusters, tmp_path: Path) -> AuditConfig:
    """The config of both clusters, for calling the reader directly."""
    return write_config(tmp_path, databases_toml(postgres_clusters))


def _reader_args(config: AuditConfig, server: str) -> tuple[Any, list[Any]]:
    entry = next(e for e in config.databases if e.name == server)
    return entry, [a for a in config.applications if a.server == server]


def test_session_is_read_only_even_for_a_configured_query_that_writes(
    clean_entry: AuditConfig, postgres_clusters: PlantedClusters
) -> None:
    entry, apps = _reader_args(clean_entry, "pg-clean")
    synda = next(a for a in apps if a.name == "synda")
    assert synda.retention is not None
    writing = synda.retention.model_copy(
        update={
            "delivered_query": "WITH d AS (DELETE FROM synda.messages RETURNING sent_at) SELECT count(*), min(sent_at) FROM d"
        }
    )
    rows = postgresql.READER.fetch(
        entry, [synda.model_copy(update={"retention": writing})], clean_entry.policy, AUDITOR_PASSWORD
    )
    delivered = next(r for r in rows["message_ages"] if r["kind"] == "delivered")
    assert "read-only transaction" in delivered["error"]
    assert "SQLSTATE 25006" in delivered["error"]
    with postgres_clusters.clean.connect("synda_db") as conn:
        assert conn.execute("SELECT count(*) FROM synda.messages").fetchone() == (2,)


def test_statement_timeout_fails_that_measurement_only(clean_entry: AuditConfig) -> None:
    entry, apps = _reader_args(clean_entry, "pg-clean")
    synda = next(a for a in apps if a.name == "synda")
    assert synda.retention is not None
    slow = synda.retention.model_copy(update={"failed_query": "SELECT count(*), min(now()) FROM pg_sleep(5)"})
    rows = postgresql.READER.fetch(
        entry.model_copy(update={"timeout_seconds": 0.5}),
        [synda.model_copy(update={"retention": slow})],
        clean_entry.policy,
        AUDITOR_PASSWORD,
    )
    by_kind = {r["kind"]: r for r in rows["message_ages"]}
    assert "SQLSTATE 57014" in by_kind["failed"]["error"]
    assert by_kind["delivered"]["count"] == 1
    assert rows["roles"]


def test_missing_password_column_is_an_error_for_that_column_only(clean_entry: AuditConfig) -> None:
    entry, apps = _reader_args(clean_entry, "pg-clean")
    webshop = next(a for a in apps if a.name == "webshop")
    changed = webshop.model_copy(
        update={"password_columns": ["public.customers.nope", "public.customers.password_hash"]}
    )
    rows = postgresql.READER.fetch(entry, [changed], clean_entry.policy, AUDITOR_PASSWORD)
    first, second = rows["password_columns"]
    assert 'column "nope" does not exist' in first["error"]
    assert second["formats"] == {"bcrypt": 1, "pbkdf2-aspnet-identity-v3": 1, "pbkdf2-django": 1}


def test_password_sampling_is_bounded_by_the_policy(clean_entry: AuditConfig) -> None:
    entry, apps = _reader_args(clean_entry, "pg-clean")
    policy = clean_entry.policy.model_copy(update={"password_sample_limit": 2})
    rows = postgresql.READER.fetch(entry, apps, policy, AUDITOR_PASSWORD)
    (measured,) = rows["password_columns"]
    assert (measured["rows_examined"], measured["total_rows"]) == (2, 3)
    reading = postgresql.READER.parse(entry, apps, rows, utc_now())
    fact = reading.password_columns[("webshop", "public.customers.password_hash")]
    assert isinstance(fact, PasswordColumn)
    assert fact.sampled


def test_connection_failure_names_server_and_step_never_the_password(clean_entry: AuditConfig) -> None:
    entry, apps = _reader_args(clean_entry, "pg-clean")
    with pytest.raises(CatalogError) as caught:
        postgresql.READER.fetch(
            entry.model_copy(update={"port": 1}), apps, clean_entry.policy, AUDITOR_PASSWORD
        )
    assert str(caught.value).startswith("pg-clean (127.0.0.1:1): connect:")
    assert AUDITOR_PASSWORD not in str(caught.value)


def test_ca_bundle_makes_the_connection_verify_the_server_certificate(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    authority, stranger = trustme.CA(), trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    with running_postgres() as server:
        folder = server.folder
        certificate.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
        certificate.private_key_pem.write_to_path(str(folder / "server.key"))
        if server.run_as:
            user = pwd.getpwnam(server.run_as)
            for name in ("server.crt", "server.key"):
                os.chown(folder / name, user.pw_uid, user.pw_gid)
        os.chmod(folder / "server.key", 0o600)
        server.execute(
            "postgres",
            f"CREATE ROLE {AUDITOR} LOGIN PASSWORD '{AUDITOR_PASSWORD}'",
            f"ALTER SYSTEM SET ssl_cert_file = '{folder / 'server.crt'}'",
            f"ALTER SYSTEM SET ssl_key_file = '{folder / 'server.key'}'",
            "ALTER SYSTEM SET ssl = on",
            "SELECT pg_reload_conf()",
        )
        authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        stranger.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
        text = (
            f'[[databases]]\nname = "pg-tls"\nengine = "postgresql"\nhost = "127.0.0.1"\nport = {server.port}\n'
            f'user = "{AUDITOR}"\npassword_env = "{PASSWORD_ENV}"\nca_bundle = "ca.pem"\n'
        )
        trusted = collect(write_config(tmp_path, text))
        assert trusted.subject(SERVERS, "pg-tls").error is None
        untrusted = collect(write_config(tmp_path, text.replace("ca.pem", "other-ca.pem")))
        error = english_text(untrusted.subject(SERVERS, "pg-tls").error or "")
        assert error is not None
        assert "certificate verify failed" in error
