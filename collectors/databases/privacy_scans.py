"""Card-number scans and newsletter opt-in counts read back from catalog rows (6c, 6e).

The readers reduce a scanned column to counts of card numbers per brand, and a subscriber
table to (total, without opt-in), inside `fetch`; these functions turn those rows, live or
replayed, into facts. A row that cannot be read, or whose numbers do not add up (more values
with a card number than rows examined, more subscriptions without an opt-in than there are),
makes that one subject an `error` with the reason, never a pass. A row that names no
configured application is left out, so what it should have measured is an error ("no
measurement").
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.config.databases import ApplicationEntry
from collectors.databases.card_numbers import BRANDS
from collectors.databases.facts import CardColumn, NewsletterSubscriptions
from collectors.databases.reading import CatalogError
from collectors.databases.rows import CatalogRow
from collectors.messages import Reason
from reports.evidence import msg


def _error_text(row: CatalogRow) -> Reason:
    """Return a measurement row's error; an error that is not text is itself unreadable."""
    try:
        return row.text("error")
    except CatalogError as exc:
        return msg("the measurement failed and its error is unreadable ({error})", error=exc.reason)


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
    examined = row.integer("rows_examined", minimum=0)
    total = row.optional_integer("total_rows", minimum=0)
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
    if total is not None and total < examined:
        raise CatalogError(
            msg(
                "{where}: {examined} rows examined of only {rows}",
                where=row.where,
                examined=examined,
                rows=total,
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


def _dotted(value: object, parts: int) -> str | None:
    if isinstance(value, str) and len(value.split(".")) == parts:
        return value
    return None


def card_columns(
    server: str, rows: Iterable[CatalogRow], applications: Iterable[ApplicationEntry]
) -> dict[tuple[str, str], CardColumn | Reason]:
    """Return (application, column) -> card numbers per brand, or why that column is unreadable.

    A row of a configured table as a whole (no column: it could not be listed, or has no text
    column) is keyed (application, schema.table). Exists so a damaged scan errors its own 6c
    item instead of passing it.
    """
    apps = {app.name: app for app in applications}
    out: dict[tuple[str, str], CardColumn | Reason] = {}
    for row in rows:
        name = row.values.get("application")
        if not isinstance(name, str) or name not in apps:
            continue
        app = apps[name]
        column = _dotted(row.values.get("column"), 3)
        table = _dotted(row.values.get("table"), 2)
        if column is None and table is None:
            continue
        if column is None:
            assert table is not None
            key = (name, table)
            if row.has("error"):
                out[key] = _error_text(row)
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
        if row.has("error"):
            out[key] = _error_text(row)
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
            out[name] = _error_text(row)
            continue
        try:
            out[name] = _newsletter(row, server, apps[name])
        except CatalogError as exc:
            out[name] = msg("the measurement is unreadable: {error}", error=exc.reason)
    return out
