"""Facts to JSON and back, for recordings of observations that have no raw wire form worth keeping.

A TLS scan is hundreds of handshakes; what the recording keeps is the scanner's result, as a
typed fact, rebuilt into the same dataclasses on replay so the controls judge it unchanged.

Reading back is strict, because a replayed fact is judged as if it had just been observed: every
field must be present (except those a fact class lists in `RECORDING_OPTIONAL`, added after
recordings existed, whose default means "not observed") and of its declared type. A string is
never spread into a tuple of characters, a number is never a bool, a date carries its time zone.
Anything else raises `FactDecodeError` naming the field, so the subject becomes an `error`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from collectors.facts import Subject
from collectors.messages import reason_from_json, reason_json
from reports.evidence import Message, Source, msg, to_json

T = TypeVar("T")


class FactDecodeError(ValueError):
    """A recorded fact does not have the shape of its dataclass; the message names the field."""


def _kind(data: Any) -> str:
    return "null" if data is None else type(data).__name__


def _fail(where: str, expected: str, data: Any) -> FactDecodeError:
    shown = repr(data) if len(repr(data)) <= 60 else repr(data)[:57] + "..."
    return FactDecodeError(f"{where}: expected {expected}, got {_kind(data)} {shown}")


def _build_datetime(where: str, data: Any) -> datetime:
    if not isinstance(data, str):
        raise _fail(where, "an ISO 8601 date-time string", data)
    try:
        value = datetime.fromisoformat(data.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(where, "an ISO 8601 date-time string", data) from None
    if value.tzinfo is None:
        raise _fail(where, "a date-time with a time zone", data)
    return value


def _build_scalar(hint: Any, where: str, data: Any) -> Any:
    if hint is str:
        if not isinstance(data, str):
            raise _fail(where, "a string", data)
        return data
    if hint is bool:
        if not isinstance(data, bool):
            raise _fail(where, "true or false", data)
        return data
    if hint is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise _fail(where, "an integer", data)
        return data
    if hint is float:
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
            raise _fail(where, "a finite number", data)
        return float(data)
    if hint is datetime:
        return _build_datetime(where, data)
    if hint is date:
        if not isinstance(data, str):
            raise _fail(where, "an ISO 8601 date string", data)
        try:
            return date.fromisoformat(data)
        except ValueError:
            raise _fail(where, "an ISO 8601 date string", data) from None
    if hint is Path:
        if not isinstance(data, str) or not data:
            raise _fail(where, "a path string", data)
        return Path(data)
    raise TypeError(f"{where}: fact_json cannot read fields of type {hint!r}")


def _build(hint: Any, where: str, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if data is None:
            if type(None) in options:
                return None
            raise _fail(where, "a value", data)
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _build(option, where, data)
            except FactDecodeError as exc:
                errors.append(str(exc))
        raise FactDecodeError(
            errors[0] if len(errors) == 1 else f"{where}: no type fits: {'; '.join(errors)}"
        )
    if data is None:
        raise _fail(where, "a value", data)
    if hint is Message:
        if not isinstance(data, dict):
            raise _fail(where, "a message object", data)
        try:
            return Message.from_json(data)
        except (ValueError, TypeError) as exc:
            raise FactDecodeError(f"{where}: not a message: {exc}") from None
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if data not in allowed or type(data) is not type(next(a for a in allowed if a == data)):
            raise _fail(where, f"one of {', '.join(map(repr, allowed))}", data)
        return data
    if origin is tuple:
        if not isinstance(data, list):
            raise _fail(where, "a list", data)
        (item, *_rest) = typing.get_args(hint)
        return tuple(_build(item, f"{where}[{i}]", v) for i, v in enumerate(data))
    if origin is list:
        if not isinstance(data, list):
            raise _fail(where, "a list", data)
        return [_build(typing.get_args(hint)[0], f"{where}[{i}]", v) for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise _fail(where, "an object", data)
        key_hint, value_hint = typing.get_args(hint)
        return {
            _build(key_hint, f"{where}.<key>", k): _build(value_hint, f"{where}.{k}", v)
            for k, v in data.items()
        }
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_json(hint, data, where)
    return _build_scalar(hint, where, data)


def _from_json(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise _fail(where or cls.__name__, "an object", data)
    hints = typing.get_type_hints(cls)
    optional: frozenset[str] = getattr(cls, "RECORDING_OPTIONAL", frozenset())
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        path = f"{where}.{field.name}" if where else field.name
        if field.name not in data:
            if field.name in optional:
                continue
            raise FactDecodeError(f"{path}: missing")
        values[field.name] = _build(hints[field.name], path, data[field.name])
    return cls(**values)


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """Return the dataclass `cls` rebuilt strictly from `to_json` output; FactDecodeError naming the field if it cannot be."""
    return _from_json(cls, data, "")


def subject_to_json(subject: Subject[Any]) -> dict[str, Any]:
    """Return a subject (fact or error, with its sources) as JSON-ready data."""
    return {
        "id": subject.id,
        "fact": to_json(subject.fact) if subject.fact is not None else None,
        "error": reason_json(subject.error) if subject.error is not None else None,
        "sources": [to_json(s) for s in subject.sources],
    }


def source_from_json(data: Any) -> Source:
    """Return a recorded Source; FactDecodeError naming the field when it is malformed."""
    if not isinstance(data, dict):
        raise _fail("source", "an object", data)
    for key in ("collector", "call", "sha256"):
        if not isinstance(data.get(key), str):
            raise _fail(f"source.{key}", "a string", data.get(key))
    api_version, status = data.get("api_version"), data.get("status")
    if api_version is not None and not isinstance(api_version, str):
        raise _fail("source.api_version", "a string or null", api_version)
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise _fail("source.status", "an integer or null", status)
    return Source(
        collector=data["collector"],
        call=data["call"],
        collected_at=_build_datetime("source.collected_at", data.get("collected_at")),
        sha256=data["sha256"],
        api_version=api_version,
        status=status,
    )


def check_subject_json(data: Any) -> None:
    """Raise FactDecodeError unless `data` is a recorded subject's envelope (the fact itself is not read).

    The envelope is the recording's own structure: an id, exactly one of a fact object and an
    error (text, or a message as its id and parameters), and well-formed sources. A recording that breaks it cannot be replayed at all.
    """
    if not isinstance(data, dict):
        raise _fail("subject", "an object", data)
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise _fail("id", "a non-empty string", data.get("id"))
    fact, error = data.get("fact"), data.get("error")
    if fact is not None and not isinstance(fact, dict):
        raise _fail("fact", "an object or null", fact)
    if error is not None:
        try:
            reason_from_json(error)
        except ValueError:
            raise _fail("error", "a string, a recorded message or null", error) from None
    if (fact is None) == (error is None):
        raise FactDecodeError("exactly one of fact and error must be set")
    sources = data.get("sources", [])
    if not isinstance(sources, list):
        raise _fail("sources", "a list", sources)
    for index, source in enumerate(sources):
        try:
            source_from_json(source)
        except FactDecodeError as exc:
            raise FactDecodeError(f"sources[{index}]: {exc}") from None


def subject_from_json(fact_type: type[Any], data: dict[str, Any]) -> Subject[Any]:
    """Return a subject rebuilt from `subject_to_json` output, its fact typed as `fact_type`.

    The envelope must be valid (`check_subject_json`, ValueError otherwise); a fact that cannot
    be rebuilt strictly makes the subject an error naming the field, with its sources kept.
    """
    check_subject_json(data)
    sources = tuple(source_from_json(s) for s in data.get("sources", []))
    if data.get("fact") is None:
        return Subject(id=data["id"], fact=None, sources=sources, error=reason_from_json(data["error"]))
    try:
        fact = from_json(fact_type, data["fact"])
    except FactDecodeError as exc:
        return Subject(
            id=data["id"],
            fact=None,
            sources=sources,
            error=msg("the recorded {type} cannot be read: {error}", type=fact_type.__name__, error=str(exc)),
        )
    return Subject(id=data["id"], fact=fact, sources=sources, error=None)
