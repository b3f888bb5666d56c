"""TLS endpoint scanning from the auditor's vantage point (sslyze), as facts for 12f and 6f."""
