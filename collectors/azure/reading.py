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

from collectors.azure.arm import SDK_PARSE_FAILURES, Fetched, failed_call, failure_reason
from collectors.azure.fields import FieldUnreadable, shown
from collectors.messages import Reason
from reports.evidence import Message, Source, msg

R = TypeVar("R")

PARSE_FAILURES: tuple[type[Exception], ...] = (FieldUnreadable, *SDK_PARSE_FAILURES)
"""What a parser raises on a model that lacks or mistypes what it needs (never a reason to stop the run)."""


@dataclass(frozen=True)
class Unreadable:
    """Why a read gave no fact: one sentence naming what, why and the call, and the pages read."""

    reason: Reason
    sources: tuple[Source, ...] = ()


def calls_of(sources: tuple[Source, ...]) -> Reason:
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
        return msg("no call answered")
    if len(seen) > 2:
        return msg("{calls} and {n} more", calls=seen[:2], n=len(seen) - 2)
    return ", ".join(seen)


def read(what: Reason, fetch: Callable[[], Fetched]) -> Fetched | Unreadable:
    """Run one SDK read; return its result, or why it failed (HTTP error, unreachable, malformed).

    `what` is the head of the failure sentence, e.g. "TDE state of database emma could not be read".
    """
    try:
        return fetch()
    except AzureError as exc:
        call = failed_call(exc)
        if call:
            return Unreadable(
                msg("{what}: {failure} ({call})", what=what, failure=failure_reason(exc), call=call)
            )
        return Unreadable(msg("{what}: {failure}", what=what, failure=failure_reason(exc)))


def parse(
    what: Reason, fetched: Fetched, parser: Callable[[Any], R], *, reveal: bool = True
) -> R | Unreadable:
    """Return `parser(fetched.value)`, or why the answer cannot be parsed (naming the call).

    With `reveal=False` (answers holding secrets) the reason names the exception type only.
    """
    try:
        return parser(fetched.value)
    except PARSE_FAILURES as exc:
        return Unreadable(unparsed(what, _problem(exc, reveal), fetched.sources), fetched.sources)


def unparsed(what: Reason, problem: Reason, sources: tuple[Source, ...]) -> Message:
    """Return the sentence of an answer that cannot be parsed: what, the problem, and the calls."""
    return msg("{what}: {problem} ({calls})", what=what, problem=problem, calls=calls_of(sources))


def parse_items(
    what: Reason, fetched: Fetched, parser: Callable[[Any], R], list_subject: str
) -> list[tuple[str, R | Unreadable]]:
    """Parse each item of a list answer on its own: one bad item spoils only itself.

    Returns (subject id, fact or Unreadable) per item; the subject id is the item's `id` when it
    has a text one, else `<list_subject>[<index>]`.
    """
    if not isinstance(fetched.value, list):
        problem = msg("the answer is {shown}, not a list", shown=shown(fetched.value))
        return [(list_subject, Unreadable(unparsed(what, problem, fetched.sources), fetched.sources))]
    parsed: list[tuple[str, R | Unreadable]] = []
    for index, item in enumerate(fetched.value):
        subject = _item_id(item) or f"{list_subject}[{index}]"
        try:
            parsed.append((subject, parser(item)))
        except PARSE_FAILURES as exc:
            problem = msg(
                "item {index} ({subject}): {problem}",
                index=index,
                subject=subject,
                problem=_problem(exc, True),
            )
            parsed.append((subject, Unreadable(unparsed(what, problem, fetched.sources), fetched.sources)))
    return parsed


def _item_id(item: Any) -> str | None:
    try:
        found = item.get("id") if type(item) is dict else getattr(item, "id", None)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    return found if isinstance(found, str) and found.strip() else None


def _problem(exc: Exception, reveal: bool) -> Reason:
    if not reveal:
        return msg(
            "the answer could not be parsed ({error_type}; the answer is not shown)",
            error_type=type(exc).__name__,
        )
    if isinstance(exc, FieldUnreadable):
        return exc.reason
    text = str(exc).strip().splitlines()
    first = text[0][:200] if text else ""
    return msg(
        "the answer could not be parsed ({error_type}: {detail})", error_type=type(exc).__name__, detail=first
    )
