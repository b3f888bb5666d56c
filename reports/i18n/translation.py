"""Render messages and interface texts in English or Dutch from the gettext catalogs.

A `Translator` is what every reader-facing part holds: the HTML report, the JUnit export, the
tickets, the harness's messages of the run. It translates a message id with the catalog of its
language (falling back to the English id when an id is missing, so a run never fails on a
missing translation; the catalog tests make sure none is), fills the `{name}` fields, and
formats numbers and dates as the language writes them (`1.234`, `4 december 2026`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from reports.evidence import Message, MessageParam

Language = Literal["en", "nl"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "auditor"
FORMAT_LOCALES: dict[Language, str] = {"en": "en_GB", "nl": "nl_NL"}
"""How each language writes numbers and dates: English as in Europe (`4 December 2026`), Dutch
as in the Netherlands (`4 december 2026`, `1.234`)."""
GROUPED_NUMBERS = frozenset({"n", "count", "total"})
"""Parameters shown with thousands separators (`1.234`); other integers (ports, years, rule
priorities, days) are shown as written. A plural message's count parameter is always grouped."""


def check_language(lang: str) -> Language:
    """Return `lang` as a Language, or raise ValueError naming the languages the auditor speaks."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    found: Language = lang
    return found


def catalog_files(lang: Language) -> tuple[Path, Path]:
    """Return the `.po` source and the compiled `.mo` of `lang`'s catalog."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def _load(lang: Language) -> Translations:
    """Return `lang`'s translations: the compiled `.mo`, or the `.po` compiled in memory when the
    `.mo` is missing or older (a checkout where `python -m reports.i18n.catalogs compile` has not run)."""
    po, mo = catalog_files(lang)
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as stream:
            return Translations(stream, domain=DOMAIN)
    with po.open("rb") as stream:
        catalog = read_po(stream, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class _Fields(dict[str, str]):
    """Field values of one text; a field the text names but nobody gave stays visible as `{name}`."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Translator:
    """Texts, messages, numbers and dates in one language."""

    def __init__(self, lang: Language, translations: Translations) -> None:
        self.lang = lang
        self.locale = Locale.parse(FORMAT_LOCALES[lang])
        self._translations = translations

    def gettext(self, text: str, /, **params: MessageParam) -> str:
        """Return catalog text `text` in this language with its `{name}` fields filled in."""
        return self._fill(self._translations.gettext(text), params, count=None)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: MessageParam) -> str:
        """Return the plural form for `n` of a catalog text, with `{n}` and the other fields filled in."""
        return self._fill(self._translations.ngettext(singular, plural, n), {"n": n, **params}, count="n")

    def render(self, message: Message) -> str:
        """Return a message as a sentence in this language (verbatim messages as they are)."""
        if message.verbatim:
            return message.id
        if message.plural is not None and message.count is not None:
            number = message.params.get(message.count)
            n = number if isinstance(number, int) else 0
            text = self._translations.ngettext(message.id, message.plural, n)
            return self._fill(text, message.params, count=message.count)
        return self._fill(self._translations.gettext(message.id), message.params, count=None)

    def number(self, value: float) -> str:
        """Return a number as this language writes it (`1,234.5` / `1.234,5`)."""
        return format_decimal(value, locale=self.locale)

    def date(self, value: date) -> str:
        """Return a date in this language's long form (`4 December 2026` / `4 december 2026`)."""
        return format_date(value, "long", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        """Return a date-time in UTC as this language writes it: the long date and `HH:MM UTC`."""
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return f"{self.date(moment.date())} {format_time(moment, 'HH:mm', locale=self.locale)} UTC"

    def _fill(self, text: str, params: Mapping[str, MessageParam], *, count: str | None) -> str:
        """Return `text` with each `{name}` replaced by its parameter rendered in this language."""
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


@lru_cache(maxsize=len(LANGUAGES))
def translator(lang: str) -> Translator:
    """Return the (cached) translator of `lang`; raises ValueError for a language the auditor does not speak."""
    checked = check_language(lang)
    return Translator(checked, _load(checked))


def english(message: Message) -> str:
    """Return a message in English: the text the run's console and pytest's output show."""
    return translator("en").render(message)


def result_message(result: Mapping[str, Any], tr: Translator) -> str:
    """Return a result's message in `tr`'s language: rendered from its recorded finding when there is
    one (so a bundle recorded in English reads in Dutch), else the recorded text (older bundles)."""
    finding = result.get("finding")
    if isinstance(finding, Mapping):
        try:
            return tr.render(Message.from_json(finding))
        except (ValueError, TypeError):
            pass
    return str(result.get("message", ""))


def jinja_globals(lang: str) -> dict[str, Any]:
    """Return the template functions of `lang`: `_` and `ngettext` (what pybabel extracts from templates),
    `render` for recorded findings, `number` and `date`."""
    tr = translator(lang)
    return {
        "_": tr.gettext,
        "ngettext": tr.ngettext,
        "render": tr.render,
        "number": tr.number,
        "date": tr.date,
    }
