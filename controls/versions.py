"""TLS versions compared as versions, never as strings ("1.10" > "1.2" is not a string question)."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(?:tls)?\s*v?(\d+)[._](\d+)$", re.IGNORECASE)


def tls_version(text: str | None) -> tuple[int, int] | None:
    """Return a TLS version as (major, minor), or None when absent, 'None' or unrecognisable.

    Accepts the spellings ARM uses across services: "1.2" (SQL, App Service) and "TLS1_2"
    (Storage).
    """
    if text is None:
        return None
    match = _VERSION.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None
