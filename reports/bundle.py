"""Assemble and write the evidence bundle of a run: evidence.json, report.html, exports and manifest."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.changes import BaselineError, archive_previous, compare, find_baseline, load_bundle
from reports.evidence import (
    SCHEMA_VERSION,
    STATUSES,
    TOOL_NAME,
    CatalogEntry,
    ResultRecord,
    git_commit,
    iso_utc,
    machine_identity,
    tool_version,
    write_json,
)
from reports.junit import write_junit
from reports.manifest import write_manifest
from reports.oscal import write_oscal
from reports.pdf import write_pdf

if TYPE_CHECKING:
    from reports.i18n.translation import Language

REPO_ROOT = Path(__file__).resolve().parent.parent
_LOG = logging.getLogger(__name__)


@dataclass
class RunFacts:
    """What the run was: when, how, on which config and recording."""

    started_at: datetime
    config_path: Path
    config_sha256: str
    policy: dict[str, Any]
    mode: str
    command: str
    recording: dict[str, str] | None = None
    finished_at: datetime | None = None
    run_date: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _counts(results: list[ResultRecord]) -> dict[str, int]:
    counter = Counter(r.status for r in results)
    return {status: counter.get(status, 0) for status in STATUSES}


def build_bundle(
    run: RunFacts,
    catalog: Mapping[str, CatalogEntry],
    scope: dict[str, Any],
    results: list[ResultRecord],
    *,
    waivers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return the evidence.json document of a run (see reports/evidence.schema.json).

    `catalog` holds every control that may appear in `results` (the caller hands it over as
    data), `scope` is the run's `run.scope` section (what was in scope, per source and
    population). `waivers` is every configured waiver with what it matched (see
    controls.waivers.waiver_coverage), so blanket and stale waivers are part of the evidence,
    not only of the config.
    """
    by_control: dict[str, list[ResultRecord]] = {}
    for record in results:
        by_control.setdefault(record.control, []).append(record)
    controls = [
        catalog[control_id].as_json(_counts(by_control[control_id]))
        for control_id in sorted(by_control, key=lambda c: (catalog[c].clause, c))
    ]
    summary = _counts(results)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "started_at": iso_utc(run.started_at),
            "finished_at": iso_utc(run.finished_at or run.started_at),
            "run_date": run.run_date,
            "tool": {"name": TOOL_NAME, "version": tool_version(), "git_commit": git_commit(REPO_ROOT)},
            "config": {"path": str(run.config_path), "sha256": run.config_sha256},
            "policy": run.policy,
            "machine": machine_identity(),
            "mode": run.mode,
            "recording": run.recording,
            "command": run.command,
            "scope": scope,
        },
        "controls": controls,
        "results": [r.as_json() for r in results],
        "summary": {**summary, "total": len(results)},
        "waivers": list(waivers or []),
    }


def _changes(directory: Path, bundle: dict[str, Any], baseline: Path | None) -> dict[str, Any] | None:
    """Return the change section against `baseline` (or the folder's own latest earlier bundle).

    None when there is no baseline at all. A baseline that exists but cannot be compared with
    (corrupt, truncated, not a bundle) gives `{"unusable_baseline": {"path", "reason"}}`, so the
    report names it instead of saying "no baseline" as if none had been found.
    """
    chosen = baseline if baseline is not None else find_baseline(directory)
    if chosen is None:
        return None
    try:
        previous = load_bundle(chosen)
        return compare(previous, bundle, chosen)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # No comparison is better than a wrong one; the bundle itself is still written.
        reason = str(exc) if isinstance(exc, BaselineError) else f"{type(exc).__name__}: {exc}"
        _LOG.warning("no change section: baseline %s unusable: %s", chosen, reason)
        return {"unusable_baseline": {"path": str(chosen), "reason": reason}}


class ReportNotRendered(Exception):
    """report.html could not be rendered (a bug of the report): the rest of the bundle is written and sealed."""


def write_bundle(
    directory: Path,
    bundle: dict[str, Any],
    *,
    lang: Language = "en",
    pdf: bool = False,
    baseline: Path | None = None,
    sealed_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write the whole evidence bundle of a run into `directory`; return report.html's path.

    The one place a bundle is written. In order: the previous bundle at the top of `directory`
    moves to `archive/<its start time>/`; `bundle["changes"]` is computed against `baseline`
    (default: that archived bundle, else the latest earlier one, see reports.changes); then
    evidence.json, junit.xml, oscal-assessment-results.json, report.html (in `lang`),
    report.pdf (when `pdf` and Chromium is installed) and last MANIFEST.sha256 over all of
    them, signed when AUDIT_SIGNING_KEY is set. The manifest is written even when the HTML or
    PDF step raises (e.g. reports.pdf.PdfError), so what was written is sealed before the error
    propagates; SigningKeyError (a set but unusable key) is raised after the unsigned manifest.
    `sealed_files` ({name: bytes}, e.g. the archive's chain.json) are written beside evidence.json,
    so the manifest lists them too.
    """
    from reports.html import write_html

    directory.mkdir(parents=True, exist_ok=True)
    archived = archive_previous(directory)
    if baseline is None or (archived is not None and baseline.resolve() == directory.resolve()):
        baseline = archived  # `--baseline` naming the evidence folder itself means its previous bundle
    bundle["changes"] = _changes(directory, bundle, baseline)
    write_json(directory / "evidence.json", bundle)
    for name, data in (sealed_files or {}).items():
        (directory / name).write_bytes(data)
    write_junit(bundle, directory / "junit.xml", lang)
    write_oscal(bundle, directory / "oscal-assessment-results.json")
    report = directory / "report.html"
    try:
        try:
            write_html(bundle, report, lang=lang)
        except OSError:
            raise
        except Exception as exc:  # a rendering bug must not cost the run its evidence.json and seal
            raise ReportNotRendered(
                f"{report}: the report could not be rendered ({type(exc).__name__}: {exc}); evidence.json "
                "holds every result and the manifest seals what was written (please report this bug)"
            ) from exc
        if pdf:
            write_pdf(report, directory / "report.pdf")
    finally:
        # Whatever was written is sealed, also when rendering or printing failed.
        write_manifest(directory)
    return report
