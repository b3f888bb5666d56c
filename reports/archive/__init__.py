"""The audit-period archive: every night's signed bundle kept write-once, chained and indexed."""
