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
from markupsafe import escape

from bench.report_scale import scale_bundle
from reports.html import STATUS_ORDER, build_view, clause_sort_key, render_html, result_anchor, write_html
from reports.i18n.translation import Language
from tests.catalog_texts import english_sentences

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
    """Return the markup of the result row whose id is `anchor` (rows omit their optional </tr>)."""
    at = html.index(f'id="{anchor}"')
    ends = [i for i in (html.find("<tr", at), html.find("</tbody>", at)) if i != -1]
    return html[html.rindex("<tr", 0, at) : min(ends)]


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


def test_result_row_shows_observed_values_and_its_sources_in_full(sample_html: str) -> None:
    """A row lists observed values as `key = value` lines (nested as JSON) and each source's call,
    api-version, HTTP status, UTC time and whole sha256."""
    result = next(r for r in load_sample()["results"] if r["observed"].get("firewall_rules"))
    row = row_html(sample_html, result_anchor(result["control"], result["resource"]))
    assert "firewall_rules = [" in row
    assert "&#34;AllowAllWindowsAzureIps&#34;" in row  # nested value as JSON text
    assert "public_network_access = Enabled" in row
    for source in result["sources"]:
        assert f"<samp>{source['sha256']}</samp>" in row
        assert f"api-version={source['api_version']}" in row
        assert source["collected_at"] in row
        assert f" · {source['status']} · " in row
    assert row.count("<p><code>GET ") == len(result["sources"])


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
    assert len(hidden) == 1
    assert hidden[0].startswith('<div id="filters" class="filters" hidden ')  # the JS filter bar
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


# --- language -------------------------------------------------------------------------------------


def test_dutch_report_speaks_dutch_and_leads_with_the_statements_text() -> None:
    """In nl every interface phrase is Dutch, statuses have Dutch names and the Dutch clause leads."""
    html = render_html(load_sample(), lang="nl")
    assert '<html lang="nl">' in html
    for phrase in (
        "Voorblad",
        "Samenvatting per clausule van het statement",
        "Geldend beleid",
        "VOLDOET NIET",
    ):
        assert phrase in html, phrase
    in_bundle = json.dumps(load_sample(), ensure_ascii=False)
    english_only = [text for text in english_sentences() if text not in in_bundle]
    assert english_only
    leaked = [phrase for phrase in english_only if escape(phrase) in html]
    assert leaked == []
    control = next(c for c in load_sample()["controls"] if c["clause_text_nl"])
    section = html[html.index(f'id="control-{control["id"]}"') :]
    assert section.index('<blockquote lang="nl">') < section.index('<p class="en" lang="en">')


def test_english_report_leads_with_the_english_rendering_and_still_quotes_the_dutch() -> None:
    """In en the English rendering comes first and the Dutch clause text is still on the page."""
    html = render_html(load_sample(), lang="en")
    assert '<html lang="en">' in html
    control = next(c for c in load_sample()["controls"] if c["clause_text_nl"])
    section = html[html.index(f'id="control-{control["id"]}"') :]
    assert section.index('<p class="en" lang="en">') < section.index('<blockquote lang="nl">')
    assert escape(control["clause_text_nl"]) in section
    assert "Voorblad" not in html
    assert "VOLDOET NIET" not in html


def test_unknown_report_language_is_refused() -> None:
    """A language the report does not speak is an error, not a silently English page."""
    with pytest.raises(ValueError, match="language must be one of en, nl"):
        render_html(load_sample(), lang="de")  # type: ignore[arg-type]


def test_write_html_renders_in_the_requested_language(tmp_path: Path) -> None:
    """write_html passes the language through to the page it writes."""
    target = tmp_path / "report.html"
    write_html(load_sample(), target, lang="nl")
    assert '<html lang="nl">' in target.read_text(encoding="utf-8")


# --- cover ----------------------------------------------------------------------------------------


def cover_of(html: str) -> str:
    """Return the cover section of a rendered page."""
    return html[html.index('<section class="cover"') : html.index('<h2 id="scope">')]


def test_cover_counts_the_scope_and_says_what_is_not_recorded() -> None:
    """The cover counts subscriptions, hosts, endpoints, databases; unrecorded figures say so."""
    bundle = load_sample()
    scope = bundle["run"]["scope"]
    scope["hosts"] = {"hosts": ["web01", "web02", "db01"], "in_error": ["db01"]}
    scope["populations"]["tls.endpoints"] = {"count": 7, "out_of_scope": None, "notes": []}
    scope["databases"] = {
        "servers": [
            {
                "name": "pg-main",
                "engine": "postgresql",
                "endpoint": "10.0.0.5:5432",
                "databases": 4,
                "status": "ok",
            },
            {
                "name": "sql-01",
                "engine": "sqlserver",
                "endpoint": "10.0.0.6:1433",
                "databases": 3,
                "status": "error",
            },
        ],
        "applications": 5,
    }
    cover = cover_of(render_html(bundle))
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd><strong>(\d+)</strong>", cover))
    assert figures["Azure subscriptions"] == str(len(scope["azure"]["subscriptions"]))
    assert figures["Servers (SSH)"] == "3"
    assert figures["Endpoints"] == "7"
    assert figures["Database servers"] == "2"
    assert figures["Databases"] == "7"
    assert figures["Applications"] == "5"
    assert figures["Results (control × resource)"] == str(len(bundle["results"]))
    assert "1 could not be read: db01" in cover
    assert re.search(r"<dt>Azure tenants</dt><dd><span class=\"none\">not recorded in the bundle", cover)
    assert re.search(r"<dt>Azure credential</dt><dd><span class=\"none\">not recorded in the bundle", cover)


def test_cover_names_tenants_and_credential_kind_when_the_bundle_has_them() -> None:
    """Tenant ids (from the subscriptions) and the Azure credential kind appear when recorded."""
    bundle = load_sample()
    azure = bundle["run"]["scope"]["azure"]
    for subscription in azure["subscriptions"]:
        subscription["tenant_id"] = "72f988bf-0000-4000-8000-000000000001"
    azure["credential"] = "default (managed identity)"
    cover = cover_of(render_html(bundle))
    assert "<dt>Azure tenants</dt><dd><strong>1</strong>" in cover
    assert "72f988bf-0000-4000-8000-000000000001" in cover
    assert "<dt>Azure credential</dt><dd>default (managed identity)</dd>" in cover


def test_cover_shows_when_where_who_and_which_version() -> None:
    """Run start/end in UTC, vantage point, OS user, tool version, git commit and config hash."""
    run = load_sample()["run"]
    cover = cover_of(render_html(load_sample()))
    for text in (
        "2026-11-29 02:00:00 UTC",
        "2026-11-29 02:01:10 UTC",
        run["machine"]["hostname"],
        run["machine"]["fqdn"],
        run["machine"]["platform"],
        f"<dt>OS user</dt><dd>{run['machine']['user']}</dd>",
        run["tool"]["version"],
        run["tool"]["git_commit"],
        run["config"]["sha256"],
        "<dt>min_tls</dt><dd>1.2</dd>",
    ):
        assert text in cover, text


# --- summary per clause ---------------------------------------------------------------------------


def test_clause_summary_gives_both_texts_iso_references_and_counts(sample_html: str) -> None:
    """Each clause row carries its Dutch and English text, the union of ISO refs and status counts."""
    bundle = load_sample()
    for clause in {c["clause"] for c in bundle["controls"]}:
        controls = [c for c in bundle["controls"] if c["clause"] == clause]
        at = sample_html.index(f'<tr data-clause="{clause}">')
        row = sample_html[at : sample_html.index("</tr>", at)]
        assert str(escape(controls[0]["clause_text_nl"])) in row
        assert str(escape(controls[0]["clause_text_en"])) in row
        for reference in {ref for c in controls for ref in c["iso27001"]}:
            assert reference in row
        cells = re.findall(r'<td class="n[^"]*" data-label="[^"]*">(\d+)</td>', row)
        results = [r for r in bundle["results"] if r["clause"] == clause]
        assert [int(n) for n in cells] == [sum(r["status"] == s for r in results) for s in STATUS_ORDER] + [
            len(results)
        ]


# --- per control ----------------------------------------------------------------------------------


def two_results_bundle(expected: list[dict[str, Any]], shared_source: bool) -> dict[str, Any]:
    """Return the sample reduced to one control with two results (given expectations, shared source?)."""
    bundle = load_sample()
    first = next(r for r in bundle["results"] if len(r["sources"]) >= 1)
    results = []
    for n, exp in enumerate(expected):
        result = copy.deepcopy(first)
        result["resource"] = f"{first['resource']}-{n}"
        result["status"] = "fail"
        result["waiver"] = None
        result["expected"] = exp
        own = dict(
            first["sources"][0],
            call=f"GET https://management.azure.com{result['resource']}?api-version=2023-08-01",
        )
        own["sha256"] = hashlib.sha256(own["call"].encode()).hexdigest()
        listing = dict(first["sources"][0], call="GET https://management.azure.com/subscriptions/x/servers")
        result["sources"] = [own, listing] if shared_source else [own]
        results.append(result)
    bundle["results"] = results
    bundle["controls"] = [c for c in bundle["controls"] if c["id"] == first["control"]]
    recount(bundle)
    return bundle


def test_an_expectation_shared_by_every_result_is_stated_once_on_the_control() -> None:
    """Identical expected values go on the control, not into a per-row column."""
    same = {"minimal_tls_version": ">= 1.2"}
    html = render_html(two_results_bundle([same, same], shared_source=False))
    assert html.count("minimal_tls_version = &gt;= 1.2") == 1
    assert "expected (every resource)" in html
    assert '<table class="results">' in html


def test_differing_expectations_get_a_per_row_column() -> None:
    """When results expect different things, each row shows its own expectation."""
    html = render_html(two_results_bundle([{"min": "1.2"}, {"min": "1.3"}], shared_source=False))
    assert "expected (every resource)" not in html
    assert '<table class="results per-row">' in html
    assert "min = 1.2" in html
    assert "min = 1.3" in html


def test_a_source_cited_by_several_results_is_listed_once_and_referenced() -> None:
    """A shared listing call appears once under the control, with its full sha256, as S1."""
    bundle = two_results_bundle([{}, {}], shared_source=True)
    listing = bundle["results"][0]["sources"][1]
    html = render_html(bundle)
    assert html.count(listing["call"]) == 1
    shared = html[html.index('<ol class="shared">') :]
    assert f"sha256 {listing['sha256']}" in shared
    assert "×2" in shared
    for result in bundle["results"]:
        row = row_html(html, result_anchor(result["control"], result["resource"]))
        assert re.search(r'<a href="#(s\d+-1)">S1</a>', row)
        assert f"<samp>{result['sources'][0]['sha256']}</samp>" in row


def test_a_call_naming_the_rows_resource_abbreviates_it() -> None:
    """The row's own resource id inside its call is replaced by a marker; the rest stays verbatim."""
    bundle = two_results_bundle([{}, {}], shared_source=False)
    html = render_html(bundle)
    result = bundle["results"][0]
    row = row_html(html, result_anchor(result["control"], result["resource"]))
    assert "<code>GET https://management.azure.com<i></i>?api-version=2023-08-01</code>" in row
    assert f"<code>{escape(result['resource'])}</code>" in row
    assert "⟨resource⟩" in html  # the marker's text, from the page's CSS


def test_not_applicable_reasons_are_shown(sample_html: str) -> None:
    """A not_applicable result shows its reason in its (collapsed) row."""
    for result in load_sample()["results"]:
        if result["status"] == "not_applicable":
            row = row_html(sample_html, result_anchor(result["control"], result["resource"]))
            assert str(escape(result["message"])) in row


# --- change since last night ----------------------------------------------------------------------


def changes_bundle() -> dict[str, Any]:
    """Return the sample with a change section: one new failure, one fixed, a new and a vanished resource."""
    bundle = load_sample()
    failing = next(r for r in bundle["results"] if r["status"] == "fail")
    passing = next(r for r in bundle["results"] if r["status"] == "pass")

    def change(result: dict[str, Any], before: str | None, after: str | None) -> dict[str, Any]:
        return {
            "control": result["control"],
            "resource": result["resource"],
            "before": before,
            "after": after,
            "message": result["message"],
        }

    bundle["changes"] = {
        "baseline": {
            "started_at": "2026-11-28T02:00:00Z",
            "path": "/var/lib/audit/20261128T020000Z",
            "evidence_sha256": "ab" * 32,
        },
        "new_failures": [change(failing, "pass", "fail")],
        "fixed": [change(passing, "fail", "pass")],
        "new_resources": [change(passing, None, "pass")],
        "vanished_resources": [
            {
                "control": failing["control"],
                "resource": "/subscriptions/gone/db-old",
                "before": "fail",
                "after": None,
                "message": "",
            }
        ],
    }
    return bundle


def test_without_a_baseline_the_changes_section_says_so(sample_html: str) -> None:
    """No previous bundle: the section says no baseline instead of claiming nothing changed."""
    section = sample_html[sample_html.index('id="changes"') : sample_html.index('<h2 id="summary">')]
    assert "No baseline" in section
    assert "New failures" not in section


def test_changes_list_new_failures_fixed_new_and_vanished_resources() -> None:
    """Each change list is shown with its count; present resources link to their row, vanished ones do not."""
    bundle = changes_bundle()
    html = render_html(bundle)
    section = html[html.index('id="changes"') : html.index('<h2 id="summary">')]
    assert "No baseline" not in section
    assert "ab" * 32 in section
    assert "/var/lib/audit/20261128T020000Z" in section
    for title in ("New failures (1)", "Fixed (1)", "New resources (1)", "Vanished resources (1)"):
        assert title in section, title
    new_failure = bundle["changes"]["new_failures"][0]
    assert f'href="#{result_anchor(new_failure["control"], new_failure["resource"])}"' in section
    for before_after in ("pass → fail", "fail → pass", "— → pass", "fail → —"):
        assert before_after in section, before_after
    assert f'href="#{result_anchor(new_failure["control"], "/subscriptions/gone/db-old")}"' not in section
    assert "/subscriptions/gone/db-old" in section.replace("<wbr>", "")


# --- tickets --------------------------------------------------------------------------------------


def tickets_bundle(mode: str = "on") -> dict[str, Any]:
    """Return the sample with a tickets section: two actions, one won't-fix ticket, one error."""
    bundle = load_sample()
    bundle["tickets"] = {
        "mode": mode,
        "backend": "jira",
        "actions": [
            {
                "action": "comment",
                "fingerprint": "ctlfp-1",
                "control": "12e.azure-sql-tde",
                "scope": "sub-a",
                "ticket": "SEC-41",
                "url": "https://example.atlassian.net/browse/SEC-41",
                "note": "failing set changed",
            },
            {
                "action": "create",
                "fingerprint": "ctlfp-2",
                "control": "12b.azure-sql-firewall",
                "scope": "sub-b",
                "ticket": None,
                "url": None,
                "note": "new failure",
            },
        ],
        "wont_fix": [
            {
                "control": "12f.azure-sql-min-tls",
                "scope": "sub-a",
                "ticket": "SEC-7",
                "url": None,
                "resolution": "Won't Do",
            }
        ],
        "errors": ["jira: HTTP 401 on POST /rest/api/3/issue (reported once)"],
    }
    return bundle


def test_tickets_section_lists_actions_wont_fix_with_waiver_advice_and_errors() -> None:
    """Actions (creates first), won't-fix tickets with 'consider a waiver', and tracker errors."""
    html = render_html(tickets_bundle())
    section = html[html.index('id="tickets"') : html.index('<h2 id="summary">')].replace("<wbr>", "")
    assert section.index("<strong>create</strong>") < section.index("<strong>comment</strong>")
    for text in ("SEC-41", "Won&#39;t Do", "SEC-7"):
        assert text in section, text
    assert "consider a waiver" in section
    assert "HTTP 401" in section
    assert "https://example.atlassian.net/browse/SEC-41" in section  # as text, not as a link
    assert 'href="https://' not in html


def test_tickets_section_is_absent_without_tickets_and_says_dry_run(sample_html: str) -> None:
    """No tickets key: no section. Dry run: the plan is labelled as not carried out."""
    assert 'id="tickets"' not in sample_html
    assert "none was carried out" in render_html(tickets_bundle("dry-run"))
    assert "none was carried out" not in render_html(tickets_bundle("on"))


def test_markup_in_changes_tickets_and_databases_comes_out_escaped() -> None:
    """Hostile values in the newer bundle sections are text, never markup."""
    bundle = tickets_bundle()
    bundle["changes"] = changes_bundle()["changes"]
    bundle["changes"]["new_failures"][0]["message"] = XSS
    bundle["changes"]["vanished_resources"][0]["resource"] = XSS
    bundle["tickets"]["actions"][0]["note"] = XSS
    bundle["tickets"]["actions"][0]["url"] = "javascript:alert(1)"
    bundle["tickets"]["wont_fix"][0]["resolution"] = XSS
    bundle["tickets"]["errors"] = [XSS]
    bundle["run"]["scope"]["databases"] = {
        "servers": [{"name": XSS, "engine": XSS, "endpoint": XSS, "databases": 1, "status": XSS}],
        "applications": 1,
    }
    html = render_html(bundle)
    assert html.count("<script") == 1
    assert "<script>alert" not in html
    assert 'href="javascript:' not in html


# --- scale ----------------------------------------------------------------------------------------


def test_twenty_thousand_results_stay_under_fifteen_megabytes(capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark's 20,000-result bundle renders whole and under 15 MB (time printed)."""
    bundle = scale_bundle(20_000, 60)
    started = time.perf_counter()
    html = render_html(bundle)
    elapsed = time.perf_counter() - started
    size = len(html.encode("utf-8"))
    with capsys.disabled():
        print(f"\nrendered 20,000 results in {elapsed:.2f} s ({size / 1e6:.1f} MB of HTML)")
    assert html.count('<tr class="result ') == 20_000
    assert size < 15_000_000
    assert "Inconsistent evidence bundle" not in html


def test_benchmark_bundle_is_valid_evidence() -> None:
    """The benchmark's generated bundle is schema-valid, so its figures are about real-shaped evidence."""
    errors = [e.message for e in validator().iter_errors(scale_bundle(600, 12))]
    assert errors == []


def test_long_lists_of_new_and_vanished_resources_are_collapsed() -> None:
    """More than 20 new resources sit in a closed <details>; new failures are always open."""
    bundle = changes_bundle()
    template = bundle["changes"]["new_resources"][0]
    bundle["changes"]["new_resources"] = [dict(template, resource=f"/r/{n}") for n in range(21)]
    html = render_html(bundle)
    section = html[html.index('id="changes"') : html.index('<h2 id="summary">')]
    assert '<details class="changed"><summary><h3>New resources (21)</h3>' in section
    assert "<h3>New failures (1)</h3>" in section
    assert '<details class="changed"><summary><h3>Vanished' not in section


# --- unusable baseline, waivers and Azure-published endpoints on the cover ------------------------


def test_an_unusable_baseline_is_named_in_the_changes_section_not_called_absent() -> None:
    bundle = load_sample()
    bundle["changes"] = {
        "unusable_baseline": {
            "path": "/var/lib/audit/20261128T020000Z",
            "reason": "/var/lib/audit/20261128T020000Z/evidence.json: not valid JSON (Expecting value)",
        }
    }
    validator().validate(bundle)
    wording: tuple[tuple[Language, str], ...] = (
        ("en", "could not be used"),
        ("nl", "kon niet worden gebruikt"),
    )
    for lang, words in wording:
        html = render_html(bundle, lang=lang)
        section = html[html.index('id="changes"') : html.index('<h2 id="summary">')]
        assert 'id="baseline-unusable"' in section
        assert words in section
        assert "/var/lib/audit/20261128T020000Z/evidence.json: not valid JSON" in section
        assert "No baseline" not in section
        assert "Geen basislijn" not in section


def waivers_bundle() -> dict[str, Any]:
    """Return the sample with three configured waivers: a blanket one, a stale one and a plain one."""
    bundle = load_sample()

    def waiver(control: str, resource: str, scope: str, matched: int) -> dict[str, Any]:
        return {
            "control": control,
            "resource": resource,
            "scope": scope,
            "justification": f"why {control}",
            "approved_by": "CISO",
            "expires": "2027-01-31",
            "expired": False,
            "evaluated": True,
            "matched": matched,
            "stale": matched == 0,
        }

    bundle["waivers"] = [
        waiver("12e.azure-sql-tde", "*", "control", 3),
        waiver("12b.azure-sql-firewall", "*/servers/sql-renamed", "resource", 0),
        waiver("8.azure-region", "*/servers/sql-test-uks", "resource", 1),
    ]
    return bundle


def test_cover_lists_blanket_and_stale_waivers_in_both_languages() -> None:
    bundle = waivers_bundle()
    validator().validate(bundle)
    headings: tuple[tuple[Language, str, str], ...] = (
        ("en", "Blanket waivers", "Stale waivers"),
        ("nl", "Algemene uitzonderingen", "Verouderde uitzonderingen"),
    )
    for lang, blanket, stale in headings:
        cover = cover_of(render_html(bundle, lang=lang))
        card = cover[cover.index('id="waivers"') :]
        assert blanket in card
        assert stale in card
        blanket_list = card[
            card.index('class="waivers blanket"') : card.index("</ul>", card.index("blanket"))
        ]
        assert "12e.azure-sql-tde" in blanket_list
        assert "why 12e.azure-sql-tde" in blanket_list
        assert "12b.azure-sql-firewall" not in blanket_list
        stale_list = card[card.index('class="waivers stale"') :]
        assert "12b.azure-sql-firewall" in stale_list
        assert "sql-renamed" in stale_list.replace("<wbr>", "")
        assert (
            "8.azure-region"
            not in card[card.index('class="waivers stale"') : card.index("</ul>", card.index("stale"))]
        )


def test_cover_says_none_when_no_waiver_is_blanket_or_stale() -> None:
    bundle = waivers_bundle()
    bundle["waivers"] = bundle["waivers"][2:]
    card = cover_of(render_html(bundle))
    card = card[card.index('id="waivers"') :]
    assert card.count('<p class="none">none</p>') == 2
    assert "waivers stale" not in card


@pytest.mark.parametrize(
    ("decision", "english", "dutch"),
    [
        pytest.param(
            {
                "setting": "auto",
                "scanned": False,
                "rule": "auto-not-public-cloud",
                "endpoint": "https://arm.proxy.example",
            },
            "<strong>NOT TLS-scanned: only the configured [[endpoints]] are</strong>",
            "<strong>NIET TLS-gescand: alleen de geconfigureerde [[endpoints]]</strong>",
            id="auto-not-scanned",
        ),
        pytest.param(
            {
                "setting": "auto",
                "scanned": True,
                "rule": "auto-public-cloud",
                "endpoint": "https://management.azure.com",
            },
            'TLS-scanned <span class="meta">([azure] scan_discovered_endpoints = auto: https://management.azure.com is a',
            'TLS-gescand <span class="meta">([azure] scan_discovered_endpoints = auto: https://management.azure.com is de',
            id="auto-scanned",
        ),
        pytest.param(
            {"setting": "true", "scanned": True, "rule": "on", "endpoint": "https://arm.proxy.example"},
            'TLS-scanned <span class="meta">([azure] scan_discovered_endpoints = true)',
            'TLS-gescand <span class="meta">([azure] scan_discovered_endpoints = true)',
            id="on",
        ),
        pytest.param(
            {"setting": "false", "scanned": False, "rule": "off", "endpoint": "https://management.azure.com"},
            "<strong>NOT TLS-scanned: only the configured [[endpoints]] are</strong>",
            "<strong>NIET TLS-gescand: alleen de geconfigureerde [[endpoints]]</strong>",
            id="off",
        ),
    ],
)
def test_cover_says_whether_endpoints_published_by_azure_were_tls_scanned(
    decision: dict[str, Any], english: str, dutch: str
) -> None:
    bundle = load_sample()
    bundle["run"]["scope"]["tls_discovery"] = decision
    validator().validate(bundle)
    lines: tuple[tuple[Language, str, str], ...] = (
        ("en", "Endpoints published by Azure", english),
        ("nl", "Door Azure gepubliceerde endpoints", dutch),
    )
    for lang, label, text in lines:
        cover = cover_of(render_html(bundle, lang=lang))
        line = cover[
            cover.index('id="tls-discovery"') : cover.index("</dd>", cover.index('id="tls-discovery"'))
        ]
        assert label in cover
        assert text in line
        assert f"scan_discovered_endpoints = {decision['setting']}" in line
        if decision["rule"] == "auto-not-public-cloud":
            assert "https://arm.proxy.example is" in line


def test_cover_has_no_discovery_line_without_azure() -> None:
    bundle = load_sample()
    bundle["run"]["scope"]["tls_discovery"] = {
        "setting": "",
        "scanned": False,
        "rule": "no-azure",
        "endpoint": None,
    }
    validator().validate(bundle)
    assert 'id="tls-discovery"' not in render_html(bundle)


def test_a_note_shared_by_several_populations_is_shown_once() -> None:
    """The same note on three database populations is one numbered note, referred to from each row."""
    shared = "SQL Server: master, model, msdb, tempdb are system databases and are not judged"
    populations = {
        "databases.servers": {"count": 5, "notes": [shared], "out_of_scope": None},
        "databases.sqlserver_databases": {"count": 5, "notes": [shared, "only ONLINE databases"]},
        "databases.ravendb_databases": {"count": 2, "notes": [shared], "out_of_scope": None},
        "hosts.all": {"count": 9, "notes": [], "out_of_scope": None},
    }
    bundle = load_sample()
    bundle["run"]["scope"]["populations"] = populations
    html = render_html(bundle, lang="en")
    assert html.count(shared) == 1
    assert html.count('href="#population-note-1"') == 3
    view = build_view(bundle)["populations"]
    assert view["shared"] == [
        {
            "number": 1,
            "text": shared,
            "populations": [
                "databases.ravendb_databases",
                "databases.servers",
                "databases.sqlserver_databases",
            ],
        }
    ]
    own = {row["name"]: row["notes"] for row in view["rows"]}
    assert own["databases.sqlserver_databases"] == ["only ONLINE databases"]
    assert own["databases.servers"] == []
