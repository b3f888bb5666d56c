"""The update sections: the Windows Update Agent's history and search, Get-HotFix, reboot and WSUS keys."""

from __future__ import annotations

import re
from collections.abc import Mapping

from collectors.hosts.facts import HotFix, PendingUpdate, UpdateHistoryEntry
from collectors.hosts.windows.shapes import (
    ShapeError,
    as_int,
    as_list,
    as_object,
    as_strings,
    as_text,
    parse_utc,
    present,
    required,
    required_list,
    short,
)

CATEGORY_NAMES = {
    "0fa1201d-4330-4fa8-8ae9-b877473b6441": "Security Updates",
    "e6cf1350-c01b-414d-a61f-263d14d133b4": "Critical Updates",
    "28bc880e-0592-4cbf-8f95-c79b17911d5f": "Update Rollups",
}
"""Update classifications by id: their display names are localised ("Beveiligingsupdates")."""

KB_IN_TITLE = re.compile(r"\bKB\s?(\d{6,8})\b", re.IGNORECASE)


def kb_of(title: str) -> str | None:
    """Return the KB number in an update title as "KB5108672", or None."""
    match = KB_IN_TITLE.search(title)
    return f"KB{match.group(1)}" if match else None


def read_history(raw: object) -> tuple[UpdateHistoryEntry, ...]:
    entries: list[UpdateHistoryEntry] = []
    for item in required_list(as_object(raw, "wua_history"), "entries", "the update history"):
        entry = as_object(item, "history entry")
        title = as_text(entry.get("title"))
        when = parse_utc(entry.get("date"))
        operation, result = as_int(entry.get("operation")), as_int(entry.get("result"))
        if title is None or when is None or operation is None or result is None:
            raise ShapeError(
                f"history entry {title or '(untitled)'!r} lacks its "
                + ", ".join(
                    name
                    for name, value in (
                        ("title", title),
                        ("date", when),
                        ("operation", operation),
                        ("result", result),
                    )
                    if value is None
                )
            )
        entries.append(UpdateHistoryEntry(when, title, kb_of(title), operation, result))
    return tuple(sorted(entries, key=lambda e: e.date, reverse=True))


def _category(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        name = CATEGORY_NAMES.get((as_text(raw.get("id")) or "").lower())
        return name or as_text(raw.get("name"))
    return as_text(raw)


def read_pending(raw: object) -> tuple[int | None, tuple[PendingUpdate, ...]]:
    search = as_object(raw, "wua_search")
    result = as_int(required(search, "result", "the search for pending updates"))
    updates: list[PendingUpdate] = []
    for item in required_list(search, "updates", "the search for pending updates"):
        update = as_object(item, "pending update")
        title = as_text(update.get("title")) or "(untitled update)"
        what = f"pending update {short(title, 40)!r}"
        kbs = tuple(f"KB{kb.upper().removeprefix('KB')}" for kb in as_strings(update.get("kbs")))
        # Severity and classification decide whether an update is urgent: both must be there (a
        # null MsrcSeverity is Microsoft's "not rated"; a missing key is not).
        categories = tuple(c for c in (_category(c) for c in required_list(update, "categories", what)) if c)
        updates.append(
            PendingUpdate(
                title=title,
                kbs=kbs or ((kb,) if (kb := kb_of(title)) else ()),
                severity=as_text(present(update, "severity", what)),
                categories=categories,
                released=parse_utc(present(update, "released", what)),
            )
        )
    return result, tuple(updates)


def read_hotfixes(raw: object) -> tuple[HotFix, ...]:
    fixes = []
    for item in as_list(as_object(raw, "hotfixes").get("entries")):
        fix = as_object(item, "hotfix")
        fixes.append(
            HotFix(
                kb=as_text(fix.get("kb")) or "?",
                description=as_text(fix.get("description")) or "",
                installed_on=parse_utc(fix.get("installed_on")),
            )
        )
    return tuple(fixes)


def read_update_source(raw: object) -> str | None:
    source = as_object(raw, "update_source")
    server = as_text(source.get("wu_server"))
    return server if server and as_int(source.get("use_wu_server")) == 1 else None


def read_reboot_required(raw: object) -> bool:
    reboot = as_object(raw, "reboot")
    return reboot.get("wu_reboot_required") is True or reboot.get("cbs_reboot_pending") is True
