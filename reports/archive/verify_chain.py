"""Walking an archive: every run's bundle, signature, timestamp and chain link checked; every gap named.

What an auditor runs before relying on a period of evidence. Each archived run is verified as
`python -m reports verify` verifies one bundle (every file against the manifest, the signature
with the public key), its timestamp against the TSA's roots, and its chain link against the run
actually archived before it. A night with no run, a run without a manifest, a link naming a run
that is gone or a manifest that changed after the next night sealed its hash are each a finding.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from reports.archive.chain import CHAIN_NAME, ChainLink, RunKey, keys_by_run
from reports.archive.store import ArchiveError, ArchiveStore, FolderStore
from reports.manifest import MANIFEST_NAME, TIMESTAMP_NAME, verify_bundle


@dataclass
class RunCheck:
    """What verifying one archived run found; `problems` empty means it verifies."""

    run: RunKey
    problems: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    """What kind of deviation the problems are: altered, inserted, incomplete, unverifiable (the run's
    own evidence cannot be relied on) or chain (its link shows a night before it removed, altered or
    inserted: the run itself is authentic)."""
    files: int = 0
    signed: bool | None = None
    """True: valid signature checked; None: no public key given or no signature."""
    timestamp: datetime | None = None
    notes: list[str] = field(default_factory=list)
    follows: RunKey | None = None
    """The run this run's chain.json names as archived right before it."""

    @property
    def ok(self) -> bool:
        """Return True when the run verified completely."""
        return not self.problems

    @property
    def authentic(self) -> bool:
        """Return True when the run's own evidence verifies: at most its link names trouble before it."""
        return not (self.kinds - {"chain"})

    def problem(self, kind: str, text: str) -> None:
        """Record a problem of `kind` (altered, inserted, incomplete, chain, unverifiable)."""
        self.kinds.add(kind)
        self.problems.append(text)


@dataclass
class ChainReport:
    """The verdict on an archive over a window: each run, each missing night, each stray object."""

    store: str
    start: date | None
    end: date | None
    runs: list[RunCheck] = field(default_factory=list)
    missing_nights: list[date] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when every run verified, no night is missing and nothing lies outside a run."""
        return (
            all(r.ok for r in self.runs) and not self.missing_nights and not self.strays and bool(self.runs)
        )

    def lines(self) -> list[str]:
        """Return the verdict for a reader, one finding per line, problems first."""
        out: list[str] = []
        window = f"{self.start or 'first'} .. {self.end or 'last'}"
        if not self.runs:
            out.append(f"NO RUNS: {self.store} holds no archived run in {window}")
        for night in self.missing_nights:
            out.append(f"MISSING NIGHT: {night.isoformat()} has no archived run")
        for stray in self.strays:
            out.append(f"STRAY: {stray} lies outside any run prefix (YYYY/MM/DD/<run id>/)")
        for run in self.runs:
            for problem in run.problems:
                out.append(f"{run.run.prefix}: {problem}")
        for run in self.runs:
            if run.ok:
                signed = {True: "signed", None: "signature not checked", False: "badly signed"}[run.signed]
                stamped = (
                    f"timestamped {run.timestamp:%Y-%m-%d %H:%M:%S} UTC"
                    if run.timestamp
                    else "no timestamp checked"
                )
                out.append(f"ok: {run.run.prefix} ({run.files} files, {signed}, {stamped})")
            for note in run.notes:
                out.append(f"{run.run.prefix}: note: {note}")
        verified = sum(1 for r in self.runs if r.ok)
        verdict = "VERIFIED" if self.ok else "NOT VERIFIED"
        out.append(
            f"{verdict}: {verified} of {len(self.runs)} runs verify, {len(self.missing_nights)} nights missing "
            f"in {window} ({self.store})"
        )
        return out


@contextmanager
def _bundle_folder(store: ArchiveStore, prefix: str, keys: Sequence[str]) -> Iterator[Path]:
    """Yield a folder holding the run's objects: the folder itself for a folder archive, else a download."""
    if isinstance(store, FolderStore):
        yield store.root.joinpath(*prefix.rstrip("/").split("/"))
        return
    with tempfile.TemporaryDirectory(prefix="audit-verify-") as temporary:
        root = Path(temporary)
        for key in keys:
            target = root.joinpath(*key[len(prefix) :].split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.get(key))
        yield root


def _check_link(
    check: RunCheck, link: ChainLink, before: RunKey | None, manifests: dict[RunKey, str]
) -> None:
    """Record what is wrong with a run's chain link, given the run truly archived before it."""
    if link.key != check.run.prefix:
        check.problem(
            "chain", f"{CHAIN_NAME} says this bundle was archived as {link.key}: it was moved or copied here"
        )
    if link.previous is None:
        if link.unknown:
            check.problem("unverifiable", f"chain link unverifiable: {link.unknown}")
        elif before is not None:
            check.problem(
                "chain",
                f"chain: claims to be the first archived run, but {before.prefix} was archived before it",
            )
        return
    stated = RunKey.parse(link.previous.key)
    check.follows = stated
    if before is None or stated != before:
        if stated not in manifests:
            check.problem(
                "chain",
                f"chain broken: the run it follows, {link.previous.key}, is not in the archive (removed)",
            )
        else:
            after = before.prefix if before is not None else "nothing"
            check.problem(
                "chain",
                f"chain broken: it follows {link.previous.key}, but {after} was archived right before it "
                "(a run inserted or removed in between)",
            )
        return
    if manifests.get(before) != link.previous.manifest_sha256:
        check.problem(
            "chain",
            f"chain broken: the manifest of {before.prefix} changed after this run sealed its sha256 "
            f"({link.previous.manifest_sha256[:12]}...): that night was altered or replaced",
        )


def _check_timestamp(check: RunCheck, folder: Path, tsa_roots: Sequence[bytes] | None) -> None:
    stamp = folder / TIMESTAMP_NAME
    if tsa_roots is None:
        if stamp.is_file():
            check.notes.append(f"{TIMESTAMP_NAME} present, not checked (give --tsa-ca)")
        return
    if not stamp.is_file():
        check.problem("unverifiable", f"no {TIMESTAMP_NAME}: the manifest was not timestamped")
        return
    from reports.archive.timestamps import verify_timestamp

    verdict = verify_timestamp(stamp.read_bytes(), (folder / MANIFEST_NAME).read_bytes(), tsa_roots)
    if not verdict.ok:
        check.problem("unverifiable", f"timestamp: {verdict.problem}")
    else:
        check.timestamp = verdict.time


def _check_run(
    store: ArchiveStore,
    run: RunKey,
    keys: Sequence[str],
    before: RunKey | None,
    manifests: dict[RunKey, str],
    public_key: Path | None,
    tsa_roots: Sequence[bytes] | None,
) -> RunCheck:
    check = RunCheck(run)
    names = {key[len(run.prefix) :] for key in keys}
    if MANIFEST_NAME not in names:
        check.problem(
            "incomplete", f"no {MANIFEST_NAME}: an upload that never finished, or a manifest removed"
        )
        return check
    with _bundle_folder(store, run.prefix, keys) as folder:
        result = verify_bundle(folder, public_key)
        check.files = result.checked
        for line in result.problems():
            check.problem("altered", line)
        check.signed = True if result.signature_valid else None
        if public_key is None and result.signature_present:
            check.notes.append("signature present, not checked (give --public-key)")
        _check_timestamp(check, folder, tsa_roots)
        if CHAIN_NAME not in names:
            check.problem("chain", f"no {CHAIN_NAME}: this bundle does not state the run before it")
            return check
        try:
            link = ChainLink.loads((folder / CHAIN_NAME).read_bytes())
        except ValueError as exc:
            check.problem("chain", str(exc))
            return check
    _check_link(check, link, before, manifests)
    return check


def _mark_unchained(checks: Sequence[RunCheck], runs: Sequence[RunKey], position: dict[RunKey, int]) -> None:
    """Mark as inserted every run that the chain skips: one after it names a run before it as its predecessor.

    Such a run sits where no sealed link puts it. Without this, a bundle made later and placed
    between two nights (unsigned, or signed with a stolen key) would count as that night's evidence,
    while only the honest night after it showed a broken link.
    """
    by_run = {check.run: check for check in checks}
    for check in checks:
        named = check.follows
        if named is None or named not in position or position[named] >= position[check.run]:
            continue
        for skipped in runs[position[named] + 1 : position[check.run]]:
            if skipped in by_run:
                by_run[skipped].problem(
                    "inserted",
                    f"not in the chain: {check.run.prefix} names {named.prefix} as the run archived right "
                    "before it, so this run was placed here afterwards",
                )


def _nights(start: date, end: date) -> Iterator[date]:
    night = start
    while night <= end:
        yield night
        night += timedelta(days=1)


def verify_chain(
    store: ArchiveStore,
    *,
    start: date | None = None,
    end: date | None = None,
    public_key: Path | None = None,
    tsa_roots: Sequence[bytes] | None = None,
) -> ChainReport:
    """Return the verdict on every run archived from `start` to `end` (inclusive; default all).

    Every run is checked (files, signature when `public_key` is given, timestamp when `tsa_roots`
    are), and its link against the run archived before it, which may lie before the window.
    Every night of the window without a run is missing (the window defaults to the first and last
    archived night). Raises ArchiveError when the archive cannot be listed at all.
    """
    by_run, strays = keys_by_run(store.list(""))
    runs = list(by_run)
    manifests: dict[RunKey, str] = {}
    for run in runs:
        if run.prefix + MANIFEST_NAME in by_run[run]:
            with suppress(ArchiveError):  # the run's own check names the unreadable manifest
                manifests[run] = hashlib.sha256(store.get(run.prefix + MANIFEST_NAME)).hexdigest()
    report = ChainReport(store=store.describe(), start=start, end=end, strays=strays)
    in_window = [r for r in runs if (start is None or r.night >= start) and (end is None or r.night <= end)]
    position = {run: index for index, run in enumerate(runs)}
    for run in in_window:
        before = runs[position[run] - 1] if position[run] > 0 else None
        try:
            report.runs.append(_check_run(store, run, by_run[run], before, manifests, public_key, tsa_roots))
        except ArchiveError as exc:
            unreadable = RunCheck(run)
            unreadable.problem("unverifiable", f"unreadable: {exc}")
            report.runs.append(unreadable)
    _mark_unchained(report.runs, runs, position)
    first = start or (in_window[0].night if in_window else None)
    last = end or (in_window[-1].night if in_window else None)
    if first is not None and last is not None:
        present = {r.night for r in in_window}
        report.missing_nights = [night for night in _nights(first, last) if night not in present]
    return report
