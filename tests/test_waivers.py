"""Waivers: a valid one turns a `fail` into `waived`; an expired one, or any other status, changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from collectors.config.waivers import Waiver
from controls.framework import Verdict
from controls.waivers import apply_waivers, waiver_coverage
from reports.evidence import Status
from tests.audit_runs import run_audit

RUN_DATE = date(2026, 11, 4)
CONTROL = "12f.azure-sql-min-tls"
LEGACY_SERVER = "/subscriptions/11111111/resourceGroups/rg-legacy/providers/Microsoft.Sql/servers/sql-legacy"
FAIL = Verdict("fail", "minimalTlsVersion 1.0 is below 1.2")


def waiver(
    *,
    expires: date = date(2027, 1, 31),
    control: str = CONTROL,
    resource: str = "/subscriptions/*/resourceGroups/rg-legacy/*",
    approved_by: str = "Steven Somer (DPO)",
) -> Waiver:
    return Waiver(
        control=control,
        resource=resource,
        justification="archive clients only speak TLS 1.0",
        approved_by=approved_by,
        expires=expires,
    )


def test_valid_waiver_turns_fail_into_waived() -> None:
    granted = waiver()
    result = apply_waivers(FAIL, [granted], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict.status == "waived"
    assert result.waiver == granted
    assert not result.expired
    assert FAIL.message in result.verdict.message
    assert "Steven Somer (DPO)" in result.verdict.message
    assert "31 January 2027" in result.verdict.message
    assert "archive clients only speak TLS 1.0" in result.verdict.message


def test_expired_waiver_keeps_fail_and_says_when_it_expired() -> None:
    result = apply_waivers(FAIL, [waiver(expires=date(2026, 10, 31))], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict.status == "fail"
    assert result.expired
    assert "expired on 31 October 2026" in result.verdict.message
    assert FAIL.message in result.verdict.message


def test_waiver_on_its_expiry_day_still_waives() -> None:
    result = apply_waivers(FAIL, [waiver(expires=RUN_DATE)], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict.status == "waived"
    assert not result.expired


def test_valid_waiver_wins_over_an_expired_one_for_the_same_resource() -> None:
    waivers = [
        waiver(expires=date(2026, 1, 31)),
        waiver(expires=date(2027, 1, 31)),
        waiver(expires=date(2026, 6, 1)),
    ]
    result = apply_waivers(FAIL, waivers, CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict.status == "waived"
    assert result.waiver == waivers[1]


@pytest.mark.parametrize(
    "verdict",
    [
        Verdict("error", "firewall rules could not be read: 403"),
        Verdict("pass", "minimal_tls_version = 1.2"),
        Verdict("not_applicable", "no SQL servers in scope"),
    ],
    ids=["error", "pass", "not_applicable"],
)
@pytest.mark.parametrize("expires", [date(2027, 1, 31), date(2026, 10, 31)], ids=["valid", "expired"])
def test_waivers_never_change_a_status_other_than_fail(verdict: Verdict, expires: date) -> None:
    result = apply_waivers(verdict, [waiver(expires=expires)], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict == verdict
    assert result.waiver is None
    assert not result.expired


@pytest.mark.parametrize(
    "resource",
    [
        LEGACY_SERVER,
        LEGACY_SERVER.lower(),
        LEGACY_SERVER.upper(),
        "/subscriptions/22222222/resourcegroups/RG-Legacy/providers/Microsoft.Sql/servers/sql-other",
    ],
)
def test_resource_glob_matches_case_insensitively(resource: str) -> None:
    result = apply_waivers(FAIL, [waiver()], CONTROL, resource, RUN_DATE)
    assert result.verdict.status == "waived"


def test_upper_case_glob_matches_lower_case_resource() -> None:
    pattern = "/SUBSCRIPTIONS/*/RESOURCEGROUPS/RG-LEGACY/*"
    result = apply_waivers(FAIL, [waiver(resource=pattern)], CONTROL, LEGACY_SERVER.lower(), RUN_DATE)
    assert result.verdict.status == "waived"


@pytest.mark.parametrize(
    "resource",
    [
        "/subscriptions/11111111/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web",
        "/subscriptions/11111111/resourceGroups/rg-legacy-2/providers/Microsoft.Sql/servers/sql-legacy",
        "/subscriptions/11111111/resourceGroups/rg-legacy",
    ],
)
def test_resource_outside_the_glob_keeps_fail(resource: str) -> None:
    result = apply_waivers(FAIL, [waiver()], CONTROL, resource, RUN_DATE)
    assert result.verdict == FAIL
    assert result.waiver is None


def test_waiver_for_another_control_does_not_match() -> None:
    other = waiver(control="12e.azure-sql-tde", resource="/subscriptions/*")
    result = apply_waivers(FAIL, [other], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict == FAIL
    assert result.waiver is None


def test_no_waivers_keeps_fail() -> None:
    result = apply_waivers(FAIL, [], CONTROL, LEGACY_SERVER, RUN_DATE)
    expected: Status = "fail"
    assert result.verdict.status == expected
    assert result.verdict == FAIL
    assert not result.expired


# -- what each configured waiver matched: blanket and stale waivers -----------------------------------


def test_waiver_matching_no_result_of_its_evaluated_control_is_stale() -> None:
    renamed = waiver(resource="*/servers/sql-renamed")
    [coverage] = waiver_coverage([renamed], [(CONTROL, LEGACY_SERVER)], RUN_DATE)
    assert coverage.evaluated
    assert coverage.matched == 0
    assert coverage.stale


def test_waiver_matching_a_result_is_not_stale_whatever_its_status() -> None:
    [coverage] = waiver_coverage([waiver()], [(CONTROL, LEGACY_SERVER.upper())], RUN_DATE)
    assert coverage.matched == 1
    assert not coverage.stale


def test_waiver_of_a_control_not_evaluated_in_this_run_is_not_called_stale() -> None:
    [coverage] = waiver_coverage([waiver()], [("12e.azure-sql-tde", LEGACY_SERVER)], RUN_DATE)
    assert not coverage.evaluated
    assert not coverage.stale


def test_blanket_waiver_is_flagged_and_expiry_is_judged_on_the_run_date() -> None:
    blanket = Waiver(
        control=CONTROL,
        scope="control",
        resource="*",
        justification="the whole control is accepted until the migration",
        approved_by="CISO",
        expires=date(2026, 11, 3),
    )
    [coverage] = waiver_coverage([blanket], [(CONTROL, LEGACY_SERVER), (CONTROL, "/other")], RUN_DATE)
    assert coverage.blanket
    assert coverage.scope == "control"
    assert coverage.matched == 2
    assert coverage.expired
    [plain] = waiver_coverage([waiver()], [(CONTROL, LEGACY_SERVER)], RUN_DATE)
    assert not plain.blanket
    assert not plain.expired


def test_stale_and_blanket_waivers_reach_the_evidence_and_the_report_without_failing_the_run(
    tmp_path: Path,
) -> None:
    config = """
[[subprocessors]]
name = "Active Campaign"
services = ["B. Emma mailing campaigns"]
country = "US"
transfer_basis = "privacy-shield"
reviewed_on = 2026-11-01

[[waivers]]
control = "9.subprocessor-transfer-basis"
scope = "control"
justification = "the register is being redone this quarter"
approved_by = "DPO"
expires = 2027-01-31

[[waivers]]
control = "9.subprocessor-transfer-basis"
resource = "subprocessor:Vendor We Left In 2025"
justification = "contract ends"
approved_by = "DPO"
expires = 2027-01-31
"""
    run = run_audit(tmp_path, config)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "stale waiver: 9.subprocessor-transfer-basis 'subprocessor:Vendor We Left In 2025'" in run.stdout
    blanket, stale = run.bundle["waivers"]
    assert blanket["scope"] == "control"
    assert blanket["matched"] == 1
    assert not blanket["stale"]
    assert stale["scope"] == "resource"
    assert stale["matched"] == 0
    assert stale["stale"]
    assert run.result("9.subprocessor-transfer-basis", "Active Campaign")["status"] == "waived"
    html = (run.evidence_dir / "report.html").read_text(encoding="utf-8")
    cover = html[html.index('id="waivers"') : html.index('id="policy"')]
    assert "Blanket waivers" in cover
    assert "the register is being redone this quarter" in cover
    assert "Vendor We Left In 2025" in cover[cover.index("waivers stale") :]
