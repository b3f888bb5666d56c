"""Open each configured web page in headless Chromium with no consent given; record cookies and requests.

For every `[[endpoints]]` entry with `pages`, each page is opened in a fresh browser context
(Playwright's isolated, in-memory profile: no cookies, storage or cache from any other page)
of Debian's Chromium, driven by Playwright as reports/pdf.py and the report's browser tests do.
Nothing is clicked, typed or scrolled: whatever the page does is what it does before consent.
The page is watched from its load event for `[tracking] observe_seconds` (5) whatever the
network does (a tracker loaded from a timer after the load event is seen), then until the network
is idle, at most `settle_timeout` seconds more; then the browser's cookies are read (name and domain: a value is
never read into a fact, a recording or a log) and every request sent to a host of another site
is kept by host (no path, no query string: those carry identifiers), each host and cookie
domain looked up in the tracker database (`collectors.tracking.trackerdb`).

Certificate errors are ignored in this browser: the certificate is judged by 6f.endpoint-certificate,
and a browser that refused a third-party host would see less of what the page sends, never more.
A page that does not load (refused, timed out, an HTTP error status) is an `unobservable`
subject: its item is `error`. Collectors never judge: whether a cookie or request is allowed
is the control's decision.

Chromium is looked up as `AUDIT_CHROMIUM` (a path), then chromium, chromium-browser,
google-chrome on PATH, as for the PDF report (`reports.chromium`). Sites are ranked by
registrable domain with the Public Suffix List of Debian's `publicsuffix` package when it is
installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.azure.web import APP_SERVICE_ENDPOINT
from collectors.config.estate import EstateConfig
from collectors.fact_json import subject_to_json
from collectors.facts import FactStore, Subject, observed, unobservable
from collectors.messages import Reason
from collectors.recorded_subjects import rebuild_subject
from collectors.tracking.facts import (
    NO_SUFFIX_RULES,
    WEB_PAGES,
    CookieSeen,
    PageTarget,
    PageVisit,
    RequestSeen,
    SuffixRules,
    normalise_host,
    same_site,
    set_cookie_names,
)
from collectors.tracking.trackerdb import TrackerDatabase, TrackerDatabaseError, tracker_database
from reports.chromium import CHROMIUM_ENV, QUIET_ARGS
from reports.chromium import find_chromium as find_chromium  # re-exported: demo/make_recording.py
from reports.evidence import N_, Source, msg, utc_now

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Response

COLLECTOR = "tracking"
SUFFIX_LIST = Path("/usr/share/publicsuffix/public_suffix_list.dat")
LOAD_TIMEOUT_SECONDS = 30.0
SETTLE_TIMEOUT_SECONDS = 10.0
OBSERVE_SECONDS = 5.0
"""The shortest time a page is watched after its load event (`[tracking] observe_seconds`)."""


def configured_tracker_database(config: EstateConfig) -> TrackerDatabase:
    """Return the tracker database the pages' hosts are looked up in: `[tracking] tracker_database`,
    else the shipped copy of Ghostery's TrackerDB.

    Raises TrackerDatabaseError when the configured file cannot be used (the config loader refuses
    such a file before anything is collected; this says why if it went missing since).
    """
    path = config.tracker_database_file()
    return tracker_database() if path is None else tracker_database(path)


def suffix_rules(path: Path = SUFFIX_LIST) -> SuffixRules:
    """Return the Public Suffix List's rules, or no rules (a site is the last two labels) without the file."""
    try:
        return SuffixRules.parse(path.read_text(encoding="utf-8").splitlines())
    except OSError:
        return NO_SUFFIX_RULES


def pages_to_visit(config: EstateConfig, discovered: Iterable[DiscoveredEndpoint] = ()) -> list[PageTarget]:
    """Return one target per configured endpoint x page, in config order (each URL once).

    With `[azure] open_discovered_pages`, the home page of every App Service host name Azure
    published (not the Kudu `.scm.` ones) follows, with no cookie declared allowed.
    """
    targets: dict[str, PageTarget] = {}
    for entry in config.endpoints:
        for page in entry.pages:
            url = urljoin(entry.url, page)
            targets.setdefault(
                url, PageTarget(url=url, endpoint=entry.url, allowed_cookies=tuple(entry.allowed_cookies))
            )
    if config.azure is not None and config.azure.open_discovered_pages:
        for endpoint in discovered:
            if endpoint.kind == APP_SERVICE_ENDPOINT:
                url = f"https://{endpoint.host}/"
                targets.setdefault(url, PageTarget(url=url, endpoint=endpoint.resource_id))
    return list(targets.values())


def published_endpoints(store: FactStore) -> list[DiscoveredEndpoint]:
    """Return the endpoints the Azure collectors published in `store` (none when Azure was not read)."""
    population = store.get(AZURE_ENDPOINTS)
    return [
        s.fact for s in (population.subjects if population else []) if isinstance(s.fact, DiscoveredEndpoint)
    ]


def without_query(url: str) -> str:
    """Return `url` without its query string and fragment (they may carry identifiers)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


class _Requests:
    """The requests one page sent, kept by host (never the URL's path or query)."""

    def __init__(self) -> None:
        self.by_host: dict[str, tuple[int, set[str]]] = {}

    def seen(self, request: Request) -> None:
        host = normalise_host(urlsplit(request.url).hostname or "")
        if not host:
            return  # data:, blob:, about: URLs reach no host
        count, kinds = self.by_host.get(host, (0, set()))
        kinds.add(request.resource_type)
        self.by_host[host] = (count + 1, kinds)


def _watch(page: Page, loaded: float, *, observe_seconds: float, settle_timeout: float) -> bool:
    """Watch a loaded page for at least `observe_seconds`, then until its network is idle; return whether it went idle.

    Network idle alone ends too early: a tag manager that loads its tracker from a timer two
    seconds after the load event finds the network idle in between. So the page is watched for the
    whole window whatever the network does, and then until it is idle again (at most
    `settle_timeout` seconds more), so that what the timer started is seen to the end.
    """
    remaining = observe_seconds - (time.monotonic() - loaded)
    if remaining > 0:
        page.wait_for_timeout(remaining * 1000)
    try:
        page.wait_for_load_state("networkidle", timeout=settle_timeout * 1000)
    except Exception:  # the network never went idle: the observation window ends here
        return False
    return True


def visit_page(
    browser: Browser,
    target: PageTarget,
    *,
    database: TrackerDatabase,
    rules: SuffixRules,
    load_timeout: float,
    settle_timeout: float,
    observe_seconds: float = OBSERVE_SECONDS,
) -> Subject[object]:
    """Open one page in a fresh context, touch nothing, and return what it did as a subject."""
    started = utc_now()
    call = f"chromium GET {target.url} (fresh profile, no consent, no interaction)"
    context = browser.new_context(ignore_https_errors=True, service_workers="block")
    requests = _Requests()
    responses: list[Response] = []
    context.on("request", requests.seen)
    context.on("response", lambda response: responses.append(response))
    try:
        page = context.new_page()
        try:
            response = page.goto(target.url, wait_until="load", timeout=load_timeout * 1000)
        except Exception as exc:  # Playwright's Error and TimeoutError: the page did not load
            return unobservable(
                target.id,
                msg("{url}: the page could not be loaded: {error}", url=target.url, error=_first_line(exc)),
                [
                    Source(
                        collector=COLLECTOR,
                        call=call,
                        collected_at=started,
                        sha256=hashlib.sha256(b"").hexdigest(),
                    )
                ],
            )
        status = response.status if response is not None else None
        if status is not None and status >= 400:
            return unobservable(
                target.id,
                msg("{url}: the page answered HTTP {status}", url=target.url, status=status),
                [
                    Source(
                        collector=COLLECTOR,
                        call=call,
                        collected_at=started,
                        sha256=hashlib.sha256(b"").hexdigest(),
                        status=status,
                    )
                ],
            )
        loaded = time.monotonic()
        settled = _watch(page, loaded, observe_seconds=observe_seconds, settle_timeout=settle_timeout)
        waited = round(time.monotonic() - loaded, 2)
        final_url = without_query(page.url)
        stored = {
            (str(cookie.get("name", "")), normalise_host(str(cookie.get("domain", ""))))
            for cookie in context.cookies()
        }
        attempted = set()
        for response in responses:
            host = urlsplit(response.url).hostname or ""
            try:
                headers = response.headers_array()
            except Exception:  # a response whose headers the browser no longer holds
                continue
            for header in headers:
                if header["name"].lower() == "set-cookie":
                    attempted.update(set_cookie_names(header["value"], host))
    finally:
        context.close()
    page_host = urlsplit(final_url).hostname or urlsplit(target.url).hostname or ""
    seen_cookies = tuple(
        CookieSeen(
            name=name,
            domain=domain,
            third_party=not same_site(domain, page_host, rules),
            tracker=database.match(domain),
            stored=(name, domain) in stored,
        )
        for name, domain in sorted(stored | attempted, key=lambda c: (c[1], c[0]))
    )
    seen_requests = tuple(
        RequestSeen(host=host, count=count, resource_types=tuple(sorted(kinds)), tracker=database.match(host))
        for host, (count, kinds) in sorted(requests.by_host.items())
        if not same_site(host, page_host, rules)
    )
    visit = PageVisit(
        target=target,
        final_url=final_url,
        status=status,
        settled=settled,
        waited_seconds=waited,
        cookies=seen_cookies,
        third_party_requests=seen_requests,
        tracker_database=database.label,
    )
    raw = json.dumps(
        {
            "final_url": final_url,
            "status": status,
            "cookies": [[c.name, c.domain, c.stored] for c in seen_cookies],
            "hosts": {host: count for host, (count, _) in sorted(requests.by_host.items())},
        },
        sort_keys=True,
    ).encode()
    source = Source(
        collector=COLLECTOR,
        call=call,
        collected_at=started,
        sha256=hashlib.sha256(raw).hexdigest(),
        status=status,
    )
    return observed(target.id, visit, [source])


def visit_pages(
    targets: Sequence[PageTarget],
    *,
    browser_args: Iterable[str] = (),
    load_timeout: float = LOAD_TIMEOUT_SECONDS,
    settle_timeout: float = SETTLE_TIMEOUT_SECONDS,
    observe_seconds: float = OBSERVE_SECONDS,
    database: TrackerDatabase | None = None,
    rules: SuffixRules | None = None,
) -> list[Subject[object]]:
    """Open every page, one after the other in one Chromium; return one subject per target, in order.

    `browser_args` are added to Chromium's command line (the tests map tracker hosts to loopback
    with `--host-resolver-rules`). Without Chromium or Playwright every page is `error`.
    """
    if not targets:
        return []
    chromium = find_chromium()
    reason: Reason | None = None
    if chromium is None:
        configured = os.environ.get(CHROMIUM_ENV)
        reason = (
            msg("{variable}={path} is not an executable file", variable=CHROMIUM_ENV, path=configured)
            if configured
            else msg(
                "no Chromium found (install Debian's chromium, or set {variable})", variable=CHROMIUM_ENV
            )
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = msg("Playwright is not installed (pip install playwright); no page was opened")
    if reason is not None or chromium is None:
        assert reason is not None
        return [unobservable(t.id, reason) for t in targets]
    database = database or tracker_database()
    rules = rules if rules is not None else suffix_rules()
    subjects: list[Subject[object]] = []
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=[*QUIET_ARGS, *browser_args], headless=True
            )
        except Exception as exc:
            failed = msg("Chromium could not be started: {error}", error=_first_line(exc))
            return [unobservable(t.id, failed) for t in targets]
        try:
            for target in targets:
                subjects.append(
                    visit_page(
                        browser,
                        target,
                        database=database,
                        rules=rules,
                        load_timeout=load_timeout,
                        settle_timeout=settle_timeout,
                        observe_seconds=observe_seconds,
                    )
                )
        finally:
            browser.close()
    return subjects


def replayed_subject(item: dict[str, Any]) -> Subject[Any]:
    """Return a recorded page visit as a subject; a visit that cannot be read fully is an `error`."""
    return rebuild_subject(
        PageVisit,
        item,
        N_("the recorded page visit is for {recorded}, not {id}: the recording is inconsistent"),
    )


def collect_tracking(
    config: EstateConfig,
    store: FactStore,
    *,
    replaying: bool = False,
    recorded: list[dict[str, Any]] | None = None,
    record: Callable[[list[dict[str, Any]]], None] | None = None,
    browser_args: Iterable[str] = (),
    load_timeout: float = LOAD_TIMEOUT_SECONDS,
    settle_timeout: float = SETTLE_TIMEOUT_SECONDS,
    progress: Callable[[str], None] = lambda line: None,
    discovered: list[DiscoveredEndpoint] | None = None,
) -> list[PageTarget]:
    """Fill `web.pages`: open every configured page; returns the targets.

    `discovered`: the endpoints Azure published (default: those in `store`, read by the Azure
    collectors before this). With no `pages` in any `[[endpoints]]` the population is out of scope (the control is
    not_applicable, saying why). A replay judges the recorded visits, whatever the config lists now.
    Hosts are looked up in `configured_tracker_database`; one that cannot be used makes every page
    `error`, never a pass on an empty lookup.
    """
    population = store.population(WEB_PAGES)
    targets = pages_to_visit(config, published_endpoints(store) if discovered is None else discovered)
    if replaying and recorded is not None:
        for item in recorded:
            population.add(replayed_subject(item))
        return targets
    if not targets:
        store.mark_out_of_scope([WEB_PAGES], msg("no web pages: no [[endpoints]] entry lists pages to open"))
        return targets
    if replaying:
        store.mark_out_of_scope([WEB_PAGES], msg("the replayed recording holds no page visits"))
        return targets
    try:
        database = configured_tracker_database(config)
    except TrackerDatabaseError as exc:  # checked when the config was loaded: gone since, or never loaded
        unusable = msg("the tracker database cannot be used: {error}", error=str(exc))
        subjects = [unobservable(target.id, unusable) for target in targets]
    else:
        progress(f"tracking: opening {len(targets)} page(s) in headless Chromium")
        subjects = visit_pages(
            targets,
            browser_args=browser_args,
            load_timeout=load_timeout,
            settle_timeout=settle_timeout,
            observe_seconds=config.tracking.observe_seconds,
            database=database,
        )
    for subject in subjects:
        population.add(subject)
    if record is not None:
        record([subject_to_json(subject) for subject in subjects])
    return targets
