"""Turn a night's evidence bundle into tracker actions, and describe them: the `tickets` section of a run.

`run_tickets` groups the bundle into problems, asks the tracker (`find`) for each problem's
tickets, plans with the lifecycle rules and, in mode `on`, carries the plan out. In `dry-run` it
makes only `find` calls; in `off` it does nothing. It never raises and never touches a control's
status: a broken tracker (401, 500, timeout, a missing credential variable) stops the ticket
work and is reported once in `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from reports.i18n.translation import Language, Translator, translator
from reports.tickets.backends import backend_for, state_path_for
from reports.tickets.lifecycle import PlannedAction, plan_night, summary_fingerprint
from reports.tickets.model import Ticket, TicketBackend, TicketDraft, TicketState, TrackerError
from reports.tickets.problems import group_problems
from reports.tickets.redact import redact_urls
from reports.tickets.render import action_text
from reports.tickets.settings import TicketSettings
from reports.tickets.state import LocalState

MODES = ("off", "dry-run", "on")


def _entry(action: PlannedAction, ticket: Ticket | None, tr: Translator) -> dict[str, Any]:
    return {
        "action": action.action,
        "fingerprint": action.problem.fingerprint,
        "control": action.problem.control,
        "scope": action.problem.scope,
        "ticket": ticket.key if ticket else None,
        "url": ticket.url if ticket else None,
        "note": tr.render(action.reason),
    }


def _find(backend: TicketBackend, fingerprint: str, local: LocalState) -> list[Ticket]:
    """Return the tracker's tickets for `fingerprint`, completed from the local state when the search lags."""
    found = backend.find(fingerprint)
    known = local.get(fingerprint)
    if known is not None and any(t.key == known.key for t in found):
        # A tracker that dropped the hidden state (e.g. an HTML sanitiser stripping the comment)
        # must not reset the pass counter every night: the local memory fills the gap.
        return [
            replace(t, state=known.state) if t.key == known.key and t.state == TicketState() else t
            for t in found
        ]
    if known is None:
        return found
    fetch = getattr(backend, "get", None)
    if callable(fetch):
        fetched = fetch(known.key)
        if fetched is None:
            local.forget(fingerprint)
            return found
        return [fetched, *found]
    return [known, *found]


def _carry_out(
    action: PlannedAction, backend: TicketBackend, settings: TicketSettings, run_date: str, tr: Translator
) -> Ticket | None:
    text = action_text(action, run_date, settings.report_url, tr)
    ticket = action.ticket
    if action.action in ("create", "summary"):
        labels = tuple(settings.labels)
        if action.problem.kind != "control":
            labels += (action.problem.kind,)
        draft = TicketDraft(action.problem.fingerprint, text, labels, action.related, action.state)
        created = backend.create(draft)
        return replace(created, state=action.state)
    if ticket is None:
        return None
    if action.action == "comment":
        backend.comment(ticket, text, action.state)
        return replace(ticket, state=action.state)
    if action.action == "resolve":
        backend.resolve(ticket, text, action.state)
        return replace(ticket, open=False, resolution="Done", state=action.state)
    if action.action == "reopen":
        backend.reopen(ticket, text, action.state)
        return replace(ticket, open=True, resolution=None, closed_at=None, state=action.state)
    if action.action == "remember":
        backend.save_state(ticket, action.state)
        return replace(ticket, state=action.state)
    return ticket


def run_tickets(
    bundle: dict[str, Any],
    settings: TicketSettings,
    mode: str,
    *,
    env: Mapping[str, str],
    today: date,
    state_dir: Path | None,
    backend: TicketBackend | None = None,
    host_groups: Mapping[str, str] | None = None,
    lang: Language = "en",
) -> dict[str, Any]:
    """Return the bundle's `tickets` section after planning (and in mode `on` carrying out) the night's actions.

    `mode` is `off`, `dry-run` or `on`; `env` holds the credential variables; `state_dir` the
    optional local state (see state.py); `backend` replaces the configured one (tests);
    `host_groups` maps host names to their group for the scope rule (default: one group).
    Tickets speak `[tickets] lang`, else `lang` (the report's language).
    """
    tr = translator(settings.lang or lang)
    section: dict[str, Any] = {
        "mode": mode,
        "backend": settings.backend,
        "actions": [],
        "wont_fix": [],
        "errors": [],
    }
    if mode not in MODES:
        section["errors"].append(f"unknown tickets mode {mode!r} (expected off, dry-run or on)")
        return section
    if mode == "off":
        return section
    night = group_problems(
        bundle, grouping=settings.grouping, owner=settings.owner, host_groups=host_groups, tr=tr
    )
    run_date = night.run_date or today.isoformat()
    local = LocalState.load(state_path_for(settings, state_dir))
    try:
        tracker = backend if backend is not None else backend_for(settings, env, state_dir=state_dir)
        fingerprints = [p.fingerprint for p in night.problems]
        fingerprints += [night.errors.fingerprint, summary_fingerprint(settings.max_new)]
        tickets = {fp: _find(tracker, fp, local) for fp in dict.fromkeys(fingerprints)}
        plan = plan_night(night.problems, night.errors, tickets, settings, today, tr)
        for action in plan.actions:
            if action.wont_fix and action.ticket is not None:
                section["wont_fix"].append(
                    {
                        "control": action.problem.control,
                        "scope": action.problem.scope,
                        "ticket": action.ticket.key,
                        "url": action.ticket.url,
                        "resolution": action.ticket.resolution,
                    }
                )
                continue
            if action.action == "none" and not action.held_back:
                continue
            if mode == "dry-run" or action.action == "none":
                section["actions"].append(_entry(action, action.ticket, tr))
                continue
            done = _carry_out(action, tracker, settings, run_date, tr)
            if done is not None:
                local.remember(done)
            section["actions"].append(_entry(action, done, tr))
    except TrackerError as exc:
        section["errors"].append(redact_urls(f"ticket tracker {settings.backend}: {exc}"))
    except OSError as exc:
        section["errors"].append(f"ticket state file: {exc.strerror or type(exc).__name__}")
    except Exception as exc:  # a ticket bug must never change a control's status or stop the run
        # An exception's text may quote a URL (httpx.InvalidURL, ...): never its path (a webhook's secret).
        section["errors"].append(redact_urls(f"ticket run failed: {type(exc).__name__}: {str(exc)[:200]}"))
    return section


def describe_plan(section: Mapping[str, Any]) -> list[str]:
    """Return the tickets section as terminal lines: one per action, won't-fix ticket and error.

    It exists so `--tickets dry-run` can show a person exactly what `on` would do.
    """
    mode = section.get("mode", "off")
    if mode == "off":
        return ["tickets: off"]
    verb = "would" if mode == "dry-run" else "did"
    lines = [f"tickets ({section.get('backend')}, {mode}): {len(section.get('actions') or [])} actions"]
    for entry in section.get("actions") or []:
        ticket = f" {entry['ticket']}" if entry.get("ticket") else ""
        lines.append(
            f"  {verb} {entry['action']:<8}{ticket} [{entry['control']}] {entry['scope']}: {entry['note']}"
        )
    for item in section.get("wont_fix") or []:
        lines.append(
            f"  won't fix {item['ticket']} [{item['control']}] {item['scope']}: closed as "
            f"{item['resolution']!r}; consider a waiver"
        )
    for error in section.get("errors") or []:
        lines.append(f"  ERROR {error}")
    return lines
