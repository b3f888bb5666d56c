"""The HTML report's control sections: each control with its result rows, shared expectation and
sources, grouped by status; the per-clause summary; and tonight's tickets and the history's trends
attached to the rows they concern.

An expectation shared by every result of a control is shown once on the control, a source cited
by several results is listed once per control, and a row's own call abbreviates the row's
resource id: the page stays small at 20,000 results.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reports.evidence import N_
from reports.html.formatting import clause_sort_key, control_anchor, result_anchor, value_lines
from reports.i18n.translation import Translator, result_message
from reports.tickets.problems import ticket_action_for

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


def zero_counts() -> dict[str, int]:
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


def controls_view(
    bundle: Mapping[str, Any], warnings: list[str], labels: Mapping[str, str], tr: Translator
) -> tuple[list[dict[str, Any]], set[str]]:
    """Return every control with its result rows grouped and ordered, and the result anchors used.

    Controls are ordered by clause then id; inside each, rows go fail, error, waived, pass,
    not_applicable, then by resource. Results of a control missing from `controls` still get
    a section, built from the results' own title and clause. Count mismatches go to `warnings`.
    """
    controls: dict[str, dict[str, Any]] = {}
    for listed in bundle.get("controls") or []:
        controls[str(listed.get("id"))] = {"spec": listed, "rows": [], "actual": zero_counts()}
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
                "actual": zero_counts(),
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


def clauses_view(controls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
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
                "counts": zero_counts(),
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


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


TREND_CLASSES = {"F": "fail", "E": "error", "W": "waived", "P": "pass", "N": "na", "-": "none"}
"""The sparkline bar class of each night letter of evidence.json's trends."""


def attach_tickets(controls: Sequence[dict[str, Any]], tickets: Any, hosts: frozenset[str]) -> None:
    """Give each failing row the ticket of tonight's actions that covers it (see ticket_action_for)."""
    actions = list(tickets.get("actions") or []) if isinstance(tickets, Mapping) else []
    if not actions:
        return
    for control in controls:
        for row in control["expanded"]:
            row.ticket = ticket_action_for(actions, control["id"], row.resource, hosts)


def attach_trends(controls: Sequence[dict[str, Any]], trends: Any) -> dict[str, Any] | None:
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
