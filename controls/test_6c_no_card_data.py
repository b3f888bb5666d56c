"""6c: the company receives no payment or credit card data: no sampled column holds a card number."""

from __future__ import annotations

from collectors.databases.facts import CARD_COLUMNS, CardColumn
from controls.framework import Evidence, NotApplicable, control
from reports.evidence import Message, msg, msg_n


def card_numbers_text(brand: str, count: int) -> Message:
    """Say how many card numbers of one brand were found."""
    return msg_n("{n} {brand} card number", "{n} {brand} card numbers", "n", n=count, brand=brand)


@control("6c.no-card-data", over=CARD_COLUMNS)
def test_column_holds_no_payment_card_number(column: CardColumn, evidence: Evidence) -> None:
    where = msg(
        "{column} in database {database} on server {server} (application {application})",
        column=column.column,
        database=column.database,
        server=column.server,
        application=column.application,
    )
    if column.no_text_columns:
        raise NotApplicable(msg("table {table} has no text column: nothing to scan", table=where))
    evidence.observed(
        card_numbers=dict(column.brands),
        values_with_card_numbers=column.values_with_cards,
        rows_examined=column.rows_examined,
        total_rows=column.total_rows,
        sampled=column.sampled,
    )
    evidence.expected(card_numbers=msg("none"))
    if column.sampled and column.total_rows is not None:
        examined = msg_n(
            "{n} of {total} row examined",
            "{n} of {total} rows examined",
            "total",
            n=column.rows_examined,
            total=column.total_rows,
        )
    else:
        examined = msg_n("{n} row examined", "{n} rows examined", "n", n=column.rows_examined)
    assert not column.brands, evidence.fails(
        "{column} holds payment card numbers: {numbers} ({examined})",
        column=where,
        numbers=[card_numbers_text(brand, count) for brand, count in column.brands],
        examined=examined,
    )
