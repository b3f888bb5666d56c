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
from collectors.distributed.coordinator import BrokerUnavailable, collect_distributed, published
from collectors.estate import Estate, collect_estate, discovered_tls_decision
from collectors.facts import FactStore
from collectors.trackers.collect import collect_trackers
from collectors.tracking.pages import collect_tracking

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
    # The ticket trackers and the web pages are read here, by the coordinator ("local"), as one
    # process would: a register or a page is no site's to read, and leaving them out of the merge
    # would make their controls "not in the recording" instead of judged.
    scratch = FactStore()
    collect_trackers(config, scratch, recording=merged.recording, replay=None, progress=progress)
    wants_pages = config.azure is not None and config.azure.open_discovered_pages
    collect_tracking(
        config,
        scratch,
        record=lambda items: setattr(merged.recording, "tracking", items),
        progress=progress,
        discovered=published(config, merged.recording) if wants_pages else [],
    )
    estate = collect_estate(
        config, run_date=run_date, record=None, replay=merged.recording, progress=progress
    )
    estate.sites = merged
    estate.config = config
    if record is not None:
        estate.recording = merged.recording
    return estate
