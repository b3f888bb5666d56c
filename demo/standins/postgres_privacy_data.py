"""A real PostgreSQL cluster planted with card numbers and newsletter subscriptions (6c, 6e).

Cluster `pg-privacy`:
- shop (shop_db): public.orders.note holds a Visa, a Mastercard and an American Express test
  card number among look-alikes; public.orders.reference holds only look-alikes (16-digit order
  numbers failing Luhn, an IBAN, phone numbers, dates, Luhn-valid numbers outside every issuer
  range); public.orders.no_such_column cannot be read; table public.tickets has two text
  columns (body holds one Visa number) and public.ledger has none. Its subscribers
  (public.subscribers, boolean opted_in) include one that never opted in.
- news (news_db): subscribers with an opt-in timestamp (opted_in_at), one of them NULL.
- club (news_db): every member has an opt-in timestamp.
- mailer (news_db): a query counting the subscriptions without consent, which are none.
- letters (news_db): a query that answers with an e-mail address instead of a count.

The card numbers and the subscriber e-mail address are canaries: no output may hold them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from demo.standins.postgres_server import PostgresServer, PostgresUnavailable, running_postgres

AUDITOR = "auditor"
AUDITOR_PASSWORD = "auditor-privacy-pw-4c1e0b"
PASSWORD_ENV = "AUDIT_PG_PRIVACY_PASSWORD"
SERVER = "pg-privacy"
CARD_CANARIES = (
    "4111 1111 1111 1111",
    "4111111111111111",
    "5500-0000-0000-0004",
    "5500000000000004",
    "378282246310005",
)
"""The planted card numbers, as planted and as digits: none may appear in any output."""
EMAIL_CANARY = "canary.subscriber@example.org"
"""A subscriber's e-mail address: it may appear in no output."""
LOOK_ALIKES = (
    "order 1234567812345678",  # 16 digits, fails Luhn
    "NL91ABNA0417164300",  # an IBAN
    "+31 6 12345678",  # a phone number
    "020-5551234",
    "2026-11-29",
    "8888888888888888",  # Luhn-valid, no issuer range
    "1234567812345670",  # Luhn-valid, no issuer range
    "4111 1111 1111 1112",  # a Visa prefix, fails Luhn
)
"""Values that look like card numbers and are none: they must not count."""


def _sql_text(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def plant_privacy_data(server: PostgresServer) -> None:
    """Plant the card numbers, look-alikes and subscriber tables of the module docstring."""
    server.execute(
        "postgres",
        f"CREATE ROLE {AUDITOR} LOGIN PASSWORD '{AUDITOR_PASSWORD}'",
        f"GRANT pg_read_all_data TO {AUDITOR}",
        "CREATE ROLE shop_app LOGIN",
        "CREATE ROLE news_app LOGIN",
        "CREATE DATABASE shop_db",
        "CREATE DATABASE news_db",
    )
    notes: list[str | None] = [
        "paid with 4111 1111 1111 1111, thanks",
        "card 5500-0000-0000-0004 exp 12/29",
        "amex 378282246310005",
        "call +31 6 12345678 about order 1234567812345678",
        None,
        "",
    ]
    references: list[str | None] = [*LOOK_ALIKES, None]
    rows = max(len(notes), len(references))
    notes += [None] * (rows - len(notes))
    references += [None] * (rows - len(references))
    values = ", ".join(
        f"({_sql_text(note)}, {_sql_text(reference)}, {10 + i})"
        for i, (note, reference) in enumerate(zip(notes, references, strict=True))
    )
    server.execute(
        "shop_db",
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, reference varchar(60), amount numeric)",
        f"INSERT INTO public.orders (note, reference, amount) VALUES {values}",
        "CREATE TABLE public.tickets (id serial PRIMARY KEY, subject varchar(200), body text, opened date)",
        "INSERT INTO public.tickets (subject, body, opened) VALUES "
        "('refund', 'please refund 4111-1111-1111-1111', '2026-11-01'), "
        "('login', 'my IBAN is NL91ABNA0417164300', '2026-11-02')",
        "CREATE TABLE public.ledger (id serial PRIMARY KEY, amount numeric, booked date)",
        "INSERT INTO public.ledger (amount, booked) VALUES (12.5, '2026-11-01')",
        "CREATE TABLE public.subscribers (id serial PRIMARY KEY, email text NOT NULL, opted_in boolean)",
        "INSERT INTO public.subscribers (email, opted_in) VALUES "
        f"({_sql_text(EMAIL_CANARY)}, false), ('a@example.org', true), ('b@example.org', true)",
    )
    server.execute(
        "news_db",
        "CREATE TABLE public.readers (id serial PRIMARY KEY, email text NOT NULL, opted_in_at timestamptz)",
        "INSERT INTO public.readers (email, opted_in_at) VALUES "
        "('c@example.org', now() - interval '3 days'), ('d@example.org', NULL), ('e@example.org', now())",
        "CREATE TABLE public.members (id serial PRIMARY KEY, email text NOT NULL, joined_at timestamp, "
        "consent_at timestamp)",
        "INSERT INTO public.members (email, joined_at, consent_at) VALUES "
        f"({_sql_text(EMAIL_CANARY)}, now(), now()), ('f@example.org', now(), now())",
    )


APPLICATIONS = """
[[applications]]
name = "shop"
server = "pg-privacy"
database = "shop_db"
login = "shop_app"
card_scan = ["public.orders.note", "public.orders.reference", "public.orders.no_such_column"]
card_scan_tables = ["public.tickets", "public.ledger"]
newsletter = { table = "public.subscribers", opt_in_column = "opted_in" }

[[applications]]
name = "news"
server = "pg-privacy"
database = "news_db"
login = "news_app"
newsletter = { table = "public.readers", opt_in_column = "opted_in_at" }

[[applications]]
name = "club"
server = "pg-privacy"
database = "news_db"
login = "news_app"
newsletter = { table = "public.members", opt_in_column = "consent_at" }

[[applications]]
name = "mailer"
server = "pg-privacy"
database = "news_db"
login = "news_app"
newsletter = { without_opt_in_query = "SELECT count(*) FROM public.members WHERE consent_at IS NULL" }

[[applications]]
name = "letters"
server = "pg-privacy"
database = "news_db"
login = "news_app"
newsletter = { without_opt_in_query = "SELECT email FROM public.members ORDER BY id LIMIT 1" }
"""


def privacy_toml(server: PostgresServer, *, password_env: str = PASSWORD_ENV) -> str:
    """Return the `[[databases]]` entry of the cluster and its `[[applications]]`."""
    return (
        f'\n[[databases]]\nname = "{SERVER}"\nengine = "postgresql"\nhost = "{server.host}"\n'
        f'port = {server.port}\nuser = "{AUDITOR}"\npassword_env = "{password_env}"\ntimeout_seconds = 10\n'
        + APPLICATIONS
    )


@contextmanager
def privacy_cluster() -> Iterator[PostgresServer]:
    """Yield the planted cluster, running; fail the test (never skip) when PostgreSQL is absent."""
    try:
        with running_postgres() as server:
            plant_privacy_data(server)
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(
            f"{exc}: the PostgreSQL tests cannot run (bash tests/run.sh installs it as root)", pytrace=False
        )
