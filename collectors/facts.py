"""Populations of subjects that controls are evaluated over.

A population is what one control iterates: every SQL database, every SQL server, every
attested datacenter. Each subject either carries a fact or says why it could not be
collected (an `error` result), and an empty or out-of-scope population carries its reason
(a `not_applicable` result): nothing is ever silently green.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from collectors.provenance import Source

FactT = TypeVar("FactT", covariant=True)
T = TypeVar("T")


@dataclass(frozen=True)
class Subject(Generic[FactT]):
    """One resource a control judges: its stable id and its fact, or why the fact is missing."""

    id: str
    fact: FactT | None
    sources: tuple[Source, ...] = ()
    error: str | None = None

    def __post_init__(self) -> None:
        if (self.fact is None) == (self.error is None):
            raise ValueError(f"subject {self.id}: exactly one of fact and error must be set")


def observed(subject_id: str, fact: T, sources: Iterable[Source] = ()) -> Subject[T]:
    """Return a subject whose fact was collected."""
    return Subject(id=subject_id, fact=fact, sources=tuple(sources))


def unobservable(subject_id: str, error: str, sources: Iterable[Source] = ()) -> Subject[object]:
    """Return a subject whose fact could not be collected; its controls report `error`."""
    return Subject(id=subject_id, fact=None, error=error, sources=tuple(sources))


@dataclass
class Population:
    """Every subject of one kind, as named by a control's `over=`."""

    name: str
    subjects: list[Subject[object]] = field(default_factory=list)
    out_of_scope: str | None = None
    """Set when the config leaves this source out; every control over it is not_applicable."""
    empty_reason: str = "nothing of this kind was found in scope"
    """Shown as the not_applicable reason when the source was read but held no subject."""
    notes: list[str] = field(default_factory=list)
    """Scope remarks for the report, e.g. which system databases were excluded."""

    def add(self, subject: Subject[object]) -> None:
        """Append a subject, keeping ids unique (a later duplicate replaces nothing)."""
        if all(existing.id != subject.id for existing in self.subjects):
            self.subjects.append(subject)


class FactStore:
    """All populations of one run, collected once before any control is evaluated."""

    def __init__(self) -> None:
        self._populations: dict[str, Population] = {}

    def population(self, name: str) -> Population:
        """Return the population called `name`, creating an empty one on first use."""
        return self._populations.setdefault(name, Population(name=name))

    def mark_out_of_scope(self, names: Iterable[str], reason: str) -> None:
        """Declare populations out of scope because the config leaves their source out."""
        for name in names:
            self.population(name).out_of_scope = reason

    def get(self, name: str) -> Population | None:
        """Return the population called `name` if any collector declared it."""
        return self._populations.get(name)

    def names(self) -> list[str]:
        """Return the names of all declared populations."""
        return sorted(self._populations)
