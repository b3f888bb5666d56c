"""OSCAL 1.0.4 assessment-results (JSON) from the evidence bundle, for GRC tools and auditors.

Mapping (one document per run, one ``result``):

- The Data Pro Statement is the "catalog": each clause is an OSCAL control ``dps-<clause>``
  (``dps-12e``), each auditor control an assessment objective ``dps-<control id>``
  (``dps-12e.azure-sql-tde``). The prefix is needed because OSCAL tokens cannot start with a
  digit. ``reviewed-controls`` lists both.
- ``import-ap`` is required by the model but no OSCAL assessment plan is published: its href is
  the placeholder ``urn:statement-auditor:assessment-plan:data-pro-statement`` (the plan is the
  statement plus the control catalog, CONTROLS.md), said so in its remarks.
- One ``observation`` per control x resource: ``methods: ["TEST"]``, ``collected`` (the latest
  source time of the result, else the run's end), the resource as an ``inventory-item``
  subject, the audit status, observed and expected values, and one ``relevant-evidence`` per
  source whose href points at a ``back-matter`` resource that carries the source's sha256 in
  ``rlinks[].hashes`` (the only place the schema has for hashes).
- One ``finding`` per control with target ``objective-id`` and state ``satisfied`` (every result
  pass or waived: reason ``pass``; nothing in scope: reason ``other``, said in the remarks) or
  ``not-satisfied`` (any fail: reason ``fail``; errors only: reason ``other``, "could not be
  evaluated"). An error is never satisfied.
- UUIDs are uuid5 of stable ids (control, resource, source hash), so two nights' documents diff
  by what changed; only the document and result UUIDs follow the run's start time.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.evidence import write_json

OSCAL_VERSION = "1.0.4"
ID_PREFIX = "dps-"
PROPERTY_NS = "urn:statement-auditor:oscal"
PLACEHOLDER_PLAN = "urn:statement-auditor:assessment-plan:data-pro-statement"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, PROPERTY_NS)
_URL = re.compile(r"https?://\S+")
_WHITESPACE = re.compile(r"\s+")


def stable_uuid(*parts: str) -> str:
    """Return a uuid5 of the joined parts: the same ids give the same UUID every night."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join(parts)))


def oscal_token(identifier: str) -> str:
    """Return an auditor id (control or clause) as an OSCAL token (`12e` -> `dps-12e`)."""
    return ID_PREFIX + re.sub(r"[^A-Za-z0-9._-]", "_", identifier)


def _prop(name: str, value: object) -> dict[str, str] | None:
    # OSCAL property values are single-line, without leading/trailing blanks.
    text = _WHITESPACE.sub(" ", str(value)).strip()
    return {"name": name, "ns": PROPERTY_NS, "value": text} if text else None


def _props(*pairs: tuple[str, object]) -> list[dict[str, str]]:
    return [p for p in (_prop(name, value) for name, value in pairs) if p is not None]


def _source_resource(source: Mapping[str, Any]) -> dict[str, Any]:
    call = str(source.get("call", ""))
    url = _URL.search(call)
    return {
        "uuid": stable_uuid("source", str(source["sha256"]), call),
        "title": f"{source.get('collector')}: {call}".strip(),
        "props": _props(
            ("collector", source.get("collector", "")),
            ("api-version", source.get("api_version") or ""),
            ("response-status", "" if source.get("status") is None else source["status"]),
        ),
        "rlinks": [
            {
                # The call's URL where it has one; otherwise the bundle that cites the source.
                "href": url.group(0) if url else "evidence.json",
                "hashes": [{"algorithm": "SHA-256", "value": str(source["sha256"])}],
            }
        ],
        "remarks": "sha256 of the raw response or output as collected; the raw bytes are kept in "
        "the run's recording when the run was recorded.",
    }


def _observation(
    result: Mapping[str, Any], run: Mapping[str, Any], tool_uuid: str, resources: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    control, resource, status = str(result["control"]), str(result["resource"]), str(result["status"])
    sources = list(result.get("sources") or [])
    evidence = []
    for source in sources:
        entry = _source_resource(source)
        resources.setdefault(entry["uuid"], entry)
        evidence.append(
            {
                "href": "#" + entry["uuid"],
                "description": f"{source.get('collector')} {source.get('call')} at {source.get('collected_at')}",
                "props": _props(("sha256", source["sha256"])),
            }
        )
    collected = max((str(s["collected_at"]) for s in sources), default=str(run["finished_at"]))
    observation: dict[str, Any] = {
        "uuid": stable_uuid("observation", control, resource),
        "title": f"{control} on {resource}",
        "description": str(result.get("message") or status),
        "props": _props(
            ("audit-status", status),
            ("control", control),
            ("resource", resource),
        ),
        "methods": ["TEST"],
        "origins": [{"actors": [{"type": "tool", "actor-uuid": tool_uuid}]}],
        "collected": collected,
        "remarks": "observed: "
        + json.dumps(result.get("observed") or {}, sort_keys=True, ensure_ascii=False)
        + "\nexpected: "
        + json.dumps(result.get("expected") or {}, sort_keys=True, ensure_ascii=False),
    }
    if status != "not_applicable":
        observation["subjects"] = [
            {"subject-uuid": stable_uuid("resource", resource), "type": "inventory-item", "title": resource}
        ]
    if evidence:
        observation["relevant-evidence"] = evidence
    waiver = result.get("waiver")
    if waiver:
        observation["remarks"] += (
            f"\nwaiver: approved by {waiver.get('approved_by')} until {waiver.get('expires')}"
            f" ({'expired' if waiver.get('expired') else 'valid'}): {waiver.get('justification')}"
        )
    return observation


def _status(statuses: list[str]) -> tuple[str, str, str]:
    """Return (state, reason, remarks) of a control from its results' statuses."""
    if "fail" in statuses or "error" in statuses:
        reason = "fail" if "fail" in statuses else "other"
        note = f"{statuses.count('fail')} failed, {statuses.count('error')} could not be evaluated (error)"
        return "not-satisfied", reason, note
    if not statuses or all(s == "not_applicable" for s in statuses):
        return (
            "satisfied",
            "other",
            "not applicable: nothing in scope for this control (no resource evaluated)",
        )
    note = f"{statuses.count('pass')} passed, {statuses.count('waived')} waived under a valid waiver"
    return "satisfied", "pass", note


def _finding(control: Mapping[str, Any], observations: list[str], statuses: list[str]) -> dict[str, Any]:
    state, reason, note = _status(statuses)
    control_id = str(control["id"])
    return {
        "uuid": stable_uuid("finding", control_id),
        "title": f"{control_id}: {control.get('title', '')}".strip(),
        "description": str(control.get("pass_condition") or control.get("title") or control_id),
        "props": _props(
            ("control", control_id),
            ("clause", control.get("clause", "")),
            ("severity", control.get("severity", "")),
            *(("iso27001", ref) for ref in control.get("iso27001", [])),
        ),
        "target": {
            "type": "objective-id",
            "target-id": oscal_token(control_id),
            "title": str(control.get("title") or control_id),
            "status": {"state": state, "reason": reason, "remarks": note},
        },
        **({"related-observations": [{"observation-uuid": u} for u in observations]} if observations else {}),
        "remarks": f"clause {control.get('clause')} (nl): {control.get('clause_text_nl', '')}\n"
        f"clause (en): {control.get('clause_text_en', '')}",
    }


def build_assessment_results(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Return the OSCAL 1.0.4 assessment-results document of a bundle (see the module docstring).

    Built from the bundle alone, so it states exactly what evidence.json records.
    """
    run = bundle["run"]
    tool = run.get("tool") or {}
    started, finished = str(run["started_at"]), str(run["finished_at"])
    tool_uuid = stable_uuid("tool", str(tool.get("name", "statement-auditor")))
    results = sorted(bundle.get("results") or [], key=lambda r: (str(r["control"]), str(r["resource"])))
    controls = sorted(bundle.get("controls") or [], key=lambda c: str(c["id"]))
    resources: dict[str, dict[str, Any]] = {}
    observations: list[dict[str, Any]] = []
    by_control: dict[str, list[str]] = {}
    seen: set[str] = set()
    statuses: dict[str, list[str]] = {}
    for result in results:
        # Every status counts for the finding, also a duplicate item's (a teardown error).
        statuses.setdefault(str(result["control"]), []).append(str(result["status"]))
        observation = _observation(result, run, tool_uuid, resources)
        if observation["uuid"] in seen:
            continue
        seen.add(observation["uuid"])
        observations.append(observation)
        by_control.setdefault(str(result["control"]), []).append(observation["uuid"])
    inventory = {
        str(r["resource"]): stable_uuid("resource", str(r["resource"]))
        for r in results
        if r["status"] != "not_applicable"
    }
    findings = [
        _finding(control, by_control.get(str(control["id"]), []), statuses.get(str(control["id"]), []))
        for control in controls
    ]
    clauses = sorted({str(c["clause"]) for c in controls})
    result_doc: dict[str, Any] = {
        "uuid": stable_uuid("result", started),
        "title": f"Data Pro Statement audit run {started}",
        "description": "Every control of the statement evaluated over every resource in scope by the "
        "statement-auditor; statuses pass, fail, error (could not evaluate), waived and "
        "not_applicable as recorded in evidence.json.",
        "start": started,
        "end": finished,
        "props": _props(
            ("run-date", run.get("run_date", "")),
            ("mode", run.get("mode", "")),
            ("config-sha256", (run.get("config") or {}).get("sha256", "")),
            ("recording-sha256", (run.get("recording") or {}).get("sha256", "")),
            ("executor", (run.get("machine") or {}).get("user", "")),
            ("vantage-point", (run.get("machine") or {}).get("fqdn", "")),
        ),
        "local-definitions": {
            "components": [
                {
                    "uuid": tool_uuid,
                    "type": "software",
                    "title": f"{tool.get('name', 'statement-auditor')} {tool.get('version', '')}".strip(),
                    "description": "The automated auditor that collected the facts and judged the controls.",
                    "props": _props(
                        ("version", tool.get("version", "")), ("git-commit", tool.get("git_commit") or "")
                    ),
                    "status": {"state": "operational"},
                }
            ],
        },
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": oscal_token(c)} for c in clauses]}
                if clauses
                else {"include-all": {}}
            ],
        },
    }
    if controls:
        result_doc["reviewed-controls"]["control-objective-selections"] = [
            {"include-objectives": [{"objective-id": oscal_token(str(c["id"]))} for c in controls]}
        ]
    if inventory:
        result_doc["local-definitions"]["inventory-items"] = [
            {
                "uuid": item_uuid,
                "description": resource,
                "props": _props(("asset-id", resource)),
            }
            for resource, item_uuid in sorted(inventory.items())
        ]
    if observations:
        result_doc["observations"] = observations
    if findings:
        result_doc["findings"] = findings
    document: dict[str, Any] = {
        "uuid": stable_uuid("assessment-results", started),
        "metadata": {
            "title": f"Data Pro Statement: assessment results {started}",
            "last-modified": finished,
            "version": started,
            "oscal-version": OSCAL_VERSION,
            "props": _props(("tool", tool.get("name", "")), ("tool-version", tool.get("version", ""))),
        },
        "import-ap": {
            "href": PLACEHOLDER_PLAN,
            "remarks": "Placeholder: no OSCAL assessment plan is published. The plan is the Data Pro "
            "Statement and the auditor's control catalog (CONTROLS.md).",
        },
        "results": [result_doc],
    }
    if resources:
        document["back-matter"] = {"resources": [resources[k] for k in sorted(resources)]}
    pruned = _without_empty_lists(document)
    assert isinstance(pruned, dict)
    return {"assessment-results": pruned}


def _without_empty_lists(value: Any) -> Any:
    """Return `value` without keys holding empty lists: OSCAL arrays, when present, have minItems 1."""
    if isinstance(value, dict):
        return {k: _without_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [_without_empty_lists(v) for v in value]
    return value


def write_oscal(bundle: Mapping[str, Any], path: Path) -> Path:
    """Write the bundle's OSCAL assessment-results JSON to `path` (sorted keys); return the path."""
    write_json(path, build_assessment_results(bundle))
    return path
