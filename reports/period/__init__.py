"""The period report: whether each control operated throughout an audit period, from the archive."""
