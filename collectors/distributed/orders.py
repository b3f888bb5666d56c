"""One work order: which part of a run one site collects, and the config narrowed to that part.

An order carries the run's audit.toml text (it holds no secret: credentials are only ever named
as environment variables, which the worker reads at its own site), the run id, the site, the
kind, and what exactly to read. It never carries a secret, a token or a password.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from collectors.config.estate import EstateConfig

Kind = Literal["azure", "hosts", "databases", "tls", "probes"]
KINDS: tuple[str, ...] = get_args(Kind)
CONFIG_DIR_VARIABLE = "AUDITOR_CONFIG_DIR"
"""A worker resolves the config's relative paths (key files, CA bundles) against this folder
when it is set, else against the folder the coordinator's config file is in."""


class OrderError(ValueError):
    """A work order that cannot be carried out as sent; the message says what is wrong."""


@dataclass(frozen=True)
class WorkOrder:
    """What one task asks one site to collect for one run."""

    run_id: str
    task_id: str
    site: str
    kind: Kind
    config_toml: str
    config_path: str
    deadline: datetime
    names: tuple[str, ...] = ()
    """hosts / databases: the entries to read, by name."""
    subscriptions: tuple[str, ...] = ()
    """azure: the subscriptions to read (empty: every subscription the credential sees)."""
    targets: tuple[dict[str, Any], ...] = ()
    """probes: the targets (`ProbeTarget` as address, port, origins, judged)."""
    endpoints: tuple[int, ...] = ()
    """tls: the indexes of the `[[endpoints]]` entries to scan."""
    discovered: tuple[dict[str, Any], ...] = ()
    """tls: the endpoints Azure published that this site scans (host, port, kind, resource_id)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Return e.g. 'hosts at rivium (3)': what the order is, for progress lines and the cover."""
        count = len(self.names) or len(self.subscriptions) or len(self.targets) or len(self.endpoints)
        count += len(self.discovered) if self.kind == "tls" else 0
        return f"{self.kind} at {self.site}" + (f" ({count})" if count else "")

    def as_json(self) -> dict[str, Any]:
        """Return the order as the task's only argument (JSON: the broker never sees a pickle)."""
        return {
            "run_id": self.run_id,
            "task_id": self.task_id,
            "site": self.site,
            "kind": self.kind,
            "config_toml": self.config_toml,
            "config_path": self.config_path,
            "deadline": self.deadline.isoformat(),
            "names": list(self.names),
            "subscriptions": list(self.subscriptions),
            "targets": list(self.targets),
            "endpoints": list(self.endpoints),
            "discovered": list(self.discovered),
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: Any) -> WorkOrder:
        """Return the order a task was sent; OrderError when it is not one."""
        if not isinstance(data, dict):
            raise OrderError(f"a work order is an object, got {type(data).__name__}")
        try:
            kind = data["kind"]
            if kind not in KINDS:
                raise OrderError(f"unknown kind {kind!r}")
            deadline = datetime.fromisoformat(str(data["deadline"]))
            if deadline.tzinfo is None:
                raise OrderError("the deadline has no time zone")
            return cls(
                run_id=str(data["run_id"]),
                task_id=str(data["task_id"]),
                site=str(data["site"]),
                kind=kind,
                config_toml=str(data["config_toml"]),
                config_path=str(data["config_path"]),
                deadline=deadline,
                names=tuple(str(n) for n in data.get("names", [])),
                subscriptions=tuple(str(s) for s in data.get("subscriptions", [])),
                targets=tuple(dict(t) for t in data.get("targets", [])),
                endpoints=tuple(int(i) for i in data.get("endpoints", [])),
                discovered=tuple(dict(d) for d in data.get("discovered", [])),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, OrderError):
                raise
            raise OrderError(f"malformed work order: {type(exc).__name__}: {exc}") from None


def config_from_toml(text: str, path: str) -> EstateConfig:
    """Return the estate part of the run's audit.toml as the worker reads it.

    The harness's own sections (tickets, archive, history) are the coordinator's business and
    are left out. Relative paths resolve against `AUDITOR_CONFIG_DIR` when the worker sets it.
    """
    data = tomllib.loads(text)
    estate = {key: value for key, value in data.items() if key in EstateConfig.model_fields}
    folder = os.environ.get(CONFIG_DIR_VARIABLE)
    where = Path(folder) / Path(path).name if folder else Path(path)
    return EstateConfig.model_validate(
        {**estate, "path": where, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    )


def narrowed(config: EstateConfig, order: WorkOrder) -> EstateConfig:
    """Return the config with only what `order` collects: nothing else is read at that site."""
    keep_hosts = set(order.names) if order.kind == "hosts" else set()
    # A host is reached through its bastion: the bastion's entry travels with it.
    hosts = [h for h in config.hosts if h.name in keep_hosts]
    wanted = {h.jump for h in hosts if h.jump}
    while wanted - {h.name for h in hosts}:
        hosts += [h for h in config.hosts if h.name in wanted and h not in hosts]
        wanted = {h.jump for h in hosts if h.jump}
    servers = set(order.names) if order.kind == "databases" else set()
    databases = [d for d in config.databases if d.name in servers]
    azure = None
    if order.kind == "azure" and config.azure is not None:
        azure = config.azure.model_copy(
            update={"subscriptions": list(order.subscriptions) or config.azure.subscriptions}
        )
    elif order.kind == "tls" and order.discovered and config.azure is not None:
        azure = config.azure  # only its scan_discovered_endpoints setting is read
    return config.model_copy(
        update={
            "azure": azure,
            "hosts": hosts,
            "databases": databases,
            "applications": [a for a in config.applications if a.server in servers],
            "endpoints": [e for i, e in enumerate(config.endpoints) if i in set(order.endpoints)]
            if order.kind == "tls"
            else [],
            "probes": [],
            "attestations": [],
            "subprocessors": None,
            "distributed": None,
        }
    )
