"""6d.tracking-after-consent: pages opened in Debian's headless Chromium against a real nginx on loopback.

One module run starts the shop and the analytics stand-in (demo/standins/tracking_sites.py),
maps www.google-analytics.com to loopback with Chromium's host resolver rules (nothing leaves
the machine), opens every page once through the real collector with recording on, and each test
judges one page with the control. The recorded visits are replayed and judged again. The pure
parts (site of a host, tracker lookup by parent domain, declared cookie names, Set-Cookie names,
the config keys) are tested without a browser.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config.inventory import EndpointEntry
from collectors.config.tracking import TrackingSettings
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from collectors.recording import check_tracking_part
from collectors.tracking.facts import (
    NO_SUFFIX_RULES,
    WEB_PAGES,
    CookieSeen,
    PageTarget,
    PageVisit,
    RequestSeen,
    cookie_allowed,
    registrable_domain,
    set_cookie_names,
)
from collectors.tracking.pages import (
    SUFFIX_LIST,
    collect_tracking,
    pages_to_visit,
    published_endpoints,
    suffix_rules,
)
from collectors.tracking.trackerdb import DATABASE, tracker_database
from collectors.tracking.update_trackerdb import PACKAGE, PINNED_INTEGRITY, PINNED_VERSION
from controls.harness.config_file import AuditConfig
from controls.test_6d_tracking_consent import test_page_tracks_nobody_before_consent as tracking_control
from demo.standins.tracking_sites import TrackingSites
from tests.control_calls import verdict

CHROMIUM = Path("/usr/bin/chromium")
browser_only = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"
)


@dataclasses.dataclass
class Observed:
    sites: TrackingSites
    subjects: dict[str, Subject[object]]
    recorded: list[dict[str, Any]]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    folder = tmp_path_factory.mktemp("tracking")
    with TrackingSites(folder) as sites:
        config = AuditConfig(
            path=folder / "audit.toml",
            sha256="0" * 64,
            endpoints=[
                EndpointEntry(
                    url=sites.shop_url,
                    pages=[
                        "/tracks-at-once.html",
                        "/asks-consent.html",
                        "/tracks-later.html",
                        "/missing.html",
                    ],
                    allowed_cookies=["PHPSESSID"],
                ),
                # Nothing listens there: the port was free when the shop started and is left unused.
                EndpointEntry(url=f"https://127.0.0.1:{unused_port()}/", pages=["/"]),
            ],
        )
        store = FactStore()
        recorded: list[dict[str, Any]] = []
        collect_tracking(
            config,
            store,
            record=recorded.extend,
            browser_args=[sites.host_resolver_rules()],
            settle_timeout=5.0,
        )
        subjects = {subject.id: subject for subject in store.population(WEB_PAGES).subjects}
        yield Observed(sites, subjects, recorded)


def unused_port() -> int:
    from demo.standins.loopback import free_port

    return free_port()


def visit_of(observed: Observed, path: str) -> PageVisit:
    subject = observed.subjects[observed.sites.page_url(path)]
    assert isinstance(subject.fact, PageVisit), subject.error
    return subject.fact


@browser_only
def test_page_loading_analytics_at_once_fails_naming_the_tracker(observed: Observed) -> None:
    visit = visit_of(observed, "/tracks-at-once.html")
    result = verdict(tracking_control, visit)
    assert result.status == "fail"
    finding = english_text(result.stated)
    assert "www.google-analytics.com, Google Analytics (site_analytics, Google), before consent" in finding
    assert "cookie _ga (127.0.0.1) is set before consent and not declared strictly necessary" in finding
    assert "cookie _gid (google-analytics.com) of Google Analytics" in finding
    assert "PHPSESSID" not in finding  # declared strictly necessary


@browser_only
def test_third_party_tracking_cookie_refused_by_the_browser_is_still_seen(observed: Observed) -> None:
    visit = visit_of(observed, "/tracks-at-once.html")
    gid = next(c for c in visit.cookies if c.name == "_gid")
    assert gid.third_party
    assert not gid.stored
    assert gid.tracker is not None


@browser_only
def test_page_loading_analytics_from_a_timer_after_the_load_event_fails(observed: Observed) -> None:
    visit = visit_of(observed, "/tracks-later.html")
    result = verdict(tracking_control, visit)
    assert result.status == "fail", "the tracker comes 2.5 s after load, after the network went idle"
    assert "www.google-analytics.com" in result.message
    assert visit.waited_seconds >= 4.0


@browser_only
def test_a_watch_ending_at_the_first_idle_network_misses_the_timer(tmp_path: Path) -> None:
    """The failing configuration the observation window exists for: observe_seconds = 0."""
    with TrackingSites(tmp_path) as sites:
        config = AuditConfig(
            path=tmp_path / "audit.toml",
            sha256="0" * 64,
            endpoints=[
                EndpointEntry(url=sites.shop_url, pages=["/tracks-later.html"], allowed_cookies=["PHPSESSID"])
            ],
            tracking=TrackingSettings(observe_seconds=0),
        )
        store = FactStore()
        collect_tracking(config, store, browser_args=[sites.host_resolver_rules()], settle_timeout=5.0)
        (subject,) = store.population(WEB_PAGES).subjects
    assert isinstance(subject.fact, PageVisit), subject.error
    assert verdict(tracking_control, subject.fact).status == "pass", "the blind spot observe_seconds closes"


@browser_only
def test_page_loading_analytics_only_after_consent_click_passes(observed: Observed) -> None:
    visit = visit_of(observed, "/asks-consent.html")
    assert visit.third_party_requests == ()
    assert [c.name for c in visit.cookies] == ["PHPSESSID"]
    assert verdict(tracking_control, visit).status == "pass"


@browser_only
def test_declared_session_cookie_passes_and_undeclared_fails(observed: Observed) -> None:
    visit = visit_of(observed, "/asks-consent.html")
    assert verdict(tracking_control, visit).status == "pass"
    undeclared = dataclasses.replace(visit, target=dataclasses.replace(visit.target, allowed_cookies=()))
    result = verdict(tracking_control, undeclared)
    assert result.status == "fail"
    assert "cookie PHPSESSID (127.0.0.1) is set before consent and not declared" in english_text(
        result.stated
    )


@browser_only
def test_unreachable_page_is_error(observed: Observed) -> None:
    unreachable = [s for s in observed.subjects.values() if "/missing.html" not in s.id and s.fact is None]
    assert len(unreachable) == 1
    assert "could not be loaded" in english_text(unreachable[0].error or "")


@browser_only
def test_page_answering_404_is_error_not_a_pass(observed: Observed) -> None:
    subject = observed.subjects[observed.sites.page_url("/missing.html")]
    assert subject.fact is None
    assert "answered HTTP 404" in english_text(subject.error or "")


@browser_only
def test_recorded_visits_replay_to_the_live_verdicts(observed: Observed, tmp_path: Path) -> None:
    document = json.loads(json.dumps(observed.recorded))
    check_tracking_part(document)
    assert "3f9c2a" not in json.dumps(document)  # a cookie's value is never recorded
    assert "GA1.1" not in json.dumps(document)
    store = FactStore()
    config = AuditConfig(path=tmp_path / "audit.toml", sha256="0" * 64)
    collect_tracking(config, store, replaying=True, recorded=document)
    replayed = {s.id: s for s in store.population(WEB_PAGES).subjects}
    assert replayed.keys() == observed.subjects.keys()
    for page_id, subject in observed.subjects.items():
        again = replayed[page_id]
        assert again.fact == subject.fact
        assert (again.error is None) == (subject.error is None)
        if subject.fact is not None:
            assert verdict(tracking_control, again.fact) == verdict(tracking_control, subject.fact)


# --- without a browser ------------------------------------------------------------------------------


def visit(cookies: tuple[CookieSeen, ...] = (), requests: tuple[RequestSeen, ...] = ()) -> PageVisit:
    return PageVisit(
        target=PageTarget("https://shop.example.nl/", "https://shop.example.nl/", ("PHPSESSID", "wp-*")),
        final_url="https://shop.example.nl/",
        status=200,
        settled=True,
        waited_seconds=0.6,
        cookies=cookies,
        third_party_requests=requests,
        tracker_database=tracker_database().source,
    )


def test_request_to_a_non_tracking_third_party_passes() -> None:
    fonts = RequestSeen(
        "fonts.googleapis.com", 1, ("stylesheet",), tracker_database().match("fonts.googleapis.com")
    )
    assert fonts.tracker is not None
    assert fonts.tracker.category == "hosting"
    assert verdict(tracking_control, visit(requests=(fonts,))).status == "pass"


def test_request_to_a_tracker_subdomain_fails() -> None:
    host = "region1.analytics.google-analytics.com"
    result = verdict(
        tracking_control, visit(requests=(RequestSeen(host, 3, ("xhr",), tracker_database().match(host)),))
    )
    assert result.status == "fail"
    assert "3 requests to region1.analytics.google-analytics.com" in english_text(result.stated)


def test_declared_cookie_prefix_passes() -> None:
    cookie = CookieSeen("wp-settings-1", "shop.example.nl", False, None, True)
    assert verdict(tracking_control, visit(cookies=(cookie,))).status == "pass"


def test_tracker_lookup_is_by_parent_domain_never_by_substring() -> None:
    database = tracker_database()
    assert database.match("www.google-analytics.com") is not None
    assert database.match("notgoogle-analytics.com") is None
    assert database.match("google-analytics.com.example.nl") is None
    assert database.match("127.0.0.1") is None


def test_site_of_a_host_follows_the_public_suffix_list() -> None:
    rules = suffix_rules() if SUFFIX_LIST.exists() else None
    assert registrable_domain("www.shop.example.nl", NO_SUFFIX_RULES) == "example.nl"
    if rules is not None:
        assert registrable_domain("www.shop.co.uk", rules) == "shop.co.uk"
        assert registrable_domain("a.b.azurewebsites.net", rules) == "b.azurewebsites.net"
    assert registrable_domain("127.0.0.1", NO_SUFFIX_RULES) == "127.0.0.1"


def test_cookie_names_are_matched_exactly_or_by_declared_prefix() -> None:
    assert cookie_allowed("PHPSESSID", ["PHPSESSID"])
    assert not cookie_allowed("PHPSESSID2", ["PHPSESSID"])
    assert cookie_allowed("wp-settings-3", ["wp-*"])


def test_set_cookie_header_gives_names_and_domains_never_values() -> None:
    header = "_gid=GA1.1.987; Domain=.google-analytics.com; Secure\nNID=x; Path=/"
    assert set_cookie_names(header, "www.google.com") == [
        ("_gid", "google-analytics.com"),
        ("NID", "www.google.com"),
    ]


def test_endpoint_pages_and_allowed_cookies_are_checked_in_the_config() -> None:
    entry = EndpointEntry(
        url="https://shop.example.nl/", pages=["/", "/contact"], allowed_cookies=["PHPSESSID"]
    )
    assert entry.pages == ["/", "/contact"]
    for bad in (
        {"pages": ["contact"]},
        {"pages": ["/", "/"]},
        {"allowed_cookies": ["PHPSESSID"]},
        {"pages": ["/"], "allowed_cookies": ["a b"]},
    ):
        with pytest.raises(ValidationError):
            EndpointEntry.model_validate({"url": "https://shop.example.nl/", **bad})
    with pytest.raises(ValidationError):
        EndpointEntry(url="tls://mail.example.nl:25", starttls="smtp", pages=["/"])


def test_no_pages_configured_is_out_of_scope(tmp_path: Path) -> None:
    store = FactStore()
    config = AuditConfig(
        path=tmp_path / "audit.toml", sha256="0" * 64, endpoints=[EndpointEntry(url="https://a.example/")]
    )
    assert collect_tracking(config, store) == []
    assert "no [[endpoints]] entry lists pages" in english_text(
        store.population(WEB_PAGES).out_of_scope or ""
    )


def test_shipped_tracker_database_is_the_pinned_package() -> None:
    data = json.loads(DATABASE.read_text(encoding="utf-8"))
    assert data["source"] == f"npm:{PACKAGE}@{PINNED_VERSION}"
    assert data["integrity"] == PINNED_INTEGRITY
    assert data["license"] == "CC-BY-NC-SA-4.0"
    assert data["trackers"][data["domains"]["google-analytics.com"]][:2] == [
        "Google Analytics",
        "site_analytics",
    ]
    assert len(data["domains"]) > 4000


def _pages_config(tmp_path: Path, azure: str) -> Any:
    from controls.harness.config_file import load_config

    path = tmp_path / "audit.toml"
    path.write_text(
        '[[endpoints]]\nurl = "https://www.klant.nl/"\npages = ["/", "/contact"]\nallowed_cookies = ["PHPSESSID"]\n'
        + azure,
        encoding="utf-8",
    )
    return load_config(path)


PUBLISHED = [
    DiscoveredEndpoint("shop.azurewebsites.net", 443, "app-service", "/subscriptions/s/sites/shop"),
    DiscoveredEndpoint("shop.scm.azurewebsites.net", 443, "app-service-scm", "/subscriptions/s/sites/shop"),
    DiscoveredEndpoint("www.klant.nl", 443, "app-service", "/subscriptions/s/sites/klant"),
    DiscoveredEndpoint("sql1.database.windows.net", 1433, "azure-sql", "/subscriptions/s/servers/sql1"),
]


def test_app_service_home_pages_are_opened_only_when_asked(tmp_path: Path) -> None:
    off = _pages_config(tmp_path, '[azure]\nendpoint = "https://management.azure.com"\n')
    assert [t.url for t in pages_to_visit(off, PUBLISHED)] == [
        "https://www.klant.nl/",
        "https://www.klant.nl/contact",
    ]
    on = _pages_config(
        tmp_path, '[azure]\nendpoint = "https://management.azure.com"\nopen_discovered_pages = true\n'
    )
    targets = pages_to_visit(on, PUBLISHED)
    assert [t.url for t in targets] == [
        "https://www.klant.nl/",
        "https://www.klant.nl/contact",
        "https://shop.azurewebsites.net/",
    ], "the Kudu (.scm.) site and SQL endpoints are no web pages; a configured page keeps its allowed cookies"
    assert targets[0].allowed_cookies == ("PHPSESSID",)
    assert (targets[2].endpoint, targets[2].allowed_cookies) == ("/subscriptions/s/sites/shop", ())


def test_the_published_endpoints_are_read_from_the_azure_population(tmp_path: Path) -> None:
    store = FactStore()
    for endpoint in PUBLISHED:
        store.population(AZURE_ENDPOINTS).add(Subject(id=f"{endpoint.host}:{endpoint.port}", fact=endpoint))
    assert published_endpoints(store) == PUBLISHED
    assert published_endpoints(FactStore()) == []
