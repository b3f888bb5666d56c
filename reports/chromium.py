"""Which headless Chromium the auditor runs, and the switches that keep it quiet.

Two parts of the auditor start Chromium: the PDF report (`reports.pdf`) prints the HTML with it,
and the 6d collector (`collectors.tracking.pages`) opens web pages in it. Both find it the same
way: ``AUDIT_CHROMIUM`` (a path), else ``chromium``, ``chromium-browser``, ``google-chrome`` or
``google-chrome-stable`` on PATH. This module imports only the standard library, so the
collectors may use it too (see the import contracts in pyproject.toml).
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_ENV = "AUDIT_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
QUIET_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
)
"""No request of the browser's own (updates, sync, safe browsing) mixes with the page's."""


def find_chromium() -> str | None:
    """Return the Chromium executable to run, or None when none is installed.

    ``AUDIT_CHROMIUM`` wins when set (None when it names no executable file: a wrong setting is
    not silently replaced by another browser); otherwise the first candidate on PATH.
    """
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None
