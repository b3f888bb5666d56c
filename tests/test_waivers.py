"""Waivers: a valid one turns a `fail` into `waived`; an expired one, or any other status, changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from collectors.config import Waiver
from controls.framework import Status, Verdict
from controls.waivers import apply_waivers

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
    assert "2027-01-31" in result.verdict.message
    assert "archive clients only speak TLS 1.0" in result.verdict.message


def test_expired_waiver_keeps_fail_and_says_when_it_expired() -> None:
    result = apply_waivers(FAIL, [waiver(expires=date(2026, 10, 31))], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict.status == "fail"
    assert result.expired
    assert "expired on 2026-10-31" in result.verdict.message
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
    other = waiver(control="12e.azure-sql-tde", resource="*")
    result = apply_waivers(FAIL, [other], CONTROL, LEGACY_SERVER, RUN_DATE)
    assert result.verdict == FAIL
    assert result.waiver is None


def test_no_waivers_keeps_fail() -> None:
    result = apply_waivers(FAIL, [], CONTROL, LEGACY_SERVER, RUN_DATE)
    expected: Status = "fail"
    assert result.verdict.status == expected
    assert result.verdict == FAIL
    assert not result.expired
