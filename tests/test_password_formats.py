"""Password-hash format recognition (6b): real hashes recognised, plain text and bare digests not."""

from __future__ import annotations

import base64
import hashlib
import os

import bcrypt
import pytest

from collectors.databases.password_formats import ACCEPTED_FORMATS, classify, count_formats


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _ab64(data: bytes) -> str:
    return _b64(data).rstrip("=").replace("+", ".")


def _django_pbkdf2(password: str, iterations: int = 600000) -> str:
    salt = "Xw9zKpQ2LmNoRsTu"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000)
    return f"pbkdf2_sha256${iterations}${salt}${_b64(digest)}"


def _passlib_pbkdf2(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    return f"$pbkdf2-sha256$29000${_ab64(salt)}${_ab64(digest)}"


def _aspnet_v2(password: str) -> str:
    salt = os.urandom(16)
    subkey = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, 1000, 32)
    return _b64(b"\x00" + salt + subkey)


def _aspnet_v3(password: str, prf: int = 1, salt_length: int = 16) -> str:
    salt = os.urandom(salt_length)
    subkey = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000, 32)
    header = b"\x01" + prf.to_bytes(4, "big") + (10000).to_bytes(4, "big") + salt_length.to_bytes(4, "big")
    return _b64(header + salt + subkey)


def _argon2(variant: str) -> str:
    salt = _b64(os.urandom(16)).rstrip("=")
    digest = _b64(os.urandom(32)).rstrip("=")
    return f"${variant}$v=19$m=65536,t=3,p=4${salt}${digest}"


def _passlib_scrypt(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"$scrypt$ln=14,r=8,p=1${_b64(salt).rstrip('=')}${_b64(digest).rstrip('=')}"


def _django_scrypt(password: str) -> str:
    salt = "q1w2e3r4t5y6u7i8o9p0as"
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1, dklen=64)
    return f"scrypt$16384${salt}$8$1${_b64(digest)}"


def _sha_crypt(prefix: str, digest_length: int) -> str:
    alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    raw = os.urandom(digest_length)
    return f"${prefix}$saltsalt${''.join(alphabet[b % 64] for b in raw)}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (bcrypt.hashpw(b"correct horse", bcrypt.gensalt(rounds=4)).decode(), "bcrypt"),
        (bcrypt.hashpw(b"correct horse", bcrypt.gensalt(rounds=4, prefix=b"2a")).decode(), "bcrypt"),
        (_argon2("argon2id"), "argon2id"),
        (_argon2("argon2i"), "argon2i"),
        (_argon2("argon2d"), "argon2d"),
        (_passlib_scrypt("pw"), "scrypt"),
        (_django_scrypt("pw"), "scrypt"),
        (_django_pbkdf2("pw"), "pbkdf2-django"),
        (_passlib_pbkdf2("pw"), "pbkdf2-passlib"),
        (_aspnet_v2("pw"), "pbkdf2-aspnet-identity-v2"),
        (_aspnet_v3("pw"), "pbkdf2-aspnet-identity-v3"),
        (_aspnet_v3("pw", prf=2, salt_length=32), "pbkdf2-aspnet-identity-v3"),
        (_sha_crypt("6", 86), "sha512-crypt"),
        (_sha_crypt("5", 43), "sha256-crypt"),
    ],
    ids=lambda case: case if case in ACCEPTED_FORMATS else "salted",  # stable ids: salts are random
)
def test_real_password_hashes_are_recognised_and_accepted(value: str, expected: str) -> None:
    assert classify(value) == expected
    assert expected in ACCEPTED_FORMATS


@pytest.mark.parametrize(
    "value",
    [
        "Welkom01!",
        "hunter2",
        hashlib.md5(b"hunter2").hexdigest(),
        hashlib.sha1(b"hunter2").hexdigest(),
        hashlib.sha256(b"hunter2").hexdigest(),
        hashlib.sha256(b"hunter2").hexdigest().upper(),
        _b64(hashlib.sha256(b"hunter2").digest()),
        "$2b$12$tooShort",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA",
        "pbkdf2_sha256$600000$$",
        "$1$saltsalt$abcdefghijklmnopqrstuv",
        "{SHA}" + _b64(hashlib.sha1(b"hunter2").digest()),
    ],
)
def test_plain_text_and_unsalted_digests_are_unrecognised(value: str) -> None:
    assert classify(value) == "unrecognised"


def test_aspnet_v3_blob_with_short_salt_is_unrecognised() -> None:
    assert classify(_aspnet_v3("pw", salt_length=8)) == "unrecognised"


def test_aspnet_v3_blob_with_unknown_prf_is_unrecognised() -> None:
    assert classify(_aspnet_v3("pw", prf=7)) == "unrecognised"


def test_aspnet_v2_blob_of_wrong_length_is_unrecognised() -> None:
    assert classify(_b64(b"\x00" + os.urandom(40))) == "unrecognised"


def test_binary_aspnet_identity_blob_is_recognised() -> None:
    blob = base64.b64decode(_aspnet_v3("pw"))
    assert classify(blob) == "pbkdf2-aspnet-identity-v3"
    assert classify(memoryview(blob)) == "pbkdf2-aspnet-identity-v3"


def test_none_and_blank_values_are_empty() -> None:
    assert classify(None) == "empty"
    assert classify("") == "empty"
    assert classify("   ") == "empty"
    assert classify(b"") == "empty"


def test_non_text_values_are_unrecognised() -> None:
    assert classify(12345) == "unrecognised"


def test_empty_and_unrecognised_are_never_accepted() -> None:
    assert "empty" not in ACCEPTED_FORMATS
    assert "unrecognised" not in ACCEPTED_FORMATS


def test_count_formats_keeps_totals_per_format_only() -> None:
    bcrypt_hash = bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)).decode()
    counts = count_formats([bcrypt_hash, bcrypt_hash, "plain-canary", None, _django_pbkdf2("y")])
    assert counts == {"bcrypt": 2, "empty": 1, "pbkdf2-django": 1, "unrecognised": 1}
    assert "plain-canary" not in repr(counts)
