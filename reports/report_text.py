"""The evidence report's own words, in English and Dutch (`--report-lang en|nl`).

Only the report's interface lives here: headings, labels, explanations and status names.
What the bundle says (messages, control titles, pass conditions, the statement's clauses) is
shown as recorded. Every phrase exists in both languages; a phrase with `{name}` fields is
filled in by the template with the same fields in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Language = Literal["en", "nl"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True)
class Phrase:
    """One interface text in both languages."""

    en: str
    nl: str

    def in_language(self, lang: Language) -> str:
        """Return the phrase in `lang`."""
        return self.nl if lang == "nl" else self.en


STATUS_NAMES: dict[str, Phrase] = {
    "fail": Phrase("FAIL", "VOLDOET NIET"),
    "error": Phrase("ERROR", "FOUT"),
    "waived": Phrase("WAIVED", "UITZONDERING"),
    "pass": Phrase("PASS", "VOLDOET"),
    "not_applicable": Phrase("N/A", "N.V.T."),
}
"""Badge text per status."""

STATUS_WORDS: dict[str, Phrase] = {
    "fail": Phrase("fail", "voldoet niet"),
    "error": Phrase("error", "fout"),
    "waived": Phrase("waived", "uitzondering"),
    "pass": Phrase("pass", "voldoet"),
    "not_applicable": Phrase("not applicable", "niet van toepassing"),
}
"""Status names inside running text."""

PHRASES: dict[str, Phrase] = {
    # page and cover
    "title": Phrase(
        "Data Pro Statement — security control audit",
        "Data Pro Statement — audit van beveiligingsmaatregelen",
    ),
    "doc_title": Phrase(
        "Statement audit {started} — {fail} fail, {error} error",
        "Statement-audit {started} — {fail} voldoet niet, {error} fout",
    ),
    "results_line": Phrase("{total} results", "{total} resultaten"),
    "cover": Phrase("Cover", "Voorblad"),
    "cover_intro": Phrase(
        "What this run evaluated, when, from where, by whom, with which version of the checks and under which policy.",
        "Wat deze run heeft beoordeeld, wanneer, vanaf waar, door wie, met welke versie van de controles en onder welk beleid.",
    ),
    "verdict": Phrase("Outcome", "Uitkomst"),
    "scope": Phrase("Scope", "Reikwijdte"),
    "scope_counts": Phrase("In scope", "Binnen de reikwijdte"),
    "tenants": Phrase("Azure tenants", "Azure-tenants"),
    "subscriptions": Phrase("Azure subscriptions", "Azure-abonnementen"),
    "hosts": Phrase("Servers (SSH)", "Servers (SSH)"),
    "hosts_in_error": Phrase("{n} could not be read", "{n} niet uit te lezen"),
    "endpoints": Phrase("Endpoints", "Endpoints"),
    "db_servers": Phrase("Database servers", "Databaseservers"),
    "databases": Phrase("Databases", "Databases"),
    "applications": Phrase("Applications", "Applicaties"),
    "controls_count": Phrase("Controls", "Controles"),
    "results_count": Phrase("Results (control × resource)", "Resultaten (controle × resource)"),
    "not_recorded": Phrase("not recorded in the bundle", "niet vastgelegd in de bundel"),
    "not_in_scope": Phrase("not in scope of this run", "niet in deze run"),
    "run": Phrase("Run", "Run"),
    "started": Phrase("started (UTC)", "begonnen (UTC)"),
    "finished": Phrase("finished (UTC)", "geëindigd (UTC)"),
    "judged_as_of": Phrase("judged as of", "beoordeeld per"),
    "judged_as_of_note": Phrase(
        "(the date expiries and ages are judged on)",
        "(de datum waarop vervaldata en leeftijden zijn beoordeeld)",
    ),
    "mode": Phrase("mode", "modus"),
    "mode_live": Phrase(
        "facts collected live from Azure and servers", "feiten live verzameld uit Azure en van servers"
    ),
    "mode_record": Phrase("collected live and recorded", "live verzameld en opgenomen"),
    "mode_replay": Phrase(
        "judged on a recording, not collected live", "beoordeeld op een opname, niet live verzameld"
    ),
    "recording": Phrase("recording", "opname"),
    "command": Phrase("command", "commando"),
    "schema": Phrase("evidence schema", "bewijsschema"),
    "vantage": Phrase("Vantage point and executor", "Uitvoerpunt en uitvoerder"),
    "hostname": Phrase("host name", "hostnaam"),
    "fqdn": Phrase("FQDN", "FQDN"),
    "platform": Phrase("platform", "platform"),
    "python": Phrase("Python", "Python"),
    "os_user": Phrase("OS user", "OS-gebruiker"),
    "azure_credential": Phrase("Azure credential", "Azure-referentie"),
    "azure_principal": Phrase("Azure identity", "Azure-identiteit"),
    "tool_config": Phrase("Tool and configuration", "Tool en configuratie"),
    "tool": Phrase("tool", "tool"),
    "git_commit": Phrase("git commit of the controls", "git-commit van de controles"),
    "git_dirty": Phrase(
        "(uncommitted changes in the controls checkout)", "(niet-vastgelegde wijzigingen in de controles)"
    ),
    "git_unknown": Phrase(
        "unknown (not run from a git checkout)", "onbekend (niet vanuit een git-checkout gedraaid)"
    ),
    "config": Phrase("configuration", "configuratie"),
    "config_sha": Phrase("configuration sha256", "sha256 van de configuratie"),
    "policy": Phrase("Policy in force", "Geldend beleid"),
    "replay_banner": Phrase(
        "REPLAY of a recording — no fact was collected live in this run; every result is judged on the recorded responses.",
        "HERHALING van een opname — in deze run is niets live verzameld; elk resultaat is beoordeeld op de opgenomen antwoorden.",
    ),
    "replay_state": Phrase(
        "The results show the state at recording time, not at {started}.",
        "De resultaten tonen de toestand op het moment van opnemen, niet op {started}.",
    ),
    "replay_judged": Phrase(
        "Expiries and ages are judged as of {date}.", "Vervaldata en leeftijden zijn beoordeeld per {date}."
    ),
    "inconsistent": Phrase(
        "Inconsistent evidence bundle — the counts below are recomputed from the results:",
        "Inconsistente bewijsbundel — de aantallen hieronder zijn herberekend uit de resultaten:",
    ),
    # scope details
    "scope_details": Phrase("Scope in detail", "Reikwijdte in detail"),
    "azure": Phrase("Azure", "Azure"),
    "endpoint": Phrase("endpoint", "endpoint"),
    "not_visible": Phrase(
        "Not visible to the credential: {subs} — configured for the audit, but their resources could not be read (error results).",
        "Niet zichtbaar voor de referentie: {subs} — opgenomen in de audit, maar de resources konden niet worden gelezen (foutresultaten).",
    ),
    "subscription": Phrase("Subscription", "Abonnement"),
    "id": Phrase("Id", "Id"),
    "state": Phrase("State", "Status"),
    "tenant": Phrase("Tenant", "Tenant"),
    "no_subscription": Phrase("no subscription in scope", "geen abonnement in de reikwijdte"),
    "azure_not_in_scope": Phrase("Azure is not in scope of this run.", "Azure valt niet binnen deze run."),
    "servers": Phrase("Servers", "Servers"),
    "hosts_not_in_scope": Phrase("No server is in scope of this run.", "Geen server valt binnen deze run."),
    "host_unreadable": Phrase("facts could not be read", "feiten niet uit te lezen"),
    "host_read": Phrase("read", "uitgelezen"),
    "db_not_in_scope": Phrase(
        "No database server is in scope of this run.", "Geen databaseserver valt binnen deze run."
    ),
    "name": Phrase("Name", "Naam"),
    "engine": Phrase("Engine", "Engine"),
    "status_col": Phrase("Status", "Status"),
    "populations": Phrase("Populations", "Populaties"),
    "population": Phrase("Population", "Populatie"),
    "count": Phrase("Count", "Aantal"),
    "scope_notes": Phrase("Scope and notes", "Reikwijdte en opmerkingen"),
    "out_of_scope": Phrase("out of scope:", "buiten de reikwijdte:"),
    "in_scope": Phrase("in scope", "binnen de reikwijdte"),
    "no_population": Phrase("no population recorded", "geen populatie vastgelegd"),
    # Azure-published endpoints (cover)
    "tls_discovery": Phrase("Endpoints published by Azure", "Door Azure gepubliceerde endpoints"),
    "tls_discovery_scanned": Phrase("TLS-scanned", "TLS-gescand"),
    "tls_discovery_not_scanned": Phrase(
        "NOT TLS-scanned: only the configured [[endpoints]] are",
        "NIET TLS-gescand: alleen de geconfigureerde [[endpoints]]",
    ),
    "tls_discovery_on": Phrase(
        "[azure] scan_discovered_endpoints = true", "[azure] scan_discovered_endpoints = true"
    ),
    "tls_discovery_off": Phrase(
        "[azure] scan_discovered_endpoints = false", "[azure] scan_discovered_endpoints = false"
    ),
    "tls_discovery_auto_public_cloud": Phrase(
        "[azure] scan_discovered_endpoints = auto: {endpoint} is a Microsoft cloud's Resource Manager",
        "[azure] scan_discovered_endpoints = auto: {endpoint} is de Resource Manager van een Microsoft-cloud",
    ),
    "tls_discovery_auto_not_public_cloud": Phrase(
        "[azure] scan_discovered_endpoints = auto: {endpoint} is not a Microsoft cloud's Resource Manager; "
        "set it to true to scan them",
        "[azure] scan_discovered_endpoints = auto: {endpoint} is niet de Resource Manager van een "
        "Microsoft-cloud; zet hem op true om ze te scannen",
    ),
    # waivers (cover)
    "waivers": Phrase("Waivers", "Uitzonderingen"),
    "waivers_configured": Phrase("{n} waiver(s) configured.", "{n} uitzondering(en) ingesteld."),
    "blanket_waivers": Phrase(
        "Blanket waivers (scope = control: every resource of the control is waived)",
        "Algemene uitzonderingen (scope = control: elke resource van de controle is uitgezonderd)",
    ),
    "stale_waivers": Phrase(
        "Stale waivers: they match no result of this run",
        "Verouderde uitzonderingen: ze passen op geen enkel resultaat van deze run",
    ),
    "stale_advice": Phrase(
        "The resource was renamed or removed, or the pattern is mistyped: correct or remove the waiver.",
        "De resource is hernoemd of verwijderd, of het patroon bevat een typefout: corrigeer of verwijder de uitzondering.",
    ),
    # changes
    "changes": Phrase("Changes since the previous run", "Wijzigingen sinds de vorige run"),
    "no_baseline": Phrase(
        "No baseline: no previous evidence bundle was given or found, so nothing is compared.",
        "Geen basislijn: er is geen vorige bewijsbundel opgegeven of gevonden, dus er is niets vergeleken.",
    ),
    "baseline": Phrase(
        "Compared with the run of {started} ({path}, evidence sha256 {sha}).",
        "Vergeleken met de run van {started} ({path}, sha256 van het bewijs {sha}).",
    ),
    "baseline_unusable": Phrase(
        "The baseline {path} could not be used: {reason}. Nothing is compared: repair or remove it, or pass --baseline with a usable bundle.",
        "De basislijn {path} kon niet worden gebruikt: {reason}. Er is niets vergeleken: herstel of verwijder hem, of geef met --baseline een bruikbare bundel op.",
    ),
    "new_failures": Phrase("New failures", "Nieuwe afwijkingen"),
    "fixed": Phrase("Fixed", "Opgelost"),
    "new_resources": Phrase("New resources", "Nieuwe resources"),
    "vanished_resources": Phrase("Vanished resources", "Verdwenen resources"),
    "none_changed": Phrase("none", "geen"),
    "control": Phrase("Control", "Controle"),
    "resource": Phrase("Resource", "Resource"),
    "before_after": Phrase("Before → after", "Voor → na"),
    "message": Phrase("Message", "Melding"),
    # tickets
    "tickets": Phrase("Tickets", "Tickets"),
    "tickets_mode": Phrase(
        "Ticket mode {mode}, backend {backend}.", "Ticketmodus {mode}, systeem {backend}."
    ),
    "tickets_dry_run": Phrase(
        "Dry run: these actions were planned, none was carried out.",
        "Proefrun: deze acties zijn gepland, geen ervan is uitgevoerd.",
    ),
    "tickets_off": Phrase("Tickets were off for this run.", "Tickets stonden uit voor deze run."),
    "action": Phrase("Action", "Actie"),
    "ticket": Phrase("Ticket", "Ticket"),
    "scope_col": Phrase("Scope", "Reikwijdte"),
    "note": Phrase("Note", "Toelichting"),
    "no_actions": Phrase("no ticket action", "geen ticketactie"),
    "wont_fix": Phrase(
        "Closed by a person as won't fix or risk accepted",
        "Door een persoon gesloten als 'wordt niet opgelost' of 'risico geaccepteerd'",
    ),
    "wont_fix_advice": Phrase(
        "These tickets are never reopened. The failures still count as failures in this report: consider a waiver (with approver, justification and expiry) so the decision becomes part of the evidence.",
        "Deze tickets worden nooit heropend. De afwijkingen tellen in dit rapport nog steeds als afwijking: overweeg een uitzondering (met goedkeurder, motivering en vervaldatum) zodat het besluit deel van het bewijs wordt.",
    ),
    "resolution": Phrase("Resolution", "Afhandeling"),
    "ticket_errors": Phrase(
        "The ticket system could not be updated (no control's status changed):",
        "Het ticketsysteem kon niet worden bijgewerkt (de status van geen enkele controle is veranderd):",
    ),
    # summary
    "summary": Phrase("Summary per statement clause", "Samenvatting per clausule van het statement"),
    "clause": Phrase("Clause", "Clausule"),
    "statement_text": Phrase(
        "Clause: English rendering, statement text (Dutch), controls",
        "Clausule: tekst van het statement, Engelse weergave, controles",
    ),
    "controls": Phrase("Controls", "Controles"),
    "iso": Phrase("ISO/IEC 27001:2022", "ISO/IEC 27001:2022"),
    "total": Phrase("Total", "Totaal"),
    "all_clauses": Phrase("All clauses", "Alle clausules"),
    # filters
    "filter": Phrase("Filter results", "Resultaten filteren"),
    "filter_text": Phrase("resource, message, value…", "resource, melding, waarde…"),
    "filter_text_label": Phrase("Filter results by text", "Resultaten filteren op tekst"),
    "filter_clause_label": Phrase("Filter by clause", "Filteren op clausule"),
    "any_clause": Phrase("every clause", "elke clausule"),
    "filter_count": Phrase(
        "{shown} of {total} results match", "{shown} van {total} resultaten voldoen aan het filter"
    ),
    "filter_total": Phrase("{total} results", "{total} resultaten"),
    "filter_reset": Phrase("Show all", "Alles tonen"),
    # controls
    "clause_nl": Phrase("Clause {clause} (statement, Dutch)", "Clausule {clause} (statement)"),
    "clause_en": Phrase("English rendering", "Engelse weergave"),
    "checked": Phrase("what is checked", "wat wordt gecontroleerd"),
    "pass_condition": Phrase("pass condition", "voldoet als"),
    "expected_all": Phrase("expected (every resource)", "verwacht (elke resource)"),
    "pytest_items": Phrase("pytest items", "pytest-items"),
    "severity": Phrase("severity", "ernst"),
    "needs_attention": Phrase("Needs attention", "Vraagt aandacht"),
    "passed_summary": Phrase("{n} passed", "{n} voldoen"),
    "passed_all": Phrase("every evaluated resource meets the condition", "elke beoordeelde resource voldoet"),
    "na_summary": Phrase("{n} not applicable", "{n} niet van toepassing"),
    "no_result": Phrase(
        "No result was recorded for this control.", "Voor deze controle is geen resultaat vastgelegd."
    ),
    "observed": Phrase("Observed", "Waargenomen"),
    "expected": Phrase("Expected", "Verwacht"),
    "sources": Phrase("Sources", "Bronnen"),
    "no_sources": Phrase("no sources", "geen bronnen"),
    "shared_sources": Phrase(
        "Sources cited by several results", "Bronnen die door meerdere resultaten worden aangehaald"
    ),
    "link_result": Phrase("Link to this result", "Link naar dit resultaat"),
    "this_resource": Phrase("resource", "resource"),
    "item": Phrase("item", "item"),
    "waiver": Phrase("Waiver", "Uitzondering"),
    "expired_waiver": Phrase(
        "EXPIRED WAIVER — no longer waives this result",
        "VERLOPEN UITZONDERING — geldt niet meer voor dit resultaat",
    ),
    "expired": Phrase("EXPIRED", "VERLOPEN"),
    "approved_by": Phrase("approved by", "goedgekeurd door"),
    "justification": Phrase("justification", "motivering"),
    "expires": Phrase("expires", "verloopt"),
    "pattern": Phrase("pattern", "patroon"),
    "collected": Phrase("collected", "verzameld"),
    # footer and legend
    "legend": Phrase(
        "In a source's call, ⟨resource⟩ stands for the resource id of the same row; evidence.json holds every call in full. S1, S2… refer to the control's list of sources cited by several results.",
        "In de aanroep van een bron staat ⟨resource⟩ voor de resource-id van dezelfde regel; evidence.json bevat elke aanroep voluit. S1, S2… verwijzen naar de lijst bronnen die door meerdere resultaten van de controle worden aangehaald.",
    ),
    "footer": Phrase(
        "Rendered from the evidence bundle alone (evidence schema_version {version}); nothing on this page was collected while rendering.",
        "Opgesteld uit alleen de bewijsbundel (bewijsschema versie {version}); voor deze pagina is niets verzameld.",
    ),
    "anchors": Phrase(
        "Anchors: #control-<control id>, #result-<first 12 hex of sha1(control id + newline + resource)>.",
        "Ankers: #control-<controle-id>, #result-<eerste 12 hex van sha1(controle-id + regeleinde + resource)>.",
    ),
}


def ui_text(lang: Language) -> dict[str, str]:
    """Return every interface phrase in `lang`, keyed by phrase name (the template's `t`).

    Raises ValueError for a language the report does not speak, so a typo in
    `--report-lang` is an error instead of a silently English report.
    """
    _check(lang)
    return {key: phrase.in_language(lang) for key, phrase in PHRASES.items()}


def status_names(lang: Language) -> dict[str, str]:
    """Return the badge text of each status in `lang` (FAIL / VOLDOET NIET, ...)."""
    _check(lang)
    return {status: phrase.in_language(lang) for status, phrase in STATUS_NAMES.items()}


def status_words(lang: Language) -> dict[str, str]:
    """Return each status as a lower-case word for running text in `lang`."""
    _check(lang)
    return {status: phrase.in_language(lang) for status, phrase in STATUS_WORDS.items()}


def _check(lang: str) -> None:
    """Raise ValueError unless `lang` is one of LANGUAGES."""
    if lang not in LANGUAGES:
        raise ValueError(f"report language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
