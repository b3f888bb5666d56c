"""6b: web solutions hold only hashed passwords, never readable or decodable ones."""

from __future__ import annotations

from collectors.databases.facts import PASSWORD_COLUMNS, PasswordColumn
from collectors.databases.password_formats import ACCEPTED_FORMATS
from controls.framework import Evidence, NotApplicable, control


@control("6b.hashed-passwords", over=PASSWORD_COLUMNS)
def test_password_column_holds_only_password_hashes(column: PasswordColumn, evidence: Evidence) -> None:
    evidence.observed(
        formats=dict(column.formats),
        rows_examined=column.rows_examined,
        total_rows=column.total_rows,
        sampled=column.sampled,
    )
    evidence.expected(formats=f"only {', '.join(sorted(ACCEPTED_FORMATS))}")
    where = f"{column.column} in database {column.database} on server {column.server} (application {column.application})"
    if column.rows_examined == 0:
        raise NotApplicable(f"{where} holds no rows: no password to judge")
    bad = {fmt: count for fmt, count in column.formats if fmt not in ACCEPTED_FORMATS and count}
    examined = (
        f"{column.rows_examined} of {column.total_rows} rows examined"
        if column.sampled
        else f"{column.rows_examined} rows examined"
    )
    assert not bad, (
        f"{where}: "
        + ", ".join(
            f"{count} value(s) "
            + {"empty": "empty", "unrecognised": "not a recognised password hash"}.get(
                fmt, f"in format {fmt}, which the policy does not accept"
            )
            for fmt, count in sorted(bad.items())
        )
        + f" ({examined})"
    )
