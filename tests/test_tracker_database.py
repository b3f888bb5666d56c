"""6d's tracker database is configurable: `[tracking] tracker_database` names a licensed copy.

Ghostery's TrackerDB is CC-BY-NC-SA-4.0 (non-commercial); a business points the auditor at its own
licensed copy, reduced by `update_trackerdb.py --from`. The configured file is checked whole when
the config is loaded (a bad one is exit 4 naming the key, before anything is collected), it is the
one the pages' hosts are looked up in, and the evidence names it (source and sha256).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from collectors.config.estate import EstateConfig
from collectors.config.inventory import EndpointEntry
from collectors.config.tracking import TrackingSettings
from collectors.facts import FactStore
from collectors.messages import english_text
from collectors.tracking import pages
from collectors.tracking.facts import WEB_PAGES, PageTarget, PageVisit, RequestSeen
from collectors.tracking.trackerdb import (
    DATABASE,
    TrackerDatabase,
    TrackerDatabaseError,
    read_tracker_database,
    tracker_database,
)
from collectors.tracking.update_trackerdb import integrity_of, main
from controls.harness.config_file import ConfigError, load_config
from controls.test_6d_tracking_consent import test_page_tracks_nobody_before_consent as tracking_control
from tests.audit_runs import run_audit
from tests.control_calls import verdict_and_evidence

LICENSED_HOST = "px.metrics-licensed.example"
"""A host only the custom database knows (the shipped TrackerDB has no example.* domain)."""

CUSTOM = {
    "source": "ghostery-trackerdb@2.0.1 (licensed to Example B.V.)",
    "integrity": "sha512-test",
    "license": "commercial",
    "attribution": "Ghostery Tracker Database, (c) Ghostery GmbH",
    "categories": {"site_analytics": "Site Analytics"},
    "trackers": {"licensed_metrics": ["Licensed Metrics", "site_analytics", "Metrics Corp"]},
    "domains": {"metrics-licensed.example": "licensed_metrics"},
}


def write_config(folder: Path, database: str | None) -> Path:
    """Write an audit.toml with one page and, when given, `[tracking] tracker_database`."""
    text = '[[endpoints]]\nurl = "https://www.klant.nl/"\npages = ["/"]\n'
    if database is not None:
        text += f'\n[tracking]\ntracker_database = "{database}"\n'
    path = folder / "audit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def visit_with(database: TrackerDatabase, host: str) -> PageVisit:
    """Return a visit that sent one request to `host`, classified by `database`, as the collector does."""
    return PageVisit(
        target=PageTarget("https://www.klant.nl/", "https://www.klant.nl/"),
        final_url="https://www.klant.nl/",
        status=200,
        settled=True,
        waited_seconds=0.5,
        cookies=(),
        third_party_requests=(RequestSeen(host, 2, ("script",), database.match(host)),),
        tracker_database=database.label,
    )


def test_a_custom_database_classifies_a_host_the_shipped_one_does_not(tmp_path: Path) -> None:
    folder = tmp_path / "licensed"
    folder.mkdir()
    (folder / "trackerdb.json").write_text(json.dumps(CUSTOM), encoding="utf-8")
    config = load_config(write_config(tmp_path, "licensed/trackerdb.json"))
    assert config.tracker_database_file() == tmp_path / "licensed" / "trackerdb.json"
    custom = pages.configured_tracker_database(config)
    (tmp_path / "shipped").mkdir()
    shipped = pages.configured_tracker_database(load_config(write_config(tmp_path / "shipped", None)))

    assert shipped.match(LICENSED_HOST) is None
    match = custom.match(LICENSED_HOST)
    assert match is not None
    assert (match.tracker, match.category, match.organization) == (
        "Licensed Metrics",
        "site_analytics",
        "Metrics Corp",
    )

    passed, _ = verdict_and_evidence(tracking_control, visit_with(shipped, LICENSED_HOST))
    failed, evidence = verdict_and_evidence(tracking_control, visit_with(custom, LICENSED_HOST))
    assert passed.status == "pass"
    assert failed.status == "fail"
    assert "Licensed Metrics (site_analytics, Metrics Corp), before consent" in english_text(failed.stated)
    digest = hashlib.sha256((folder / "trackerdb.json").read_bytes()).hexdigest()
    assert evidence.observations["tracker_database"] == f"{CUSTOM['source']}, sha256 {digest}"


def test_the_evidence_names_the_shipped_database_with_its_sha256() -> None:
    shipped = tracker_database()
    assert shipped.sha256 == hashlib.sha256(DATABASE.read_bytes()).hexdigest()
    assert shipped.label == f"{shipped.source}, sha256 {shipped.sha256}"
    assert shipped.source.startswith("npm:@ghostery/trackerdb@")


def test_the_collector_looks_pages_up_in_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "db.json").write_text(json.dumps(CUSTOM), encoding="utf-8")
    config = load_config(write_config(tmp_path, "db.json"))
    handed: list[TrackerDatabase | None] = []

    def visit_pages(targets: Any, **options: Any) -> list[Any]:
        handed.append(options.get("database"))
        return []

    monkeypatch.setattr(pages, "visit_pages", visit_pages)
    pages.collect_tracking(config, FactStore())
    assert len(handed) == 1
    assert handed[0] is not None
    assert handed[0].source == CUSTOM["source"]


def test_a_database_gone_after_the_config_was_checked_makes_every_page_an_error(tmp_path: Path) -> None:
    # EstateConfig alone (as a site worker reads it) does not check the file: the collector still
    # refuses to judge pages against a database it cannot read.
    config = EstateConfig(
        path=tmp_path / "audit.toml",
        sha256="0" * 64,
        endpoints=[EndpointEntry(url="https://www.klant.nl/", pages=["/", "/contact"])],
        tracking=TrackingSettings(tracker_database=Path("gone.json")),
    )
    store = FactStore()
    recorded: list[dict[str, Any]] = []
    pages.collect_tracking(config, store, record=recorded.extend)
    subjects = store.population(WEB_PAGES).subjects
    assert [s.id for s in subjects] == ["https://www.klant.nl/", "https://www.klant.nl/contact"]
    for subject in subjects:
        assert subject.fact is None
        assert english_text(subject.error or "").startswith(
            "the tracker database cannot be used: no such file"
        )
    assert len(recorded) == 2


BAD_DATABASES = [
    pytest.param(None, "no such file", id="missing"),
    pytest.param("{not json", "is not valid JSON", id="not-json"),
    pytest.param('["a list"]', "expected a JSON object", id="not-an-object"),
    pytest.param(json.dumps({**CUSTOM, "domains": {}}), '"domains" must be a non-empty object', id="empty"),
    pytest.param(
        json.dumps({**CUSTOM, "domains": {"ads.example": "unknown_key"}}),
        "names tracker 'unknown_key'",
        id="dangling-key",
    ),
    pytest.param(
        json.dumps({**CUSTOM, "trackers": {"licensed_metrics": ["Licensed Metrics"]}}),
        "must be [name, category, organization]",
        id="short-tracker",
    ),
    pytest.param(json.dumps({k: v for k, v in CUSTOM.items() if k != "source"}), '"source"', id="no-source"),
]


@pytest.mark.parametrize(("content", "problem"), BAD_DATABASES)
def test_a_bad_database_file_is_refused_naming_the_key_and_the_file(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    database = tmp_path / "db.json"
    if content is not None:
        database.write_text(content, encoding="utf-8")
    config = write_config(tmp_path, "db.json")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{config}: tracking.tracker_database: ")
    assert str(database) in message
    assert problem in message


def test_a_run_with_a_bad_database_exits_4_before_collecting(tmp_path: Path) -> None:
    (tmp_path / "db.json").write_text('{"source": "x"}', encoding="utf-8")
    run = run_audit(
        tmp_path,
        '[[endpoints]]\nurl = "https://www.klant.nl/"\npages = ["/"]\n'
        '\n[tracking]\ntracker_database = "db.json"\n',
    )
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    lines = [line for line in output.splitlines() if "tracking.tracker_database" in line]
    assert len(lines) == 1, output
    assert str(tmp_path / "audit.toml") in lines[0]
    assert str(tmp_path / "db.json") in lines[0]
    assert "Traceback" not in output
    assert not run.evidence_dir.exists()


def test_the_unknown_tracking_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[tracking]\ntracker_db = "db.json"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'tracking.tracker_db'"):
        load_config(path)


# --- update_trackerdb --from: the reduced file made from a user's own copy ------------------------------

GHOSTERY_SHAPE = {
    "categories": {"site_analytics": {"name": "Site Analytics"}, "hosting": {"name": "Hosting"}},
    "organizations": {"metrics_corp": {"name": "Metrics Corp"}},
    "patterns": {
        "licensed_metrics": {
            "name": "Licensed Metrics",
            "category": "site_analytics",
            "organization": "metrics_corp",
        },
        "cdn": {"name": "Some CDN", "category": "hosting", "organization": None},
    },
    "domains": {"metrics-licensed.example": "licensed_metrics", "cdn.example": "cdn"},
    "filters": {},
}


def npm_tarball(path: Path, database: dict[str, Any], package: dict[str, Any]) -> Path:
    """Write an npm package tarball holding `package.json` and `dist/trackerdb.json`."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content in (("package/package.json", package), ("package/dist/trackerdb.json", database)):
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_update_from_a_json_copy_writes_a_database_the_auditor_reads(tmp_path: Path) -> None:
    copy = tmp_path / "trackerdb-full.json"
    copy.write_text(json.dumps(GHOSTERY_SHAPE), encoding="utf-8")
    output = tmp_path / "reduced.json"
    assert main(["--from", str(copy), "--output", str(output), "--source", "ghostery@2.0.1 (licensed)"]) == 0
    database = read_tracker_database(output)
    assert database.source == "ghostery@2.0.1 (licensed)"
    header = json.loads(output.read_text(encoding="utf-8"))
    assert header["integrity"] == integrity_of(copy.read_bytes())
    assert header["license"] == "not stated"
    match = database.match(LICENSED_HOST)
    assert match is not None
    assert (match.tracker, match.category, match.organization) == (
        "Licensed Metrics",
        "site_analytics",
        "Metrics Corp",
    )
    assert (
        main(
            ["--from", str(copy), "--output", str(output), "--source", "ghostery@2.0.1 (licensed)", "--check"]
        )
        == 0
    )


def test_update_from_an_npm_tarball_names_the_package_and_its_licence(tmp_path: Path) -> None:
    tarball = npm_tarball(
        tmp_path / "trackerdb-2.0.1.tgz",
        GHOSTERY_SHAPE,
        {"name": "@ghostery/trackerdb", "version": "2.0.1", "license": "LicenseRef-Ghostery-Commercial"},
    )
    output = tmp_path / "reduced.json"
    assert main(["--from", str(tarball), "--output", str(output)]) == 0
    header = json.loads(output.read_text(encoding="utf-8"))
    assert header["source"] == "npm:@ghostery/trackerdb@2.0.1"
    assert header["license"] == "LicenseRef-Ghostery-Commercial"
    assert header["integrity"] == integrity_of(tarball.read_bytes())
    assert read_tracker_database(output).match("cdn.example") is not None


def test_update_from_needs_an_output_and_a_trackerdb(tmp_path: Path) -> None:
    copy = tmp_path / "other.json"
    copy.write_text('{"domains": {}}', encoding="utf-8")
    with pytest.raises(SystemExit) as usage:
        main(["--from", str(copy)])
    assert usage.value.code == 2  # argparse: --from needs --output; the shipped file stays the pinned one
    with pytest.raises(SystemExit, match="not Ghostery's TrackerDB: no 'categories' object"):
        main(["--from", str(copy), "--output", str(tmp_path / "out.json")])
    assert not (tmp_path / "out.json").exists()


def test_a_reduced_file_is_read_whole_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text(
        json.dumps({**CUSTOM, "domains": {"Upper.Example": "licensed_metrics"}}), encoding="utf-8"
    )
    with pytest.raises(TrackerDatabaseError, match="lower-case domain"):
        read_tracker_database(path)


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text(json.dumps(CUSTOM), encoding="utf-8")
    first = tracker_database(path)
    assert tracker_database(path) is first  # read once per version of the file
    path.write_text(json.dumps({**CUSTOM, "source": "ghostery-trackerdb@2.0.2 (licensed)"}), encoding="utf-8")
    again = tracker_database(path)
    assert again.source == "ghostery-trackerdb@2.0.2 (licensed)"
    assert again.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != first.sha256
