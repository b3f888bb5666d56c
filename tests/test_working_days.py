"""Dutch working-day arithmetic (clause 10) and the verdicts of the two tracker controls on literal facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors.config.policy import Policy
from collectors.trackers.facts import BreachIncident, DataSubjectRequest
from controls import test_10_data_subject_requests as c10
from controls import test_13_breach_notification as c13
from controls.working_days import local_date, working_day_deadline, working_days_between
from tests.control_calls import verdict, verdict_and_evidence

AMS = ZoneInfo("Europe/Amsterdam")
POLICY = Policy()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@pytest.mark.parametrize(
    ("created", "deadline"),
    [
        (date(2024, 3, 29), date(2024, 4, 8)),  # Good Friday, then Easter Monday: both off
        (date(2024, 3, 28), date(2024, 4, 8)),  # Thursday before Easter: Friday and Monday off
        (date(2023, 4, 26), date(2023, 5, 4)),  # King's Day on Thursday 27 April 2023
        (date(2025, 4, 30), date(2025, 5, 8)),  # Liberation Day 5 May 2025 (a lustrum year)
        (date(2024, 12, 24), date(2025, 1, 3)),  # Christmas and New Year's Day
        (date(2024, 5, 8), date(2024, 5, 16)),  # Ascension Day on Thursday 9 May 2024
        (date(2024, 6, 7), date(2024, 6, 14)),  # an ordinary Friday: the next Friday
    ],
)
def test_deadline_skips_weekends_and_dutch_public_holidays(created: date, deadline: date) -> None:
    assert working_day_deadline(created, 5) == deadline
    assert working_days_between(created, deadline) == 5
    assert working_days_between(created, deadline + timedelta(days=1)) >= 5


def test_friday_evening_to_monday_is_one_working_day() -> None:
    assert working_days_between(date(2024, 6, 7), date(2024, 6, 10)) == 1


def test_same_day_and_earlier_count_zero_working_days() -> None:
    assert working_days_between(date(2024, 6, 7), date(2024, 6, 7)) == 0
    assert working_days_between(date(2024, 6, 7), date(2024, 6, 1)) == 0


def test_a_weekend_day_counts_nothing_until_monday() -> None:
    assert working_days_between(date(2024, 6, 8), date(2024, 6, 9)) == 0
    assert working_day_deadline(date(2024, 6, 8), 1) == date(2024, 6, 10)


def test_the_day_is_taken_in_amsterdam_time() -> None:
    # 23:30 UTC on Thursday 28 March 2024 is already Good Friday in Amsterdam.
    assert local_date(datetime(2024, 3, 28, 23, 30, tzinfo=UTC)) == date(2024, 3, 29)


def dsr(created: str, resolved: str | None, observed: str = "2024-04-20T12:00:00") -> DataSubjectRequest:
    return DataSubjectRequest("SEC-1", at(created), at(resolved) if resolved else None, at(observed))


def test_request_from_good_friday_resolved_on_the_fifth_working_day_passes() -> None:
    fact = dsr("2024-03-29T16:00:00", "2024-04-08T17:59:00")
    result, evidence = verdict_and_evidence(
        c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY
    )
    assert result.status == "pass"
    assert evidence.observations["working_days"] == 5


def test_request_resolved_on_the_sixth_working_day_fails() -> None:
    fact = dsr("2024-03-29T16:00:00", "2024-04-09T09:00:00")
    result = verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY)
    assert result.status == "fail"
    assert "6 Dutch working days" in result.message


def test_open_request_past_its_deadline_fails() -> None:
    fact = dsr("2024-04-02T10:00:00", None, observed="2024-04-10T08:00:00")
    result = verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY)
    assert result.status == "fail"
    assert "still open" in result.message


def test_open_request_within_its_deadline_passes() -> None:
    fact = dsr("2024-04-02T10:00:00", None, observed="2024-04-09T08:00:00")
    assert (
        verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY).status
        == "pass"
    )


def test_request_resolved_before_its_creation_is_an_error() -> None:
    fact = dsr("2024-04-02T10:00:00", "2024-04-01T10:00:00")
    assert (
        verdict(c10.test_data_subject_request_is_resolved_within_working_days, fact, policy=POLICY).status
        == "error"
    )


def incident(required: bool, notified: str | None, detected: str = "2024-05-01T10:00:00") -> BreachIncident:
    return BreachIncident(
        key="SEC-9",
        detected=at(detected),
        detected_from="created",
        notification_required=required,
        notified=at(notified) if notified else None,
        notified_from="label klant-geinformeerd added",
        observed_at=at("2024-05-10T00:00:00"),
    )


@pytest.mark.parametrize(
    ("notified", "status"),
    [
        ("2024-05-02T10:00:00", "pass"),
        ("2024-05-02T10:01:00", "fail"),
        (None, "fail"),
        ("2024-05-01T09:00:00", "error"),
    ],
)
def test_breach_notification_is_judged_against_the_24_hours(notified: str | None, status: str) -> None:
    fact = incident(True, notified)
    assert verdict(c13.test_customers_are_notified_of_a_breach_in_time, fact, policy=POLICY).status == status


def test_incident_needing_no_notification_is_not_applicable() -> None:
    fact = incident(False, None)
    assert (
        verdict(c13.test_customers_are_notified_of_a_breach_in_time, fact, policy=POLICY).status
        == "not_applicable"
    )
