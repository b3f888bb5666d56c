"""12e.sqlserver-tde, 12e.ravendb-encryption and 12f.sqlserver-encrypted-connections on literal facts.

A failing (or error) case for every pass condition. The controls are reached through their
modules so pytest does not collect them here.
"""

from __future__ import annotations

import pytest

from collectors.databases.facts import ConnectionEncryption, Database, DatabaseServer, Engine
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12f_encryption_in_transit as c12f
from reports.evidence import msg
from tests.control_calls import verdict, verdict_and_evidence


def sql_database(state: str | None) -> Database:
    return Database(
        server="sql01",
        name="Shop",
        encryption_state=state,
        encrypted=None if state is None else state == "3",
    )


def test_sqlserver_database_with_encryption_state_3_passes() -> None:
    result, evidence = verdict_and_evidence(
        c12e.test_sqlserver_database_is_encrypted_at_rest, sql_database("3")
    )
    assert result.status == "pass"
    assert evidence.observations == {"encryption_state": "3", "meaning": msg("encrypted")}


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("none", "no database encryption key: TDE is off"),
        ("1", "unencrypted"),
        ("2", "encryption in progress: the database is not yet fully encrypted"),
        ("5", "decryption in progress"),
        ("4", "key change in progress"),
    ],
)
def test_sqlserver_database_not_in_state_3_fails_saying_why(state: str, said: str) -> None:
    result = verdict(c12e.test_sqlserver_database_is_encrypted_at_rest, sql_database(state))
    assert result.status == "fail"
    assert f"encryption_state {state}, {said}" in result.message
    assert "Shop on sql01" in result.message


def test_sqlserver_database_with_unknown_encryption_state_is_an_error() -> None:
    result = verdict(c12e.test_sqlserver_database_is_encrypted_at_rest, sql_database(None))
    assert result.status == "error"
    assert "VIEW SERVER STATE" in result.message


@pytest.mark.parametrize(("encrypted", "status"), [(True, "pass"), (False, "fail"), (None, "error")])
def test_ravendb_database_passes_only_when_its_record_says_encrypted(
    encrypted: bool | None, status: str
) -> None:
    database = Database(server="raven01", name="Synda", encrypted=encrypted)
    result = verdict(c12e.test_ravendb_database_is_encrypted_at_rest, database)
    assert result.status == status
    if status == "fail":
        assert "RavenDB database Synda on raven01 is not encrypted at rest" in result.message


def sql_server(
    force: bool | None, *connections: tuple[bool, int, str], engine: Engine = "sqlserver"
) -> DatabaseServer:
    return DatabaseServer(
        name="sql01",
        engine=engine,
        host="sql01.example.nl",
        port=1433,
        force_encryption=force,
        connections=tuple(ConnectionEncryption(encrypted=e, count=n, transport=t) for e, n, t in connections),
    )


def connections_verdict(server: DatabaseServer) -> tuple[str, str]:
    result = verdict(c12f.test_sqlserver_encrypts_every_connection, server)
    return result.status, result.message


def test_force_encryption_on_passes_even_with_no_connection_seen() -> None:
    assert connections_verdict(sql_server(True))[0] == "pass"


def test_force_encryption_unknown_but_every_network_connection_encrypted_passes() -> None:
    status, _ = connections_verdict(sql_server(None, (True, 12, "TCP"), (False, 1, "Shared memory")))
    assert status == "pass"


def test_an_unencrypted_tcp_connection_fails() -> None:
    status, message = connections_verdict(sql_server(False, (True, 9, "TCP"), (False, 2, "TCP")))
    assert status == "fail"
    assert "2 current network connections are not encrypted (ForceEncryption off)" in message


def test_an_unencrypted_named_pipe_connection_fails_too() -> None:
    status, _ = connections_verdict(sql_server(None, (True, 3, "TCP"), (False, 1, "Named pipe")))
    assert status == "fail"


def test_force_encryption_off_with_no_network_connection_fails() -> None:
    status, message = connections_verdict(sql_server(False, (False, 1, "Shared memory")))
    assert status == "fail"
    assert "ForceEncryption is off" in message


def test_unknown_force_encryption_and_no_connection_seen_is_an_error_not_a_pass() -> None:
    status, message = connections_verdict(sql_server(None))
    assert status == "error"
    assert "ForceEncryption could not be read" in message


def test_azure_sql_passes_as_the_platform_enforces_encryption() -> None:
    server = sql_server(True, (True, 6, "TCP"), engine="azuresql")
    result, evidence = verdict_and_evidence(c12f.test_sqlserver_encrypts_every_connection, server)
    assert result.status == "pass"
    assert evidence.observations["force_encryption"] == msg(
        "enforced by Azure SQL Database for every connection"
    )
