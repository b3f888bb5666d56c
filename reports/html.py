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
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from reports.evidence import N_
from reports.i18n.translation import Language, Translator, jinja_globals, result_message, translator
from reports.tickets.problems import ticket_action_for

TEMPLATE_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAME = "report.html.j2"

STATUS_ORDER: tuple[str, ...] = ("fail", "error", "waived", "pass", "not_applicable")
"""Report order of statuses: what needs attention first."""
STATUS_LABELS: dict[str, str] = {
    "fail": N_("FAIL"),
    "error": N_("ERROR"),
    "waived": N_("WAIVED"),
    "pass": N_("PASS"),
    "not_applicable": N_("N/A"),
}
"""Badge text per status (English ids of the catalog texts)."""
STATUS_WORDS: dict[str, str] = {
    "fail": N_("fail"),
    "error": N_("error"),
    "waived": N_("waived"),
    "pass": N_("pass"),
    "not_applicable": N_("not applicable"),
}
"""Status names inside running text (English ids of the catalog texts)."""
EXPANDED_STATUSES = frozenset({"fail", "error", "waived"})
"""Shown open under each control; passes and not_applicable sit in collapsed <details>."""
CHANGE_KINDS: tuple[str, ...] = ("new_failures", "fixed", "new_resources", "vanished_resources")
"""The lists of bundle["changes"], in the order the report shows them."""
CHANGE_HEADINGS: dict[str, str] = {
    "new_failures": N_("New failures"),
    "fixed": N_("Fixed"),
    "new_resources": N_("New resources"),
    "vanished_resources": N_("Vanished resources"),
}
TLS_DISCOVERY_RULES: tuple[str, ...] = ("on", "off", "auto-public-cloud", "auto-not-public-cloud")
"""The recorded decisions on scanning Azure-published endpoints that the cover explains."""
TICKET_ACTIONS: tuple[str, ...] = ("create", "reopen", "comment", "resolve", "summary", "remember", "none")
"""Ticket actions in the order the report lists them: what changes the tracker most first."""

_CLAUSE_RE = re.compile(r"^(\d+)(.*)$")


def result_anchor(control: str, resource: str) -> str:
    """Return the stable HTML id of one result: `result-` + the first 12 hex of sha1(control, resource).

    The control id and resource are joined by a newline before hashing, so other tools (tickets,
    e-mails) can deep-link to `report.html#result-...` by computing the same value.
    """
    digest = hashlib.sha1(f"{control}\n{resource}".encode(), usedforsecurity=False).hexdigest()
    return f"result-{digest[:12]}"


def control_anchor(control: str) -> str:
    """Return the stable HTML id of a control's section: `control-` + the control id."""
    return f"control-{control}"


def clause_sort_key(clause: str) -> tuple[int, str]:
    """Return a key ordering clauses as the statement numbers them (6b < 8 < 9 < 11 < 12a)."""
    match = _CLAUSE_RE.match(clause)
    if match is None:
        return (1 << 30, clause)
    return (int(match.group(1)), match.group(2))


def value_text(value: Any) -> str:
    """Return one observed/expected value as display text: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def key_values(values: Any) -> list[tuple[str, str]] | None:
    """Return an observed/expected mapping as (key, text) pairs, or None if it is not a mapping.

    Nested values (objects, lists) become JSON text so each result row stays one small list.
    """
    if not isinstance(values, Mapping):
        return None
    return [(str(key), value_text(value)) for key, value in values.items()]


def value_lines(values: Any) -> str:
    """Return observed/expected values as one `key = value` line each (non-mappings as JSON text).

    A result row shows them as plain text in one element: at 20,000 results one element per
    key and value would double the page's DOM. An empty mapping (or None) gives ''.
    """
    if not values:
        return ""
    pairs = key_values(values)
    if pairs is None:
        return value_text(values)
    return "\n".join(f"{key} = {value}" for key, value in pairs)


def utc_text(timestamp: Any) -> str:
    """Return an ISO-8601 UTC timestamp as 'YYYY-MM-DD HH:MM:SS UTC' (or the raw text if unparsable)."""
    if not isinstance(timestamp, str):
        return "—" if timestamp is None else str(timestamp)
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.utcoffset() is not None else "")


def duration_text(started: Any, finished: Any) -> str:
    """Return the run's wall-clock duration as e.g. '1 min 10 s', or '' if a timestamp is missing."""
    try:
        seconds = int((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds())
    except (TypeError, ValueError):
        return ""
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes} min")
    parts.append(f"{seconds} s")
    return " ".join(parts)


def _csp_hash(content: str) -> Markup:
    """Return the CSP source expression ('sha256-...') allowing exactly this inline element body.

    Markup because it is built from base64 only and its quotes must reach the attribute as is.
    """
    digest = hashlib.sha256(str(content).encode("utf-8")).digest()
    return Markup("'sha256-" + base64.b64encode(digest).decode("ascii") + "'")


def breakable(text: Any) -> Markup:
    """Return `text` HTML-escaped, with line-break opportunities after '/' and before '?' and '&'.

    Resource ids and request URLs have no spaces; this lets them wrap at path boundaries
    instead of mid-word. Escaping happens first, so only the inserted <wbr> is markup.
    """
    escaped = escape(text)
    return escaped.replace("/", _SLASH_BREAK).replace("?", _QUERY_BREAK).replace("&amp;", _AMP_BREAK)


_SLASH_BREAK = Markup("/<wbr>")
_QUERY_BREAK = Markup("<wbr>?")
_AMP_BREAK = Markup("<wbr>&amp;")


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """Return the (cached) Jinja2 environment: autoescape on for everything, undefined names fail."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["csp_hash"] = _csp_hash
    env.filters["breakable"] = breakable
    return env


def _zero_counts() -> dict[str, int]:
    """Return a fresh per-status counter with every status at zero."""
    return dict.fromkeys(STATUS_ORDER, 0)


def _source_key(source: Mapping[str, Any]) -> tuple[str, str, str]:
    """Return what identifies one cited source: its call, collection time and sha256."""
    return (str(source.get("call", "")), str(source.get("collected_at", "")), str(source.get("sha256", "")))


@dataclass(slots=True)
class SourceView:
    """One cited source as the report shows it (whole in its row, or once in a control's shared list).

    The call is split around the row's resource id (`call_head`, `call_tail`, `abbreviated`) so the
    row need not repeat a 100-character ARM id; `api_version` is '' when the call already carries it.
    `ref` and `anchor` are set only for a shared source (S1, S2, ...).
    """

    call_head: str
    call_tail: str
    abbreviated: bool
    collector: str
    api_version: str
    status: Any
    collected_at: str
    sha256: str
    ref: str = ""
    anchor: str = ""
    cited_by: int = 0


@dataclass(slots=True)
class SourceRef:
    """A row's reference to a shared source of its control."""

    ref: str
    anchor: str


@dataclass(slots=True)
class ResultRow:
    """One result as its row shows it; values are still unescaped (the template escapes them)."""

    anchor: str
    status: str
    label: str
    resource: str
    message: str
    observed_lines: str
    expected: Any
    waiver: Mapping[str, Any] | None
    nodeid_test: str
    item: str
    raw_sources: Sequence[Mapping[str, Any]]
    sources: list[SourceView | SourceRef] = field(default_factory=list)
    expected_lines: str = ""
    ticket: Mapping[str, Any] | None = None
    """The ticket action of tonight that covers this failing row (key, url, action)."""
    failing_since: date | None = None
    """The first night of the current failing streak (from the history's trends), for fail and error rows."""


def _source_view(source: Mapping[str, Any], resource: str) -> SourceView:
    """Return one source as the template shows it, its call abbreviated around `resource`."""
    call = str(source.get("call", ""))
    api_version = source.get("api_version")
    at = call.find(resource) if len(resource) >= 16 else -1
    head, tail = (call[:at], call[at + len(resource) :]) if at >= 0 else (call, "")
    return SourceView(
        call_head=head,
        call_tail=tail,
        abbreviated=at >= 0,
        collector=str(source.get("collector", "")),
        api_version=str(api_version) if api_version and f"api-version={api_version}" not in call else "",
        status=source.get("status"),
        collected_at=str(source.get("collected_at", "")),
        sha256=str(source.get("sha256") or ""),
    )


def _row(result: Mapping[str, Any], anchor: str, labels: Mapping[str, str], tr: Translator) -> ResultRow:
    """Return the view of one result row: only what the template shows."""
    status = str(result.get("status", "error"))
    resource = str(result.get("resource", ""))
    test, _, parameter = str(result.get("nodeid", "")).partition("[")
    parameter = parameter[:-1] if parameter.endswith("]") else parameter
    return ResultRow(
        anchor=anchor,
        status=status,
        label=labels.get(status, status.upper()),
        resource=resource,
        message=result_message(result, tr),
        observed_lines=value_lines(result.get("observed")),
        expected=result.get("expected"),
        waiver=result.get("waiver"),
        nodeid_test=test,
        item=parameter if parameter and parameter != resource else "",
        raw_sources=result.get("sources") or [],
    )


def _shared_expectation(rows: Sequence[ResultRow]) -> tuple[bool, Any]:
    """Return (shared, expected): whether every row that states an expectation states the same one.

    Rows without expected values (typically errors and not_applicable) do not break the sharing.
    """
    first: Any = None
    for row in rows:
        if not row.expected:
            continue
        if first is None:
            first = row.expected
        elif row.expected != first:
            return False, None
    return True, first


def _cite_sources(rows: Sequence[ResultRow], prefix: str) -> list[SourceView]:
    """Fill each row's `sources` and return the control's shared sources (cited by several results).

    A source cited by two or more results of the control is listed once under the control as S1,
    S2, ... (numbered in page order) and its rows carry a reference; a source cited once is shown
    whole in its row.
    """
    citations = Counter(_source_key(s) for row in rows for s in row.raw_sources)
    shared: dict[tuple[str, str, str], SourceView] = {}
    for row in rows:
        cited: list[SourceView | SourceRef] = []
        for source in row.raw_sources:
            key = _source_key(source)
            if citations[key] < 2:
                cited.append(_source_view(source, row.resource))
                continue
            entry = shared.get(key)
            if entry is None:
                entry = _source_view(source, "")
                entry.ref = f"S{len(shared) + 1}"
                entry.anchor = f"{prefix}-{len(shared) + 1}"
                shared[key] = entry
            entry.cited_by += 1
            cited.append(SourceRef(entry.ref, entry.anchor))
        row.sources = cited
    return list(shared.values())


def _controls_view(
    bundle: Mapping[str, Any], warnings: list[str], labels: Mapping[str, str], tr: Translator
) -> tuple[list[dict[str, Any]], set[str]]:
    """Return every control with its result rows grouped and ordered, and the result anchors used.

    Controls are ordered by clause then id; inside each, rows go fail, error, waived, pass,
    not_applicable, then by resource. Results of a control missing from `controls` still get
    a section, built from the results' own title and clause. Count mismatches go to `warnings`.
    """
    controls: dict[str, dict[str, Any]] = {}
    for listed in bundle.get("controls") or []:
        controls[str(listed.get("id"))] = {"spec": listed, "rows": [], "actual": _zero_counts()}
    used_anchors: set[str] = set()
    rank = {status: index for index, status in enumerate(STATUS_ORDER)}
    keyed: list[tuple[int, str, str, Mapping[str, Any]]] = []
    for result in bundle.get("results") or []:
        control_id = str(result.get("control", ""))
        status = str(result.get("status", ""))
        keyed.append((rank.get(status, len(rank)), str(result.get("resource", "")), control_id, result))
        if control_id not in controls:
            warnings.append(f"results of control {control_id!r} have no entry in the controls list")
            controls[control_id] = {
                "spec": {
                    "id": control_id,
                    "clause": result.get("clause", "?"),
                    "title": result.get("title", ""),
                    "severity": result.get("severity", ""),
                },
                "rows": [],
                "actual": _zero_counts(),
            }
    keyed.sort(key=lambda item: (item[0], item[1]))
    for _, resource, control_id, result in keyed:
        anchor = result_anchor(control_id, resource)
        if anchor in used_anchors:
            suffix = 2
            while f"{anchor}-{suffix}" in used_anchors:
                suffix += 1
            anchor = f"{anchor}-{suffix}"
        used_anchors.add(anchor)
        entry = controls[control_id]
        entry["rows"].append(_row(result, anchor, labels, tr))
        status = str(result.get("status", ""))
        entry["actual"][status] = entry["actual"].get(status, 0) + 1

    views = [
        _control_view(control_id, entry, f"s{number}", warnings, tr)
        for number, (control_id, entry) in enumerate(controls.items(), start=1)
    ]
    views.sort(key=lambda view: (clause_sort_key(view["clause"]), view["id"]))
    return views, used_anchors


def _control_view(
    control_id: str, entry: Mapping[str, Any], source_prefix: str, warnings: list[str], tr: Translator
) -> dict[str, Any]:
    """Return one control's section: its spec, counts, grouped rows, shared expectation and sources.

    `source_prefix` makes the ids of the control's shared sources unique in the page (s3-1, s3-2...).
    """
    spec: Mapping[str, Any] = entry["spec"]
    stated = spec.get("counts")
    actual: dict[str, int] = entry["actual"]
    if isinstance(stated, Mapping) and any(stated.get(s, 0) != actual.get(s, 0) for s in actual):
        warnings.append(
            f"control {control_id}: stated counts {dict(stated)} differ from its results {actual}"
        )
    rows: list[ResultRow] = entry["rows"]
    anchor = control_anchor(control_id)
    shared, expected = _shared_expectation(rows)
    if not shared:
        for row in rows:
            row.expected_lines = value_lines(row.expected)
    return {
        "id": control_id,
        "anchor": anchor,
        "clause": str(spec.get("clause", "?")),
        "title": tr.gettext(str(spec.get("title", ""))),
        "severity": str(spec.get("severity", "")),
        "iso27001": list(spec.get("iso27001") or []),
        "pass_condition": tr.gettext(str(spec.get("pass_condition", ""))),
        "clause_text_nl": str(spec.get("clause_text_nl", "")),
        "clause_text_en": str(spec.get("clause_text_en", "")),
        "counts": actual,
        "total": len(rows),
        "tests": sorted({row.nodeid_test for row in rows if row.nodeid_test}),
        "shared_expected": value_lines(expected) if shared else "",
        "per_row_expected": not shared,
        "shared_sources": _cite_sources(rows, source_prefix),
        "expanded": [r for r in rows if r.status not in ("pass", "not_applicable")],
        "passed": [r for r in rows if r.status == "pass"],
        "not_applicable": [r for r in rows if r.status == "not_applicable"],
        "trend": [],
        "mttr_days": None,
    }


def _clauses_view(controls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return per-clause totals (in clause order) with the clause texts, controls and ISO references."""
    clauses: dict[str, dict[str, Any]] = {}
    for control in controls:
        entry = clauses.setdefault(
            control["clause"],
            {
                "clause": control["clause"],
                "text_nl": control["clause_text_nl"],
                "text_en": control["clause_text_en"],
                "controls": [],
                "iso27001": [],
                "counts": _zero_counts(),
            },
        )
        entry["text_nl"] = entry["text_nl"] or control["clause_text_nl"]
        entry["text_en"] = entry["text_en"] or control["clause_text_en"]
        entry["controls"].append(control)
        for reference in control["iso27001"]:
            if reference not in entry["iso27001"]:
                entry["iso27001"].append(reference)
        for status, count in control["counts"].items():
            entry["counts"][status] = entry["counts"].get(status, 0) + count
    for entry in clauses.values():
        entry["total"] = sum(entry["counts"].values())
        entry["iso27001"].sort(key=_iso_sort_key)
    return list(clauses.values())


def _iso_sort_key(reference: str) -> tuple[int | str, ...]:
    """Return a key ordering Annex A references numerically (A.5.15 < A.8.9 < A.8.20)."""
    return tuple(int(part) if part.isdigit() else part for part in reference.split("."))


def _policy_items(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the policy values in force as (name, text) pairs, lists joined by commas for reading."""
    return [
        (str(key), ", ".join(value_text(v) for v in value) if isinstance(value, list) else value_text(value))
        for key, value in policy.items()
    ]


def _tenants(azure: Mapping[str, Any] | None) -> list[str] | None:
    """Return the Azure tenant ids in scope, or None when the bundle does not record them."""
    if not azure:
        return None
    tenants = [str(t) for t in azure.get("tenants") or []]
    for subscription in azure.get("subscriptions") or []:
        tenant = subscription.get("tenant_id") or subscription.get("tenantId")
        if tenant and str(tenant) not in tenants:
            tenants.append(str(tenant))
    return tenants or None


def _scope_counts(
    scope: Mapping[str, Any], controls: Sequence[Mapping[str, Any]], total: int, tr: Translator
) -> list[tuple[str, str, str]]:
    """Return the cover's scope figures as (label, count text, detail text) in the report's language.

    A count the bundle does not record is '' (the cover says so) rather than a guessed 0.
    """
    azure: Mapping[str, Any] | None = scope.get("azure")
    hosts: Mapping[str, Any] | None = scope.get("hosts")
    databases: Mapping[str, Any] | None = scope.get("databases")
    populations: Mapping[str, Any] = scope.get("populations") or {}
    figures: list[tuple[str, str, str]] = []
    tenants = _tenants(azure)
    figures.append(
        (tr.gettext("Azure tenants"), "" if tenants is None else str(len(tenants)), ", ".join(tenants or []))
    )
    if azure:
        subscriptions = azure.get("subscriptions") or []
        names = ", ".join(str(s.get("name") or s.get("id", "")) for s in subscriptions)
        figures.append((tr.gettext("Azure subscriptions"), str(len(subscriptions)), names))
    else:
        figures.append((tr.gettext("Azure subscriptions"), "-", ""))
    if hosts:
        in_error = [str(h) for h in hosts.get("in_error") or []]
        unreadable = (
            tr.ngettext("{n} could not be read", "{n} could not be read", len(in_error))
            + ": "
            + ", ".join(in_error)
            if in_error
            else ""
        )
        figures.append((tr.gettext("Servers (SSH)"), str(len(hosts.get("hosts") or [])), unreadable))
    else:
        figures.append((tr.gettext("Servers (SSH)"), "-", ""))
    endpoint_pops = sorted((name, pop) for name, pop in populations.items() if name.endswith("endpoints"))
    if endpoint_pops:
        count = sum(int(pop.get("count") or 0) for _, pop in endpoint_pops)
        detail = ", ".join(f"{pop.get('count', 0)} {name}" for name, pop in endpoint_pops)
        figures.append((tr.gettext("Endpoints"), str(count), detail))
    else:
        figures.append((tr.gettext("Endpoints"), "-", ""))
    if databases:
        servers = databases.get("servers") or []
        figures.append(
            (
                tr.gettext("Database servers"),
                str(len(servers)),
                ", ".join(str(s.get("name", "")) for s in servers),
            )
        )
        figures.append((tr.gettext("Databases"), str(sum(int(s.get("databases") or 0) for s in servers)), ""))
        applications = databases.get("applications")
        figures.append((tr.gettext("Applications"), "" if applications is None else str(applications), ""))
    else:
        figures.append((tr.gettext("Database servers"), "-", ""))
    figures.append((tr.gettext("Controls"), str(len(controls)), ""))
    figures.append((tr.gettext("Results (control × resource)"), str(total), ""))
    return figures


def populations_view(populations: Mapping[str, Any]) -> dict[str, Any]:
    """Return the cover's population table: one row per population, and the notes that several
    populations share listed once below it (numbered; each row refers to its shared notes).

    A note such as "master is not a user database" is recorded on every database population;
    repeating it under each would bury the notes that matter.
    """
    named = sorted((str(name), pop) for name, pop in populations.items() if isinstance(pop, Mapping))
    holders: dict[str, list[str]] = {}
    for name, pop in named:
        for note in pop.get("notes") or []:
            holders.setdefault(str(note), []).append(name)
    shared = [note for note, names in holders.items() if len(names) > 1]
    numbers = {note: number for number, note in enumerate(shared, start=1)}
    rows = [
        {
            "name": name,
            "count": pop.get("count", ""),
            "out_of_scope": pop.get("out_of_scope"),
            "notes": [str(n) for n in pop.get("notes") or [] if str(n) not in numbers],
            "shared": [numbers[str(n)] for n in pop.get("notes") or [] if str(n) in numbers],
        }
        for name, pop in named
    ]
    return {
        "rows": rows,
        "shared": [{"number": numbers[note], "text": note, "populations": holders[note]} for note in shared],
    }


def _changes_view(changes: Any, anchors: set[str], tr: Translator) -> dict[str, Any] | None:
    """Return the change-since-last-run section, or None when the bundle has no baseline.

    A changed item still present in this report links to its result row. A baseline that was
    found or given but could not be used gives `{"unusable": {"path", "reason"}}`: the report
    names it rather than saying there was none.
    """
    if isinstance(changes, Mapping) and isinstance(changes.get("unusable_baseline"), Mapping):
        unusable = changes["unusable_baseline"]
        return {
            "unusable": {"path": str(unusable.get("path", "")), "reason": str(unusable.get("reason", ""))}
        }
    if not isinstance(changes, Mapping) or not changes.get("baseline"):
        return None
    lists: list[tuple[str, str, list[dict[str, Any]]]] = []
    for kind in CHANGE_KINDS:
        items = []
        for change in changes.get(kind) or []:
            control = str(change.get("control", ""))
            resource = str(change.get("resource", ""))
            anchor = result_anchor(control, resource)
            items.append(
                {
                    "control": control,
                    "control_anchor": control_anchor(control),
                    "resource": resource,
                    "anchor": anchor if anchor in anchors else "",
                    "before": change.get("before"),
                    "after": change.get("after"),
                    "message": result_message(change, tr),
                }
            )
        lists.append((kind, tr.gettext(CHANGE_HEADINGS[kind]), items))
    return {"baseline": changes["baseline"], "lists": lists, "unusable": None}


def _waivers_view(waivers: Any) -> dict[str, Any] | None:
    """Return the cover's waiver card: how many are configured, the blanket ones and the stale ones.

    None when the bundle records no configured waiver. Blanket waivers (scope = control) waive a
    whole control and stale ones match no result: both are what an auditor must see first.
    """
    if not isinstance(waivers, Sequence) or isinstance(waivers, str):
        return None
    entries = [w for w in waivers if isinstance(w, Mapping)]
    if not entries:
        return None
    return {
        "count": len(entries),
        "blanket": [w for w in entries if w.get("scope") == "control"],
        "stale": [w for w in entries if w.get("stale")],
    }


TLS_DISCOVERY_REASONS: dict[str, str] = {
    "on": N_("[azure] scan_discovered_endpoints = true"),
    "off": N_("[azure] scan_discovered_endpoints = false"),
    "auto-public-cloud": N_(
        "[azure] scan_discovered_endpoints = auto: {endpoint} is a Microsoft cloud's Resource Manager"
    ),
    "auto-not-public-cloud": N_(
        "[azure] scan_discovered_endpoints = auto: {endpoint} is not a Microsoft cloud's Resource Manager; "
        "set it to true to scan them"
    ),
}


def _tls_discovery_view(decision: Any, tr: Translator) -> dict[str, Any] | None:
    """Return the cover's line on whether endpoints published by Azure were TLS-scanned, or None.

    None without Azure in scope (nothing is published) or when the bundle does not record it.
    """
    if not isinstance(decision, Mapping) or decision.get("rule") not in TLS_DISCOVERY_RULES:
        return None
    scanned = bool(decision.get("scanned"))
    return {
        "scanned": scanned,
        "status": tr.gettext("TLS-scanned")
        if scanned
        else tr.gettext("NOT TLS-scanned: only the configured [[endpoints]] are"),
        "reason": tr.gettext(
            TLS_DISCOVERY_REASONS[str(decision["rule"])], endpoint=str(decision.get("endpoint") or "")
        ),
    }


def _tickets_view(tickets: Any) -> dict[str, Any] | None:
    """Return the tickets section (actions in a stable order, won't-fix list, errors) or None."""
    if not isinstance(tickets, Mapping):
        return None
    order = {action: index for index, action in enumerate(TICKET_ACTIONS)}
    actions = sorted(
        tickets.get("actions") or [],
        key=lambda a: (
            order.get(str(a.get("action")), len(order)),
            str(a.get("control")),
            str(a.get("scope")),
        ),
    )
    return {
        "mode": str(tickets.get("mode") or "off"),
        "backend": str(tickets.get("backend") or ""),
        "actions": actions,
        "wont_fix": list(tickets.get("wont_fix") or []),
        "errors": [str(e) for e in tickets.get("errors") or []],
    }


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


TREND_CLASSES = {"F": "fail", "E": "error", "W": "waived", "P": "pass", "N": "na", "-": "none"}
"""The sparkline bar class of each night letter of evidence.json's trends."""


def _attach_tickets(controls: Sequence[dict[str, Any]], tickets: Any, hosts: frozenset[str]) -> None:
    """Give each failing row the ticket of tonight's actions that covers it (see ticket_action_for)."""
    actions = list(tickets.get("actions") or []) if isinstance(tickets, Mapping) else []
    if not actions:
        return
    for control in controls:
        for row in control["expanded"]:
            row.ticket = ticket_action_for(actions, control["id"], row.resource, hosts)


def _attach_trends(controls: Sequence[dict[str, Any]], trends: Any) -> dict[str, Any] | None:
    """Give each control its trend bars and mean time to remediate, each failing row its "failing since".

    Returns what the cover says of the trends: their window, or why the history was unavailable;
    None when the run has no archive (no trends at all).
    """
    if not isinstance(trends, Mapping):
        return None
    if "unavailable" in trends:
        return {"unavailable": str(trends["unavailable"])}
    per_control: Mapping[str, Any] = trends.get("controls") or {}
    since = {
        (str(f.get("control")), str(f.get("resource"))): str(f.get("failing_since"))
        for f in trends.get("failing") or []
    }
    for control in controls:
        trend = per_control.get(control["id"]) or {}
        marks = str(trend.get("marks", ""))
        control["trend"] = [TREND_CLASSES.get(mark, "none") for mark in marks]
        control["mttr_days"] = trend.get("mttr_days")
        for row in control["expanded"]:
            found = since.get((control["id"], row.resource))
            row.failing_since = _iso_date(found) if found else None
    return {
        "from": str(trends.get("from", "")),
        "to": str(trends.get("to", "")),
        "nights": trends.get("nights"),
    }


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
    controls, anchors = _controls_view(bundle, warnings, labels, tr)
    trends = _attach_trends(controls, bundle.get("trends"))
    hosts = frozenset(str(h) for h in ((scope.get("hosts") or {}).get("hosts") or []) if isinstance(h, str))
    _attach_tickets(controls, bundle.get("tickets"), hosts)
    actual = _zero_counts()
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
        "policy_items": _policy_items(run.get("policy") or {}),
        "machine": run.get("machine") or {},
        "credential": (azure or {}).get("credential") or "",
        "recording": run.get("recording"),
        "command": run.get("command") or "",
        "azure": azure,
        "tenants": _tenants(azure),
        "hosts": scope.get("hosts"),
        "databases": scope.get("databases"),
        "scope_counts": _scope_counts(scope, controls, total, tr),
        "populations": populations_view(scope.get("populations") or {}),
        "changes": _changes_view(bundle.get("changes"), anchors, tr),
        "waivers": _waivers_view(bundle.get("waivers")),
        "tls_discovery": _tls_discovery_view(scope.get("tls_discovery"), tr),
        "sites": [site for site in scope.get("sites") or [] if isinstance(site, Mapping)],
        "tickets": _tickets_view(bundle.get("tickets")),
        "trends": trends,
        "controls": controls,
        "clauses": _clauses_view(controls),
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
