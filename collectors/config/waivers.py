"""Accepted exceptions (`[[waivers]]` in audit.toml or waivers.toml): who approved, why, until when."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator

from reports.setting_types import ConfigSection

WaiverScope = Literal["resource", "control"]


def blanket_pattern(pattern: str) -> bool:
    """Return True when a waiver's resource glob matches every resource id of its control.

    Made only of `*` (and `?`, each matching one character of an id that is never empty)
    with at least one `*`: "*", "**", "*/*" is not (it needs a slash) but "*?" is.
    """
    text = pattern.strip()
    return "*" in text and set(text) <= {"*", "?"}


class Waiver(ConfigSection):
    """An accepted exception: who approved it, why, and until when (expiry is required).

    `scope = "resource"` (the default): `resource` is a case-insensitive glob on resource ids and
    must not match every id. `scope = "control"`: the whole control is waived, said out loud;
    `resource` is then "*" or left out. The report lists blanket waivers on its cover.
    """

    control: str = Field(min_length=1)
    scope: WaiverScope = "resource"
    resource: str = Field(min_length=1)
    justification: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: date

    @model_validator(mode="before")
    @classmethod
    def _control_scope_resource(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("scope") == "control" and "resource" not in data:
            return {**data, "resource": "*"}
        return data

    @model_validator(mode="after")
    def _blanket_is_explicit(self) -> Waiver:
        if self.scope == "control" and self.resource != "*":
            raise ValueError(
                f"resource: a waiver with scope = 'control' waives every resource; its resource must be "
                f"'*' or absent (got {self.resource!r}); for some resources use scope = 'resource'"
            )
        if self.scope == "resource" and blanket_pattern(self.resource):
            raise ValueError(
                f"resource: {self.resource!r} matches every resource of {self.control}; a blanket waiver "
                "must say so with scope = 'control' (it is then listed on the report's cover), or "
                "name the resources it covers"
            )
        return self

    def identity(self) -> tuple[str, str]:
        """Return what makes two waivers the same exception: control and (case-folded) resource glob."""
        return self.control, self.resource.lower()
