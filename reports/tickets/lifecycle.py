"""The ticket lifecycle as a pure planner: tonight's problems + the tracker's tickets -> planned actions.

Rules (issue 8, "Lifecycle"):

- A failing problem without any ticket: **create**.
- Failing, open ticket: **comment** when the failing set differs from the one last reported, or
  as a reminder when the auditor last commented `reminder_days` or more ago; otherwise
  **remember** (only the hidden state: the pass counter goes back to 0) or **none**.
- Passing, open ticket: count consecutive passing runs in the hidden state (**remember**); at
  `resolve_after` passes **resolve** (a comment linking the passing evidence, then close).
- Failing, last ticket resolved by the auditor `reopen_days` or fewer days ago: **reopen** it;
  later: **create** a new ticket that links the old one.
- Failing, last ticket closed by a person with a won't-fix resolution (`settings.wont_fix`,
  compared case-insensitively): never reopened or recreated; listed as won't-fix (the report
  suggests a waiver). Action **none**.
- Failing, last ticket closed by a person as done (no auditor resolution in its state):
  decision: the evidence contradicts the closure, so it is **reopened** when it was closed
  `reopen_days` or fewer days ago (with a comment saying the control still fails and that a
  won't-fix resolution or a waiver is the way to accept it), later a new ticket linking it is
  created. A person who accepts the risk closes as won't-fix, which is respected.
- Passing and no open ticket, or a scope that could not be evaluated: **none**.
- Circuit breaker: when more than `max_new` problems would be created in one run, none of
  them is created; one **summary** action (on a problem with a stable fingerprint, so it too is
  created once and then kept current) lists them instead.
- Several open tickets with the same fingerprint (a double-create elsewhere): the newest open
  one is used and the note says so.

The planner never calls a tracker; `run.py` carries out what it plans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from reports.evidence import Message, msg, msg_n
from reports.i18n.translation import Translator
from reports.tickets.model import ActionKind, Ticket, TicketState
from reports.tickets.problems import Problem, passing_summary, summary_problem
from reports.tickets.settings import TicketSettings

MAX_STATE_CHARS = 16_000
"""Above this many characters the failing set is remembered as a digest (tracker property limits)."""


@dataclass(frozen=True)
class PlannedAction:
    """One thing to do to the tracker for one problem, with the reason a person can read."""

    action: ActionKind
    problem: Problem
    reason: Message
    """Why, for a person: shown in the report's ticket table and printed at the end of the run."""
    ticket: Ticket | None = None
    state: TicketState = field(default_factory=TicketState)
    related: tuple[str, ...] = ()
    """Keys of earlier tickets a new ticket links to."""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    wont_fix: bool = False
    """The problem fails but a person closed its ticket as won't-fix."""
    held_back: bool = False
    """A create the circuit breaker held back (listed in the summary instead)."""


@dataclass(frozen=True)
class Plan:
    """Every planned action of a run, in order: control problems, the errors problem, the summary."""

    actions: tuple[PlannedAction, ...]
    breaker_tripped: bool = False


def failing_key(resources: Sequence[str]) -> tuple[str, ...]:
    """Return the failing set as stored in a ticket's hidden state: the sorted ids, or one digest when too long."""
    ordered = tuple(sorted(resources))
    if sum(len(r) + 3 for r in ordered) <= MAX_STATE_CHARS:
        return ordered
    digest = hashlib.sha256("\n".join(ordered).encode()).hexdigest()
    return (f"sha256:{digest}",)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def is_wont_fix(ticket: Ticket, settings: TicketSettings) -> bool:
    """Return whether a person closed `ticket` with a won't-fix / risk-accepted resolution."""
    if ticket.open or ticket.resolution is None:
        return False
    wanted = {w.casefold() for w in settings.wont_fix}
    return ticket.resolution.strip().casefold() in wanted


def _closed_day(ticket: Ticket) -> date | None:
    if isinstance(ticket.closed_at, datetime):
        return ticket.closed_at.date()
    return None


def _decide_failing(
    problem: Problem, tickets: Sequence[Ticket], settings: TicketSettings, today: date
) -> PlannedAction:
    key = failing_key(problem.failing_resources)
    fresh = TicketState(failing=key, passes=0, last_comment=today.isoformat())
    open_tickets = [t for t in tickets if t.open]
    if open_tickets:
        ticket = open_tickets[0]
        shared = (
            msg_n(
                "{n} open ticket shares this fingerprint; using the newest",
                "{n} open tickets share this fingerprint; using the newest",
                "n",
                n=len(open_tickets),
            )
            if len(open_tickets) > 1
            else None
        )

        def noted(reason: Message) -> Message:
            return msg("{reason} ({shared})", reason=reason, shared=shared) if shared else reason

        old = ticket.state
        if not old.last_comment:
            return PlannedAction(
                "remember",
                problem,
                noted(msg("open ticket without the auditor's state: adopting it")),
                ticket,
                fresh,
            )
        if old.failing != key:
            added = tuple(sorted(set(key) - set(old.failing)))
            removed = tuple(sorted(set(old.failing) - set(key)))
            return PlannedAction(
                "comment",
                problem,
                noted(
                    msg("failing set changed (+{added} / -{removed})", added=len(added), removed=len(removed))
                ),
                ticket,
                fresh,
                added=added,
                removed=removed,
            )
        last = _parse_day(old.last_comment)
        if last is None or (today - last).days >= settings.reminder_days:
            return PlannedAction(
                "comment",
                problem,
                noted(
                    msg_n(
                        "still failing; reminder after {n} day",
                        "still failing; reminder after {n} days",
                        "n",
                        n=settings.reminder_days,
                    )
                ),
                ticket,
                fresh,
            )
        if old.passes or old.resolved_on:
            return PlannedAction(
                "remember",
                problem,
                noted(msg("failing again before it was resolved: pass count reset")),
                ticket,
                replace(old, passes=0, resolved_on=""),
            )
        return PlannedAction(
            "none", problem, noted(msg("still failing, same resources; no reminder due")), ticket, old
        )
    if not tickets:
        return PlannedAction("create", problem, msg("new failure"), None, fresh)
    last_ticket = tickets[0]
    if is_wont_fix(last_ticket, settings):
        return PlannedAction(
            "none",
            problem,
            msg(
                "closed by a person as '{resolution}': never reopened; consider a waiver",
                resolution=str(last_ticket.resolution),
            ),
            last_ticket,
            last_ticket.state,
            wont_fix=True,
        )
    resolved_on = _parse_day(last_ticket.state.resolved_on)
    closed_on = resolved_on or _closed_day(last_ticket)
    by = msg("the auditor") if resolved_on else msg("a person")
    if closed_on is not None and (today - closed_on).days <= settings.reopen_days:
        reason = (
            msg_n(
                "regressed {n} day after {by} resolved it",
                "regressed {n} days after {by} resolved it",
                "n",
                n=(today - closed_on).days,
                by=by,
            )
            if resolved_on
            else msg("closed by a person on {closed} but still failing", closed=closed_on)
        )
        return PlannedAction("reopen", problem, reason, last_ticket, replace(fresh, resolved_on=""))
    when = closed_on if closed_on else msg("an unknown date")
    return PlannedAction(
        "create",
        problem,
        msg_n(
            "failing again; the last ticket was closed by {by} on {when}, more than {n} day ago",
            "failing again; the last ticket was closed by {by} on {when}, more than {n} days ago",
            "n",
            n=settings.reopen_days,
            by=by,
            when=when,
        ),
        None,
        fresh,
        related=(last_ticket.key,),
    )


def _decide_passing(
    problem: Problem, tickets: Sequence[Ticket], settings: TicketSettings, today: date
) -> PlannedAction:
    open_tickets = [t for t in tickets if t.open]
    if not open_tickets:
        return PlannedAction("none", problem, msg("passing; no open ticket"), tickets[0] if tickets else None)
    ticket = open_tickets[0]
    passes = ticket.state.passes + 1
    if passes >= settings.resolve_after:
        state = replace(
            ticket.state, passes=passes, last_comment=today.isoformat(), resolved_on=today.isoformat()
        )
        return PlannedAction(
            "resolve",
            problem,
            msg_n("passed {n} consecutive run", "passed {n} consecutive runs", "n", n=passes),
            ticket,
            state,
        )
    return PlannedAction(
        "remember",
        problem,
        msg(
            "passing ({passes} of {needed} runs before resolving)",
            passes=passes,
            needed=settings.resolve_after,
        ),
        ticket,
        replace(ticket.state, passes=passes),
    )


def decide(
    problem: Problem, tickets: Sequence[Ticket], settings: TicketSettings, today: date
) -> PlannedAction:
    """Return the one action the lifecycle rules give `problem`, given its tickets (newest first)."""
    if problem.is_failing:
        return _decide_failing(problem, tickets, settings, today)
    return _decide_passing(problem, tickets, settings, today)


def plan_night(
    problems: Sequence[Problem],
    errors: Problem,
    tickets: Mapping[str, Sequence[Ticket]],
    settings: TicketSettings,
    today: date,
    tr: Translator | None = None,
) -> Plan:
    """Return the night's plan: one action per problem, the errors problem, and the circuit breaker's summary.

    The summary ticket's words are in `tr`'s language (default English).

    `tickets` maps fingerprints to the tracker's tickets (newest first); the summary problem's
    fingerprint is looked up there too (see `summary_fingerprint`).
    """
    actions = [decide(p, tickets.get(p.fingerprint, ()), settings, today) for p in problems]
    new = [a for a in actions if a.action == "create"]
    tripped = len(new) > settings.max_new
    if tripped:
        actions = [
            replace(
                a,
                action="none",
                reason=msg("held back by the circuit breaker (listed in the summary ticket)"),
                held_back=True,
            )
            if a.action == "create"
            else a
            for a in actions
        ]
    actions.append(decide(errors, tickets.get(errors.fingerprint, ()), settings, today))
    summary = (
        summary_problem([a.problem for a in new], settings.max_new, tr)
        if tripped
        else passing_summary(settings.max_new, tr)
    )
    decided = decide(summary, tickets.get(summary.fingerprint, ()), settings, today)
    if tripped and decided.action == "create":
        decided = replace(
            decided,
            action="summary",
            reason=msg_n(
                "{n} new problem exceeds max_new = {max_new}",
                "{n} new problems exceed max_new = {max_new}",
                "n",
                n=len(new),
                max_new=settings.max_new,
            ),
        )
    actions.append(decided)
    return Plan(tuple(actions), tripped)


def summary_fingerprint(max_new: int) -> str:
    """Return the fingerprint of the circuit breaker's summary problem (stable across nights)."""
    return passing_summary(max_new).fingerprint
