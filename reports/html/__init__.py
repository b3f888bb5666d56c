"""The HTML report: one self-contained page rendered from an evidence bundle alone.

The page never re-collects anything: every figure on it comes from `evidence.json`. It
loads nothing from elsewhere (inline CSS, a little inline JavaScript for filtering, no
URLs), is fully readable without JavaScript and prints with every result expanded. All
bundle values pass through Jinja2 autoescaping, and a Content-Security-Policy allows only
the page's own inline style and script (by hash), so a resource id or message holding
markup can neither run script nor load anything.

The page speaks English or Dutch (`lang`); the statement's Dutch clause text is always shown.
It stays small at scale (20,000 results): an expectation shared by every result of a control
is shown once on the control, a source cited by several results is listed once per control,
and a row's own call abbreviates the row's resource id.

The page's parts live beside this module: `formatting` (values as text, anchors, the Jinja2
environment), `sections` (the control sections and clause summary) and `cover` (the cover's
cards); this module puts them together into the template's context and writes the page.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.html.cover import (
    CHANGE_HEADINGS,
    CHANGE_KINDS,
    TICKET_ACTIONS,
    TLS_DISCOVERY_REASONS,
    TLS_DISCOVERY_RULES,
    azure_tenants,
    changes_view,
    policy_items,
    populations_view,
    scope_counts,
    tickets_view,
    tls_discovery_view,
    waivers_view,
)
from reports.html.formatting import (
    TEMPLATE_DIR,
    TEMPLATE_NAME,
    breakable,
    clause_sort_key,
    control_anchor,
    duration_text,
    key_values,
    result_anchor,
    template_environment,
    utc_text,
    value_lines,
    value_text,
)
from reports.html.sections import (
    EXPANDED_STATUSES,
    STATUS_LABELS,
    STATUS_ORDER,
    STATUS_WORDS,
    TREND_CLASSES,
    ResultRow,
    SourceRef,
    SourceView,
    attach_tickets,
    attach_trends,
    clauses_view,
    controls_view,
    zero_counts,
)
from reports.i18n.translation import Language, jinja_globals, translator

__all__ = [
    "CHANGE_HEADINGS",
    "CHANGE_KINDS",
    "EXPANDED_STATUSES",
    "STATUS_LABELS",
    "STATUS_ORDER",
    "STATUS_WORDS",
    "TEMPLATE_DIR",
    "TEMPLATE_NAME",
    "TICKET_ACTIONS",
    "TLS_DISCOVERY_REASONS",
    "TLS_DISCOVERY_RULES",
    "TREND_CLASSES",
    "ResultRow",
    "SourceRef",
    "SourceView",
    "breakable",
    "build_view",
    "clause_sort_key",
    "control_anchor",
    "duration_text",
    "key_values",
    "populations_view",
    "render_html",
    "result_anchor",
    "template_environment",
    "utc_text",
    "value_lines",
    "value_text",
    "write_html",
    "write_page",
]


def build_view(bundle: Mapping[str, Any], *, lang: Language = "en") -> dict[str, Any]:
    """Return the template's whole context, derived from the bundle alone (no collection, no I/O).

    Kept separate from rendering so the ordering and grouping can be tested without HTML.
    Raises ValueError for an unknown `lang`.
    """
    tr = translator(lang)
    labels = {status: tr.gettext(text) for status, text in STATUS_LABELS.items()}
    run: Mapping[str, Any] = bundle.get("run") or {}
    scope: Mapping[str, Any] = run.get("scope") or {}
    warnings: list[str] = []
    controls, anchors = controls_view(bundle, warnings, labels, tr)
    trends = attach_trends(controls, bundle.get("trends"))
    hosts = frozenset(str(h) for h in ((scope.get("hosts") or {}).get("hosts") or []) if isinstance(h, str))
    attach_tickets(controls, bundle.get("tickets"), hosts)
    actual = zero_counts()
    for control in controls:
        for status, count in control["counts"].items():
            actual[status] = actual.get(status, 0) + count
    stated_summary: Mapping[str, Any] = bundle.get("summary") or {}
    total = sum(actual.values())
    if stated_summary and (
        any(stated_summary.get(s, 0) != actual.get(s, 0) for s in STATUS_ORDER)
        or stated_summary.get("total", total) != total
    ):
        warnings.append(f"the bundle's summary {dict(stated_summary)} differs from its results {actual}")
    azure = scope.get("azure")
    return {
        **jinja_globals(lang),
        "lang": lang,
        "words": {status: tr.gettext(text) for status, text in STATUS_WORDS.items()},
        "schema_version": bundle.get("schema_version", "?"),
        "run": run,
        "started": utc_text(run.get("started_at")),
        "finished": utc_text(run.get("finished_at")),
        "duration": duration_text(run.get("started_at"), run.get("finished_at")),
        "run_date": str(run.get("run_date") or ""),
        "mode": str(run.get("mode", "unknown")),
        "tool": run.get("tool") or {},
        "config": run.get("config") or {},
        "policy": run.get("policy") or {},
        "policy_items": policy_items(run.get("policy") or {}),
        "machine": run.get("machine") or {},
        "credential": (azure or {}).get("credential") or "",
        "recording": run.get("recording"),
        "command": run.get("command") or "",
        "azure": azure,
        "tenants": azure_tenants(azure),
        "hosts": scope.get("hosts"),
        "databases": scope.get("databases"),
        "scope_counts": scope_counts(scope, controls, total, tr),
        "populations": populations_view(scope.get("populations") or {}),
        "changes": changes_view(bundle.get("changes"), anchors, tr),
        "waivers": waivers_view(bundle.get("waivers")),
        "tls_discovery": tls_discovery_view(scope.get("tls_discovery"), tr),
        "sites": [site for site in scope.get("sites") or [] if isinstance(site, Mapping)],
        "tickets": tickets_view(bundle.get("tickets")),
        "trends": trends,
        "controls": controls,
        "clauses": clauses_view(controls),
        "counts": actual,
        "total": total,
        "statuses": STATUS_ORDER,
        "labels": labels,
        "warnings": warnings,
    }


def render_html(bundle: Mapping[str, Any], *, lang: Language = "en") -> str:
    """Return the complete, self-contained HTML report of an evidence bundle in `lang` (en or nl).

    Rendered from the bundle alone so the report always shows exactly what evidence.json
    records; every bundle value is HTML-escaped.
    """
    return template_environment().get_template(TEMPLATE_NAME).render(build_view(bundle, lang=lang))


def write_html(bundle: Mapping[str, Any], path: Path, *, lang: Language = "en") -> None:
    """Render the report in `lang` and write it to `path` atomically (a reader never sees half a file)."""
    write_page(path, render_html(bundle, lang=lang))


def write_page(path: Path, text: str) -> None:
    """Write a rendered page to `path` atomically: a temporary file beside it, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
