"""The bundle options through the real CLI: --report-lang, --report-pdf, --baseline, and verification."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit_runs import ROOT, run_demo


def verify(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m reports verify folder`."""
    return subprocess.run(
        [sys.executable, "-m", "reports", "verify", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dutch_report_with_a_baseline_and_a_verified_manifest(tmp_path: Path) -> None:
    first = run_demo(tmp_path / "night1")
    assert first.returncode == 1, first.stdout + first.stderr
    second = run_demo(tmp_path / "night2", "--report-lang", "nl", "--baseline", str(tmp_path / "night1"))
    assert second.returncode == 1, second.stdout + second.stderr
    bundle = json.loads((tmp_path / "night2" / "evidence.json").read_text(encoding="utf-8"))
    changes = bundle["changes"]
    assert changes["baseline"]["path"].endswith("night1")
    assert changes["new_failures"] == []  # the same recording: nothing changed
    assert changes["fixed"] == []
    html = (tmp_path / "night2" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in html
    for name in ("junit.xml", "oscal-assessment-results.json", "MANIFEST.sha256"):
        assert (tmp_path / "night2" / name).is_file(), name
    assert verify(tmp_path / "night2").returncode == 0
    (tmp_path / "night2" / "junit.xml").write_text("<testsuites/>", encoding="utf-8")
    tampered = verify(tmp_path / "night2")
    assert tampered.returncode == 1
    assert "junit.xml" in tampered.stdout + tampered.stderr


def test_unknown_report_language_is_a_usage_error(tmp_path: Path) -> None:
    run = run_demo(tmp_path / "ev", "--report-lang", "de")
    assert run.returncode == 4
    assert "--report-lang" in run.stderr


def test_baseline_without_a_bundle_is_a_usage_error(tmp_path: Path) -> None:
    run = run_demo(tmp_path / "ev", "--baseline", str(tmp_path))
    assert run.returncode == 4
    assert "holds no evidence.json" in run.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_report_pdf_is_printed_and_sealed_in_the_manifest(tmp_path: Path) -> None:
    run = run_demo(tmp_path / "ev", "--report-pdf")
    assert run.returncode == 1, run.stdout + run.stderr
    pdf = tmp_path / "ev" / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "report.pdf" in (tmp_path / "ev" / "MANIFEST.sha256").read_text(encoding="utf-8")


def test_report_pdf_without_chromium_is_a_usage_error_before_anything_runs(tmp_path: Path) -> None:
    run = run_demo(
        tmp_path / "ev", "--report-pdf", env={"AUDIT_CHROMIUM": str(tmp_path / "no-such-chromium")}
    )
    assert run.returncode == 4
    assert "--report-pdf" in run.stderr
    assert "AUDIT_CHROMIUM" in run.stderr
    assert not (tmp_path / "ev").exists()
