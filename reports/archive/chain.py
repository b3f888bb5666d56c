"""The chain of archived nights: each bundle names the manifest of the run archived before it.

`chain.json` is a file of the bundle, so the manifest lists it and the signature seals it. It holds
the archive key of this run and, for the previous archived run, its key and the sha256 of its
`MANIFEST.sha256`. A night removed, replaced or inserted later breaks a link that the signed
bundle after it still states, which `verify-chain` finds.

Keys are `YYYY/MM/DD/<run id>/`: the night (the run's audit date) and the run id (its start time,
`YYYYMMDDTHHMMSSZ`), so sorting keys sorts runs by night, then start.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

CHAIN_NAME = "chain.json"
CHAIN_VERSION = 1

_RUN_KEY = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{8}T\d{6}Z(?:-[A-Za-z0-9]+)?)/$")


def run_id_of(started_at: datetime) -> str:
    """Return the run id of a run that started at `started_at` (UTC): `YYYYMMDDTHHMMSSZ`."""
    return started_at.strftime("%Y%m%dT%H%M%SZ")


def run_key(night: date, run_id: str) -> str:
    """Return the archive prefix of a run: `YYYY/MM/DD/<run id>/`."""
    key = f"{night:%Y/%m/%d}/{run_id}/"
    if not _RUN_KEY.match(key):
        raise ValueError(f"not a run id: {run_id!r}")
    return key


@dataclass(frozen=True, order=True)
class RunKey:
    """An archived run's place: its night and run id (ordered as the archive orders them)."""

    night: date
    run_id: str

    @property
    def prefix(self) -> str:
        """Return the run's archive prefix."""
        return run_key(self.night, self.run_id)

    @classmethod
    def parse(cls, prefix: str) -> RunKey | None:
        """Return the run key of an archive prefix, or None when `prefix` is not one."""
        match = _RUN_KEY.match(prefix)
        if match is None:
            return None
        year, month, day, run_id = match.groups()
        try:
            return cls(date(int(year), int(month), int(day)), run_id)
        except ValueError:
            return None


def keys_by_run(keys: list[str]) -> tuple[dict[RunKey, list[str]], list[str]]:
    """Return the archive keys grouped by the run whose prefix holds them (runs sorted), and the keys outside any run."""
    grouped: dict[RunKey, list[str]] = {}
    strays: list[str] = []
    for key in keys:
        parts = key.split("/")
        found = RunKey.parse("/".join(parts[:4]) + "/") if len(parts) > 4 else None
        if found is None:
            strays.append(key)
        else:
            grouped.setdefault(found, []).append(key)
    return dict(sorted(grouped.items())), strays


def runs_in(keys: list[str]) -> tuple[list[RunKey], list[str]]:
    """Return the run keys found among archive keys (sorted), and the keys outside any run prefix."""
    grouped, strays = keys_by_run(keys)
    return list(grouped), strays


@dataclass(frozen=True)
class PreviousRun:
    """The run archived before this one, as this run's chain.json names it."""

    key: str
    manifest_sha256: str


@dataclass(frozen=True)
class ChainLink:
    """What a bundle's chain.json says: its own key and the run before it.

    `previous` is None for the first run of an archive (`unknown` empty) or when the archive could
    not be read at run time (`unknown` says why: verify-chain reports that link as unverifiable).
    """

    key: str
    previous: PreviousRun | None
    unknown: str = ""

    def as_json(self) -> dict[str, Any]:
        """Return chain.json's document."""
        return {
            "chain_version": CHAIN_VERSION,
            "key": self.key,
            "previous": None
            if self.previous is None
            else {"key": self.previous.key, "manifest_sha256": self.previous.manifest_sha256},
            "previous_unknown": self.unknown or None,
        }

    def dumps(self) -> bytes:
        """Return chain.json's bytes (sorted keys, UTF-8, one trailing newline)."""
        return (json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def loads(cls, data: bytes) -> ChainLink:
        """Return the link in chain.json's bytes; ValueError naming what is wrong when it is not one."""
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{CHAIN_NAME} is not JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("chain_version") != CHAIN_VERSION:
            raise ValueError(f"{CHAIN_NAME} is not a version {CHAIN_VERSION} chain link")
        key, previous, unknown = (
            document.get("key"),
            document.get("previous"),
            document.get("previous_unknown"),
        )
        if not isinstance(key, str) or RunKey.parse(key) is None:
            raise ValueError(f"{CHAIN_NAME}: key is not a run key")
        if unknown is not None and not isinstance(unknown, str):
            raise ValueError(f"{CHAIN_NAME}: previous_unknown is not text")
        if previous is None:
            return cls(key, None, unknown or "")
        if (
            not isinstance(previous, dict)
            or not isinstance(previous.get("key"), str)
            or RunKey.parse(previous["key"]) is None
            or not isinstance(previous.get("manifest_sha256"), str)
            or not re.fullmatch(r"[0-9a-f]{64}", previous["manifest_sha256"])
        ):
            raise ValueError(f"{CHAIN_NAME}: previous is not {{key, manifest_sha256}}")
        return cls(key, PreviousRun(previous["key"], previous["manifest_sha256"]), unknown or "")
