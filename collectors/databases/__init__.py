"""Database catalogs: SQL Server, Azure SQL, PostgreSQL and RavenDB, read with the auditor's read-only login."""
