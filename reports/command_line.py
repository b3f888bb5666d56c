"""Value types of the auditor's command lines (`python -m reports`, `python -m demo.period_archive`)."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """Return the date `text` names (YYYY-MM-DD); argparse reports anything else as a usage error."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def positive_int(text: str) -> int:
    """Return the whole number of at least 1 that `text` names; argparse reports anything else."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value
