"""6d: user tracking is activated only when the visitor has explicitly consented.

Each configured page was opened in a fresh browser profile, with no consent given and nothing
clicked. Two things fail it:

- any cookie that is not declared strictly necessary (`allowed_cookies` of its endpoint). Not only
  cookies of known trackers: first-party analytics (Matomo's `_pk_id`, Google Analytics' `_ga`)
  and trackers served through the site's own domain set cookies under the page's own name, and no
  name tells a functional cookie from a tracking one. The site declares what it needs; whatever
  else is there before consent is a finding, named with its tracker when the database knows it.
- any request to a host of another site that the tracker database puts in a tracking category
  (advertising, site analytics, social media, adult advertising, unclassified trackers). Requests
  to other third parties (CDNs, fonts, consent managers, tag managers, players) are shown, not failed.
"""

from __future__ import annotations

from collectors.tracking.facts import TRACKING_CATEGORIES, CookieSeen, PageVisit, TrackerMatch, cookie_allowed
from controls.framework import Evidence, control
from reports.evidence import Message, msg, msg_n


def tracker_text(tracker: TrackerMatch | None) -> Message | str:
    """Name a tracker as the evidence shows it: "Google Analytics (site_analytics, Google)", or "-"."""
    if tracker is None:
        return "-"
    if tracker.organization:
        return msg(
            "{tracker} ({category}, {organization})",
            tracker=tracker.tracker,
            category=tracker.category,
            organization=tracker.organization,
        )
    return msg("{tracker} ({category})", tracker=tracker.tracker, category=tracker.category)


def cookie_problem(cookie: CookieSeen) -> Message:
    """Return why an undeclared cookie fails, naming its tracker when the database knows its domain."""
    if cookie.tracker is not None:
        return msg(
            "cookie {name} ({domain}) of {tracker} is set before consent",
            name=cookie.name,
            domain=cookie.domain,
            tracker=tracker_text(cookie.tracker),
        )
    return msg(
        "cookie {name} ({domain}) is set before consent and not declared strictly necessary",
        name=cookie.name,
        domain=cookie.domain,
    )


@control("6d.tracking-after-consent", over="web.pages")
def test_page_tracks_nobody_before_consent(visit: PageVisit, evidence: Evidence) -> None:
    allowed = visit.target.allowed_cookies
    evidence.observed(
        final_url=visit.final_url,
        http_status=visit.status,
        network_idle=visit.settled,
        watched_seconds_after_load=visit.waited_seconds,
        cookies=[
            {
                "name": c.name,
                "domain": c.domain,
                "party": msg("third party") if c.third_party else msg("first party"),
                "declared": cookie_allowed(c.name, allowed),
                "stored": c.stored,
                "tracker": tracker_text(c.tracker),
            }
            for c in visit.cookies
        ],
        third_party_requests=[
            {
                "host": r.host,
                "requests": r.count,
                "types": list(r.resource_types),
                "tracker": tracker_text(r.tracker),
            }
            for r in visit.third_party_requests
        ],
        tracker_database=visit.tracker_database,
    )
    evidence.expected(
        cookies=msg("only the declared strictly necessary cookies: {names}", names=", ".join(allowed))
        if allowed
        else msg("none (no cookie is declared strictly necessary)"),
        tracker_requests=msg(
            "none to a host in a tracking category ({categories})",
            categories=", ".join(sorted(TRACKING_CATEGORIES)),
        ),
    )
    problems: list[Message] = [
        cookie_problem(cookie) for cookie in visit.cookies if not cookie_allowed(cookie.name, allowed)
    ]
    for request in visit.third_party_requests:
        if request.tracker is not None and request.tracker.tracking:
            problems.append(
                msg_n(
                    "{count} request to {host}, {tracker}, before consent",
                    "{count} requests to {host}, {tracker}, before consent",
                    "count",
                    count=request.count,
                    host=request.host,
                    tracker=tracker_text(request.tracker),
                )
            )
    assert not problems, evidence.fails("{page}: {problems}", page=visit.target.url, problems=problems)
