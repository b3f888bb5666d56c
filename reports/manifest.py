"""Tamper evidence for an evidence bundle: a sha256 manifest, an optional ed25519 signature, and checking both.

Layout of a bundle folder:

- ``MANIFEST.sha256``: one line per file of the bundle, ``<sha256 hex>  <relative path>``, sorted by
  path, in the format of GNU ``sha256sum`` (so ``cd DIR && sha256sum -c MANIFEST.sha256`` checks it
  without this tool). Every regular file under the folder is listed except the manifest, its
  signature and the ``archive/`` folder of earlier bundles (each archived bundle has its own
  manifest).
- ``MANIFEST.sha256.sig``: written only when the environment variable ``AUDIT_SIGNING_KEY`` holds
  an Ed25519 private key as unencrypted PEM (PKCS#8, ``-----BEGIN PRIVATE KEY-----``; create one with
  ``openssl genpkey -algorithm ed25519 -out key.pem`` and derive the public half with
  ``openssl pkey -in key.pem -pubout -out key.pub.pem``). The file holds the 64-byte Ed25519
  signature of the exact bytes of ``MANIFEST.sha256``, base64-encoded on one line. Without this
  tool: ``base64 -d MANIFEST.sha256.sig > sig.bin && openssl pkeyutl -verify -pubin -inkey
  key.pub.pem -rawin -in MANIFEST.sha256 -sigfile sig.bin``.

The key's text is read from the environment only, never logged, and never written anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

MANIFEST_NAME = "MANIFEST.sha256"
EVIDENCE_NAME = "evidence.json"
"""The system of record of a bundle: a manifest that does not list it seals no evidence."""
PERIOD_RECORD_NAME = "period.json"
"""The system of record of a period report's folder (reports/period), sealed the same way."""
SIGNATURE_NAME = "MANIFEST.sha256.sig"
TIMESTAMP_NAME = "MANIFEST.sha256.tsr"
"""An RFC 3161 timestamp of the manifest's bytes (reports.archive.timestamps), beside it like the signature."""
OUTSIDE_MANIFEST = frozenset({MANIFEST_NAME, SIGNATURE_NAME, TIMESTAMP_NAME})
"""The files of a bundle that the manifest cannot list: itself and what is made of its bytes."""
ARCHIVE_DIR = "archive"
SIGNING_KEY_ENV = "AUDIT_SIGNING_KEY"
"""Environment variable with the Ed25519 private key (PEM PKCS#8 text) that signs the manifest."""

_HASH_CHUNK = 1 << 20


class SigningKeyError(ValueError):
    """The signing key variable is set but does not hold a usable Ed25519 private key."""


class PublicKeyError(ValueError):
    """A public key file is unreadable or not an Ed25519 public key in PEM."""


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes, read in chunks so large bundles stay cheap."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(directory: Path) -> list[str]:
    """Return the relative POSIX paths of every file the manifest covers, sorted.

    That is every regular file under `directory` except the manifest, its signature and timestamp,
    and the top-level `archive/` folder of earlier bundles.
    """
    found: list[str] = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if relative.parts[0] == ARCHIVE_DIR or not path.is_file():
            continue
        name = relative.as_posix()
        if name in OUTSIDE_MANIFEST:
            continue
        found.append(name)
    return sorted(found)


def _manifest_line(digest: str, name: str) -> str:
    # GNU sha256sum escapes a name holding a backslash or newline and marks the line with '\'.
    if "\\" in name or "\n" in name:
        return "\\" + digest + "  " + name.replace("\\", "\\\\").replace("\n", "\\n") + "\n"
    return f"{digest}  {name}\n"


def _parse_manifest(text: str) -> dict[str, str]:
    """Return {relative path: sha256} of a manifest; raise ValueError on a malformed line."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        escaped = line.startswith("\\")
        if escaped:
            line = line[1:]
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise ValueError(f"{MANIFEST_NAME} line {number} is not '<sha256>  <path>'")
        if escaped:
            name = name.replace("\\n", "\n").replace("\\\\", "\\")
        if name in entries:
            raise ValueError(f"{MANIFEST_NAME} lists {name} twice")
        entries[name] = digest
    return entries


def read_manifest(directory: Path) -> dict[str, str]:
    """Return {relative path: sha256} from a bundle's manifest (OSError if absent, ValueError if malformed)."""
    return _parse_manifest((directory / MANIFEST_NAME).read_text(encoding="utf-8"))


def _signing_key() -> Ed25519PrivateKey | None:
    text = os.environ.get(SIGNING_KEY_ENV, "")
    if not text.strip():
        return None
    try:
        key = load_pem_private_key(text.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        # The exception text could quote key material: never pass it on.
        raise SigningKeyError(
            f"{SIGNING_KEY_ENV} is set but is not an unencrypted PEM (PKCS#8) private key"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{SIGNING_KEY_ENV} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def check_signing_key() -> None:
    """Raise SigningKeyError when AUDIT_SIGNING_KEY is set but unusable; return when unset or usable.

    Called before anything is collected, so a broken key stops the run (exit 4) instead of
    leaving a nightly bundle quietly unsigned. The message names the variable, never its value.
    """
    _signing_key()


def write_manifest(directory: Path) -> Path:
    """Write MANIFEST.sha256 over every file of the bundle in `directory`, sign it when a key is set.

    Returns the manifest's path. The signature (MANIFEST.sha256.sig) is written when
    AUDIT_SIGNING_KEY is set; a stale signature from an earlier manifest is removed otherwise,
    so a signature on disk always belongs to the manifest beside it. Raises SigningKeyError when
    the variable is set but unusable (after the manifest is written, unsigned).
    """
    lines = [_manifest_line(file_sha256(directory / name), name) for name in bundle_files(directory)]
    manifest = directory / MANIFEST_NAME
    data = "".join(lines).encode("utf-8")
    manifest.write_bytes(data)
    signature = directory / SIGNATURE_NAME
    signature.unlink(missing_ok=True)
    (directory / TIMESTAMP_NAME).unlink(missing_ok=True)  # it stamped an earlier manifest
    key = _signing_key()
    if key is not None:
        signature.write_text(base64.b64encode(key.sign(data)).decode("ascii") + "\n", encoding="ascii")
    return manifest


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Return the Ed25519 public key in a PEM file (SubjectPublicKeyInfo), or raise PublicKeyError."""
    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise PublicKeyError(f"{path}: cannot read the public key ({exc.strerror})") from None
    except (ValueError, TypeError):
        raise PublicKeyError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PublicKeyError(f"{path}: a {type(key).__name__}, not an Ed25519 public key")
    return key


@dataclass
class VerificationResult:
    """What checking a bundle against its manifest (and signature) found."""

    directory: Path
    manifest_error: str | None = None
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    checked: int = 0
    signature_present: bool = False
    signature_valid: bool | None = None
    """True/False when a public key was given and a signature exists; None when not checked."""
    signature_error: str | None = None

    @property
    def ok(self) -> bool:
        """Return True only when every listed file matches, nothing was added or removed, and
        the signature is valid whenever a public key was given."""
        return (
            self.manifest_error is None
            and not (self.changed or self.missing or self.added)
            and self.signature_error is None
            and self.signature_valid is not False
        )

    def problems(self) -> list[str]:
        """Return what is wrong, one finding per line (empty when the bundle verifies)."""
        out: list[str] = []
        if self.manifest_error is not None:
            out.append(f"NOT VERIFIED: {self.manifest_error}")
        out += [f"CHANGED: {name}" for name in self.changed]
        out += [f"MISSING: {name}" for name in self.missing]
        out += [f"ADDED: {name} (not in {MANIFEST_NAME})" for name in self.added]
        if self.signature_error is not None:
            out.append(f"SIGNATURE: {self.signature_error}")
        return out

    def lines(self) -> list[str]:
        """Return the human-readable verdict, one finding per line (OK or what is wrong)."""
        out = self.problems()
        if self.signature_error is None:
            if self.signature_valid is True:
                out.append(f"signature: valid ({SIGNATURE_NAME})")
            elif self.signature_present:
                out.append(f"signature: present, not checked (give --public-key to check {SIGNATURE_NAME})")
            else:
                out.append("signature: none")
        if self.ok:
            out.insert(0, f"OK: {self.checked} files match {MANIFEST_NAME} in {self.directory}")
        return out


def _check_signature(
    directory: Path, manifest_bytes: bytes, public_key: Path, result: VerificationResult
) -> None:
    key = load_public_key(public_key)
    if not result.signature_present:
        result.signature_error = f"missing: no {SIGNATURE_NAME}, but a public key was given"
        result.signature_valid = False
        return
    try:
        signature = base64.b64decode(
            (directory / SIGNATURE_NAME).read_text(encoding="ascii").strip(), validate=True
        )
        key.verify(signature, manifest_bytes)
    except (InvalidSignature, binascii.Error, UnicodeDecodeError, ValueError):
        result.signature_error = (
            f"INVALID: {SIGNATURE_NAME} does not sign this {MANIFEST_NAME} with {public_key}"
        )
        result.signature_valid = False
        return
    result.signature_valid = True


def verify_bundle(directory: Path, public_key: Path | None) -> VerificationResult:
    """Check every file of a bundle against its manifest and, given a public key, the signature.

    Returns which files changed, are missing or were added (not in the manifest), and whether
    the signature is valid. A missing or malformed manifest, or one that does not list
    evidence.json, is a failed verification, never OK.
    Raises PublicKeyError when `public_key` is unusable (a usage problem, not tampering).
    """
    result = VerificationResult(directory=directory)
    result.signature_present = (directory / SIGNATURE_NAME).is_file()
    try:
        manifest_bytes = (directory / MANIFEST_NAME).read_bytes()
        listed = _parse_manifest(manifest_bytes.decode("utf-8"))
    except FileNotFoundError:
        result.manifest_error = f"no {MANIFEST_NAME} in {directory}"
        return result
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        result.manifest_error = f"{MANIFEST_NAME} unreadable: {exc}"
        return result
    if EVIDENCE_NAME not in listed and PERIOD_RECORD_NAME not in listed:
        # An empty manifest (or one listing other files only) seals no evidence: never "OK".
        result.manifest_error = f"{MANIFEST_NAME} does not list {EVIDENCE_NAME}: not an evidence bundle"
        return result
    present = set(bundle_files(directory))
    for name, digest in sorted(listed.items()):
        path = directory / name
        if name not in present:
            result.missing.append(name)
        elif file_sha256(path) != digest:
            result.changed.append(name)
        else:
            result.checked += 1
    result.added = sorted(present - set(listed))
    if public_key is not None:
        _check_signature(directory, manifest_bytes, public_key, result)
    return result
