"""Findings as data: a sentence as a gettext message id with parameters, and the one writer of messages.

The bottom of the house, below the evidence model (reports.evidence re-exports all of it): the
collectors' facts name their reasons as Messages, and a facts module must not load anything that
does I/O, so this module imports only the standard library (Babel only when a number or date is
written).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


def iso_utc(moment: datetime) -> str:
    """Return an ISO-8601 UTC timestamp ending in Z: the one datetime format of the evidence."""
    return moment.isoformat().replace("+00:00", "Z")


def N_(text: str) -> str:
    """Return `text` unchanged: marks a catalog text (title, pass condition) for `pybabel extract`.

    The text is the gettext message id; it is translated where it is shown, not where it is defined.
    """
    return text


MessageParam = Any
"""A message parameter: text, a number, a date or date-time, a `Message`, or a list of those."""


@dataclass(frozen=True)
class Message:
    """A sentence as data: a gettext message id with `{name}` fields and the values that fill them.

    Controls state findings, not-applicable reasons and evidence gaps as Messages, so the
    evidence keeps the id and its parameters beside the text rendered in the run's language, and
    every later reader (report, tickets, period report) renders it in the language it speaks.
    The id is the English source text. `plural` with `count` (the name of the parameter holding
    the number) makes a message with plural forms. A `verbatim` message is text from outside the
    catalog (e.g. an error an API returned): it is shown as it is, never translated or formatted.
    """

    id: str
    params: Mapping[str, MessageParam] = field(default_factory=dict)
    plural: str | None = None
    count: str | None = None
    verbatim: bool = False

    def as_json(self) -> dict[str, Any]:
        """Return the message as evidence.json records it (`finding`): id, typed parameters, plural."""
        document: dict[str, Any] = {"id": self.id}
        if self.verbatim:
            document["verbatim"] = True
            return document
        document["params"] = {name: _param_json(value) for name, value in sorted(self.params.items())}
        if self.plural is not None:
            document["plural"] = self.plural
            document["count"] = self.count
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Message:
        """Return the message recorded by `as_json` (raises ValueError on a shape it never writes)."""
        if not isinstance(document, Mapping) or not isinstance(document.get("id"), str):
            raise ValueError("a finding needs a text id")
        if document.get("verbatim") is True:
            return cls(document["id"], verbatim=True)
        params = document.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValueError("a finding's params must be an object")
        plural, count = document.get("plural"), document.get("count")
        if (plural is None) != (count is None):
            raise ValueError("a finding's plural needs its count and the other way round")
        return cls(
            document["id"],
            {str(name): _param_from_json(value) for name, value in params.items()},
            plural=str(plural) if plural is not None else None,
            count=str(count) if count is not None else None,
        )


def msg(text: str, /, **params: MessageParam) -> Message:
    """Return the catalog message `text` with its `{name}` fields' values (extracted by pybabel)."""
    return Message(text, params)


def msg_n(singular: str, plural: str, count: str, /, **params: MessageParam) -> Message:
    """Return a catalog message with plural forms, chosen by the number in parameter `count`."""
    if not isinstance(params.get(count), int):
        raise TypeError(f"msg_n: parameter {count!r} must be an int (it chooses the plural form)")
    return Message(singular, params, plural=plural, count=count)


def verbatim(text: str) -> Message:
    """Return text from outside the catalog (an API's error, a collector's note) as a message."""
    return Message(text, verbatim=True)


def as_message(value: Message | str) -> Message:
    """Return `value` as a Message: plain text (from code not yet speaking in messages) is verbatim."""
    return value if isinstance(value, Message) else verbatim(value)


GROUPED_NUMBERS = frozenset({"n", "count", "total"})
"""Parameters shown with thousands separators (`1.234`); other integers (ports, years, rule
priorities, days) are shown as written. A plural message's count parameter is always grouped."""


class _Fields(dict[str, str]):
    """Field values of one text; a field the text names but nobody gave stays visible as `{name}`."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class MessageWriter:
    """Writes messages as sentences: each text looked up (`gettext`, `ngettext`), its `{fields}` filled,
    numbers and dates as `locale` writes them (Babel, loaded only when a number or date is written).

    The one renderer of messages: the translator gives it a language's catalog; `SOURCE_ENGLISH`
    looks nothing up, for code that must write English without the catalogs (the collectors).
    """

    def __init__(
        self,
        locale: str,
        gettext: Callable[[str], str],
        ngettext: Callable[[str, str, int], str],
    ) -> None:
        self.locale = locale
        self._gettext = gettext
        self._ngettext = ngettext

    def render(self, message: Message) -> str:
        """Return a message as a sentence (verbatim messages as they are)."""
        if message.verbatim:
            return message.id
        if message.plural is not None and message.count is not None:
            number = message.params.get(message.count)
            n = number if isinstance(number, int) else 0
            text = self._ngettext(message.id, message.plural, n)
            return self.fill(text, message.params, count=message.count)
        return self.fill(self._gettext(message.id), message.params, count=None)

    def number(self, value: float) -> str:
        """Return a number as the locale writes it (`1,234.5` / `1.234,5`)."""
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.locale)

    def date(self, value: date) -> str:
        """Return a date in the locale's long form (`4 December 2026` / `4 december 2026`)."""
        from babel.dates import format_date

        return format_date(value, "long", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        """Return a date-time in UTC as the locale writes it: the long date and `HH:MM UTC`."""
        from babel.dates import format_time

        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return f"{self.date(moment.date())} {format_time(moment, 'HH:mm', locale=self.locale)} UTC"

    def fill(self, text: str, params: Mapping[str, MessageParam], *, count: str | None) -> str:
        """Return `text` with each `{name}` replaced by its parameter written for this locale."""
        if not params:
            return text
        fields = _Fields({name: self._param(name, value, count) for name, value in params.items()})
        try:
            return text.format_map(fields)
        except (ValueError, IndexError, AttributeError):
            # A text with a stray brace: show it unfilled rather than lose the run's message.
            return text

    def _param(self, name: str, value: MessageParam, count: str | None) -> str:
        """Return one parameter as text: messages rendered, lists joined, numbers and dates localised."""
        if isinstance(value, Message):
            return self.render(value)
        if isinstance(value, Sequence) and not isinstance(value, str):
            parts = [self._param(name, item, None) for item in value]
            return ("; " if any(isinstance(item, Message) for item in value) else ", ").join(parts)
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int):
            return self.number(value) if name == count or name in GROUPED_NUMBERS else str(value)
        if isinstance(value, float):
            return self.number(value)
        if isinstance(value, datetime):
            return self.datetime(value)
        if isinstance(value, date):
            return self.date(value)
        if value is None:
            return "—"
        return str(value)


SOURCE_ENGLISH = MessageWriter(
    "en_GB", lambda text: text, lambda singular, plural, n: singular if n == 1 else plural
)
"""Messages in their source language, English, as the English catalog writes them (each id is its
own translation there), without loading the catalogs."""


def _param_json(value: MessageParam) -> Any:
    """Return one message parameter as JSON, tagged where JSON alone would lose its type."""
    if isinstance(value, Message):
        return {"message": value.as_json()}
    if isinstance(value, datetime):
        return {"datetime": iso_utc(value)}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_param_json(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _param_from_json(value: Any) -> MessageParam:
    """Return a message parameter from its JSON form (the reverse of _param_json)."""
    if isinstance(value, list):
        return [_param_from_json(item) for item in value]
    if isinstance(value, Mapping):
        if "message" in value:
            return Message.from_json(value["message"])
        if "datetime" in value:
            return datetime.fromisoformat(str(value["datetime"]).replace("Z", "+00:00"))
        if "date" in value:
            return date.fromisoformat(str(value["date"]))
        raise ValueError(f"unknown message parameter {sorted(value)}")
    return value
