"""Read the tracker registers the config names (`[data_subject_requests]`, `[breach_notifications]`).

Each register becomes one population, one subject per ticket (id = the ticket key). A register
that cannot be read at all is one `error` subject naming the register, and so is one whose pages
answered a ticket key more than once (overlapping or repeated pages: tickets may be missing, so
the register is not judged as if complete); a section the config leaves out marks its population
out of scope. `--record` keeps the reduced tickets (keys and
times, see records.py) under the recording's `trackers` part; `--replay` builds the same facts
from them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from collectors.config.estate import EstateConfig
from collectors.config.trackers import TrackerSource
from collectors.facts import FactStore, unobservable
from collectors.messages import reason_from_json, reason_json
from collectors.recording import Recording
from collectors.trackers.facts import BREACH_POPULATION, DSR_POPULATION
from collectors.trackers.http import TrackerUnreadable
from collectors.trackers.records import duplicate_keys, subjects
from reports.evidence import Source, msg, utc_now

REGISTERS = (
    ("data_subject_requests", DSR_POPULATION),
    ("breach_notifications", BREACH_POPULATION),
)
"""(config section, population) of every tracker register."""


class Reader(Protocol):
    def query(self) -> str: ...

    def read(self) -> list[dict[str, Any]]: ...


def reader_for(source: TrackerSource) -> Reader:
    """Return the reader of the source's tracker (credentials read here: TrackerUnreadable when missing)."""
    if source.tracker == "jira":
        from collectors.trackers.jira import JiraReader

        return JiraReader(source)
    if source.tracker == "azure-devops":
        from collectors.trackers.azure_devops import AzureDevOpsReader

        return AzureDevOpsReader(source)
    from collectors.trackers.github import GitHubReader

    return GitHubReader(source)


def read_register(source: TrackerSource) -> dict[str, Any]:
    """Return one register's read as the recording keeps it: query, time, error or tickets."""
    observed_at = utc_now()
    try:
        reader = reader_for(source)
        query = reader.query()
        tickets = reader.read()
    except TrackerUnreadable as exc:
        return {
            "register": source.register(),
            "query": None,
            "observed_at": observed_at.isoformat(),
            "error": reason_json(exc.reason),
            "tickets": [],
        }
    return {
        "register": source.register(),
        "query": query,
        "observed_at": observed_at.isoformat(),
        "error": None,
        "tickets": tickets,
    }


def _fill(
    store: FactStore, section: str, population_name: str, source: TrackerSource, read: dict[str, Any]
) -> None:
    population = store.population(population_name)
    register = str(read.get("register") or source.register())
    observed_at = datetime.fromisoformat(str(read["observed_at"]))
    tickets = list(read.get("tickets") or [])
    twice = duplicate_keys(tickets) if read.get("error") is None else []
    if read.get("error") is not None or twice:
        reason = (
            reason_from_json(read["error"])
            if read.get("error") is not None
            else msg(
                "its pages answered {keys} more than once, so other tickets may be missing",
                keys=", ".join(twice),
            )
        )
        population.add(
            unobservable(
                f"{section}:{register}",
                msg("the register {register} cannot be read: {reason}", register=register, reason=reason),
                [Source(collector="tracker", call=register, collected_at=observed_at, sha256="")],
            )
        )
        return
    population.empty_reason = msg(
        "the register {register} holds no ticket ({query})", register=register, query=str(read.get("query"))
    )
    population.notes.append(
        msg(
            "{count} tickets read from {register} ({query})",
            count=len(tickets),
            register=register,
            query=str(read.get("query")),
        )
    )
    for subject in subjects(tickets, source, observed_at):
        population.add(subject)


def collect_trackers(
    config: EstateConfig,
    store: FactStore,
    *,
    recording: Recording | None = None,
    replay: Recording | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> None:
    """Fill the tracker populations from the live trackers, or from `replay`'s `trackers` part."""
    for section, population_name in REGISTERS:
        source: TrackerSource | None = getattr(config, section, None)
        if source is None:
            store.mark_out_of_scope(
                [population_name],
                msg("the tracker is out of scope: the config has no [{section}] section", section=section),
            )
            continue
        if replay is not None:
            recorded = (replay.trackers or {}).get(section)
            if recorded is None:
                store.mark_out_of_scope(
                    [population_name],
                    msg("the replayed recording holds no read of [{section}]", section=section),
                )
                continue
            read = recorded
        else:
            progress(f"tracker: reading {source.register()}")
            read = read_register(source)
        if recording is not None:
            recording.trackers = {**(recording.trackers or {}), section: read}
        _fill(store, section, population_name, source, read)
