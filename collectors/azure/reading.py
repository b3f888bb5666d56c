"""The one place where an Azure read that failed, or gave an answer that cannot be parsed, becomes `error`.

Every Azure collector reads the same way: list or fetch through the SDK, then turn the models
into facts. Either step can fail: ARM answers an HTTP error, cannot be reached, or answers 200
with something the SDK cannot deserialise (`MalformedAnswer`); or the models lack, or hold the
wrong type of, a field the parser needs (`FieldUnreadable`, or the TypeError / AttributeError /
ValueError / KeyError such a model provokes). Each of these is caught here, and only here, and
reported as an `Unreadable` whose reason names what was being read, what went wrong and the
call (method and URL path). The collector decides which subjects the failure makes `error`
(through `AzureCollector.read`, `parsed` and `each`); a failure never ends the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import AzureError

from collectors.azure.arm import SDK_PARSE_FAILURES, Fetched, describe_failure, failed_call
from collectors.azure.fields import FieldUnreadable, shown
from reports.evidence import Source

R = TypeVar("R")

PARSE_FAILURES: tuple[type[Exception], ...] = (FieldUnreadable, *SDK_PARSE_FAILURES)
"""What a parser raises on a model that lacks or mistypes what it needs (never a reason to stop the run)."""


@dataclass(frozen=True)
class Unreadable:
    """Why a read gave no fact: one sentence naming what, why and the call, and the pages read."""

    reason: str
    sources: tuple[Source, ...] = ()


def calls_of(sources: tuple[Source, ...]) -> str:
    """Return the calls behind `sources` as "METHOD /path" (first two, then a count)."""
    seen: list[str] = []
    for source in sources:
        method, _, url = source.call.partition(" ")
        path = url.split("?", 1)[0].split(" | ", 1)[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        text = f"{method} {path}"
        if text not in seen:
            seen.append(text)
    if not seen:
        return "no call answered"
    more = f" and {len(seen) - 2} more" if len(seen) > 2 else ""
    return ", ".join(seen[:2]) + more


def read(what: str, fetch: Callable[[], Fetched]) -> Fetched | Unreadable:
    """Run one SDK read; return its result, or why it failed (HTTP error, unreachable, malformed).

    `what` is the head of the failure sentence, e.g. "TDE state of database emma could not be read".
    """
    try:
        return fetch()
    except AzureError as exc:
        call = failed_call(exc)
        return Unreadable(f"{what}: {describe_failure(exc)}" + (f" ({call})" if call else ""))


def parse(what: str, fetched: Fetched, parser: Callable[[Any], R], *, reveal: bool = True) -> R | Unreadable:
    """Return `parser(fetched.value)`, or why the answer cannot be parsed (naming the call).

    With `reveal=False` (answers holding secrets) the reason names the exception type only.
    """
    try:
        return parser(fetched.value)
    except PARSE_FAILURES as exc:
        return Unreadable(f"{what}: {_problem(exc, reveal)} ({calls_of(fetched.sources)})", fetched.sources)


def parse_items(
    what: str, fetched: Fetched, parser: Callable[[Any], R], list_subject: str
) -> list[tuple[str, R | Unreadable]]:
    """Parse each item of a list answer on its own: one bad item spoils only itself.

    Returns (subject id, fact or Unreadable) per item; the subject id is the item's `id` when it
    has a text one, else `<list_subject>[<index>]`.
    """
    if not isinstance(fetched.value, list):
        unreadable = Unreadable(
            f"{what}: the answer is {shown(fetched.value)}, not a list ({calls_of(fetched.sources)})",
            fetched.sources,
        )
        return [(list_subject, unreadable)]
    parsed: list[tuple[str, R | Unreadable]] = []
    for index, item in enumerate(fetched.value):
        subject = _item_id(item) or f"{list_subject}[{index}]"
        try:
            parsed.append((subject, parser(item)))
        except PARSE_FAILURES as exc:
            reason = f"{what}: item {index} ({subject}): {_problem(exc, True)} ({calls_of(fetched.sources)})"
            parsed.append((subject, Unreadable(reason, fetched.sources)))
    return parsed


def _item_id(item: Any) -> str | None:
    try:
        found = item.get("id") if type(item) is dict else getattr(item, "id", None)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    return found if isinstance(found, str) and found.strip() else None


def _problem(exc: Exception, reveal: bool) -> str:
    if not reveal:
        return f"the answer could not be parsed ({type(exc).__name__}; the answer is not shown)"
    if isinstance(exc, FieldUnreadable):
        return str(exc)
    text = str(exc).strip().splitlines()
    first = text[0][:200] if text else ""
    return f"the answer could not be parsed ({type(exc).__name__}: {first})"
