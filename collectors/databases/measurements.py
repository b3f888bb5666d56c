"""Password-column and message-table measurements read back from catalog rows (6b, 6e).

Both the PostgreSQL and the SQL Server readers reduce an application's password column to
counts per hash format and its message table to (count, oldest timestamp) inside `fetch`;
these functions turn those rows, live or replayed, into facts. A measurement row that cannot
be read, or whose numbers do not add up (format counts that are not the rows examined, a
non-empty message kind without an oldest timestamp), makes that one subject an `error` with
the reason, never a pass; a row that names no application cannot be attributed and is left
out, so the column or store it should have measured is an error ("no measurement").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from collectors.config.databases import ApplicationEntry
from collectors.databases.facts import MessageAge, MessageStore, PasswordColumn
from collectors.databases.reading import CatalogError
from collectors.databases.rows import CatalogRow
from collectors.messages import Reason, semicolon_list
from reports.evidence import msg, msg_n

MESSAGE_KINDS = ("delivered", "failed")
AgeOf = Callable[[datetime, datetime], float]
"""(oldest, collected_at) -> age in days, as each engine reports it."""


def error_text(row: CatalogRow) -> Reason:
    """Return a measurement row's error; an error that is not text is itself unreadable.

    Shared by every measurement (6b, 6c, 6e) so a damaged error row reads the same everywhere.
    """
    try:
        return row.text("error")
    except CatalogError as exc:
        return msg("the measurement failed and its error is unreadable ({error})", error=exc.reason)


def examined_of_total(row: CatalogRow) -> tuple[int, int | None]:
    """Return (rows examined, rows in the table or None) of a sampled column's measurement row.

    Raises CatalogError when either is not a count, or more rows were examined than the table
    holds: a sample that does not add up is never read as a clean one (6b, 6c).
    """
    examined = row.integer("rows_examined", minimum=0)
    total = row.optional_integer("total_rows", minimum=0)
    if total is not None and total < examined:
        raise CatalogError(
            msg(
                "{where}: {examined} rows examined of only {rows}",
                where=row.where,
                examined=examined,
                rows=total,
            )
        )
    return examined, total


def _formats(row: CatalogRow) -> tuple[tuple[str, int], ...]:
    """Return (format, count) pairs from a {format: count} object or a [[format, count], ...] list."""
    raw = row.values.get("formats")
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        pairs = [(p[0], p[1]) for p in raw]
    else:
        row.mapping("formats")  # raises, naming what formats holds
        pairs = []
    out: list[tuple[str, int]] = []
    for name, count in pairs:
        if not isinstance(name, str) or not name:
            raise CatalogError(
                msg(
                    "{where}: formats holds a format name that is not text ({name})",
                    where=row.where,
                    name=repr(name),
                )
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise CatalogError(
                msg(
                    "{where}: formats[{name}] is {value}, not a count",
                    where=row.where,
                    name=name,
                    value=repr(count),
                )
            )
        out.append((name, count))
    return tuple(sorted(out))


def _password_column(row: CatalogRow, server: str, app: ApplicationEntry, column: str) -> PasswordColumn:
    examined, total = examined_of_total(row)
    formats = _formats(row)
    counted = sum(count for _name, count in formats)
    if counted != examined:
        raise CatalogError(
            msg(
                "{where}: the format counts add up to {counted}, not the {examined} rows examined",
                where=row.where,
                counted=counted,
                examined=examined,
            )
        )
    return PasswordColumn(
        application=app.name,
        server=server,
        database=app.database,
        column=column,
        rows_examined=examined,
        total_rows=total,
        formats=formats,
        sampled=total is not None and total > examined,
    )


def password_columns(
    server: str, rows: Iterable[CatalogRow], applications: Iterable[ApplicationEntry]
) -> dict[tuple[str, str], PasswordColumn | Reason]:
    """Return (application, column) -> counts per hash format, or why that column is unreadable.

    Exists so a damaged measurement errors its own 6b item instead of passing it (a format
    count missing from the sum) or crashing the run.
    """
    apps = {app.name: app for app in applications}
    out: dict[tuple[str, str], PasswordColumn | Reason] = {}
    for row in rows:
        name, column = row.values.get("application"), row.values.get("column")
        if not isinstance(name, str) or name not in apps or not isinstance(column, str):
            continue
        key = (name, column)
        if row.has("error"):
            out[key] = error_text(row)
            continue
        try:
            out[key] = _password_column(row, server, apps[name], column)
        except CatalogError as exc:
            out[key] = msg("the measurement is unreadable: {error}", error=exc.reason)
    return out


def _message_age(row: CatalogRow, collected_at: datetime, age_of: AgeOf) -> MessageAge:
    kind = row.text("kind", allowed=MESSAGE_KINDS)
    count = row.integer("count", minimum=0)
    oldest = row.timestamp("oldest")
    if count > 0 and oldest is None:
        raise CatalogError(
            msg_n(
                "{where}: {n} {kind} message but no oldest timestamp",
                "{where}: {n} {kind} messages but no oldest timestamp",
                "n",
                where=row.where,
                n=count,
                kind=kind,
            )
        )
    age = None if oldest is None else age_of(oldest, collected_at)
    return MessageAge("delivered" if kind == "delivered" else "failed", count, age)


def message_stores(
    server: str,
    rows: Iterable[CatalogRow],
    applications: Iterable[ApplicationEntry],
    collected_at: datetime,
    *,
    age_of: AgeOf,
    measured_by: Callable[[ApplicationEntry], str],
) -> dict[str, MessageStore | Reason]:
    """Return application -> its delivered and failed message ages, or why they are unreadable.

    Exists so a damaged measurement (an unknown kind, a count without an oldest timestamp, a
    kind measured twice) errors that application's 6e item instead of passing or crashing.
    """
    apps: Mapping[str, ApplicationEntry] = {a.name: a for a in applications if a.retention is not None}
    grouped: dict[str, list[CatalogRow]] = {}
    for row in rows:
        name = row.values.get("application")
        if isinstance(name, str) and name in apps:
            grouped.setdefault(name, []).append(row)
    out: dict[str, MessageStore | Reason] = {}
    for name, measured in grouped.items():
        errors: list[Reason] = []
        ages: dict[str, MessageAge] = {}
        for row in measured:
            if row.has("error"):
                kind = row.values.get("kind")
                errors.append(
                    msg("{kind}: {error}", kind=kind, error=error_text(row))
                    if isinstance(kind, str) and kind
                    else error_text(row)
                )
                continue
            try:
                age = _message_age(row, collected_at, age_of)
            except CatalogError as exc:
                errors.append(msg("the measurement is unreadable: {error}", error=exc.reason))
                continue
            if age.kind in ages:
                errors.append(
                    msg("{where}: the {kind} messages are measured twice", where=row.where, kind=age.kind)
                )
                continue
            ages[age.kind] = age
        app = apps[name]
        out[name] = (
            semicolon_list(errors)
            if errors
            else MessageStore(
                application=name,
                server=server,
                database=app.database,
                measured_by=measured_by(app),
                ages=tuple(ages[kind] for kind in sorted(ages)),
            )
        )
    return out
