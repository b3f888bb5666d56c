"""The period report's arithmetic on small planned archives: intervals, SLA, deviations, sample, words.

Each plan is one letter per night per resource (P pass, F fail, E error, ' ' no run that night);
the archive is sealed and chained like a real one (tests/archive_nights.py). The end-to-end
report over the generated 120-night demo archive is tested in tests/test_period_demo.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from reports.archive.store import FolderStore
from reports.history.database import open_sqlite
from reports.i18n.translation import translator
from reports.manifest import verify_bundle
from reports.period.document import period_document, write_period
from reports.period.report import PeriodReport, build_period
from tests.archive_nights import DB_CONTROL, START, build_archive
from tests.audit_runs import ROOT

SCHEMA = json.loads((ROOT / "reports" / "period.schema.json").read_text(encoding="utf-8"))


def period(store: FolderStore, tmp_path: Path, days: int, **options: object) -> PeriodReport:
    """Return the period report of the first `days` nights of a planned archive."""
    db = open_sqlite(tmp_path / "history.sqlite")
    try:
        return build_period(store, db, START, START + timedelta(days=days - 1), **options)  # type: ignore[arg-type]
    finally:
        db.close()


def exceptions_of(report: PeriodReport) -> list[tuple[str, str, str | None, str, int]]:
    """Return (resource, first night, fixed night, SLA verdict, duration) of every exception."""
    [control] = report.controls
    return [
        (
            i.resource,
            i.first.isoformat(),
            i.fixed.isoformat() if i.fixed else None,
            i.sla_verdict,
            i.duration_days,
        )
        for i in control.exceptions
    ]


def test_failing_interval_fixed_within_the_sla(tmp_path: Path) -> None:
    report = period(build_archive(tmp_path, {"sql-a": "PPFFFPPP"}), tmp_path, 8)
    assert exceptions_of(report) == [("sql-a", "2026-11-03", "2026-11-06", "within SLA", 3)]
    [control] = report.controls
    assert control.mttr_days == 3.0
    assert (control.occurrences, control.nights_fail, control.population_max) == (8, 3, 1)


def test_interval_longer_than_the_clause_sla_is_overdue(tmp_path: Path) -> None:
    policy = {"remediation_days": 30, "remediation_days_by_clause": {"12e": 2}}
    report = period(build_archive(tmp_path, {"sql-a": "PFFFFPPP"}, policy), tmp_path, 8)
    assert exceptions_of(report) == [("sql-a", "2026-11-02", "2026-11-06", "remediated late", 4)]
    assert report.controls[0].sla_days == 2


def test_still_failing_at_the_end_counts_through_the_last_night(tmp_path: Path) -> None:
    report = period(build_archive(tmp_path, {"sql-a": "PPPPPFFF"}), tmp_path, 8)
    [interval] = report.controls[0].exceptions
    assert (interval.ended, interval.fixed, interval.duration_days) == ("still failing", None, 3)
    assert interval.sla_verdict == "open, within SLA"
    assert report.controls[0].mttr_days is None


def test_a_night_without_a_run_does_not_end_an_interval(tmp_path: Path) -> None:
    report = period(build_archive(tmp_path, {"sql-a": "PFF FFPP"}), tmp_path, 8)
    assert exceptions_of(report) == [("sql-a", "2026-11-02", "2026-11-07", "within SLA", 5)]
    assert [(d.night.isoformat(), d.kind) for d in report.nights.deviations] == [("2026-11-04", "missing")]
    assert (report.nights.expected, report.nights.present, report.nights.verified) == (8, 7, 7)


def test_a_resource_gone_from_scope_ends_its_interval_unfixed(tmp_path: Path) -> None:
    report = period(build_archive(tmp_path, {"sql-a": "PFF-----", "sql-b": "PPPPPPPP"}), tmp_path, 8)
    [interval] = report.controls[0].exceptions
    assert (interval.ended, interval.fixed) == ("gone from scope", None)


def test_an_altered_night_is_not_counted_and_is_a_deviation(tmp_path: Path) -> None:
    store = build_archive(tmp_path, {"sql-a": "PPFFFPPP"})
    night = store.root / "2026" / "11" / "04" / "20261104T020000Z" / "evidence.json"
    night.chmod(0o644)
    night.write_text(night.read_text(encoding="utf-8").replace('"fail"', '"pass"'), encoding="utf-8")
    report = period(store, tmp_path, 8)
    kinds = [(d.night.isoformat(), d.kind) for d in report.nights.deviations]
    assert kinds == [("2026-11-04", "altered")]
    assert report.controls[0].occurrences == 7
    assert exceptions_of(report) == [("sql-a", "2026-11-03", "2026-11-06", "within SLA", 3)]


def test_clause_verdict_in_english_and_dutch(tmp_path: Path) -> None:
    report = period(build_archive(tmp_path, {"sql-a": "PPFFFPPP", "sql-b": "PPPPPPFF"}), tmp_path, 8)
    [clause] = report.clauses
    assert translator("en").render(clause.message) == (
        "12e: operated on 3 of 8 nights; 1 exception remediated within 30 days; 1 open since 7 November 2026"
    )
    assert translator("nl").render(clause.message) == (
        "12e: werkte op 3 van 8 nachten; 1 afwijking binnen 30 dagen hersteld; 1 open sinds 7 november 2026"
    )


def test_the_same_seed_draws_the_same_sample(tmp_path: Path) -> None:
    store = build_archive(tmp_path, {f"sql-{n}": "PPFFFPPPPP" for n in range(6)})
    first = period(store, tmp_path, 10, sample_nights=3, sample_items=2, seed=42).sample
    again = period(store, tmp_path, 10, sample_nights=3, sample_items=2, seed=42).sample
    other = period(store, tmp_path, 10, sample_nights=3, sample_items=2, seed=43).sample
    assert first == again
    assert first != other
    assert [len(n.items) for n in first] == [2, 2, 2]
    link = first[0].items[0].report_link
    assert link.startswith(first[0].run_key + "report.html#result-")


def test_period_json_follows_its_schema_and_the_folder_verifies(tmp_path: Path) -> None:
    report = period(build_archive(tmp_path, {"sql-a": "PPFFFPPP"}), tmp_path, 8, sample_nights=2, seed=1)
    out = tmp_path / "period"
    page = write_period(report, out, "nl")
    document = json.loads((out / "period.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, SCHEMA)
    assert document == json.loads(json.dumps(period_document(report, _generated(document))))
    assert verify_bundle(out, None).ok
    html = page.read_text(encoding="utf-8")
    assert "werkte op 5 van 8 nachten" in html
    assert DB_CONTROL in html
    assert "binnen termijn hersteld" in html
    assert "een nacht zonder gecontroleerde handtekening kan achteraf zijn gemaakt" in html  # no --public-key


def _generated(document: dict[str, object]) -> datetime:
    return datetime.strptime(str(document["generated_at"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def run_period(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m reports period ...` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "reports", "period", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_exit_0_when_every_night_verifies_1_with_deviations(tmp_path: Path) -> None:
    store = build_archive(tmp_path, {"sql-a": "PPFF PPP"})
    common = ["--archive", str(store.root), "--out", str(tmp_path / "out"), "--from", "2026-11-01"]
    clean = run_period(*common, "--to", "2026-11-04")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "4 of 4 nights archived, 4 verified, 0 deviations" in clean.stdout
    gap = run_period(*common, "--to", "2026-11-08")
    assert gap.returncode == 1
    assert "DEVIATION 2026-11-05 missing" in gap.stdout
    assert (tmp_path / "out" / "period.html").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sample", "3"), "--sample needs --seed"),
        (("--to", "2026-10-01"), "--from is after --to"),
        (("--sample", "0", "--seed", "1"), "expected a number of at least 1"),
    ],
)
def test_cli_usage_errors_are_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    store = build_archive(tmp_path, {"sql-a": "PP"})
    base = ["--archive", str(store.root), "--out", str(tmp_path / "out"), "--from", "2026-11-01"]
    if "--to" not in args:
        base += ["--to", "2026-11-02"]
    run = run_period(*base, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
