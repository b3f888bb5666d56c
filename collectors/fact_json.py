"""Facts to JSON and back, for recordings of observations that have no raw wire form worth keeping.

A TLS scan is hundreds of handshakes; what the recording keeps is the scanner's result, as a
typed fact, rebuilt into the same dataclasses on replay so the controls judge it unchanged.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from collectors.facts import Subject
from collectors.provenance import Source

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """Return a fact (dataclasses, tuples, dates, paths, primitives) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def _build(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if data is None:
            return None
        return _build(options[0], data) if len(options) == 1 else data
    if origin is typing.Literal:
        return data
    if origin is tuple:
        (item, *_rest) = typing.get_args(hint)
        return tuple(_build(item, v) for v in data)
    if origin is list:
        return [_build(typing.get_args(hint)[0], v) for v in data]
    if origin is dict:
        return dict(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, data)
    if hint is datetime:
        return datetime.fromisoformat(data)
    if hint is date:
        return date.fromisoformat(data)
    if hint is Path:
        return Path(data)
    return data


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """Return the dataclass `cls` rebuilt from `to_json` output (nested facts, tuples and dates typed again)."""
    hints = typing.get_type_hints(cls)
    values = {f.name: _build(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
    return cls(**values)


def subject_to_json(subject: Subject[Any]) -> dict[str, Any]:
    """Return a subject (fact or error, with its sources) as JSON-ready data."""
    return {
        "id": subject.id,
        "fact": to_json(subject.fact) if subject.fact is not None else None,
        "error": subject.error,
        "sources": [s.as_json() for s in subject.sources],
    }


def subject_from_json(fact_type: type[Any], data: dict[str, Any]) -> Subject[Any]:
    """Return a subject rebuilt from `subject_to_json` output, its fact typed as `fact_type`."""
    sources = tuple(
        Source(
            collector=s["collector"],
            call=s["call"],
            collected_at=datetime.fromisoformat(s["collected_at"].replace("Z", "+00:00")),
            sha256=s["sha256"],
            api_version=s.get("api_version"),
            status=s.get("status"),
        )
        for s in data.get("sources", [])
    )
    fact = from_json(fact_type, data["fact"]) if data.get("fact") is not None else None
    return Subject(id=data["id"], fact=fact, sources=sources, error=data.get("error"))
