"""The generated audit-period archive (demo/period_archive.py): sealed nights with each event as planted.

120 nights are generated once from a real demo run, signed with a fresh Ed25519 key. verify-chain
must find exactly the planted missing night and the night altered after archiving (its signature
and the next night's link), every night must be a schema-valid, self-consistent evidence document,
each planted event must be in the archived evidence.json files on exactly its nights, and the
history must index every archived night.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.period_archive import (
    ARCHIVE_DIR,
    PLANTED_NAME,
    GeneratedArchive,
    PlantedEvents,
    generate,
)
from reports.archive.chain import CHAIN_NAME, ChainLink
from reports.archive.store import FolderStore
from reports.archive.verify_chain import verify_chain
from reports.evidence import SCHEMA_FILE
from reports.history.database import open_sqlite
from reports.history.reindex import reindex
from reports.manifest import EVIDENCE_NAME, MANIFEST_NAME, SIGNATURE_NAME, SIGNING_KEY_ENV

ROOT = Path(__file__).resolve().parents[1]
Night = dict[str, Any]


@pytest.fixture(scope="session")
def nights(generated: GeneratedArchive) -> dict[date, Night]:
    """Return every archived night's evidence.json, by night."""
    return {
        date.fromisoformat(night): json.loads((generated.archive / prefix / EVIDENCE_NAME).read_text("utf-8"))
        for night, prefix in generated.run_keys.items()
    }


def result_of(night: Night, control: str, resource: str) -> dict[str, Any]:
    """Return the one result of (control, resource) in a night's evidence."""
    found: list[dict[str, Any]] = [
        r for r in night["results"] if (r["control"], r["resource"]) == (control, resource)
    ]
    assert len(found) == 1, f"{control} {resource}: {len(found)} results"
    return found[0]


def statuses(nights: dict[date, Night], control: str, resource: str) -> dict[date, str]:
    """Return the item's status on every archived night."""
    return {on: result_of(night, control, resource)["status"] for on, night in nights.items()}


def under_subscription(night: Night, subscription: str) -> list[dict[str, Any]]:
    """Return the night's results of the subscription itself and of every resource in it."""
    prefix = f"/subscriptions/{subscription}"
    return [r for r in night["results"] if r["resource"] == prefix or r["resource"].startswith(prefix + "/")]


def period(start: date, end: date) -> list[date]:
    """Return every date from `start` through `end`."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def test_verify_chain_finds_exactly_the_missing_and_the_altered_night(generated: GeneratedArchive) -> None:
    report = verify_chain(FolderStore(generated.archive), public_key=generated.public_key)
    assert generated.missing_night == date(2026, 7, 10)
    assert report.missing_nights == [date(2026, 7, 10)]
    assert report.strays == []
    assert len(report.runs) == 119
    wrong = {check.run.prefix: check for check in report.runs if not check.ok}
    altered = generated.altered
    assert altered.night == date(2026, 7, 30)
    assert altered.next_night == date(2026, 7, 31)
    assert set(wrong) == {altered.run_key, altered.next_run_key}
    assert wrong[altered.run_key].kinds == {"altered"}
    assert wrong[altered.run_key].problems == [
        "SIGNATURE: missing: no MANIFEST.sha256.sig, but a public key was given"
    ]
    assert wrong[altered.next_run_key].kinds == {"chain"}
    [broken] = wrong[altered.next_run_key].problems
    assert f"the manifest of {altered.run_key} changed after this run sealed its sha256" in broken
    assert all(check.signed for check in report.runs if check.ok)


def test_the_night_after_the_missing_one_links_to_the_night_before_it(generated: GeneratedArchive) -> None:
    assert "2026-07-10" not in generated.run_keys
    assert not (generated.archive / "2026" / "07" / "10").exists()
    before, after = generated.run_keys["2026-07-09"], generated.run_keys["2026-07-11"]
    link = ChainLink.loads((generated.archive / after / CHAIN_NAME).read_bytes())
    assert link.key == after
    assert link.previous is not None
    assert link.previous.key == before
    manifest = (generated.archive / before / MANIFEST_NAME).read_bytes()
    assert link.previous.manifest_sha256 == hashlib.sha256(manifest).hexdigest()


def test_first_night_starts_the_chain_and_every_night_runs_at_two(
    generated: GeneratedArchive, nights: dict[date, Night]
) -> None:
    first = ChainLink.loads((generated.archive / generated.run_keys["2026-06-01"] / CHAIN_NAME).read_bytes())
    assert first.previous is None
    assert not first.unknown
    assert min(nights) == date(2026, 6, 1)
    assert max(nights) == generated.end == date(2026, 9, 28)
    for on, night in nights.items():
        assert night["run"]["run_date"] == on.isoformat()
        assert night["run"]["started_at"].startswith(f"{on.isoformat()}T02:00:")
        assert night["run"]["finished_at"] > night["run"]["started_at"]


@functools.cache
def evidence_validator() -> jsonschema.Draft202012Validator:
    """Return the validator of reports/evidence.schema.json, with formats checked."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Return every way `document` breaks reports/evidence.schema.json, one line each."""
    validator = evidence_validator()
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)
    )


def test_the_template_run_validates_against_the_evidence_schema(template: Path) -> None:
    assert schema_errors(json.loads(template.read_text(encoding="utf-8"))) == []


def test_every_night_validates_against_the_evidence_schema(template: Path, nights: dict[date, Night]) -> None:
    for on, night in nights.items():
        assert schema_errors(night) == [], on


def test_every_night_counts_its_own_results(nights: dict[date, Night]) -> None:
    for on, night in nights.items():
        counted = Counter(r["status"] for r in night["results"])
        summary = dict(night["summary"])
        assert summary.pop("total") == len(night["results"]), on
        assert {k: v for k, v in summary.items() if v} == dict(counted), on
        for control in night["controls"]:
            mine = Counter(r["status"] for r in night["results"] if r["control"] == control["id"])
            assert {k: v for k, v in control["counts"].items() if v} == dict(mine), (on, control["id"])


def test_resource_fails_for_twelve_nights_then_is_fixed(
    generated: GeneratedArchive, nights: dict[date, Night]
) -> None:
    failing = generated.failing
    assert (failing.first, failing.last, failing.fixed, failing.nights) == (
        date(2026, 6, 20),
        date(2026, 7, 1),
        date(2026, 7, 2),
        12,
    )
    seen = statuses(nights, failing.item.control, failing.item.resource)
    assert [on for on, status in seen.items() if status != "pass"] == period(failing.first, failing.last)
    for on in period(failing.first, failing.last):
        result = result_of(nights[on], failing.item.control, failing.item.resource)
        assert result["message"] == failing.message
        assert result["finding"] is not None
    name = failing.item.resource.rsplit("/", 1)[-1]
    assert name in failing.message


def test_failure_from_night_100_has_its_ticket_created_and_reminded(
    generated: GeneratedArchive, nights: dict[date, Night]
) -> None:
    ticket = generated.ticket
    assert (ticket.failing_since, ticket.ticket) == (date(2026, 9, 8), "AUD-100")
    assert ticket.comments == (date(2026, 9, 15), date(2026, 9, 22))
    seen = statuses(nights, ticket.item.control, ticket.item.resource)
    assert [on for on, status in seen.items() if status != "pass"] == period(
        ticket.failing_since, generated.end
    )
    for on, night in nights.items():
        section = night["tickets"]
        assert (section["mode"], section["backend"], section["errors"]) == ("on", ticket.backend, [])
        expected = "create" if on == ticket.created else "comment" if on in ticket.comments else None
        assert [a["action"] for a in section["actions"]] == ([expected] if expected else []), on
        for action in section["actions"]:
            assert action["ticket"] == "AUD-100"
            assert action["url"] == ticket.url
            assert (action["control"], action["scope"]) == (ticket.item.control, ticket.scope)
            assert action["fingerprint"] == ticket.fingerprint


def test_waiver_waives_until_it_expires_mid_period(
    generated: GeneratedArchive, nights: dict[date, Night]
) -> None:
    waiver = generated.waiver
    assert (waiver.last_waived, waiver.expired_from, waiver.expires) == (
        date(2026, 8, 8),
        date(2026, 8, 9),
        date(2026, 8, 8),
    )
    seen = statuses(nights, waiver.item.control, waiver.item.resource)
    for on, night in nights.items():
        result = result_of(night, waiver.item.control, waiver.item.resource)
        expired = on >= waiver.expired_from
        assert seen[on] == ("fail" if expired else "waived"), on
        assert result["waiver"] == {
            "approved_by": waiver.approved_by,
            "expired": expired,
            "expires": waiver.expires.isoformat(),
            "justification": waiver.justification,
            "resource_pattern": waiver.item.resource,
        }
        word = "expired on" if expired else "waived by"
        assert word in result["message"], on
        [entry] = [w for w in night["waivers"] if w["resource"] == waiver.item.resource]
        assert (entry["control"], entry["expired"], entry["expires"]) == (
            waiver.item.control,
            expired,
            waiver.expires.isoformat(),
        )


def test_subscription_is_error_on_one_night(generated: GeneratedArchive, nights: dict[date, Night]) -> None:
    error = generated.error_night
    assert error.night == date(2026, 8, 29)
    under = under_subscription(nights[error.night], error.subscription)
    assert len(under) == error.results == len(error.items) > 0
    for result in under:
        assert result["status"] == "error"
        assert f"subscription {error.subscription} could not be listed: HTTP 503" in result["message"]
        assert result["waiver"] is None
    for on in (error.night - timedelta(days=1), error.night + timedelta(days=1)):
        errors = [r for r in nights[on]["results"] if r["status"] == "error"]
        assert len(errors) < len(under) / 4
        assert not any("HTTP 503" in r["message"] for r in errors)


def test_code_and_policy_change_on_their_nights(
    generated: GeneratedArchive, nights: dict[date, Night]
) -> None:
    code, policy = generated.code_change, generated.policy_change
    assert code.night == date(2026, 7, 30)
    assert policy.night == date(2026, 8, 19)
    assert code.before != code.after
    for on, night in nights.items():
        run = night["run"]
        assert run["tool"]["git_commit"] == (code.after if on >= code.night else code.before)
        changed = on >= policy.night
        assert run["policy"][policy.key] == (policy.after if changed else policy.before)
        assert run["config"]["sha256"] == (
            policy.config_sha256_after if changed else policy.config_sha256_before
        )
    assert (policy.key, policy.before, policy.after) == ("audit_min_retention_days", 90, 180)


def test_altered_night_shows_a_failure_turned_into_a_pass(
    generated: GeneratedArchive, nights: dict[date, Night]
) -> None:
    altered = generated.altered
    item = altered.item
    assert (altered.archived_status, altered.altered_status) == ("fail", "pass")
    seen = statuses(nights, item.control, item.resource)
    assert [on for on, status in seen.items() if status == "pass"] == [altered.night]


def test_reindex_indexes_every_archived_night(generated: GeneratedArchive, tmp_path: Path) -> None:
    db = open_sqlite(tmp_path / "history.sqlite")
    try:
        report = reindex(FolderStore(generated.archive), db)
        assert report.skipped == []
        assert len(report.indexed) == 119
        assert {r.results for r in report.indexed} == {generated.results_per_night}
        [(runs,)] = db.execute("SELECT count(*) FROM runs")
        assert runs == 119
    finally:
        db.close()


def test_planted_json_lies_beside_the_archive_and_says_what_was_planted(generated: GeneratedArchive) -> None:
    assert generated.planted_file == generated.out / PLANTED_NAME
    assert generated.archive == generated.out / ARCHIVE_DIR
    planted = json.loads(generated.planted_file.read_text(encoding="utf-8"))
    assert planted == generated.as_json()
    assert planted["missing_night"] == "2026-07-10"
    assert planted["ticket"]["ticket"] == "AUD-100"
    assert planted["events"]["altered_night"] == 60
    assert len(planted["run_keys"]) == 119


def test_results_per_night_multiplies_the_template(template: Path, tmp_path: Path) -> None:
    made = generate(tmp_path, template, nights=12, results_per_night=3000)
    assert made.results_per_night == 3000
    assert len(made.run_keys) == 11
    first = (made.archive / made.run_keys["2026-06-01"] / EVIDENCE_NAME).read_text(encoding="utf-8")
    assert not first.startswith("{\n")  # large nights are written compact
    document = json.loads(first)
    items = [(r["control"], r["resource"]) for r in document["results"]]
    assert len(items) == len(set(items)) == 3000
    assert any(resource.endswith("-0001") for _, resource in items)
    assert document["summary"]["total"] == 3000
    assert schema_errors(document) == schema_errors(json.loads(template.read_text(encoding="utf-8")))
    report = verify_chain(FolderStore(made.archive))
    assert report.missing_nights == [made.missing_night]
    assert [c.run.prefix for c in report.runs if not c.ok] == [made.altered.next_run_key]
    error = json.loads(
        (made.archive / made.run_keys[made.error_night.night.isoformat()] / EVIDENCE_NAME).read_text()
    )
    under = under_subscription(error, made.error_night.subscription)
    assert len(under) == made.error_night.results > len(made.error_night.items)
    assert {r["status"] for r in under} == {"error"}


def test_command_line_generates_an_archive(template: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo.period_archive",
            "--out",
            str(out),
            "--nights",
            "12",
            "--template",
            str(template),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "archived 11 of 12 nights" in run.stdout
    assert f"planted events: {out / PLANTED_NAME}" in run.stdout
    planted = json.loads((out / PLANTED_NAME).read_text(encoding="utf-8"))
    assert planted["public_key"] is None
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo.period_archive",
            "--out",
            str(out),
            "--nights",
            "12",
            "--template",
            str(template),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 2
    assert "is not empty" in again.stderr


@pytest.mark.parametrize(
    ("events", "nights", "problem"),
    [
        (PlantedEvents(missing_night=20), 120, "falls on failing_from"),
        (PlantedEvents(missing_night=61), 120, "falls on night after altered_night"),
        (PlantedEvents(), 99, "ticket_from = 100 lies outside"),
        (PlantedEvents(missing_night=1), 120, "strictly inside"),
        (PlantedEvents(failing_from=110), 120, "has no fixing night"),
    ],
)
def test_events_that_cannot_be_seen_are_refused(events: PlantedEvents, nights: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        events.check(nights)


def test_scaled_events_fit_every_period_length() -> None:
    for nights in range(12, 800):
        PlantedEvents.for_nights(nights).check(nights)
    with pytest.raises(ValueError, match="too short"):
        PlantedEvents.for_nights(11)


def test_unsigned_generation_ignores_and_restores_a_key_in_the_environment(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setenv(SIGNING_KEY_ENV, other.decode("ascii"))
    made = generate(tmp_path, template, nights=12)
    assert os.environ[SIGNING_KEY_ENV] == other.decode("ascii")
    assert made.public_key is None
    assert not list(made.archive.rglob(SIGNATURE_NAME))


def test_with_reports_archives_the_whole_bundle(template: Path, tmp_path: Path) -> None:
    made = generate(tmp_path, template, nights=12, with_reports=True)
    for prefix in made.run_keys.values():
        names = {p.name for p in (made.archive / prefix).iterdir()}
        assert {EVIDENCE_NAME, CHAIN_NAME, MANIFEST_NAME, "report.html", "junit.xml"} <= names
    report = verify_chain(FolderStore(made.archive))
    assert report.missing_nights == [made.missing_night]
    assert [c.run.prefix for c in report.runs if not c.ok] == [made.altered.next_run_key]


def test_pinned_items_must_have_the_status_their_event_needs(template: Path, tmp_path: Path) -> None:
    failing = next(
        r for r in json.loads(template.read_text(encoding="utf-8"))["results"] if r["status"] == "fail"
    )
    events = PlantedEvents(failing_item=(failing["control"], failing["resource"]))
    with pytest.raises(ValueError, match="needs a pass result without a waiver"):
        generate(tmp_path, template, events=events)
    with pytest.raises(ValueError, match="the template has no result"):
        generate(tmp_path, template, events=PlantedEvents(waiver_item=("no.control", "nowhere")))
