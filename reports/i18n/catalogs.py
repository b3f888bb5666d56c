"""Keep the gettext catalogs in step with the code: extract, update, compile and check (Babel).

    python -m reports.i18n.catalogs extract   # reports/locale/auditor.pot from the sources
    python -m reports.i18n.catalogs update    # merge the template into nl and en (en = the ids)
    python -m reports.i18n.catalogs compile   # .po -> .mo (tests/run.sh and the demo do this)
    python -m reports.i18n.catalogs check     # exit 1 naming every id without a translation

Texts are marked where they are written: `msg`/`msg_n`/`N_` (reports.evidence), `evidence.fails`
(controls), `_`/`gettext`/`ngettext` (templates and renderers). English is the source language:
its catalog holds each id as its own translation, so a reader of an English report reads exactly
what the code says, and a missing English entry means the catalog is out of date.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from reports.i18n.translation import DOMAIN, LANGUAGES, LOCALE_DIR, catalog_files, check_language

ROOT = LOCALE_DIR.parent.parent
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
MAPPING = LOCALE_DIR / "babel.cfg"
SOURCES = ("controls", "collectors", "reports", "conftest.py")
KEYWORDS = ("msg", "msg_n:1,2", "N_", "fails", "fails_n:1,2")
"""Marker functions beyond Babel's defaults (`_`, `gettext`, `ngettext`, ...)."""
FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}")


FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
"""The header dates written into the catalogs: fixed, so that regenerating them changes nothing
when no text changed (git history says when a catalog changed)."""


def extract(target: Path = TEMPLATE) -> Catalog:
    """Extract every marked text of the sources into `target` (the .pot) and return it."""
    keywords = [part for keyword in KEYWORDS for part in ("-k", keyword)]
    with contextlib.chdir(ROOT):
        command = ["pybabel", "-q", "extract", "-F", str(MAPPING.relative_to(ROOT)), *keywords]
        command.extend(["--sort-by-file", "--omit-header", "--width", "100", "-o", str(target), *SOURCES])
        CommandLineInterface().run(command)  # type: ignore[no-untyped-call]
    with target.open("rb") as stream:
        return read_po(stream)


def _write(catalog: Catalog, po: Path) -> None:
    """Write a language's catalog with its header (plural forms) and no date churn."""
    catalog.fuzzy = False
    catalog.header_comment = (
        f"# {catalog.locale.english_name if catalog.locale else po.parent.parent.name} texts of "
        "statement-auditor: reports, findings and tickets.\n"
        "# Maintained with `python -m reports.i18n.catalogs update` (Babel); see README.md."
    )
    catalog.creation_date = catalog.revision_date = FIXED_DATE
    catalog.project, catalog.version = "statement-auditor", "1"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = catalog.language_team = "statement-auditor maintainers"
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as stream:
        write_po(stream, catalog, width=100, sort_by_file=True, ignore_obsolete=True)


def update() -> None:
    """Extract, then merge the template into every language's catalog (English: each id is its text).

    New ids arrive untranslated in Dutch (`check` names them); ids gone from the code leave.
    """
    template = extract()
    for lang in LANGUAGES:
        po, _ = catalog_files(lang)
        if po.exists():
            with po.open("rb") as stream:
                catalog = read_po(stream, locale=lang)
        else:
            catalog = Catalog(locale=lang, domain=DOMAIN)
        # update() adopts the template's entries as they are: each language gets its own copy.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True, update_header_comment=False)
        if lang == "en":
            for message in catalog:
                if message.id:
                    message.string = tuple(message.id) if message.pluralizable else message.id
        _write(catalog, po)


def compile_catalogs() -> None:
    """Compile every language's .po into the .mo the translator loads (skipping fuzzy entries)."""
    for lang in LANGUAGES:
        po, mo = catalog_files(lang)
        with po.open("rb") as stream:
            catalog = read_po(stream, locale=lang, domain=DOMAIN)
        with mo.open("wb") as stream:
            write_mo(stream, catalog)


def fields(text: str) -> set[str]:
    """Return the `{name}` fields of a text."""
    return set(FIELD.findall(text))


def _strings(message: Message) -> list[str]:
    """Return every translation form of a catalog entry."""
    if isinstance(message.string, tuple | list):
        return [str(s) for s in message.string]
    return [str(message.string or "")]


def problems(lang: str, expected: Catalog, po: Path | None = None) -> list[str]:
    """Return what is wrong with `lang`'s catalog against the extracted template `expected`.

    An id of the sources that the catalog lacks, a translation that is empty or fuzzy, a plural
    without all its forms, and a translation that drops or invents a `{field}` are problems.
    """
    if po is None:
        po, _ = catalog_files(check_language(lang))
    with po.open("rb") as stream:
        catalog = read_po(stream, locale=lang)
    found: list[str] = []
    for wanted in expected:
        if not wanted.id:
            continue
        key = wanted.id[0] if isinstance(wanted.id, tuple | list) else wanted.id
        entry = catalog.get(wanted.id if not isinstance(wanted.id, tuple | list) else wanted.id[0])
        if entry is None:
            found.append(f"{lang}: no entry for {key!r}")
            continue
        if entry.fuzzy:
            found.append(f"{lang}: fuzzy translation of {key!r}")
        forms = _strings(entry)
        ids = list(wanted.id) if isinstance(wanted.id, tuple | list) else [wanted.id]
        if any(not form for form in forms) or (entry.pluralizable and len(forms) < catalog.num_plurals):
            found.append(f"{lang}: {key!r} is not translated")
            continue
        names = set().union(*(fields(i) for i in ids))
        for form in forms:
            if fields(form) - names:
                found.append(
                    f"{lang}: the translation of {key!r} names fields {sorted(fields(form) - names)}"
                )
            missing = fields(ids[0]) - fields(form) - ({"n"} if entry.pluralizable else set())
            if missing:
                found.append(f"{lang}: the translation of {key!r} drops {sorted(missing)}")
    return found


def check() -> list[str]:
    """Return every catalog problem of every language, against a fresh extraction of the sources."""
    with tempfile.TemporaryDirectory() as folder:
        expected = extract(Path(folder) / f"{DOMAIN}.pot")
    return [problem for lang in LANGUAGES for problem in problems(lang, expected)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one catalog command; `check` exits 1 and names every problem."""
    parser = argparse.ArgumentParser(
        prog="python -m reports.i18n.catalogs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=("extract", "update", "compile", "check"))
    command = parser.parse_args(argv).command
    if command == "extract":
        extract()
    elif command == "update":
        update()
        compile_catalogs()
    elif command == "compile":
        compile_catalogs()
    else:
        found = check()
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
