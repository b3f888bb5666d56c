"""How 6d.tracking-after-consent classifies what a page sends before consent (`[tracking]`).

The pages themselves are configured per endpoint (`[[endpoints]] pages`, `allowed_cookies`) and
App Service home pages with `[azure] open_discovered_pages`; this section holds what applies to
every page: the tracker database the third-party hosts are looked up in, and how long a page is
watched.
"""

from __future__ import annotations

from pydantic import Field

from reports.setting_types import ConfigPath, ConfigSection


class TrackingSettings(ConfigSection):
    """The web-page collector's settings (`[tracking]`)."""

    tracker_database: ConfigPath | None = None
    """A reduced tracker database (the shape of collectors/tracking/trackerdb.json), relative to the
    config file. Default: the shipped copy of Ghostery's TrackerDB, licensed CC-BY-NC-SA-4.0
    (non-commercial); a business makes its own from a licensed copy with
    `python -m collectors.tracking.update_trackerdb --from FILE --output PATH`. Checked whole when
    the config is loaded."""
    observe_seconds: float = Field(default=5.0, ge=0, le=120)
    """How long each page is watched after its load event, whatever its network does, before the
    collector waits for the network to go idle (at most 10 s more) and reads the cookies. A tag
    manager loading its tracker from a timer after the load event is seen only within this window;
    0 ends the watch at the first idle network."""
