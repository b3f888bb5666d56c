"""The evidence model: every result of a run with what was observed, expected and cited.

Defined once, low in the house: collectors give their facts a `Source`, controls give a
`Status`, the harness makes `ResultRecord`s and hands the catalog over as `CatalogEntry`s, and
reports render them. This module imports nothing of the auditor's own.

`evidence.json` is the system of record of a run; the HTML report and every later export
are rendered from it and never re-collect. Its shape is fixed by `evidence.schema.json`.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import platform
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

SCHEMA_FILE = Path(__file__).with_name("evidence.schema.json")
SCHEMA_VERSION = "1"
TOOL_NAME = "statement-auditor"


def utc_now() -> datetime:
    """Return the current time in UTC; every timestamp in the evidence is UTC."""
    return datetime.now(UTC)


def sha256_hex(raw: bytes) -> str:
    """Return the hex sha256 of raw evidence bytes, so an auditor can match the recording."""
    return hashlib.sha256(raw).hexdigest()


def iso_utc(moment: datetime) -> str:
    """Return an ISO-8601 UTC timestamp ending in Z: the one datetime format of the evidence."""
    return moment.isoformat().replace("+00:00", "Z")


def to_json(value: Any) -> Any:
    """Return `value` as JSON-ready data: the one conversion of facts and observations to JSON.

    Date-times are ISO 8601 in UTC ending in Z, dates ISO, messages as `Message.as_json` writes
    them, dataclasses objects, tuples lists, sets sorted lists, enums their value, paths text;
    anything else its text.
    """
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Message):
        return value.as_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


@dataclass(frozen=True)
class Source:
    """Where a fact came from: one raw observation (an API response, a command output or a file),
    the call that produced it, when, and a hash of the raw answer."""

    collector: str
    call: str
    collected_at: datetime
    sha256: str
    api_version: str | None = None
    status: int | None = None


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


Status = Literal["pass", "fail", "error", "waived", "not_applicable"]
STATUSES: tuple[Status, ...] = ("fail", "error", "waived", "pass", "not_applicable")
"""Every status an item can have, in the order reports count and list them."""


@dataclass(frozen=True)
class CatalogEntry:
    """A control as the evidence states it: its clause (quoted in Dutch, rendered in English) and texts.

    The run harness hands the catalog to the bundle writer as these entries, so reports/ renders
    from data and never imports the controls.
    """

    id: str
    clause: str
    title: str
    severity: str
    iso27001: tuple[str, ...]
    pass_condition: str
    clause_text_nl: str
    clause_text_en: str

    def as_json(self, counts: dict[str, int]) -> dict[str, Any]:
        """Return the entry of evidence.json's `controls` list, with this run's `counts` per status."""
        return {
            "id": self.id,
            "clause": self.clause,
            "title": self.title,
            "severity": self.severity,
            "iso27001": list(self.iso27001),
            "pass_condition": self.pass_condition,
            "clause_text_nl": self.clause_text_nl,
            "clause_text_en": self.clause_text_en,
            "counts": counts,
        }


def tool_version() -> str:
    """Return the installed version of the auditor (the version in pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:  # running from a checkout that was not pip-installed
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


def git_commit(repo: Path) -> str | None:
    """Return the git commit of the controls' checkout (with '-dirty' if changed), or None."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def machine_identity() -> dict[str, str]:
    """Return where the run executed from: host name, FQDN, OS user, platform and Python."""
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        user = os.environ.get("USER", "unknown")
    return {
        "hostname": socket.gethostname(),
        "fqdn": socket.getfqdn(),
        "user": user,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class WaiverUse:
    """A waiver that matched a result, and whether it was still valid on the run date."""

    resource_pattern: str
    justification: str
    approved_by: str
    expires: str
    expired: bool


@dataclass
class ResultRecord:
    """One control x resource verdict with its evidence."""

    control: str
    clause: str
    title: str
    severity: str
    resource: str
    status: str
    message: str
    nodeid: str
    finding: Message | None = None
    """The message as data (id and parameters), so a reader can render it in another language."""
    observed: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    waiver: WaiverUse | None = None
    duration_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form used in evidence.json."""
        return {
            "control": self.control,
            "clause": self.clause,
            "title": self.title,
            "severity": self.severity,
            "resource": self.resource,
            "status": self.status,
            "message": self.message,
            "finding": self.finding.as_json() if self.finding is not None else None,
            "observed": self.observed,
            "expected": self.expected,
            "sources": [to_json(s) for s in self.sources],
            "waiver": to_json(self.waiver),
            "nodeid": self.nodeid,
            "duration_seconds": round(self.duration_seconds, 6),
        }


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write a JSON document with stable formatting (sorted keys keep diffs between nights small)."""
    path.write_text(
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
