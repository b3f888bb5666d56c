"""Populations of subjects that controls are evaluated over.

A population is what one control iterates: every SQL database, every SQL server, every
attested datacenter. Each subject either carries a fact or says why it could not be
collected (an `error` result), and an empty or out-of-scope population carries its reason
(a `not_applicable` result): nothing is ever silently green.

Those reasons and the population notes are read by people, so they are `Message`s (a catalog
text with its parameters, rendered in the report's language); what a target said itself (an
API's error, a host's output) is a plain-text parameter of them, shown as it was received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from collectors.messages import Reason, comma_list
from reports.evidence import Message, Source, msg

FactT = TypeVar("FactT", covariant=True)
T = TypeVar("T")


@dataclass(frozen=True)
class Subject(Generic[FactT]):
    """One resource a control judges: its stable id and its fact, or why the fact is missing."""

    id: str
    fact: FactT | None
    sources: tuple[Source, ...] = ()
    error: Reason | None = None

    def __post_init__(self) -> None:
        if (self.fact is None) == (self.error is None):
            raise ValueError(f"subject {self.id}: exactly one of fact and error must be set")


def observed(subject_id: str, fact: T, sources: Iterable[Source] = ()) -> Subject[T]:
    """Return a subject whose fact was collected."""
    return Subject(id=subject_id, fact=fact, sources=tuple(sources))


def unobservable(subject_id: str, error: Reason, sources: Iterable[Source] = ()) -> Subject[object]:
    """Return a subject whose fact could not be collected; its controls report `error`."""
    return Subject(id=subject_id, fact=None, error=error, sources=tuple(sources))


@dataclass
class Population:
    """Every subject of one kind, as named by a control's `over=`."""

    name: str
    subjects: list[Subject[object]] = field(default_factory=list)
    out_of_scope: Reason | None = None
    """Set when the config leaves this source out; every control over it is not_applicable."""
    empty_reason: Reason = field(default_factory=lambda: msg("nothing of this kind was found in scope"))
    """Shown as the not_applicable reason when the source was read but held no subject."""
    notes: list[Reason] = field(default_factory=list)
    """Scope remarks for the report, e.g. which system databases were excluded."""
    _originals: dict[str, list[Subject[object]]] = field(default_factory=dict, repr=False)
    """The subjects as collected, per id that more than one subject claimed (see `add`)."""
    _ids: set[str] = field(default_factory=set, repr=False)
    _indexed: int = field(default=0, repr=False)
    """How many subjects `_ids` was built from (a direct change to `subjects` triggers a re-index)."""

    def add(self, subject: Subject[object]) -> None:
        """Append a subject; when its id is already taken, every subject of that id becomes an error.

        Two different subjects under one id cannot both be judged by id (reports, waivers, tickets
        and baselines key on it), and keeping only one would silently drop the other: so neither
        is judged, and each item says why. A subject equal to one already held (the same fact from
        the same sources) is the same observation twice and is kept once.
        """
        if len(self.subjects) != self._indexed:  # subjects changed behind add's back: re-index
            self._ids = {existing.id for existing in self.subjects}
        if subject.id not in self._ids:  # the common case, without a scan of the population
            self.subjects.append(subject)
            self._ids.add(subject.id)
            self._indexed = len(self.subjects)
            return
        same = [index for index, existing in enumerate(self.subjects) if existing.id == subject.id]
        if subject in self._originals.get(subject.id, [self.subjects[same[0]]]):
            return
        originals = [*self._originals.get(subject.id, [self.subjects[index] for index in same]), subject]
        self._originals[subject.id] = originals
        self.subjects[:] = [existing for existing in self.subjects if existing.id != subject.id]
        for number, original in enumerate(originals, start=1):
            self.subjects.append(
                Subject(
                    id=subject.id,
                    fact=None,
                    sources=original.sources,
                    error=duplicate_reason(subject.id, number, originals),
                )
            )
        self._indexed = len(self.subjects)

    def add_first(self, subject: Subject[object]) -> bool:
        """Append a subject unless its id is already taken; return True when it was added.

        Only for populations no control judges (a work list such as the endpoints to scan,
        where the first subject of an id stands for all); judged populations use `add`.
        """
        if any(existing.id == subject.id for existing in self.subjects):
            return False
        self.add(subject)
        return True


def duplicate_reason(subject_id: str, number: int, subjects: list[Subject[object]]) -> Message:
    """Return the error of the `number`th of several subjects that share `subject_id`, naming each one."""
    described: list[Message] = []
    for index, subject in enumerate(subjects, start=1):
        origin: Reason = "; ".join(f"{s.collector} {s.call}" for s in subject.sources) or msg(
            "no source recorded"
        )
        what = (
            msg("error: {error}", error=subject.error)
            if subject.error is not None
            else msg("a collected fact")
        )
        described.append(msg("#{index} ({what}; from {origin})", index=index, what=what, origin=origin))
    count: Reason = {2: msg("two"), 3: msg("three")}.get(len(subjects), str(len(subjects)))
    return msg(
        "{count} subjects share the id {id} (this is #{number}): {subjects}; none is judged, since a "
        "verdict by id would hide the others (check the inventory, or the collector or source that "
        "produced the duplicate)",
        count=count,
        id=subject_id,
        number=number,
        subjects=comma_list(described),
    )


class FactStore:
    """All populations of one run, collected once before any control is evaluated."""

    def __init__(self) -> None:
        self._populations: dict[str, Population] = {}

    def population(self, name: str) -> Population:
        """Return the population called `name`, creating an empty one on first use."""
        return self._populations.setdefault(name, Population(name=name))

    def mark_out_of_scope(self, names: Iterable[str], reason: Reason) -> None:
        """Declare populations out of scope because the config leaves their source out."""
        for name in names:
            self.population(name).out_of_scope = reason

    def get(self, name: str) -> Population | None:
        """Return the population called `name` if any collector declared it."""
        return self._populations.get(name)

    def names(self) -> list[str]:
        """Return the names of all declared populations."""
        return sorted(self._populations)
