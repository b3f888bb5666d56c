"""6c (no card data) and 6e (newsletter opt-in) on RavenDB, over real HTTPS with a client certificate.

A local TLS server plays RavenDB (demo/standins/recorded_databases.py): it requires the auditor's
client certificate and answers the recorded REST and RQL answers of
demo/standins/database_recordings/ravendb/ (privacy.json: collection statistics and QueryResults,
paged by start/pageSize as RavenDB pages them). Collections stand for tables and document fields
for columns. The controls are reached through their modules so pytest does not collect them here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from collectors.config.databases import ApplicationEntry, DatabaseServerEntry, NewsletterOptIn
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
from collectors.databases.ravendb import READER
from collectors.databases.reading import CatalogRows, ServerReading
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.recording import Recording
from controls import test_6c_no_card_data as c6c
from controls import test_6e_newsletter_opt_in as c6e
from demo.standins.postgres_privacy_data import CARD_CANARIES, EMAIL_CANARY
from demo.standins.recorded_databases import (
    AUDITOR,
    FakeRavenDb,
    Pki,
    privacy_raven_apps,
    recorded_privacy_answers,
)
from tests.control_calls import verdict_and_evidence

COLLECTED_AT = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
CANARIES = (*CARD_CANARIES, EMAIL_CANARY)
PREFIX = "raven01/Shop/"
CARD_EXPECTED = {
    PREFIX + "Orders.Note": "fail",
    PREFIX + "Orders.Reference": "pass",
    PREFIX + "Orders.NoSuchField": "error",
    PREFIX + "Tickets.Body": "fail",
    PREFIX + "Tickets.Customer.Notes": "pass",
    PREFIX + "Tickets.Customer.Phone": "pass",
    PREFIX + "Tickets.Opened": "pass",
    PREFIX + "Tickets.Subject": "pass",
    PREFIX + "Ledgers": "not_applicable",
    PREFIX + "Missing": "error",
}
NEWSLETTER_EXPECTED = {
    "raven01/Shop/webshop": "fail",
    "raven01/Synda/news": "fail",
    "raven01/Synda/club": "pass",
    "raven01/Synda/mailer": "pass",
    "raven01/Synda/letters": "error",
}
Serve = Callable[..., FakeRavenDb]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def serve(pki: Pki) -> Iterator[Serve]:
    """Start the stand-in with the recorded answers (and variants); stop every one started."""
    started: list[tuple[FakeRavenDb, threading.Thread]] = []

    def start(*variants: str) -> FakeRavenDb:
        answers, queries = recorded_privacy_answers(*variants)
        server = FakeRavenDb(pki.server_ca, pki.client_ca, answers, queries)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def entry(server: FakeRavenDb, pki: Pki) -> DatabaseServerEntry:
    return DatabaseServerEntry(
        name="raven01",
        engine="ravendb",
        host="127.0.0.1",
        port=server.server_address[1],
        client_cert=pki.client_pem(AUDITOR),
        ca_bundle=pki.ca_bundle,
        timeout_seconds=5,
    )


def read(
    server: FakeRavenDb, pki: Pki, apps: list[ApplicationEntry] | None = None, policy: Policy | None = None
) -> tuple[CatalogRows, ServerReading]:
    """Fetch over HTTPS, then parse what a recording would give back."""
    apps = privacy_raven_apps() if apps is None else apps
    config = entry(server, pki)
    rows = READER.fetch(config, apps, policy or Policy(), None)
    replayed = json.loads(json.dumps(rows))
    return rows, READER.parse(config, apps, replayed, COLLECTED_AT)


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


def queries(server: FakeRavenDb) -> list[dict[str, str]]:
    """Return the RQL requests the stand-in received, as {query, start, pageSize}."""
    return [
        {key: values[0] for key, values in parse_qs(query).items()}
        for path, query, _who in server.seen
        if path.endswith("/queries")
    ]


def assert_no_canary(*texts: str) -> None:
    for canary in CANARIES:
        for text in texts:
            assert canary not in text


# --- 6c: card numbers -------------------------------------------------------------------------


def test_planted_card_numbers_are_counted_per_field_and_brand(serve: Serve, pki: Pki) -> None:
    _rows, reading = read(serve(), pki)
    note = card(reading, "Orders.Note")
    assert note.brands == (("American Express", 1), ("Mastercard", 1), ("Visa", 1))
    assert (note.values_with_cards, note.rows_examined, note.total_rows, note.sampled) == (3, 9, 9, False)
    body = card(reading, "Tickets.Body")
    assert (body.brands, body.values_with_cards, body.rows_examined) == ((("Visa", 1),), 1, 2)


def test_look_alikes_count_nothing_even_a_luhn_valid_number_stored_as_a_number(
    serve: Serve, pki: Pki
) -> None:
    _rows, reading = read(serve(), pki)
    reference = card(reading, "Orders.Reference")
    assert (reference.brands, reference.values_with_cards, reference.rows_examined) == ((), 0, 9)
    assert card(reading, "Tickets.Customer.Phone").brands == ()


def test_every_string_field_of_a_collection_is_a_measurement_nested_fields_included(
    serve: Serve, pki: Pki
) -> None:
    _rows, reading = read(serve(), pki)
    assert sorted(column for _app, column in reading.card_columns if column.startswith("Tickets")) == [
        "Tickets.Body",
        "Tickets.Customer.Notes",
        "Tickets.Customer.Phone",
        "Tickets.Opened",
        "Tickets.Subject",
    ]
    assert card(reading, "Tickets.Customer.Phone").rows_examined == 2, (
        "a document without the field is examined"
    )


def test_collection_without_text_says_so_and_an_unknown_collection_or_field_is_an_error(
    serve: Serve, pki: Pki
) -> None:
    _rows, reading = read(serve(), pki)
    assert card(reading, "Ledgers").no_text_columns
    assert "database Shop has no collection Missing" in error(reading.card_columns[("webshop", "Missing")])
    assert "none of the 9 sampled documents has this field" in error(
        reading.card_columns[("webshop", "Orders.NoSuchField")]
    )


def test_collection_queries_only_paged_and_bounded_by_the_policy(serve: Serve, pki: Pki) -> None:
    server = serve()
    _rows, reading = read(server, pki, policy=Policy(card_sample_limit=2))
    note = card(reading, "Orders.Note")
    assert (note.rows_examined, note.total_rows, note.sampled) == (2, 9, True)
    sent = queries(server)
    orders = [q for q in sent if q["query"] == "from 'Orders'"]
    assert orders == [{"query": "from 'Orders'", "start": "0", "pageSize": "2"}]
    assert all(" where " not in q["query"] for q in sent if q["query"].startswith("from '"))


def test_collection_names_compare_case_insensitively(serve: Serve, pki: Pki) -> None:
    app = ApplicationEntry(
        name="cased",
        server="raven01",
        database="Shop",
        certificate="3F2A9C1B7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A",
        card_scan=["tickets.Body"],
        card_scan_tables=["tickets"],
    )
    server = serve()
    _rows, reading = read(server, pki, [app])
    assert card(reading, "tickets.Body", "cased").brands == (("Visa", 1),)
    assert ("cased", "tickets.Body") in reading.card_columns
    assert ("cased", "tickets.Subject") in reading.card_columns
    assert len([q for q in queries(server) if q["query"] == "from 'Tickets'"]) == 1, (
        "one sample per collection"
    )


def test_collection_name_that_is_not_plain_is_refused_not_put_in_a_query(serve: Serve, pki: Pki) -> None:
    app = ApplicationEntry(
        name="odd",
        server="raven01",
        database="Shop",
        certificate="3F2A9C1B7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A",
        card_scan_tables=["Tickets' select x"],
        newsletter=NewsletterOptIn(table="Subscribers", opt_in_column="OptIn select Email"),
    )
    server = serve()
    _rows, reading = read(server, pki, [app])
    assert "is not a plain collection name" in error(reading.card_columns[("odd", "Tickets' select x")])
    assert "is not a plain field name" in error(reading.newsletters["odd"])
    assert queries(server) == []


def test_failing_query_is_an_error_that_keeps_only_status_and_type(serve: Serve, pki: Pki) -> None:
    _rows, reading = read(serve("orders_query_fails"), pki)
    text = error(reading.card_columns[("webshop", "Orders.Note")])
    assert "GET /databases/Shop/queries answered HTTP 500 (InvalidOperationException)" in text
    assert_no_canary(text)
    assert isinstance(reading.card_columns[("webshop", "Tickets.Body")], CardColumn), (
        "other collections are read"
    )


def test_documents_hold_counts_only_never_a_card_number_or_address(serve: Serve, pki: Pki) -> None:
    rows, reading = read(serve(), pki)
    assert_no_canary(json.dumps(rows), repr(reading.card_columns), repr(reading.newsletters))


# --- 6e: newsletter opt-ins -------------------------------------------------------------------


def test_three_subscribers_one_without_opt_in_count_one_by_flag_and_by_timestamp(
    serve: Serve, pki: Pki
) -> None:
    server = serve()
    _rows, reading = read(server, pki)
    shop = subscriptions(reading, "webshop")
    assert (shop.total, shop.without_opt_in) == (3, 1)
    assert shop.measured_by == "collection Subscribers, opt-in field OptIn (flag)"
    news = subscriptions(reading, "news")
    assert (news.total, news.without_opt_in) == (3, 1)
    assert news.measured_by == "collection Readers, opt-in field OptInAt (timestamp)"
    club = subscriptions(reading, "club")
    assert (club.total, club.without_opt_in) == (2, 0)
    assert {"query": "from 'Subscribers' select OptIn", "start": "0", "pageSize": "1024"} in queries(server)


def test_configured_query_is_counted_by_total_results_with_a_page_size_of_0(serve: Serve, pki: Pki) -> None:
    server = serve()
    _rows, reading = read(server, pki)
    mailer = subscriptions(reading, "mailer")
    assert (mailer.total, mailer.without_opt_in, mailer.measured_by) == (None, 0, "configured query")
    assert {"query": "from Members where ConsentAt = null", "start": "0", "pageSize": "0"} in queries(server)


def test_stale_count_is_an_error_that_never_echoes_the_answer(serve: Serve, pki: Pki) -> None:
    _rows, reading = read(serve(), pki)
    text = error(reading.newsletters["letters"])
    assert "stale" in text
    assert_no_canary(text)


def test_opt_in_field_of_an_odd_type_is_an_error(serve: Serve, pki: Pki) -> None:
    _rows, reading = read(serve("opt_in_of_odd_type"), pki)
    text = error(reading.newsletters["webshop"])
    assert "opt_in_column OptIn holds text that is not a date/time, not a boolean flag or a timestamp" in text
    assert "yes" not in text


def test_failing_query_is_an_error_and_its_message_is_not_kept(serve: Serve, pki: Pki) -> None:
    _rows, reading = read(serve("newsletter_query_fails"), pki)
    text = error(reading.newsletters["mailer"])
    assert "answered HTTP 400 (InvalidQueryException)" in text
    assert_no_canary(text)


def test_answer_whose_count_is_not_a_whole_number_is_an_error(serve: Serve, pki: Pki) -> None:
    _rows, reading = read(serve("count_not_a_number"), pki)
    assert "not a whole number" in error(reading.newsletters["mailer"])


# --- collected and judged ---------------------------------------------------------------------


def judged(store: FactStore, population: str, control: Any) -> dict[str, tuple[str, str]]:
    """Return subject id -> (status, message, evidence and fact as text), 'error' for an unobservable one."""
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


def test_ravendb_scans_are_judged_recorded_and_replayed_without_a_card_number(
    serve: Serve, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = EstateConfig(
        path=tmp_path / "audit.toml",
        sha256="0" * 64,
        databases=[entry(serve(), pki)],
        applications=privacy_raven_apps(),
    )
    monkeypatch.setitem(collect.READERS, "ravendb", READER)
    store, recording = FactStore(), Recording(endpoint="", run_date="2026-11-29")
    collect_databases(config, store, recording=recording, replay=None, progress=lambda line: None)
    cards = judged(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    news = judged(store, NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in)
    assert {k: v[0] for k, v in cards.items()} == CARD_EXPECTED
    assert {k: v[0] for k, v in news.items()} == NEWSLETTER_EXPECTED
    assert "1 of 3 newsletter subscriptions has no opt-in" in news["raven01/Shop/webshop"][1]
    assert_no_canary(
        json.dumps(recording.databases), *(text for _s, text in [*cards.values(), *news.values()])
    )

    replayed = FactStore()
    collect_databases(config, replayed, recording=None, replay=recording, progress=lambda line: None)
    assert judged(replayed, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number) == cards
    assert judged(replayed, NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in) == news


def test_sql_shaped_names_are_errors_on_ravendb_and_never_queried(
    serve: Serve, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve()
    app = ApplicationEntry(
        name="shaped",
        server="raven01",
        database="Shop",
        certificate="3F2A9C1B7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A",
        card_scan_tables=["dbo.Tickets"],
        newsletter=NewsletterOptIn(table="dbo.Subscribers", opt_in_column="OptIn"),
    )
    with pytest.raises(ValueError, match=r"applications\[0\]\.card_scan_tables"):
        EstateConfig(
            path=tmp_path / "audit.toml", sha256="0" * 64, databases=[entry(server, pki)], applications=[app]
        )
    # The config loader refuses them; the collector still never hands a misfit name to a reader.
    config = EstateConfig.model_construct(
        path=tmp_path / "audit.toml", sha256="0" * 64, databases=[entry(server, pki)], applications=[app]
    )
    monkeypatch.setitem(collect.READERS, "ravendb", READER)
    store = FactStore()
    collect_databases(config, store, recording=None, replay=None, progress=lambda line: None)
    cards = judged(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    assert cards == {
        "raven01/Shop/dbo.Tickets": (
            "error",
            "raven01: card_scan_tables 'dbo.Tickets': expected a collection name on ravendb",
        )
    }
    news = judged(store, NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in)
    assert news["raven01/Shop/shaped"][0] == "error"
    assert queries(server) == []
