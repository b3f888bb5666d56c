"""The history database: idempotent indexing, rebuilt from the archive alone, on SQLite and a real PostgreSQL.

Also the nightly trends read from it: a failing item's streak across a missing night, a fix that
ends it, and the mean time to remediate.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from demo.standins.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, PostgresServer, running_postgres
from reports.archive.chain import CHAIN_NAME, ChainLink, RunKey
from reports.history.database import HistoryDatabase, HistoryError, open_postgresql, open_sqlite
from reports.history.indexing import index_run
from reports.history.reindex import reindex
from reports.history.settings import HistorySettings
from reports.history.trends import night_trends
from reports.html import render_html, result_anchor
from tests.archive_nights import DB_CONTROL, START, build_archive, evidence, nights_of


def table_dump(db: HistoryDatabase) -> dict[str, list[tuple[Any, ...]]]:
    """Return the history's content without ids and indexing times, in a stable order."""
    return {
        "runs": sorted(
            tuple(r)
            for r in db.execute(
                "SELECT run_key, night, git_commit, config_sha256, policy, manifest_sha256, previous_key, "
                "previous_sha256, chain_unknown, counts FROM runs"
            )
        ),
        "results": sorted(
            tuple(r)
            for r in db.execute(
                "SELECT ru.run_key, i.control, i.resource, r.status, d.body FROM results r "
                "JOIN runs ru ON ru.id = r.run JOIN items i ON i.id = r.item LEFT JOIN documents d ON d.id = r.finding"
            )
        ),
        "controls": sorted(
            tuple(r)
            for r in db.execute(
                "SELECT c.control, c.clause, ru.run_key FROM controls c JOIN runs ru ON ru.id = c.run"
            )
        ),
    }


PLAN = {
    "sql-a": "PPFFFPPP",
    "sql-b": "PPPP FFF",
    "sql-c": "FFFFFFFF",
}


@pytest.fixture
def sqlite_history(tmp_path: Path) -> Iterator[HistoryDatabase]:
    db = open_sqlite(tmp_path / "history.sqlite")
    yield db
    db.close()


def test_reindex_gives_every_night_once(tmp_path: Path, sqlite_history: HistoryDatabase) -> None:
    store = build_archive(tmp_path, PLAN)
    report = reindex(store, sqlite_history)
    assert [r.run_key[:10] for r in report.indexed] == [n.strftime("%Y/%m/%d") for n, _ in nights_of(PLAN)]
    assert report.skipped == []
    assert sqlite_history.execute("SELECT COUNT(*) FROM runs") == [(8,)]
    assert sqlite_history.execute("SELECT COUNT(*) FROM results") == [(23,)]  # sql-b absent one night


def test_indexing_twice_changes_nothing(tmp_path: Path, sqlite_history: HistoryDatabase) -> None:
    store = build_archive(tmp_path, PLAN)
    reindex(store, sqlite_history)
    first = table_dump(sqlite_history)
    reindex(store, sqlite_history)
    assert table_dump(sqlite_history) == first


def test_rebuilt_history_equals_the_one_indexed_night_by_night(tmp_path: Path) -> None:
    store = build_archive(tmp_path, PLAN)
    nightly = open_sqlite(tmp_path / "nightly.sqlite")
    for night, statuses in nights_of(PLAN):
        key = RunKey(night, night.strftime("%Y%m%dT020000Z"))
        manifest = (store.root / key.prefix / "MANIFEST.sha256").read_bytes()
        link = ChainLink.loads((store.root / key.prefix / CHAIN_NAME).read_bytes())
        index_run(nightly, key, evidence(night, statuses), hashlib.sha256(manifest).hexdigest(), link)
    rebuilt = open_sqlite(tmp_path / "rebuilt.sqlite")
    reindex(store, rebuilt)
    assert table_dump(rebuilt) == table_dump(nightly)


def test_a_finding_text_is_stored_once(tmp_path: Path, sqlite_history: HistoryDatabase) -> None:
    reindex(build_archive(tmp_path, {"sql-c": "FFFFFFFF"}), sqlite_history)
    assert sqlite_history.execute("SELECT COUNT(*) FROM documents") == [(1,)]
    assert sqlite_history.execute("SELECT COUNT(*) FROM items") == [(1,)]


def test_unreadable_night_is_skipped_and_named(tmp_path: Path, sqlite_history: HistoryDatabase) -> None:
    store = build_archive(tmp_path, {"sql-a": "PP"})
    broken = store.root / "2026" / "11" / "02" / "20261102T020000Z" / "evidence.json"
    broken.chmod(0o644)
    broken.write_text('{"run": {}}', encoding="utf-8")
    report = reindex(store, sqlite_history)
    assert len(report.indexed) == 1
    [skipped] = report.skipped
    assert skipped.startswith("2026/11/02/20261102T020000Z/: evidence.json cannot be indexed")


def test_history_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    open_sqlite(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE history_schema SET version = 99")
    with pytest.raises(HistoryError, match="rebuild it with `python -m reports reindex`"):
        open_sqlite(path)


def test_password_in_the_history_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        HistorySettings(url="postgresql://audit:s3cret-pw@db.example.nl/history")
    [error] = caught.value.errors()
    assert "use password_env" in error["msg"]
    assert "s3cret-pw" not in error["msg"]


# -- trends -------------------------------------------------------------------------------------------


def test_failing_since_survives_a_missing_night_and_a_pass_ends_it(
    tmp_path: Path, sqlite_history: HistoryDatabase
) -> None:
    plan = {"sql-a": "PFF F", "sql-b": "FFP F"}
    reindex(build_archive(tmp_path, plan), sqlite_history)
    tonight = START + timedelta(days=5)
    results = [
        {"control": DB_CONTROL, "resource": "sql-a", "status": "fail"},
        {"control": DB_CONTROL, "resource": "sql-b", "status": "fail"},
    ]
    trends = night_trends(sqlite_history, tonight, results, nights=6)
    since = {f["resource"]: f["failing_since"] for f in trends["failing"]}
    assert since == {"sql-a": "2026-11-02", "sql-b": "2026-11-05"}
    assert trends["controls"][DB_CONTROL]["marks"] == "FFF-FF"
    assert trends["controls"][DB_CONTROL]["mttr_days"] == 2.0


def test_a_new_failure_is_failing_since_tonight(tmp_path: Path, sqlite_history: HistoryDatabase) -> None:
    reindex(build_archive(tmp_path, {"sql-a": "PPP"}), sqlite_history)
    tonight = START + timedelta(days=3)
    trends = night_trends(
        sqlite_history, tonight, [{"control": DB_CONTROL, "resource": "sql-a", "status": "error"}]
    )
    assert trends["failing"] == [{"control": DB_CONTROL, "resource": "sql-a", "failing_since": "2026-11-04"}]
    assert trends["controls"][DB_CONTROL]["marks"].endswith("PPPE")
    assert trends["controls"][DB_CONTROL]["mttr_days"] is None


# -- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        server.execute("postgres", "CREATE DATABASE history")
        yield server


def test_postgresql_history_holds_the_same_as_sqlite(tmp_path: Path, postgres: PostgresServer) -> None:
    store = build_archive(tmp_path, PLAN)
    url = f"postgresql://{SUPERUSER}@{postgres.host}:{postgres.port}/history"
    db = open_postgresql(url, SUPERUSER_PASSWORD)
    try:
        reindex(store, db)
        reindex(store, db)
        sqlite = open_sqlite(tmp_path / "h.sqlite")
        reindex(store, sqlite)
        assert table_dump(db) == table_dump(sqlite)
        trends = night_trends(
            db, START + timedelta(days=8), [{"control": DB_CONTROL, "resource": "sql-c", "status": "fail"}]
        )
        assert trends["failing"][0]["failing_since"] == "2026-11-01"
    finally:
        db.close()


def test_postgresql_wrong_password_is_named_without_the_password(postgres: PostgresServer) -> None:
    url = f"postgresql://{SUPERUSER}@{postgres.host}:{postgres.port}/history"
    with pytest.raises(HistoryError) as caught:
        open_postgresql(url, "wrong-password-91f3")
    assert "cannot connect" in str(caught.value)
    assert "wrong-password-91f3" not in str(caught.value)


# -- the trends in the nightly report ------------------------------------------------------------------


def test_report_shows_the_trend_failing_since_and_ticket_of_a_failing_row() -> None:
    sample = json.loads(
        (Path(__file__).with_name("fixtures") / "evidence_sample.json").read_text(encoding="utf-8")
    )
    failing = next(r for r in sample["results"] if r["status"] == "fail")
    sample["trends"] = {
        "nights": 5,
        "from": "2026-11-25",
        "to": "2026-11-29",
        "controls": {failing["control"]: {"marks": "PP-FF", "mttr_days": 4.5}},
        "failing": [
            {"control": failing["control"], "resource": failing["resource"], "failing_since": "2026-11-28"}
        ],
    }
    sample["tickets"] = {
        "mode": "on",
        "backend": "jira",
        "actions": [
            {
                "action": "comment",
                "fingerprint": "f" * 16,
                "control": failing["control"],
                "scope": failing["resource"],
                "ticket": "SEC-77",
                "url": "https://example.atlassian.net/browse/SEC-77",
                "note": None,
            }
        ],
        "wont_fix": [],
        "errors": [],
    }
    html = render_html(sample, lang="nl")
    anchor = result_anchor(failing["control"], failing["resource"])
    row = html[html.index(f'id="{anchor}"') :]
    row = row[: row.index("<tr", 10)]
    assert "voldoet niet sinds 28 november 2026" in row
    assert "ticket SEC-77" in row
    assert 'class="b-pass" x="0"' in html
    assert 'class="b-none" x="2"' in html
    assert 'class="b-fail" x="4"' in html
    assert "gemiddelde hersteltijd: 4,5 dagen" in html


def test_report_without_an_archive_has_no_trend_line() -> None:
    sample = json.loads(
        (Path(__file__).with_name("fixtures") / "evidence_sample.json").read_text(encoding="utf-8")
    )
    html = render_html(sample)
    assert 'class="spark"' not in html
    assert "failing since" not in html


def test_a_password_in_a_command_line_history_url_is_never_echoed(postgres: PostgresServer) -> None:
    url = f"postgresql://{SUPERUSER}:wrong-secret-5c2e@{postgres.host}:{postgres.port}/history"
    with pytest.raises(HistoryError) as caught:
        open_postgresql(url, None)
    assert "wrong-secret-5c2e" not in str(caught.value)
    assert "cannot connect" in str(caught.value)
