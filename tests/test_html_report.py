"""The evidence schema and the HTML report rendered from an evidence bundle alone."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from reports.html import STATUS_ORDER, build_view, clause_sort_key, render_html, result_anchor, write_html

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "reports" / "evidence.schema.json"
SAMPLE_PATH = Path(__file__).with_name("fixtures") / "evidence_sample.json"
XSS = "<script>alert(1)</script>"
STATUSES = ("pass", "fail", "error", "waived", "not_applicable")


def load_sample() -> dict[str, Any]:
    """Return a fresh copy of the sample bundle (tests mutate it)."""
    bundle: dict[str, Any] = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    return bundle


def validator() -> Any:
    """Return a draft 2020-12 validator of the evidence schema that also checks formats."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def recount(bundle: dict[str, Any]) -> None:
    """Set the controls' counts and the summary from the bundle's results."""
    for control in bundle["controls"]:
        control["counts"] = {
            s: sum(1 for r in bundle["results"] if r["control"] == control["id"] and r["status"] == s)
            for s in STATUSES
        }
    bundle["summary"] = {s: sum(1 for r in bundle["results"] if r["status"] == s) for s in STATUSES}
    bundle["summary"]["total"] = len(bundle["results"])


def row_html(html: str, anchor: str) -> str:
    """Return the <tr>...</tr> of the result whose id is `anchor`."""
    at = html.index(f'id="{anchor}"')
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def position(html: str, anchor: str) -> int:
    """Return where the element with id `anchor` starts in the page."""
    return html.index(f'id="{anchor}"')


def inside_details(html: str, at: int) -> bool:
    """Return whether offset `at` lies inside a <details> element (they are never nested here)."""
    return html.rfind("<details", 0, at) > html.rfind("</details>", 0, at)


@pytest.fixture(scope="module")
def sample_html() -> str:
    """The sample bundle rendered once for the read-only tests."""
    return render_html(load_sample())


# --- schema ---------------------------------------------------------------------------------------


def test_sample_validates_against_schema() -> None:
    """The fixture bundle is valid evidence (draft 2020-12, formats checked)."""
    errors = [e.message for e in validator().iter_errors(load_sample())]
    assert errors == []


def test_sample_covers_every_status_and_both_kinds_of_waiver() -> None:
    """The fixture exercises all five statuses, a valid and an expired waiver, and a reasoned N/A."""
    results = load_sample()["results"]
    assert {r["status"] for r in results} == set(STATUSES)
    assert any(r["status"] == "waived" and r["waiver"] and not r["waiver"]["expired"] for r in results)
    assert any(r["status"] == "fail" and r["waiver"] and r["waiver"]["expired"] for r in results)
    assert any(r["status"] == "not_applicable" and r["message"] for r in results)


def test_sample_counts_match_its_results() -> None:
    """The fixture's stated counts agree with its results, so the report raises no warning."""
    bundle = load_sample()
    stated = copy.deepcopy((bundle["controls"], bundle["summary"]))
    recount(bundle)
    assert (bundle["controls"], bundle["summary"]) == stated
    assert build_view(bundle)["warnings"] == []


def _bad_status(b: dict[str, Any]) -> None:
    b["results"][0]["status"] = "passed"


def _missing_result_key(b: dict[str, Any]) -> None:
    del b["results"][0]["message"]


def _missing_run_key(b: dict[str, Any]) -> None:
    del b["run"]["config"]


def _extra_key(b: dict[str, Any]) -> None:
    b["results"][0]["verdict"] = "ok"


def _bad_sha256(b: dict[str, Any]) -> None:
    b["results"][0]["sources"][0]["sha256"] = "ABC123"


def _not_utc(b: dict[str, Any]) -> None:
    b["run"]["started_at"] = "2026-11-29T03:00:00+01:00"


def _bad_mode(b: dict[str, Any]) -> None:
    b["run"]["mode"] = "dry-run"


def _waived_without_waiver(b: dict[str, Any]) -> None:
    next(r for r in b["results"] if r["status"] == "waived")["waiver"] = None


def _waived_by_expired_waiver(b: dict[str, Any]) -> None:
    next(r for r in b["results"] if r["status"] == "waived")["waiver"]["expired"] = True


def _bad_count(b: dict[str, Any]) -> None:
    b["summary"]["fail"] = -1


@pytest.mark.parametrize(
    "breakage",
    [
        _bad_status,
        _missing_result_key,
        _missing_run_key,
        _extra_key,
        _bad_sha256,
        _not_utc,
        _bad_mode,
        _waived_without_waiver,
        _waived_by_expired_waiver,
        _bad_count,
    ],
)
def test_broken_bundle_does_not_validate(breakage: Callable[[dict[str, Any]], None]) -> None:
    """Each kind of breakage makes the schema reject the bundle."""
    bundle = load_sample()
    breakage(bundle)
    assert not validator().is_valid(bundle)


# --- escaping and self-containment ----------------------------------------------------------------


def test_markup_in_bundle_values_comes_out_escaped() -> None:
    """Markup in any bundle value is shown as text, never parsed as HTML."""
    bundle = load_sample()
    result = bundle["results"][0]
    result["resource"] = f"/subscriptions/x/{XSS}"
    result["message"] = f"bad {XSS} & more"
    result["observed"] = {"name": XSS, "nested": {"deeper": [XSS]}, XSS: 1}
    result["sources"][0]["call"] = f"GET https://example.invalid/{XSS}"
    bundle["results"][1]["waiver"] = {
        "resource_pattern": XSS,
        "justification": XSS,
        "approved_by": XSS,
        "expires": "2027-01-01",
        "expired": False,
    }
    bundle["controls"][0]["title"] = XSS
    bundle["controls"][0]["id"] = 'x" onmouseover="alert(1)'
    for r in bundle["results"]:
        if r["control"] == "12b.azure-sql-firewall":
            r["control"] = 'x" onmouseover="alert(1)'
    bundle["run"]["machine"]["hostname"] = XSS
    bundle["run"]["scope"]["populations"][XSS] = {"count": 1, "out_of_scope": XSS, "notes": [XSS]}

    html = render_html(bundle)

    assert "<script>alert" not in html
    assert "alert(1)</script>" not in html
    assert html.count("<script") == 1  # the page's own filter script, nothing from the bundle
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'onmouseover="' not in html
    assert "bad &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_page_references_no_external_resource(sample_html: str) -> None:
    """The page links only to its own #anchors and loads nothing from elsewhere."""
    attributes = re.findall(
        r"\b(?:src|href|action|formaction|poster|data|srcset|background|xlink:href)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)",
        sample_html,
        flags=re.IGNORECASE,
    )
    assert attributes, "expected internal #anchor links"
    assert all(value.strip("\"'").startswith("#") for value in attributes), attributes
    assert not re.search(r"<link\b", sample_html, flags=re.IGNORECASE)
    assert not re.search(r"<(?:img|iframe|object|embed|base)\b", sample_html, flags=re.IGNORECASE)
    assert "@import" not in sample_html
    assert "url(" not in sample_html


def test_content_security_policy_allows_only_the_pages_own_style_and_script(sample_html: str) -> None:
    """The CSP hashes match the page's own style and script and allow nothing else."""
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', sample_html)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    for tag in ("style", "script"):
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", sample_html, flags=re.DOTALL)
        assert len(bodies) == 1
        digest = base64.b64encode(hashlib.sha256(bodies[0].encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in csp.group(1)


# --- content and order ----------------------------------------------------------------------------


def test_every_result_and_control_has_its_stable_anchor(sample_html: str) -> None:
    """Every result and control has exactly one anchor, computed as documented."""
    bundle = load_sample()
    for result in bundle["results"]:
        anchor = result_anchor(result["control"], result["resource"])
        assert re.fullmatch(r"result-[0-9a-f]{12}", anchor)
        assert sample_html.count(f'id="{anchor}"') == 1
    for control in bundle["controls"]:
        assert sample_html.count(f'id="control-{control["id"]}"') == 1
    expected = hashlib.sha1(b"12e.azure-sql-tde\n/r/1").hexdigest()[:12]
    assert result_anchor("12e.azure-sql-tde", "/r/1") == f"result-{expected}"


def test_controls_are_ordered_by_clause(sample_html: str) -> None:
    """Controls appear in the statement's clause order (natural, not lexical)."""
    controls = load_sample()["controls"]
    in_page = sorted(controls, key=lambda c: position(sample_html, f"control-{c['id']}"))
    assert [c["clause"] for c in in_page] == sorted((c["clause"] for c in controls), key=clause_sort_key)
    assert clause_sort_key("6b") < clause_sort_key("8") < clause_sort_key("11") < clause_sort_key("12a")


def test_failures_come_before_passes_within_each_control(sample_html: str) -> None:
    """Within a control, rows go fail, error, waived, pass, not_applicable."""
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    results = load_sample()["results"]
    checked = 0
    for control in {r["control"] for r in results}:
        rows = [r for r in results if r["control"] == control]
        in_page = sorted(
            rows, key=lambda r: position(sample_html, result_anchor(r["control"], r["resource"]))
        )
        assert [rank[r["status"]] for r in in_page] == sorted(rank[r["status"]] for r in rows)
        checked += any(r["status"] == "fail" for r in rows) and any(r["status"] == "pass" for r in rows)
    assert checked >= 3


def test_failures_are_expanded_and_passes_collapsed(sample_html: str) -> None:
    """Only passes and not_applicable rows sit inside collapsed <details>."""
    for result in load_sample()["results"]:
        at = position(sample_html, result_anchor(result["control"], result["resource"]))
        assert inside_details(sample_html, at) == (result["status"] in ("pass", "not_applicable")), result


def test_waived_result_shows_approver_justification_and_expiry(sample_html: str) -> None:
    """A waiver's approver, justification and expiry are on its row, with EXPIRED when expired."""
    for result in load_sample()["results"]:
        waiver = result["waiver"]
        if waiver is None:
            continue
        row = row_html(sample_html, result_anchor(result["control"], result["resource"]))
        assert waiver["approved_by"] in row
        assert waiver["expires"] in row
        assert waiver["justification"] in row
        assert ("EXPIRED" in row) == waiver["expired"]


def test_result_row_shows_observed_expected_and_sources(sample_html: str) -> None:
    """A row lists observed values as key/values (nested as JSON) and its cited sources."""
    result = next(r for r in load_sample()["results"] if r["observed"].get("firewall_rules"))
    row = row_html(sample_html, result_anchor(result["control"], result["resource"]))
    assert "<dt>firewall_rules</dt>" in row
    assert "&#34;AllowAllWindowsAzureIps&#34;" in row  # nested value as JSON text
    assert "<dt>public_network_access</dt> <dd>Enabled</dd>" in row
    for source in result["sources"]:
        assert f'title="{source["sha256"]}"' in row
        assert source["sha256"][:12] in row
        assert source["api_version"] in row


def test_header_shows_run_identity_policy_and_scope(sample_html: str) -> None:
    """The header carries when, what, where and under which policy and scope the run audited."""
    run = load_sample()["run"]
    for text in (
        "2026-11-29 02:00:00 UTC",
        "2026-11-29 02:01:10 UTC",
        run["tool"]["version"],
        run["tool"]["git_commit"],
        run["config"]["path"],
        run["config"]["sha256"],
        run["machine"]["fqdn"],
        run["policy"]["min_tls"],
        "192.0.2.0/24",
        run["scope"]["azure"]["endpoint"],
        run["scope"]["azure"]["subscriptions"][0]["id"],
        "master databases are system databases and not evaluated",
        "judged as of 2026-11-28",
    ):
        assert text in sample_html, text


def test_subscriptions_the_credential_cannot_see_are_called_out() -> None:
    """Configured subscriptions the credential cannot see are flagged in the scope."""
    bundle = load_sample()
    bundle["run"]["scope"]["azure"]["missing_subscriptions"] = ["0000dead-0000-4000-8000-000000000000"]
    assert "Not visible to the credential" not in render_html(load_sample())
    html = render_html(bundle)
    assert "Not visible to the credential" in html
    assert "0000dead-0000-4000-8000-000000000000" in html


def test_everything_is_visible_without_javascript(sample_html: str) -> None:
    """Without JavaScript nothing is hidden except the filter bar that needs it."""
    hidden = re.findall(r"<[a-z]+\b[^>]*\shidden\b[^>]*>", sample_html)
    assert hidden == ['<div id="filters" class="filters" hidden>']  # only the JS-driven filter bar
    assert sample_html.count('<tr class="result ') == len(load_sample()["results"])


def test_replay_banner_only_in_replay_mode(sample_html: str) -> None:
    """The REPLAY banner appears exactly when the run replayed a recording."""
    assert "REPLAY of a recording" in sample_html
    bundle = load_sample()
    bundle["run"]["mode"] = "live"
    bundle["run"]["recording"] = None
    assert "REPLAY of a recording" not in render_html(bundle)


def test_inconsistent_counts_are_flagged() -> None:
    """Stated counts that disagree with the results are called out on the page."""
    bundle = load_sample()
    bundle["summary"]["fail"] += 1
    html = render_html(bundle)
    assert "Inconsistent evidence bundle" in html
    assert "Inconsistent evidence bundle" not in render_html(load_sample())


def test_rendering_is_deterministic_and_written_to_file(tmp_path: Path, sample_html: str) -> None:
    """Rendering is deterministic and write_html leaves exactly the report behind."""
    assert render_html(load_sample()) == sample_html
    target = tmp_path / "out" / "report.html"
    write_html(load_sample(), target)
    assert target.read_text(encoding="utf-8") == sample_html
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


# --- scale ----------------------------------------------------------------------------------------


def large_bundle(n: int) -> dict[str, Any]:
    """Return the sample with its results replaced by `n` synthetic ones across its controls."""
    bundle = load_sample()
    template = {r["control"]: r for r in bundle["results"]}
    controls = [c["id"] for c in bundle["controls"]]
    mix = ["pass"] * 90 + ["fail"] * 5 + ["error"] * 2 + ["not_applicable"] * 2 + ["waived"]
    results = []
    for i in range(n):
        base = template[controls[i % len(controls)]]
        status = mix[i % len(mix)]
        result = copy.deepcopy(base)
        result.update(
            resource=f"{base['resource']}/item-{i:05d}",
            status=status,
            message=f"synthetic result {i} ({status})",
            observed={"index": i, "state": status, "rules": [{"name": f"r{i}", "start": "192.0.2.1"}]},
            waiver=(
                {
                    "resource_pattern": "*",
                    "justification": "bulk test",
                    "approved_by": "Test",
                    "expires": "2027-01-31",
                    "expired": False,
                }
                if status == "waived"
                else None
            ),
        )
        results.append(result)
    bundle["results"] = results
    recount(bundle)
    return bundle


def test_ten_thousand_results_render(capsys: pytest.CaptureFixture[str]) -> None:
    """A 10,000-result bundle renders (time printed, not asserted)."""
    bundle = large_bundle(10_000)
    started = time.perf_counter()
    html = render_html(bundle)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nrendered 10,000 results in {elapsed:.2f} s ({len(html) / 1e6:.1f} MB of HTML)")
    assert html.count('<tr class="result ') == 10_000
    assert "Inconsistent evidence bundle" not in html
