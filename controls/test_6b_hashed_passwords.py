"""6b: web solutions hold only hashed passwords, never readable or decodable ones."""

from __future__ import annotations

from collectors.databases.facts import PASSWORD_COLUMNS, PasswordColumn
from collectors.databases.password_formats import ACCEPTED_FORMATS
from controls.framework import Evidence, NotApplicable, control
from reports.evidence import Message, msg, msg_n


def bad_values_text(fmt: str, count: int) -> Message:
    """Say how many examined values are empty, unrecognised or in a format the policy does not accept."""
    if fmt == "empty":
        return msg_n("{n} value empty", "{n} values empty", "n", n=count)
    if fmt == "unrecognised":
        return msg_n(
            "{n} value not a recognised password hash",
            "{n} values not a recognised password hash",
            "n",
            n=count,
        )
    return msg_n(
        "{n} value in format {format}, which the policy does not accept",
        "{n} values in format {format}, which the policy does not accept",
        "n",
        n=count,
        format=fmt,
    )


@control("6b.hashed-passwords", over=PASSWORD_COLUMNS)
def test_password_column_holds_only_password_hashes(column: PasswordColumn, evidence: Evidence) -> None:
    evidence.observed(
        formats=dict(column.formats),
        rows_examined=column.rows_examined,
        total_rows=column.total_rows,
        sampled=column.sampled,
    )
    evidence.expected(formats=msg("only {formats}", formats=sorted(ACCEPTED_FORMATS)))
    where = msg(
        "{column} in database {database} on server {server} (application {application})",
        column=column.column,
        database=column.database,
        server=column.server,
        application=column.application,
    )
    if column.rows_examined == 0:
        raise NotApplicable(msg("{column} holds no rows: no password to judge", column=where))
    bad = {fmt: count for fmt, count in column.formats if fmt not in ACCEPTED_FORMATS and count}
    if column.sampled and column.total_rows is not None:  # sampled: more rows than were read
        examined = msg_n(
            "{n} of {total} row examined",
            "{n} of {total} rows examined",
            "total",
            n=column.rows_examined,
            total=column.total_rows,
        )
    else:
        examined = msg_n("{n} row examined", "{n} rows examined", "n", n=column.rows_examined)
    assert not bad, evidence.fails(
        "{column}: {values} ({examined})",
        column=where,
        values=[bad_values_text(fmt, count) for fmt, count in sorted(bad.items())],
        examined=examined,
    )
