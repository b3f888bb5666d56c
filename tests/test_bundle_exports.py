"""Exports of the evidence bundle (JUnit, OSCAL) and the change since the previous night."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.validators import extend

from reports.bundle import write_bundle
from reports.changes import archive_previous, compare, find_baseline, run_folder_name
from reports.junit import build_junit, write_junit
from reports.manifest import MANIFEST_NAME, SIGNING_KEY_ENV, verify_bundle, write_manifest
from reports.oscal import build_assessment_results, oscal_token, write_oscal
from tests.audit_runs import ROOT, run_audit

FIXTURES = Path(__file__).with_name("fixtures")
SAMPLE = FIXTURES / "evidence_sample.json"
OSCAL_SCHEMA = FIXTURES / "oscal" / "oscal_assessment-results_schema.json"
EVIDENCE_SCHEMA = ROOT / "reports" / "evidence.schema.json"
HOSTILE = "<img src=x onerror=alert(1)> </script><script>alert(2)</script> & \"q\" 'a'"


def sample() -> dict[str, Any]:
    """Return a fresh copy of the sample bundle (tests mutate it)."""
    bundle: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return bundle


def result(control: str, resource: str, status: str, message: str = "m") -> dict[str, Any]:
    """Return a minimal result record as evidence.json holds it."""
    return {"control": control, "resource": resource, "status": status, "message": message}


def _unicode_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # NIST's schema uses \p{L} / \p{N} (OSCAL tokens), which Python's re lacks: same classes, re syntax.
    if not validator.is_type(instance, "string"):
        return
    translated = pattern.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")
    if not re.search(translated, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def oscal_validator() -> Any:
    """Return a draft-07 validator of NIST's OSCAL 1.0.4 assessment-results schema (vendored copy)."""
    schema = json.loads(OSCAL_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    validator_class = extend(Draft7Validator, {"pattern": _unicode_pattern})
    return validator_class(schema, format_checker=FormatChecker())


def oscal_errors(document: dict[str, Any]) -> list[str]:
    """Return the schema violations of an OSCAL document (empty when valid)."""
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in oscal_validator().iter_errors(document)]


def evidence_validator() -> Draft202012Validator:
    """Return the validator of evidence.json."""
    return Draft202012Validator(
        json.loads(EVIDENCE_SCHEMA.read_text(encoding="utf-8")), format_checker=FormatChecker()
    )


# -- JUnit --------------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_result_named_by_control_and_resource(tmp_path: Path) -> None:
    bundle = sample()
    path = write_junit(bundle, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases = root.findall("testsuite/testcase")
    assert sorted((c.get("classname"), c.get("name")) for c in cases) == sorted(
        (r["control"], r["resource"]) for r in bundle["results"]
    )
    assert root.get("tests") == str(len(bundle["results"]))
    statuses = [r["status"] for r in bundle["results"]]
    assert root.get("failures") == str(statuses.count("fail"))
    assert root.get("errors") == str(statuses.count("error"))
    assert root.get("skipped") == str(statuses.count("waived") + statuses.count("not_applicable"))
    for suite in root.findall("testsuite"):
        assert {c.get("classname") for c in suite.findall("testcase")} == {suite.get("name")}
        assert suite.get("tests") == str(len(suite.findall("testcase")))


def test_junit_maps_each_status_to_its_element(tmp_path: Path) -> None:
    bundle = sample()
    root = ET.parse(write_junit(bundle, tmp_path / "junit.xml")).getroot()
    by_key = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    seen = set()
    for record in bundle["results"]:
        case = by_key[(record["control"], record["resource"])]
        children = [child.tag for child in case if child.tag != "properties"]
        expected = {"pass": [], "fail": ["failure"], "error": ["error"], "waived": ["skipped"]}
        expected["not_applicable"] = ["skipped"]
        assert children == expected[record["status"]], record["status"]
        properties = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
        assert properties == {
            "clause": record["clause"],
            "severity": record["severity"],
            "status": record["status"],
        }
        if record["status"] in ("fail", "error"):
            outcome = case.find(children[0])
            assert outcome is not None
            assert outcome.get("message") == record["message"]
            assert record["message"] in (outcome.text or "")
        if record["status"] == "waived":
            skipped = case.find("skipped")
            assert skipped is not None
            assert record["waiver"]["approved_by"] in (skipped.get("message") or "")
            assert record["waiver"]["expires"] in (skipped.get("message") or "")
        if record["status"] == "not_applicable":
            skipped = case.find("skipped")
            assert skipped is not None
            assert (skipped.get("message") or "").startswith("not applicable: ")
        seen.add(record["status"])
    assert seen == {"pass", "fail", "error", "waived", "not_applicable"}


def test_junit_escapes_markup_and_drops_characters_xml_cannot_hold(tmp_path: Path) -> None:
    bundle = sample()
    failing = next(r for r in bundle["results"] if r["status"] == "fail")
    failing["resource"] = "/vm/" + HOSTILE
    failing["message"] = HOSTILE + " bell\x07 nul\x00 esc\x1b"
    path = write_junit(bundle, tmp_path / "junit.xml")
    raw = path.read_text(encoding="utf-8")
    assert "<img" not in raw
    assert "<script>" not in raw
    case = next(c for c in ET.parse(path).getroot().iter("testcase") if c.get("name") == "/vm/" + HOSTILE)
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == HOSTILE + " bell\ufffd nul\ufffd esc\ufffd"


def test_junit_names_are_stable_night_after_night() -> None:
    first = sample()
    second = sample()
    second["run"]["started_at"] = "2026-11-30T01:00:00Z"
    for record in second["results"]:
        record["message"] = "another night: " + record["message"]
        record["duration_seconds"] = 1.5
    second["results"].reverse()

    def names(bundle: dict[str, Any]) -> list[tuple[str | None, str | None]]:
        return [(c.get("classname"), c.get("name")) for c in build_junit(bundle).iter("testcase")]

    assert names(first) == names(second)


# -- OSCAL --------------------------------------------------------------------------------------


def test_oscal_of_the_sample_bundle_validates_against_nists_schema(tmp_path: Path) -> None:
    path = write_oscal(sample(), tmp_path / "oscal.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert oscal_errors(document) == []
    assert document["assessment-results"]["metadata"]["oscal-version"] == "1.0.4"


def test_oscal_validator_rejects_what_the_schema_forbids() -> None:
    document = build_assessment_results(sample())
    observations = document["assessment-results"]["results"][0]["observations"]
    broken = copy.deepcopy(document)
    del broken["assessment-results"]["results"][0]["observations"][0]["collected"]
    assert oscal_errors(broken)
    broken = copy.deepcopy(document)
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["target-id"] = "12e.azure-sql-tde"
    assert oscal_errors(broken), "a token must not start with a digit"
    assert observations, "the sample has observations"


def test_oscal_has_an_observation_per_result_with_subject_time_and_hashed_evidence() -> None:
    bundle = sample()
    document = build_assessment_results(bundle)["assessment-results"]
    run = document["results"][0]
    observations = {(prop_value(o, "control"), prop_value(o, "resource")): o for o in run["observations"]}
    assert set(observations) == {(r["control"], r["resource"]) for r in bundle["results"]}
    back_matter = {r["uuid"]: r for r in document["back-matter"]["resources"]}
    items = {i["uuid"]: i for i in run["local-definitions"]["inventory-items"]}
    for record in bundle["results"]:
        observation = observations[(record["control"], record["resource"])]
        assert observation["methods"] == ["TEST"]
        assert prop_value(observation, "audit-status") == record["status"]
        if record["sources"]:
            assert observation["collected"] == max(s["collected_at"] for s in record["sources"])
        else:
            assert observation["collected"] == bundle["run"]["finished_at"]
        if record["status"] != "not_applicable":
            (subject,) = observation["subjects"]
            assert items[subject["subject-uuid"]]["description"] == record["resource"]
        hashes = set()
        for evidence in observation.get("relevant-evidence", []):
            resource = back_matter[evidence["href"].removeprefix("#")]
            hashes |= {h["value"] for link in resource["rlinks"] for h in link["hashes"]}
        assert hashes == {s["sha256"] for s in record["sources"]}


def prop_value(node: dict[str, Any], name: str) -> str | None:
    """Return the value of the first property `name` of an OSCAL object."""
    return next((p["value"] for p in node.get("props", []) if p["name"] == name), None)


@pytest.mark.parametrize(
    ("statuses", "state", "reason"),
    [
        (["pass", "pass"], "satisfied", "pass"),
        (["pass", "waived"], "satisfied", "pass"),
        (["pass", "fail"], "not-satisfied", "fail"),
        (["pass", "error"], "not-satisfied", "other"),
        (["error", "fail"], "not-satisfied", "fail"),
        (["not_applicable"], "satisfied", "other"),
    ],
)
def test_oscal_finding_per_control_states_whether_it_is_satisfied(
    statuses: list[str], state: str, reason: str
) -> None:
    bundle = sample()
    template = next(r for r in bundle["results"] if r["control"] == "12e.azure-sql-tde")
    bundle["results"] = [
        {**copy.deepcopy(template), "resource": f"/r/{i}", "status": s, "waiver": None}
        for i, s in enumerate(statuses)
    ]
    bundle["controls"] = [c for c in bundle["controls"] if c["id"] == "12e.azure-sql-tde"]
    document = build_assessment_results(bundle)
    assert oscal_errors(document) == []
    (finding,) = document["assessment-results"]["results"][0]["findings"]
    assert finding["target"]["type"] == "objective-id"
    assert finding["target"]["target-id"] == oscal_token("12e.azure-sql-tde") == "dps-12e.azure-sql-tde"
    assert finding["target"]["status"]["state"] == state
    assert finding["target"]["status"]["reason"] == reason
    assert len(finding["related-observations"]) == len(statuses)


def test_oscal_uuids_are_the_same_on_another_night() -> None:
    first = build_assessment_results(sample())["assessment-results"]
    later = sample()
    later["run"]["started_at"] = "2026-12-01T01:00:00Z"
    later["run"]["finished_at"] = "2026-12-01T01:05:00Z"
    second = build_assessment_results(later)["assessment-results"]

    def uuids(document: dict[str, Any]) -> dict[str, list[str]]:
        run = document["results"][0]
        return {
            "observations": [o["uuid"] for o in run["observations"]],
            "findings": [f["uuid"] for f in run["findings"]],
            "items": [i["uuid"] for i in run["local-definitions"]["inventory-items"]],
            "evidence": [r["uuid"] for r in document["back-matter"]["resources"]],
        }

    assert uuids(first) == uuids(second)
    assert first["uuid"] != second["uuid"], "each night is its own document"


# -- change since the baseline ------------------------------------------------------------------


def two_nights(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """Return (previous, current, baseline folder) covering every kind of change once."""
    previous = {
        "run": {"started_at": "2026-11-28T01:00:00Z"},
        "results": [
            result("12e.tde", "/db/steady-pass", "pass"),
            result("12e.tde", "/db/steady-fail", "fail"),
            result("12e.tde", "/db/breaks", "pass"),
            result("12e.tde", "/db/breaks-with-error", "waived"),
            result("12e.tde", "/db/gets-fixed", "fail", "TDE is Disabled"),
            result("12e.tde", "/db/gets-waived", "error"),
            result("12e.tde", "/db/goes-out-of-scope", "fail"),
            result("12e.tde", "/db/dropped", "fail", "was failing"),
        ],
    }
    current = {
        "run": {"started_at": "2026-11-29T01:00:00Z"},
        "results": [
            result("12e.tde", "/db/steady-pass", "pass"),
            result("12e.tde", "/db/steady-fail", "fail"),
            result("12e.tde", "/db/breaks", "fail", "TDE is Disabled"),
            result("12e.tde", "/db/breaks-with-error", "error", "HTTP 403"),
            result("12e.tde", "/db/gets-fixed", "pass", "TDE is Enabled"),
            result("12e.tde", "/db/gets-waived", "waived"),
            result("12e.tde", "/db/goes-out-of-scope", "not_applicable"),
            result("12e.tde", "/db/new-and-failing", "fail", "new"),
            result("12e.tde", "/db/new-and-passing", "pass"),
        ],
    }
    folder = tmp_path / "archive" / "20261128T010000Z"
    folder.mkdir(parents=True)
    (folder / "evidence.json").write_text(json.dumps(previous), encoding="utf-8")
    return previous, current, folder


def test_changes_list_new_failures_fixed_new_and_vanished_resources(tmp_path: Path) -> None:
    previous, current, folder = two_nights(tmp_path)
    changes = compare(previous, current, folder)

    def keys(kind: str) -> list[tuple[str, str | None, str | None]]:
        return [(c["resource"], c["before"], c["after"]) for c in changes[kind]]

    assert keys("new_failures") == [
        ("/db/breaks", "pass", "fail"),
        ("/db/breaks-with-error", "waived", "error"),
        ("/db/new-and-failing", None, "fail"),
    ]
    assert keys("fixed") == [("/db/gets-fixed", "fail", "pass"), ("/db/gets-waived", "error", "waived")]
    assert keys("new_resources") == [
        ("/db/new-and-failing", None, "fail"),
        ("/db/new-and-passing", None, "pass"),
    ]
    assert keys("vanished_resources") == [("/db/dropped", "fail", None)]
    assert changes["vanished_resources"][0]["message"] == "was failing"
    assert changes["fixed"][0]["message"] == "TDE is Enabled"
    assert {c["control"] for kind in ("new_failures", "fixed") for c in changes[kind]} == {"12e.tde"}
    assert changes["baseline"] == {
        "started_at": "2026-11-28T01:00:00Z",
        "path": str(folder),
        "evidence_sha256": hashlib.sha256((folder / "evidence.json").read_bytes()).hexdigest(),
    }


def test_identical_nights_have_no_changes(tmp_path: Path) -> None:
    previous, _, folder = two_nights(tmp_path)
    changes = compare(previous, copy.deepcopy(previous), folder)
    assert [changes[k] for k in ("new_failures", "fixed", "new_resources", "vanished_resources")] == [
        [],
        [],
        [],
        [],
    ]


def test_changes_fit_the_evidence_schema(tmp_path: Path) -> None:
    previous, current, folder = two_nights(tmp_path)
    bundle = sample()
    bundle["changes"] = compare(previous, current, folder)
    bundle["tickets"] = {
        "mode": "dry-run",
        "backend": "github",
        "actions": [
            {
                "action": "create",
                "fingerprint": "ab12",
                "control": "12e.tde",
                "scope": "sub-1",
                "ticket": None,
                "url": None,
                "note": "would create",
            }
        ],
        "wont_fix": [
            {"control": "12e.tde", "scope": "s", "ticket": "7", "url": "https://t/7", "resolution": "wontfix"}
        ],
        "errors": [],
    }
    bundle["run"]["scope"]["databases"] = {
        "servers": [
            {
                "name": "pg",
                "engine": "postgresql",
                "endpoint": "127.0.0.1:5432",
                "databases": 1,
                "status": "ok",
            }
        ],
        "applications": 2,
    }
    evidence_validator().validate(bundle)
    bundle["changes"]["fixed"][0]["after"] = "green"
    with pytest.raises(jsonschema.ValidationError):
        evidence_validator().validate(bundle)


def test_baseline_is_the_bundle_on_top_then_the_latest_archived_one(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    assert find_baseline(evidence) is None
    for name in ("20261127T010000Z", "20261128T010000Z", "20261128T010000Z-2"):
        (evidence / "archive" / name).mkdir(parents=True)
        (evidence / "archive" / name / "evidence.json").write_text("{}", encoding="utf-8")
    (evidence / "archive" / "20261129T010000Z").mkdir()  # no evidence.json: not a bundle
    assert find_baseline(evidence) == evidence / "archive" / "20261128T010000Z-2"
    (evidence / "evidence.json").write_text("{}", encoding="utf-8")
    assert find_baseline(evidence) == evidence


def test_baseline_of_the_default_layout_is_the_latest_earlier_sibling(tmp_path: Path) -> None:
    for name in ("20261127T010000Z", "20261128T010000Z", "20261130T010000Z", "notes"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "evidence.json").write_text("{}", encoding="utf-8")
    assert find_baseline(tmp_path / "20261129T010000Z") == tmp_path / "20261128T010000Z"
    assert find_baseline(tmp_path / "20261127T000000Z") is None
    assert find_baseline(tmp_path / "custom-folder") is None


def test_archiving_moves_the_whole_previous_bundle_with_its_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "evidence.json").write_text(
        json.dumps({"run": {"started_at": "2026-11-28T01:02:03.456Z"}, "results": []}), encoding="utf-8"
    )
    (evidence / "report.html").write_text("<html></html>", encoding="utf-8")
    (evidence / "raw").mkdir()
    (evidence / "raw" / "listed.json").write_text("{}", encoding="utf-8")
    write_manifest(evidence)
    (evidence / "operator-notes.txt").write_text("not part of the bundle", encoding="utf-8")
    archived = archive_previous(evidence)
    assert archived == evidence / "archive" / "20261128T010203Z"
    assert sorted(p.relative_to(archived).as_posix() for p in archived.rglob("*") if p.is_file()) == [
        MANIFEST_NAME,
        "evidence.json",
        "raw/listed.json",
        "report.html",
    ]
    assert verify_bundle(archived, None).ok
    assert (evidence / "operator-notes.txt").is_file()
    assert not (evidence / "evidence.json").exists()
    assert archive_previous(evidence) is None


def test_a_second_bundle_of_the_same_second_is_archived_beside_the_first(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    bundle = json.dumps({"run": {"started_at": "2026-11-28T01:02:03Z"}, "results": []})
    (evidence / "evidence.json").write_text(bundle, encoding="utf-8")
    first = archive_previous(evidence)
    (evidence / "evidence.json").write_text(bundle, encoding="utf-8")
    second = archive_previous(evidence)
    assert first is not None
    assert second is not None
    assert (first.name, second.name) == ("20261128T010203Z", "20261128T010203Z-2")
    assert (first / "evidence.json").is_file()
    assert (second / "evidence.json").is_file()


def test_run_folder_names_are_utc_and_filesystem_safe() -> None:
    assert run_folder_name("2026-11-29T04:49:05.789106Z") == "20261129T044905Z"
    assert run_folder_name("2026-11-29T05:49:05+01:00") == "20261129T044905Z"


# -- two real nights in one evidence folder -----------------------------------------------------


@pytest.mark.integration
def test_second_demo_run_archives_the_first_and_reports_the_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    first = run_audit(tmp_path, "", "--demo")
    assert first.returncode == 1, first.stdout + first.stderr
    evidence = first.evidence_dir
    names = {"evidence.json", "report.html", "junit.xml", "oscal-assessment-results.json", MANIFEST_NAME}
    assert names <= {p.name for p in evidence.iterdir()}
    assert verify_bundle(evidence, None).ok
    assert first.bundle["changes"] is None
    first_junit = sorted(
        (c.get("classname"), c.get("name")) for c in ET.parse(evidence / "junit.xml").iter("testcase")
    )
    assert (
        oscal_errors(json.loads((evidence / "oscal-assessment-results.json").read_text(encoding="utf-8")))
        == []
    )

    # Make last night differ: one of today's failures passed then, one of today's passes failed
    # then, one of today's items did not exist then, and one item of then is gone today.
    previous = json.loads((evidence / "evidence.json").read_text(encoding="utf-8"))
    failing = next(r for r in previous["results"] if r["status"] == "fail")
    passing, repaired = [r for r in previous["results"] if r["status"] == "pass"][:2]
    failing["status"] = "pass"
    repaired["status"] = "fail"
    previous["results"].remove(passing)
    previous["results"].append({**passing, "resource": "/gone/yesterday", "status": "fail"})
    (evidence / "evidence.json").write_text(json.dumps(previous), encoding="utf-8")
    write_manifest(evidence)
    previous_sha = hashlib.sha256((evidence / "evidence.json").read_bytes()).hexdigest()

    second = run_audit(tmp_path, "", "--demo")
    assert second.returncode == 1, second.stdout + second.stderr
    archived = evidence / "archive" / run_folder_name(previous["run"]["started_at"])
    assert archived.is_dir()
    assert verify_bundle(archived, None).ok
    assert verify_bundle(evidence, None).ok
    changes = second.bundle["changes"]
    assert changes["baseline"] == {
        "started_at": previous["run"]["started_at"],
        "path": str(archived),
        "evidence_sha256": previous_sha,
    }
    assert [(c["control"], c["resource"]) for c in changes["new_failures"]] == [
        (failing["control"], failing["resource"])
    ]
    assert [(c["control"], c["resource"], c["before"], c["after"]) for c in changes["fixed"]] == [
        (repaired["control"], repaired["resource"], "fail", "pass")
    ]
    assert [(c["control"], c["resource"]) for c in changes["new_resources"]] == [
        (passing["control"], passing["resource"])
    ]
    assert [(c["resource"], c["before"]) for c in changes["vanished_resources"]] == [
        ("/gone/yesterday", "fail")
    ]
    evidence_validator().validate(second.bundle)
    second_junit = sorted(
        (c.get("classname"), c.get("name")) for c in ET.parse(evidence / "junit.xml").iter("testcase")
    )
    assert second_junit == first_junit


def test_write_bundle_compares_with_an_explicit_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    elsewhere = tmp_path / "elsewhere"
    last_night = sample()
    fixed = next(r for r in last_night["results"] if r["status"] == "pass")
    fixed["status"] = "fail"
    write_bundle(elsewhere, last_night)
    write_bundle(tmp_path / "evidence", sample())  # an earlier bundle in the folder itself
    tonight = sample()
    write_bundle(tmp_path / "evidence", tonight, baseline=elsewhere)
    assert tonight["changes"]["baseline"]["path"] == str(elsewhere)
    assert [(c["control"], c["resource"]) for c in tonight["changes"]["fixed"]] == [
        (fixed["control"], fixed["resource"])
    ]
    assert len(list((tmp_path / "evidence" / "archive").iterdir())) == 1, (
        "the folder's own bundle is archived"
    )
    assert (
        json.loads((tmp_path / "evidence" / "evidence.json").read_text(encoding="utf-8"))["changes"]
        == (tonight["changes"])
    )


def test_write_bundle_with_the_evidence_folder_as_baseline_uses_its_previous_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    evidence = tmp_path / "evidence"
    write_bundle(evidence, sample())
    tonight = sample()
    write_bundle(evidence, tonight, baseline=evidence)
    (archived,) = (evidence / "archive").iterdir()
    assert tonight["changes"]["baseline"]["path"] == str(archived)


def test_write_bundle_renders_the_report_in_the_asked_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    write_bundle(tmp_path / "nl", sample(), lang="nl")
    write_bundle(tmp_path / "en", sample())
    assert '<html lang="nl">' in (tmp_path / "nl" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in (tmp_path / "en" / "report.html").read_text(encoding="utf-8")


def test_a_file_rewritten_since_the_previous_bundle_was_sealed_stays_with_this_run(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "evidence.json").write_text(
        json.dumps({"run": {"started_at": "2026-11-28T01:02:03Z"}}), "utf-8"
    )
    (evidence / "recording.json").write_text("last night's recording", encoding="utf-8")
    write_manifest(evidence)
    sealed = (evidence / MANIFEST_NAME).stat().st_mtime
    (evidence / "recording.json").write_text("tonight's recording", encoding="utf-8")
    os.utime(evidence / "recording.json", (sealed + 5, sealed + 5))
    archived = archive_previous(evidence)
    assert archived is not None
    assert (evidence / "recording.json").read_text(encoding="utf-8") == "tonight's recording"
    assert not (archived / "recording.json").exists()
    assert verify_bundle(archived, None).missing == ["recording.json"]


@pytest.mark.parametrize(
    ("corruption", "reason"),
    [
        pytest.param(
            '{"run": {"started_at": "2026-11-28T01:02:03Z"}, "resu', "not valid JSON", id="truncated"
        ),
        pytest.param('{"run": {"started_at": "2026-11-28T01:02:03Z"}}', "no results list", id="no-results"),
        pytest.param('{"results": [{"control": 1}]}', "results[0]", id="bad-result"),
    ],
)
def test_corrupt_baseline_found_automatically_is_named_in_the_change_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corruption: str, reason: str
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "evidence.json").write_text(corruption, encoding="utf-8")
    tonight = sample()
    write_bundle(evidence, tonight)
    (archived,) = (evidence / "archive").iterdir()
    unusable = tonight["changes"]["unusable_baseline"]
    assert unusable["path"] == str(archived)
    assert str(archived / "evidence.json") in unusable["reason"]
    assert reason in unusable["reason"]
    written = json.loads((evidence / "evidence.json").read_text(encoding="utf-8"))
    assert written["changes"] == tonight["changes"]
    evidence_validator().validate(written)
    html = (evidence / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="changes"') : html.index('<h2 id="summary">')]
    assert 'id="baseline-unusable"' in section
    assert str(archived) in section
    assert "No baseline" not in section


def test_corrupt_sibling_baseline_of_the_default_layout_is_named_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    earlier = tmp_path / "20261128T020000Z"
    earlier.mkdir()
    (earlier / "evidence.json").write_text("", encoding="utf-8")
    tonight = sample()
    write_bundle(tmp_path / "20261129T020000Z", tonight)
    assert tonight["changes"]["unusable_baseline"]["path"] == str(earlier)
