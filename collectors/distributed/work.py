"""What a site's worker does with a work order: collect its part, recording every raw answer.

The collectors are the very ones a single-process run uses, in record mode; the answer is the
recording's part for what was read (ARM exchanges, host runs, database reads, TLS results, a
probe run), plus who answered and when. Credentials come from the worker's own environment.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import date
from typing import Any

from collectors.azure.arm import ArmUnavailable
from collectors.azure.collect import collect_azure
from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.databases.collect import collect_databases
from collectors.distributed.orders import WorkOrder, config_from_toml, narrowed
from collectors.facts import FactStore, observed
from collectors.hosts.collect import collect_hosts
from collectors.probes.collect import observe_probes
from collectors.probes.observations import ProbeTarget
from collectors.recording import Recording
from collectors.tls.scanner import collect_tls
from reports.evidence import utc_now

ANSWER_VERSION = 1


def carry_out(
    order: WorkOrder, *, worker: str = "", progress: Callable[[str], None] = lambda line: None
) -> dict[str, Any]:
    """Return the answer to `order`: its recording part, the worker's name and when it finished.

    `worker` is the Celery node name (e.g. rivium@db-probe-01); the coordinator's own answers
    for the "local" site name this machine.

    An order past its deadline is not started: its answer would be refused anyway. ARM that
    cannot be read at all is an answer too (`azure_unavailable`), so the coordinator can say why.
    """
    answer: dict[str, Any] = {
        "version": ANSWER_VERSION,
        "run_id": order.run_id,
        "task_id": order.task_id,
        "site": order.site,
        "kind": order.kind,
        "worker": worker or f"{order.site}@{socket.gethostname()}",
        "started_at": utc_now().isoformat(),
    }
    if utc_now() > order.deadline:
        answer["late"] = True
        answer["finished_at"] = utc_now().isoformat()
        return answer
    config = narrowed(config_from_toml(order.config_toml, order.config_path), order)
    recording = Recording(endpoint="", run_date=date.today().isoformat())
    store = FactStore()
    part: dict[str, Any] = {}
    if order.kind == "azure" and config.azure is not None:
        recording.endpoint = config.azure.endpoint
        try:
            collect_azure(config, config.azure, store, recording=recording, replay=None, progress=progress)
        except ArmUnavailable as exc:
            part["azure_unavailable"] = str(exc)
        part["endpoint"] = config.azure.endpoint
        part["exchanges"] = [exchange.as_json() for exchange in recording.exchanges()]
        part["azure_principal"] = recording.azure_principal
    elif order.kind == "hosts":
        collect_hosts(config, store, recording=recording, replay=None, progress=progress)
        part["hosts"] = [run.as_json() for run in recording.host_runs.values()]
    elif order.kind == "databases":
        collect_databases(config, store, recording=recording, replay=None, progress=progress)
        part["databases"] = recording.databases or {}
    elif order.kind == "tls":
        published = store.population(AZURE_ENDPOINTS)
        for item in order.discovered:
            endpoint = DiscoveredEndpoint(
                str(item["host"]), int(item["port"]), str(item["kind"]), str(item["resource_id"])
            )
            published.add(observed(f"{endpoint.host}:{endpoint.port}", endpoint))
        collect_tls(
            config,
            store,
            include_discovered=bool(order.discovered),
            record=lambda items: part.__setitem__("tls", items),
            progress=progress,
        )
        part.setdefault("tls", [])
    elif order.kind == "probes":
        targets = [
            ProbeTarget(
                str(t["address"]), int(t["port"]), tuple(str(o) for o in t["origins"]), bool(t["judged"])
            )
            for t in order.targets
        ]
        run = observe_probes(
            targets,
            max_concurrency=config.probing.max_concurrency,
            timeout=config.probing.timeout_seconds,
            site=order.site,
            trust=config.vantage_of(order.site),
        )
        part["probes"] = run.as_json()
    answer["part"] = part
    answer["finished_at"] = utc_now().isoformat()
    return answer
