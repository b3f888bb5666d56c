"""Regenerate `collectors/tracking/trackerdb.json` from the pinned Ghostery Tracker Database (npm).

    .venv/bin/python -m collectors.tracking.update_trackerdb            # the pinned version
    .venv/bin/python -m collectors.tracking.update_trackerdb --check    # exit 1 if the file differs
    # a licensed copy (its npm tarball or dist/trackerdb.json) to the file [tracking] names:
    .venv/bin/python -m collectors.tracking.update_trackerdb --from COPY.tgz --output OUT.json

The npm package `@ghostery/trackerdb` ships its whole database as `dist/trackerdb.json`
(categories, organizations, patterns, domains, filters). The auditor needs only which domain
belongs to which tracker, its category and its organization: this script fetches the pinned
tarball with `npm pack` (the npm registry, no install, no package scripts run), checks it
against the pinned sha512 integrity, and writes that reduction, sorted, with the version and
the tarball's integrity in its header, so a run's evidence can name the database it used.

To update: `npm view @ghostery/trackerdb version dist.integrity`, set PINNED_VERSION and
PINNED_INTEGRITY below, run this script, review the diff of trackerdb.json, commit both.

TrackerDB is CC-BY-NC-SA-4.0 (non-commercial). A business running the auditor needs Ghostery's
commercial licence and uses its own licensed copy: `--from FILE` reduces that copy instead (the
package tarball, or its `dist/trackerdb.json`), with no network and no pin; `--output` names the
file that `[tracking] tracker_database` then points at. Its header names the copy: `--source`
(default: the tarball's package name and version, or `file:<name>`), the copy's sha512 integrity,
and `--license` (default: the tarball's `license`, or "not stated").
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.tracking.trackerdb import shape_problem

PACKAGE = "@ghostery/trackerdb"
PINNED_VERSION = "1.0.945"
PINNED_INTEGRITY = (
    "sha512-vxB/d4UJJsUNS1ja4KXdqStL7UbzoL0JotdTCWv2nrXMz+RFj1f3dF4ziuCKOxYD5tsLoix+hkvFQiqCn+7nyw=="
)
LICENSE = "CC-BY-NC-SA-4.0"
ATTRIBUTION = "Ghostery Tracker Database, (c) Ghostery GmbH, https://github.com/ghostery/trackerdb"
OUTPUT = Path(__file__).with_name("trackerdb.json")


def integrity_of(data: bytes) -> str:
    """Return npm's Subresource-Integrity form (`sha512-<base64>`) of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch_tarball(folder: Path) -> bytes:
    """Return the pinned package tarball, fetched by `npm pack` and checked against PINNED_INTEGRITY."""
    done = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{PINNED_VERSION}", "--pack-destination", str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"npm pack {PACKAGE}@{PINNED_VERSION} failed: {done.stderr.strip()}")
    filename = json.loads(done.stdout)[0]["filename"]
    data = (folder / Path(filename).name).read_bytes()
    found = integrity_of(data)
    if found != PINNED_INTEGRITY:
        raise SystemExit(
            f"{PACKAGE}@{PINNED_VERSION}: integrity {found} is not the pinned {PINNED_INTEGRITY}"
        )
    return data


def _package_member(archive: tarfile.TarFile, name: str, what: str) -> Any:
    """Return the JSON of `package/<name>` in an npm tarball, or None when the tarball lacks it."""
    try:
        member = archive.extractfile(f"package/{name}")
    except KeyError:
        return None
    if member is None:
        raise SystemExit(f"{what}: package/{name} is not a file")
    try:
        return json.load(member)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{what}: package/{name} is not valid JSON ({exc})") from None


def database_of(tarball: bytes, folder: Path, what: str = f"{PACKAGE}@{PINNED_VERSION}") -> dict[str, Any]:
    """Return the package's `dist/trackerdb.json` as data (`what` names the tarball in errors)."""
    return _tarball_contents(tarball, folder, what)[0]


def _tarball_contents(tarball: bytes, folder: Path, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the package's `dist/trackerdb.json` and its `package.json` ({} when absent) as data."""
    path = folder / "package.tgz"
    path.write_bytes(tarball)
    try:
        with tarfile.open(path) as archive:
            loaded = _package_member(archive, "dist/trackerdb.json", what)
            package = _package_member(archive, "package.json", what)
    except tarfile.TarError as exc:
        raise SystemExit(f"{what}: not an npm package tarball ({exc})") from None
    if not isinstance(loaded, dict):
        raise SystemExit(f"{what} has no dist/trackerdb.json")
    return loaded, package if isinstance(package, dict) else {}


@dataclass(frozen=True)
class LicensedCopy:
    """A copy of TrackerDB the user obtained (`--from`): its database and what its header says."""

    database: dict[str, Any]
    source: str
    integrity: str
    license: str


def read_copy(path: Path, folder: Path, source: str | None, license: str | None) -> LicensedCopy:
    """Return the TrackerDB copy in `path`: an npm package tarball (.tgz) or its `dist/trackerdb.json`.

    Lets a business reduce the copy it licensed from Ghostery instead of the pinned public
    package. `source` and `license` default to the tarball's package.json (name@version, license),
    else `file:<name>` and "not stated"; the integrity is the file's own sha512.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SystemExit(f"--from {path}: cannot be read ({exc.strerror})") from None
    package: dict[str, Any] = {}
    if tarfile.is_tarfile(path):
        database, package = _tarball_contents(data, folder, f"--from {path}")
    else:
        try:
            database = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SystemExit(f"--from {path}: neither an npm tarball nor valid JSON ({exc})") from None
    named = f"npm:{package['name']}@{package['version']}" if {"name", "version"} <= package.keys() else None
    return LicensedCopy(
        database=database,
        source=source or named or f"file:{path.name}",
        integrity=integrity_of(data),
        license=license or str(package.get("license") or "not stated"),
    )


def reduce_database(
    database: dict[str, Any],
    *,
    source: str = f"npm:{PACKAGE}@{PINNED_VERSION}",
    integrity: str = PINNED_INTEGRITY,
    license: str = LICENSE,
) -> dict[str, Any]:
    """Return the compact form the collector reads: domain -> tracker key, tracker key -> words.

    The header (`source`, `integrity`, `license`) defaults to the pinned package's. Raises
    SystemExit naming the part of TrackerDB's shape that `database` lacks.
    """
    for key in ("categories", "organizations", "patterns", "domains"):
        if not isinstance(database.get(key) if isinstance(database, dict) else None, dict):
            raise SystemExit(f"not Ghostery's TrackerDB: no {key!r} object")
    organizations = database["organizations"]
    patterns = database["patterns"]
    used = sorted(set(database["domains"].values()))
    missing = [key for key in used if key not in patterns]
    if missing:
        raise SystemExit(
            f"not Ghostery's TrackerDB: domains name {missing[0]!r}, which 'patterns' does not list"
        )
    try:
        reduced = {
            "source": source,
            "integrity": integrity,
            "license": license,
            "attribution": ATTRIBUTION,
            "categories": {key: value["name"] for key, value in sorted(database["categories"].items())},
            "trackers": {
                key: [
                    patterns[key]["name"],
                    patterns[key]["category"],
                    organizations.get(patterns[key]["organization"] or "", {}).get("name", ""),
                ]
                for key in used
            },
            "domains": dict(sorted(database["domains"].items())),
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise SystemExit(f"not Ghostery's TrackerDB: {type(exc).__name__} {exc}") from None
    problem = shape_problem(reduced)
    if problem is not None:
        raise SystemExit(f"the reduction is not a usable tracker database: {problem}")
    return reduced


def render(compact: dict[str, Any]) -> str:
    """Return the file's text: one domain or tracker per line, so a version bump reads as a diff."""
    lines = ["{"]
    for key in ("source", "integrity", "license", "attribution", "categories"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(compact[key], ensure_ascii=False)},")
    for key in ("trackers", "domains"):
        items = list(compact[key].items())
        lines.append(f"  {json.dumps(key)}: {{")
        for index, (name, value) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            lines.append(f"    {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}{comma}")
        lines.append("  }" + ("," if key == "trackers" else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check compare) the reduced database; return the exit code (1: --check differs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the output file is not what the input gives"
    )
    parser.add_argument(
        "--from",
        dest="copy",
        type=Path,
        metavar="FILE",
        help="reduce this copy of TrackerDB (npm tarball or dist/trackerdb.json), not the pinned package",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="where to write (required with --from; default: the shipped file)",
    )
    parser.add_argument(
        "--source", help="with --from: how the evidence names the copy (default: from the tarball)"
    )
    parser.add_argument("--license", help="with --from: the copy's licence (default: from the tarball)")
    args = parser.parse_args(argv)
    if args.copy is None and (args.source or args.license):
        parser.error("--source and --license describe a copy given with --from")
    if args.copy is not None and args.output is None:
        parser.error("--from needs --output: the shipped trackerdb.json stays the pinned public package")
    output: Path = args.output or OUTPUT
    with tempfile.TemporaryDirectory(prefix="trackerdb-") as temp:
        if args.copy is None:
            origin = f"{PACKAGE}@{PINNED_VERSION}"
            text = render(reduce_database(database_of(fetch_tarball(Path(temp)), Path(temp))))
        else:
            copy = read_copy(args.copy, Path(temp), args.source, args.license)
            origin = f"{args.copy} ({copy.source})"
            try:
                reduced = reduce_database(
                    copy.database, source=copy.source, integrity=copy.integrity, license=copy.license
                )
            except SystemExit as exc:
                raise SystemExit(f"--from {args.copy}: {exc}") from None
            text = render(reduced)
    if args.check:
        same = output.exists() and output.read_text(encoding="utf-8") == text
        print(f"{output}: {'up to date' if same else 'differs from'} {origin}")
        return 0 if same else 1
    output.write_text(text, encoding="utf-8")
    print(f"{output}: written from {origin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
