"""Two real PostgreSQL clusters planted as issue 6 describes: one with every fault, one clean.

A test module starts them once with a session-scoped fixture around `planted_clusters()`.

Planted cluster (`pg-planted`):
- billing: login billing_app is SUPERUSER;
- crm: login crm_app has CREATEROLE and owns crm_db;
- shop and shopadmin: two applications sharing the login shop_app;
- portal: portal_db is closed to PUBLIC, but hr_db keeps PostgreSQL's default PUBLIC CONNECT,
  so portal_app (and every other login) can CONNECT to hr's database;
- reports and analytics: one database (warehouse_db) used by two applications;
- hr: a password column with plain text among bcrypt and PBKDF2 hashes;
- portal: a message table with delivered rows 9 days old and failed rows 31 days old;
- legacy: connects as the server administrator (postgres).
Clean cluster (`pg-clean`): webshop and synda, each with its own closed database, its own
login, hashed passwords and fresh messages.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import bcrypt
import pytest

from demo.standins.postgres_server import PostgresServer, PostgresUnavailable, running_postgres

AUDITOR = "auditor"
AUDITOR_PASSWORD = "auditor-canary-pw-93ad1f"
"""The auditor's own password: a canary that must appear in no output."""
PASSWORD_ENV = "AUDIT_PG_PASSWORD"
PLAIN_CANARY = "PlainCanary-Pw-5b7e"
"""A plain-text password planted in hr's password column: a canary that must appear in no output."""
APP_PASSWORD = "app-pw-not-a-canary"


@dataclass(frozen=True)
class PlantedClusters:
    """The two running clusters."""

    planted: PostgresServer
    clean: PostgresServer


def _bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def _django_pbkdf2(password: str) -> str:
    salt = "Xw9zKpQ2LmNoRsTu"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000)
    return f"pbkdf2_sha256$600000${salt}${base64.b64encode(digest).decode()}"


def _aspnet_v3(password: str) -> str:
    salt = hashlib.sha256(password.encode()).digest()[:16]
    subkey = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000, 32)
    header = b"\x01" + (1).to_bytes(4, "big") + (10000).to_bytes(4, "big") + (16).to_bytes(4, "big")
    return base64.b64encode(header + salt + subkey).decode()


def _common(server: PostgresServer) -> None:
    server.execute(
        "postgres",
        f"CREATE ROLE {AUDITOR} LOGIN PASSWORD '{AUDITOR_PASSWORD}'",
        f"GRANT pg_read_all_data TO {AUDITOR}",
    )


def _database(server: PostgresServer, name: str, *, public: bool = False, owner: str | None = None) -> None:
    server.execute(
        "postgres",
        f"CREATE DATABASE {name}" + (f" OWNER {owner}" if owner else ""),
        f"GRANT CONNECT ON DATABASE {name} TO {AUDITOR}",
    )
    if not public:
        server.execute("postgres", f"REVOKE CONNECT, TEMPORARY ON DATABASE {name} FROM PUBLIC")


def _login(server: PostgresServer, name: str, attributes: str = "") -> None:
    server.execute("postgres", f"CREATE ROLE {name} LOGIN PASSWORD '{APP_PASSWORD}' {attributes}")


def _grant_connect(server: PostgresServer, database: str, login: str) -> None:
    server.execute("postgres", f"GRANT CONNECT ON DATABASE {database} TO {login}")


def plant_faults(server: PostgresServer) -> None:
    """Plant every fault of issue 6 in `server` (see the module docstring)."""
    _common(server)
    _login(server, "billing_app", "SUPERUSER")
    _login(server, "crm_app", "CREATEROLE")
    for login in ("shop_app", "portal_app", "hr_app", "reports_app", "analytics_app"):
        _login(server, login)
    _database(server, "billing_db")
    _grant_connect(server, "billing_db", "billing_app")
    _database(server, "crm_db", owner="crm_app")
    for database in ("shop_db", "shopadmin_db"):
        _database(server, database)
        _grant_connect(server, database, "shop_app")
    _database(server, "portal_db")
    _grant_connect(server, "portal_db", "portal_app")
    _database(server, "hr_db", public=True)
    _database(server, "warehouse_db")
    _grant_connect(server, "warehouse_db", "reports_app")
    _grant_connect(server, "warehouse_db", "analytics_app")
    _database(server, "legacy_db")
    hashes = [_bcrypt("one"), _bcrypt("two"), _django_pbkdf2("three"), PLAIN_CANARY, "hunter2"]
    values = ", ".join(f"('{value}')" for value in hashes)
    server.execute(
        "hr_db",
        "CREATE TABLE public.users (id serial PRIMARY KEY, password_hash text)",
        f"INSERT INTO public.users (password_hash) VALUES {values}",
    )
    server.execute(
        "portal_db",
        "CREATE TABLE public.messages (id serial PRIMARY KEY, status text NOT NULL, "
        "created_at timestamptz NOT NULL, body text)",
        "INSERT INTO public.messages (status, created_at, body) VALUES "
        "('delivered', now() - interval '9 days', 'old delivered'), "
        "('delivered', now() - interval '1 day', 'fresh delivered'), "
        "('failed', now() - interval '31 days', 'old failed'), "
        "('queued', now() - interval '90 days', 'not judged')",
    )


def plant_clean(server: PostgresServer) -> None:
    """Plant a least-privilege estate in `server`: every control passes on it."""
    _common(server)
    for app in ("webshop", "synda"):
        _login(server, f"{app}_app")
        _database(server, f"{app}_db")
        _grant_connect(server, f"{app}_db", f"{app}_app")
    hashes = [_bcrypt("one"), _django_pbkdf2("two"), _aspnet_v3("three")]
    values = ", ".join(f"('{value}')" for value in hashes)
    server.execute(
        "webshop_db",
        "CREATE TABLE public.customers (id serial PRIMARY KEY, password_hash text)",
        f"INSERT INTO public.customers (password_hash) VALUES {values}",
        "GRANT SELECT ON public.customers TO webshop_app",
    )
    server.execute(
        "synda_db",
        "CREATE SCHEMA synda",
        "CREATE TABLE synda.messages (id serial PRIMARY KEY, state int NOT NULL, sent_at timestamp NOT NULL)",
        "INSERT INTO synda.messages (state, sent_at) VALUES "
        "(1, (now() at time zone 'utc') - interval '2 days'), (2, (now() at time zone 'utc') - interval '10 days')",
    )


PLANTED_APPLICATIONS = """
[[applications]]
name = "billing"
server = "pg-planted"
database = "billing_db"
login = "billing_app"

[[applications]]
name = "crm"
server = "pg-planted"
database = "crm_db"
login = "crm_app"

[[applications]]
name = "shop"
server = "pg-planted"
database = "shop_db"
login = "shop_app"

[[applications]]
name = "shopadmin"
server = "pg-planted"
database = "shopadmin_db"
login = "shop_app"

[[applications]]
name = "portal"
server = "pg-planted"
database = "portal_db"
login = "portal_app"
retention = { table = "public.messages", timestamp_column = "created_at", status_column = "status", delivered_values = ["delivered"], failed_values = ["failed"] }

[[applications]]
name = "hr"
server = "pg-planted"
database = "hr_db"
login = "hr_app"
password_columns = ["public.users.password_hash"]

[[applications]]
name = "reports"
server = "pg-planted"
database = "warehouse_db"
login = "reports_app"

[[applications]]
name = "analytics"
server = "pg-planted"
database = "warehouse_db"
login = "analytics_app"

[[applications]]
name = "legacy"
server = "pg-planted"
database = "legacy_db"
login = "postgres"
"""

CLEAN_APPLICATIONS = """
[[applications]]
name = "webshop"
server = "pg-clean"
database = "webshop_db"
login = "webshop_app"
password_columns = ["public.customers.password_hash"]

[[applications]]
name = "synda"
server = "pg-clean"
database = "synda_db"
login = "synda_app"
retention = { delivered_query = "SELECT count(*), min(sent_at) FROM synda.messages WHERE state = 1", failed_query = "SELECT count(*), min(sent_at) FROM synda.messages WHERE state = 2" }
"""


def databases_toml(clusters: PlantedClusters, *, password_env: str = PASSWORD_ENV) -> str:
    """Return the `[[databases]]` and `[[applications]]` of both clusters."""
    servers = "".join(
        f'\n[[databases]]\nname = "{name}"\nengine = "postgresql"\nhost = "{server.host}"\n'
        f'port = {server.port}\nuser = "{AUDITOR}"\npassword_env = "{password_env}"\ntimeout_seconds = 10\n'
        for name, server in (("pg-planted", clusters.planted), ("pg-clean", clusters.clean))
    )
    return servers + PLANTED_APPLICATIONS + CLEAN_APPLICATIONS


@contextmanager
def planted_clusters() -> Iterator[PlantedClusters]:
    """Yield the planted and the clean cluster, running; fail the test (never skip) when PostgreSQL is absent.

    Test modules wrap it in their own session-scoped fixture (a fixture imported from here
    would trip ruff's redefinition check, and `pytest_plugins` outside the root conftest is
    deprecated).
    """
    try:
        with running_postgres() as planted, running_postgres() as clean:
            plant_faults(planted)
            plant_clean(clean)
            yield PlantedClusters(planted=planted, clean=clean)
    except PostgresUnavailable as exc:
        pytest.fail(
            f"{exc}: the PostgreSQL tests cannot run (bash tests/run.sh installs it as root)", pytrace=False
        )
