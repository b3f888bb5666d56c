"""The period report over the generated 120-night archive: every planted event exactly as planted.

The archive (demo/period_archive.py, fixture in tests/conftest.py) holds a missing night, a night
altered after archiving, a controls-code change, a policy change, a resource failing for 12
nights then fixed, one failing since night 100 with an open ticket, a waiver expiring mid-period
and a night where a subscription was `error`. `python -m reports period` runs on it as an auditor
would; each event is asserted in period.json and in period.html (opened in headless Chromium),
and screenshots of the cover, an exception table and the sample are written for a person to read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bench.report_scale import CHROMIUM, CHROMIUM_ARGS
from demo.period_archive import GeneratedArchive
from reports.manifest import verify_bundle
from tests.audit_runs import ROOT

SCHEMA = json.loads((ROOT / "reports" / "period.schema.json").read_text(encoding="utf-8"))
SCREENSHOTS = Path(__file__).with_name("artifacts") / "screenshots"
SEED = 20261201

if CHROMIUM.exists():
    from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="module")
def period(
    generated: GeneratedArchive, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], str]:
    """Return (out folder, period.json, stdout) of the period report in Dutch over the whole archive."""
    out = tmp_path_factory.mktemp("period-report")
    run = subprocess.run(
        [
            sys.executable, "-m", "reports", "period",
            "--archive", str(generated.archive),
            "--from", generated.start.isoformat(), "--to", generated.end.isoformat(),
            "--sample", "6", "--items", "3", "--seed", str(SEED),
            "--public-key", str(generated.public_key),
            "--lang", "nl", "--out", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr  # written, with the planted deviations
    assert "Traceback" not in run.stderr
    return out, json.loads((out / "period.json").read_text(encoding="utf-8")), run.stdout


def control(document: dict[str, Any], control_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in document["controls"] if c["id"] == control_id]
    assert len(found) == 1, control_id
    return found[0]


def exceptions_for(document: dict[str, Any], control_id: str, resource: str) -> list[dict[str, Any]]:
    return [e for e in control(document, control_id)["exceptions"] if e["resource"] == resource]


def test_period_json_follows_its_schema_and_its_folder_verifies(
    period: tuple[Path, dict[str, Any], str],
) -> None:
    out, document, _ = period
    jsonschema.validate(document, SCHEMA)
    assert verify_bundle(out, None).ok


def test_cover_counts_the_nights_and_lists_exactly_the_planted_deviations(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, stdout = period
    nights = document["nights"]
    # The altered night does not count; the night after it is authentic (its link names the alteration).
    assert (nights["expected"], nights["present"], nights["verified"]) == (120, 119, 118)
    deviations = [(d["night"], d["kind"]) for d in nights["deviations"]]
    assert deviations == [
        (generated.missing_night.isoformat(), "missing"),
        (generated.altered.night.isoformat(), "altered"),
        (generated.altered.next_night.isoformat(), "chain"),
    ]
    assert document["chain"]["verified"] is False
    assert document["chain"]["signatures_checked"] == 118
    assert f"DEVIATION {generated.missing_night.isoformat()} missing" in stdout


def test_resource_failing_twelve_nights_then_fixed(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, _ = period
    planted = generated.failing
    [interval] = exceptions_for(document, planted.item.control, planted.item.resource)
    assert interval["first_night"] == planted.first.isoformat()
    assert interval["last_night"] == planted.last.isoformat()
    assert interval["fixed_night"] == planted.fixed.isoformat()
    assert (interval["nights"], interval["duration_days"], interval["sla_verdict"]) == (12, 12, "within SLA")
    assert interval["message_en"] == planted.message


def test_failing_since_night_100_with_its_open_ticket(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, _ = period
    planted = generated.ticket
    [interval] = exceptions_for(document, planted.item.control, planted.item.resource)
    assert interval["first_night"] == planted.failing_since.isoformat()
    assert (interval["ended"], interval["fixed_night"]) == ("still failing", None)
    assert interval["ticket"] == {"key": planted.ticket, "url": planted.url, "state": "open"}
    assert interval["duration_days"] == (generated.end - planted.failing_since).days + 1


def test_waiver_expiring_mid_period(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, _ = period
    planted = generated.waiver
    [interval] = exceptions_for(document, planted.item.control, planted.item.resource)
    assert interval["statuses"] == ["fail", "waived"]
    assert interval["waivers"] == [
        {
            "approved_by": planted.approved_by,
            "justification": planted.justification,
            "expires": planted.expires.isoformat(),
        }
    ]
    assert interval["days_against_sla"] == (generated.end - planted.expired_from).days
    expired = [w for w in document["changes"]["waivers"] if w["event"] == "expired"]
    assert [(w["night"], w["control"]) for w in expired] == [
        (planted.expired_from.isoformat(), planted.item.control)
    ]


def test_night_a_subscription_was_error(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, _ = period
    planted = generated.error_night
    night = planted.night.isoformat()
    for item in planted.items:
        covering = [
            i
            for i in exceptions_for(document, item.control, item.resource)
            if i["first_night"] <= night <= i["last_night"]
        ]
        assert len(covering) == 1, item
        assert "error" in covering[0]["statuses"]
        assert control(document, item.control)["daily"][night].get("error", 0) >= 1
    one_night = [
        i
        for item in planted.items
        for i in exceptions_for(document, item.control, item.resource)
        if i["first_night"] == i["last_night"] == night
    ]
    assert one_night, "an item that passes on other nights is an exception of exactly the error night"
    assert all(i["statuses"] == ["error"] and i["nights"] == 1 for i in one_night)


def test_code_and_policy_changes(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, _ = period
    [code] = document["changes"]["code"]
    assert (code["before"], code["after"]) == (generated.code_change.before, generated.code_change.after)
    # The change night is the altered night, which does not verify: the first counted night after it shows the change.
    assert code["night"] == generated.altered.next_night.isoformat()
    [config] = document["changes"]["config"]
    change = generated.policy_change
    assert config["night"] == change.night.isoformat()
    assert (config["before"], config["after"]) == (change.config_sha256_before, change.config_sha256_after)
    assert config["policy"] == {change.key: {"before": change.before, "after": change.after}}


def test_sample_is_reproducible_and_links_to_the_archived_rows(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive
) -> None:
    _, document, _ = period
    sample = document["sample"]
    assert sample["seed"] == SEED
    assert len(sample["nights"]) == 6
    assert all(len(n["items"]) == 3 for n in sample["nights"])
    for night in sample["nights"]:
        assert night["run_key"] == generated.run_keys[night["night"]]
        for item in night["items"]:
            assert item["report_link"].startswith(night["run_key"] + "report.html#result-")


def test_clause_verdicts_in_both_languages(period: tuple[Path, dict[str, Any], str]) -> None:
    _, document, _ = period
    clauses = {c["clause"]: c for c in document["clauses"]}
    backups = clauses["11"]
    assert backups["text_en"].startswith("11: operated on ")
    assert "of 120 nights" in backups["text_en"]
    assert "van 120 nachten" in backups["text_nl"]
    assert "remediated within 30 days" in backups["text_en"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.mark.integration
def test_period_html_in_chromium_shows_the_events_and_is_screenshotted(
    period: tuple[Path, dict[str, Any], str], generated: GeneratedArchive, browser: Browser
) -> None:
    out, _, _ = period
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto((out / "period.html").as_uri())
    text = page.inner_text("body")
    assert errors == []
    assert requests == [(out / "period.html").as_uri()]
    assert "Het bewijs van de periode" in text
    for night in (generated.missing_night, generated.altered.night):
        assert f"{night.day} {_dutch_month(night)} {night.year}" in text
    assert generated.ticket.ticket in text
    assert generated.waiver.approved_by in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#cover").screenshot(path=str(SCREENSHOTS / "period-cover-nl.png"))
    page.locator(f'[id="exceptions-{generated.failing.item.control}"]').screenshot(
        path=str(SCREENSHOTS / "period-exceptions-nl.png")
    )
    page.locator("#sample-table").screenshot(path=str(SCREENSHOTS / "period-sample-nl.png"))
    page.emulate_media(media="print")
    assert page.locator("#cover").is_visible()
    page.close()


def _dutch_month(night: date) -> str:
    months = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ]
    return months[night.month - 1]
