"""The sites' answers merged into one recording, and the gaps of the orders that never answered.

A gap is written in the recording format itself, as exactly the items of its order: a host run
or a database read that failed, a TLS result that is an error, a probe run from that site that
did not answer, subscriptions whose observations never came back. The merged recording then
replays like any other, so an unanswered order's items are `error`: never absent, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from collectors.azure.facts import DiscoveredEndpoint
from collectors.azure.pacing import TENANT_BUCKET, bucket_of
from collectors.config.estate import EstateConfig
from collectors.distributed.orders import WorkOrder, narrowed
from collectors.fact_json import subject_to_json
from collectors.facts import unobservable
from collectors.messages import Reason, english_text, reason_json
from collectors.probes.observations import ProbeRun, ProbeTarget, TargetObservation, VantagePoint
from collectors.recording import (
    Exchange,
    HostRun,
    Recording,
    RecordingShapeError,
    check_databases_part,
    check_probes_part,
    check_tls_part,
)
from collectors.tls.facts import TlsTarget
from collectors.tls.scanner import endpoints_to_scan
from reports.evidence import Message, msg, utc_now

Outcome = Literal["answered", "unanswered", "failed", "refused"]


class AnswerRefused(ValueError):
    """An answer that is not for this order (another run, another task) or not in the recording format."""


@dataclass
class OrderAccount:
    """What became of one order: answered (by which worker, how long), or why its items are `error`."""

    order: WorkOrder
    outcome: Outcome
    worker: str = ""
    seconds: float = 0.0
    reason: Reason | None = None

    def as_json(self, render: Callable[[Message], str]) -> dict[str, object]:
        """Return the order's line on the cover (evidence.json `run.scope.sites[].orders[]`), in the run's words."""
        return {
            "kind": self.order.kind,
            "what": self.order.describe(),
            "outcome": self.outcome,
            "worker": self.worker,
            "seconds": round(self.seconds, 3),
            "reason": None
            if self.reason is None
            else (render(self.reason) if isinstance(self.reason, Message) else self.reason),
        }


@dataclass
class MergedRecording:
    """The run's merged recording and the account of every order, per site."""

    recording: Recording
    accounts: list[OrderAccount] = field(default_factory=list)

    def answered(self, kind: str) -> list[OrderAccount]:
        """Return the answered orders of one kind."""
        return [a for a in self.accounts if a.order.kind == kind and a.outcome == "answered"]


def check_answer(order: WorkOrder, answer: Any) -> dict[str, Any]:
    """Return the answer's part when it answers exactly `order`; AnswerRefused otherwise.

    An answer carrying another run id is refused: a late result of an earlier night never
    becomes evidence for tonight.
    """
    if not isinstance(answer, dict):
        raise AnswerRefused(f"the answer is not an object but {type(answer).__name__}")
    for key in ("run_id", "task_id", "site", "kind"):
        if answer.get(key) != getattr(order, key):
            raise AnswerRefused(
                f"the answer is for {key} {answer.get(key)!r}, not {getattr(order, key)!r} (refused)"
            )
    if answer.get("late"):
        raise AnswerRefused("the worker took the order after its deadline and did not carry it out")
    part = answer.get("part")
    if not isinstance(part, dict):
        raise AnswerRefused("the answer holds no part")
    try:
        if part.get("tls"):
            check_tls_part(part["tls"])
        if "probes" in part:
            check_probes_part(part["probes"])
        if "databases" in part:
            check_databases_part(part["databases"])
    except RecordingShapeError as exc:
        raise AnswerRefused(f"the answer is not in the recording format: {exc}") from None
    return part


def merge_part(
    config: EstateConfig, merged: MergedRecording, order: WorkOrder, part: dict[str, Any]
) -> Reason | None:
    """Add an answered order's observations to the merged recording; return why it is all a gap, if so.

    Only what the order asked for is taken, and everything it asked for is there afterwards: an
    item the answer leaves out becomes an `error` (never absent), an item it was not asked for
    is dropped (a site never answers for another's), and a probe run's site and trust are the
    coordinator's, never the worker's word (a worker calling itself trusted would hide an open port).
    """
    recording = merged.recording
    omitted = msg("site {site} answered without this item", site=order.site)
    try:
        if order.kind == "azure":
            if part.get("azure_unavailable"):
                return msg(
                    "site {site} could not read Azure: {error}",
                    site=order.site,
                    error=str(part["azure_unavailable"]),
                )
            chunk = {s.lower() for s in order.subscriptions}
            for index, item in enumerate(part.get("exchanges") or []):
                exchange = Exchange.from_json(item, f"exchanges[{index}]")
                bucket = bucket_of(urlsplit(exchange.url).path)
                if chunk and bucket != TENANT_BUCKET and bucket not in chunk:
                    continue  # another chunk's subscription: not this order's to answer
                if recording.get(exchange.method, exchange.url, exchange.request_body) is None:
                    recording.put(exchange)
            if part.get("azure_principal") and recording.azure_principal is None:
                recording.azure_principal = {str(k): str(v) for k, v in dict(part["azure_principal"]).items()}
        elif order.kind == "hosts":
            host_runs = {
                run.host: run
                for run in (
                    HostRun.from_json(item, f"hosts[{i}]") for i, item in enumerate(part.get("hosts") or [])
                )
            }
            for name in order.names:
                if name in host_runs:
                    recording.put_host(host_runs[name])
                else:
                    fill_gap(config, merged, replace(order, names=(name,)), omitted)
        elif order.kind == "databases":
            reads = dict(part.get("databases") or {})
            kept = {name: reads[name] for name in order.names if name in reads}
            recording.databases = {**(recording.databases or {}), **kept}
            missing = tuple(name for name in order.names if name not in reads)
            if missing:
                fill_gap(config, merged, replace(order, names=missing), omitted)
        elif order.kind == "tls":
            expected = {t.id for t in _tls_targets(config, order)}
            answered = [item for item in part.get("tls") or [] if item.get("id") in expected]
            recording.tls = [*(recording.tls or []), *answered]
            seen = {item["id"] for item in answered}
            for target_id in sorted(expected - seen):
                recording.tls = [*recording.tls, subject_to_json(unobservable(target_id, omitted))]
        elif order.kind == "probes":
            run = ProbeRun.from_json(part["probes"])
            observed = {(o.target.address, o.target.port): o for o in run.observations}
            observations = []
            for wanted in _probe_targets(order):
                found = observed.get((wanted.address, wanted.port))
                observations.append(
                    TargetObservation(wanted, found.resolve_error, found.attempts, found.unreadable)
                    if found is not None
                    else TargetObservation(wanted, None, unreadable=english_text(omitted))
                )
            vantage = replace(run.vantage, site=order.site, trust=config.vantage_of(order.site))
            runs = recording.probes if isinstance(recording.probes, list) else []
            recording.probes = [
                *runs,
                replace(run, vantage=vantage, observations=tuple(observations)).as_json(),
            ]
    except (RecordingShapeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return msg(
            "the answer of site {site} is not in the recording format: {error}",
            site=order.site,
            error=str(exc),
        )
    return None


def _tls_targets(config: EstateConfig, order: WorkOrder) -> list[TlsTarget]:
    discovered = [
        DiscoveredEndpoint(str(d["host"]), int(d["port"]), str(d["kind"]), str(d["resource_id"]))
        for d in order.discovered
    ]
    return endpoints_to_scan(narrowed(config, order), discovered)


def _probe_targets(order: WorkOrder) -> list[ProbeTarget]:
    return [
        ProbeTarget(str(t["address"]), int(t["port"]), tuple(str(o) for o in t["origins"]), bool(t["judged"]))
        for t in order.targets
    ]


def fill_gap(config: EstateConfig, merged: MergedRecording, order: WorkOrder, reason: Reason) -> None:
    """Write `order`'s items into the merged recording as `error`, saying `reason`."""
    recording = merged.recording
    now = utc_now()
    if order.kind == "azure":
        if order.subscriptions:
            for subscription in order.subscriptions:
                recording.unanswered_subscriptions[subscription] = reason
        else:
            recording.azure_unanswered = reason
    elif order.kind == "hosts":
        for name in order.names:
            recording.put_host(
                HostRun(
                    host=name,
                    os="auto",
                    command_sha256="",
                    exit_code=-1,
                    stdout=b"",
                    stderr=b"",
                    recorded_at=now,
                    error=reason,
                )
            )
    elif order.kind == "databases":
        engines = {d.name: d.engine for d in config.databases}
        recording.databases = {
            **(recording.databases or {}),
            **{
                name: {"engine": engines[name], "collected_at": now.isoformat(), "error": reason_json(reason)}
                for name in order.names
            },
        }
    elif order.kind == "tls":
        discovered = [
            DiscoveredEndpoint(str(d["host"]), int(d["port"]), str(d["kind"]), str(d["resource_id"]))
            for d in order.discovered
        ]
        targets = endpoints_to_scan(narrowed(config, order), discovered)
        recording.tls = [
            *(recording.tls or []),
            *(subject_to_json(unobservable(t.id, reason)) for t in targets),
        ]
    elif order.kind == "probes":
        run = ProbeRun(
            vantage=VantagePoint(
                host=order.site,
                source_addresses=(),
                started_at=now,
                site=order.site,
                trust=config.vantage_of(order.site),
            ),
            timeout=config.probing.timeout_seconds,
            observations=tuple(
                TargetObservation(
                    ProbeTarget(str(t["address"]), int(t["port"]), tuple(t["origins"]), bool(t["judged"])),
                    None,
                )
                for t in order.targets
            ),
            unanswered=reason,
        )
        runs = recording.probes if isinstance(recording.probes, list) else []
        recording.probes = [*runs, run.as_json()]


def finish(config: EstateConfig, merged: MergedRecording) -> None:
    """Settle what spans orders: Azure with no answered chunk at all is unanswered as a whole.

    (Without any answer there is not even the subscription list to replay.)
    """
    recording = merged.recording
    azure_orders = [a for a in merged.accounts if a.order.kind == "azure"]
    recording.azure_chunks = [a.order.subscriptions for a in azure_orders if a.order.subscriptions]
    if azure_orders and not any(a.outcome == "answered" for a in azure_orders):
        first = next(a.reason for a in azure_orders if a.reason is not None)
        recording.azure_unanswered = first
        recording.unanswered_subscriptions.clear()
    if config.azure is not None and recording.endpoint == "":
        recording.endpoint = config.azure.endpoint


def deadline_reason(site: str, deadline: datetime) -> Reason:
    """Return "site rivium did not answer by 02:40 UTC": the reason of an order that never came back."""
    return msg(
        "site {site} did not answer by {time} UTC",
        site=site,
        time=deadline.astimezone(UTC).strftime("%H:%M:%S"),
    )


def sites_json(
    config: EstateConfig, accounts: Sequence[OrderAccount], render: Callable[[Message], str]
) -> list[dict[str, object]]:
    """Return each site with what it returned: evidence.json `run.scope.sites`, listed on the cover."""
    sites = []
    for site in config.site_names():
        mine = [a for a in accounts if a.order.site == site]
        if not mine:
            continue
        description = next((s.description for s in config.sites if s.name == site), "")
        sites.append(
            {
                "name": site,
                "description": description,
                "vantage": config.vantage_of(site),
                "orders": [a.as_json(render) for a in mine],
                "answered": sum(1 for a in mine if a.outcome == "answered"),
                "unanswered": sum(1 for a in mine if a.outcome != "answered"),
            }
        )
    return sites
