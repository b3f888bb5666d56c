"""The run's part in the audit-period archive: the chain link before the bundle is sealed, the upload after.

Glue between the config (`[archive]`), the credentials the run already uses and the archive
modules of reports/. Archiving never changes a verdict: what goes wrong is one problem line, and
the run's exit code says "not archived" (7).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from controls.harness.config_file import AuditConfig
from reports.archive.archiver import ArchiveReceipt, archive_bundle, chain_link
from reports.archive.chain import CHAIN_NAME, ChainLink, RunKey, run_id_of
from reports.archive.opening import configured_store
from reports.archive.settings import ArchiveSettings
from reports.archive.store import ArchiveError, ArchiveStore
from reports.history.database import HistoryDatabase, HistoryError, open_postgresql, open_sqlite
from reports.history.indexing import index_run
from reports.history.settings import HISTORY_FILE, HistorySettings, default_history_file
from reports.history.trends import night_trends
from reports.manifest import EVIDENCE_NAME, MANIFEST_NAME, TIMESTAMP_NAME
from reports.setting_types import redacted_url


def open_store(config: AuditConfig, settings: ArchiveSettings, environ: Mapping[str, str]) -> ArchiveStore:
    """Return the configured archive store; ArchiveError when it cannot be opened (the reason, no secret).

    An Azure Blob archive read with azure-identity uses the run's own Azure credential when the
    config has `[azure]`, else DefaultAzureCredential.
    """
    folder = config.resolve(settings.path.expanduser()) if settings.path is not None else None
    credential = None
    if settings.kind == "azure-blob" and settings.connection_string_env is None and config.azure is not None:
        from collectors.azure.arm import build_credential

        credential = build_credential(config.azure)
    return configured_store(settings, folder, environ, credential)


def archive_problem(config: AuditConfig, environ: Mapping[str, str]) -> str | None:
    """Return why the configured archive cannot be used, checked before anything is collected (exit 4).

    A folder archive must be a folder this user can create or write; a connection string's variable
    must be set; a TSA root file must exist. The archive's reachability itself is found at the end
    of the run, where a failure is "not archived" (exit 7), since the evidence is already written.
    """
    settings = config.archive
    if settings is None:
        return None
    if settings.kind == "folder":
        assert settings.path is not None
        folder = config.resolve(settings.path.expanduser())
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            return f"{config.path}: archive.path: {folder} is not a folder this user can write"
    if (
        settings.connection_string_env is not None
        and not environ.get(settings.connection_string_env, "").strip()
    ):
        return (
            f"{config.path}: archive.connection_string_env: the environment variable "
            f"{settings.connection_string_env} is not set (or is empty)"
        )
    if settings.tsa_ca_file is not None:
        roots = config.resolve(settings.tsa_ca_file.expanduser())
        if not roots.is_file():
            return f"{config.path}: archive.tsa_ca_file: no such file {roots}"
    history = config.history
    if history is not None and history.password_env is not None and not environ.get(history.password_env):
        return (
            f"{config.path}: history.password_env: the environment variable {history.password_env} is not set"
        )
    if config.history is not None and config.archive is None:
        return f"{config.path}: [history] indexes archived nights: it needs an [archive] section"
    return None


def history_path(config: AuditConfig, evidence_dir: Path) -> Path:
    """Return the SQLite history file: `[history] path`, else beside a folder archive, else beside the evidence."""
    history, archive = config.history, config.archive
    if history is not None and history.path is not None:
        return config.resolve(history.path.expanduser())
    if archive is not None and archive.kind == "folder" and archive.path is not None:
        return default_history_file(config.resolve(archive.path.expanduser()))
    return evidence_dir.resolve().parent / HISTORY_FILE


def open_history(config: AuditConfig, evidence_dir: Path, environ: Mapping[str, str]) -> HistoryDatabase:
    """Return the configured history database (SQLite by default); HistoryError when it cannot be opened."""
    history = config.history or HistorySettings()
    if history.url is not None:
        password = environ.get(history.password_env) if history.password_env else None
        return open_postgresql(history.url, password)
    return open_sqlite(history_path(config, evidence_dir))


def trends(
    config: AuditConfig,
    evidence_dir: Path,
    environ: Mapping[str, str],
    run_date: date,
    results: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Return evidence.json's `trends` from the history (None without an archive; `unavailable` when unreadable)."""
    if config.archive is None:
        return None
    try:
        db = open_history(config, evidence_dir, environ)
    except HistoryError as exc:
        return {"unavailable": str(exc)}
    try:
        return night_trends(db, run_date, results)
    except Exception as exc:  # trends are a view; a history that cannot answer must not cost the bundle
        return {"unavailable": f"{db.where}: {type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        db.close()


@dataclass
class NightArchive:
    """One run's archiving: where it goes, its chain link, and what happened."""

    key: RunKey
    link: ChainLink
    store: ArchiveStore | None
    receipt: ArchiveReceipt | None = None
    timestamped: datetime | None = None
    indexed: str | None = None
    problems: list[str] = field(default_factory=list)

    def sealed_files(self) -> dict[str, bytes]:
        """Return the files the bundle must seal for the archive: chain.json."""
        return {CHAIN_NAME: self.link.dumps()}

    def lines(self) -> list[str]:
        """Return what the terminal summary says of the archive."""
        if self.receipt is None:
            return []
        stamped = f", timestamped {self.timestamped:%Y-%m-%d %H:%M:%S} UTC" if self.timestamped else ""
        lines = [
            f"archived: {self.receipt.key} in {self.receipt.store} "
            f"({self.receipt.files} files read back intact{stamped})"
        ]
        return [*lines, f"history: indexed into {self.indexed}"] if self.indexed else lines


def prepare(
    config: AuditConfig, environ: Mapping[str, str], night: date, started_at: datetime
) -> NightArchive:
    """Return the run's archive plan: its key and chain link, found before the bundle is sealed.

    An archive that cannot be opened or read gives a link that says so (verify-chain reports it
    unverifiable) and a problem; the bundle is still written.
    """
    assert config.archive is not None
    key = RunKey(night, run_id_of(started_at))
    try:
        store = open_store(config, config.archive, environ)
    except ArchiveError as exc:
        reason = f"the archive could not be opened at run time: {exc}"
        return NightArchive(key, ChainLink(key.prefix, None, unknown=reason), None, problems=[str(exc)])
    link = chain_link(store, key)
    night_archive = NightArchive(key, link, store)
    if link.unknown:
        night_archive.problems.append(link.unknown)
    return night_archive


def _timestamp(config: AuditConfig, settings: ArchiveSettings, directory: Path) -> datetime | None:
    """Timestamp the manifest (TIMESTAMP_NAME beside it); check it against the TSA roots when configured."""
    from reports.archive.timestamps import TimestampError, request_timestamp, verify_timestamp

    assert settings.tsa_url is not None
    manifest = (directory / MANIFEST_NAME).read_bytes()
    token = request_timestamp(manifest, settings.tsa_url, timeout=settings.timeout_seconds)
    if settings.tsa_ca_file is not None:
        roots = config.resolve(settings.tsa_ca_file.expanduser()).read_bytes()
        check = verify_timestamp(token, manifest, [roots])
        if not check.ok:
            raise TimestampError(
                f"the timestamp from {redacted_url(settings.tsa_url)} does not verify: {check.problem}"
            )
        (directory / TIMESTAMP_NAME).write_bytes(token)
        return check.time
    (directory / TIMESTAMP_NAME).write_bytes(token)
    return None


def finish(
    config: AuditConfig, night_archive: NightArchive, directory: Path, environ: Mapping[str, str]
) -> None:
    """Timestamp (when configured) and archive the sealed bundle in `directory`; record any problem.

    Never raises for an archive or TSA failure: the bundle on disk stays the evidence, and the
    problem makes the run exit 7. Does nothing more when the store could not be opened.
    """
    settings = config.archive
    assert settings is not None
    if night_archive.store is None:
        return
    if settings.tsa_url is not None:
        try:
            night_archive.timestamped = _timestamp(config, settings, directory)
        except Exception as exc:  # a TSA's bad answer must never cost the run
            night_archive.problems.append(f"archive.tsa_url: the manifest was not timestamped: {exc}")
    try:
        night_archive.receipt = archive_bundle(directory, night_archive.store, night_archive.key.prefix)
    except ArchiveError as exc:
        night_archive.problems.append(f"the bundle was not archived: {exc}")
    except OSError as exc:
        night_archive.problems.append(f"the bundle was not archived: {exc.filename}: {exc.strerror}")
    if night_archive.receipt is not None and (config.history is None or config.history.index):
        _index(config, night_archive, directory, environ)


def _index(
    config: AuditConfig, night_archive: NightArchive, directory: Path, environ: Mapping[str, str]
) -> None:
    """Index the archived night into the history, from the bundle on disk (the same bytes as archived)."""
    try:
        db = open_history(config, directory, environ)
    except HistoryError as exc:
        night_archive.problems.append(f"the night was archived but not indexed: {exc}")
        return
    try:
        evidence = json.loads((directory / EVIDENCE_NAME).read_text(encoding="utf-8"))
        manifest = hashlib.sha256((directory / MANIFEST_NAME).read_bytes()).hexdigest()
        index_run(db, night_archive.key, evidence, manifest, night_archive.link)
        night_archive.indexed = db.where
    except Exception as exc:  # the archive holds the night; a history failure only needs a reindex
        night_archive.problems.append(
            f"the night was archived but not indexed into {db.where}: {type(exc).__name__}: {str(exc)[:200]} "
            "(rebuild with `python -m reports reindex`)"
        )
    finally:
        db.close()
