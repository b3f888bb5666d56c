"""A generated audit-period archive: nights of the demo estate, sealed, chained and archived, with planted events.

The period report, its tests, the demo and the scale benchmark need months of archived nights. This
module makes them from the evidence.json of one real demo run (`pytest controls/ --demo`): night n
is that document with the night's run times, commit, policy and config hash, and with the planted
events below applied to its results. Each night is then written the way a live run writes it: the
evidence, a `chain.json` naming the run archived before it (found in the archive exactly as
controls/harness/archiving.py finds it), a manifest signed with the given Ed25519 key, and archived
with `archive_bundle` into a folder archive under `YYYY/MM/DD/<run id>/`.

Planted events (1-based night numbers, defaults for 120 nights from 2026-06-01, see `PlantedEvents`):

- a missing night (40): never archived; night 41 links to night 39, as a live run would;
- a night altered after archiving (60): one failing result turned into a pass in the archived
  evidence.json and the manifest re-written without the key (its signature is gone, and night 61's
  link no longer matches its manifest);
- a change of the controls' code (commit A before night 60, commit B from it);
- a policy change (night 80): `[policy] audit_min_retention_days` 90 -> 180, config sha256 with it;
- a resource failing for 12 nights (20-31) and fixed on night 32;
- a resource failing from night 100 to the end, with ticket AUD-100 created that night and
  reminders (comments) every 7 nights after;
- a waiver on a failing resource that stops waiving on night 70 (it expires the day before: a waiver
  waives through its `expires` date, as controls/waivers.py judges it);
- a night (90) on which every result in subscription 2222... is an `error` (ARM answered 503).

What was planted is returned as a `GeneratedArchive` and written to `planted.json` beside (never
inside) the archive folder, so tests can assert that the period report shows each event as planted.

    python -m demo.period_archive --out DIR [--nights 120] [--start 2026-06-01]
        [--template EVIDENCE_JSON] [--results-per-night N] [--signing-key PEM_FILE] [--with-reports]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reports.archive.archiver import archive_bundle, chain_link
from reports.archive.chain import CHAIN_NAME, RunKey, run_id_of
from reports.archive.store import FolderStore
from reports.command_line import iso_date, positive_int
from reports.evidence import Message, iso_utc, msg, msg_n, verbatim
from reports.i18n.translation import Translator, translator
from reports.manifest import EVIDENCE_NAME, SIGNING_KEY_ENV, write_manifest
from reports.tickets.fingerprint import fingerprint
from reports.tickets.problems import scope_of

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NIGHTS = 120
DEFAULT_START = date(2026, 6, 1)
ERROR_SUBSCRIPTION = "22222222-2222-4222-8222-222222222222"
ARCHIVE_DIR = "archive"
PLANTED_NAME = "planted.json"
PUBLIC_KEY_NAME = "signing-key.pub.pem"
COMPACT_ABOVE = 2000
"""Nights with more results than this are written as compact JSON (no indent), to stay fast and small."""
STATUSES = ("pass", "fail", "error", "waived", "not_applicable")
COMMIT_BEFORE = hashlib.sha1(b"statement-auditor controls before the period's change").hexdigest()
COMMIT_AFTER = hashlib.sha1(b"statement-auditor controls after the period's change").hexdigest()

JsonObject = dict[str, Any]
ItemKey = tuple[str, str]


def night_date(start: date, night: int) -> date:
    """Return the date of night `night` (1-based) of a period starting on `start`: night 1 is `start`."""
    return start + timedelta(days=night - 1)


@dataclass(frozen=True)
class PlantedEvents:
    """Which night each planted event falls on (1-based), and the values it plants.

    The item fields pin the (control, resource) of an event; None lets the generator choose one
    from the template (deterministically: see `GeneratedArchive` for what was chosen).
    """

    missing_night: int = 40
    altered_night: int = 60
    code_change_night: int = 60
    policy_change_night: int = 80
    failing_from: int = 20
    failing_nights: int = 12
    ticket_from: int = 100
    waiver_expired_from: int = 70
    """The first night the waiver shows expired (and the item `fail`); it expires the night before."""
    error_night: int = 90
    ticket_key: str = "AUD-100"
    ticket_backend: str = "jira"
    ticket_url_base: str = "https://jira.example.org/browse/"
    reminder_days: int = 7
    policy_key: str = "audit_min_retention_days"
    policy_value: str | int | float | bool = 180
    commit_before: str = COMMIT_BEFORE
    commit_after: str = COMMIT_AFTER
    error_subscription: str = ERROR_SUBSCRIPTION
    waiver_approver: str = "Steven Somer (DPO)"
    waiver_justification: str = (
        "risk accepted until the planned remediation; the security officer reviews it at expiry"
    )
    failing_item: ItemKey | None = None
    ticket_item: ItemKey | None = None
    waiver_item: ItemKey | None = None
    altered_item: ItemKey | None = None

    @classmethod
    def for_nights(cls, nights: int) -> PlantedEvents:
        """Return the default events scaled from 120 nights to `nights` (at least 12): same proportions.

        The failing interval keeps its 12 nights from 120 nights up, and shrinks with shorter periods.
        """
        if nights < 12:
            raise ValueError(f"a period of {nights} nights is too short for the planted events (at least 12)")
        if nights == DEFAULT_NIGHTS:
            return cls()

        def scaled(night: int) -> int:
            return max(2, min(nights, round(night * nights / DEFAULT_NIGHTS)))

        base = cls()
        events = replace(
            base,
            missing_night=scaled(base.missing_night),
            altered_night=scaled(base.altered_night),
            code_change_night=scaled(base.code_change_night),
            policy_change_night=scaled(base.policy_change_night),
            failing_from=scaled(base.failing_from),
            failing_nights=min(
                base.failing_nights, max(1, round(base.failing_nights * nights / DEFAULT_NIGHTS))
            ),
            ticket_from=scaled(base.ticket_from),
            waiver_expired_from=scaled(base.waiver_expired_from),
            error_night=scaled(base.error_night),
        )
        for offset in (0, 1, -1, 2, -2, 3, -3):  # a short period can put the gap on another event's night
            moved = replace(events, missing_night=events.missing_night + offset)
            try:
                moved.check(nights)
            except ValueError:
                continue
            return moved
        events.check(nights)  # raises, naming the clash
        return events

    def check(self, nights: int) -> None:
        """Raise ValueError naming the first event that does not fit a period of `nights` nights.

        Every event must fall inside the period, the missing night strictly inside it (so
        verify-chain sees the gap) and on no other event's night, and the altered and the failing
        items must have a night after them (the broken link, the fix).
        """
        numbers = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name.endswith(("_night", "_from"))
        }
        for name, night in numbers.items():
            if not 1 <= night <= nights:
                raise ValueError(f"{name} = {night} lies outside the period's nights 1..{nights}")
        if not 1 < self.missing_night < nights:
            raise ValueError(
                "missing_night must lie strictly inside the period (verify-chain sees no gap at its ends)"
            )
        fixed = self.failing_from + self.failing_nights
        if self.failing_nights < 1 or fixed > nights:
            raise ValueError(
                f"the failing interval {self.failing_from}+{self.failing_nights} has no fixing night"
            )
        if self.altered_night >= nights:
            raise ValueError("altered_night needs a night after it, whose link the alteration breaks")
        if self.waiver_expired_from < 2:
            raise ValueError("waiver_expired_from must be 2 or later: the waiver waives the nights before it")
        if self.reminder_days < 1:
            raise ValueError("reminder_days must be at least 1")
        taken = {**numbers, "failing fix night": fixed, "night after altered_night": self.altered_night + 1}
        for name, night in taken.items():
            if name != "missing_night" and night == self.missing_night:
                raise ValueError(f"missing_night {night} falls on {name}: that event could not be seen")


@dataclass(frozen=True)
class Item:
    """One test item: a control and a resource."""

    control: str
    resource: str


@dataclass(frozen=True)
class AlteredNight:
    """The night altered after archiving: one result turned from `fail` into `pass`, resealed unsigned."""

    night: date
    run_key: str
    item: Item
    archived_status: str
    altered_status: str
    next_night: date
    next_run_key: str


@dataclass(frozen=True)
class CodeChange:
    """The controls' code changed: the commit recorded before and from `night`."""

    night: date
    before: str
    after: str


@dataclass(frozen=True)
class PolicyChange:
    """A `[policy]` value changed from `night`, with the config's sha256."""

    night: date
    key: str
    before: Any
    after: Any
    config_sha256_before: str
    config_sha256_after: str


@dataclass(frozen=True)
class FailingInterval:
    """A resource that passes, fails from `first` through `last`, and passes again (fixed) on `fixed`."""

    item: Item
    first: date
    last: date
    fixed: date
    nights: int
    message: str


@dataclass(frozen=True)
class OpenTicket:
    """A resource failing from `failing_since` to the period's end, with its ticket created that night."""

    item: Item
    failing_since: date
    ticket: str
    url: str
    backend: str
    scope: str
    fingerprint: str
    created: date
    comments: tuple[date, ...]
    message: str


@dataclass(frozen=True)
class PlantedWaiver:
    """A waiver on a failing resource: `waived` through `last_waived`, `fail` (waiver expired) from `expired_from`."""

    item: Item
    approved_by: str
    justification: str
    expires: date
    last_waived: date
    expired_from: date


@dataclass(frozen=True)
class ErrorNight:
    """The night every result under `subscription` was an `error` (ARM answered 503)."""

    night: date
    subscription: str
    results: int
    """How many results of that night are under the subscription (all of them `error`)."""
    items: tuple[Item, ...]
    """The template's items under the subscription (synthetic copies not listed)."""
    message: str
    """The message of one of them, e.g. "Microsoft.Sql/servers of subscription 2222... could not be listed: HTTP 503 ..."."""


@dataclass(frozen=True)
class TemplateWaiverExpiry:
    """A waiver of the template (not planted) that expires inside the period: its items fail from `expired_from`."""

    control: str
    resource_pattern: str
    expires: date
    expired_from: date


@dataclass(frozen=True)
class GeneratedArchive:
    """What was generated and exactly what was planted in it."""

    out: Path
    archive: Path
    planted_file: Path
    public_key: Path | None
    """The signing key's public half (PEM) when the nights were signed, for verify-chain --public-key."""
    start: date
    end: date
    nights: int
    results_per_night: int
    run_keys: dict[str, str]
    """{night (ISO date): archive prefix} of every archived night."""
    missing_night: date
    altered: AlteredNight
    code_change: CodeChange
    policy_change: PolicyChange
    failing: FailingInterval
    ticket: OpenTicket
    waiver: PlantedWaiver
    error_night: ErrorNight
    template_waiver_expiries: tuple[TemplateWaiverExpiry, ...]
    events: PlantedEvents
    seconds: float

    def as_json(self) -> JsonObject:
        """Return planted.json's document: every field, dates ISO, paths as text."""
        document: JsonObject = _json_ready(asdict(self))
        return document


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, date | Path):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


@contextmanager
def signing_key_env(pem: str | None) -> Iterator[None]:
    """Set AUDIT_SIGNING_KEY to `pem` (unset it for None) for the block, then restore what it was.

    write_manifest reads the key from the environment only; this keeps the key there no longer than
    one call, and keeps a key the caller's environment holds from signing an unsigned archive.
    """
    saved = os.environ.get(SIGNING_KEY_ENV)
    if pem is None:
        os.environ.pop(SIGNING_KEY_ENV, None)
    else:
        os.environ[SIGNING_KEY_ENV] = pem
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SIGNING_KEY_ENV, None)
        else:
            os.environ[SIGNING_KEY_ENV] = saved


def public_key_pem(private_pem: str) -> bytes:
    """Return the PEM public half of an Ed25519 private key in PEM (PKCS#8); ValueError when it is not one."""
    try:
        key = serialization.load_pem_private_key(private_pem.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise ValueError("the signing key is not an unencrypted PEM (PKCS#8) private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the signing key is a {type(key).__name__}, not an Ed25519 private key")
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def run_demo_template(workdir: Path, as_of: date | None = None) -> Path:
    """Run `pytest controls/ --demo [--as-of AS_OF]` into `workdir`; return the evidence.json it wrote.

    The template of every generated night is this one real run of the demo estate. Without
    `as_of` the demo is judged on its recording's own date, which gives the verdicts the demo
    estate was made for; an earlier date makes its recent attestations, certificates and patch
    assessments "dated after the run date" failures. Raises RuntimeError with the run's last
    output lines when it does not end with exit 0 or 1 (1: the demo fails some controls on purpose).
    """
    evidence_dir = workdir / "template-evidence"
    env = {k: v for k, v in os.environ.items() if k != SIGNING_KEY_ENV}
    command = [sys.executable, "-m", "pytest", "controls/", "--demo", "--evidence-dir", str(evidence_dir)]
    if as_of is not None:
        command += ["--as-of", as_of.isoformat()]
    run = subprocess.run(
        [*command, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    evidence = evidence_dir / EVIDENCE_NAME
    if run.returncode not in (0, 1) or not evidence.is_file():
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-20:])
        raise RuntimeError(f"the demo run for the template ended with exit {run.returncode}:\n{tail}")
    return evidence


def _name(resource: str) -> str:
    """Return the last part of a resource id (a resource's own name), e.g. `stemmaweu`."""
    return resource.rstrip("/").rsplit("/", 1)[-1]


def _adapted(value: Any, donor: str, target: str) -> Any:
    """Return JSON data of the donor's result with its resource id and name replaced by the target's."""
    text = json.dumps(value, ensure_ascii=False)
    pairs = [(donor, target)]
    if len(_name(donor)) >= 3 and _name(donor) != _name(target):
        pairs.append((_name(donor), _name(target)))
    for old, new in pairs:
        text = text.replace(
            json.dumps(old, ensure_ascii=False)[1:-1], json.dumps(new, ensure_ascii=False)[1:-1]
        )
    return json.loads(text)


def _under(resource: str, subscription: str) -> bool:
    prefix = f"/subscriptions/{subscription}".lower()
    lowered = resource.lower()
    return lowered == prefix or lowered.startswith(prefix + "/")


def _provider_type(resource: str) -> str:
    """Return the ARM resource type whose list holds `resource` (`Microsoft.Sql/servers`), or `resources`."""
    parts = resource.split("/")
    for index, part in enumerate(parts):
        if part.lower() == "providers" and index + 2 < len(parts):
            return f"{parts[index + 1]}/{parts[index + 2]}"
    return "resources"


def _replace_value(value: Any, old: Any, new: Any) -> Any:
    """Return JSON data with every value equal to `old` (or its text) replaced by `new`."""
    if isinstance(value, dict):
        return {k: _replace_value(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_value(v, old, new) for v in value]
    if type(value) is type(old) and value == old:
        return new
    if isinstance(value, str) and not isinstance(old, str) and value == str(old):
        return str(new)
    return value


def _counts(statuses: Sequence[str]) -> dict[str, int]:
    found = Counter(statuses)
    return {status: found.get(status, 0) for status in STATUSES}


def recount(document: JsonObject) -> None:
    """Set `summary` and every control's `counts` of an evidence document from its results."""
    by_control: dict[str, list[str]] = {}
    for result in document["results"]:
        by_control.setdefault(result["control"], []).append(result["status"])
    summary: dict[str, int] = _counts([r["status"] for r in document["results"]])
    document["summary"] = {**summary, "total": len(document["results"])}
    for control in document["controls"]:
        control["counts"] = _counts(by_control.get(control["id"], []))


def dumps_evidence(document: Mapping[str, Any], compact: bool) -> str:
    """Return evidence.json's text: as reports.evidence.write_json writes it, or compact (no indent)."""
    if compact:
        return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass
class _Waiver:
    """A configured waiver: the template's or the planted one, and the results it applies to."""

    control: str
    pattern: str
    approved_by: str
    justification: str
    expires: date
    entry: JsonObject | None
    results: list[int] = field(default_factory=list)


@dataclass
class _Variant:
    """The results of every night sharing a policy and a set of expired waivers, before per-night events."""

    results: list[JsonObject]
    statuses: list[str]
    controls: list[JsonObject]
    waivers: list[JsonObject]
    by_control: dict[str, dict[str, int]]
    fragments: list[str] | None


_RESULTS_MARK = "@@period-archive-results@@"


class _Generator:
    """Builds and archives the nights of one generated archive."""

    def __init__(
        self,
        template: JsonObject,
        events: PlantedEvents,
        start: date,
        nights: int,
        results_per_night: int | None,
    ) -> None:
        self.template = template
        self.events = events
        self.start = start
        self.nights = nights
        self.tr: Translator = translator("en")
        originals: list[JsonObject] = template["results"]
        self.originals = len(originals)
        total = results_per_night or len(originals)
        if total < len(originals):
            raise ValueError(f"--results-per-night {total} is below the template's {len(originals)} results")
        self.results = self._expanded(originals, total)
        self.compact = len(self.results) > COMPACT_ABOVE
        self.index = {(r["control"], r["resource"]): i for i, r in enumerate(self.results[: self.originals])}
        self.policy = dict(template["run"]["policy"])
        if events.policy_key not in self.policy:
            raise ValueError(f"the template's policy has no key {events.policy_key!r}")
        self.policy_before = self.policy[events.policy_key]
        self.config_before = str(template["run"]["config"]["sha256"])
        self.config_after = hashlib.sha256(
            f"{self.config_before}\n[policy] {events.policy_key} = {json.dumps(events.policy_value)}\n".encode()
        ).hexdigest()
        self.policy_controls = {
            c["id"]
            for c in template["controls"]
            if f"policy.{events.policy_key}" in c.get("pass_condition", "")
        }
        self.error_indexes = [
            i for i, r in enumerate(self.results) if _under(r["resource"], events.error_subscription)
        ]
        self._choose_items()
        self.waivers = self._waivers()
        self.variants: dict[tuple[bool, frozenset[int]], _Variant] = {}
        self._error_results: dict[int, JsonObject] = {}

    # -- the template's results and the items the events fall on

    @staticmethod
    def _expanded(originals: list[JsonObject], total: int) -> list[JsonObject]:
        """Return the template's results, then synthetic copies (resource id suffixed -0001, ...) up to `total`."""
        results = list(originals)
        copies = math.ceil(total / len(originals)) if originals else 0
        width = max(4, len(str(copies)))
        number = 1
        while len(results) < total:
            for original in originals:
                if len(results) >= total:
                    break
                resource = f"{original['resource']}-{number:0{width}d}"
                twin = dict(original)
                twin["resource"] = resource
                twin["nodeid"] = str(original["nodeid"]).replace(f"[{original['resource']}]", f"[{resource}]")
                results.append(twin)
            number += 1
        return results

    def _donor(self, control: str, status: str, besides: int) -> int | None:
        """Return the index of a template result of `control` with `status` and no waiver, to copy a finding from."""
        for i in range(self.originals):
            r = self.results[i]
            if i != besides and r["control"] == control and r["status"] == status and not r.get("waiver"):
                return i
        return None

    def _pick(self, pinned: ItemKey | None, status: str, donor_status: str | None, avoid: set[str]) -> int:
        """Return the index of the event's item: the pinned one, else the first fitting one by (control, resource)."""
        if pinned is not None:
            if pinned not in self.index:
                raise ValueError(f"the template has no result {pinned[0]} {pinned[1]}")
            found = self.results[self.index[pinned]]
            if found["status"] != status or found.get("waiver"):
                raise ValueError(
                    f"{pinned[0]} {pinned[1]} is {found['status']} in the template: this event needs a "
                    f"{status} result without a waiver"
                )
            return self.index[pinned]
        candidates = sorted(
            (r["control"], r["resource"], i)
            for i, r in enumerate(self.results[: self.originals])
            if r["status"] == status
            and not r.get("waiver")
            and r["control"] not in avoid
            and r["control"] not in self.policy_controls
            and not _under(r["resource"], self.events.error_subscription)
        )
        with_donor = [
            c for c in candidates if donor_status is None or self._donor(c[0], donor_status, c[2]) is not None
        ]
        azure = [c for c in with_donor if c[1].lower().startswith("/subscriptions/")]
        ranked = azure or with_donor or candidates
        if not ranked:
            raise ValueError(f"the template has no {status} result to plant an event on")
        return ranked[0][2]

    def _choose_items(self) -> None:
        e = self.events
        self.failing = self._pick(e.failing_item, "pass", "fail", set())
        self.ticketed = self._pick(e.ticket_item, "pass", "fail", {self.results[self.failing]["control"]})
        used = {self.results[i]["control"] for i in (self.failing, self.ticketed)}
        self.waived = self._pick(e.waiver_item, "fail", None, used)
        used.add(self.results[self.waived]["control"])
        self.altered = self._pick(e.altered_item, "fail", "pass", used)
        chosen = [self.failing, self.ticketed, self.waived, self.altered]
        if len(set(chosen)) != len(chosen):
            raise ValueError("two planted events fall on the same item: pin different items")
        r = self.results[self.ticketed]
        self.ticket_scope = scope_of(r["control"], r["resource"])

    def item(self, index: int) -> Item:
        """Return the (control, resource) of result `index`."""
        return Item(self.results[index]["control"], self.results[index]["resource"])

    # -- waivers

    def _waivers(self) -> list[_Waiver]:
        """Return the configured waivers (the template's, then the planted one) with the results each applies to."""
        entries: list[JsonObject] = list(self.template.get("waivers") or [])
        waivers: list[_Waiver] = []
        for entry in entries:
            waivers.append(
                _Waiver(
                    str(entry["control"]),
                    str(entry["resource"]),
                    str(entry["approved_by"]),
                    str(entry["justification"]),
                    date.fromisoformat(str(entry["expires"])),
                    entry,
                )
            )
        for i, r in enumerate(self.results):
            used = r.get("waiver")
            if not used:
                continue
            key = (r["control"], used["resource_pattern"], used["expires"])
            found = next(
                (w for w in waivers if (w.control, w.pattern, w.expires.isoformat()) == key),
                None,
            )
            if found is None:
                found = _Waiver(
                    r["control"],
                    str(used["resource_pattern"]),
                    str(used["approved_by"]),
                    str(used["justification"]),
                    date.fromisoformat(str(used["expires"])),
                    None,
                )
                waivers.append(found)
            found.results.append(i)
        planted = self.results[self.waived]
        expires = night_date(self.start, self.events.waiver_expired_from - 1)
        entry = {
            "approved_by": self.events.waiver_approver,
            "control": planted["control"],
            "evaluated": True,
            "expired": False,
            "expires": expires.isoformat(),
            "justification": self.events.waiver_justification,
            "matched": 1,
            "resource": planted["resource"],
            "scope": "resource",
            "stale": False,
        }
        waivers.append(
            _Waiver(
                planted["control"],
                planted["resource"],
                self.events.waiver_approver,
                self.events.waiver_justification,
                expires,
                entry,
                [self.waived],
            )
        )
        return waivers

    def _underlying(self, result: JsonObject) -> JsonObject | None:
        """Return the finding of a waived (or expired-waiver) result before the waiver wrapped it."""
        finding = result.get("finding")
        if result.get("waiver") and isinstance(finding, dict):
            inner = (finding.get("params") or {}).get("finding")
            if isinstance(inner, dict) and isinstance(inner.get("message"), dict):
                return dict(inner["message"])
        return finding if isinstance(finding, dict) else None

    def _waiver_applied(
        self, result: JsonObject, underlying: JsonObject | None, waiver: _Waiver, on: date
    ) -> JsonObject:
        """Return `result` (a `fail` underneath) as controls/waivers.py judges it with `waiver` on night `on`."""
        finding = (
            Message.from_json(underlying) if underlying is not None else verbatim(str(result["message"]))
        )
        expired = waiver.expires < on
        if expired:
            message = msg(
                "{finding} (waiver approved by {approver} expired on {expires})",
                finding=finding,
                approver=waiver.approved_by,
                expires=waiver.expires,
            )
        else:
            message = msg(
                "{finding} (waived by {approver} until {expires}: {justification})",
                finding=finding,
                approver=waiver.approved_by,
                expires=waiver.expires,
                justification=waiver.justification,
            )
        changed = dict(result)
        changed.update(
            status="fail" if expired else "waived",
            finding=message.as_json(),
            message=self.tr.render(message),
            waiver={
                "approved_by": waiver.approved_by,
                "expired": expired,
                "expires": waiver.expires.isoformat(),
                "justification": waiver.justification,
                "resource_pattern": waiver.pattern,
            },
        )
        return changed

    # -- variants: what nights share before their own events

    def _policy_applied(self, result: JsonObject) -> JsonObject:
        """Return a result of a control that names the changed policy key, as judged under the new value."""
        old, new = self.policy_before, self.events.policy_value
        changed = dict(result)
        if isinstance(result.get("expected"), dict):
            pattern = re.compile(rf"(?<![\w.]){re.escape(str(old))}(?![\w.])")
            changed["expected"] = {
                k: pattern.sub(str(new), v) if isinstance(v, str) else v
                for k, v in result["expected"].items()
            }
        finding = result.get("finding")
        if isinstance(finding, dict):
            moved = _replace_value(finding, old, new)
            if moved != finding:
                changed["finding"] = moved
                changed["message"] = self.tr.render(Message.from_json(moved))
        return changed

    def variant(self, night: int) -> _Variant:
        """Return the shared results of `night`: its policy and which waivers have expired by then."""
        on = night_date(self.start, night)
        changed_policy = night >= self.events.policy_change_night
        expired = frozenset(i for i, w in enumerate(self.waivers) if w.expires < on)
        key = (changed_policy, expired)
        found = self.variants.get(key)
        if found is None:
            found = self.variants[key] = self._build_variant(on, changed_policy)
        return found

    def _build_variant(self, on: date, changed_policy: bool) -> _Variant:
        results = list(self.results)
        if changed_policy and self.policy_controls:
            for i, r in enumerate(results):
                if r["control"] in self.policy_controls:
                    results[i] = self._policy_applied(r)
        for waiver in self.waivers:
            for i in waiver.results:
                base = results[i]
                results[i] = self._waiver_applied(base, self._underlying(base), waiver, on)
        controls = []
        for control in self.template["controls"]:
            entry = dict(control)
            if changed_policy and control["id"] in self.policy_controls:
                entry["pass_condition"] = str(control["pass_condition"]).replace(
                    f"policy.{self.events.policy_key} ({self.policy_before}",
                    f"policy.{self.events.policy_key} ({self.events.policy_value}",
                )
            controls.append(entry)
        waivers = []
        for waiver in self.waivers:
            if waiver.entry is not None:
                waivers.append({**waiver.entry, "expired": waiver.expires < on})
        statuses = [r["status"] for r in results]
        by_control: dict[str, list[str]] = {}
        for r in results:
            by_control.setdefault(r["control"], []).append(r["status"])
        fragments = [self._fragment(r) for r in results] if self.compact else None
        return _Variant(
            results,
            statuses,
            controls,
            waivers,
            {c: _counts(s) for c, s in by_control.items()},
            fragments,
        )

    @staticmethod
    def _fragment(result: JsonObject) -> str:
        return json.dumps(result, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    # -- per-night events

    def failing_version(self, index: int, variant: _Variant) -> JsonObject:
        """Return result `index` failing: the finding, message and observations of a failing result of its control."""
        target = variant.results[index]
        donor = self._donor(target["control"], "fail", index)
        changed = dict(target)
        changed["status"] = "fail"
        if donor is None:
            message = verbatim(f"{_name(target['resource'])} no longer meets this control")
            changed.update(finding=message.as_json(), message=self.tr.render(message))
            return changed
        source = variant.results[donor]
        for name in ("finding", "message", "observed"):
            changed[name] = _adapted(source.get(name), source["resource"], target["resource"])
        return changed

    def passing_version(self, result: JsonObject) -> JsonObject:
        """Return a failing result passing, with the finding and observations of a passing result of its control."""
        index = self.index[(result["control"], result["resource"])]
        donor = self._donor(result["control"], "pass", index)
        changed = dict(result)
        changed["status"] = "pass"
        changed["waiver"] = None
        if donor is not None:
            source = self.results[donor]
            for name in ("finding", "message", "observed"):
                changed[name] = _adapted(source.get(name), source["resource"], result["resource"])
        return changed

    def error_version(self, index: int, variant: _Variant) -> JsonObject:
        """Return result `index` as an `error`: its subscription's list answered HTTP 503."""
        found = self._error_results.get(index)
        if found is not None:
            return found
        target = variant.results[index]
        subscription = self.events.error_subscription
        kind = _provider_type(target["resource"])
        message = msg(
            "{what}: {failure} ({call})",
            what=msg(
                "{type} of subscription {subscription} could not be listed",
                type=kind,
                subscription=subscription,
            ),
            failure="HTTP 503 ServiceUnavailable: The service is temporarily unavailable. Please try again later.",
            call=f"GET /subscriptions/{subscription}/providers/{kind}",
        )
        changed = dict(target)
        changed.update(
            status="error",
            finding=message.as_json(),
            message=self.tr.render(message),
            observed={},
            expected={},
            sources=[],
            waiver=None,
        )
        self._error_results[index] = changed
        return changed

    def overrides(self, night: int, variant: _Variant) -> dict[int, JsonObject]:
        """Return {result index: result} of the night's own events on top of its variant."""
        e = self.events
        changed: dict[int, JsonObject] = {}
        if e.failing_from <= night < e.failing_from + e.failing_nights:
            changed[self.failing] = self.failing_version(self.failing, variant)
        if night >= e.ticket_from:
            changed[self.ticketed] = self.failing_version(self.ticketed, variant)
        if night == e.error_night:
            for i in self.error_indexes:
                changed[i] = self.error_version(i, variant)
        return changed

    def ticket_url(self) -> str:
        """Return the planted ticket's link."""
        return self.events.ticket_url_base + self.events.ticket_key

    def comment_nights(self) -> list[int]:
        """Return the nights after the ticket's creation on which it gets a reminder comment."""
        e = self.events
        return list(range(e.ticket_from + e.reminder_days, self.nights + 1, e.reminder_days))

    def tickets(self, night: int) -> JsonObject:
        """Return the night's `tickets` section: the planted ticket's create or reminder, else no action."""
        e = self.events
        r = self.results[self.ticketed]
        actions: list[JsonObject] = []
        action, note = "", None
        if night == e.ticket_from:
            action, note = "create", msg("new failure")
        elif night in self.comment_nights():
            action = "comment"
            note = msg_n(
                "still failing; reminder after {n} day",
                "still failing; reminder after {n} days",
                "n",
                n=e.reminder_days,
            )
        if note is not None:
            actions.append(
                {
                    "action": action,
                    "control": r["control"],
                    "fingerprint": fingerprint(r["control"], self.ticket_scope),
                    "note": self.tr.render(note),
                    "scope": self.ticket_scope,
                    "ticket": e.ticket_key,
                    "url": self.ticket_url(),
                }
            )
        return {"mode": "on", "backend": e.ticket_backend, "actions": actions, "wont_fix": [], "errors": []}

    def started_at(self, night: int) -> datetime:
        """Return when night `night`'s run started: 02:00 UTC of its date, give or take a few seconds."""
        on = night_date(self.start, night)
        return datetime(on.year, on.month, on.day, 2, 0, (night * 7) % 60, tzinfo=UTC)

    def run(self, night: int) -> JsonObject:
        """Return the night's `run` section: the template's, with this night's times, commit, policy and config."""
        e = self.events
        on = night_date(self.start, night)
        started = self.started_at(night)
        finished = started + timedelta(minutes=2 + night % 7, seconds=(night * 13) % 60)
        template_run = self.template["run"]
        run = dict(template_run)
        changed_policy = night >= e.policy_change_night
        policy = dict(self.policy)
        if changed_policy:
            policy[e.policy_key] = e.policy_value
        run.update(
            started_at=iso_utc(started),
            finished_at=iso_utc(finished),
            run_date=on.isoformat(),
            command=f"pytest controls/ --demo --as-of {on.isoformat()}",
            tool={
                **template_run["tool"],
                "git_commit": e.commit_after if night >= e.code_change_night else e.commit_before,
            },
            config={
                **template_run["config"],
                "sha256": self.config_after if changed_policy else self.config_before,
            },
            policy=policy,
        )
        return run

    def document(self, night: int) -> tuple[JsonObject, _Variant, dict[int, JsonObject]]:
        """Return the night's evidence document without results (they are the variant's with the overrides)."""
        variant = self.variant(night)
        changed = self.overrides(night, variant)
        summary = Counter(variant.statuses)
        by_control = {c: Counter(counts) for c, counts in variant.by_control.items()}
        for i, result in changed.items():
            before = variant.statuses[i]
            summary[before] -= 1
            summary[result["status"]] += 1
            by_control[result["control"]][before] -= 1
            by_control[result["control"]][result["status"]] += 1
        empty = dict.fromkeys(STATUSES, 0)
        document: JsonObject = {
            k: v
            for k, v in self.template.items()
            if k not in ("results", "summary", "controls", "waivers", "tickets", "trends", "changes")
        }
        document.update(
            run=self.run(night),
            controls=[
                {**c, "counts": {s: by_control.get(c["id"], empty).get(s, 0) for s in STATUSES}}
                for c in variant.controls
            ],
            summary={**{s: summary.get(s, 0) for s in STATUSES}, "total": len(variant.statuses)},
            waivers=variant.waivers,
            tickets=self.tickets(night),
            changes=None,
        )
        return document, variant, changed

    def evidence_text(self, night: int) -> str:
        """Return the night's evidence.json text (compact for large nights, built from cached result texts)."""
        document, variant, changed = self.document(night)
        if variant.fragments is None:
            document["results"] = [changed.get(i, r) for i, r in enumerate(variant.results)]
            return dumps_evidence(document, compact=False)
        fragments = list(variant.fragments)
        for i, result in changed.items():
            fragments[i] = self._fragment(result)
        document["results"] = _RESULTS_MARK
        head = dumps_evidence(document, compact=True)
        return head.replace(json.dumps(_RESULTS_MARK), "[" + ",".join(fragments) + "]", 1)

    def evidence_document(self, night: int) -> JsonObject:
        """Return the night's evidence document with its results (for write_bundle)."""
        document, variant, changed = self.document(night)
        document["results"] = [changed.get(i, r) for i, r in enumerate(variant.results)]
        return copy.deepcopy(document)


def _seal_and_archive(
    generator: _Generator,
    night: int,
    store: FolderStore,
    staging: Path,
    signing_key: str | None,
    with_reports: bool,
) -> RunKey:
    """Write night `night`'s bundle into `staging`, seal it and archive it; return its run key."""
    on = night_date(generator.start, night)
    key = RunKey(on, run_id_of(generator.started_at(night)))
    link = chain_link(store, key)  # found in the archive exactly as a live run finds it
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    if with_reports:
        from reports.bundle import write_bundle

        with signing_key_env(signing_key):
            write_bundle(staging, generator.evidence_document(night), sealed_files={CHAIN_NAME: link.dumps()})
    else:
        (staging / EVIDENCE_NAME).write_text(generator.evidence_text(night), encoding="utf-8")
        (staging / CHAIN_NAME).write_bytes(link.dumps())
        with signing_key_env(signing_key):
            write_manifest(staging)
    archive_bundle(staging, store, key.prefix)
    return key


def _alter(store: FolderStore, generator: _Generator, key: RunKey) -> tuple[Item, str]:
    """Turn one failing result of the archived night `key` into a pass and reseal it without the key.

    Returns the item and its archived status. What an insider would do to make a night look
    better: the evidence stays schema-valid and self-consistent, only the signature and the next
    night's link can tell.
    """
    folder = store.root.joinpath(*key.prefix.rstrip("/").split("/"))
    evidence = folder / EVIDENCE_NAME
    document = json.loads(evidence.read_text(encoding="utf-8"))
    target = generator.item(generator.altered)
    for i, result in enumerate(document["results"]):
        if (result["control"], result["resource"]) == (target.control, target.resource):
            status = str(result["status"])
            document["results"][i] = generator.passing_version(result)
            break
    else:
        raise ValueError(f"{key.prefix}: no result {target.control} {target.resource} to alter")
    recount(document)
    for path in folder.iterdir():
        path.chmod(0o644)
    evidence.write_text(dumps_evidence(document, compact=generator.compact), encoding="utf-8")
    with signing_key_env(None):
        write_manifest(folder)
    for path in folder.iterdir():
        path.chmod(0o444)
    return target, status


def generate(
    out: Path,
    template: Path,
    *,
    nights: int = DEFAULT_NIGHTS,
    start: date = DEFAULT_START,
    events: PlantedEvents | None = None,
    results_per_night: int | None = None,
    signing_key: str | None = None,
    with_reports: bool = False,
    progress: bool = False,
) -> GeneratedArchive:
    """Generate `nights` archived nights into `out/archive` from the template evidence.json; return what was planted.

    `events` defaults to `PlantedEvents.for_nights(nights)`. `signing_key` is an Ed25519 private
    key in PEM (PKCS#8): the manifests are signed with it, and its public half is written to
    `out/signing-key.pub.pem`. planted.json is written to `out/planted.json`. Raises
    FileExistsError when `out/archive` holds anything, ValueError when the events do not fit the
    period or the template lacks what they need.
    """
    began = time.monotonic()
    events = events or PlantedEvents.for_nights(nights)
    events.check(nights)
    archive = out / ARCHIVE_DIR
    if archive.exists() and any(archive.iterdir()):
        raise FileExistsError(f"{archive} is not empty: generate into a new folder")
    public: Path | None = None
    if signing_key is not None:
        public_pem = public_key_pem(signing_key)
        out.mkdir(parents=True, exist_ok=True)
        public = out / PUBLIC_KEY_NAME
        public.write_bytes(public_pem)
    document = json.loads(template.read_text(encoding="utf-8"))
    generator = _Generator(document, events, start, nights, results_per_night)
    archive.mkdir(parents=True, exist_ok=True)
    store = FolderStore(archive)
    keys: dict[int, RunKey] = {}
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        for night in range(1, nights + 1):
            if night == events.missing_night:
                continue
            keys[night] = _seal_and_archive(
                generator, night, store, staging / "bundle", signing_key, with_reports
            )
            if progress and (night % 10 == 0 or night == nights):
                print(f"  night {night}/{nights} archived ({time.monotonic() - began:.1f} s)", flush=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    altered_item, archived_status = _alter(store, generator, keys[events.altered_night])
    result = _describe(
        generator, out, archive, public, keys, altered_item, archived_status, time.monotonic() - began
    )
    result.planted_file.write_text(
        json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return result


def _describe(
    generator: _Generator,
    out: Path,
    archive: Path,
    public: Path | None,
    keys: Mapping[int, RunKey],
    altered_item: Item,
    archived_status: str,
    seconds: float,
) -> GeneratedArchive:
    """Return the GeneratedArchive of a finished generation: every planted event with its dates and items."""
    e, start, nights = generator.events, generator.start, generator.nights

    def on(night: int) -> date:
        return night_date(start, night)

    failing_variant = generator.variant(e.failing_from)
    ticket_variant = generator.variant(e.ticket_from)
    error_variant = generator.variant(e.error_night)
    waiver = generator.waivers[-1]
    error_items = tuple(generator.item(i) for i in generator.error_indexes if i < generator.originals)
    first_error = generator.error_indexes[0] if generator.error_indexes else None
    template_expiries = tuple(
        TemplateWaiverExpiry(w.control, w.pattern, w.expires, w.expires + timedelta(days=1))
        for w in generator.waivers[:-1]
        if start <= w.expires + timedelta(days=1) <= on(nights)
    )
    r = generator.results[generator.ticketed]
    return GeneratedArchive(
        out=out,
        archive=archive,
        planted_file=out / PLANTED_NAME,
        public_key=public,
        start=start,
        end=on(nights),
        nights=nights,
        results_per_night=len(generator.results),
        run_keys={k.night.isoformat(): k.prefix for k in keys.values()},
        missing_night=on(e.missing_night),
        altered=AlteredNight(
            on(e.altered_night),
            keys[e.altered_night].prefix,
            altered_item,
            archived_status,
            "pass",
            on(e.altered_night + 1),
            keys[e.altered_night + 1].prefix,
        ),
        code_change=CodeChange(on(e.code_change_night), e.commit_before, e.commit_after),
        policy_change=PolicyChange(
            on(e.policy_change_night),
            e.policy_key,
            generator.policy_before,
            e.policy_value,
            generator.config_before,
            generator.config_after,
        ),
        failing=FailingInterval(
            generator.item(generator.failing),
            on(e.failing_from),
            on(e.failing_from + e.failing_nights - 1),
            on(e.failing_from + e.failing_nights),
            e.failing_nights,
            str(generator.failing_version(generator.failing, failing_variant)["message"]),
        ),
        ticket=OpenTicket(
            generator.item(generator.ticketed),
            on(e.ticket_from),
            e.ticket_key,
            generator.ticket_url(),
            e.ticket_backend,
            generator.ticket_scope,
            fingerprint(r["control"], generator.ticket_scope),
            on(e.ticket_from),
            tuple(on(n) for n in generator.comment_nights()),
            str(generator.failing_version(generator.ticketed, ticket_variant)["message"]),
        ),
        waiver=PlantedWaiver(
            generator.item(generator.waived),
            waiver.approved_by,
            waiver.justification,
            waiver.expires,
            on(e.waiver_expired_from - 1),
            on(e.waiver_expired_from),
        ),
        error_night=ErrorNight(
            on(e.error_night),
            e.error_subscription,
            len(generator.error_indexes),
            error_items,
            str(generator.error_version(first_error, error_variant)["message"])
            if first_error is not None
            else "",
        ),
        template_waiver_expiries=template_expiries,
        events=e,
        seconds=round(seconds, 2),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 generated, 2 a usage or template problem)."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.period_archive",
        description="Generate an archive of nightly demo bundles with planted events (see planted.json).",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to create: OUT/archive and OUT/planted.json"
    )
    parser.add_argument(
        "--nights", type=positive_int, default=DEFAULT_NIGHTS, help="nights in the period (default 120)"
    )
    parser.add_argument(
        "--start", type=iso_date, default=DEFAULT_START, help="the first night (default 2026-06-01)"
    )
    parser.add_argument(
        "--template",
        type=Path,
        help="evidence.json of a demo run (default: run `pytest controls/ --demo` now)",
    )
    parser.add_argument(
        "--results-per-night",
        type=positive_int,
        help="multiply the template's results up to N per night (scale)",
    )
    parser.add_argument(
        "--signing-key", type=Path, help="Ed25519 private key (PEM, PKCS#8) to sign every manifest"
    )
    parser.add_argument(
        "--with-reports",
        action="store_true",
        help="also write report.html, junit.xml and OSCAL per night (slower)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    signing_key: str | None = None
    if args.signing_key is not None:
        try:
            signing_key = args.signing_key.read_text(encoding="utf-8")
            public_key_pem(signing_key)
        except (OSError, ValueError) as exc:
            print(
                f"--signing-key {args.signing_key}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr
            )
            return 2
    try:
        events = PlantedEvents.for_nights(args.nights)
        events.check(args.nights)
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="period-template-") as work:
            template: Path = args.template or run_demo_template(Path(work))
            if not template.is_file():
                print(f"--template {template}: no such file", file=sys.stderr)
                return 2
            print(
                f"generating {args.nights} nights from {args.start} into {out / ARCHIVE_DIR} ...", flush=True
            )
            result = generate(
                out,
                template,
                nights=args.nights,
                start=args.start,
                events=events,
                results_per_night=args.results_per_night,
                signing_key=signing_key,
                with_reports=args.with_reports,
                progress=True,
            )
    except (ValueError, FileExistsError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"archived {len(result.run_keys)} of {result.nights} nights ({result.results_per_night} results each) "
        f"in {result.seconds:.1f} s: {result.archive}"
    )
    print(f"planted events: {result.planted_file}")
    check = f"python -m reports verify-chain {result.archive}"
    if result.public_key is not None:
        check += f" --public-key {result.public_key}"
    print(f"verify: {check}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
