"""The history of archived nights: an index for trends and the period report, rebuilt from the archive."""
