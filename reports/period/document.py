"""The period report as files: period.json (schema: reports/period.schema.json), period.html, a signed manifest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.evidence import N_, TOOL_NAME, Message, tool_version, write_json
from reports.html import result_anchor, template_environment, write_page
from reports.i18n.translation import LANGUAGES, Language, jinja_globals, translator
from reports.manifest import PERIOD_RECORD_NAME, write_manifest
from reports.period.exceptions import Interval
from reports.period.report import ControlPeriod, PeriodReport

PERIOD_NAME = PERIOD_RECORD_NAME
PERIOD_HTML = "period.html"
PERIOD_SCHEMA_VERSION = 1
TEMPLATE_NAME = "period.html.j2"

PERIOD_WORDS = (
    N_("missing"),
    N_("late"),
    N_("altered"),
    N_("inserted"),
    N_("incomplete"),
    N_("chain"),
    N_("unverifiable"),
    N_("fixed"),
    N_("not applicable"),
    N_("gone from scope"),
    N_("still failing"),
    N_("accepted (waived)"),
    N_("within SLA"),
    N_("remediated late"),
    N_("open, within SLA"),
    N_("open, overdue"),
    N_("open"),
    N_("resolved"),
    N_("reopened"),
    N_("added"),
    N_("changed"),
    N_("expired"),
    N_("removed"),
    N_("pass"),
    N_("fail"),
    N_("error"),
    N_("waived"),
    N_("not_applicable"),
)
"""Words the period page shows from data (deviation kinds, interval ends, SLA verdicts, ticket states,
waiver events, statuses): marked here so the catalogs hold them; the page translates each where shown."""


def _finding_text(finding: Mapping[str, Any] | None, lang: Language) -> str:
    """Return an exception's last finding in `lang`: rendered from its message, else its recorded text."""
    if not finding:
        return ""
    recorded = finding.get("finding")
    if isinstance(recorded, Mapping):
        try:
            return translator(lang).render(Message.from_json(recorded))
        except (ValueError, TypeError):
            pass
    return str(finding.get("message", ""))


def _interval_json(interval: Interval) -> dict[str, Any]:
    return {
        "resource": interval.resource,
        "first_night": interval.first.isoformat(),
        "last_night": interval.last.isoformat(),
        "fixed_night": interval.fixed.isoformat() if interval.fixed else None,
        "ended": interval.ended,
        "nights": interval.nights,
        "duration_days": interval.duration_days,
        "days_against_sla": interval.days_unwaived,
        "sla_days": interval.sla_days,
        "sla_verdict": interval.sla_verdict,
        "statuses": sorted(interval.statuses),
        "finding": (interval.finding or {}).get("finding"),
        "message_en": _finding_text(interval.finding, "en"),
        "ticket": None
        if interval.ticket is None
        else {"key": interval.ticket.key, "url": interval.ticket.url, "state": interval.ticket.state},
        "waivers": [
            {"approved_by": w.approved_by, "justification": w.justification, "expires": w.expires}
            for w in interval.waivers
        ],
    }


def _control_json(entry: ControlPeriod) -> dict[str, Any]:
    return {
        "id": entry.control,
        "clause": entry.clause,
        "title": entry.title,
        "severity": entry.severity,
        "pass_condition": entry.pass_condition,
        "sla_days": entry.sla_days,
        "occurrences": entry.occurrences,
        "population": {
            "min": entry.population_min,
            "max": entry.population_max,
            "last": entry.population_last,
        },
        "nights_with_fail": entry.nights_fail,
        "nights_with_error": entry.nights_error,
        "mttr_days": entry.mttr_days,
        "daily": {night.isoformat(): counts for night, counts in sorted(entry.daily.items())},
        "exceptions": [_interval_json(i) for i in entry.exceptions],
    }


def period_document(report: PeriodReport, generated_at: datetime) -> dict[str, Any]:
    """Return period.json's document: every figure of the report as data, clause verdicts in every language."""
    nights = report.nights
    return {
        "schema_version": PERIOD_SCHEMA_VERSION,
        "generated_at": generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": {"name": TOOL_NAME, "version": tool_version()},
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat()},
        "archive": {"store": report.archive, "write_once": translator("en").render(report.write_once)},
        "nights": {
            "expected": nights.expected,
            "present": nights.present,
            "verified": nights.verified,
            "deviations": [
                {"night": d.night.isoformat(), "kind": d.kind, "detail": d.detail, "run_key": d.run_key}
                for d in nights.deviations
            ],
        },
        "chain": {
            "verified": report.chain_ok,
            "signatures_checked": report.signatures_checked,
            "timestamps_checked": report.timestamps_checked,
        },
        "controls": [_control_json(c) for c in report.controls],
        "changes": {
            "code": [
                {
                    "night": c.night.isoformat(),
                    "before": c.before,
                    "after": c.after,
                    "commits": list(c.commits),
                }
                for c in report.code_changes
            ],
            "config": [
                {
                    "night": c.night.isoformat(),
                    "before": c.before,
                    "after": c.after,
                    "policy": {key: {"before": old, "after": new} for key, (old, new) in c.policy.items()},
                }
                for c in report.config_changes
            ],
            "waivers": [
                {
                    "night": w.night.isoformat(),
                    "event": w.event,
                    "control": w.control,
                    "resource": w.resource,
                    "approved_by": w.approved_by,
                    "justification": w.justification,
                    "expires": w.expires,
                }
                for w in report.waiver_events
            ],
        },
        "sample": {
            "seed": report.sample_seed,
            "nights": [
                {
                    "night": s.night.isoformat(),
                    "run_key": s.run_key,
                    "verified": s.verified,
                    "items": [
                        {
                            "control": i.control,
                            "resource": i.resource,
                            "status": i.status,
                            "report_link": i.report_link,
                        }
                        for i in s.items
                    ],
                }
                for s in report.sample
            ],
        },
        "clauses": [
            {
                "clause": c.clause,
                "operated": c.operated,
                "counted": c.counted,
                "finding": c.message.as_json(),
                **{f"text_{lang}": translator(lang).render(c.message) for lang in LANGUAGES},
            }
            for c in report.clauses
        ],
    }


def _sparkline(entry: ControlPeriod, report: PeriodReport) -> list[dict[str, Any]]:
    """Return one bar per night of the period: its status colour class and height (inline SVG in the page)."""
    bars = []
    days = report.nights.expected
    for index in range(days):
        night = report.start.fromordinal(report.start.toordinal() + index)
        counts = entry.daily.get(night)
        if counts is None:
            kind = "none"
        elif counts.get("fail"):
            kind = "fail"
        elif counts.get("error"):
            kind = "error"
        else:
            kind = "pass"
        bars.append({"x": index, "kind": kind, "night": night.isoformat()})
    return bars


def render_period(report: PeriodReport, document: Mapping[str, Any], lang: Language) -> str:
    """Return the self-contained period.html in `lang`."""
    tr = translator(lang)
    view = {
        **jinja_globals(lang),
        "lang": lang,
        "report": report,
        "doc": document,
        "clause_texts": [tr.render(c.message) for c in report.clauses],
        "finding_text": lambda interval: _finding_text(interval.finding, lang),
        "sparkline": lambda entry: _sparkline(entry, report),
        "anchor": result_anchor,
    }
    return template_environment().get_template(TEMPLATE_NAME).render(view)


def write_period(
    report: PeriodReport, out: Path, lang: Language, generated_at: datetime | None = None
) -> Path:
    """Write period.json, period.html and their manifest (signed when AUDIT_SIGNING_KEY is set) into `out`.

    Returns period.html's path. Raises OSError when `out` cannot be written, SigningKeyError when the
    key is set but unusable (after the unsigned manifest).
    """
    out.mkdir(parents=True, exist_ok=True)
    document = period_document(report, generated_at or datetime.now(UTC))
    write_json(out / PERIOD_NAME, document)
    page = out / PERIOD_HTML
    write_page(page, render_period(report, document, lang))
    write_manifest(out)
    return page
