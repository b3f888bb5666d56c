"""Regenerate `collectors/tracking/trackerdb.json` from the pinned Ghostery Tracker Database (npm).

    .venv/bin/python -m collectors.tracking.update_trackerdb            # the pinned version
    .venv/bin/python -m collectors.tracking.update_trackerdb --check    # exit 1 if the file differs

The npm package `@ghostery/trackerdb` ships its whole database as `dist/trackerdb.json`
(categories, organizations, patterns, domains, filters). The auditor needs only which domain
belongs to which tracker, its category and its organization: this script fetches the pinned
tarball with `npm pack` (the npm registry, no install, no package scripts run), checks it
against the pinned sha512 integrity, and writes that reduction, sorted, with the version and
the tarball's integrity in its header, so a run's evidence can name the database it used.

To update: `npm view @ghostery/trackerdb version dist.integrity`, set PINNED_VERSION and
PINNED_INTEGRITY below, run this script, review the diff of trackerdb.json, commit both.
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
from pathlib import Path
from typing import Any

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


def database_of(tarball: bytes, folder: Path) -> dict[str, Any]:
    """Return the package's `dist/trackerdb.json` as data."""
    path = folder / "package.tgz"
    path.write_bytes(tarball)
    with tarfile.open(path) as archive:
        member = archive.extractfile("package/dist/trackerdb.json")
        if member is None:
            raise SystemExit(f"{PACKAGE}@{PINNED_VERSION} has no dist/trackerdb.json")
        loaded: dict[str, Any] = json.load(member)
        return loaded


def reduce_database(database: dict[str, Any]) -> dict[str, Any]:
    """Return the compact form the collector reads: domain -> tracker key, tracker key -> words."""
    organizations = database["organizations"]
    patterns = database["patterns"]
    used = sorted(set(database["domains"].values()))
    return {
        "source": f"npm:{PACKAGE}@{PINNED_VERSION}",
        "integrity": PINNED_INTEGRITY,
        "license": LICENSE,
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when trackerdb.json is not what the pin gives"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trackerdb-") as temp:
        text = render(reduce_database(database_of(fetch_tarball(Path(temp)), Path(temp))))
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT}: {'up to date' if same else 'differs from'} {PACKAGE}@{PINNED_VERSION}")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"{OUTPUT}: written from {PACKAGE}@{PINNED_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
