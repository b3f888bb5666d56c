"""6c (no card data) and 6e (newsletter opt-in): the card classifier, the config, and real PostgreSQL.

The cluster is planted by demo/standins/postgres_privacy_data.py; the controls are reached
through their modules so pytest does not collect them here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.config.databases import ApplicationEntry, NewsletterOptIn
from collectors.databases.card_numbers import CardCount, cards_in, count_cards
from collectors.databases.collect import collect_databases
from collectors.databases.facts import CARD_COLUMNS, NEWSLETTER_SUBSCRIPTIONS, CardColumn
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.recording import Recording
from controls import test_6c_no_card_data as c6c
from controls import test_6e_newsletter_opt_in as c6e
from controls.framework import Verdict
from controls.harness.config_file import AuditConfig, ConfigError, load_config
from demo.standins.postgres_privacy_data import (
    AUDITOR_PASSWORD,
    CARD_CANARIES,
    EMAIL_CANARY,
    LOOK_ALIKES,
    PASSWORD_ENV,
    SERVER,
    privacy_cluster,
    privacy_toml,
)
from demo.standins.postgres_server import PostgresServer
from tests.audit_runs import run_audit
from tests.control_calls import verdict

PREFIX = f"{SERVER}/shop_db/"
CARD_EXPECTED = {
    PREFIX + "public.orders.note": "fail",
    PREFIX + "public.orders.reference": "pass",
    PREFIX + "public.orders.no_such_column": "error",
    PREFIX + "public.tickets.subject": "pass",
    PREFIX + "public.tickets.body": "fail",
    PREFIX + "public.ledger": "not_applicable",
}
NEWSLETTER_EXPECTED = {
    f"{SERVER}/shop_db/shop": "fail",
    f"{SERVER}/news_db/news": "fail",
    f"{SERVER}/news_db/club": "pass",
    f"{SERVER}/news_db/mailer": "pass",
    f"{SERVER}/news_db/letters": "error",
}
CANARIES = (*CARD_CANARIES, EMAIL_CANARY, AUDITOR_PASSWORD)


# --- the classifier ---------------------------------------------------------------------------


def test_test_card_numbers_of_three_brands_are_counted_with_spaces_and_dashes() -> None:
    assert cards_in("paid with 4111 1111 1111 1111") == {"Visa": 1}
    assert cards_in("card 5500-0000-0000-0004 exp 12/29") == {"Mastercard": 1}
    assert cards_in("amex 378282246310005") == {"American Express": 1}
    assert cards_in("4111111111111111 and 4111-1111-1111-1111") == {"Visa": 2}


def test_card_number_written_after_a_phone_number_is_still_found() -> None:
    assert cards_in("06 12345678 4111 1111 1111 1111") == {"Visa": 1}


@pytest.mark.parametrize("value", LOOK_ALIKES)
def test_look_alike_is_no_card_number(value: str) -> None:
    assert cards_in(value) == {}


def test_values_that_are_no_text_count_nothing() -> None:
    counted = count_cards([None, 4111111111111111, b"4111 1111 1111 1111", ""])
    assert (counted.examined, counted.values_with_cards, dict(counted.brands)) == (4, 1, {"Visa": 1})


def test_a_row_of_several_values_is_one_value_examined() -> None:
    """A document's values of one field (a list, say) count like one column value."""
    counted = CardCount()
    counted.add_row(["4111 1111 1111 1111", "amex 378282246310005"])
    counted.add_row([])
    counted.add_row(["NL91ABNA0417164300"])
    assert (counted.examined, counted.values_with_cards) == (3, 1)
    assert dict(counted.brands) == {"Visa": 1, "American Express": 1}


# --- the config -------------------------------------------------------------------------------

CONFIG = """
[[databases]]
name = "pg"
engine = "postgresql"
host = "127.0.0.1"
user = "auditor"

[[applications]]
name = "shop"
server = "pg"
database = "shop_db"
login = "shop_app"
"""


def config_error(tmp_path: Path, extra: str) -> str:
    path = tmp_path / "audit.toml"
    path.write_text(CONFIG + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value)


def test_card_scan_column_without_table_is_refused_naming_the_key(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'card_scan = ["note"]\n')
    assert "applications[0].card_scan" in message
    assert "schema.table.column" in message
    assert "Collection.Field" in message


def test_card_scan_name_with_an_empty_part_is_refused(tmp_path: Path) -> None:
    assert "applications[0].card_scan" in config_error(tmp_path, 'card_scan = ["public..note"]\n')


@pytest.mark.parametrize(
    ("engine", "column", "table", "subscribers", "misfits"),
    [
        ("postgresql", "public.orders.note", "public.tickets", "public.subscribers", ([], [], None)),
        ("sqlserver", "dbo.Orders.Note", "dbo.Tickets", "dbo.Subscribers", ([], [], None)),
        ("ravendb", "Orders.Note", "Tickets", "Subscribers", ([], [], None)),
        ("ravendb", "Orders.Payment.Note", "Tickets", "Subscribers", ([], [], None)),
        (
            "postgresql",
            "orders.note",
            "tickets",
            "subscribers",
            (["orders.note"], ["tickets"], "subscribers"),
        ),
        ("azuresql", "Orders.Note", "Tickets", "Subscribers", (["Orders.Note"], ["Tickets"], "Subscribers")),
        (
            "ravendb",
            "dbo.Orders.Note",
            "dbo.Tickets",
            "dbo.Subscribers",
            ([], ["dbo.Tickets"], "dbo.Subscribers"),
        ),
    ],
)
def test_scan_names_are_checked_against_the_engine(
    engine: str, column: str, table: str, subscribers: str, misfits: tuple[list[str], list[str], str | None]
) -> None:
    """The config accepts both shapes; the collector makes a name that does not fit its engine an error."""
    app = ApplicationEntry(
        name="shop",
        server="db",
        database="shop_db",
        login="shop_app",
        card_scan=[column],
        card_scan_tables=[table],
        newsletter=NewsletterOptIn(table=subscribers, opt_in_column="opted_in"),
    )
    problems = app.scan_shape_problems(engine)
    columns, tables, newsletter = misfits
    assert (sorted(problems.columns), sorted(problems.tables)) == (columns, tables)
    assert (problems.newsletter is not None) == (newsletter is not None)
    if newsletter is not None:
        assert problems.newsletter is not None
        assert repr(newsletter) in problems.newsletter
        assert engine in problems.newsletter
    assert bool(problems) == bool(columns or tables or newsletter)


def test_card_scan_table_with_a_column_is_refused_naming_the_key(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'card_scan_tables = ["public.orders.note"]\n')
    assert "applications[0].card_scan_tables" in message
    assert "schema.table" in message


def test_newsletter_with_table_and_query_is_refused(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        'newsletter = { table = "public.s", opt_in_column = "x", without_opt_in_query = "SELECT 0" }\n',
    )
    assert "applications[0].newsletter" in message
    assert "either table and opt_in_column, or without_opt_in_query" in message


def test_newsletter_table_without_opt_in_column_is_refused(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'newsletter = { table = "public.subscribers" }\n')
    assert "applications[0].newsletter" in message
    assert "opt_in_column" in message


def test_newsletter_unknown_key_is_refused(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'newsletter = { query = "SELECT 0" }\n')
    assert "applications[0].newsletter" in message


# --- real PostgreSQL --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresServer]:
    with privacy_cluster() as server:
        yield server


def write_config(folder: Path, text: str) -> AuditConfig:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "audit.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def collect(
    config: AuditConfig, *, replay: Recording | None = None, password: str = AUDITOR_PASSWORD
) -> tuple[FactStore, Recording]:
    saved = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = password
    try:
        store = FactStore()
        recording = Recording(endpoint="", run_date="2026-11-29")
        collect_databases(
            config, store, recording=None if replay else recording, replay=replay, progress=lambda line: None
        )
    finally:
        if saved is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = saved
    return store, recording


def verdicts(store: FactStore, population: str, control: Any) -> dict[str, Verdict | str]:
    """Return subject id -> its verdict, or 'error' for a subject that could not be observed."""
    found = store.get(population)
    assert found is not None
    out: dict[str, Verdict | str] = {}
    for subject in found.subjects:
        out[subject.id] = "error" if subject.error is not None else verdict(control, subject.fact)
    return out


def statuses(results: dict[str, Verdict | str]) -> dict[str, str]:
    return {key: value if isinstance(value, str) else value.status for key, value in results.items()}


@pytest.fixture(scope="module")
def collected(
    cluster: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[FactStore, Recording]:
    return collect(write_config(tmp_path_factory.mktemp("privacy"), privacy_toml(cluster)))


@pytest.mark.integration
def test_columns_holding_card_numbers_fail_and_look_alikes_pass(
    collected: tuple[FactStore, Recording],
) -> None:
    store, _recording = collected
    assert (
        statuses(verdicts(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)) == CARD_EXPECTED
    )


@pytest.mark.integration
def test_failing_column_is_named_with_counts_per_brand(collected: tuple[FactStore, Recording]) -> None:
    store, _recording = collected
    results = verdicts(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    note = results[PREFIX + "public.orders.note"]
    assert isinstance(note, Verdict)
    assert note.message.startswith(
        "public.orders.note in database shop_db on server pg-privacy (application shop)"
    )
    assert "1 American Express card number" in note.message
    assert "1 Mastercard card number" in note.message
    assert "1 Visa card number" in note.message
    assert "9 rows examined" in note.message
    body = results[PREFIX + "public.tickets.body"]
    assert isinstance(body, Verdict)
    assert "1 Visa card number" in body.message


@pytest.mark.integration
def test_scanned_column_fact_holds_counts_only(collected: tuple[FactStore, Recording]) -> None:
    store, _recording = collected
    population = store.get(CARD_COLUMNS)
    assert population is not None
    note = next(s.fact for s in population.subjects if s.id == PREFIX + "public.orders.note")
    assert isinstance(note, CardColumn)
    assert note.brands == (("American Express", 1), ("Mastercard", 1), ("Visa", 1))
    assert (note.values_with_cards, note.rows_examined, note.total_rows, note.sampled) == (3, 9, 9, False)


@pytest.mark.integration
def test_unreadable_column_is_an_error_naming_it(collected: tuple[FactStore, Recording]) -> None:
    store, _recording = collected
    population = store.get(CARD_COLUMNS)
    assert population is not None
    missing = next(s for s in population.subjects if s.id == PREFIX + "public.orders.no_such_column")
    assert missing.error is not None
    assert "public.orders.no_such_column" in english_text(missing.error)


@pytest.mark.integration
def test_table_without_text_columns_is_not_applicable_with_a_reason(
    collected: tuple[FactStore, Recording],
) -> None:
    store, _recording = collected
    results = verdicts(store, CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number)
    ledger = results[PREFIX + "public.ledger"]
    assert isinstance(ledger, Verdict)
    assert "has no text column" in ledger.message


@pytest.mark.integration
def test_sample_is_bounded_by_the_policy(cluster: PostgresServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, "[policy]\ncard_sample_limit = 2\n" + privacy_toml(cluster))
    store, _recording = collect(config)
    population = store.get(CARD_COLUMNS)
    assert population is not None
    note = next(s.fact for s in population.subjects if s.id == PREFIX + "public.orders.note")
    assert isinstance(note, CardColumn)
    assert (note.rows_examined, note.total_rows, note.sampled) == (2, 9, True)


@pytest.mark.integration
def test_newsletter_subscribers_without_opt_in_fail_by_flag_timestamp_and_query(
    collected: tuple[FactStore, Recording],
) -> None:
    store, _recording = collected
    results = verdicts(store, NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in)
    assert statuses(results) == NEWSLETTER_EXPECTED
    shop = results[f"{SERVER}/shop_db/shop"]
    assert isinstance(shop, Verdict)
    assert "1 of 3 newsletter subscriptions has no opt-in" in shop.message
    news = results[f"{SERVER}/news_db/news"]
    assert isinstance(news, Verdict)
    assert "1 of 3 newsletter subscriptions has no opt-in" in news.message


@pytest.mark.integration
def test_query_answering_something_other_than_a_count_is_an_error(
    collected: tuple[FactStore, Recording],
) -> None:
    store, _recording = collected
    population = store.get(NEWSLETTER_SUBSCRIPTIONS)
    assert population is not None
    letters = next(s for s in population.subjects if s.id == f"{SERVER}/news_db/letters")
    assert letters.error is not None
    text = english_text(letters.error)
    assert "not a whole number" in text
    assert EMAIL_CANARY not in text


@pytest.mark.integration
def test_replayed_recording_gives_the_same_verdicts_and_holds_counts_only(
    collected: tuple[FactStore, Recording], cluster: PostgresServer, tmp_path: Path
) -> None:
    store, recording = collected
    recorded = json.dumps(recording.databases, sort_keys=True)
    for canary in CANARIES:
        assert canary not in recorded
    assert recording.databases is not None
    rows = recording.databases[SERVER]["rows"]
    assert {"card_scans", "newsletter_opt_ins"} <= set(rows)
    replayed, _ = collect(write_config(tmp_path, privacy_toml(cluster)), replay=recording)
    for population, control in (
        (CARD_COLUMNS, c6c.test_column_holds_no_payment_card_number),
        (NEWSLETTER_SUBSCRIPTIONS, c6e.test_every_subscription_has_an_opt_in),
    ):
        live = verdicts(store, population, control)
        again = verdicts(replayed, population, control)
        assert {k: str(v) if isinstance(v, str) else v.message for k, v in again.items()} == {
            k: str(v) if isinstance(v, str) else v.message for k, v in live.items()
        }


@pytest.mark.integration
def test_unreadable_server_errors_every_scan_and_count(cluster: PostgresServer, tmp_path: Path) -> None:
    store, _recording = collect(write_config(tmp_path, privacy_toml(cluster)), password="wrong")
    for population in (CARD_COLUMNS, NEWSLETTER_SUBSCRIPTIONS):
        found = store.get(population)
        assert found is not None
        assert found.subjects
        assert all(subject.error is not None for subject in found.subjects)
    cards = store.get(CARD_COLUMNS)
    assert cards is not None
    assert {s.id for s in cards.subjects} == {
        PREFIX + name
        for name in (
            "public.orders.note",
            "public.orders.reference",
            "public.orders.no_such_column",
            "public.tickets",
            "public.ledger",
        )
    }


@pytest.mark.integration
def test_nothing_configured_is_not_applicable_with_a_reason(cluster: PostgresServer, tmp_path: Path) -> None:
    text = privacy_toml(cluster).split("[[applications]]")[0] + (
        '[[applications]]\nname = "shop"\nserver = "pg-privacy"\ndatabase = "shop_db"\nlogin = "shop_app"\n'
    )
    store, _recording = collect(write_config(tmp_path, text))
    for population, reason in (
        (CARD_COLUMNS, "no [[applications]] entry sets card_scan or card_scan_tables"),
        (NEWSLETTER_SUBSCRIPTIONS, "no [[applications]] entry sets newsletter"),
    ):
        found = store.get(population)
        assert found is not None
        assert not found.subjects
        assert found.empty_reason is not None
        assert english_text(found.empty_reason) == reason


# --- end to end -------------------------------------------------------------------------------


def assert_no_canary(folder: Path, *texts: str) -> None:
    for canary in CANARIES:
        for text in texts:
            assert canary not in text
        for path in folder.rglob("*"):
            if path.is_file():
                assert canary.encode() not in path.read_bytes(), f"{canary} leaked into {path}"


@pytest.mark.integration
def test_audit_records_and_replays_the_verdicts_and_never_shows_a_card_number_or_address(
    cluster: PostgresServer, tmp_path: Path
) -> None:
    config = "[probing]\nenabled = false\n" + privacy_toml(cluster)
    recording = tmp_path / "recorded" / "recording.json"
    live = run_audit(
        tmp_path / "live", config, "--record", str(recording), env={PASSWORD_ENV: AUDITOR_PASSWORD}
    )
    assert live.returncode == 1, live.stdout + live.stderr
    wanted = {
        **{("6c.no-card-data", k): v for k, v in CARD_EXPECTED.items()},
        **{("6e.newsletter-opt-in", k): v for k, v in NEWSLETTER_EXPECTED.items()},
    }
    got = {k: v for k, v in live.verdicts().items() if k[0] in {"6c.no-card-data", "6e.newsletter-opt-in"}}
    assert got == wanted
    note = live.result("6c.no-card-data", "public.orders.note")
    assert note["observed"]["card_numbers"] == {"American Express": 1, "Mastercard": 1, "Visa": 1}
    assert (live.evidence_dir / "report.html").is_file()
    assert recording.is_file()
    assert_no_canary(tmp_path, live.stdout, live.stderr, cluster.log_text())

    replayed = run_audit(tmp_path / "replay", config, "--replay", str(recording))
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    again = {
        k: v for k, v in replayed.verdicts().items() if k[0] in {"6c.no-card-data", "6e.newsletter-opt-in"}
    }
    assert again == wanted
    messages = {(r["control"], r["resource"]): r["message"] for r in live.bundle["results"]}
    replay_messages = {(r["control"], r["resource"]): r["message"] for r in replayed.bundle["results"]}
    assert {k: replay_messages[k] for k in wanted} == {k: messages[k] for k in wanted}
    assert_no_canary(tmp_path, replayed.stdout, replayed.stderr)
