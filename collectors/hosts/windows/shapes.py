"""Reading the envelope's JSON values the way the script writes them; any other shape is a `ShapeError`.

ConvertTo-Json (Windows PowerShell 5.1) unwraps one-element arrays and may wrap arrays as
{"value": [...], "Count": n}; dates are ISO-8601 UTC text (or the legacy `/Date(ms)/`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

LEGACY_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
MESSAGE_LIMIT = 300


class ShapeError(ValueError):
    """A section's data is not shaped the way the script writes it."""


def short(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Return `text` on one line, at most `limit` characters (never a whole output)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def as_list(value: object) -> list[Any]:
    """Return `value` as a list: ConvertTo-Json 5.1 unwraps one-element arrays, and $null is null."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return value["value"]  # a PSObject-wrapped array as Windows PowerShell's ConvertTo-Json writes it
    return [value]


def as_object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShapeError(f"{what} is {type(value).__name__}, expected an object")
    return value


def as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool | int | float):
        return str(value)
    raise ShapeError(f"expected text, got {type(value).__name__}")


def as_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ShapeError("expected a number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except ValueError:
            raise ShapeError(f"expected a number, got {short(str(value), 40)!r}") from None
    raise ShapeError(f"expected a number, got {type(value).__name__}")


def as_strings(value: object) -> tuple[str, ...]:
    return tuple(text for item in as_list(value) if (text := as_text(item)) is not None)


def present(data: Mapping[str, Any], key: str, what: str) -> Any:
    """Return `data[key]`, which may be null; raise ShapeError when the script's key is missing."""
    if key not in data:
        raise ShapeError(f"{what} has no {key!r} field")
    return data[key]


def required(data: Mapping[str, Any], key: str, what: str) -> Any:
    """Return `data[key]`; raise ShapeError when it is missing or null (the script always writes a value)."""
    value = present(data, key, what)
    if value is None or value == "":
        raise ShapeError(f"{what} has no value for {key!r}")
    return value


def required_list(data: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """Return the list at `data[key]` (a single value is a one-item list: ConvertTo-Json 5.1 unwraps them).

    Missing or null is a ShapeError: the script writes every list, empty as [], so an absent one
    is not "nothing to report".
    """
    value = present(data, key, what)
    if value is None:
        raise ShapeError(f"{what} has a null {key!r} list")
    return as_list(value)


def parse_utc(value: object) -> datetime | None:
    """Return an ISO-8601 (or legacy `/Date(ms)/`) value as an aware UTC datetime; None when blank.

    A value without an offset is taken as UTC (the script writes UTC); a bare date is midnight UTC.
    """
    if value is not None and not isinstance(value, str):
        raise ShapeError(f"a date that is {type(value).__name__}, not ISO-8601 text")
    text = as_text(value)
    if text is None:
        return None
    legacy = LEGACY_DATE.match(text)
    if legacy:
        try:
            return datetime.fromtimestamp(int(legacy.group(1)) / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ShapeError(f"{short(text, 40)!r} is not a date this auditor can read") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ShapeError(f"{short(text, 40)!r} is not an ISO-8601 date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
