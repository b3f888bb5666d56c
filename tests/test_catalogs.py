"""The gettext catalogs: complete in both languages, faithful to their fields, and used everywhere.

Findings are data (`reports.evidence.Message`); the catalogs (reports/locale, managed with Babel)
turn them into English or Dutch. A text without a Dutch translation, or a translation that drops
a `{field}`, fails here; so does an English sentence on the Dutch demo report.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.evidence import Message, msg, msg_n, verbatim
from reports.html import render_html
from reports.i18n.catalogs import check, extract, problems
from reports.i18n.translation import LANGUAGES, translator
from tests.audit_runs import run_demo
from tests.catalog_texts import english_sentences


def test_every_text_has_a_dutch_and_an_english_translation() -> None:
    """Every text marked in the code is in both catalogs, translated, not fuzzy, with the same fields."""
    assert check() == []


def test_a_translation_that_drops_a_field_is_named(tmp_path: Path) -> None:
    """A Dutch text that leaves out `{name}`, or an id missing from the catalog, is a problem."""
    template = tmp_path / "t.pot"
    template.write_text(
        'msgid "database {name} is not encrypted"\nmsgstr ""\n\n'
        'msgid "{n} rule admits"\nmsgid_plural "{n} rules admit"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
        'msgid "not reported"\nmsgstr ""\n',
        encoding="utf-8",
    )
    po = tmp_path / "nl.po"
    po.write_text(
        'msgid "database {name} is not encrypted"\nmsgstr "database is niet versleuteld"\n\n'
        'msgid "{n} rule admits"\nmsgid_plural "{n} rules admit"\nmsgstr[0] "één regel laat toe"\n'
        'msgstr[1] ""\n',
        encoding="utf-8",
    )
    from babel.messages.pofile import read_po

    with template.open("rb") as stream:
        expected = read_po(stream)
    found = problems("nl", expected, po)
    assert "nl: the translation of 'database {name} is not encrypted' drops ['name']" in found
    assert "nl: '{n} rule admits' is not translated" in found
    assert "nl: no entry for 'not reported'" in found


def test_the_extracted_template_holds_controls_templates_and_catalog_texts(tmp_path: Path) -> None:
    """Extraction reaches findings (evidence.fails), catalog titles (N_), templates (_) and plurals."""
    catalog = extract(tmp_path / "auditor.pot")
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert "{type} is in {location}, outside the allowed EU/EEA regions" in ids
    assert "Azure resources are located in the EU/EEA" in ids
    assert "Summary per statement clause" in ids
    assert "{n} waiver configured." in ids


def test_plural_forms_come_from_gettext_and_numbers_are_grouped() -> None:
    """No '(s)': the count chooses the form, and counts get the language's thousands separator."""
    nl, en = translator("nl"), translator("en")
    assert nl.ngettext("{n} waiver configured.", "{n} waivers configured.", 1) == "1 uitzondering ingesteld."
    assert nl.ngettext("{n} waiver configured.", "{n} waivers configured.", 1234) == (
        "1.234 uitzonderingen ingesteld."
    )
    assert en.ngettext("{n} waiver configured.", "{n} waivers configured.", 1234) == (
        "1,234 waivers configured."
    )


def test_dates_are_written_as_each_language_writes_them() -> None:
    """`4 december 2026` in Dutch, `4 December 2026` in English; date-times in UTC."""
    assert translator("nl").date(date(2026, 12, 4)) == "4 december 2026"
    assert translator("en").date(date(2026, 12, 4)) == "4 December 2026"
    moment = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    assert translator("nl").datetime(moment) == "4 december 2026 15:30 UTC"


def test_a_port_is_not_grouped_like_a_count() -> None:
    """Only counts get thousands separators: port 1433 stays 1433 in Dutch."""
    message = msg("port {port} is open on {n} hosts", port=1433, n=2500)
    assert translator("nl").render(message) == "port 1433 is open on 2.500 hosts"


def test_nested_messages_and_lists_render_in_the_reader_language() -> None:
    """A finding's parts (nested messages, lists of them) translate with it; verbatim text does not."""
    finding = msg(
        "{finding} (waived by {approver} until {expires}: {justification})",
        finding=msg("condition met"),
        approver="Steven Somer (DPO)",
        expires=date(2027, 1, 31),
        justification=verbatim("archive clients only speak TLS 1.0"),
    )
    assert translator("nl").render(finding) == (
        "aan de voorwaarde voldaan (uitgezonderd door Steven Somer (DPO) tot 31 januari 2027: "
        "archive clients only speak TLS 1.0)"
    )


MESSAGE_PARAMS = st.recursive(
    st.one_of(
        st.text(max_size=20),
        st.integers(min_value=-(10**9), max_value=10**9),
        st.dates(),
        st.none(),
        st.builds(verbatim, st.text(max_size=20)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.builds(lambda value: msg("one of {regions}", regions=value), inner),
    ),
    max_leaves=6,
)


@given(MESSAGE_PARAMS, st.integers(min_value=0, max_value=10**6))
def test_a_message_survives_the_evidence_and_renders_the_same(value: object, count: int) -> None:
    """Through evidence.json and back a message renders the same sentence in both languages."""
    message = msg_n("{n} rule admits {value}", "{n} rules admit {value}", "n", n=count, value=value)
    again = Message.from_json(json.loads(json.dumps(message.as_json())))
    for lang in LANGUAGES:
        assert translator(lang).render(again) == translator(lang).render(message)


def test_unknown_finding_shapes_are_refused() -> None:
    """A finding evidence.json never writes is a ValueError (the report then shows the recorded text)."""
    with pytest.raises(ValueError, match="text id"):
        Message.from_json({"params": {}})
    with pytest.raises(ValueError, match="unknown message parameter"):
        Message.from_json({"id": "{x}", "params": {"x": {"weird": 1}}})


def test_a_bundle_recorded_in_english_reads_in_dutch() -> None:
    """The report renders a result from its finding, so an English night reads in Dutch."""
    from tests.test_html_report import load_sample

    bundle = load_sample()
    result = next(r for r in bundle["results"] if r["status"] == "fail")
    result["message"] = "Microsoft.Web/sites is in uksouth, outside the allowed EU/EEA regions"
    result["finding"] = msg(
        "{type} is in {location}, outside the allowed EU/EEA regions",
        type="Microsoft.Web/sites",
        location="uksouth",
    ).as_json()
    page = render_html(bundle, lang="nl")
    assert "Microsoft.Web/sites staat in uksouth, buiten de toegestane EU/EER-regio&#39;s" in page
    assert result["message"] not in page


@pytest.fixture(scope="module")
def dutch_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run with --report-lang nl, as a Dutch auditor starts it."""
    evidence = tmp_path_factory.mktemp("demo-nl")
    run = run_demo(evidence, "--report-lang", "nl")
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    return evidence


def _page_text(path: Path) -> str:
    """Return the visible text of a report page: tags, style and script dropped, entities decoded."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S)
    # The statement's English rendering is on the Dutch page by design (lang="en").
    text = re.sub(r'<(\w+)\b[^>]*\blang="en"[^>]*>.*?</\1>', " ", text, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_the_dutch_demo_report_holds_no_english_catalog_sentence(dutch_demo: Path) -> None:
    """From cover to last finding: no fixed English text of the catalog is on the Dutch page."""
    page = _page_text(dutch_demo / "report.html")
    leaked = [sentence for sentence in english_sentences() if sentence in page]
    assert leaked == []


def test_the_dutch_demo_evidence_keeps_the_finding_and_its_dutch_text(dutch_demo: Path) -> None:
    """evidence.json holds the Dutch sentence and the finding it was rendered from."""
    bundle = json.loads((dutch_demo / "evidence.json").read_text(encoding="utf-8"))
    failing = [r for r in bundle["results"] if r["status"] == "fail" and r["control"] == "8.azure-region"]
    assert failing
    for result in failing:
        finding = Message.from_json(result["finding"])
        assert result["message"] == translator("nl").render(finding)
        assert "buiten de toegestane EU/EER-regio's" in result["message"]


SUMMARY_LINE = re.compile(r"^\w+ = \{\w+\}(; \w+ = \{\w+\})*$")
"""The id of a pass's one-line summary of its observations: data, not a catalog text."""


def _ids(message: Message) -> list[str]:
    """Return the catalog ids a finding uses: its own and those of its nested messages."""
    if message.verbatim:
        return []
    # A pass line and the data inside it (doubled braces) are data, not catalog texts.
    found = [] if SUMMARY_LINE.match(message.id) or "{{" in message.id else [message.id]
    for value in message.params.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Message):
                found += _ids(item)
    return found


def test_every_finding_of_the_dutch_demo_is_a_translated_catalog_text(dutch_demo: Path) -> None:
    """What the controls said at run time is in the Dutch catalog: a text pybabel could not extract
    (a message built where the extractor does not look) would otherwise stay English unnoticed."""
    from babel.messages.pofile import read_po

    from reports.i18n.translation import catalog_files

    with catalog_files("nl")[0].open("rb") as stream:
        catalog = read_po(stream, locale="nl")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    bundle = json.loads((dutch_demo / "evidence.json").read_text(encoding="utf-8"))
    used = {i for r in bundle["results"] if r.get("finding") for i in _ids(Message.from_json(r["finding"]))}
    assert used, "the demo's findings carry no catalog message"
    assert sorted(used - translated) == []
