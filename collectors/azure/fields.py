"""Typed reading of the fields of ARM answers: absent is None, a value of the wrong type is an error.

The Azure SDK's hybrid (TypeSpec) models hand back whatever JSON they were given when it does
not fit the declared type (a list where text was expected), and convert the text "false" of a
boolean field to True. Their fields are therefore read from the JSON they hold (they are
mappings over it), and the older (msrest) models through their attributes. Every field a
control relies on is read through one of the
functions below, which return the value when it has the expected JSON type, None when it is
absent or null, and raise `FieldUnreadable` (naming the ARM field and what it held) otherwise.
The Azure collectors' shared reading helper (`collectors.azure.reading`) turns that exception
into an `error` for exactly the item being parsed.

Absent (None) is never read as "nothing to worry about" by the controls, except where
Microsoft documents the absent value as the secure default (`collectors.azure.secure_defaults`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from collectors.messages import Reason, english_text
from reports.evidence import Message, msg

_NOT_OBJECTS = (str, bytes, int, float, bool, list, tuple, set, frozenset)


class FieldUnreadable(ValueError):
    """A field of an ARM answer holds a value of the wrong type; the message names the field.

    `reason` is the sentence as a message; str() is its English text.
    """

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(english_text(reason))


def shown(value: Any) -> Reason:
    """Return a short description of an unexpected value for a message: its JSON type and a prefix."""
    kinds: dict[type, Message] = {
        bool: msg("a boolean"),
        int: msg("a number"),
        float: msg("a number"),
        str: msg("text"),
        bytes: msg("bytes"),
        list: msg("a list"),
        tuple: msg("a list"),
        dict: msg("an object"),
    }
    kind: Reason = kinds.get(type(value), type(value).__name__)
    if isinstance(value, str) and value.startswith("<generator object"):
        # what the SDK's newer models make of a JSON string where a list was declared
        return msg("a value that is not a list")
    if isinstance(value, str):
        return msg("{kind} {value}", kind=kind, value=repr(value[:40]))
    if isinstance(value, bool | int | float):
        return msg("{kind} ({value})", kind=kind, value=repr(value))
    return kind


def is_object(value: Any) -> bool:
    """Return True for a JSON object (an SDK model or a mapping), False for scalars and lists."""
    return value is not None and not isinstance(value, _NOT_OBJECTS)


def _attribute(model: Any, name: str, json_name: str) -> Any:
    if isinstance(model, Mapping):
        # The newer (TypeSpec) models are mappings over the JSON they were given: read the JSON
        # value itself, not the SDK's conversion of it (which reads the text "false" as True).
        return model.get(json_name)
    try:
        return getattr(model, name, None)
    except (TypeError, ValueError, KeyError):
        # a hybrid model's flattened accessor on a `properties` of the wrong type
        return None


def obj(model: Any, label: Reason) -> Any:
    """Return `model` when it is a JSON object; raise FieldUnreadable naming `label` otherwise."""
    if not is_object(model):
        raise FieldUnreadable(not_an_object(label, model))
    return model


def not_an_object(field: Reason, value: Any) -> Message:
    """Return why `value`, read as `field`, is unreadable: it is not a JSON object."""
    return msg("{field} is {shown}, not an object", field=field, shown=shown(value))


def not_a_list(field: Reason, value: Any) -> Message:
    """Return why `value`, read as `field`, is unreadable: it is not a JSON list."""
    return msg("{field} is {shown}, not a list", field=field, shown=shown(value))


def raw(model: Any, name: str, arm_name: str, *, nested: bool = True) -> Any:
    """Return a field of an SDK model as the SDK holds it (None when absent).

    `nested` reads ARM's `properties.<field>` first and the SDK's flattened `.<field>` second;
    a `properties` that is not an object is unreadable.
    """
    obj(model, arm_name.rsplit(".", 1)[0] if "." in arm_name else msg("the answer"))
    json_name = arm_name.rsplit(".", 1)[-1].split("[", 1)[0]
    if nested:
        properties = _attribute(model, "properties", "properties")
        if properties is not None:
            if not is_object(properties):
                raise FieldUnreadable(not_an_object("properties", properties))
            found = _attribute(properties, name, json_name)
            if found is not None:
                return found
    return _attribute(model, name, json_name)


def text_value(value: Any, arm_name: str) -> str | None:
    """Return a JSON string (or string enum) as text, None for None; FieldUnreadable for anything else."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return str(value)
    raise FieldUnreadable(msg("{field} is {shown}, not text", field=arm_name, shown=shown(value)))


def text(model: Any, name: str, arm_name: str, *, nested: bool = True) -> str | None:
    """Return a text field (str or string enum), None when absent."""
    return text_value(raw(model, name, arm_name, nested=nested), arm_name)


def flag(model: Any, name: str, arm_name: str, *, nested: bool = True) -> bool | None:
    """Return a boolean field, None when absent; text such as "false" is unreadable, never truthy."""
    value = raw(model, name, arm_name, nested=nested)
    if value is None or isinstance(value, bool):
        return value
    raise FieldUnreadable(msg("{field} is {shown}, not a boolean", field=arm_name, shown=shown(value)))


def integer(model: Any, name: str, arm_name: str, *, nested: bool = True) -> int | None:
    """Return an integer field, None when absent (a boolean or text is unreadable)."""
    value = raw(model, name, arm_name, nested=nested)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise FieldUnreadable(msg("{field} is {shown}, not a whole number", field=arm_name, shown=shown(value)))


def timestamp(model: Any, name: str, arm_name: str, *, nested: bool = True) -> datetime | None:
    """Return an ISO 8601 time field as an aware datetime (UTC when ARM leaves the zone out), None when
    absent; text that is not a time is unreadable, never "no time"."""
    value = raw(model, name, arm_name, nested=nested)
    if value is None or isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FieldUnreadable(
                msg("{field} is {shown}, not a time", field=arm_name, shown=shown(value))
            ) from None
    else:
        raise FieldUnreadable(msg("{field} is {shown}, not a time", field=arm_name, shown=shown(value)))
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def child(model: Any, name: str, arm_name: str, *, nested: bool = True) -> Any:
    """Return a nested object field, None when absent (a scalar or list is unreadable)."""
    value = raw(model, name, arm_name, nested=nested)
    if value is None or is_object(value):
        return value
    raise FieldUnreadable(not_an_object(arm_name, value))


def items(model: Any, name: str, arm_name: str, *, nested: bool = True) -> list[Any] | None:
    """Return a list of objects, None when absent (a list holding a non-object is unreadable)."""
    value = raw(model, name, arm_name, nested=nested)
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise FieldUnreadable(not_a_list(arm_name, value))
    for index, item in enumerate(value):
        if not is_object(item):
            raise FieldUnreadable(not_an_object(f"{arm_name}[{index}]", item))
    return list(value)


def texts(model: Any, name: str, arm_name: str, *, nested: bool = True) -> tuple[str, ...] | None:
    """Return a list of strings, None when absent (a list holding a non-string is unreadable)."""
    value = raw(model, name, arm_name, nested=nested)
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise FieldUnreadable(not_a_list(arm_name, value))
    return tuple(str(text_value(item, f"{arm_name}[{index}]")) for index, item in enumerate(value))


def reference(model: Any, name: str, arm_name: str, *, nested: bool = True) -> str | None:
    """Return the id of a sub-resource reference ({"id": ...}), None when absent."""
    value = child(model, name, arm_name, nested=nested)
    return None if value is None else text(value, "id", f"{arm_name}.id", nested=False)


def references(model: Any, name: str, arm_name: str, *, nested: bool = True) -> tuple[str, ...] | None:
    """Return the ids of a list of sub-resource references, None when the list is absent."""
    found = items(model, name, arm_name, nested=nested)
    if found is None:
        return None
    ids = []
    for index, item in enumerate(found):
        field = f"{arm_name}[{index}]"
        ref = text(item, "id", f"{field}.id", nested=False)
        if ref is None:
            raise FieldUnreadable(msg("{field} has no id", field=field))
        ids.append(ref)
    return tuple(ids)


def resource_id(model: Any, what: Reason | None = None) -> str:
    """Return the `id` of an ARM resource (`what`, by default "the resource"); one without a text id
    is unreadable."""
    found = text(model, "id", "id", nested=False)
    if not found:
        raise FieldUnreadable(
            msg("{field} has no id", field=what if what is not None else msg("the resource"))
        )
    return found


def resource_name(model: Any) -> str:
    """Return the `name` of an ARM resource, falling back to the last segment of its id."""
    found = text(model, "name", "name", nested=False)
    return found or resource_id(model).rstrip("/").rsplit("/", 1)[-1]
