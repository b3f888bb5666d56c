"""Which password-hash format a stored value has (clause 6b), without ever keeping the value.

The collectors read a bounded sample of an application's password column, pass every value
through `classify` inside their read loop and keep only `count_formats` totals. A value is
recognised only when its whole shape matches a known password-hashing scheme: prefix,
parameters, salt and digest lengths. Unsalted digests (md5, sha1, sha256 hex) and plain text
are 'unrecognised': they are not acceptable password storage.

Nothing in this module logs, returns or raises with a value in it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Iterable

EMPTY = "empty"
UNRECOGNISED = "unrecognised"

ACCEPTED_FORMATS: frozenset[str] = frozenset(
    {
        "bcrypt",
        "argon2id",
        "argon2i",
        "argon2d",
        "scrypt",
        "pbkdf2-django",
        "pbkdf2-aspnet-identity-v2",
        "pbkdf2-aspnet-identity-v3",
        "pbkdf2-passlib",
        "sha512-crypt",
        "sha256-crypt",
    }
)
"""Salted, deliberately slow password-hashing schemes (the formats 6b accepts)."""

_B64 = r"[A-Za-z0-9+/]"
_AB64 = r"[A-Za-z0-9+/.]"  # passlib's adapted base64 uses '.' for '+'
_CRYPT64 = r"[./A-Za-z0-9]"

_BCRYPT = re.compile(rf"\$2[abxy]?\$(0[4-9]|[12][0-9]|3[01])\${_CRYPT64}{{53}}")
_ARGON2 = re.compile(
    rf"\$(argon2id|argon2i|argon2d)(\$v=\d+)?\$m=\d+,t=\d+,p=\d+(,[a-z]+=[^$]*)*"
    rf"\${_B64}{{11,}}={{0,2}}\${_B64}{{16,}}={{0,2}}"
)
_SCRYPT_PASSLIB = re.compile(rf"\$scrypt\$ln=\d+,r=\d+,p=\d+\${_AB64}{{11,}}={{0,2}}\${_AB64}{{16,}}={{0,2}}")
_SCRYPT_DJANGO = re.compile(rf"scrypt\$\d+\$[^$]{{8,}}\$\d+\$\d+\${_B64}{{16,}}={{0,2}}")
_SCRYPT_CRYPT = re.compile(rf"\$7\${_CRYPT64}{{11}}{_CRYPT64}+\${_CRYPT64}{{43}}")
_PBKDF2_DJANGO = re.compile(rf"pbkdf2_sha(1|256|512)\$\d+\$[^$]{{8,}}\${_B64}{{22,}}={{0,2}}")
_PBKDF2_PASSLIB = re.compile(
    rf"\$pbkdf2(-sha(1|256|512))?\$\d+\${_AB64}{{11,}}={{0,2}}\${_AB64}{{27,}}={{0,2}}"
)
_SHA512_CRYPT = re.compile(rf"\$6\$(rounds=\d+\$)?{_CRYPT64}{{1,16}}\${_CRYPT64}{{86}}")
_SHA256_CRYPT = re.compile(rf"\$5\$(rounds=\d+\$)?{_CRYPT64}{{1,16}}\${_CRYPT64}{{43}}")
_BASE64_BLOB = re.compile(rf"{_B64}+={{0,2}}")

_ASPNET_V2_LENGTH = 1 + 16 + 32
"""ASP.NET Identity v2: 0x00, 16-byte salt, 32-byte PBKDF2-HMAC-SHA1 subkey."""
_ASPNET_V3_HEADER = 1 + 4 + 4 + 4
"""ASP.NET Identity v3: 0x01, PRF, iteration count, salt length (big-endian uint32 each)."""
_ASPNET_V3_PRFS = (0, 1, 2)
"""HMACSHA1, HMACSHA256, HMACSHA512."""


def classify(value: object) -> str:
    """Return the password-hash format name of one stored value.

    Exists so a password column can be judged by format counts alone: 'empty' for None or
    '', one of `ACCEPTED_FORMATS` for a recognised salted hash, 'unrecognised' for anything
    else (plain text, unsalted hex digests, unknown shapes). The value itself is never
    returned, logged or kept.
    """
    if value is None:
        return EMPTY
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        if not value:
            return EMPTY
        try:
            text = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return _aspnet_identity_format(bytes(value))
        return _text_format(text)
    if isinstance(value, str):
        return _text_format(value)
    return UNRECOGNISED


def count_formats(values: Iterable[object]) -> dict[str, int]:
    """Return how many of `values` have each format (see `classify`), sorted by format name.

    Exists so collectors keep totals only: the values are consumed one by one and dropped.
    """
    counts: Counter[str] = Counter(classify(value) for value in values)
    return dict(sorted(counts.items()))


def _text_format(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        return EMPTY
    if _BCRYPT.fullmatch(stripped):
        return "bcrypt"
    argon = _ARGON2.fullmatch(stripped)
    if argon:
        return argon.group(1)
    if any(p.fullmatch(stripped) for p in (_SCRYPT_PASSLIB, _SCRYPT_DJANGO, _SCRYPT_CRYPT)):
        return "scrypt"
    if _PBKDF2_DJANGO.fullmatch(stripped):
        return "pbkdf2-django"
    if _PBKDF2_PASSLIB.fullmatch(stripped):
        return "pbkdf2-passlib"
    if _SHA512_CRYPT.fullmatch(stripped):
        return "sha512-crypt"
    if _SHA256_CRYPT.fullmatch(stripped):
        return "sha256-crypt"
    if _BASE64_BLOB.fullmatch(stripped) and len(stripped) % 4 == 0:
        try:
            blob = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            return UNRECOGNISED
        return _aspnet_identity_format(blob)
    return UNRECOGNISED


def _aspnet_identity_format(blob: bytes) -> str:
    if len(blob) == _ASPNET_V2_LENGTH and blob[0] == 0x00:
        return "pbkdf2-aspnet-identity-v2"
    if len(blob) >= _ASPNET_V3_HEADER and blob[0] == 0x01:
        prf = int.from_bytes(blob[1:5], "big")
        iterations = int.from_bytes(blob[5:9], "big")
        salt_length = int.from_bytes(blob[9:13], "big")
        subkey_length = len(blob) - _ASPNET_V3_HEADER - salt_length
        if prf in _ASPNET_V3_PRFS and iterations >= 1 and salt_length >= 16 and subkey_length >= 16:
            return "pbkdf2-aspnet-identity-v3"
    return UNRECOGNISED
