"""6c (no card data) and 6e (newsletter opt-in) on SQL Server: `fetch` through a recorded connection.

The recorded on-prem server (demo/standins/database_recordings/sqlserver/onprem.json) is layered
with privacy.json: rows shaped as pymssql returns them for the reader's tagged 6c/6e queries,
holding the planted test card numbers among look-alikes and a subscriber's e-mail address. The
controls are reached through their modules so pytest does not collect them here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.config.databases import ApplicationEntry, NewsletterOptIn
from collectors.config.estate import EstateConfig
from collectors.config.policy import Policy
from collectors.databases import collect
from collectors.databases.collect import collect_databases
from collectors.databases.facts import (
    CARD_COLUMNS,
    NEWSLETTER_SUBSCRIPTIONS,
    CardColumn,
    NewsletterSubscriptions,
)
from collectors.databases.reading import CatalogRows, ServerReading
from collectors.databases.sqlserver import READER, SqlServerReader, query_name
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.recording import Recording
from controls import test_6c_no_card_data as c6c
from controls import test_6e_newsletter_opt_in as c6e
from demo.standins.postgres_privacy_data import CARD_CANARIES, EMAIL_CANARY
from demo.standins.recorded_databases import RecordedServer, onprem_entry, privacy_apps, recorded_privacy
from tests.control_calls import verdict_and_evidence

COLLECTED_AT = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
SECRET = "Canary-Pw-5b7e21-do-not-leak"
CANARIES = (*CARD_CANARIES, EMAIL_CANARY, SECRET)
PREFIX = "sql01/Shop/"
CARD_EXPECTED = {
    PREFIX + "dbo.Orders.Note": "fail",
    PREFIX + "dbo.Orders.Reference": "pass",
    PREFIX + "dbo.Orders.NoSuchColumn": "error",
    PREFIX + "dbo.Tickets.Subject": "pass",
    PREFIX + "dbo.Tickets.Body": "fail",
    PREFIX + "dbo.Ledger": "not_applicable",
    PREFIX + "dbo.Missing": "error",
}
NEWSLETTER_EXPECTED = {
    "sql01/Shop/webshop": "fail",
    "sql01/Crm/news": "fail",
    "sql01/Crm/club": "pass",
    "sql01/Crm/mailer": "pass",
    "sql01/Crm/letters": "error",
}


def read(
    server: RecordedServer, apps: list[ApplicationEntry] | None = None, policy: Policy | None = None
) -> tuple[CatalogRows, ServerReading]:
    """Fetch through the recorded connection, then parse what a recording would give back."""
    apps = privacy_apps() if apps is None else apps
    live = SqlServerReader(azure=False, connector=server.connector)
    rows = live.fetch(onprem_entry(), apps, policy or Policy(), SECRET)
    replayed = json.loads(json.dumps(rows))
    return rows, READER.parse(onprem_entry(), apps, replayed, COLLECTED_AT)


def card(reading: ServerReading, column: str, app: str = "webshop") -> CardColumn:
    found = reading.card_columns[(app, column)]
    assert isinstance(found, CardColumn), found
    return found


def subscriptions(reading: ServerReading, app: str) -> NewsletterSubscriptions:
    found = reading.newsletters[app]
    assert isinstance(found, NewsletterSubscriptions), found
    return found


def error(found: object) -> str:
    assert isinstance(found, str), found
    return found


def assert_no_canary(*texts: str) -> None:
    for canary in CANARIES:
        for text in texts:
            assert canary not in text


# --- 6c: card numbers -------------------------------------------------------------------------


def test_planted_card_numbers_are_counted_per_column_and_brand() -> None:
    _rows, reading = read(recorded_privacy())
    note = card(reading, "dbo.Orders.Note")
    assert note.brands == (("American Express", 1), ("Mastercard", 1), ("Visa", 1))
    assert (note.values_with_cards, note.rows_examined, note.total_rows, note.sampled) == (3, 9, 9, False)
    body = card(reading, "dbo.Tickets.Body")
    assert (body.brands, body.values_with_cards, body.rows_examined) == ((("Visa", 1),), 1, 2)


def test_look_alikes_count_nothing() -> None:
    """Order numbers failing Luhn, an IBAN, phone numbers and Luhn-valid numbers without an issuer."""
    _rows, reading = read(recorded_privacy())
    reference = card(reading, "dbo.Orders.Reference")
    assert (reference.brands, reference.values_with_cards, reference.rows_examined) == ((), 0, 9)
    assert card(reading, "dbo.Tickets.Subject").brands == ()


def test_every_text_column_of_a_configured_table_is_scanned_and_listed_with_bound_names() -> None:
    server = recorded_privacy()
    _rows, reading = read(server)
    assert [key for key in reading.card_columns if key[1].startswith("dbo.Tickets.")] == [
        ("webshop", "dbo.Tickets.Subject"),
        ("webshop", "dbo.Tickets.Body"),
    ]
    listed = [
        (sql, params) for _db, sql, params in server.statements if query_name(sql) == "card_table_columns"
    ]
    assert listed
    for sql, _params in listed:
        assert "%s" in sql
        assert "Tickets" not in sql
        assert "Ledger" not in sql
        for text_type in ("'char'", "'varchar'", "'nchar'", "'nvarchar'", "'text'", "'ntext'"):
            assert text_type in sql
    assert ("dbo", "Tickets") in [params for _sql, params in listed]


def test_table_without_text_columns_says_so_and_a_missing_table_is_an_error() -> None:
    _rows, reading = read(recorded_privacy())
    ledger = card(reading, "dbo.Ledger")
    assert ledger.no_text_columns
    assert "no such table, or the auditor's login cannot see it" in error(
        reading.card_columns[("webshop", "dbo.Missing")]
    )


def test_unreadable_column_is_an_error_naming_it() -> None:
    _rows, reading = read(recorded_privacy())
    text = error(reading.card_columns[("webshop", "dbo.Orders.NoSuchColumn")])
    assert "dbo.Orders.NoSuchColumn" in text
    assert "Invalid column name 'NoSuchColumn'" in text


def test_sample_is_bounded_by_the_policy_with_top_n() -> None:
    server = recorded_privacy()
    _rows, reading = read(server, policy=Policy(card_sample_limit=2))
    note = card(reading, "dbo.Orders.Note")
    assert (note.rows_examined, note.total_rows, note.sampled) == (2, 9, True)
    samples = [(sql, params) for _db, sql, params in server.statements if query_name(sql) == "card_sample"]
    assert samples
    assert all("SELECT TOP (%s) CAST(" in sql and params == (2,) for sql, params in samples)


def test_identifiers_are_bracket_quoted_with_closing_brackets_doubled() -> None:
    server = recorded_privacy()
    odd = ApplicationEntry(
        name="odd", server="sql01", database="Shop", login="shop_app", card_scan=["dbo.Odd]Table.No]te"]
    )
    server.results["Shop"]["card_total"]["cases"].append({"when": ["[Odd]]Table]"], "rows": [{"total": 1}]})
    server.results["Shop"]["card_sample"]["cases"].append({"when": ["[No]]te]"], "rows": [{"value": "x"}]})
    _rows, reading = read(server, [odd])
    total = next(sql for _db, sql, _params in server.statements if query_name(sql) == "card_total")
    assert total.endswith("SELECT COUNT_BIG(*) AS total FROM [dbo].[Odd]]Table]")
    sample = next(sql for _db, sql, _params in server.statements if query_name(sql) == "card_sample")
    assert sample.endswith("SELECT TOP (%s) CAST([No]]te] AS nvarchar(max)) AS value FROM [dbo].[Odd]]Table]")
    assert card(reading, "dbo.Odd]Table.No]te", "odd").rows_examined == 1


def test_names_compare_case_insensitively_and_a_configured_column_is_scanned_once() -> None:
    server = recorded_privacy()
    app = ApplicationEntry(
        name="cased",
        server="sql01",
        database="Shop",
        login="shop_app",
        card_scan=["dbo.Tickets.body"],
        card_scan_tables=["dbo.tickets"],
    )
    _rows, reading = read(server, [app])
    assert sorted(column for _app, column in reading.card_columns) == [
        "dbo.Tickets.body",
        "dbo.tickets.Subject",
    ]
    assert card(reading, "dbo.Tickets.body", "cased").brands == (("Visa", 1),)
    bodies = [
        sql
        for _db, sql, _p in server.statements
        if query_name(sql) == "card_sample" and "[body]" in sql.lower()
    ]
    assert len(bodies) == 1


def test_rows_hold_counts_only_never_a_card_number_or_address() -> None:
    rows, reading = read(recorded_privacy())
    assert_no_canary(json.dumps(rows), repr(reading.card_columns), repr(reading.newsletters))
    for row in rows["card_scans"]:
        assert set(row) <= {
            "application",
            "column",
            "table",
            "database",
            "rows_examined",
            "total_rows",
            "values_with_cards",
            "brands",
            "no_text_columns",
            "error",
        }


def test_every_session_is_rolled_back_and_nothing_is_committed() -> None:
    server = recorded_privacy()
    read(server)
    assert server.connections
    assert all(connection.rolled_back and connection.closed for connection in server.connections)
    for _db, sql, _params in server.statements:
        assert sql.startswith(("/* auditor:", "SET LOCK_TIMEOUT")), sql


def test_application_database_that_was_not_read_errors_every_scan_and_count() -> None:
    gone = ApplicationEntry(
        name="gone",
        server="sql01",
        database="Gone",
        login="shop_app",
        card_scan=["dbo.Orders.Note"],
        card_scan_tables=["dbo.Tickets"],
        newsletter=NewsletterOptIn(table="dbo.Subscribers", opt_in_column="OptedIn"),
    )
    _rows, reading = read(recorded_privacy(), [gone])
    for found in (
        reading.card_columns[("gone", "dbo.Orders.Note")],
        reading.card_columns[("gone", "dbo.Tickets")],
        reading.newsletters["gone"],
    ):
        assert "database Gone was not read" in error(found)


# --- 6e: newsletter opt-ins -------------------------------------------------------------------


def test_newsletter_table_of_three_with_one_without_opt_in_counts_one_by_flag_and_by_timestamp() -> None:
    server = recorded_privacy()
    _rows, reading = read(server)
    shop = subscriptions(reading, "webshop")
    assert (shop.total, shop.without_opt_in) == (3, 1)
    assert shop.measured_by == "table dbo.Subscribers, opt-in column OptedIn (flag)"
    news = subscriptions(reading, "news")
    assert (news.total, news.without_opt_in) == (3, 1)
    assert news.measured_by == "table dbo.Readers, opt-in column OptedInAt (timestamp)"
    club = subscriptions(reading, "club")
    assert (club.total, club.without_opt_in) == (2, 0)
    counts = {sql for _db, sql, _p in server.statements if query_name(sql) == "newsletter_counts"}
    assert any(
        "COUNT_BIG(CASE WHEN ([OptedIn] IS NULL OR [OptedIn] = 0) THEN 1 END)" in sql for sql in counts
    )
    assert any("COUNT_BIG(CASE WHEN [OptedInAt] IS NULL THEN 1 END)" in sql for sql in counts)
    types = [p for _db, sql, p in server.statements if query_name(sql) == "newsletter_column_type"]
    assert ("dbo", "Subscribers", "OptedIn") in types


def test_configured_query_answering_one_whole_number_counts() -> None:
    _rows, reading = read(recorded_privacy())
    mailer = subscriptions(reading, "mailer")
    assert (mailer.total, mailer.without_opt_in, mailer.measured_by) == (None, 0, "configured query")


def test_query_answering_an_address_is_an_error_that_never_echoes_it() -> None:
    _rows, reading = read(recorded_privacy())
    text = error(reading.newsletters["letters"])
    assert "not a whole number" in text
    assert_no_canary(text)


def test_opt_in_column_of_an_odd_type_is_an_error() -> None:
    _rows, reading = read(recorded_privacy("opt_in_of_odd_type"))
    text = error(reading.newsletters["webshop"])
    assert "opt_in_column OptedIn is of type nvarchar, not a boolean flag or a timestamp" in text


def test_failing_query_is_an_error_and_a_message_that_may_quote_a_value_is_not_kept() -> None:
    _rows, reading = read(recorded_privacy("newsletter_query_fails"))
    assert "Invalid object name 'dbo.Members'" in error(reading.newsletters["mailer"])
    conversion = error(reading.newsletters["letters"])
    assert "SQL Server error 245" in conversion
    assert_no_canary(conversion)


def test_query_answering_two_columns_or_a_negative_number_is_an_error() -> None:
    _rows, reading = read(recorded_privacy("newsletter_query_answers_two_columns"))
    assert "one row of one column" in error(reading.newsletters["mailer"])
    assert "negative number" in error(reading.newsletters["letters"])


def test_measurement_counted_twice_or_damaged_is_an_error_not_a_pass() -> None:
    rows, _reading = read(recorded_privacy())
    damaged: dict[str, Any] = json.loads(json.dumps(rows))
    damaged["card_scans"].append(dict(damaged["card_scans"][1]))
    damaged["newsletter_opt_ins"][2] = {**damaged["newsletter_opt_ins"][2], "without_opt_in": 5}
    reading = READER.parse(onprem_entry(), privacy_apps(), damaged, COLLECTED_AT)
    assert "scanned twice" in english_text(
        error_or_message(reading.card_columns[("webshop", "dbo.Orders.Reference")])
    )
    assert "without an opt-in of only 2" in english_text(error_or_message(reading.newsletters["club"]))


def error_or_message(found: object) -> Any:
    assert not isinstance(found, CardColumn | NewsletterSubscriptions), found
    return found


# --- collected and judged ---------------------------------------------------------------------


def estate(tmp_path: Path, apps: list[ApplicationEntry], policy: Policy | None = None) -> EstateConfig:
    return EstateConfig(
        path=tmp_path / "audit.toml",
        sha256="0" * 64,
        policy=policy or Policy(),
        databases=[onprem_entry()],
        applications=apps,
    )


def collected(
    monkeypatch: pytest.MonkeyPatch,
    config: EstateConfig,
    server: RecordedServer,
    *,
    replay: Recording | None = None,
) -> tuple[FactStore, Recording]:
    monkeypatch.setenv("AUDIT_SQL_PASSWORD", SECRET)
    monkeypatch.setitem(
        collect.READERS, "sqlserver", SqlServerReader(azure=False, connector=server.connector)
    )
    store = FactStore()
    recording = Recording(endpoint="", run_date="2026-11-29")
    collect_databases(
        config, store, recording=None if replay else recording, replay=replay, progress=lambda line: None
    )
    return store, recording


def judged(store: FactStore, population: str, control: Any) -> dict[str, tuple[str, str]]:
    """Return subject id -> (status, message and evidence as text), 'error' for an unobservable subject."""
    found = store.get(population)
    assert found is not None
    out: dict[str, tuple[str, str]] = {}
    for subject in found.subjects:
        if subject.error is not None:
            out[subject.id] = ("error", english_text(subject.error))
            continue
        result, evidence = verdict_and_evidence(control, subject.fact)
        shown = json.dumps([evidence.observations, evidence.expectations], default=str)
        out[subject.id] = (result.status, f"{result.message} {shown} {subject.fact!r}")
    return out


def test_sqlserver_card_hit_fails_6c_and_a_clean_scan_passes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, recording = collected(monkeypatch, estate(tmp_path, privacy_apps()), recorded_privacy())
    cards = judged(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    assert {k: v[0] for k, v in cards.items()} == CARD_EXPECTED
    note = cards[PREFIX + "dbo.Orders.Note"][1]
    assert note.startswith("dbo.Orders.Note in database Shop on server sql01 (application webshop)")
    assert "1 American Express card number" in note
    assert "1 Visa card number" in note
    assert "9 rows examined" in note
    clean, _ = collected(monkeypatch, estate(tmp_path, privacy_apps()), recorded_privacy("clean_orders"))
    clean_cards = judged(clean, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    assert clean_cards[PREFIX + "dbo.Orders.Note"][0] == "pass"
    assert clean_cards[PREFIX + "dbo.Tickets.Body"][0] == "pass"
    assert_no_canary(json.dumps(recording.databases), *(text for _status, text in cards.values()))


def test_newsletter_verdicts_on_sqlserver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store, recording = collected(monkeypatch, estate(tmp_path, privacy_apps()), recorded_privacy())
    results = judged(store, NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in)
    assert {k: v[0] for k, v in results.items()} == NEWSLETTER_EXPECTED
    assert "1 of 3 newsletter subscriptions has no opt-in" in results["sql01/Shop/webshop"][1]
    assert "1 of 3 newsletter subscriptions has no opt-in" in results["sql01/Crm/news"][1]
    assert_no_canary(json.dumps(recording.databases), *(text for _status, text in results.values()))


def test_replayed_recording_gives_the_same_verdicts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = estate(tmp_path, privacy_apps())
    live, recording = collected(monkeypatch, config, recorded_privacy())
    replayed, _ = collected(monkeypatch, config, RecordedServer({}), replay=recording)
    for population, control in (
        (CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number),
        (NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in),
    ):
        assert judged(replayed, population, control) == judged(live, population, control)


def test_names_that_do_not_fit_sqlserver_are_errors_and_never_reach_the_reader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = ApplicationEntry(
        name="shaped",
        server="sql01",
        database="Shop",
        login="shop_app",
        card_scan=["Orders.Note"],
        card_scan_tables=["Tickets"],
        newsletter=NewsletterOptIn(table="Subscribers", opt_in_column="OptedIn"),
    )
    server = recorded_privacy()
    with pytest.raises(ValueError, match=r"applications\[0\]\.card_scan"):
        estate(tmp_path, [app])
    # The config loader refuses them; the collector still never hands a misfit name to a reader.
    unvalidated = EstateConfig.model_construct(
        path=tmp_path / "audit.toml",
        sha256="0" * 64,
        policy=Policy(),
        databases=[onprem_entry()],
        applications=[app],
    )
    store, _ = collected(monkeypatch, unvalidated, server)
    cards = judged(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    assert cards["sql01/Shop/Orders.Note"] == (
        "error",
        "sql01: card_scan 'Orders.Note': expected schema.table.column on sqlserver",
    )
    assert cards["sql01/Shop/Tickets"][1].endswith("expected schema.table on sqlserver")
    news = judged(store, NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in)
    assert news["sql01/Shop/shaped"][1].endswith(
        "newsletter table 'Subscribers': expected schema.table on sqlserver"
    )
    assert not [sql for _db, sql, _p in server.statements if "Orders" in sql or "Subscribers" in sql]
