"""The HTML report: one self-contained page rendered from an evidence bundle alone.

The page never re-collects anything: every figure on it comes from `evidence.json`. It
loads nothing from elsewhere (inline CSS, a little inline JavaScript for filtering, no
URLs), is fully readable without JavaScript and prints with every result expanded. All
bundle values pass through Jinja2 autoescaping, and a Content-Security-Policy allows only
the page's own inline style and script (by hash), so a resource id or message holding
markup can neither run script nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

TEMPLATE_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAME = "report.html.j2"

STATUS_ORDER: tuple[str, ...] = ("fail", "error", "waived", "pass", "not_applicable")
"""Report order of statuses: what needs attention first."""
STATUS_LABELS: dict[str, str] = {
    "fail": "FAIL",
    "error": "ERROR",
    "waived": "WAIVED",
    "pass": "PASS",
    "not_applicable": "N/A",
}
EXPANDED_STATUSES = frozenset({"fail", "error", "waived"})
"""Shown open under each control; passes and not_applicable sit in collapsed <details>."""

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
def _environment() -> Environment:
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


def _row(result: Mapping[str, Any], anchor: str) -> dict[str, Any]:
    """Return the view of one result row: only what the template shows, values still unescaped."""
    status = str(result.get("status", "error"))
    observed = result.get("observed")
    expected = result.get("expected")
    nodeid = str(result.get("nodeid", ""))
    return {
        "anchor": anchor,
        "status": status,
        "label": STATUS_LABELS.get(status, status.upper()),
        "resource": str(result.get("resource", "")),
        "message": str(result.get("message", "")),
        "observed": key_values(observed),
        "observed_raw": "" if observed is None else value_text(observed),
        "expected": key_values(expected),
        "expected_raw": "" if expected is None else value_text(expected),
        "sources": result.get("sources") or [],
        "waiver": result.get("waiver"),
        "nodeid": nodeid,
        "nodeid_test": nodeid.split("[", 1)[0],
        "duration": result.get("duration_seconds"),
    }


def _controls_view(bundle: Mapping[str, Any], warnings: list[str]) -> list[dict[str, Any]]:
    """Return every control with its result rows grouped and ordered, noting count mismatches in warnings.

    Controls are ordered by clause then id; inside each, rows go fail, error, waived, pass,
    not_applicable, then by resource. Results of a control missing from `controls` still get
    a section, built from the results' own title and clause.
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
        entry["rows"].append(_row(result, anchor))
        status = str(result.get("status", ""))
        entry["actual"][status] = entry["actual"].get(status, 0) + 1

    views: list[dict[str, Any]] = []
    for control_id, entry in controls.items():
        spec: Mapping[str, Any] = entry["spec"]
        stated = spec.get("counts")
        actual: dict[str, int] = entry["actual"]
        if isinstance(stated, Mapping) and any(stated.get(s, 0) != actual.get(s, 0) for s in actual):
            warnings.append(
                f"control {control_id}: stated counts {dict(stated)} differ from its results {actual}"
            )
        rows: list[dict[str, Any]] = entry["rows"]
        views.append(
            {
                "id": control_id,
                "anchor": control_anchor(control_id),
                "clause": str(spec.get("clause", "?")),
                "title": str(spec.get("title", "")),
                "severity": str(spec.get("severity", "")),
                "iso27001": list(spec.get("iso27001") or []),
                "pass_condition": str(spec.get("pass_condition", "")),
                "clause_text_nl": str(spec.get("clause_text_nl", "")),
                "clause_text_en": str(spec.get("clause_text_en", "")),
                "counts": actual,
                "total": len(rows),
                "expanded": [r for r in rows if r["status"] not in ("pass", "not_applicable")],
                "passed": [r for r in rows if r["status"] == "pass"],
                "not_applicable": [r for r in rows if r["status"] == "not_applicable"],
            }
        )
    views.sort(key=lambda view: (clause_sort_key(view["clause"]), view["id"]))
    return views


def _clauses_view(controls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return per-clause totals (in clause order) with the controls that prove each clause."""
    clauses: dict[str, dict[str, Any]] = {}
    for control in controls:
        entry = clauses.setdefault(
            control["clause"],
            {
                "clause": control["clause"],
                "text_en": control["clause_text_en"],
                "controls": [],
                "counts": _zero_counts(),
            },
        )
        entry["controls"].append(control)
        for status, count in control["counts"].items():
            entry["counts"][status] = entry["counts"].get(status, 0) + count
    for entry in clauses.values():
        entry["total"] = sum(entry["counts"].values())
    return list(clauses.values())


def _policy_items(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the policy values in force as (name, text) pairs, lists joined by commas for reading."""
    return [
        (str(key), ", ".join(value_text(v) for v in value) if isinstance(value, list) else value_text(value))
        for key, value in policy.items()
    ]


def build_view(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Return the template's whole context, derived from the bundle alone (no collection, no I/O).

    Kept separate from rendering so the ordering and grouping can be tested without HTML.
    """
    run: Mapping[str, Any] = bundle.get("run") or {}
    warnings: list[str] = []
    controls = _controls_view(bundle, warnings)
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
    return {
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
        "recording": run.get("recording"),
        "command": run.get("command") or "",
        "azure": (run.get("scope") or {}).get("azure"),
        "populations": sorted(((run.get("scope") or {}).get("populations") or {}).items()),
        "controls": controls,
        "clauses": _clauses_view(controls),
        "counts": actual,
        "total": total,
        "statuses": STATUS_ORDER,
        "labels": STATUS_LABELS,
        "warnings": warnings,
    }


def render_html(bundle: Mapping[str, Any]) -> str:
    """Return the complete, self-contained HTML report of an evidence bundle.

    Rendered from the bundle alone so the report always shows exactly what evidence.json
    records; every bundle value is HTML-escaped.
    """
    return _environment().get_template(TEMPLATE_NAME).render(build_view(bundle))


def write_html(bundle: Mapping[str, Any], path: Path) -> None:
    """Render the report and write it to `path` atomically (a reader never sees a half-written file)."""
    text = render_html(bundle)
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
