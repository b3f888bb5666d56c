"""The audit-period archive through the real CLI: nights archived, chained, and every tampering found.

Four nights are audited by `pytest controls/` with `[archive]` on a folder and a signing key; the
archive is then changed the ways an insider could (a night removed, altered and re-sealed, copied
in, an upload cut short) and `python -m reports verify-chain` must name each, exit 1, and say
VERIFIED only for the untouched archive.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reports.archive.archiver import archive_bundle, previous_run
from reports.archive.chain import CHAIN_NAME, ChainLink, PreviousRun, RunKey, runs_in
from reports.archive.store import ArchiveConflictError, ArchiveError, FolderStore
from reports.manifest import MANIFEST_NAME, write_manifest
from tests.audit_runs import FAILING, PASSING, ROOT, audit, error_lines, no_traceback

NIGHTS = ("2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29")


def verify_chain(archive: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m reports verify-chain ARCHIVE [args]` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "reports", "verify-chain", str(archive), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def archive_config(archive: Path, source: str = PASSING, extra: str = "") -> str:
    """Return a config auditing `source` that archives into the folder `archive`."""
    return f'{source}\n[archive]\npath = "{archive}"\n{extra}'


@pytest.fixture(scope="session")
def signed_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return (archive folder, public key) of four nights audited and archived with a signing key."""
    work = tmp_path_factory.mktemp("archive")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public = work / "key.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    archive = work / "archive"
    for index, night in enumerate(NIGHTS):
        run = audit(
            work / night,
            archive_config(archive, FAILING if index == 2 else PASSING),
            "--as-of",
            night,
            env={"AUDIT_SIGNING_KEY": private},
        )
        assert run.returncode in (0, 1), run.stdout + run.stderr
        assert "archived: 2026/11/" in run.stdout
    return archive, public


@pytest.fixture
def archive_copy(signed_archive: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """Return a writable copy of the signed archive, to tamper with."""
    archive, public = signed_archive
    copy = tmp_path / "archive"
    shutil.copytree(archive, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy, public


def run_prefixes(archive: Path) -> list[Path]:
    """Return the run folders of a folder archive, in archive order."""
    return sorted(p for p in archive.glob("*/*/*/*") if p.is_dir())


def test_untouched_archive_verifies_every_night_signed(signed_archive: tuple[Path, Path]) -> None:
    archive, public = signed_archive
    run = verify_chain(archive, "--public-key", str(public))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED: 4 of 4 runs verify, 0 nights missing" in run.stdout
    assert run.stdout.count(", signed,") == 4


def test_each_night_names_the_manifest_of_the_night_before(signed_archive: tuple[Path, Path]) -> None:
    archive, _ = signed_archive
    runs = run_prefixes(archive)
    assert [r.parent.name for r in runs] == ["26", "27", "28", "29"]
    first = ChainLink.loads((runs[0] / CHAIN_NAME).read_bytes())
    assert first.previous is None
    assert not first.unknown
    for before, after in itertools.pairwise(runs):
        link = ChainLink.loads((after / CHAIN_NAME).read_bytes())
        assert link.previous is not None
        assert link.previous.key == before.relative_to(archive).as_posix() + "/"
        assert (
            link.previous.manifest_sha256 == hashlib.sha256((before / MANIFEST_NAME).read_bytes()).hexdigest()
        )


def test_archived_files_are_read_only(signed_archive: tuple[Path, Path]) -> None:
    archive, _ = signed_archive
    files = [p for p in archive.rglob("*") if p.is_file()]
    assert files
    assert all(p.stat().st_mode & 0o222 == 0 for p in files)


def test_removed_night_is_a_missing_night_and_a_broken_link(archive_copy: tuple[Path, Path]) -> None:
    archive, public = archive_copy
    removed = run_prefixes(archive)[1]
    shutil.rmtree(removed)
    run = verify_chain(archive, "--public-key", str(public))
    assert run.returncode == 1
    assert "MISSING NIGHT: 2026-11-27 has no archived run" in run.stdout
    assert "is not in the archive (removed)" in run.stdout
    assert "NOT VERIFIED: 2 of 3 runs verify, 1 nights missing" in run.stdout


def test_altered_and_resealed_night_fails_its_signature_and_the_next_link(
    archive_copy: tuple[Path, Path],
) -> None:
    archive, public = archive_copy
    altered = run_prefixes(archive)[2]  # the failing night, made to look green
    evidence = altered / "evidence.json"
    evidence.write_text(evidence.read_text(encoding="utf-8").replace('"fail"', '"pass"'), encoding="utf-8")
    write_manifest(altered)  # re-sealed without the key: no signature any more
    run = verify_chain(archive, "--public-key", str(public))
    assert run.returncode == 1
    prefix = altered.relative_to(archive).as_posix()
    assert f"{prefix}/: SIGNATURE: missing" in run.stdout
    assert f"the manifest of {prefix}/ changed after this run sealed its sha256" in run.stdout


def test_altered_file_without_resealing_is_named(archive_copy: tuple[Path, Path]) -> None:
    archive, _ = archive_copy
    altered = run_prefixes(archive)[0]
    (altered / "report.html").write_text("<html>nothing to see</html>", encoding="utf-8")
    run = verify_chain(archive)
    assert run.returncode == 1
    assert f"{altered.relative_to(archive).as_posix()}/: CHANGED: report.html" in run.stdout


def test_night_copied_in_is_found_by_its_own_link_and_the_next(archive_copy: tuple[Path, Path]) -> None:
    archive, public = archive_copy
    runs = run_prefixes(archive)
    inserted = runs[1].parent / "20261127T235959Z"
    shutil.copytree(runs[1], inserted)
    run = verify_chain(archive, "--public-key", str(public))
    assert run.returncode == 1
    assert "it was moved or copied here" in run.stdout
    assert "was archived right before it (a run inserted or removed in between)" in run.stdout


def test_night_forged_between_two_nights_is_inserted_even_unsigned(archive_copy: tuple[Path, Path]) -> None:
    archive, _ = archive_copy
    runs = run_prefixes(archive)
    honest = runs[1]
    forged = honest.parent / "20991231T235959Z"  # sorts after the honest run of that night
    forged.mkdir()
    (forged / "evidence.json").write_bytes((honest / "evidence.json").read_bytes())
    key = forged.relative_to(archive).as_posix() + "/"
    previous = PreviousRun(
        honest.relative_to(archive).as_posix() + "/",
        hashlib.sha256((honest / MANIFEST_NAME).read_bytes()).hexdigest(),
    )
    (forged / CHAIN_NAME).write_bytes(ChainLink(key, previous).dumps())
    write_manifest(forged)  # a sealed-looking bundle whose own link is right
    run = verify_chain(archive)  # without --public-key: signatures are not what catches it
    assert run.returncode == 1
    assert f"{key}: not in the chain: {runs[2].relative_to(archive).as_posix()}/ names" in run.stdout
    assert f"ok: {key}" not in run.stdout


def test_upload_cut_short_is_named(archive_copy: tuple[Path, Path]) -> None:
    archive, _ = archive_copy
    (run_prefixes(archive)[3] / MANIFEST_NAME).unlink()
    run = verify_chain(archive)
    assert run.returncode == 1
    assert "no MANIFEST.sha256: an upload that never finished, or a manifest removed" in run.stdout


def test_window_checks_the_link_into_it_and_its_missing_nights(signed_archive: tuple[Path, Path]) -> None:
    archive, _ = signed_archive
    run = verify_chain(archive, "--from", "2026-11-28", "--to", "2026-11-30")
    assert run.returncode == 1
    assert "MISSING NIGHT: 2026-11-30 has no archived run" in run.stdout
    assert "NOT VERIFIED: 2 of 2 runs verify, 1 nights missing in 2026-11-28 .. 2026-11-30" in run.stdout


def test_stray_object_outside_any_run_is_named(archive_copy: tuple[Path, Path]) -> None:
    archive, _ = archive_copy
    (archive / "2026" / "notes.txt").write_text("left here", encoding="utf-8")
    run = verify_chain(archive)
    assert run.returncode == 1
    assert "STRAY: 2026/notes.txt" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-13-01"), "expected a date YYYY-MM-DD"),
        (("--from", "2026-11-29", "--to", "2026-11-01"), "--from is after --to"),
        (("--public-key", "/nonexistent.pem"), "cannot read the public key"),
        (("--tsa-ca", "/nonexistent.pem"), "--tsa-ca /nonexistent.pem"),
    ],
)
def test_bad_usage_is_exit_2_with_one_line(
    signed_archive: tuple[Path, Path], args: tuple[str, ...], message: str
) -> None:
    archive, _ = signed_archive
    run = verify_chain(archive, *args)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_archive_that_is_no_folder_is_exit_2(tmp_path: Path) -> None:
    run = verify_chain(tmp_path / "nothing-here")
    assert run.returncode == 2
    assert "is not a folder" in run.stderr


def test_empty_archive_never_verifies(tmp_path: Path) -> None:
    run = verify_chain(tmp_path)
    assert run.returncode == 1
    assert "NO RUNS:" in run.stdout


# -- the run's side: refusing an unusable archive, reporting one that fails -------------------------


def test_unwritable_archive_folder_is_refused_before_collecting(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        run = audit(tmp_path, archive_config(locked / "archive"), honour_permissions=True)
    finally:
        locked.chmod(0o700)
    assert run.returncode == 4, run.stdout + run.stderr
    no_traceback(run)
    [line] = error_lines(run)
    assert "archive.path" in line
    assert str(locked / "archive") in line
    assert not (tmp_path / "evidence").exists()


def test_unknown_archive_key_is_refused_naming_it(tmp_path: Path) -> None:
    run = audit(tmp_path, archive_config(tmp_path / "archive", extra='kind = "s3"\n'))
    assert run.returncode == 4
    assert "archive.kind" in run.stderr


def test_blob_archive_without_container_is_refused(tmp_path: Path) -> None:
    config = f'{PASSING}\n[archive]\nkind = "azure-blob"\naccount_url = "https://a.blob.core.windows.net"\n'
    run = audit(tmp_path, config)
    assert run.returncode == 4
    assert "container: required" in run.stderr


def test_archive_unreachable_at_the_end_is_exit_7_and_the_bundle_stays(tmp_path: Path) -> None:
    env_name = "AUDIT_TEST_ARCHIVE_CONNECTION"
    config = (
        f'{PASSING}\n[archive]\nkind = "azure-blob"\ncontainer = "evidence"\n'
        f'connection_string_env = "{env_name}"\nretries = 0\ntimeout_seconds = 5.0\n'
    )
    # A storage account on a closed loopback port: the archive cannot be read for the chain link.
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    run = audit(tmp_path, config, env={env_name: connection})
    assert run.returncode == 7, run.stdout + run.stderr
    no_traceback(run)
    assert (tmp_path / "evidence" / "evidence.json").is_file()
    lines = [line for line in error_lines(run) if "[archive]" in line]
    assert any("could not be read at run time" in line for line in lines), lines
    assert any("the bundle was not archived" in line for line in lines), lines
    assert "Eby8vdM02x" not in run.stdout + run.stderr
    link = ChainLink.loads((tmp_path / "evidence" / CHAIN_NAME).read_bytes())
    assert link.previous is None
    assert "could not be read at run time" in link.unknown


# -- the archive's parts ------------------------------------------------------------------------------


class CorruptingStore(FolderStore):
    """A folder archive that hands back a different byte than it took (bit rot, a bad gateway)."""

    def get(self, key: str) -> bytes:
        data = super().get(key)
        return data[:-1] + bytes([data[-1] ^ 1]) if key.endswith("evidence.json") else data


def sealed_bundle(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "evidence.json").write_text('{"results": []}\n', encoding="utf-8")
    write_manifest(folder)
    return folder


def test_archive_that_reads_back_different_is_not_archived(tmp_path: Path) -> None:
    bundle = sealed_bundle(tmp_path / "bundle")
    store = CorruptingStore(tmp_path / "archive")
    with pytest.raises(ArchiveError, match=r"evidence\.json reads back different"):
        archive_bundle(bundle, store, "2026/11/29/20261129T020000Z/")


def test_archive_never_overwrites_a_run(tmp_path: Path) -> None:
    bundle = sealed_bundle(tmp_path / "bundle")
    store = FolderStore(tmp_path / "archive")
    archive_bundle(bundle, store, "2026/11/29/20261129T020000Z/")
    with pytest.raises(ArchiveConflictError):
        archive_bundle(bundle, store, "2026/11/29/20261129T020000Z/")


def test_unsealed_bundle_is_not_archived(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "evidence.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ArchiveError, match="unsealed"):
        archive_bundle(bundle, FolderStore(tmp_path / "archive"), "2026/11/29/20261129T020000Z/")


def test_previous_run_skips_an_upload_without_manifest(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    store.put("2026/11/28/20261128T020000Z/MANIFEST.sha256", b"m1")
    store.put("2026/11/29/20261129T020000Z/evidence.json", b"{}")
    assert previous_run(store) == PreviousRun(
        "2026/11/28/20261128T020000Z/", hashlib.sha256(b"m1").hexdigest()
    )
    assert previous_run(store, before=RunKey.parse("2026/11/28/20261128T020000Z/")) is None


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "a/../../b", "a//b", "a/./b", "a\\b"],
    ids=["empty", "absolute", "dotdot", "empty-part", "dot", "backslash"],
)
def test_hostile_keys_never_leave_the_archive(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not an archive key"):
        FolderStore(tmp_path).put(key, b"x")


def test_run_keys_sort_by_night_then_start_and_strays_are_kept() -> None:
    runs, strays = runs_in(
        [
            "2026/11/29/20261129T020000Z/evidence.json",
            "2026/11/28/20261129T010000Z/evidence.json",
            "2026/13/01/20261301T000000Z/evidence.json",
            "README.txt",
        ]
    )
    assert [r.prefix for r in runs] == ["2026/11/28/20261129T010000Z/", "2026/11/29/20261129T020000Z/"]
    assert strays == ["2026/13/01/20261301T000000Z/evidence.json", "README.txt"]


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        b'{"chain_version": 2, "key": "2026/11/29/20261129T020000Z/", "previous": null}',
        b'{"chain_version": 1, "key": "elsewhere/", "previous": null}',
        b'{"chain_version": 1, "key": "2026/11/29/20261129T020000Z/", "previous": {"key": "2026/11/28/20261128T020000Z/"}}',
        b'{"chain_version": 1, "key": "2026/11/29/20261129T020000Z/", "previous": {"key": "2026/11/28/20261128T020000Z/", "manifest_sha256": "XYZ"}}',
    ],
    ids=["not-json", "version", "key", "no-hash", "bad-hash"],
)
def test_malformed_chain_link_is_refused(document: bytes) -> None:
    with pytest.raises(ValueError, match=r"chain\.json"):
        ChainLink.loads(document)


def test_chain_link_round_trips() -> None:
    link = ChainLink("2026/11/29/20261129T020000Z/", PreviousRun("2026/11/28/20261128T020000Z/", "a" * 64))
    assert ChainLink.loads(link.dumps()) == link
