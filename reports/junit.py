"""JUnit XML from the evidence bundle, for the test tabs of Jenkins, GitLab and Azure DevOps.

One ``<testsuite>`` per control and one ``<testcase>`` per result, with names that stay the same
night after night so CI history lines up: ``classname`` is the control id (``12e.azure-sql-tde``:
Jenkins shows clause ``12e`` as the package) and ``name`` is the resource id. ``fail`` becomes
``<failure>``, ``error`` becomes ``<error>``, ``waived`` and ``not_applicable`` become
``<skipped message=...>``. Clause, severity and the audit status are ``<properties>`` of each
testcase (read by Jenkins and GitLab; others ignore them) and of each suite.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.i18n.translation import Language, Translator, result_message, translator

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry at all, not even escaped."""


def xml_text(value: object) -> str:
    """Return `value` as text XML 1.0 can hold: control characters become U+FFFD.

    ElementTree escapes markup (<, &, quotes) itself but writes control characters through,
    which makes the file unreadable to every CI parser.
    """
    return _NOT_XML.sub("\ufffd", str(value))


def _add_properties(parent: ET.Element, properties: list[tuple[str, str]]) -> None:
    holder = ET.SubElement(parent, "properties")
    for name, value in properties:
        ET.SubElement(holder, "property", {"name": name, "value": xml_text(value)})


def _details(result: Mapping[str, Any], tr: Translator) -> str:
    lines = [result_message(result, tr)]
    for key in ("observed", "expected"):
        if result.get(key):
            lines.append(f"{key}: {json.dumps(result[key], sort_keys=True, ensure_ascii=False)}")
    for source in result.get("sources") or []:
        lines.append(
            f"source: {source.get('collector')} {source.get('call')} at {source.get('collected_at')} "
            f"sha256 {source.get('sha256')}"
        )
    return xml_text("\n".join(lines))


def _testcase(suite: ET.Element, result: Mapping[str, Any], tr: Translator) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": xml_text(result["control"]),
            "name": xml_text(result["resource"]),
            "time": f"{float(result.get('duration_seconds') or 0):.6f}",
        },
    )
    _add_properties(
        case,
        [
            ("clause", str(result["clause"])),
            ("severity", str(result["severity"])),
            ("status", str(result["status"])),
        ],
    )
    status = result["status"]
    text = result_message(result, tr)
    message = xml_text(text)
    if status == "fail":
        ET.SubElement(case, "failure", {"message": message, "type": "fail"}).text = _details(result, tr)
    elif status == "error":
        ET.SubElement(case, "error", {"message": message, "type": "error"}).text = _details(result, tr)
    elif status == "waived":
        waiver = result.get("waiver") or {}
        note = tr.gettext(
            "waived by {approver} until {expires}: {justification} (finding: {finding})",
            approver=str(waiver.get("approved_by")),
            expires=str(waiver.get("expires")),
            justification=str(waiver.get("justification")),
            finding=text,
        )
        ET.SubElement(case, "skipped", {"message": xml_text(note), "type": "waived"})
    elif status == "not_applicable":
        note = tr.gettext("not applicable: {reason}", reason=text)
        ET.SubElement(case, "skipped", {"message": xml_text(note), "type": "not_applicable"})


def build_junit(bundle: Mapping[str, Any], lang: Language = "en") -> ET.Element:
    """Return the `<testsuites>` element of a bundle: a suite per control, a testcase per result,
    with the messages in `lang`."""
    tr = translator(lang)
    run = bundle.get("run") or {}
    results = list(bundle.get("results") or [])
    controls = {c["id"]: c for c in bundle.get("controls") or []}
    by_control: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        by_control.setdefault(str(result["control"]), []).append(result)

    def counts(items: list[Mapping[str, Any]]) -> dict[str, str]:
        statuses = [r["status"] for r in items]
        return {
            "tests": str(len(items)),
            "failures": str(statuses.count("fail")),
            "errors": str(statuses.count("error")),
            "skipped": str(statuses.count("waived") + statuses.count("not_applicable")),
            "time": f"{sum(float(r.get('duration_seconds') or 0) for r in items):.6f}",
        }

    root = ET.Element("testsuites", {"name": "statement-audit", **counts(results)})
    hostname = xml_text((run.get("machine") or {}).get("hostname", ""))
    for control_id in sorted(by_control):
        items = sorted(by_control[control_id], key=lambda r: str(r["resource"]))
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": xml_text(control_id),
                **counts(items),
                "timestamp": xml_text(run.get("started_at", "")),
                "hostname": hostname,
            },
        )
        spec = controls.get(control_id, {})
        _add_properties(
            suite,
            [
                ("clause", str(spec.get("clause", items[0]["clause"]))),
                ("severity", str(spec.get("severity", items[0]["severity"]))),
                ("title", str(spec.get("title", items[0].get("title", "")))),
                ("iso27001", ", ".join(spec.get("iso27001", []))),
                ("tool_version", str((run.get("tool") or {}).get("version", ""))),
                ("git_commit", str((run.get("tool") or {}).get("git_commit") or "")),
            ],
        )
        for result in items:
            _testcase(suite, result, tr)
    return root


def write_junit(bundle: Mapping[str, Any], path: Path, lang: Language = "en") -> Path:
    """Write the bundle's JUnit XML (UTF-8, with declaration, messages in `lang`) to `path`; return the path."""
    tree = ET.ElementTree(build_junit(bundle, lang))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
