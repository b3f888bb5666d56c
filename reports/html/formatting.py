"""The HTML report's text: bundle values as page text, stable anchors, and the Jinja2 environment.

Everything here is a pure function of one value (a timestamp, an observed mapping, a control
and resource id), shared by the report page, the period report and the tickets that link into
the page. The environment registers the page's filters (`csp_hash`, `breakable`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_NAME = "report.html.j2"

_CLAUSE_RE = re.compile(r"^(\d+)(.*)$")


def result_anchor(control: str, resource: str) -> str:
    """Return the stable HTML id of one result: `result-` + the first 12 hex of sha1(control, resource).

    The control id and resource are joined by a newline before hashing, so other tools (tickets,
    e-mails) can deep-link to `report.html#result-...` by computing the same value.
    """
    digest = hashlib.sha1(f"{control}\n{resource}".encode(), usedforsecurity=False).hexdigest()
    return f"result-{digest[:12]}"


def control_anchor(control: str) -> str:
    """Return the stable HTML id of a control's section: `control-` + the control id."""
    return f"control-{control}"


def clause_sort_key(clause: str) -> tuple[int, str]:
    """Return a key ordering clauses as the statement numbers them (6b < 8 < 9 < 11 < 12a)."""
    match = _CLAUSE_RE.match(clause)
    if match is None:
        return (1 << 30, clause)
    return (int(match.group(1)), match.group(2))


def value_text(value: Any) -> str:
    """Return one observed/expected value as display text: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def key_values(values: Any) -> list[tuple[str, str]] | None:
    """Return an observed/expected mapping as (key, text) pairs, or None if it is not a mapping.

    Nested values (objects, lists) become JSON text so each result row stays one small list.
    """
    if not isinstance(values, Mapping):
        return None
    return [(str(key), value_text(value)) for key, value in values.items()]


def value_lines(values: Any) -> str:
    """Return observed/expected values as one `key = value` line each (non-mappings as JSON text).

    A result row shows them as plain text in one element: at 20,000 results one element per
    key and value would double the page's DOM. An empty mapping (or None) gives ''.
    """
    if not values:
        return ""
    pairs = key_values(values)
    if pairs is None:
        return value_text(values)
    return "\n".join(f"{key} = {value}" for key, value in pairs)


def utc_text(timestamp: Any) -> str:
    """Return an ISO-8601 UTC timestamp as 'YYYY-MM-DD HH:MM:SS UTC' (or the raw text if unparsable)."""
    if not isinstance(timestamp, str):
        return "—" if timestamp is None else str(timestamp)
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.utcoffset() is not None else "")


def duration_text(started: Any, finished: Any) -> str:
    """Return the run's wall-clock duration as e.g. '1 min 10 s', or '' if a timestamp is missing."""
    try:
        seconds = int((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds())
    except (TypeError, ValueError):
        return ""
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes} min")
    parts.append(f"{seconds} s")
    return " ".join(parts)


def _csp_hash(content: str) -> Markup:
    """Return the CSP source expression ('sha256-...') allowing exactly this inline element body.

    Markup because it is built from base64 only and its quotes must reach the attribute as is.
    """
    digest = hashlib.sha256(str(content).encode("utf-8")).digest()
    return Markup("'sha256-" + base64.b64encode(digest).decode("ascii") + "'")


def breakable(text: Any) -> Markup:
    """Return `text` HTML-escaped, with line-break opportunities after '/' and before '?' and '&'.

    Resource ids and request URLs have no spaces; this lets them wrap at path boundaries
    instead of mid-word. Escaping happens first, so only the inserted <wbr> is markup.
    """
    escaped = escape(text)
    return escaped.replace("/", _SLASH_BREAK).replace("?", _QUERY_BREAK).replace("&amp;", _AMP_BREAK)


_SLASH_BREAK = Markup("/<wbr>")
_QUERY_BREAK = Markup("<wbr>?")
_AMP_BREAK = Markup("<wbr>&amp;")


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """Return the (cached) Jinja2 environment: autoescape on for everything, undefined names fail."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["csp_hash"] = _csp_hash
    env.filters["breakable"] = breakable
    return env
