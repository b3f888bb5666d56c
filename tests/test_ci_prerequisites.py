"""A tool the tests need that is missing fails the run, with how to install it; it never skips.

A skipped test is green in CI: a machine without PostgreSQL, network namespaces or pdftotext
would pass while the database catalogs, the filtered-port probes and the PDF's text were never
checked. tests/run.sh installs what is missing (as root, from Debian's packages); where it
cannot, these tests fail and say what to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from demo.standins import postgres_clusters
from tests import test_report_pdf

ROOT = Path(__file__).resolve().parent.parent


def test_missing_postgresql_fails_the_database_tests_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(glob, "glob", lambda pattern: [])
    with (
        pytest.raises(pytest.fail.Exception, match=r"install Debian's postgresql.*tests/run\.sh"),
        postgres_clusters.planted_clusters(),
    ):
        pytest.fail("the clusters started without PostgreSQL")  # pragma: no cover


def test_missing_pdftotext_fails_the_pdf_text_check_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"poppler-utils"):
        test_report_pdf.pdf_text(tmp_path / "report.pdf")


def test_pdftotext_is_installed_here() -> None:
    """The PDF's text is really read on this machine (tests/run.sh installs poppler-utils)."""
    assert shutil.which("pdftotext") is not None, test_report_pdf.PDFTOTEXT_MISSING


def test_network_namespace_that_cannot_be_created_fails_the_probe_tests_instead_of_skipping(
    tmp_path: Path,
) -> None:
    # No `ip` on PATH: the filtered-port test cannot build its namespace, and must not be skipped.
    empty = tmp_path / "bin"
    empty.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_exposure_probes.py",
            "-k",
            "drops_packets",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfE",
        ],
        cwd=ROOT,
        env={**os.environ, "PATH": str(empty)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "skipped" not in output, output
    assert "1 error" in output, output
    assert "network namespace needs root and iproute2 (apt-get install iproute2" in output, output
