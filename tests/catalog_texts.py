"""The catalogs' English texts that Dutch renders differently: what a Dutch page must not show."""

from __future__ import annotations

import re
from functools import lru_cache

from babel.messages.pofile import read_po

from reports.i18n.translation import catalog_files

FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


@lru_cache(maxsize=1)
def english_sentences(min_length: int = 12) -> tuple[str, ...]:
    """Return every fixed piece of English text (between `{fields}`) of at least `min_length`
    characters and two words, whose Dutch translation does not contain it: a Dutch report that shows
    one of them shows an untranslated English sentence."""
    po, _ = catalog_files("nl")
    with po.open("rb") as stream:
        catalog = read_po(stream, locale="nl")
    pieces: set[str] = set()
    every_dutch = " ".join(
        " ".join(map(str, m.string)) if isinstance(m.string, tuple) else str(m.string)
        for m in catalog
        if m.id
    )
    for message in catalog:
        if not message.id:
            continue
        ids = list(message.id) if isinstance(message.id, tuple) else [message.id]
        forms = list(message.string) if isinstance(message.string, tuple) else [message.string]
        dutch = " ".join(str(form) for form in forms)
        for text in map(str, ids):
            for piece in FIELD.split(text):
                piece = piece.strip(" :;,.()")
                # A piece the Dutch texts themselves use (a technical term kept as is) is no leak.
                if len(piece) >= min_length and " " in piece and piece not in dutch + every_dutch:
                    pieces.add(piece)
    return tuple(sorted(pieces))
