"""Archiving a written bundle: find the previous run, upload every file, read it back, compare.

A run counts as archived only when every file of its bundle was read back from the archive with
the sha256 it has on disk. The manifest goes last, so a run prefix without a manifest is an
upload that did not finish (verify-chain names it), never a bundle that looks complete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from reports.archive.chain import ChainLink, PreviousRun, RunKey, runs_in
from reports.archive.store import ArchiveError, ArchiveStore
from reports.manifest import MANIFEST_NAME, OUTSIDE_MANIFEST, bundle_files


@dataclass(frozen=True)
class ArchiveReceipt:
    """What was archived: the run's key, how many files and bytes, all read back intact."""

    key: str
    files: int
    size: int
    store: str


def previous_run(store: ArchiveStore, before: RunKey | None = None) -> PreviousRun | None:
    """Return the last archived run that has a manifest (before `before`, if given), or None for an empty archive.

    Raises ArchiveError when the archive cannot be listed or the manifest cannot be read: the
    caller then records the link as unknown rather than claiming this is the first night.
    """
    listed = store.list("")
    runs, _strays = runs_in(listed)
    keys = set(listed)
    for run in reversed(runs):
        if before is not None and run >= before:
            continue
        manifest_key = run.prefix + MANIFEST_NAME
        if manifest_key in keys:
            return PreviousRun(run.prefix, hashlib.sha256(store.get(manifest_key)).hexdigest())
    return None


def chain_link(store: ArchiveStore, run: RunKey) -> ChainLink:
    """Return this run's chain link: the previous archived run, or why it could not be found."""
    try:
        return ChainLink(run.prefix, previous_run(store, before=run))
    except ArchiveError as exc:
        return ChainLink(run.prefix, None, unknown=f"the archive could not be read at run time: {exc}")


def _archived_names(directory: Path) -> list[str]:
    """Return the bundle's files in upload order: the sealed files, then signature and timestamp, the manifest last."""
    outside = sorted(n for n in OUTSIDE_MANIFEST - {MANIFEST_NAME} if (directory / n).is_file())
    return [*bundle_files(directory), *outside, MANIFEST_NAME]


def archive_bundle(directory: Path, store: ArchiveStore, key: str) -> ArchiveReceipt:
    """Upload the bundle in `directory` under `key`, read every file back and compare its sha256.

    Returns the receipt when all files came back intact. Raises ArchiveError naming the first file
    that could not be written, read back, or came back different (an archive that changed a byte
    is not one), and ArchiveConflictError when the run's key is in the archive already.
    """
    if not (directory / MANIFEST_NAME).is_file():
        raise ArchiveError(f"{directory} has no {MANIFEST_NAME}: an unsealed bundle is not archived")
    names = _archived_names(directory)
    digests: dict[str, str] = {}
    size = 0
    for name in names:
        data = (directory / name).read_bytes()
        digests[name] = hashlib.sha256(data).hexdigest()
        size += len(data)
        store.put(key + name, data)
    for name in names:
        if hashlib.sha256(store.get(key + name)).hexdigest() != digests[name]:
            raise ArchiveError(f"{store.describe()}: {key}{name} reads back different from what was written")
    return ArchiveReceipt(key=key, files=len(names), size=size, store=store.describe())
