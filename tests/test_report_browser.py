"""The HTML evidence report in a real browser: Debian's headless Chromium driven by Playwright.

The report is generated from a realistic bundle (the sample evidence, with hostile resource
names, a change section and ticket actions added) and opened from disk. The tests check what
only a browser can: no console errors and no network request, the filters, deep links to
collapsed results, the print layout and PDF, that hostile names stay text, and the mobile
width. Screenshots of the cover, a failing control and the mobile width are written to
tests/artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.report_scale import CHROMIUM, CHROMIUM_ARGS, scale_bundle
from reports.html import result_anchor, write_html
from tests.audit_runs import run_demo

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"
    ),
]

if CHROMIUM.exists():  # import only where it can run; Playwright's browsers are never downloaded here
    from playwright.sync_api import Browser, Page, expect, sync_playwright

SAMPLE = Path(__file__).with_name("fixtures") / "evidence_sample.json"
SCREENSHOTS = Path(__file__).with_name("artifacts") / "screenshots"
IMG_XSS = "<img src=x onerror=alert(1)>"
SCRIPT_XSS = "</script><script>alert(1)</script>"
HOSTILE_RESOURCE = f"/subscriptions/3f2b9c1e/resourceGroups/rg-x/providers/Microsoft.Sql/servers/{IMG_XSS}"
STATUSES = ("pass", "fail", "error", "waived", "not_applicable")


def report_bundle() -> dict[str, Any]:
    """Return the sample bundle with hostile values, a change section and ticket actions added."""
    bundle: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    failing = next(r for r in bundle["results"] if r["status"] == "fail")
    hostile = copy.deepcopy(failing)
    hostile["resource"] = HOSTILE_RESOURCE
    hostile["message"] = f"tag owner is {SCRIPT_XSS} on {IMG_XSS}"
    hostile["observed"] = {"tags": {"owner": SCRIPT_XSS, "note": IMG_XSS}}
    bundle["results"].append(hostile)
    for control in bundle["controls"]:
        control["counts"] = {
            s: sum(r["control"] == control["id"] and r["status"] == s for r in bundle["results"])
            for s in STATUSES
        }
    bundle["summary"] = {s: sum(r["status"] == s for r in bundle["results"]) for s in STATUSES}
    bundle["summary"]["total"] = len(bundle["results"])
    bundle["changes"] = {
        "baseline": {
            "started_at": "2026-11-28T02:00:00Z",
            "path": "/var/lib/audit/prev",
            "evidence_sha256": "cd" * 32,
        },
        "new_failures": [
            {
                "control": hostile["control"],
                "resource": HOSTILE_RESOURCE,
                "before": None,
                "after": "fail",
                "message": SCRIPT_XSS,
            }
        ],
        "fixed": [],
        "new_resources": [],
        "vanished_resources": [],
    }
    bundle["tickets"] = {
        "mode": "dry-run",
        "backend": "github",
        "actions": [
            {
                "action": "create",
                "fingerprint": "ctlfp-0123456789abcdef",
                "control": hostile["control"],
                "scope": IMG_XSS,
                "ticket": None,
                "url": None,
                "note": SCRIPT_XSS,
            }
        ],
        "wont_fix": [
            {
                "control": "12e.azure-sql-tde",
                "scope": "sub-a",
                "ticket": "#17",
                "url": None,
                "resolution": "not planned",
            }
        ],
        "errors": [],
    }
    return bundle


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of `report_bundle()`, written once for the module."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(report_bundle(), path)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page with everything it logged, requested and tried to show as a dialog."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: self._console(message.type, message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", self._dialog)

    def _console(self, kind: str, text: str) -> None:
        if kind in ("error", "warning"):
            self.console_errors.append(f"{kind}: {text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(str(dialog.message))
        dialog.dismiss()


@pytest.fixture
def opened(browser: Browser, report: Path) -> Iterator[Watched]:
    """The report opened in a fresh 1400x1000 page, loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watched = Watched(context.new_page())
    watched.page.goto(report.as_uri(), wait_until="load")
    yield watched
    context.close()


def visible_rows(page: Page) -> list[str]:
    """Return the ids of the result rows the reader can see (not hidden by a filter or a closed details)."""
    ids: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll("tr.result"))
             .filter(r => r.checkVisibility()).map(r => r.id)"""
    )
    return ids


def anchors_of(bundle: dict[str, Any], keep: Any) -> set[str]:
    """Return the result anchors of the bundle's results for which `keep(result)` holds."""
    return {result_anchor(r["control"], r["resource"]) for r in bundle["results"] if keep(r)}


def test_report_loads_without_console_errors_or_network_requests(opened: Watched, report: Path) -> None:
    """The page loads clean (a CSP violation would be a console error) and requests only itself."""
    opened.page.wait_for_timeout(200)
    assert opened.console_errors == []
    assert opened.requests == [report.as_uri()]
    assert opened.page.locator("#filters").is_visible()


def test_failures_are_open_and_passes_collapsed_on_load(opened: Watched) -> None:
    """On load the reader sees every fail, error and waived row and no pass or not_applicable row."""
    bundle = report_bundle()
    assert set(visible_rows(opened.page)) == anchors_of(
        bundle, lambda r: r["status"] in ("fail", "error", "waived")
    )


def test_status_filter_shows_only_the_chosen_statuses(opened: Watched) -> None:
    """Unticking every status but fail leaves exactly the failing rows, and says how many."""
    page = opened.page
    for status in ("error", "waived", "pass", "not_applicable"):
        page.locator(f'#filters input[value="{status}"]').uncheck()
    bundle = report_bundle()
    failing = anchors_of(bundle, lambda r: r["status"] == "fail")
    assert set(visible_rows(page)) == failing
    assert (
        page.locator("#filter-count").inner_text()
        == f"{len(failing)} of {len(bundle['results'])} results match"
    )
    page.locator('#filters input[value="pass"]').check()
    assert set(visible_rows(page)) == anchors_of(bundle, lambda r: r["status"] in ("fail", "pass"))


def test_clause_filter_shows_only_that_clauses_controls(opened: Watched) -> None:
    """Choosing a clause shows its results (collapsed passes opened) and hides every other control."""
    page = opened.page
    bundle = report_bundle()
    clause = next(c["clause"] for c in bundle["controls"] if c["counts"]["pass"] and c["counts"]["fail"])
    page.locator("#filter-clause").select_option(clause)
    assert set(visible_rows(page)) == anchors_of(bundle, lambda r: r["clause"] == clause)
    shown_controls = page.evaluate(
        """() => Array.from(document.querySelectorAll("article.control"))
             .filter(c => !c.hidden).map(c => c.getAttribute("data-clause"))"""
    )
    assert shown_controls
    assert set(shown_controls) == {clause}


def test_text_filter_finds_a_collapsed_pass_by_its_resource(opened: Watched) -> None:
    """Typing part of a passing resource's id shows that row alone, its details opened."""
    page = opened.page
    bundle = report_bundle()
    target = next(r for r in bundle["results"] if r["status"] == "pass")
    needle = target["resource"].rsplit("/", 1)[-1]
    matching = anchors_of(bundle, lambda r: needle.lower() in json.dumps(r).lower())
    page.locator("#filter-text").fill(needle)
    expect(page.locator("#filter-count")).to_contain_text(" of ")  # the text filter waits 150 ms for typing
    rows = set(visible_rows(page))
    assert result_anchor(target["control"], target["resource"]) in rows
    assert rows <= matching
    page.locator("#filter-reset").click()
    assert set(visible_rows(page)) == anchors_of(bundle, lambda r: r["status"] in ("fail", "error", "waived"))


def test_link_to_a_collapsed_pass_opens_and_scrolls_to_it(browser: Browser, tmp_path: Path) -> None:
    """report.html#result-... of a pass deep in a large report opens its <details> and scrolls to it."""
    bundle = scale_bundle(3_000, 20)
    path = tmp_path / "report.html"
    write_html(bundle, path)
    target = [r for r in bundle["results"] if r["status"] == "pass"][-1]
    anchor = result_anchor(target["control"], target["resource"])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{path.as_uri()}#{anchor}", wait_until="load")
    row = page.locator(f"#{anchor}")
    assert row.is_visible()
    box = row.bounding_box()
    assert box is not None
    assert 0 <= box["y"] < 1000
    assert page.evaluate("window.scrollY") > 10_000
    other = next(r for r in bundle["results"] if r["status"] == "pass")
    other_anchor = result_anchor(other["control"], other["resource"])
    page.evaluate(f"location.hash = '#{other_anchor}'")
    expect(page.locator(f"#{other_anchor}")).to_be_visible()
    expect(page.locator(f"#{other_anchor}")).to_be_in_viewport()
    context.close()


def test_link_to_a_result_hidden_by_a_filter_clears_the_filter(opened: Watched) -> None:
    """Following a result link while a filter hides it resets the filters and shows the row."""
    page = opened.page
    bundle = report_bundle()
    target = next(r for r in bundle["results"] if r["status"] == "pass")
    anchor = result_anchor(target["control"], target["resource"])
    page.locator('#filters input[value="pass"]').uncheck()
    assert anchor not in visible_rows(page)
    page.evaluate(f"location.hash = '#{anchor}'")
    expect(page.locator(f"#{anchor}")).to_be_visible()
    assert page.locator('#filters input[value="pass"]').is_checked()


def test_print_layout_expands_everything_and_hides_the_filter_bar(opened: Watched) -> None:
    """Print media shows every result (even under an active filter), no filter bar; the PDF renders."""
    page = opened.page
    page.locator('#filters input[value="pass"]').uncheck()
    page.emulate_media(media="print")
    assert not page.locator("#filters").is_visible()
    assert len(visible_rows(page)) == len(report_bundle()["results"])
    pdf = page.pdf(format="A4", landscape=True, print_background=True)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 2  # the cover gets a page of its own


def test_without_javascript_everything_but_the_filter_bar_is_readable(browser: Browser, report: Path) -> None:
    """With scripts off the failures are shown, passes open on click, and the filter bar stays hidden."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(report.as_uri(), wait_until="load")
    bundle = report_bundle()
    assert not page.locator("#filters").is_visible()
    assert set(visible_rows(page)) == anchors_of(bundle, lambda r: r["status"] in ("fail", "error", "waived"))
    page.locator("details.group > summary").first.click()
    assert len(visible_rows(page)) > len(
        anchors_of(bundle, lambda r: r["status"] in ("fail", "error", "waived"))
    )
    context.close()


def test_hostile_names_are_shown_as_text_and_run_nothing(opened: Watched) -> None:
    """Markup in resource names, tags, messages, changes and tickets is visible text; no dialog, no <img>."""
    page = opened.page
    page.wait_for_timeout(300)
    assert opened.dialogs == []
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.scripts.length") == 1
    row = page.locator(f"#{result_anchor(report_bundle()['results'][-1]['control'], HOSTILE_RESOURCE)}")
    text = row.inner_text()
    assert IMG_XSS in text
    assert SCRIPT_XSS in text
    assert f"owner&quot;: &quot;{SCRIPT_XSS}" not in text
    body = page.locator("body").inner_text()
    assert body.count(SCRIPT_XSS) >= 4  # row message, observed tag, change message, ticket note
    assert opened.console_errors == []


def test_mobile_width_fits_without_sideways_scrolling(browser: Browser, report: Path) -> None:
    """At 375 px the page needs no horizontal scrolling and the failing rows stack readably."""
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2)
    page = context.new_page()
    page.goto(report.as_uri(), wait_until="load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "mobile-cover.png"))
    page.locator("article.control.has-fail").first.scroll_into_view_if_needed()
    page.evaluate("document.querySelector('article.control.has-fail tr.result').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "mobile-failing-control.png"))
    context.close()
    assert (SCREENSHOTS / "mobile-failing-control.png").stat().st_size > 10_000


BADGE_OVERFLOW_JS = """() => [...document.querySelectorAll('tr.result td:first-child a, td .badge, th .badge')]
  .map(badge => [badge, badge.closest('td,th')])
  .filter(([badge, cell]) => badge.getBoundingClientRect().right > cell.getBoundingClientRect().right + 0.5
      || badge.getBoundingClientRect().left < cell.getBoundingClientRect().left - 0.5)
  .map(([badge]) => badge.textContent)"""
"""Every status badge that sticks out of its table cell (by its text)."""


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("media", ["screen", "print"])
def test_status_badges_stay_inside_their_column(
    browser: Browser, tmp_path: Path, lang: str, media: str
) -> None:
    """At 1280 px and in print, no status badge (VOLDOET NIET is the widest) overflows its cell."""
    path = tmp_path / f"report-{lang}.html"
    write_html(report_bundle(), path, lang=lang)  # type: ignore[arg-type]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.emulate_media(media=media)  # type: ignore[arg-type]
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    badges = page.locator("tr.result td:first-child a").count()
    overflowing = page.evaluate(BADGE_OVERFLOW_JS)
    context.close()
    assert badges > 5
    assert overflowing == []


def test_screenshots_of_the_cover_and_a_failing_control(browser: Browser, report: Path) -> None:
    """Desktop screenshots of the cover (en and nl) and of the first failing control, for a person to read."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(report.as_uri(), wait_until="load")
    page.screenshot(path=str(SCREENSHOTS / "cover.png"))
    page.evaluate("document.querySelector('article.control.has-fail').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "failing-control.png"))
    dutch = report.with_name("report-nl.html")
    write_html(report_bundle(), dutch, lang="nl")
    page.goto(dutch.as_uri(), wait_until="load")
    page.screenshot(path=str(SCREENSHOTS / "cover-nl.png"))
    page.evaluate("document.querySelector('article.control.has-fail').scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "failing-control-nl.png"))
    context.close()
    for name in ("cover.png", "failing-control.png", "cover-nl.png", "failing-control-nl.png"):
        assert (SCREENSHOTS / name).read_bytes().startswith(b"\x89PNG"), name


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the bundled demo run (`pytest controls/ --demo`), as a user gets it."""
    evidence = tmp_path_factory.mktemp("demo")
    run = run_demo(evidence)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    return evidence / "report.html"


def test_demo_report_screenshots_show_clauses_population_evidence_and_waivers(
    browser: Browser, demo_report: Path
) -> None:
    """Screenshots of the demo's report: cover, clause summary, a failing control's population, a waiver."""
    bundle = json.loads(demo_report.with_name("evidence.json").read_text(encoding="utf-8"))
    waived = next(r for r in bundle["results"] if r["status"] == "waived")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(demo_report.as_uri(), wait_until="load")
    page.screenshot(path=str(SCREENSHOTS / "demo-cover.png"))
    page.goto(demo_report.as_uri() + "#summary", wait_until="load")
    summary = page.locator("table.summary")
    assert summary.is_visible()
    assert "Onze web- en databaseservers" in summary.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "demo-clauses.png"))
    page.goto(demo_report.as_uri() + "#control-12d.app-login-scope", wait_until="load")
    control = page.locator('[id="control-12d.app-login-scope"]')
    text = control.inner_text()
    assert "billing_app" in text
    assert "SUPERUSER" in text
    page.screenshot(path=str(SCREENSHOTS / "demo-failing-control.png"))
    anchor = result_anchor(waived["control"], waived["resource"])
    page.goto(demo_report.as_uri() + "#" + anchor, wait_until="load")
    row = page.locator(f'[id="{anchor}"]')
    assert row.is_visible()
    assert waived["waiver"]["approved_by"] in row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "demo-waiver.png"))
    dutch = demo_report.with_name("report-nl.html")
    write_html(bundle, dutch, lang="nl")  # the same night, rendered in Dutch from its findings
    page.goto(dutch.as_uri() + "#control-12d.app-login-scope", wait_until="load")
    assert "voldoet niet" in page.locator('[id="control-12d.app-login-scope"]').inner_text().lower()
    page.screenshot(path=str(SCREENSHOTS / "demo-failing-control-nl.png"))
    context.close()
    assert watched.console_errors == []
    assert all(url.startswith("file://") for url in watched.requests)
    for name in (
        "demo-cover.png",
        "demo-clauses.png",
        "demo-failing-control.png",
        "demo-waiver.png",
        "demo-failing-control-nl.png",
    ):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name
