"""Render messages and interface texts in English or Dutch from the gettext catalogs.

A `Translator` is what every reader-facing part holds: the HTML report, the JUnit export, the
tickets, the harness's messages of the run. It translates a message id with the catalog of its
language (falling back to the English id when an id is missing, so a run never fails on a
missing translation; the catalog tests make sure none is), fills the `{name}` fields, and
formats numbers and dates as the language writes them (`1.234`, `4 december 2026`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from reports.evidence import Message, MessageParam, MessageWriter

Language = Literal["en", "nl"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "auditor"
FORMAT_LOCALES: dict[Language, str] = {"en": "en_GB", "nl": "nl_NL"}
"""How each language writes numbers and dates: English as in Europe (`4 December 2026`), Dutch
as in the Netherlands (`4 december 2026`, `1.234`)."""


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


class Translator(MessageWriter):
    """Texts, messages, numbers and dates in one language: the message writer with its catalog."""

    def __init__(self, lang: Language, translations: Translations) -> None:
        super().__init__(FORMAT_LOCALES[lang], translations.gettext, translations.ngettext)
        self.lang = lang

    def gettext(self, text: str, /, **params: MessageParam) -> str:
        """Return catalog text `text` in this language with its `{name}` fields filled in."""
        return self.fill(self._gettext(text), params, count=None)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: MessageParam) -> str:
        """Return the plural form for `n` of a catalog text, with `{n}` and the other fields filled in."""
        return self.fill(self._ngettext(singular, plural, n), {"n": n, **params}, count="n")


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
