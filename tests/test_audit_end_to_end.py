"""`pytest controls/` end to end: the real Azure SDK clients over HTTPS against the ARM emulator."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from controls.catalog import CONTROLS
from demo.standins.arm_emulator import ArmEmulator, Fault
from tests.audit_runs import POLICY, ROOT, SUB_DEV, SUB_PROD, TOKEN, azure_section, run_audit, run_demo

pytestmark = pytest.mark.integration

GRAPH_QUERY = "/providers/microsoft.resourcegraph/resources"

EXPECTED = {
    ("12b.azure-sql-firewall", "/servers/sql-prod-weu"): "pass",
    ("12b.azure-sql-firewall", "/servers/sql-synda-neu"): "pass",
    ("12b.azure-sql-firewall", "/servers/sql-test-uks"): "fail",
    ("12b.azure-sql-firewall", "/servers/sql-legacy"): "pass",
    ("12e.azure-sql-tde", "/databases/emma"): "pass",
    ("12e.azure-sql-tde", "/databases/movin"): "pass",
    ("12e.azure-sql-tde", "/databases/synda"): "pass",
    ("12e.azure-sql-tde", "/databases/picario-test"): "fail",
    ("12e.azure-sql-tde", "/databases/xpo-archive"): "pass",
    ("12f.azure-sql-min-tls", "/servers/sql-prod-weu"): "pass",
    ("12f.azure-sql-min-tls", "/servers/sql-synda-neu"): "pass",
    ("12f.azure-sql-min-tls", "/servers/sql-test-uks"): "fail",
    ("12f.azure-sql-min-tls", "/servers/sql-legacy"): "fail",
    ("8.azure-region", "/servers/sql-prod-weu"): "pass",
    ("8.azure-region", "/servers/sql-test-uks"): "fail",
    ("8.azure-region", "/databases/picario-test"): "fail",
    ("8.azure-region", "/servers/sql-synda-neu"): "pass",
    ("8.azure-region", "/databases/xpo-archive"): "pass",
}


def is_azure_control(control: str) -> bool:
    """Return True for a control over Azure facts (its slug starts with 'azure')."""
    return control.split(".", 1)[1].startswith("azure")


def azure_controls(run: Any) -> set[str]:
    """Return the Azure controls that produced items in a run."""
    return {r["control"] for r in run.bundle["results"] if is_azure_control(r["control"])}


def _statuses(run: Any) -> dict[tuple[str, str], str]:
    return {key: run.result(*key)["status"] for key in EXPECTED}


def test_live_run_gives_the_catalog_verdicts(tmp_path: Path, emulator: ArmEmulator) -> None:
    run = run_audit(tmp_path, POLICY + azure_section(emulator))
    assert run.returncode == 1, run.stdout + run.stderr
    assert _statuses(run) == EXPECTED
    results = run.bundle["results"]
    assert not [r for r in results if r["resource"].endswith("/databases/master")], (
        "master is not a user database"
    )
    assert len([r for r in results if r["control"] == "12e.azure-sql-tde"]) == 7
    firewall = run.result("12b.azure-sql-firewall", "/servers/sql-test-uks")
    assert "allow Azure services" in firewall["message"]
    assert "partner" in firewall["message"]
    source = firewall["sources"][0]
    assert source["call"].startswith(f"GET {emulator.url}/subscriptions/{SUB_DEV}/")
    assert source["api_version"] == "2025-01-01"
    assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    assert "report:" in run.stdout
    assert (run.evidence_dir / "report.html").is_file()


def test_attested_and_register_controls_out_of_config_are_not_applicable(
    tmp_path: Path, emulator: ArmEmulator
) -> None:
    run = run_audit(tmp_path, POLICY + azure_section(emulator))
    for control in (
        "12a.datacenter-certification",
        "12g.mobile-media-encryption",
        "9.subprocessor-transfer-basis",
    ):
        items = [r for r in run.bundle["results"] if r["control"] == control]
        assert len(items) == 1
        assert items[0]["status"] == "not_applicable"
        assert items[0]["message"]


def test_no_azure_section_makes_azure_controls_not_applicable_once_each(tmp_path: Path) -> None:
    run = run_audit(tmp_path, POLICY, "--allow-empty-scope")  # nothing else in scope either
    assert run.returncode == 0, run.stdout + run.stderr
    azure = [r["control"] for r in run.bundle["results"] if is_azure_control(r["control"])]
    assert len(azure) == len(set(azure)), "one not_applicable item per control"
    assert set(azure) >= {
        "12b.azure-sql-firewall",
        "12b.azure-storage-network",
        "12e.azure-sql-tde",
        "12e.azure-storage-encryption",
        "12f.azure-sql-min-tls",
        "12f.azure-app-service-tls",
        "12f.azure-storage-tls",
        "8.azure-region",
    }
    azure_results = [r for r in run.bundle["results"] if is_azure_control(r["control"])]
    assert {r["status"] for r in azure_results} == {"not_applicable"}
    assert all("no [azure] section" in r["message"] for r in azure_results)


def test_all_passing_estate_exits_zero(tmp_path: Path, emulator: ArmEmulator) -> None:
    config = POLICY + azure_section(emulator, f'subscriptions = ["{SUB_PROD}"]')
    run = run_audit(tmp_path, config)
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = {r["status"] for r in run.bundle["results"]}
    assert statuses == {"pass", "not_applicable"}
    assert all(SUB_PROD in r["resource"] for r in run.bundle["results"] if r["status"] == "pass")


def test_forbidden_subscription_errors_only_its_own_items(tmp_path: Path, emulator: ArmEmulator) -> None:
    emulator.add_fault(Fault(path=rf"^/subscriptions/{SUB_DEV}/providers/Microsoft.Sql/servers$", status=403))
    run = run_audit(tmp_path, POLICY + azure_section(emulator))
    dev = [r for r in run.bundle["results"] if SUB_DEV in r["resource"]]
    sql = [r for r in dev if "/providers/Microsoft.Sql/" in r["resource"]]
    assert {r["control"] for r in sql} == {
        "12b.azure-sql-firewall",
        "12e.azure-sql-tde",
        "12f.azure-sql-min-tls",
        "8.azure-region",
        "12c.azure-sql-entra-admin",
        "13.azure-sql-auditing",
        "11.azure-sql-backup-retention",
    }
    assert {r["status"] for r in sql} == {"error"}
    assert all("HTTP 403 AuthorizationFailed" in r["message"] for r in sql)
    assert run.result("12f.azure-app-service-tls", "/sites/app-picario-test")["status"] == "fail", (
        "the subscription's other areas were still read"
    )
    assert run.result("12b.azure-sql-firewall", "/servers/sql-prod-weu")["status"] == "pass"
    assert run.result("12e.azure-sql-tde", "/databases/emma")["status"] == "pass"
    assert run.returncode == 1


@pytest.mark.parametrize(
    ("fault", "control", "resource", "expected_text"),
    [
        (
            Fault(path=r"/databases/emma/transparentDataEncryption/current$", status=500),
            "12e.azure-sql-tde",
            "/databases/emma",
            "HTTP 500",
        ),
        (
            Fault(path=r"/servers/sql-prod-weu/firewallRules$", status=404),
            "12b.azure-sql-firewall",
            "/servers/sql-prod-weu",
            "HTTP 404 ResourceNotFound",
        ),
        (
            Fault(path=r"/servers/sql-prod-weu/firewallRules$", status=200, malformed=True),
            "12b.azure-sql-firewall",
            "/servers/sql-prod-weu",
            "malformed",
        ),
        (
            Fault(path=r"/servers/sql-prod-weu/databases$", status=401),
            "12e.azure-sql-tde",
            "/servers/sql-prod-weu/databases",
            "401",
        ),
    ],
    ids=["tde-500", "firewall-404", "firewall-malformed-json", "databases-401"],
)
def test_injected_fault_is_an_error_for_exactly_the_affected_item(
    tmp_path: Path, emulator: ArmEmulator, fault: Fault, control: str, resource: str, expected_text: str
) -> None:
    emulator.add_fault(fault)
    run = run_audit(tmp_path, POLICY + azure_section(emulator))
    broken = run.result(control, resource)
    assert broken["status"] == "error"
    assert expected_text in broken["message"]
    unaffected = {
        key: status
        for key, status in EXPECTED.items()
        if key[0] != control and not (resource.endswith("/databases") and "/databases/" in key[1])
    }
    assert {key: run.result(*key)["status"] for key in unaffected} == unaffected
    assert run.returncode == 1


def test_throttled_request_is_retried_after_retry_after(tmp_path: Path, emulator: ArmEmulator) -> None:
    emulator.add_fault(
        Fault(path=r"/servers/sql-prod-weu/firewallRules$", status=429, retry_after="1", times=1)
    )
    emulator.add_fault(Fault(path=r"/databases/emma/transparentDataEncryption", status=429, times=2))
    run = run_audit(tmp_path, POLICY + azure_section(emulator))
    assert _statuses(run) == EXPECTED
    hits = [r.at for r in emulator.requests if r.path.lower().endswith("/servers/sql-prod-weu/firewallrules")]
    assert len(hits) == 2
    assert hits[1] - hits[0] >= 0.9
    tde = [r for r in emulator.requests if "/databases/emma/transparentdataencryption" in r.path.lower()]
    assert len(tde) == 3


def test_every_url_is_fetched_once_and_every_page_followed(tmp_path: Path, emulator: ArmEmulator) -> None:
    run = run_audit(tmp_path, POLICY + azure_section(emulator))
    assert run.returncode == 1
    seen = [(r.method, r.path.lower(), json.dumps(r.query, sort_keys=True)) for r in emulator.requests]
    assert len(seen) == len(set(seen)), "a URL was fetched twice"
    writes = [r for r in emulator.requests if r.method != "GET"]
    assert all(r.method == "POST" and r.path.lower() == GRAPH_QUERY for r in writes), (
        "the auditor only reads: GETs, and POSTs that are Resource Graph queries"
    )
    pages = [r for r in emulator.requests if "$skipToken" in r.query]
    assert pages, "page_size=2 makes the subscription and server lists page"


def test_rejected_token_stops_the_run_with_a_clear_message(tmp_path: Path, emulator: ArmEmulator) -> None:
    run = run_audit(
        tmp_path, POLICY + azure_section(emulator), env={"AUDIT_AZURE_TOKEN": "not-the-right-one"}
    )
    assert run.returncode == 4
    output = run.stdout + run.stderr
    assert "Traceback" not in output
    assert "audit.toml" in output
    assert "[azure]" in output
    assert "401" in output


def test_missing_static_token_is_a_clear_error(tmp_path: Path, emulator: ArmEmulator) -> None:
    run = run_audit(tmp_path, POLICY + azure_section(emulator), env={"AUDIT_AZURE_TOKEN": ""})
    assert run.returncode == 4
    assert "AUDIT_AZURE_TOKEN" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_unreachable_endpoint_stops_the_run_with_a_clear_message(
    tmp_path: Path, emulator: ArmEmulator
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = POLICY + azure_section(emulator).replace(emulator.url, f"https://127.0.0.1:{closed_port}")
    run = run_audit(tmp_path, config + "retries = 0\n")
    assert run.returncode == 4
    output = run.stdout + run.stderr
    assert "cannot reach the ARM endpoint" in output
    assert "Traceback" not in output


def test_configured_subscription_the_credential_cannot_see_is_an_error(
    tmp_path: Path, emulator: ArmEmulator
) -> None:
    ghost = "99999999-9999-4999-8999-999999999999"
    run = run_audit(tmp_path, POLICY + azure_section(emulator, f'subscriptions = ["{SUB_PROD}", "{ghost}"]'))
    ghost_items = [r for r in run.bundle["results"] if ghost in r["resource"]]
    assert sorted(r["control"] for r in ghost_items) == sorted(azure_controls(run))
    assert {r["status"] for r in ghost_items} == {"error"}
    assert all("not visible" in r["message"] for r in ghost_items)


def test_replay_of_a_recording_gives_the_live_verdicts_without_network(
    tmp_path: Path, emulator: ArmEmulator
) -> None:
    emulator.add_fault(Fault(path=r"/servers/sql-legacy/databases$", status=403))
    recording = tmp_path / "recording.json"
    live = run_audit(tmp_path / "live", POLICY + azure_section(emulator), "--record", str(recording))
    assert recording.is_file()
    emulator.stop()
    replayed = run_audit(tmp_path / "replay", POLICY + azure_section(emulator), "--replay", str(recording))
    assert replayed.verdicts() == live.verdicts()
    assert {r["message"] for r in replayed.bundle["results"]} == {
        r["message"] for r in live.bundle["results"]
    }
    assert replayed.bundle["run"]["mode"] == "replay"
    assert replayed.bundle["run"]["recording"]["sha256"]

    def azure_sources(run: Any) -> dict[tuple[str, str], Any]:
        return {
            (r["control"], r["resource"]): r["sources"]
            for r in run.bundle["results"]
            if "azure" in r["control"]
        }

    assert azure_sources(replayed) == azure_sources(live), "same calls, same hashes, same observation times"


def test_k_selects_a_clause(tmp_path: Path, emulator: ArmEmulator) -> None:
    run = run_audit(tmp_path, POLICY + azure_section(emulator), "-k", "12e")
    controls = {r["control"] for r in run.bundle["results"]}
    assert {"12e.azure-sql-tde", "12e.azure-storage-encryption"} <= controls
    assert all(control.startswith("12e.") for control in controls)


def test_bearer_token_never_appears_in_any_output(tmp_path: Path, emulator: ArmEmulator) -> None:
    recording = tmp_path / "recording.json"
    run = run_audit(tmp_path, POLICY + azure_section(emulator), "--record", str(recording))
    assert TOKEN not in run.stdout + run.stderr
    for produced in [recording, *run.evidence_dir.iterdir()]:
        assert TOKEN not in produced.read_text(encoding="utf-8"), produced


def test_demo_runs_from_the_bundled_recording(tmp_path: Path) -> None:
    evidence_dir = tmp_path / "demo-evidence"
    completed = run_demo(evidence_dir, timeout=120)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert f"report: {evidence_dir / 'report.html'}" in completed.stdout
    bundle = json.loads((evidence_dir / "evidence.json").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "reports" / "evidence.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(bundle)
    assert {r["status"] for r in bundle["results"]} >= {"pass", "fail", "error", "waived"}
    assert bundle["run"]["mode"] == "replay"
    assert bundle["run"]["run_date"] == "2026-11-29"
    controls = {r["control"] for r in bundle["results"]}
    implemented = {
        match
        for module in (ROOT / "controls").glob("test_*.py")
        for match in re.findall(r'@control\(\s*"([^"]+)"', module.read_text(encoding="utf-8"))
    }
    assert implemented <= set(CONTROLS)
    assert controls == implemented, "the demo shows every implemented control"
    for control in controls:
        statuses = {r["status"] for r in bundle["results"] if r["control"] == control}
        assert "pass" in statuses, control
        assert statuses & {"fail", "waived", "error"}, control
    expired = [r for r in bundle["results"] if r["waiver"] and r["waiver"]["expired"]]
    assert expired
    assert all(r["status"] == "fail" and "expired on" in r["message"] for r in expired)


def test_timed_out_request_is_an_error_for_its_item(tmp_path: Path, emulator: ArmEmulator) -> None:
    emulator.add_fault(
        Fault(path=r"/databases/movin/transparentDataEncryption/current$", status=200, latency=3)
    )
    run = run_audit(tmp_path, POLICY + azure_section(emulator, "timeout_seconds = 0.5\nretries = 0"))
    timed_out = run.result("12e.azure-sql-tde", "/databases/movin")
    assert timed_out["status"] == "error"
    assert "timed out" in timed_out["message"]
    assert run.result("12e.azure-sql-tde", "/databases/emma")["status"] == "pass"


def test_credential_that_sees_no_subscription_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    with ArmEmulator({"subscriptions": [], "resources": []}, tokens={TOKEN}) as empty:
        run = run_audit(tmp_path, POLICY + azure_section(empty))
    azure = [r for r in run.bundle["results"] if "azure" in r["control"]]
    assert sorted(r["control"] for r in azure) == sorted(azure_controls(run))
    assert {r["status"] for r in azure} == {"error"}
    assert all("no enabled subscription" in r["message"] for r in azure)
    assert run.returncode == 1


def test_resource_graph_and_arm_paths_give_identical_verdicts(tmp_path: Path, emulator: ArmEmulator) -> None:
    arm = run_audit(tmp_path / "arm", POLICY + azure_section(emulator))
    before = len(emulator.requests)
    graph = run_audit(tmp_path / "graph", POLICY + azure_section(emulator, "use_resource_graph = true"))
    assert graph.verdicts() == arm.verdicts()
    graph_requests = emulator.requests[before:]
    assert any(r.method == "POST" and "resourcegraph" in r.path.lower() for r in graph_requests)
    listed = [
        r for r in graph_requests if r.method == "GET" and r.path.lower().endswith("/microsoft.sql/servers")
    ]
    assert not listed, "servers come from the Resource Graph inventory, not from ARM lists"
    server = graph.result("12f.azure-sql-min-tls", "/servers/sql-prod-weu")
    assert "POST" in server["sources"][0]["call"]
    assert "Resources | where type in~" in server["sources"][0]["call"]


def test_resource_graph_failure_falls_back_to_arm(tmp_path: Path, emulator: ArmEmulator) -> None:
    emulator.add_fault(Fault(path="ResourceGraph", status=403, method="POST"))
    run = run_audit(tmp_path, POLICY + azure_section(emulator, "use_resource_graph = true"))
    assert _statuses(run) == EXPECTED
    assert "Resource Graph unavailable" in run.stdout


def test_help_lists_the_audit_options_without_a_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for option in ("--audit-config", "--evidence-dir", "--record", "--replay", "--as-of", "--demo"):
        assert option in completed.stdout


@pytest.mark.parametrize(
    ("setting", "scanned"),
    [
        pytest.param("", False, id="auto-off-microsoft-cloud"),
        pytest.param("scan_discovered_endpoints = true", True, id="explicitly-on"),
    ],
)
def test_azure_published_endpoints_are_tls_scanned_as_the_setting_says_and_the_cover_tells(
    tmp_path: Path, demo_estate: dict[str, Any], setting: str, scanned: bool
) -> None:
    # The App Service host names moved under .invalid (RFC 6761): scanned, they can never resolve,
    # so the test reaches no real host even on a runner with Internet access.
    unresolvable = json.loads(json.dumps(demo_estate).replace(".azurewebsites.net", ".azurewebsites.invalid"))
    with ArmEmulator(unresolvable, tokens={TOKEN}) as emulator:
        run = run_audit(tmp_path, POLICY + azure_section(emulator, setting), "-k", "endpoint-tls")
    assert "Traceback" not in run.stdout + run.stderr
    decision = run.bundle["run"]["scope"]["tls_discovery"]
    assert decision["scanned"] is scanned
    assert decision["rule"] == ("on" if scanned else "auto-not-public-cloud")
    published = [r for r in run.bundle["results"] if "azurewebsites.invalid" in r["resource"]]
    if scanned:
        assert published, "the App Service host names Azure publishes are scanned"
        assert {r["status"] for r in published} == {"error"}, "unresolvable: error, never pass"
    else:
        assert published == []
        notes = run.bundle["run"]["scope"]["populations"]["tls.endpoints"]["notes"]
        assert any("not scanned" in note for note in notes)
    html = (run.evidence_dir / "report.html").read_text(encoding="utf-8")
    line = html[html.index('id="tls-discovery"') : html.index("</dd>", html.index('id="tls-discovery"'))]
    assert ("NOT TLS-scanned" in line) is not scanned
    assert "scan_discovered_endpoints" in line
