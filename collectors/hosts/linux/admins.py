"""Who administers a Linux host, from the fact script's passwd, group, sudoers and authorized_keys sections.

Administrators: members of the sudo, wheel and admin groups (supplementary and primary), every
account with UID 0 other than root itself, and the users of every sudoers rule that lets them
become root (collectors/hosts/linux/sudoers.py). Each comes with an `AdminGrant` saying why. Every line
of these sections must have the shape the script prints: one that does not makes the whole
admins fact unreadable (an `error`), never a shorter list of administrators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from collectors.hosts.facts import AdminGrant, HostAdmins
from collectors.hosts.linux.sections import Section
from collectors.hosts.linux.sudoers import Accounts, SudoersFormatError, parse_reduced_sudoers, root_grants
from collectors.messages import Reason, ReasonError, semicolon_list
from reports.evidence import msg

ADMIN_GROUPS = ("sudo", "wheel", "admin")
"""Groups that the distributions' default sudoers make administrators (%sudo, %wheel, %admin ALL=(ALL) ALL)."""


class AdminsUnreadable(ReasonError, ValueError):
    """A section the admins fact needs does not have the shape the fact script prints (or cannot be read)."""


@dataclass(frozen=True)
class _Passwd:
    uids: dict[str, str]
    primary_gids: dict[str, str]


def parse_passwd(text: str) -> _Passwd:
    """Return UIDs and primary GIDs from `getent passwd | cut -d: -f1,3,4` (name:uid:gid lines).

    A name:gid line comes from an older fact script that did not report UIDs: without them a second
    UID 0 account cannot be found, so it is refused.
    """
    uids: dict[str, str] = {}
    gids: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(":")
        if len(parts) == 2:
            raise AdminsUnreadable(
                "passwd lists name:gid without the UID (an older fact script): accounts with UID 0 "
                "cannot be found; collect the host again"
            )
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
            raise AdminsUnreadable(f"passwd line {number} is not name:uid:gid: {line.strip()[:60]!r}")
        name, uid, gid = parts
        uids.setdefault(name, uid)
        gids.setdefault(name, gid)
    if not uids:
        raise AdminsUnreadable("passwd lists no account")
    return _Passwd(uids, gids)


def parse_group_lines(text: str, what: str) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Return (group -> members, group -> gid) of `getent group` lines, cut (name:gid:members) or whole."""
    members: dict[str, set[str]] = {}
    gids: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(":")
        if len(parts) == 3:  # name:gid:members (the script cuts the password field)
            name, gid, users = parts
        elif len(parts) == 4:  # name:x:gid:members (getent group sudo wheel admin)
            name, _, gid, users = parts
        else:
            raise AdminsUnreadable(f"{what} line {number} is not a group entry: {line.strip()[:60]!r}")
        if not name or not gid.isdigit():
            raise AdminsUnreadable(
                f"{what} line {number} has no group name or numeric GID: {line.strip()[:60]!r}"
            )
        members.setdefault(name, set()).update(u for u in users.split(",") if u)
        gids.setdefault(name, gid)
    return members, gids


def accounts_of(passwd: str, groups: str, admin_groups: str) -> Accounts:
    """Return the host's accounts from the passwd, groups and admin-groups sections."""
    users = parse_passwd(passwd)
    members, gids = parse_group_lines(groups, "getent group")
    if not members:
        raise AdminsUnreadable("getent group lists no group")
    admin_members, admin_gids = parse_group_lines(admin_groups, "getent group sudo wheel admin")
    for name, found in admin_members.items():
        members.setdefault(name, set()).update(found)
        gids.setdefault(name, admin_gids[name])
    return Accounts(
        uids=users.uids,
        primary_gids=users.primary_gids,
        group_members={name: frozenset(found) for name, found in members.items()},
        group_gids=gids,
    )


def parse_authorized_keys(text: str) -> tuple[list[str], list[str]]:
    """Return (fingerprint entries "SHA256:… TYPE user", unreadable files) from the keys section."""
    prints: list[str] = []
    unreadable: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if parts[0] == "KEY" and len(parts) == 5 and parts[3].startswith("SHA256:"):
            _, user, _path, fingerprint, key_type = parts
            prints.append(f"{fingerprint} {key_type} {user}")
        elif parts[0] == "UNREADABLE" and len(parts) == 3:
            unreadable.append(f"{parts[2]} (user {parts[1]})")
        elif parts[0] == "PATTERNS" and number == 1:
            continue
        else:
            raise AdminsUnreadable(f"authorized_keys record {number} cannot be read: {line[:60]!r}")
    return list(dict.fromkeys(prints)), unreadable


def group_grants(accounts: Accounts) -> list[AdminGrant]:
    """Return a grant for each admin group (sudo, wheel, admin) the host has, with its members."""
    grants = []
    for group in ADMIN_GROUPS:
        members = accounts.members_of(group)
        if members:
            grants.append(
                AdminGrant(
                    members=tuple(sorted(members)),
                    source=f"group {group}",
                    rule=f"member of {group} (gid {accounts.group_gids.get(group, '?')})",
                    reason=f"the distributions' sudoers let %{group} run ALL commands as root",
                )
            )
    return grants


def uid0_grants(accounts: Accounts) -> list[AdminGrant]:
    """Return a grant for every account with UID 0 other than root: the superuser under another name."""
    return [
        AdminGrant(members=(name,), source="passwd", rule=f"{name}:x:0:...", reason="UID 0: the superuser")
        for name, uid in sorted(accounts.uids.items())
        if uid == "0" and name != "root"
    ]


def linux_admins(passwd: str, groups: str, admin_groups: str, sudoers: str, keys: str) -> HostAdmins:
    """Return the host's administrators and authorised keys; raise AdminsUnreadable naming what is unreadable.

    root itself is left out of the members (it is the superuser whatever the rules say).
    """
    accounts = accounts_of(passwd, groups, admin_groups)
    try:
        reduced = parse_reduced_sudoers(sudoers)
    except SudoersFormatError as exc:
        raise AdminsUnreadable(f"sudoers: {exc}") from None
    if reduced.unreadable:
        raise AdminsUnreadable(
            "sudoers line(s) the fact script could not read, so whom they grant is unknown: "
            + "; ".join(reduced.unreadable[:5])
        )
    known = [*group_grants(accounts), *uid0_grants(accounts)]
    members = {member for grant in known for member in grant.members} - {"root"}
    while True:  # a rule running a shell as an administrator makes another one: grow to a fixed point
        sudo = root_grants(reduced, accounts, frozenset(members))
        grown = members | {member for grant in sudo for member in grant.members} - {"root"}
        if grown == members:
            break
        members = grown
    grants = [*known, *sudo]
    prints, unreadable = parse_authorized_keys(keys)
    if unreadable:
        files = ", ".join(unreadable[:10])
        raise AdminsUnreadable(
            msg("authorized_keys cannot be read without root: {files}", files=files)
            if len(unreadable) <= 10
            else msg(
                "authorized_keys cannot be read without root: {files} and {more} more",
                files=files,
                more=len(unreadable) - 10,
            )
        )
    return HostAdmins(
        members=tuple(sorted(members)), ssh_key_fingerprints=tuple(prints), grants=tuple(grants)
    )


def read_admins(sections: Mapping[str, Section], errors: dict[str, Reason]) -> HostAdmins | None:
    """Return the admins fact from the passwd, groups, admin-groups, sudoers and authorized-keys sections.

    Any of them missing or failed, or one `linux_admins` refuses, makes the fact None with the reason in
    `errors["admins"]`.
    """
    needed = {
        "passwd": "getent passwd",
        "groups": "getent group",
        "admin-groups": "getent group sudo wheel admin",
        "sudoers": "reading sudoers",
        "authorized-keys": "reading authorized_keys",
    }
    problems: list[Reason] = []
    for name, what in needed.items():
        section = sections.get(name)
        if section is None:
            problems.append(msg("{what}: not reported", what=what))
        elif not section.ok:
            problems.append(section.failure(what))
    if problems:
        errors["admins"] = semicolon_list(problems)
        return None
    try:
        return linux_admins(*(sections[name].stdout for name in needed))
    except AdminsUnreadable as exc:
        errors["admins"] = exc.reason
        return None
