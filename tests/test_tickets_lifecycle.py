"""The ticket planner, grouping, fingerprints, the HTTP client and run_tickets' safety, without a tracker."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from reports.i18n.translation import english
from reports.tickets.backends import backend_for
from reports.tickets.fingerprint import fingerprint, is_fingerprint
from reports.tickets.http import TrackerHttp, retry_after_seconds
from reports.tickets.lifecycle import MAX_STATE_CHARS, decide, failing_key, plan_night, summary_fingerprint
from reports.tickets.model import Ticket, TicketState, TrackerError
from reports.tickets.problems import Problem, group_problems, scope_of
from reports.tickets.redact import redact_urls, shown_location
from reports.tickets.run import describe_plan, run_tickets
from reports.tickets.settings import TicketSettings
from tests import ticket_nights as nights

TODAY = date(2026, 11, 29)


def settings(**overrides: Any) -> TicketSettings:
    base: dict[str, Any] = {
        "backend": "github",
        "url": "https://api.github.example",
        "repository": "lucrasoft/ops",
        "token_env": "GH_TOKEN",
        "report_url": "https://reports.example/nightly/report.html",
    }
    return TicketSettings.model_validate({**base, **overrides})


def storage_problem(failing: set[str], run_date: str = "2026-11-29") -> Problem:
    night = group_problems(nights.night(run_date, frozenset(failing)))
    return next(p for p in night.problems if p.control == nights.STORAGE_CONTROL)


def ticket(problem: Problem, *, open: bool = True, state: TicketState | None = None, **kw: Any) -> Ticket:
    return Ticket(
        key="17",
        url="https://github.example/lucrasoft/ops/issues/17",
        fingerprint=problem.fingerprint,
        open=open,
        state=state or TicketState(),
        **kw,
    )


def reported(problem: Problem, **kw: Any) -> TicketState:
    return TicketState(failing=failing_key(problem.failing_resources), last_comment="2026-11-28", **kw)


# ---------------------------------------------------------------- fingerprints and grouping


def test_fingerprint_depends_on_control_and_scope_only() -> None:
    one = group_problems(
        nights.bundle("2026-11-28", [nights.result("12f.x", nights.storage("sta"), "fail", "m1")])
    )
    two = group_problems(
        nights.bundle("2026-11-29", [nights.result("12f.x", nights.storage("stb"), "fail", "m2")])
    )
    assert one.problems[0].fingerprint == two.problems[0].fingerprint
    assert is_fingerprint(one.problems[0].fingerprint)
    assert fingerprint("12f.x", "subscription a") != fingerprint("12f.x", "subscription b")
    assert fingerprint("12f.x", "subscription a") != fingerprint("12f.y", "subscription a")


@pytest.mark.parametrize(
    ("control", "resource", "scope"),
    [
        ("12f.azure-storage-tls", nights.storage("sta"), f"subscription {nights.PROD}"),
        ("12c.azure-privileged-roles", "/providers/Microsoft.Authorization/roleAssignments/x", "tenant"),
        ("12b.host-firewall", "web01", "hosts all"),
        ("12f.endpoint-tls", "https://portal.example:8443/login", "endpoint https://portal.example:8443"),
        ("12b.exposure-probe", "tcp://192.0.2.7:3389", "address 192.0.2.7"),
        ("12d.app-login-scope", "app:emma", "application emma"),
        ("12e.sqlserver-tde", "sql01/emma", "server sql01"),
        ("12a.datacenter-certification", "attestation:Databarn Amsterdam", "attestation"),
        ("9.subprocessor-transfer-basis", "subprocessor:Google Analytics", "subprocessor"),
    ],
)
def test_scope_rule(control: str, resource: str, scope: str) -> None:
    assert scope_of(control, resource, hosts=frozenset({"web01"})) == scope


def test_host_groups_split_hosts_into_groups() -> None:
    groups = {"web01": "web", "lnx01": "linux"}
    assert scope_of("12b.host-firewall", "web01", hosts=frozenset(groups), host_groups=groups) == "hosts web"
    assert (
        scope_of("12b.host-firewall", "lnx01", hosts=frozenset(groups), host_groups=groups) == "hosts linux"
    )


def test_control_scope_groups_resources_and_control_resource_splits_them() -> None:
    bundle = nights.night("2026-11-29", frozenset({"a", "b"}))
    scoped = [p for p in group_problems(bundle).problems if p.is_failing]
    assert len(scoped) == 1
    assert len(scoped[0].failing) == 2
    assert scoped[0].evaluated == 4
    per_resource = [p for p in group_problems(bundle, grouping="control-resource").problems if p.is_failing]
    assert len(per_resource) == 2
    assert {p.scope for p in per_resource} == {nights.storage("sta"), nights.storage("stb")}


def test_error_results_make_one_owner_problem_and_no_ops_problem() -> None:
    night = group_problems(nights.erroring("2026-11-29"), owner="security-team")
    assert night.errors.is_failing
    assert night.errors.scope == "owner security-team"
    assert [f.resource for f in night.errors.failing] == [nights.storage("stz", nights.DEV)]
    assert (nights.STORAGE_CONTROL, f"subscription {nights.DEV}") in night.undecided
    assert all(p.scope != f"subscription {nights.DEV}" for p in night.problems)


def test_waived_and_not_applicable_results_count_as_passing() -> None:
    bundle = nights.bundle(
        "2026-11-29",
        [
            nights.result(nights.STORAGE_CONTROL, nights.storage("sta"), "waived"),
            nights.result(nights.STORAGE_CONTROL, nights.storage("stb"), "not_applicable"),
        ],
    )
    (problem,) = group_problems(bundle).problems
    assert not problem.is_failing


# ---------------------------------------------------------------- lifecycle rules


def test_new_failure_creates() -> None:
    problem = storage_problem({"a"})
    action = decide(problem, [], settings(), TODAY)
    assert action.action == "create"
    assert action.state.failing == (nights.storage("sta"),)
    assert action.state.last_comment == TODAY.isoformat()


def test_same_failing_set_within_reminder_days_is_silent() -> None:
    problem = storage_problem({"a", "b"})
    action = decide(problem, [ticket(problem, state=reported(problem))], settings(), TODAY)
    assert action.action == "none"


def test_same_failing_set_gets_a_reminder_after_reminder_days() -> None:
    problem = storage_problem({"a", "b"})
    old = replace(reported(problem), last_comment="2026-11-22")
    assert decide(problem, [ticket(problem, state=old)], settings(), TODAY).action == "comment"
    recent = replace(old, last_comment="2026-11-23")
    assert decide(problem, [ticket(problem, state=recent)], settings(), TODAY).action == "none"


def test_changed_failing_set_comments_with_added_and_removed() -> None:
    before = storage_problem({"a", "b"})
    now = storage_problem({"a", "c"})
    action = decide(now, [ticket(now, state=reported(before))], settings(), TODAY)
    assert action.action == "comment"
    assert action.added == (nights.storage("stc"),)
    assert action.removed == (nights.storage("stb"),)


def test_failing_again_before_resolution_resets_the_pass_count() -> None:
    problem = storage_problem({"a"})
    action = decide(problem, [ticket(problem, state=reported(problem, passes=2))], settings(), TODAY)
    assert action.action == "remember"
    assert action.state.passes == 0


def test_passes_are_counted_until_resolve_after_then_resolved() -> None:
    failing = storage_problem({"a"})
    passing = storage_problem(set())
    first = decide(passing, [ticket(passing, state=reported(failing))], settings(), TODAY)
    assert (first.action, first.state.passes) == ("remember", 1)
    second = decide(passing, [ticket(passing, state=reported(failing, passes=1))], settings(), TODAY)
    assert (second.action, second.state.passes) == ("remember", 2)
    third = decide(passing, [ticket(passing, state=reported(failing, passes=2))], settings(), TODAY)
    assert third.action == "resolve"
    assert third.state.resolved_on == TODAY.isoformat()
    assert (
        decide(
            passing, [ticket(passing, state=reported(failing, passes=0))], settings(resolve_after=1), TODAY
        ).action
        == "resolve"
    )


def test_passing_without_open_ticket_does_nothing() -> None:
    passing = storage_problem(set())
    assert decide(passing, [], settings(), TODAY).action == "none"
    closed = ticket(passing, open=False, resolution="completed", state=TicketState(resolved_on="2026-11-01"))
    assert decide(passing, [closed], settings(), TODAY).action == "none"


def test_regression_within_reopen_days_reopens_the_same_ticket() -> None:
    problem = storage_problem({"a"})
    closed = ticket(problem, open=False, resolution="completed", state=TicketState(resolved_on="2026-10-30"))
    action = decide(problem, [closed], settings(), TODAY)
    assert action.action == "reopen"
    assert action.ticket == closed
    assert action.state.resolved_on == ""


def test_regression_after_reopen_days_creates_a_new_ticket_linking_the_old() -> None:
    problem = storage_problem({"a"})
    closed = ticket(problem, open=False, resolution="completed", state=TicketState(resolved_on="2026-10-29"))
    action = decide(problem, [closed], settings(), TODAY)
    assert action.action == "create"
    assert action.related == ("17",)


@pytest.mark.parametrize("resolution", ["Won't Do", "won't fix", "Risk Accepted", "not_planned"])
def test_wont_fix_is_never_reopened_or_recreated(resolution: str) -> None:
    problem = storage_problem({"a"})
    closed = ticket(problem, open=False, resolution=resolution, closed_at=datetime(2026, 11, 28, tzinfo=UTC))
    action = decide(problem, [closed], settings(), TODAY)
    assert action.action == "none"
    assert action.wont_fix


def test_a_resolution_not_listed_as_wont_fix_is_not_respected_as_one() -> None:
    problem = storage_problem({"a"})
    closed = ticket(problem, open=False, resolution="Duplicate", closed_at=datetime(2026, 11, 28, tzinfo=UTC))
    assert decide(problem, [closed], settings(), TODAY).action == "reopen"
    assert decide(problem, [closed], settings(wont_fix=["Duplicate"]), TODAY).wont_fix


def test_person_closed_as_done_while_failing_is_reopened_within_the_window() -> None:
    problem = storage_problem({"a"})
    recent = ticket(problem, open=False, resolution="completed", closed_at=datetime(2026, 11, 20, tzinfo=UTC))
    action = decide(problem, [recent], settings(), TODAY)
    assert action.action == "reopen"
    assert "closed by a person" in english(action.reason)
    old = replace(recent, closed_at=datetime(2026, 9, 1, tzinfo=UTC))
    assert decide(problem, [old], settings(), TODAY).action == "create"


def test_open_ticket_without_auditor_state_is_adopted_silently() -> None:
    problem = storage_problem({"a"})
    action = decide(problem, [ticket(problem)], settings(), TODAY)
    assert action.action == "remember"
    assert action.state.failing == (nights.storage("sta"),)


def test_circuit_breaker_replaces_more_than_max_new_creates_by_one_summary() -> None:
    night = group_problems(nights.mass_failure("2026-11-29", count=21))
    plan = plan_night(night.problems, night.errors, {}, settings(max_new=20), TODAY)
    assert plan.breaker_tripped
    assert [a.action for a in plan.actions].count("create") == 0
    summaries = [a for a in plan.actions if a.action == "summary"]
    assert len(summaries) == 1
    assert len(summaries[0].problem.failing) == 21
    assert sum(a.held_back for a in plan.actions) == 21


def test_circuit_breaker_allows_exactly_max_new_creates() -> None:
    night = group_problems(nights.mass_failure("2026-11-29", count=20))
    plan = plan_night(night.problems, night.errors, {}, settings(max_new=20), TODAY)
    assert not plan.breaker_tripped
    assert [a.action for a in plan.actions].count("create") == 20
    assert [a.action for a in plan.actions].count("summary") == 0


def test_tripped_breaker_keeps_one_summary_ticket_current_next_night() -> None:
    night = group_problems(nights.mass_failure("2026-11-29", count=21))
    first = plan_night(night.problems, night.errors, {}, settings(max_new=20), TODAY)
    summary = next(a for a in first.actions if a.action == "summary")
    open_summary = Ticket("5", "u", summary.problem.fingerprint, True, state=summary.state)
    tickets = {summary_fingerprint(20): [open_summary]}
    second = plan_night(night.problems, night.errors, tickets, settings(max_new=20), TODAY)
    assert [a.action for a in second.actions if a.problem.kind == "summary"] == ["none"]


def test_undecided_scope_touches_no_ticket() -> None:
    night = group_problems(nights.erroring("2026-11-29"))
    dev_fp = fingerprint(nights.STORAGE_CONTROL, f"subscription {nights.DEV}")
    assert all(p.fingerprint != dev_fp for p in night.problems)


def test_huge_failing_sets_are_remembered_as_a_digest() -> None:
    resources = [f"/subscriptions/x/resource-{i:05d}-" + "y" * 100 for i in range(400)]
    key = failing_key(resources)
    assert len(key) == 1
    assert key[0].startswith("sha256:")
    assert failing_key(list(reversed(resources))) == key
    assert sum(len(r) for r in failing_key(resources[:10])) < MAX_STATE_CHARS


# ---------------------------------------------------------------- HTTP client


def _client(handler: Any, waits: list[float], **kw: Any) -> TrackerHttp:
    return TrackerHttp(
        "https://tracker.example",
        headers={"Authorization": "Bearer s3cr3t-token"},
        timeout=1.0,
        sleep=waits.append,
        transport=httpx.MockTransport(handler),
        **kw,
    )


def test_retry_after_in_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Sun, 29 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_429_retry_after_is_honoured_and_capped() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"Retry-After": "9999"}),
            httpx.Response(201, json={}),
        ]
    )
    waits: list[float] = []
    client = _client(lambda request: next(answers), waits, max_wait=60.0)
    assert client.request("POST", "/issues", json={}).status_code == 201
    assert waits == [3.0, 60.0]


def test_post_500_is_not_retried_but_get_500_is() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(500, json={"message": "boom"})

    waits: list[float] = []
    client = _client(handler, waits)
    with pytest.raises(TrackerError, match=r"POST https://tracker\.example/issues: HTTP 500"):
        client.request("POST", "/issues", json={})
    assert calls == ["POST"]
    with pytest.raises(TrackerError, match=r"GET https://tracker\.example/issues: HTTP 500"):
        client.request("GET", "/issues")
    assert calls.count("GET") == 4


def test_tracker_errors_show_scheme_and_host_never_a_configured_path() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "no"})

    waits: list[float] = []
    based = TrackerHttp(
        "https://tracker.example:8443/teams/secret-team-path",
        headers={},
        timeout=1.0,
        sleep=waits.append,
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(TrackerError) as routed:
        based.request("POST", "/rest/api/3/issue?token=q")
    assert str(routed.value) == "POST https://tracker.example:8443/…/rest/api/3/issue: HTTP 403 (no)"
    with pytest.raises(TrackerError) as absolute:
        based.request("POST", "https://hooks.example/services/T0/B0/secret-hook-path")
    assert str(absolute.value) == "POST https://hooks.example: HTTP 403 (no)"


def test_redact_urls_keeps_scheme_host_and_port_only() -> None:
    text = "failed: https://u:p@hooks.example:8443/services/T/B/s3cr3t?a=1#f, then http://[::1]/x."
    assert redact_urls(text) == "failed: https://hooks.example:8443, then http://[::1]."
    assert shown_location("https://outlook.office.com/webhookb2/abc@def/IncomingWebhook/s3cr3t/g") == (
        "https://outlook.office.com"
    )


def test_tracker_errors_never_show_the_token() -> None:
    waits: list[float] = []
    client = _client(lambda request: httpx.Response(401, json={"message": "Bad credentials"}), waits)
    with pytest.raises(TrackerError) as caught:
        client.request("GET", "/issues?labels=x")
    assert "401" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert "labels" not in str(caught.value)


# ---------------------------------------------------------------- run_tickets safety


def test_mode_off_does_nothing() -> None:
    section = run_tickets(
        nights.night("2026-11-29", frozenset({"a"})), settings(), "off", env={}, today=TODAY, state_dir=None
    )
    assert section == {"mode": "off", "backend": "github", "actions": [], "wont_fix": [], "errors": []}


def test_missing_token_variable_is_one_error_naming_the_variable() -> None:
    bundle = nights.night("2026-11-29", frozenset({"a"}))
    before = copy.deepcopy(bundle)
    section = run_tickets(bundle, settings(), "on", env={}, today=TODAY, state_dir=None)
    assert len(section["errors"]) == 1
    assert "GH_TOKEN" in section["errors"][0]
    assert section["actions"] == []
    assert bundle == before


def test_backend_for_refuses_missing_jira_user_variable() -> None:
    jira = settings(
        backend="jira", url="https://x.atlassian.example", project="SEC", token_env="JT", user_env="JU"
    )
    with pytest.raises(TrackerError, match="JU"):
        backend_for(jira, {"JT": "token"})


def test_describe_plan_lists_actions_wont_fix_and_errors() -> None:
    section = {
        "mode": "dry-run",
        "backend": "jira",
        "actions": [
            {
                "action": "create",
                "fingerprint": "ctlfp-1",
                "control": "12f.x",
                "scope": "subscription a",
                "ticket": None,
                "url": None,
                "note": "new failure",
            }
        ],
        "wont_fix": [
            {
                "control": "12f.y",
                "scope": "hosts all",
                "ticket": "SEC-3",
                "url": "u",
                "resolution": "Won't Do",
            }
        ],
        "errors": ["ticket tracker jira: POST /rest/api/3/search/jql: HTTP 500"],
    }
    lines = describe_plan(section)
    assert lines[0].startswith("tickets (jira, dry-run): 1 actions")
    assert any("would create" in line and "12f.x" in line for line in lines)
    assert any("SEC-3" in line and "waiver" in line for line in lines)
    assert any(line.strip().startswith("ERROR") for line in lines)
    assert describe_plan({"mode": "off"}) == ["tickets: off"]
