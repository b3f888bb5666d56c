"""12e: wherever encryption at rest is possible, it is applied."""

from __future__ import annotations

from collectors.azure.sql import SqlDatabase
from controls.framework import Evidence, control


@control("12e.azure-sql-tde", over="azure.sql_databases")
def test_sql_database_is_encrypted_at_rest(db: SqlDatabase, evidence: Evidence) -> None:
    evidence.observed(tde_state=db.tde_state)
    evidence.expected(tde_state="Enabled")
    assert (db.tde_state or "").lower() == "enabled", (
        f"transparent data encryption is {db.tde_state or 'not reported'} on database {db.name}"
    )
