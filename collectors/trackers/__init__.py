"""The ops team's tracker read for evidence (data-subject requests, breach notifications): keys and times only."""
