"""The report as PDF, printed by headless Chromium from the self-contained report.html.

Chromium prints the page with its print stylesheet (failures expanded), without header/footer,
from a throw-away profile, with background networking, sync and component updates off: the
report makes no network request and neither does the printing. Chromium is looked up as
``AUDIT_CHROMIUM`` (a path), then ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH
(`reports.chromium`, the lookup the 6d page collector shares).
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from pathlib import Path

from reports.chromium import CANDIDATES, QUIET_ARGS
from reports.chromium import CHROMIUM_ENV as CHROMIUM_ENV  # re-exported: this module's API
from reports.chromium import find_chromium as find_chromium

TIMEOUT_SECONDS = 180.0
_LOG = logging.getLogger(__name__)


class PdfError(RuntimeError):
    """Chromium is installed but did not produce a PDF (crash, timeout, empty output)."""


def chromium_missing_reason() -> str | None:
    """Return why no PDF can be printed (no Chromium found), or None when Chromium is there.

    Lets a caller warn at the start of a run that asked for a PDF rather than at its end.
    """
    if find_chromium() is not None:
        return None
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return f"{CHROMIUM_ENV}={configured} is not an executable file"
    return f"no Chromium found ({', '.join(CANDIDATES)} not on PATH; set {CHROMIUM_ENV} to its path)"


def chromium_command(chromium: str, html_path: Path, pdf_path: Path, profile: Path) -> list[str]:
    """Return the headless Chromium command line that prints `html_path` to `pdf_path`."""
    return [
        chromium,
        "--headless",
        *QUIET_ARGS,
        "--no-pdf-header-footer",
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf_path}",
        html_path.resolve().as_uri(),
    ]


def write_pdf(html_path: Path, pdf_path: Path) -> Path | None:
    """Print the HTML report to `pdf_path` with headless Chromium; return the PDF's path.

    Returns None (and logs the reason) when Chromium is not installed. Raises PdfError when
    Chromium runs but leaves no PDF with content, quoting the end of its error output.
    """
    chromium = find_chromium()
    if chromium is None:
        _LOG.warning("report.pdf not written: %s", chromium_missing_reason())
        return None
    pdf_path = pdf_path.resolve()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="audit-chromium-") as profile:
        try:
            completed = subprocess.run(
                chromium_command(chromium, html_path, pdf_path, Path(profile)),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
                env={**os.environ, "HOME": profile},
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print {html_path} within {TIMEOUT_SECONDS:.0f} s") from None
        except OSError as exc:
            raise PdfError(f"could not start {chromium}: {exc.strerror}") from None
    if not _is_pdf(pdf_path):
        # Headless Chromium always complains about the missing D-Bus; that is never the cause.
        lines = [
            line for line in completed.stderr.splitlines() if line.strip() and "dbus" not in line.lower()
        ]
        tail = "\n".join(lines[-5:]) or "no error output"
        raise PdfError(f"Chromium (exit {completed.returncode}) wrote no PDF to {pdf_path}: {tail}")
    return pdf_path


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            head = stream.read(5)
        return head == b"%PDF-" and path.stat().st_size > 1024
    except OSError:
        return False
