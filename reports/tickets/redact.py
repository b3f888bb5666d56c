"""Tracker URLs in messages: scheme and host only, because a webhook URL's path is its secret.

Slack (`https://hooks.slack.com/services/T../B../<secret>`), Teams
(`https://<tenant>.webhook.office.com/webhookb2/.../IncomingWebhook/<secret>/...`) and most
generic webhooks authenticate by the URL's path alone. Every place a tracker URL could reach the
terminal, a log, the report or evidence.json goes through these functions.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def shown_location(url: str) -> str:
    """Return only `scheme://host[:port]` of a tracker URL, for messages, logs and the report.

    It exists because a webhook URL's path is its secret (Slack `/services/T../B../<secret>`,
    Teams `/webhookb2/.../IncomingWebhook/<secret>/...`): no path, query, fragment or user info
    of a tracker URL may ever be printed.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme or '?'}://{host}" + (f":{port}" if port is not None else "")


_TRAILING = ".,;:!?)]}"


def _redacted(match: re.Match[str]) -> str:
    url = match.group(0)
    kept = url.rstrip(_TRAILING)
    return shown_location(kept) + url[len(kept) :]


def redact_urls(text: str) -> str:
    """Return `text` with every URL in it cut to its scheme and host (see `shown_location`).

    Punctuation closing the sentence around a URL (`https://host:8443: HTTP 404`) is kept.
    """
    return _URL.sub(_redacted, text)
