"""Command line for evidence bundles and their archive.

``python -m reports verify DIR [--public-key FILE]`` checks one bundle;
``python -m reports verify-chain ARCHIVE [--from D] [--to D] [--public-key FILE] [--tsa-ca FILE]``
checks every archived night of a period and the chain that links them.

Exit codes of both: 0 intact (and validly signed, with ``--public-key``; validly timestamped, with
``--tsa-ca``); 1 it is not: a file changed, is missing or was added, a manifest is missing or
malformed or does not list evidence.json (an empty manifest seals no evidence), a signature or
timestamp is missing or invalid, a chain link is broken, a night is missing (each finding on its
own line, naming the file or night); 2 usage error (no such folder, unreadable or non-Ed25519
public key, unreadable TSA roots, a bad date, an archive that cannot be listed).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reports.archive.opening import named_store
from reports.archive.store import ArchiveError, ArchiveStore, FolderStore
from reports.archive.verify_chain import verify_chain
from reports.bundle import REPO_ROOT
from reports.command_line import iso_date, positive_int
from reports.history.database import HistoryDatabase, HistoryError, open_postgresql, open_sqlite
from reports.history.reindex import reindex
from reports.history.settings import default_history_file
from reports.i18n.translation import LANGUAGES
from reports.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    SIGNING_KEY_ENV,
    PublicKeyError,
    SigningKeyError,
    load_public_key,
    verify_bundle,
)
from reports.period.document import write_period
from reports.period.report import build_period
from reports.period.write_once import write_once_statement

EXIT_OK = 0
EXIT_TAMPERED = 1
EXIT_USAGE = 2

_DESCRIPTION = "Check and use the evidence bundles written by `pytest controls/`."
_VERIFY_HELP = f"""\
Check every file of an evidence bundle against its {MANIFEST_NAME} (sha256, as `sha256sum -c` would)
and name each file that changed, is missing or was added. With --public-key, also check the
Ed25519 signature {SIGNATURE_NAME} (written when {SIGNING_KEY_ENV} held the private key at run time).
A manifest that does not list evidence.json (e.g. an empty one) is not an evidence bundle: never OK.
Archived bundles (DIR/archive/<start time>/) have their own manifest: verify them one by one.

exit codes: 0 intact (and validly signed, with --public-key); 1 tampered, incomplete or badly
signed; 2 usage error.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reports", description=_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verify = commands.add_parser(
        "verify",
        help="check a bundle against its manifest (and signature)",
        description=_VERIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "directory", metavar="DIR", type=Path, help="the bundle folder (holds MANIFEST.sha256)"
    )
    verify.add_argument(
        "--public-key",
        metavar="FILE",
        type=Path,
        default=None,
        help="Ed25519 public key (PEM) that must have signed the manifest; without it the signature "
        "is reported as not checked",
    )
    chain = commands.add_parser(
        "verify-chain",
        help="check every archived night of a period and the chain that links them",
        description=_CHAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chain.add_argument(
        "archive",
        metavar="ARCHIVE",
        help="the archive: a folder ([archive] kind = 'folder'), or an Azure Blob container URL "
        "https://<account>.blob.core.windows.net/<container> (read with azure-identity's "
        "DefaultAzureCredential, or --connection-string-env)",
    )
    chain.add_argument(
        "--from",
        dest="start",
        metavar="YYYY-MM-DD",
        type=iso_date,
        help="first night (default: the first archived)",
    )
    chain.add_argument(
        "--to",
        dest="end",
        metavar="YYYY-MM-DD",
        type=iso_date,
        help="last night (default: the last archived)",
    )
    chain.add_argument(
        "--public-key",
        metavar="FILE",
        type=Path,
        default=None,
        help="Ed25519 public key (PEM) that must have signed every night",
    )
    chain.add_argument(
        "--tsa-ca",
        metavar="FILE",
        type=Path,
        default=None,
        help="PEM file of the timestamp authority's trusted root(s): every night must carry a valid timestamp",
    )
    chain.add_argument(
        "--connection-string-env",
        metavar="VAR",
        default=None,
        help="for an Azure Blob archive: the environment variable holding a connection string",
    )
    reindex = commands.add_parser(
        "reindex",
        help="rebuild the history database from the archive alone",
        description=_REINDEX_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reindex.add_argument("archive", metavar="ARCHIVE", help="the archive (as for verify-chain)")
    _history_options(reindex)
    period = commands.add_parser(
        "period",
        help="write the period report: did each control operate throughout the audit period",
        description=_PERIOD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    period.add_argument(
        "--archive", required=True, metavar="ARCHIVE", help="the archive (as for verify-chain)"
    )
    period.add_argument(
        "--from", dest="start", required=True, metavar="YYYY-MM-DD", type=iso_date, help="first night"
    )
    period.add_argument(
        "--to", dest="end", required=True, metavar="YYYY-MM-DD", type=iso_date, help="last night"
    )
    period.add_argument(
        "--out", required=True, metavar="DIR", type=Path, help="folder for period.html, period.json, manifest"
    )
    period.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of period.html (period.json holds both)"
    )
    period.add_argument(
        "--sample", type=positive_int, default=0, metavar="N", help="sample N nights for the auditor"
    )
    period.add_argument(
        "--items", type=positive_int, default=5, metavar="M", help="sample M results per sampled night (5)"
    )
    period.add_argument(
        "--seed", type=int, default=None, metavar="S", help="the auditor's seed (required with --sample)"
    )
    _history_options(period)
    period.add_argument(
        "--public-key",
        metavar="FILE",
        type=Path,
        default=None,
        help="Ed25519 public key every night must be signed with",
    )
    period.add_argument(
        "--tsa-ca",
        metavar="FILE",
        type=Path,
        default=None,
        help="TSA root(s): every night must carry a valid timestamp",
    )
    period.add_argument(
        "--storage-account-id",
        metavar="ID",
        default=None,
        help="for an Azure Blob archive: the storage account's ARM id, to read (Reader) whether the "
        "container is write-once for the whole period",
    )
    period.add_argument(
        "--repository",
        metavar="DIR",
        type=Path,
        default=None,
        help="git checkout of the auditor, to list the commits between code changes (default: this installation's, if a checkout)",
    )
    return parser


def _history_options(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--history",
        metavar="FILE",
        type=Path,
        default=None,
        help="the SQLite history file (default for a folder archive: <ARCHIVE>.history.sqlite beside it)",
    )
    target.add_argument(
        "--history-url",
        metavar="URL",
        default=None,
        help="a PostgreSQL history: postgresql://user@host:port/db",
    )
    parser.add_argument(
        "--password-env", metavar="VAR", default=None, help="the variable holding the PostgreSQL password"
    )
    parser.add_argument(
        "--connection-string-env",
        metavar="VAR",
        default=None,
        help="for an Azure Blob archive: the environment variable holding a connection string",
    )


_PERIOD_HELP = """\
Test the controls over an audit period from the archive: verify every night (files, signatures,
timestamps, chain), then report per control its occurrences, populations and exceptions (each
failing interval with its ticket, waiver and remediation SLA), every change of the controls' code,
config and waivers, per statement clause a verdict in words, and, with --sample N --seed S, a
reproducible sample of nights and items to re-perform. Writes period.html, period.json and a
MANIFEST.sha256 (signed when AUDIT_SIGNING_KEY is set) into --out.

exit codes: 0 written, every night present and verified; 1 written, with deviations (missing,
late, altered or unverifiable nights: listed on the cover); 2 usage error, or the archive or
history cannot be opened.
"""


def _open_history(arguments: argparse.Namespace, store: ArchiveStore) -> HistoryDatabase:
    """Return the history the options name (default: the SQLite file beside a folder archive)."""
    if arguments.history_url is not None:
        password = os.environ.get(arguments.password_env) if arguments.password_env else None
        return open_postgresql(arguments.history_url, password)
    if arguments.history is not None:
        return open_sqlite(arguments.history)
    if isinstance(store, FolderStore):
        return open_sqlite(default_history_file(store.root))
    raise HistoryError("--history or --history-url: required for an Azure Blob archive")


def _period(arguments: argparse.Namespace) -> int:
    if arguments.start > arguments.end:
        print("error: --from is after --to", file=sys.stderr)
        return EXIT_USAGE
    if arguments.sample and arguments.seed is None:
        print(
            "error: --sample needs --seed: the auditor chooses it, so the sample can be drawn again",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        if arguments.public_key is not None:
            load_public_key(arguments.public_key)
        roots = [arguments.tsa_ca.read_bytes()] if arguments.tsa_ca is not None else None
        store = _open_archive(arguments.archive, arguments.connection_string_env)
        db = _open_history(arguments, store)
    except (PublicKeyError, ArchiveError, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: --tsa-ca {arguments.tsa_ca}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    repository = arguments.repository or (REPO_ROOT if (REPO_ROOT / ".git").exists() else None)
    try:
        report = build_period(
            store,
            db,
            arguments.start,
            arguments.end,
            public_key=arguments.public_key,
            tsa_roots=roots,
            sample_nights=arguments.sample,
            sample_items=arguments.items,
            seed=arguments.seed,
            write_once=write_once_statement(
                store,
                period_days=(arguments.end - arguments.start).days + 1,
                account_id=arguments.storage_account_id,
            ),
            repository=repository,
        )
    except (ArchiveError, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        db.close()
    try:
        page = write_period(report, arguments.out, arguments.lang)
    except (OSError, SigningKeyError) as exc:
        print(f"error: --out {arguments.out}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    nights = report.nights
    print(
        f"period {arguments.start} .. {arguments.end}: {nights.present} of {nights.expected} nights archived, "
        f"{nights.verified} verified, {len(nights.deviations)} deviations"
    )
    for deviation in nights.deviations:
        print(f"DEVIATION {deviation.night} {deviation.kind}: {deviation.detail}")
    print(f"period report: {page}")
    return EXIT_TAMPERED if nights.deviations else EXIT_OK


_REINDEX_HELP = """\
Index every archived night (evidence.json, manifest hash, chain link) into the history database
that trends and the period report read. Idempotent: a night indexed again replaces its rows. The
history is never the system of record: drop it and run this to rebuild it from the archive alone.

exit codes: 0 every night with a manifest indexed; 1 some night could not be read (each named);
2 usage error, or the archive or history cannot be opened.
"""


def _reindex(arguments: argparse.Namespace) -> int:
    try:
        store = _open_archive(arguments.archive, arguments.connection_string_env)
        db = _open_history(arguments, store)
    except (ArchiveError, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = reindex(
            store, db, lambda n, total, run: print(f"[{n}/{total}] {run.prefix}", file=sys.stderr)
        )
    except ArchiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        db.close()
    for line in report.skipped:
        print(f"NOT INDEXED: {line}")
    rows = sum(run.results for run in report.indexed)
    print(f"indexed {len(report.indexed)} nights ({rows} results) into {db.where}")
    return EXIT_TAMPERED if report.skipped else EXIT_OK


_CHAIN_HELP = """\
Walk an archive of nightly bundles (keys YYYY/MM/DD/<run id>/): verify every run's files against its
manifest, its signature (--public-key) and its RFC 3161 timestamp (--tsa-ca), check that each run's
chain.json names the run archived right before it with the sha256 of that run's manifest, and list
every night of the window without a run. A night removed, replaced or inserted after the fact breaks
a link stated by the signed bundle after it.

exit codes: 0 every night verified and none missing; 1 a finding (each on its own line); 2 usage
error or an archive that cannot be listed.
"""


def _open_archive(spec: str, connection_string_env: str | None) -> ArchiveStore:
    """Return the store an ARCHIVE argument names; ArchiveError when it cannot be."""
    return named_store(spec, connection_string_env, os.environ)


def _verify_chain(arguments: argparse.Namespace) -> int:
    if arguments.start and arguments.end and arguments.start > arguments.end:
        print("error: --from is after --to", file=sys.stderr)
        return EXIT_USAGE
    try:
        if arguments.public_key is not None:
            load_public_key(arguments.public_key)
        roots = [arguments.tsa_ca.read_bytes()] if arguments.tsa_ca is not None else None
    except PublicKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: --tsa-ca {arguments.tsa_ca}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = _open_archive(arguments.archive, arguments.connection_string_env)
        report = verify_chain(
            store, start=arguments.start, end=arguments.end, public_key=arguments.public_key, tsa_roots=roots
        )
    except ArchiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in report.lines():
        print(line)
    return EXIT_OK if report.ok else EXIT_TAMPERED


def _verify(directory: Path, public_key: Path | None) -> int:
    if not directory.is_dir():
        print(f"error: {directory} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = verify_bundle(directory, public_key)
    except PublicKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in result.lines():
        print(line)
    if not result.ok:
        print(f"TAMPERED OR INCOMPLETE: {directory} does not verify", file=sys.stderr)
        return EXIT_TAMPERED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (argparse itself exits 2 on bad usage)."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "verify":
        return _verify(arguments.directory, arguments.public_key)
    if arguments.command == "verify-chain":
        return _verify_chain(arguments)
    if arguments.command == "reindex":
        return _reindex(arguments)
    if arguments.command == "period":
        return _period(arguments)
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
