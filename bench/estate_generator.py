"""Generate a large emulated Azure estate by cloning resources of the demo estate.

Each generated resource is a copy of a demo resource of the same type, together with its
whole subtree (a SQL server with its firewall rules and settings, a database with its TDE
and retention policies, a web app with its config), so the shapes are exactly those the
collectors already read in the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TENANT = "33333333-3333-4333-8333-333333333333"
Resource = dict[str, Any]


def subscription_ids(count: int) -> list[str]:
    """Return `count` distinct, valid-looking subscription GUIDs."""
    return [f"{i + 1:08x}-0000-4000-8000-{i + 1:012x}" for i in range(count)]


def subtree(resources: list[Resource], root_id: str, without: tuple[str, ...] = ()) -> list[Resource]:
    """Return the resource `root_id` and every resource below it, minus the subtrees under `without`."""
    root, prefix = root_id.lower(), root_id.lower() + "/"
    excluded = tuple(f"{root}/{part.lower()}/" for part in without)
    return [
        r
        for r in resources
        if (r["id"].lower() == root or r["id"].lower().startswith(prefix))
        and not r["id"].lower().startswith(excluded)
    ]


def clone(
    resources: list[Resource], old_root: str, new_root: str, renames: dict[str, str] | None = None
) -> list[Resource]:
    """Return copies of `resources` moved from `old_root` to `new_root` (ids, references, host names).

    `renames` replaces further strings (e.g. the id of a VM's disk by its clone's id).
    """
    replacements = {old_root: new_root, **(renames or {})}
    old_name, new_name = old_root.rsplit("/", 1)[-1], new_root.rsplit("/", 1)[-1]
    out = []
    for resource in resources:
        text = json.dumps(resource)
        for old, new in replacements.items():
            text = text.replace(old, new)
        text = text.replace(f'"{old_name}.', f'"{new_name}.')  # host names: <name>.database.windows.net
        copy: Resource = json.loads(text)
        if copy["id"] == new_root:
            copy["name"] = new_name
        out.append(copy)
    return out


def find(resources: list[Resource], resource_type: str, name: str | None = None) -> Resource:
    """Return the first demo resource of `resource_type` (named `name`, when given)."""
    for resource in resources:
        if resource.get("type", "").lower() == resource_type.lower() and (
            name is None or resource["name"] == name
        ):
            return resource
    raise ValueError(f"the demo estate has no {resource_type} {name or ''}")


def new_id(subscription: str, group: str, resource_type: str, name: str) -> str:
    """Return the ARM id of a generated top-level resource."""
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{resource_type}/{name}"


def load_template(folder: Path) -> dict[str, Any]:
    """Return the demo estate (all files of the folder merged) to clone from."""
    from demo.standins.arm_emulator import load_estate

    return load_estate(folder)
