"""A run spread over sites (`[distributed]`): the sites' workers collect, this process judges.

The merged recording of the sites' answers is evaluated exactly like a `--replay`, so a verdict
is the same whether its facts were read here or at a site; `--record` keeps that recording.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

from collectors.config.estate import EstateConfig
from collectors.distributed.coordinator import BrokerUnavailable, collect_distributed
from collectors.estate import Estate, collect_estate, discovered_tls_decision

__all__ = ["BrokerUnavailable", "collect_at_sites"]


def collect_at_sites(
    config: EstateConfig, run_date: date, record: Path | None, progress: Callable[[str], None]
) -> Estate:
    """Return the run's estate, its facts collected by the sites' workers; BrokerUnavailable ends the run."""
    merged = collect_distributed(
        config,
        config_toml=config.path.read_text(encoding="utf-8"),
        run_date=run_date,
        scan_discovered=discovered_tls_decision(config).scanned,
        environ=os.environ,
        progress=progress,
    )
    estate = collect_estate(
        config, run_date=run_date, record=None, replay=merged.recording, progress=progress
    )
    estate.sites = merged
    estate.config = config
    if record is not None:
        estate.recording = merged.recording
    return estate
