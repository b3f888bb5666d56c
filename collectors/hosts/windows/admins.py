"""The admins section: the local Administrators group (by SID S-1-5-32-544) and the administrators' SSH keys."""

from __future__ import annotations

from collectors.hosts.facts import HostAdmins
from collectors.hosts.windows.shapes import (
    ShapeError,
    as_int,
    as_object,
    as_strings,
    as_text,
    required,
    required_list,
)


def read_admins(raw: object) -> HostAdmins:
    admins = as_object(raw, "admins")
    members = []
    for item in required_list(admins, "members", "the Administrators group"):
        member = as_object(item, "group member")
        name = as_text(member.get("name")) or as_text(member.get("sid"))
        if name is None:
            raise ShapeError("a member of Administrators has neither name nor SID")
        members.append(name)
    if not members:
        # Windows refuses to remove the built-in Administrator from the group: empty is not a real answer.
        raise ShapeError("the Administrators group was reported without any member")
    prints: list[str] = []
    for item in required_list(admins, "key_files", "the administrators' keys"):
        key_file = as_object(item, "key file")
        where = f"key file {as_text(key_file.get('path')) or '?'}"
        prints.extend(as_strings(required_list(key_file, "fingerprints", where)))
        unparsed = as_int(required(key_file, "unparsed", where)) or 0
        if unparsed:
            # Fail closed: a key line the script could not fingerprint is an unknown key.
            path = as_text(key_file.get("path")) or "authorized_keys"
            prints.append(f"unreadable key line(s) in {path}: {unparsed}")
    return HostAdmins(members=tuple(members), ssh_key_fingerprints=tuple(dict.fromkeys(prints)))
