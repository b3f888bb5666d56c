"""The evidence model: every result of a run with what was observed, expected and cited.

Defined once, low in the house: collectors give their facts a `Source`, controls give a
`Status`, the harness makes `ResultRecord`s and hands the catalog over as `CatalogEntry`s, and
reports render them. This module imports nothing of the auditor's own.

`evidence.json` is the system of record of a run; the HTML report and every later export
are rendered from it and never re-collect. Its shape is fixed by `evidence.schema.json`.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import platform
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from reports.message import (
    GROUPED_NUMBERS,
    N_,
    SOURCE_ENGLISH,
    Message,
    MessageParam,
    MessageWriter,
    as_message,
    iso_utc,
    msg,
    msg_n,
    verbatim,
)

__all__ = [
    "GROUPED_NUMBERS",
    "N_",
    "SOURCE_ENGLISH",
    "Message",
    "MessageParam",
    "MessageWriter",
    "as_message",
    "iso_utc",
    "msg",
    "msg_n",
    "verbatim",
]

SCHEMA_FILE = Path(__file__).with_name("evidence.schema.json")
SCHEMA_VERSION = "1"
TOOL_NAME = "statement-auditor"


def utc_now() -> datetime:
    """Return the current time in UTC; every timestamp in the evidence is UTC."""
    return datetime.now(UTC)


def sha256_hex(raw: bytes) -> str:
    """Return the hex sha256 of raw evidence bytes, so an auditor can match the recording."""
    return hashlib.sha256(raw).hexdigest()


def to_json(value: Any) -> Any:
    """Return `value` as JSON-ready data: the one conversion of facts and observations to JSON.

    Date-times are ISO 8601 in UTC ending in Z, dates ISO, messages as `Message.as_json` writes
    them, dataclasses objects, tuples lists, sets sorted lists, enums their value, paths text;
    anything else its text.
    """
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Message):
        return value.as_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


@dataclass(frozen=True)
class Source:
    """Where a fact came from: one raw observation (an API response, a command output or a file),
    the call that produced it, when, and a hash of the raw answer."""

    collector: str
    call: str
    collected_at: datetime
    sha256: str
    api_version: str | None = None
    status: int | None = None


Status = Literal["pass", "fail", "error", "waived", "not_applicable"]
STATUSES: tuple[Status, ...] = ("fail", "error", "waived", "pass", "not_applicable")
"""Every status an item can have, in the order reports count and list them."""


@dataclass(frozen=True)
class CatalogEntry:
    """A control as the evidence states it: its clause (quoted in Dutch, rendered in English) and texts.

    The run harness hands the catalog to the bundle writer as these entries, so reports/ renders
    from data and never imports the controls.
    """

    id: str
    clause: str
    title: str
    severity: str
    iso27001: tuple[str, ...]
    pass_condition: str
    clause_text_nl: str
    clause_text_en: str

    def as_json(self, counts: dict[str, int]) -> dict[str, Any]:
        """Return the entry of evidence.json's `controls` list, with this run's `counts` per status."""
        return {
            "id": self.id,
            "clause": self.clause,
            "title": self.title,
            "severity": self.severity,
            "iso27001": list(self.iso27001),
            "pass_condition": self.pass_condition,
            "clause_text_nl": self.clause_text_nl,
            "clause_text_en": self.clause_text_en,
            "counts": counts,
        }


def tool_version() -> str:
    """Return the installed version of the auditor (the version in pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:  # running from a checkout that was not pip-installed
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


def git_commit(repo: Path) -> str | None:
    """Return the git commit of the controls' checkout (with '-dirty' if changed), or None."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def machine_identity() -> dict[str, str]:
    """Return where the run executed from: host name, FQDN, OS user, platform and Python."""
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        user = os.environ.get("USER", "unknown")
    return {
        "hostname": socket.gethostname(),
        "fqdn": socket.getfqdn(),
        "user": user,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class WaiverUse:
    """A waiver that matched a result, and whether it was still valid on the run date."""

    resource_pattern: str
    justification: str
    approved_by: str
    expires: str
    expired: bool


@dataclass
class ResultRecord:
    """One control x resource verdict with its evidence."""

    control: str
    clause: str
    title: str
    severity: str
    resource: str
    status: str
    message: str
    nodeid: str
    finding: Message | None = None
    """The message as data (id and parameters), so a reader can render it in another language."""
    observed: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    waiver: WaiverUse | None = None
    duration_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form used in evidence.json."""
        return {
            "control": self.control,
            "clause": self.clause,
            "title": self.title,
            "severity": self.severity,
            "resource": self.resource,
            "status": self.status,
            "message": self.message,
            "finding": self.finding.as_json() if self.finding is not None else None,
            "observed": self.observed,
            "expected": self.expected,
            "sources": [to_json(s) for s in self.sources],
            "waiver": to_json(self.waiver),
            "nodeid": self.nodeid,
            "duration_seconds": round(self.duration_seconds, 6),
        }


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write a JSON document with stable formatting (sorted keys keep diffs between nights small)."""
    path.write_text(
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
