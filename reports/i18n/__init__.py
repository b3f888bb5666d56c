"""The auditor's languages: gettext catalogs (reports/locale, managed with Babel) and the translator.

Controls, collectors and the harness state sentences as `reports.evidence.Message`s; whoever
shows a sentence to a reader renders it here, in the reader's language, with numbers and dates
formatted for that language. `python -m reports.i18n.catalogs` extracts, updates, compiles and
checks the catalogs.
"""
