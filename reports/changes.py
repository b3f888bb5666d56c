"""Change since last night: compare a run's results with a baseline bundle, and find that baseline.

The evidence folder keeps the latest bundle at its top (``evidence.json``, ``report.html``, ...);
before a run writes its bundle, the previous one moves whole (with its manifest) to
``<evidence-dir>/archive/<previous started_at as YYYYMMDDTHHMMSSZ>/`` and is the default baseline.
With the default ``--evidence-dir`` layout (one ``evidence/<YYYYMMDDTHHMMSSZ>/`` folder per run),
the baseline is the latest earlier sibling folder instead.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.manifest import (
    ARCHIVE_DIR,
    EVIDENCE_NAME,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
    bundle_files,
    file_sha256,
    read_manifest,
)

BUNDLE_NAMES = (
    EVIDENCE_NAME,
    "report.html",
    "junit.xml",
    "oscal-assessment-results.json",
    "report.pdf",
)
"""The files a run writes into its evidence folder (before the manifest and its signature)."""

FAILING = frozenset({"fail", "error"})
PASSING = frozenset({"pass", "waived"})
_STATUS_RANK = {"not_applicable": 0, "pass": 1, "waived": 2, "fail": 3, "error": 4}
_RUN_FOLDER = re.compile(r"^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$")


def _keyed(bundle: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Return the results of a bundle keyed by (control, resource); the worst status wins a duplicate."""
    keyed: dict[tuple[str, str], Mapping[str, Any]] = {}
    for result in bundle.get("results") or []:
        key = (str(result["control"]), str(result["resource"]))
        known = keyed.get(key)
        if known is None or _STATUS_RANK.get(result["status"], 5) > _STATUS_RANK.get(known["status"], 5):
            keyed[key] = result
    return keyed


def _change(
    key: tuple[str, str], before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, Any]:
    shown = after if after is not None else before
    return {
        "control": key[0],
        "resource": key[1],
        "before": before["status"] if before is not None else None,
        "after": after["status"] if after is not None else None,
        "message": str(shown.get("message") or "") if shown is not None else "",
        "finding": shown.get("finding") if shown is not None else None,
    }


def evidence_file(baseline_path: Path) -> Path:
    """Return the evidence.json of a baseline given as a bundle folder or as the file itself."""
    return baseline_path / EVIDENCE_NAME if baseline_path.is_dir() else baseline_path


def compare(previous: Mapping[str, Any], current: Mapping[str, Any], baseline_path: Path) -> dict[str, Any]:
    """Return the change section of `current` against the baseline bundle `previous`.

    New failures are results failing or in error now that were not (including new resources
    that fail); fixed are results failing or in error before that pass or are waived now; new
    and vanished resources are (control, resource) pairs present on one side only. The
    baseline is cited by its start time, path and the sha256 of its evidence.json (read from
    `baseline_path`, a bundle folder or its evidence.json), so the night-to-night chain can be
    checked. Every list is sorted by control and resource.
    """
    before = _keyed(previous)
    after = _keyed(current)
    new_failures, fixed, new_resources, vanished = [], [], [], []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        old_status = old["status"] if old is not None else None
        new_status = new["status"] if new is not None else None
        if new_status in FAILING and old_status not in FAILING:
            new_failures.append(_change(key, old, new))
        if old_status in FAILING and new_status in PASSING:
            fixed.append(_change(key, old, new))
        if old is None:
            new_resources.append(_change(key, old, new))
        if new is None:
            vanished.append(_change(key, old, new))
    return {
        "baseline": {
            "started_at": str((previous.get("run") or {}).get("started_at", "")),
            "path": str(baseline_path),
            "evidence_sha256": file_sha256(evidence_file(baseline_path)),
        },
        "new_failures": new_failures,
        "fixed": fixed,
        "new_resources": new_resources,
        "vanished_resources": vanished,
    }


class BaselineError(ValueError):
    """A baseline bundle cannot be compared with; the message names its evidence.json and what is wrong."""


def load_bundle(baseline_path: Path) -> dict[str, Any]:
    """Return the parsed evidence.json of a baseline, or raise BaselineError saying why it is unusable.

    Checks everything the comparison reads (a results list of objects with a string control,
    resource and status; a run object when present), so a corrupt baseline is refused up front
    (explicit `--baseline`: exit 4) or named in the change section (found automatically),
    never compared half-way or skipped silently.
    """
    file = evidence_file(baseline_path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{file}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise BaselineError(f"{file} is not an evidence bundle (no results list)")
    if not isinstance(document.get("run", {}), dict):
        raise BaselineError(f"{file}: run is not an object")
    for index, result in enumerate(document["results"]):
        if not isinstance(result, dict) or not all(
            isinstance(result.get(key), str) for key in ("control", "resource", "status")
        ):
            raise BaselineError(f"{file}: results[{index}] has no control, resource and status text")
    return document


def run_folder_name(started_at: str) -> str:
    """Return the filesystem-safe folder name (YYYYMMDDTHHMMSSZ, UTC) of a run's ISO start time."""
    moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _latest(folders: Iterable[Path]) -> Path | None:
    with_evidence = [f for f in folders if _RUN_FOLDER.match(f.name) and (f / EVIDENCE_NAME).is_file()]
    return max(with_evidence, key=lambda f: f.name, default=None)


def find_baseline(evidence_dir: Path) -> Path | None:
    """Return the bundle folder the next run in `evidence_dir` compares against, or None.

    In order: the bundle at the top of `evidence_dir` (not archived yet); the latest folder in
    `evidence_dir/archive/`; with the default layout (`evidence_dir` named YYYYMMDDTHHMMSSZ),
    the latest earlier sibling folder of the same shape that holds an evidence.json.
    """
    if (evidence_dir / EVIDENCE_NAME).is_file():
        return evidence_dir
    archive = evidence_dir / ARCHIVE_DIR
    if archive.is_dir():
        found = _latest(p for p in archive.iterdir() if p.is_dir())
        if found is not None:
            return found
    if _RUN_FOLDER.match(evidence_dir.name) and evidence_dir.parent.is_dir():
        return _latest(p for p in evidence_dir.parent.iterdir() if p.is_dir() and p.name < evidence_dir.name)
    return None


def _previous_files(evidence_dir: Path) -> list[str]:
    try:
        listed = list(read_manifest(evidence_dir))
    except (OSError, ValueError):
        listed = []
    # Only files really under the folder: a tampered manifest must not move anything else.
    names = (
        (set(listed) & set(bundle_files(evidence_dir)))
        | set(BUNDLE_NAMES)
        | {MANIFEST_NAME, SIGNATURE_NAME, TIMESTAMP_NAME}
    )
    present = [n for n in names if (evidence_dir / n).is_file()]
    if MANIFEST_NAME in present:
        # A file rewritten after the previous bundle was sealed (this run's `--record FILE` inside
        # the evidence folder) belongs to this run: it stays, and the archive shows it missing.
        sealed = (evidence_dir / MANIFEST_NAME).stat().st_mtime
        present = [
            n
            for n in present
            if n in (SIGNATURE_NAME, TIMESTAMP_NAME) or (evidence_dir / n).stat().st_mtime <= sealed
        ]
    return sorted(present)


def _archive_name(evidence_dir: Path) -> str:
    try:
        started = str(
            json.loads((evidence_dir / EVIDENCE_NAME).read_text(encoding="utf-8"))["run"]["started_at"]
        )
        return run_folder_name(started)
    except (OSError, ValueError, KeyError, TypeError):
        # An unreadable bundle is still archived (never overwritten), named by its file time.
        moment = datetime.fromtimestamp((evidence_dir / EVIDENCE_NAME).stat().st_mtime, UTC)
        return moment.strftime("%Y%m%dT%H%M%SZ")


def archive_previous(evidence_dir: Path) -> Path | None:
    """Move the bundle at the top of `evidence_dir` into `archive/<its start time>/`; return that folder.

    Moves the files its manifest lists plus the manifest, its signature and the known bundle
    files, keeping relative paths, so the archived folder verifies on its own; a listed file
    changed after the manifest was written is no longer the previous bundle's and stays (the
    archived bundle then reports it missing, truthfully). Returns None
    when there is no previous bundle (no evidence.json). A second run in the same second gets
    a `-2`, `-3`, ... suffix instead of overwriting.
    """
    if not (evidence_dir / EVIDENCE_NAME).is_file():
        return None
    name = _archive_name(evidence_dir)
    target = evidence_dir / ARCHIVE_DIR / name
    suffix = 2
    while target.exists():
        target = evidence_dir / ARCHIVE_DIR / f"{name}-{suffix}"
        suffix += 1
    for relative in _previous_files(evidence_dir):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(evidence_dir / relative, destination)
    return target
