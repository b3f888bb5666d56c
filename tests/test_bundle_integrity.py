"""Tamper evidence of the bundle: MANIFEST.sha256, its Ed25519 signature and `python -m reports verify`."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from reports.bundle import write_bundle
from reports.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    SIGNING_KEY_ENV,
    PublicKeyError,
    SigningKeyError,
    verify_bundle,
    write_manifest,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(__file__).with_name("fixtures") / "evidence_sample.json"


def private_pem(key: Ed25519PrivateKey) -> str:
    """Return a private key as the unencrypted PKCS#8 PEM text AUDIT_SIGNING_KEY holds."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_pem_file(key: Ed25519PrivateKey, path: Path) -> Path:
    """Write the public half of `key` as PEM to `path` and return it."""
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def make_bundle(directory: Path) -> Path:
    """Write a small bundle folder (two files, one in a subfolder, an archived bundle) and return it."""
    directory.mkdir(parents=True)
    (directory / "evidence.json").write_text('{"results": []}\n', encoding="utf-8")
    (directory / "report.html").write_text("<!doctype html><title>r</title>\n", encoding="utf-8")
    (directory / "raw").mkdir()
    (directory / "raw" / "response.json").write_bytes(b'{"value": [1, 2]}')
    (directory / "archive" / "20261128T010000Z").mkdir(parents=True)
    (directory / "archive" / "20261128T010000Z" / "evidence.json").write_text("{}", encoding="utf-8")
    return directory


@pytest.fixture
def unsigned(monkeypatch: pytest.MonkeyPatch) -> None:
    """No signing key in the environment."""
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m reports ARGS` as a user would and return its outcome."""
    return subprocess.run(
        [sys.executable, "-m", "reports", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- the manifest -------------------------------------------------------------------------------


@pytest.mark.usefixtures("unsigned")
def test_manifest_lists_every_bundle_file_sorted_with_its_sha256(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    manifest = write_manifest(bundle)
    assert manifest == bundle / MANIFEST_NAME
    expected = [
        f"{hashlib.sha256((bundle / name).read_bytes()).hexdigest()}  {name}"
        for name in ("evidence.json", "raw/response.json", "report.html")
    ]
    assert manifest.read_text(encoding="utf-8").splitlines() == expected
    assert not (bundle / SIGNATURE_NAME).exists()


@pytest.mark.usefixtures("unsigned")
def test_manifest_is_checked_by_gnu_sha256sum(tmp_path: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    bundle = make_bundle(tmp_path / "b")
    (bundle / "odd\nname\\.txt").write_text("x", encoding="utf-8")
    write_manifest(bundle)
    checked = subprocess.run(
        ["sha256sum", "--strict", "-c", MANIFEST_NAME],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert verify_bundle(bundle, None).ok


@pytest.mark.usefixtures("unsigned")
def test_untouched_bundle_verifies(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    result = verify_bundle(bundle, None)
    assert result.ok
    assert result.checked == 3
    assert result.lines()[0].startswith("OK: 3 files match")


@pytest.mark.usefixtures("unsigned")
def test_changed_file_fails_verification_naming_the_file(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    (bundle / "raw" / "response.json").write_bytes(b'{"value": [1, 3]}')
    result = verify_bundle(bundle, None)
    assert not result.ok
    assert result.changed == ["raw/response.json"]
    assert (result.missing, result.added) == ([], [])
    assert "CHANGED: raw/response.json" in result.lines()


@pytest.mark.usefixtures("unsigned")
def test_removed_file_fails_verification_naming_the_file(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    (bundle / "report.html").unlink()
    result = verify_bundle(bundle, None)
    assert not result.ok
    assert result.missing == ["report.html"]
    assert "MISSING: report.html" in result.lines()


@pytest.mark.usefixtures("unsigned")
def test_added_file_fails_verification_naming_the_file(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    (bundle / "raw" / "extra.json").write_text("{}", encoding="utf-8")
    result = verify_bundle(bundle, None)
    assert not result.ok
    assert result.added == ["raw/extra.json"]
    assert any(line.startswith("ADDED: raw/extra.json") for line in result.lines())


@pytest.mark.usefixtures("unsigned")
def test_archived_bundles_are_outside_the_manifest(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    (bundle / "archive" / "20261128T010000Z" / "evidence.json").write_text("changed", encoding="utf-8")
    assert verify_bundle(bundle, None).ok


@pytest.mark.usefixtures("unsigned")
def test_bundle_without_manifest_is_not_verified(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    result = verify_bundle(bundle, None)
    assert not result.ok
    assert result.manifest_error is not None
    assert MANIFEST_NAME in result.manifest_error


@pytest.mark.usefixtures("unsigned")
def test_malformed_manifest_is_not_verified(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    (bundle / MANIFEST_NAME).write_text("not a manifest line\n", encoding="utf-8")
    result = verify_bundle(bundle, None)
    assert not result.ok
    assert "line 1" in (result.manifest_error or "")


@pytest.mark.usefixtures("unsigned")
def test_folder_with_only_an_empty_manifest_is_not_ok(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / MANIFEST_NAME).write_bytes(b"")
    result = verify_bundle(folder, None)
    assert not result.ok
    assert "evidence.json" in (result.manifest_error or "")
    done = run_cli("verify", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "OK" not in done.stdout
    assert "does not list evidence.json" in done.stdout
    assert "does not verify" in done.stderr


@pytest.mark.usefixtures("unsigned")
def test_manifest_that_does_not_list_evidence_json_is_not_ok(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "report.html").write_text("<!doctype html><title>r</title>\n", encoding="utf-8")
    write_manifest(folder)
    result = verify_bundle(folder, None)
    assert not result.ok
    assert result.manifest_error == "MANIFEST.sha256 does not list evidence.json: not an evidence bundle"
    assert run_cli("verify", str(folder)).returncode == 1


@pytest.mark.usefixtures("unsigned")
def test_manifest_path_outside_the_bundle_is_never_read(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret-ish", encoding="utf-8")
    write_manifest(bundle)
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    with (bundle / MANIFEST_NAME).open("a", encoding="utf-8") as manifest:
        manifest.write(f"{digest}  ../outside.txt\n")
    result = verify_bundle(bundle, None)
    assert not result.ok
    assert result.missing == ["../outside.txt"]


# -- the signature ------------------------------------------------------------------------------


def test_signature_of_the_manifest_is_valid_with_the_matching_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(key))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    signature = base64.b64decode((bundle / SIGNATURE_NAME).read_text(encoding="ascii").strip(), validate=True)
    key.public_key().verify(signature, (bundle / MANIFEST_NAME).read_bytes())  # raises when invalid
    result = verify_bundle(bundle, public_pem_file(key, tmp_path / "pub.pem"))
    assert result.ok
    assert result.signature_valid is True
    assert "signature: valid (MANIFEST.sha256.sig)" in result.lines()


def test_signature_checks_with_openssl_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(key))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    public = public_pem_file(key, tmp_path / "pub.pem")
    raw = tmp_path / "sig.bin"
    raw.write_bytes(base64.b64decode((bundle / SIGNATURE_NAME).read_text(encoding="ascii")))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin"]
    command += ["-in", str(bundle / MANIFEST_NAME), "-sigfile", str(raw)]
    good = subprocess.run(command, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    (bundle / MANIFEST_NAME).write_text("tampered\n", encoding="utf-8")
    bad = subprocess.run(command, capture_output=True, text=True, check=False)
    assert bad.returncode != 0


def test_manifest_rewritten_after_tampering_has_an_invalid_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(key))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    signature = (bundle / SIGNATURE_NAME).read_bytes()
    # A forger changes a file and recomputes the manifest, but cannot re-sign it.
    (bundle / "evidence.json").write_text('{"results": ["forged"]}\n', encoding="utf-8")
    monkeypatch.delenv(SIGNING_KEY_ENV)
    write_manifest(bundle)
    (bundle / SIGNATURE_NAME).write_bytes(signature)
    result = verify_bundle(bundle, public_pem_file(key, tmp_path / "pub.pem"))
    assert (result.changed, result.missing, result.added) == ([], [], [])
    assert not result.ok
    assert result.signature_valid is False
    assert any(line.startswith("SIGNATURE: INVALID") for line in result.lines())


def test_signature_by_another_key_is_invalid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(Ed25519PrivateKey.generate()))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    result = verify_bundle(bundle, public_pem_file(Ed25519PrivateKey.generate(), tmp_path / "other.pem"))
    assert not result.ok
    assert result.signature_valid is False


@pytest.mark.usefixtures("unsigned")
def test_public_key_given_but_no_signature_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    result = verify_bundle(bundle, public_pem_file(Ed25519PrivateKey.generate(), tmp_path / "pub.pem"))
    assert not result.ok
    assert "missing" in (result.signature_error or "")


def test_signature_without_public_key_is_reported_as_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(Ed25519PrivateKey.generate()))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    result = verify_bundle(bundle, None)
    assert result.ok
    assert result.signature_present
    assert result.signature_valid is None
    assert any("not checked" in line for line in result.lines())


def test_unsigned_manifest_removes_a_stale_signature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(Ed25519PrivateKey.generate()))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    write_manifest(bundle)
    assert not (bundle / SIGNATURE_NAME).exists()


def test_unusable_signing_key_is_an_error_that_does_not_quote_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-signing-key-7d1e"
    monkeypatch.setenv(SIGNING_KEY_ENV, f"-----BEGIN PRIVATE KEY-----\n{canary}\n-----END PRIVATE KEY-----\n")
    bundle = make_bundle(tmp_path / "b")
    with pytest.raises(SigningKeyError) as raised:
        write_manifest(bundle)
    assert SIGNING_KEY_ENV in str(raised.value)
    assert canary not in str(raised.value)
    assert raised.value.__suppress_context__, "the parser's error (which may quote the key) is not shown"
    assert (bundle / MANIFEST_NAME).is_file(), "the manifest is written, unsigned"
    assert not (bundle / SIGNATURE_NAME).exists()


def test_signing_key_of_another_algorithm_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    monkeypatch.setenv(SIGNING_KEY_ENV, pem)
    with pytest.raises(SigningKeyError, match="not an Ed25519"):
        write_manifest(make_bundle(tmp_path / "b"))


@pytest.mark.usefixtures("unsigned")
def test_public_key_of_another_algorithm_is_a_usage_error(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "rsa.pem"
    pem.write_bytes(
        rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(PublicKeyError, match="not an Ed25519"):
        verify_bundle(bundle, pem)


# -- a whole bundle as write_bundle writes it ---------------------------------------------------


def test_written_bundle_is_sealed_and_a_tampered_evidence_file_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(key))
    bundle = json.loads(SAMPLE.read_text(encoding="utf-8"))
    directory = tmp_path / "evidence"
    write_bundle(directory, bundle)
    listed = [line.split("  ", 1)[1] for line in (directory / MANIFEST_NAME).read_text().splitlines()]
    assert listed == ["evidence.json", "junit.xml", "oscal-assessment-results.json", "report.html"]
    public = public_pem_file(key, tmp_path / "pub.pem")
    assert verify_bundle(directory, public).ok
    evidence = directory / "evidence.json"
    evidence.write_text(evidence.read_text(encoding="utf-8").replace('"fail"', '"pass"'), encoding="utf-8")
    result = verify_bundle(directory, public)
    assert not result.ok
    assert result.changed == ["evidence.json"]


# -- the command line ---------------------------------------------------------------------------


def test_cli_verify_says_ok_and_exits_0_for_an_intact_signed_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(key))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    done = run_cli("verify", str(bundle), "--public-key", str(public_pem_file(key, tmp_path / "pub.pem")))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK: 3 files match {MANIFEST_NAME}")
    assert "signature: valid" in done.stdout


@pytest.mark.usefixtures("unsigned")
def test_cli_verify_names_the_changed_file_and_exits_1(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    (bundle / "evidence.json").write_text('{"results": [1]}\n', encoding="utf-8")
    (bundle / "report.html").unlink()
    done = run_cli("verify", str(bundle))
    assert done.returncode == 1
    assert "CHANGED: evidence.json" in done.stdout
    assert "MISSING: report.html" in done.stdout
    assert "OK" not in done.stdout
    assert "does not verify" in done.stderr


def test_cli_verify_exits_1_on_a_wrong_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, private_pem(Ed25519PrivateKey.generate()))
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    other = public_pem_file(Ed25519PrivateKey.generate(), tmp_path / "other.pem")
    done = run_cli("verify", str(bundle), "--public-key", str(other))
    assert done.returncode == 1
    assert "SIGNATURE: INVALID" in done.stdout


@pytest.mark.usefixtures("unsigned")
def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    write_manifest(bundle)
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("hello", encoding="utf-8")
    for args in (
        ("verify", str(tmp_path / "nowhere")),
        ("verify", str(bundle), "--public-key", str(not_a_key)),
        ("verify", str(bundle), "--public-key", str(tmp_path / "absent.pem")),
        ("verify",),
        (),
    ):
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.strip(), args


def test_cli_help_explains_the_exit_codes() -> None:
    done = run_cli("verify", "--help")
    assert done.returncode == 0
    assert "exit codes: 0 intact" in done.stdout
    assert "does not list evidence.json" in done.stdout
    assert "--public-key" in done.stdout
    assert SIGNING_KEY_ENV in done.stdout
