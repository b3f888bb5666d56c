"""The words of every ticket and comment, in the neutral `TicketText` form each backend renders and escapes.

Texts hold only what the evidence bundle holds (which is already secret-free): control ids,
titles, clause texts, resource ids and result messages. Links go only to the published evidence
report (`[tickets] report_url`, https only) with the report's stable anchors
(`#control-<id>`, `#result-<hash>`), so a resource name can never become a link target.
"""

from __future__ import annotations

from reports.html import control_anchor, result_anchor
from reports.i18n.translation import Translator, translator
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


def title_for(problem: Problem, tr: Translator | None = None) -> str:
    """Return a ticket's title in `tr`'s language (default English): `[control id] title — scope
    (n resources)`, or the auditor's own for errors/summary."""
    tr = tr or translator("en")
    count = len(problem.failing)
    if problem.kind == "errors":
        title = tr.ngettext(
            "[statement-auditor] could not evaluate {n} result — {owner}",
            "[statement-auditor] could not evaluate {n} results — {owner}",
            count,
            owner=problem.scope_label,
        )
        return _clip(title, MAX_TITLE)
    if problem.kind == "summary":
        return _clip(f"[statement-auditor] {problem.title}", MAX_TITLE)
    title = tr.ngettext(
        "[{control}] {title} — {scope} ({n} resource)",
        "[{control}] {title} — {scope} ({n} resources)",
        count,
        control=problem.control,
        title=tr.gettext(problem.title),
        scope=problem.scope_label or problem.scope,
    )
    return _clip(title, MAX_TITLE)


def report_links(
    problem: Problem, report_url: str | None, resources: tuple[str, ...] = (), tr: Translator | None = None
) -> tuple[tuple[str, str], ...]:
    """Return (label, URL) links into the evidence report: the control's section and up to MAX_LINKS results."""
    if not report_url or not report_url.startswith("https://") or problem.kind != "control":
        return ()
    tr = tr or translator("en")
    base = report_url.split("#", 1)[0]
    links = [
        (
            tr.gettext("Evidence report: {control}", control=problem.control),
            f"{base}#{control_anchor(problem.control)}",
        )
    ]
    for resource in resources[:MAX_LINKS]:
        links.append(
            (
                tr.gettext("Evidence: {resource}", resource=resource),
                f"{base}#{result_anchor(problem.control, resource)}",
            )
        )
    return tuple(links)


def _table(problem: Problem, tr: Translator, only: set[str] | None = None) -> tuple[tuple[str, ...], ...]:
    if problem.kind == "errors":
        rows: list[tuple[str, ...]] = [(tr.gettext("Control"), tr.gettext("Resource"), tr.gettext("Message"))]
        rows += [(f.control, f.resource, _clip(f.message, MAX_MESSAGE)) for f in problem.failing[:MAX_ROWS]]
        return tuple(rows)
    if problem.kind == "summary":
        summary_rows: list[tuple[str, ...]] = [(tr.gettext("Problem"), tr.gettext("Failing"))]
        summary_rows += [(f.resource, f.message) for f in problem.failing[:MAX_ROWS]]
        return tuple(summary_rows)
    findings = [f for f in problem.failing if only is None or f.resource in only]
    if not findings:
        return ()
    table: list[tuple[str, ...]] = [(tr.gettext("Resource"), tr.gettext("Message"))]
    table += [(f.resource, _clip(f.message, MAX_MESSAGE)) for f in findings[:MAX_ROWS]]
    return tuple(table)


def _more(problem: Problem, tr: Translator) -> tuple[str, ...]:
    extra = len(problem.failing) - MAX_ROWS
    return (tr.gettext("… and {more} more (see the evidence report).", more=extra),) if extra > 0 else ()


def _no_report(report_url: str | None, tr: Translator) -> tuple[str, ...]:
    if report_url:
        return ()
    return (tr.gettext("The evidence report is not published ([tickets] report_url is not set)."),)


def ticket_text(
    problem: Problem,
    run_date: str,
    report_url: str | None,
    related: tuple[str, ...] = (),
    tr: Translator | None = None,
) -> TicketText:
    """Return the body of a new ticket in `tr`'s language (default English): what fails, where,
    against which clause, and links to the evidence."""
    tr = tr or translator("en")
    count = len(problem.failing)
    if problem.kind == "errors":
        paragraphs = (
            tr.ngettext(
                "On the run of {date} the auditor could not evaluate {n} result (missing permissions, "
                "unreachable hosts or APIs). This is not a control failure; it needs the auditor's "
                "owner ({owner}).",
                "On the run of {date} the auditor could not evaluate {n} results (missing permissions, "
                "unreachable hosts or APIs). These are not control failures; they need the auditor's "
                "owner ({owner}).",
                count,
                date=run_date,
                owner=problem.scope_label,
            ),
            *_more(problem, tr),
        )
        return TicketText(title_for(problem, tr), paragraphs, _table(problem, tr))
    if problem.kind == "summary":
        paragraphs = (
            tr.gettext(
                "On the run of {date} more new problems appeared than [tickets] max_new allows, so no "
                "ticket was opened for them. Check for a configuration or collector change; raise max_new "
                "or fix the cause, and the next run opens the individual tickets.",
                date=run_date,
            ),
            *_more(problem, tr),
        )
        return TicketText(title_for(problem, tr), paragraphs, _table(problem, tr))
    body: list[str] = [
        tr.ngettext(
            "Control {control} fails for {failing} of {n} evaluated resource in {scope} (run of {date}).",
            "Control {control} fails for {failing} of {n} evaluated resources in {scope} (run of {date}).",
            problem.evaluated,
            control=problem.control,
            failing=count,
            scope=problem.scope_label or problem.scope,
            date=run_date,
        ),
    ]
    if problem.clause:
        if problem.clause_text_nl:
            body.append(
                tr.gettext(
                    "Statement clause {clause}: {text}", clause=problem.clause, text=problem.clause_text_nl
                )
            )
        else:
            body.append(tr.gettext("Statement clause {clause}", clause=problem.clause))
        if problem.clause_text_en:
            body.append(tr.gettext("In English: {text}", text=problem.clause_text_en))
    if problem.pass_condition:
        body.append(tr.gettext("Passes when: {condition}", condition=tr.gettext(problem.pass_condition)))
    if problem.severity:
        body.append(tr.gettext("Severity: {severity}", severity=problem.severity))
    if related:
        body.append(tr.gettext("This problem had an earlier ticket: {tickets}.", tickets=list(related)))
    body.extend(_more(problem, tr))
    body.extend(_no_report(report_url, tr))
    resources = tuple(f.resource for f in problem.failing)
    return TicketText(
        title_for(problem, tr),
        tuple(body),
        _table(problem, tr),
        report_links(problem, report_url, resources, tr),
    )


def action_text(
    action: PlannedAction, run_date: str, report_url: str | None, tr: Translator | None = None
) -> TicketText:
    """Return the text an action writes in `tr`'s language (default English): the new ticket's body,
    or the comment of a comment/resolve/reopen."""
    tr = tr or translator("en")
    problem = action.problem
    count = len(problem.failing)
    if action.action in ("create", "summary"):
        return ticket_text(problem, run_date, report_url, action.related, tr)
    resources = tuple(f.resource for f in problem.failing)
    if action.action == "resolve":
        return TicketText(
            tr.gettext("Resolved by the auditor"),
            (
                tr.ngettext(
                    "{control} passed {n} consecutive run in {scope} (last on {date}); resolving. "
                    "A new failure within the reopen window reopens this ticket.",
                    "{control} passed {n} consecutive runs in {scope} (last on {date}); resolving. "
                    "A new failure within the reopen window reopens this ticket.",
                    action.state.passes,
                    control=problem.control,
                    scope=problem.scope_label or problem.scope,
                    date=run_date,
                ),
                *_no_report(report_url, tr),
            ),
            (),
            report_links(problem, report_url, (), tr),
        )
    if action.action == "reopen":
        lead = (
            tr.ngettext(
                "Failing again on {date}: {n} resource.",
                "Failing again on {date}: {n} resources.",
                count,
                date=run_date,
            )
            if action.ticket is not None and action.ticket.state.resolved_on
            else tr.ngettext(
                "This ticket was closed, but on {date} the control still fails for {n} resource. "
                "To accept the risk, close it as won't-fix or add a waiver.",
                "This ticket was closed, but on {date} the control still fails for {n} resources. "
                "To accept the risk, close it as won't-fix or add a waiver.",
                count,
                date=run_date,
            )
        )
        return TicketText(
            tr.gettext("Reopened by the auditor"),
            (lead, *_more(problem, tr), *_no_report(report_url, tr)),
            _table(problem, tr),
            report_links(problem, report_url, resources, tr),
        )
    if action.added or action.removed:
        paragraphs = [
            tr.gettext(
                "The failing resources changed on {date}: now {failing} failing.",
                date=run_date,
                failing=count,
            )
        ]
        if action.added:
            paragraphs.append(tr.gettext("Newly failing: {added}.", added=len(action.added)))
        if action.removed:
            paragraphs.append(
                tr.gettext("No longer failing: {resources}.", resources=list(action.removed[:MAX_ROWS]))
            )
        table = _table(problem, tr, set(action.added)) if problem.kind == "control" else _table(problem, tr)
        return TicketText(
            tr.gettext("Failing resources changed"),
            tuple(paragraphs),
            table,
            report_links(problem, report_url, action.added, tr),
        )
    return TicketText(
        tr.gettext("Still failing"),
        (
            tr.ngettext(
                "Still failing on {date}: {n} resource.",
                "Still failing on {date}: {n} resources.",
                count,
                date=run_date,
            ),
            *_more(problem, tr),
        ),
        _table(problem, tr),
        report_links(problem, report_url, resources, tr),
    )
