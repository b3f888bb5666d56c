"""The report printed to PDF by real headless Chromium (skipped, with the reason, where it is absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.bundle import write_bundle
from reports.manifest import MANIFEST_NAME, SIGNING_KEY_ENV, verify_bundle
from reports.pdf import CHROMIUM_ENV, PdfError, chromium_missing_reason, find_chromium, write_pdf

SAMPLE = Path(__file__).with_name("fixtures") / "evidence_sample.json"
needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason=f"headless Chromium is not installed: {chromium_missing_reason()}"
)


PDFTOTEXT_MISSING = (
    "pdftotext is not installed, so the PDF's text cannot be checked: install Debian's poppler-utils "
    "(apt-get install poppler-utils; bash tests/run.sh does it as root)"
)


def pdf_text(path: Path) -> str:
    """Return the text of a PDF via poppler's pdftotext; fail the test (never skip) when it is not installed."""
    if shutil.which("pdftotext") is None:
        pytest.fail(PDFTOTEXT_MISSING, pytrace=False)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def assert_is_pdf_with_content(path: Path) -> None:
    """Fail unless `path` is a PDF of some size."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 10_000, f"{len(data)} bytes is no report"
    assert data.rstrip().endswith(b"%%EOF")


@pytest.mark.integration
@needs_chromium
def test_chromium_prints_the_html_to_a_pdf_with_its_text(tmp_path: Path) -> None:
    html = tmp_path / "page.html"
    html.write_text(
        "<!doctype html><meta charset=utf-8><title>t</title><h1>Controle 12e &amp; versleuteling</h1>"
        + "".join(f"<p>resource-{i} passed</p>" for i in range(200)),
        encoding="utf-8",
    )
    pdf = write_pdf(html, tmp_path / "out" / "page.pdf")
    assert pdf == (tmp_path / "out" / "page.pdf").resolve()
    assert_is_pdf_with_content(pdf)
    text = pdf_text(pdf)
    assert "Controle 12e & versleuteling" in text
    assert "resource-199 passed" in text


@pytest.mark.integration
@needs_chromium
def test_bundle_with_pdf_seals_the_printed_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    bundle = json.loads(SAMPLE.read_text(encoding="utf-8"))
    failing = next(r for r in bundle["results"] if r["status"] == "fail")
    directory = tmp_path / "evidence"
    write_bundle(directory, bundle, pdf=True)
    pdf = directory / "report.pdf"
    assert_is_pdf_with_content(pdf)
    assert "report.pdf" in (directory / MANIFEST_NAME).read_text(encoding="utf-8")
    assert verify_bundle(directory, None).ok
    flat = " ".join(pdf_text(pdf).split())
    assert failing["control"] in flat
    assert failing["resource"].rsplit("/", 1)[-1] in flat


def test_missing_chromium_gives_no_pdf_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    html = tmp_path / "page.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    assert write_pdf(html, tmp_path / "page.pdf") is None
    assert not (tmp_path / "page.pdf").exists()
    reason = chromium_missing_reason()
    assert reason is not None
    assert CHROMIUM_ENV in reason
    assert "not an executable" in reason


def test_chromium_that_prints_nothing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'renderer crashed' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv(CHROMIUM_ENV, str(fake))
    html = tmp_path / "page.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(PdfError, match=r"exit 3.*renderer crashed"):
        write_pdf(html, tmp_path / "page.pdf")


def test_failed_pdf_still_leaves_a_sealed_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv(CHROMIUM_ENV, str(fake))
    directory = tmp_path / "evidence"
    with pytest.raises(PdfError):
        write_bundle(directory, json.loads(SAMPLE.read_text(encoding="utf-8")), pdf=True)
    assert (directory / "evidence.json").is_file()
    assert (directory / "report.html").is_file()
    assert not (directory / "report.pdf").exists()
    assert verify_bundle(directory, None).ok
