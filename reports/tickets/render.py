"""The words of every ticket and comment, in the neutral `TicketText` form each backend renders and escapes.

Texts hold only what the evidence bundle holds (which is already secret-free): control ids,
titles, clause texts, resource ids and result messages. Links go only to the published evidence
report (`[tickets] report_url`, https only) with the report's stable anchors
(`#control-<id>`, `#result-<hash>`), so a resource name can never become a link target.
"""

from __future__ import annotations

from reports.html import control_anchor, result_anchor
from reports.tickets.lifecycle import PlannedAction
from reports.tickets.model import TicketText
from reports.tickets.problems import Problem

MAX_ROWS = 50
"""Failing resources shown per table; the rest are counted in a closing line."""
MAX_LINKS = 10
MAX_MESSAGE = 300
MAX_TITLE = 250


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def title_for(problem: Problem) -> str:
    """Return a ticket's title: `[control id] title — scope (n resources)` (or the auditor's own for errors/summary)."""
    count = len(problem.failing)
    noun = "resource" if count == 1 else "resources"
    if problem.kind == "errors":
        return _clip(
            f"[statement-auditor] could not evaluate {count} results — {problem.scope_label}", MAX_TITLE
        )
    if problem.kind == "summary":
        return _clip(f"[statement-auditor] {problem.title}", MAX_TITLE)
    return _clip(
        f"[{problem.control}] {problem.title} — {problem.scope_label or problem.scope} ({count} {noun})",
        MAX_TITLE,
    )


def report_links(
    problem: Problem, report_url: str | None, resources: tuple[str, ...] = ()
) -> tuple[tuple[str, str], ...]:
    """Return (label, URL) links into the evidence report: the control's section and up to MAX_LINKS results."""
    if not report_url or not report_url.startswith("https://") or problem.kind != "control":
        return ()
    base = report_url.split("#", 1)[0]
    links = [(f"Evidence report: {problem.control}", f"{base}#{control_anchor(problem.control)}")]
    for resource in resources[:MAX_LINKS]:
        links.append((f"Evidence: {resource}", f"{base}#{result_anchor(problem.control, resource)}"))
    return tuple(links)


def _table(problem: Problem, only: set[str] | None = None) -> tuple[tuple[str, ...], ...]:
    if problem.kind == "errors":
        rows: list[tuple[str, ...]] = [("Control", "Resource", "Message")]
        rows += [(f.control, f.resource, _clip(f.message, MAX_MESSAGE)) for f in problem.failing[:MAX_ROWS]]
        return tuple(rows)
    if problem.kind == "summary":
        summary_rows: list[tuple[str, ...]] = [("Problem", "Failing")]
        summary_rows += [(f.resource, f.message) for f in problem.failing[:MAX_ROWS]]
        return tuple(summary_rows)
    findings = [f for f in problem.failing if only is None or f.resource in only]
    if not findings:
        return ()
    table: list[tuple[str, ...]] = [("Resource", "Message")]
    table += [(f.resource, _clip(f.message, MAX_MESSAGE)) for f in findings[:MAX_ROWS]]
    return tuple(table)


def _more(problem: Problem) -> tuple[str, ...]:
    extra = len(problem.failing) - MAX_ROWS
    return (f"… and {extra} more (see the evidence report).",) if extra > 0 else ()


def _no_report(report_url: str | None) -> tuple[str, ...]:
    if report_url:
        return ()
    return ("The evidence report is not published ([tickets] report_url is not set).",)


def ticket_text(
    problem: Problem, run_date: str, report_url: str | None, related: tuple[str, ...] = ()
) -> TicketText:
    """Return the body of a new ticket: what fails, where, against which clause, and links to the evidence."""
    if problem.kind == "errors":
        paragraphs = (
            f"On the run of {run_date} the auditor could not evaluate {len(problem.failing)} results "
            "(missing permissions, unreachable hosts or APIs). These are not control failures; "
            f"they need the auditor's owner ({problem.scope_label}).",
            *_more(problem),
        )
        return TicketText(title_for(problem), paragraphs, _table(problem))
    if problem.kind == "summary":
        paragraphs = (
            f"On the run of {run_date} more new problems appeared than [tickets] max_new allows, so no "
            "ticket was opened for them. Check for a configuration or collector change; raise max_new "
            "or fix the cause, and the next run opens the individual tickets.",
            *_more(problem),
        )
        return TicketText(title_for(problem), paragraphs, _table(problem))
    body: list[str] = [
        f"Control {problem.control} fails for {len(problem.failing)} of {problem.evaluated} evaluated "
        f"resources in {problem.scope_label or problem.scope} (run of {run_date}).",
    ]
    if problem.clause:
        body.append(f"Statement clause {problem.clause}: {problem.clause_text_nl}".rstrip(": "))
        if problem.clause_text_en:
            body.append(f"In English: {problem.clause_text_en}")
    if problem.pass_condition:
        body.append(f"Passes when: {problem.pass_condition}")
    if problem.severity:
        body.append(f"Severity: {problem.severity}")
    if related:
        body.append("This problem had an earlier ticket: " + ", ".join(related) + ".")
    body.extend(_more(problem))
    body.extend(_no_report(report_url))
    resources = tuple(f.resource for f in problem.failing)
    return TicketText(
        title_for(problem), tuple(body), _table(problem), report_links(problem, report_url, resources)
    )


def action_text(action: PlannedAction, run_date: str, report_url: str | None) -> TicketText:
    """Return the text an action writes: the new ticket's body, or the comment of a comment/resolve/reopen."""
    problem = action.problem
    if action.action in ("create", "summary"):
        return ticket_text(problem, run_date, report_url, action.related)
    resources = tuple(f.resource for f in problem.failing)
    if action.action == "resolve":
        return TicketText(
            "Resolved by the auditor",
            (
                f"{problem.control} passed {action.state.passes} consecutive runs in "
                f"{problem.scope_label or problem.scope} (last on {run_date}); resolving. "
                "A new failure within the reopen window reopens this ticket.",
                *_no_report(report_url),
            ),
            (),
            report_links(problem, report_url),
        )
    if action.action == "reopen":
        lead = (
            f"Failing again on {run_date}: {len(problem.failing)} resources."
            if action.ticket is not None and action.ticket.state.resolved_on
            else f"This ticket was closed, but on {run_date} the control still fails for "
            f"{len(problem.failing)} resources. To accept the risk, close it as won't-fix or add a waiver."
        )
        return TicketText(
            "Reopened by the auditor",
            (lead, *_more(problem), *_no_report(report_url)),
            _table(problem),
            report_links(problem, report_url, resources),
        )
    if action.added or action.removed:
        paragraphs = [f"The failing resources changed on {run_date}: now {len(problem.failing)} failing."]
        if action.added:
            paragraphs.append(f"Newly failing: {len(action.added)}.")
        if action.removed:
            paragraphs.append("No longer failing: " + ", ".join(action.removed[:MAX_ROWS]) + ".")
        table = _table(problem, set(action.added)) if problem.kind == "control" else _table(problem)
        return TicketText(
            "Failing resources changed",
            tuple(paragraphs),
            table,
            report_links(problem, report_url, action.added),
        )
    return TicketText(
        "Still failing",
        (f"Still failing on {run_date}: {len(problem.failing)} resources.", *_more(problem)),
        _table(problem),
        report_links(problem, report_url, resources),
    )
