"""Command line for evidence bundles: ``python -m reports verify DIR [--public-key FILE]``.

Exit codes of ``verify``: 0 the bundle is intact (and, with ``--public-key``, validly signed);
1 it is not: a file changed, is missing or was added, the manifest is missing or malformed or does
not list evidence.json (an empty manifest seals no evidence), or the signature is missing or
invalid (each finding on its own line, naming the file); 2 usage error
(no such folder, unreadable or non-Ed25519 public key).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from reports.manifest import MANIFEST_NAME, SIGNATURE_NAME, SIGNING_KEY_ENV, PublicKeyError, verify_bundle

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
    return parser


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
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
