"""What a web page did before consent, free of any I/O import (no Playwright, no files).

The browser collector (`collectors.tracking.pages`) opens each configured page in a fresh
headless Chromium profile, gives no consent and touches nothing, and fills these: the cookies
the page set (names and domains, never values) and the hosts of other sites it sent requests
to, each looked up in the tracker database. The control 6d.tracking-after-consent judges them;
a recording keeps them as JSON (`collectors.fact_json`) and a replay rebuilds them unchanged,
tracker matches included, so a replay judges against the database the run used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

WEB_PAGES = "web.pages"
"""One subject per configured endpoint x page, id the page's URL (`https://host:port/path`)."""

TRACKING_CATEGORIES = frozenset({"advertising", "pornvertising", "site_analytics", "social_media", "misc"})
"""TrackerDB categories that are user tracking: a request to one before consent fails.

The others (hosting/CDNs, utilities such as tag managers, consent managers, audio/video players,
customer interaction widgets, extensions) are shown with their category but are not a finding by
themselves; a cookie any of them sets still is, unless it is declared strictly necessary."""


@dataclass(frozen=True)
class PageTarget:
    """One page to open: its URL, the endpoint it belongs to, and the cookies declared allowed there."""

    url: str
    endpoint: str
    """The `[[endpoints]]` url the page was configured under."""
    allowed_cookies: tuple[str, ...] = ()
    """Declared strictly necessary cookie names; a name ending in `*` is a prefix."""

    @property
    def id(self) -> str:
        """Return the subject id: the page's URL."""
        return self.url


@dataclass(frozen=True)
class TrackerMatch:
    """A host found in the tracker database."""

    domain: str
    """The database domain the host matched (the host itself or a parent domain)."""
    tracker: str
    """The tracker's name ("Google Analytics")."""
    category: str
    """TrackerDB category key ("site_analytics", "advertising", ...)."""
    organization: str
    """The organization behind it ("Google"), "" when the database names none."""

    @property
    def tracking(self) -> bool:
        """Return True when the category is user tracking (TRACKING_CATEGORIES)."""
        return self.category in TRACKING_CATEGORIES


@dataclass(frozen=True)
class CookieSeen:
    """A cookie present in the browser after the page settled (its value is never kept)."""

    name: str
    domain: str
    """The cookie's domain as the browser stores it, without a leading dot."""
    third_party: bool
    """The domain belongs to another site than the page's."""
    tracker: TrackerMatch | None
    """The cookie's domain in the tracker database, or None."""
    stored: bool
    """In the browser's cookie jar after the page settled; False: only sent in a Set-Cookie header
    that the browser refused (a third-party cookie, which Chromium blocks by default): the page
    tried to set it all the same."""


@dataclass(frozen=True)
class RequestSeen:
    """Requests the page sent to one host of another site (query strings and paths are not kept)."""

    host: str
    count: int
    resource_types: tuple[str, ...]
    """What the browser fetched there ("script", "image", "xhr", ...), sorted."""
    tracker: TrackerMatch | None


@dataclass(frozen=True)
class PageVisit:
    """What one page did in a fresh profile, with no consent given and no interaction."""

    target: PageTarget
    final_url: str
    """Where the page ended after redirects (without query string or fragment)."""
    status: int | None
    """The HTTP status of the page's main document (None when the browser reported none)."""
    settled: bool
    """The network went idle within the wait; False: the observation window ended at the timeout."""
    waited_seconds: float
    """How long after the load event the page was watched."""
    cookies: tuple[CookieSeen, ...]
    third_party_requests: tuple[RequestSeen, ...]
    tracker_database: str
    """The tracker database the hosts were looked up in: its source and the sha256 of the file read
    ("npm:@ghostery/trackerdb@1.0.945, sha256 14bd..."; recordings made before the sha256 was added
    name the source alone)."""


def normalise_host(host: str) -> str:
    """Return a host or cookie domain as compared: lower case, no leading or trailing dot, no brackets."""
    return host.strip().lower().strip(".").removeprefix("[").removesuffix("]")


def is_ip(host: str) -> bool:
    """Return True when `host` is an IP address."""
    try:
        ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return False
    return True


def parent_domains(host: str) -> list[str]:
    """Return `host` and each parent domain, longest first ("a.b.c" -> a.b.c, b.c, c)."""
    labels = normalise_host(host).split(".")
    return [".".join(labels[index:]) for index in range(len(labels))]


def match_tracker(
    host: str, domains: Mapping[str, str], trackers: Mapping[str, Sequence[str]]
) -> TrackerMatch | None:
    """Return the tracker whose database domain is `host` or a parent of it (the longest match), or None.

    `domains` maps a domain to a tracker key; `trackers` maps the key to (name, category, organization).
    An IP address matches nothing.
    """
    if is_ip(host):
        return None
    for candidate in parent_domains(host):
        key = domains.get(candidate)
        if key is not None and key in trackers:
            name, category, organization = trackers[key]
            return TrackerMatch(domain=candidate, tracker=name, category=category, organization=organization)
    return None


@dataclass(frozen=True)
class SuffixRules:
    """The Public Suffix List's rules: plain suffixes, wildcards (`*.ck` as "ck") and exceptions."""

    plain: frozenset[str]
    wildcards: frozenset[str]
    exceptions: frozenset[str]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> SuffixRules:
        """Return the rules of `public_suffix_list.dat` text lines (comments and blanks skipped)."""
        plain: set[str] = set()
        wildcards: set[str] = set()
        exceptions: set[str] = set()
        for line in lines:
            rule = line.strip().split(" ", 1)[0].lower()
            if not rule or rule.startswith("//"):
                continue
            if rule.startswith("!"):
                exceptions.add(rule[1:])
            elif rule.startswith("*."):
                wildcards.add(rule[2:])
            else:
                plain.add(rule)
        return cls(frozenset(plain), frozenset(wildcards), frozenset(exceptions))


NO_SUFFIX_RULES = SuffixRules(frozenset(), frozenset(), frozenset())
"""No list at hand: every top-level label is a public suffix (a site is the last two labels)."""


def registrable_domain(host: str, rules: SuffixRules) -> str:
    """Return the site of `host`: its registrable domain (public suffix plus one label), or the host
    itself for an IP address, a single label or a public suffix (PSL algorithm, implicit `*` rule)."""
    host = normalise_host(host)
    if is_ip(host) or "." not in host:
        return host
    labels = host.split(".")
    suffix_length = 1
    for index in range(len(labels)):
        candidate = ".".join(labels[index:])
        if candidate in rules.exceptions:
            suffix_length = len(labels) - index - 1
            break
        parent = ".".join(labels[index + 1 :])
        if candidate in rules.plain or (parent and parent in rules.wildcards):
            suffix_length = len(labels) - index
            break
    if suffix_length >= len(labels):
        return host
    return ".".join(labels[-(suffix_length + 1) :])


def same_site(host: str, other: str, rules: SuffixRules) -> bool:
    """Return True when two hosts (or a host and a cookie domain) belong to one registrable domain."""
    return registrable_domain(host, rules) == registrable_domain(other, rules)


def cookie_allowed(name: str, allowed: Collection[str]) -> bool:
    """Return True when a cookie name is declared: an exact name, or a prefix entry ending in `*`."""
    return any(name == entry or (entry.endswith("*") and name.startswith(entry[:-1])) for entry in allowed)


def set_cookie_names(header_value: str, response_host: str) -> list[tuple[str, str]]:
    """Return (name, domain) of each cookie in a Set-Cookie header value (values are never returned).

    Chromium joins several Set-Cookie headers with newlines; the domain is the `Domain` attribute,
    else the host that answered.
    """
    found: list[tuple[str, str]] = []
    for line in header_value.split("\n"):
        parts = [part.strip() for part in line.split(";")]
        if not parts or "=" not in parts[0]:
            continue
        name = parts[0].split("=", 1)[0].strip()
        domain = response_host
        for attribute in parts[1:]:
            key, _, value = attribute.partition("=")
            if key.strip().lower() == "domain" and value.strip():
                domain = value.strip()
        if name:
            found.append((name, normalise_host(domain)))
    return found
