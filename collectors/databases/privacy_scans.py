"""Card-number scans and newsletter opt-in counts: the rows the readers write, and the facts read back (6c, 6e).

Every reader (PostgreSQL, SQL Server / Azure SQL, RavenDB) reduces a scanned column to counts of
card numbers per brand, and a subscriber table to (total, without opt-in), inside `fetch`; the
row builders here give those rows one shape on every engine (result sets `card_scans` and
`newsletter_opt_ins`), and `card_columns` / `newsletter_subscriptions` turn them, live or
replayed, into facts. A row that cannot be read, or whose numbers do not add up (more values
with a card number than rows examined, more subscriptions without an opt-in than there are), or
a subject measured twice, makes that one subject an `error` with the reason, never a pass. A row
that names no configured application is left out, so what it should have measured is an error
("no measurement").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from collectors.config.databases import ApplicationEntry, NewsletterOptIn
from collectors.databases.card_numbers import BRANDS, CardCount
from collectors.databases.facts import CardColumn, NewsletterSubscriptions
from collectors.databases.measurements import error_text, examined_of_total
from collectors.databases.reading import CatalogError
from collectors.databases.rows import CatalogRow
from collectors.messages import Reason
from reports.evidence import msg

CARD_SCANS = "card_scans"
"""The result set of the card-number scans, one row per column (or per table that has none)."""
NEWSLETTER_OPT_INS = "newsletter_opt_ins"
"""The result set of the newsletter counts, one row per application."""
Row = dict[str, Any]
"""One measurement row, as a recording stores it: JSON-safe counts and names, never a value read."""

# --- the rows a reader writes -----------------------------------------------------------------


def card_scan_row(application: str, column: str, counted: CardCount, total: int | None) -> Row:
    """Return the row of one scanned column: rows examined of the total, and card numbers per brand.

    Exists so every reader records a scan in the one shape `card_columns` reads; the counts are
    all that is kept of the values `counted` has seen.
    """
    return {
        "application": application,
        "column": column,
        "rows_examined": counted.examined,
        "total_rows": total,
        "values_with_cards": counted.values_with_cards,
        "brands": dict(sorted(counted.brands.items())),
    }


def unmeasured_rows(app: ApplicationEntry, why: str) -> tuple[list[Row], list[Row]]:
    """Return (card rows, newsletter rows) saying `why` for every 6c/6e subject of `app`.

    Used when the application's database cannot be read at all, so each configured column,
    table and count is its own `error` instead of a missing measurement.
    """
    cards: list[Row] = [{"application": app.name, "column": c, "error": why} for c in app.card_scan]
    cards.extend({"application": app.name, "table": t, "error": why} for t in app.card_scan_tables)
    newsletters: list[Row] = []
    if app.newsletter is not None:
        newsletters.append(
            {"application": app.name, "measured_by": newsletter_measured_by(app.newsletter), "error": why}
        )
    return cards, newsletters


def newsletter_measured_by(
    newsletter: NewsletterOptIn, kind: str | None = None, *, table: str = "table", column: str = "column"
) -> str:
    """Return how an application's subscriptions are counted, e.g. 'table dbo.S, opt-in column X (flag)'.

    `table` and `column` are the engine's words for them (RavenDB: collection, field); `kind` is
    what the opt-in turned out to be. Shown in the evidence; never holds a value read.
    """
    if newsletter.table is None:
        return "configured query"
    described = f"{table} {newsletter.table}, opt-in {column} {newsletter.opt_in_column}"
    return f"{described} ({kind})" if kind else described


def count_answer(value: object) -> int | str:
    """Return `value` as a count of subscriptions without an opt-in, or why it is none (never the value).

    A whole-number Decimal (SQL Server's numeric) counts; a boolean, a fraction, text or a
    negative number is an answer the auditor cannot trust.
    """
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return "the query's answer is not a whole number"
    if value < 0:
        return "the query's answer is a negative number"
    return value


def one_count(result: Sequence[Sequence[object]]) -> int | str:
    """Return the one whole number a count query answered, or why its answer is unusable (never the answer)."""
    if len(result) != 1 or len(result[0]) != 1:
        return "the query must return one row of one column (the number of subscriptions without an opt-in)"
    return count_answer(result[0][0])


# --- the facts read back ----------------------------------------------------------------------


def _brands(row: CatalogRow) -> tuple[tuple[str, int], ...]:
    """Return (brand, count) pairs of the brands found; an unknown brand name or a bad count is unreadable."""
    out: list[tuple[str, int]] = []
    for name, count in row.mapping("brands").items():
        if name not in BRANDS:
            raise CatalogError(
                msg("{where}: brands holds a name that is not a known card brand", where=row.where)
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise CatalogError(msg("{where}: brands[{name}] is not a count", where=row.where, name=name))
        if count:
            out.append((name, count))
    return tuple(sorted(out))


def _card_column(row: CatalogRow, server: str, app: ApplicationEntry, column: str) -> CardColumn:
    examined, total = examined_of_total(row)
    with_cards = row.integer("values_with_cards", minimum=0)
    brands = _brands(row)
    numbers = sum(count for _name, count in brands)
    if with_cards > examined or with_cards > numbers or (numbers and not with_cards):
        raise CatalogError(
            msg(
                "{where}: {values} values with a card number, {numbers} card numbers and {examined} rows "
                "examined do not add up",
                where=row.where,
                values=with_cards,
                numbers=numbers,
                examined=examined,
            )
        )
    return CardColumn(
        application=app.name,
        server=server,
        database=app.database,
        column=column,
        rows_examined=examined,
        total_rows=total,
        brands=brands,
        values_with_cards=with_cards,
        sampled=total is not None and total > examined,
    )


def _dotted(value: object, minimum: int) -> str | None:
    """Return `value` when it is a name of at least `minimum` non-empty dot-separated parts, else None."""
    if isinstance(value, str):
        parts = value.split(".")
        if len(parts) >= minimum and all(parts):
            return value
    return None


def card_columns(
    server: str, rows: Iterable[CatalogRow], applications: Iterable[ApplicationEntry]
) -> dict[tuple[str, str], CardColumn | Reason]:
    """Return (application, column) -> card numbers per brand, or why that column is unreadable.

    A column is schema.table.column (RavenDB: Collection.Field.Path). A row of a configured table
    as a whole (no column: it could not be listed, or has no text column) is keyed (application,
    schema.table) (RavenDB: the collection). Exists so a damaged scan, or a column scanned twice,
    errors its own 6c item instead of passing it.
    """
    apps = {app.name: app for app in applications}
    out: dict[tuple[str, str], CardColumn | Reason] = {}
    for row in rows:
        name = row.values.get("application")
        if not isinstance(name, str) or name not in apps:
            continue
        app = apps[name]
        column = _dotted(row.values.get("column"), 2)
        table = _dotted(row.values.get("table"), 1)
        if column is None and table is None:
            continue
        if column is None:
            assert table is not None
            key = (name, table)
            if key in out:
                out[key] = msg("{where}: {column} is scanned twice", where=row.where, column=table)
            elif row.has("error"):
                out[key] = error_text(row)
            elif row.values.get("no_text_columns") is True:
                out[key] = CardColumn(
                    application=name,
                    server=server,
                    database=app.database,
                    column=table,
                    rows_examined=0,
                    total_rows=None,
                    no_text_columns=True,
                )
            else:
                out[key] = msg(
                    "{where}: a table row without a column, an error or no_text_columns", where=row.where
                )
            continue
        key = (name, column)
        if key in out:
            out[key] = msg("{where}: {column} is scanned twice", where=row.where, column=column)
            continue
        if row.has("error"):
            out[key] = error_text(row)
            continue
        try:
            out[key] = _card_column(row, server, app, column)
        except CatalogError as exc:
            out[key] = msg("the measurement is unreadable: {error}", error=exc.reason)
    return out


def _newsletter(row: CatalogRow, server: str, app: ApplicationEntry) -> NewsletterSubscriptions:
    measured_by = row.text("measured_by")
    total = row.optional_integer("total", minimum=0)
    without = row.integer("without_opt_in", minimum=0)
    if total is not None and without > total:
        raise CatalogError(
            msg(
                "{where}: {without} subscriptions without an opt-in of only {total}",
                where=row.where,
                without=without,
                total=total,
            )
        )
    return NewsletterSubscriptions(
        application=app.name,
        server=server,
        database=app.database,
        measured_by=measured_by,
        without_opt_in=without,
        total=total,
    )


def newsletter_subscriptions(
    server: str, rows: Iterable[CatalogRow], applications: Iterable[ApplicationEntry]
) -> dict[str, NewsletterSubscriptions | Reason]:
    """Return application -> its subscriptions with and without an opt-in, or why they are unreadable.

    Exists so a damaged count, or an application counted twice, errors its 6e item instead of
    passing it.
    """
    apps = {app.name: app for app in applications if app.newsletter is not None}
    out: dict[str, NewsletterSubscriptions | Reason] = {}
    for row in rows:
        name = row.values.get("application")
        if not isinstance(name, str) or name not in apps:
            continue
        if name in out:
            out[name] = msg("{where}: the subscriptions are counted twice", where=row.where)
            continue
        if row.has("error"):
            out[name] = error_text(row)
            continue
        try:
            out[name] = _newsletter(row, server, apps[name])
        except CatalogError as exc:
            out[name] = msg("the measurement is unreadable: {error}", error=exc.reason)
    return out
