"""Typed reading of catalog rows: what a parser needs is there, of its type, or the rows are unreadable.

A catalog query returns every column it selects in every row, so a column that is absent, a
NULL where the catalog never has one, or a value of the wrong type means the rows are not
what the query returned (a truncated or damaged recording, a driver surprise). The parsers
read every value they judge through `CatalogRowSet` and `CatalogRow`, which raise
`CatalogError` naming the server, the result set, the row and the column: that server is an
`error`, never read as "nothing to worry about" (an empty grant list, a disabled login, zero
plain connections).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collectors.databases.reading import CatalogError
from collectors.messages import Reason
from reports.evidence import Message, msg


def _shown(value: Any) -> Reason:
    kinds: dict[type, Message] = {
        bool: msg("a boolean"),
        int: msg("a number"),
        float: msg("a number"),
        str: msg("text"),
        list: msg("a list"),
        dict: msg("an object"),
    }
    if value is None:
        return "null"
    kind: Reason = kinds.get(type(value), type(value).__name__)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return msg("{kind} {value}", kind=kind, value=repr(value)[:59])
    return kind


@dataclass(frozen=True)
class CatalogRow:
    """One row of a result set, with the place it came from for messages."""

    where: str
    """e.g. 'pg-legacy: roles[3]'."""
    values: Mapping[str, Any]

    def _get(self, column: str) -> Any:
        if column not in self.values:
            raise CatalogError(msg("{where} has no column {column}", where=self.where, column=column))
        return self.values[column]

    def _wrong(self, column: str, value: Any, expected: Reason) -> CatalogError:
        return CatalogError(
            msg(
                "{where}: {column} is {shown}, not {expected}",
                where=self.where,
                column=column,
                shown=_shown(value),
                expected=expected,
            )
        )

    def has(self, column: str) -> bool:
        """Return True when the row carries `column` (rows of measurements carry either values or an error)."""
        return column in self.values

    def text(self, column: str, *, allowed: Collection[str] | None = None) -> str:
        """Return a non-empty text value (one of `allowed`, when given)."""
        value = self._get(column)
        if not isinstance(value, str) or not value:
            raise self._wrong(column, value, msg("non-empty text"))
        if allowed is not None and value not in allowed:
            raise self._wrong(column, value, msg("one of {values}", values=sorted(allowed)))
        return value

    def optional_text(self, column: str) -> str | None:
        """Return a text value that the catalog may leave NULL (None); the column must be there."""
        value = self._get(column)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(column, value, msg("text or null"))
        return value

    def flag(self, column: str) -> bool:
        """Return a boolean (SQL Server's bit may arrive as 0 or 1); text such as 'false' is unreadable."""
        value = self._get(column)
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise self._wrong(column, value, msg("a boolean"))

    def integer(self, column: str, *, minimum: int | None = None) -> int:
        """Return a whole number (not a boolean), at least `minimum` when given."""
        value = self._get(column)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(column, value, msg("a whole number"))
        if minimum is not None and value < minimum:
            raise self._wrong(column, value, msg("a whole number of at least {minimum}", minimum=minimum))
        return value

    def optional_integer(self, column: str, *, minimum: int | None = None) -> int | None:
        """Return a whole number the catalog may leave NULL (None)."""
        if self._get(column) is None:
            return None
        return self.integer(column, minimum=minimum)

    def timestamp(self, column: str) -> datetime | None:
        """Return an ISO 8601 timestamp (UTC when it has no offset), None for NULL."""
        value = self._get(column)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(column, value, msg("an ISO 8601 timestamp"))
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self._wrong(column, value, msg("an ISO 8601 timestamp")) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def mapping(self, column: str) -> dict[str, Any]:
        """Return a JSON object value."""
        value = self._get(column)
        if not isinstance(value, dict):
            raise self._wrong(column, value, msg("an object"))
        return value

    def items(self, column: str) -> list[Any]:
        """Return a JSON list value."""
        value = self._get(column)
        if not isinstance(value, list):
            raise self._wrong(column, value, msg("a list"))
        return value


class CatalogRowSet:
    """The result sets of one server's catalog read (`CatalogRows`), read with checks."""

    def __init__(self, server: str, rows: Any) -> None:
        if not isinstance(rows, dict):
            raise CatalogError(
                msg(
                    "{server}: the catalog rows are {shown}, not result sets by name",
                    server=server,
                    shown=_shown(rows),
                )
            )
        self.server = server
        self.rows: dict[str, Any] = rows

    def present(self, name: str) -> bool:
        """Return True when the result set `name` was read."""
        return name in self.rows

    def __call__(self, name: str) -> Iterator[CatalogRow]:
        """Yield the rows of the result set `name`; a missing set or a row that is not an object is an error."""
        if name not in self.rows:
            raise CatalogError(
                msg("{server}: the catalog rows have no result set {name}", server=self.server, name=name)
            )
        found = self.rows[name]
        if not isinstance(found, list):
            raise CatalogError(
                msg(
                    "{server}: result set {name} is {shown}, not a list of rows",
                    server=self.server,
                    name=name,
                    shown=_shown(found),
                )
            )
        for index, row in enumerate(found):
            where = f"{self.server}: {name}[{index}]"
            if not isinstance(row, dict):
                raise CatalogError(msg("{where} is {shown}, not a row", where=where, shown=_shown(row)))
            yield CatalogRow(where, row)

    def optional(self, name: str) -> Iterator[CatalogRow]:
        """Yield the rows of a result set whose absence the parser reads as 'not read' (no rows)."""
        if name in self.rows:
            yield from self(name)
