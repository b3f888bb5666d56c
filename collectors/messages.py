"""The collectors' words: why a fact is missing, why a population is empty, what a scope note says.

What the collectors tell a reader (a subject's error, a population's not-applicable reason or
note) is a `Message` of the gettext catalog, rendered in the report's language by the harness
and the reports; what a target said itself (an API's error, a host's output, a driver's
exception) is a plain-text parameter of it, shown as received. Collectors never load the
catalogs: where a sentence must be text at collection time (an exception's message, a progress
line, a fact field that is still text), `english_text` writes it in English, the catalog's
source language, exactly as the English catalog renders it.

Only the standard library and the message model are imported here (Babel, for decimals and
dates, when one is written): the hosts' command modules, which use `ReasonError`, are imported by
a stand-in under a bare system Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reports.message import SOURCE_ENGLISH, Message, msg

Reason = Message | str
"""Words for a reader: a catalog message, or plain text (what a target said, or code that does not
yet speak in messages), which is shown as it is."""


def english_text(reason: Reason) -> str:
    """Return `reason` as English text: a message as the English catalog writes it (its id, the
    English source text, filled in), plain text as it is."""
    return reason if isinstance(reason, str) else SOURCE_ENGLISH.render(reason)


def comma_list(parts: Sequence[Reason]) -> Reason:
    """Return reasons as one list separated by commas ("a, b, c").

    A list parameter of messages is separated by semicolons; where each part holds a semicolon of
    its own, or the English text has always used commas, the parts are chained with this instead.
    """
    if not parts:
        return ""
    joined = parts[0]
    for part in parts[1:]:
        joined = msg("{list}, {item}", list=joined, item=part)
    return joined


def semicolon_list(parts: Sequence[Reason]) -> Reason:
    """Return reasons as one list separated by semicolons ("a; b; c"), as the catalog joins messages."""
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(part, str) for part in parts):
        return "; ".join(str(part) for part in parts)
    return msg("{list}", list=list(parts))


class ReasonError(Exception):
    """An exception whose message is words for a reader: `reason` keeps it as a message, str() is English."""

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(english_text(reason))


def reason_json(reason: Reason) -> str | dict[str, object]:
    """Return a reason as a recording keeps it: plain text as text, a message as its id and parameters."""
    return reason if isinstance(reason, str) else reason.as_json()


def reason_from_json(value: object) -> Reason:
    """Return a reason recorded by `reason_json` (text from older recordings stays text).

    Raises ValueError when `value` is neither text nor a recorded message.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return Message.from_json(value)
    raise ValueError(f"a reason is text or a message, not {type(value).__name__}")
