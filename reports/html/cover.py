"""The HTML report's cover cards: the scope in figures, the populations, the changes since the
last run, the waivers, whether Azure's endpoints were TLS-scanned, and the tickets of tonight.

Each card is built from the bundle alone; a figure the bundle does not record is shown as such,
never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.evidence import N_
from reports.html.formatting import control_anchor, result_anchor, value_text
from reports.i18n.translation import Translator, result_message

CHANGE_KINDS: tuple[str, ...] = ("new_failures", "fixed", "new_resources", "vanished_resources")
"""The lists of bundle["changes"], in the order the report shows them."""
CHANGE_HEADINGS: dict[str, str] = {
    "new_failures": N_("New failures"),
    "fixed": N_("Fixed"),
    "new_resources": N_("New resources"),
    "vanished_resources": N_("Vanished resources"),
}
TLS_DISCOVERY_RULES: tuple[str, ...] = ("on", "off", "auto-public-cloud", "auto-not-public-cloud")
"""The recorded decisions on scanning Azure-published endpoints that the cover explains."""
TICKET_ACTIONS: tuple[str, ...] = ("create", "reopen", "comment", "resolve", "summary", "remember", "none")
"""Ticket actions in the order the report lists them: what changes the tracker most first."""


def policy_items(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the policy values in force as (name, text) pairs, lists joined by commas for reading."""
    return [
        (str(key), ", ".join(value_text(v) for v in value) if isinstance(value, list) else value_text(value))
        for key, value in policy.items()
    ]


def azure_tenants(azure: Mapping[str, Any] | None) -> list[str] | None:
    """Return the Azure tenant ids in scope, or None when the bundle does not record them."""
    if not azure:
        return None
    tenants = [str(t) for t in azure.get("tenants") or []]
    for subscription in azure.get("subscriptions") or []:
        tenant = subscription.get("tenant_id") or subscription.get("tenantId")
        if tenant and str(tenant) not in tenants:
            tenants.append(str(tenant))
    return tenants or None


def scope_counts(
    scope: Mapping[str, Any], controls: Sequence[Mapping[str, Any]], total: int, tr: Translator
) -> list[tuple[str, str, str]]:
    """Return the cover's scope figures as (label, count text, detail text) in the report's language.

    A count the bundle does not record is '' (the cover says so) rather than a guessed 0.
    """
    azure: Mapping[str, Any] | None = scope.get("azure")
    hosts: Mapping[str, Any] | None = scope.get("hosts")
    databases: Mapping[str, Any] | None = scope.get("databases")
    populations: Mapping[str, Any] = scope.get("populations") or {}
    figures: list[tuple[str, str, str]] = []
    tenants = azure_tenants(azure)
    figures.append(
        (tr.gettext("Azure tenants"), "" if tenants is None else str(len(tenants)), ", ".join(tenants or []))
    )
    if azure:
        subscriptions = azure.get("subscriptions") or []
        names = ", ".join(str(s.get("name") or s.get("id", "")) for s in subscriptions)
        figures.append((tr.gettext("Azure subscriptions"), str(len(subscriptions)), names))
    else:
        figures.append((tr.gettext("Azure subscriptions"), "-", ""))
    if hosts:
        in_error = [str(h) for h in hosts.get("in_error") or []]
        unreadable = (
            tr.ngettext("{n} could not be read", "{n} could not be read", len(in_error))
            + ": "
            + ", ".join(in_error)
            if in_error
            else ""
        )
        figures.append((tr.gettext("Servers (SSH)"), str(len(hosts.get("hosts") or [])), unreadable))
    else:
        figures.append((tr.gettext("Servers (SSH)"), "-", ""))
    endpoint_pops = sorted((name, pop) for name, pop in populations.items() if name.endswith("endpoints"))
    if endpoint_pops:
        count = sum(int(pop.get("count") or 0) for _, pop in endpoint_pops)
        detail = ", ".join(f"{pop.get('count', 0)} {name}" for name, pop in endpoint_pops)
        figures.append((tr.gettext("Endpoints"), str(count), detail))
    else:
        figures.append((tr.gettext("Endpoints"), "-", ""))
    if databases:
        servers = databases.get("servers") or []
        figures.append(
            (
                tr.gettext("Database servers"),
                str(len(servers)),
                ", ".join(str(s.get("name", "")) for s in servers),
            )
        )
        figures.append((tr.gettext("Databases"), str(sum(int(s.get("databases") or 0) for s in servers)), ""))
        applications = databases.get("applications")
        figures.append((tr.gettext("Applications"), "" if applications is None else str(applications), ""))
    else:
        figures.append((tr.gettext("Database servers"), "-", ""))
    figures.append((tr.gettext("Controls"), str(len(controls)), ""))
    figures.append((tr.gettext("Results (control × resource)"), str(total), ""))
    return figures


def populations_view(populations: Mapping[str, Any]) -> dict[str, Any]:
    """Return the cover's population table: one row per population, and the notes that several
    populations share listed once below it (numbered; each row refers to its shared notes).

    A note such as "master is not a user database" is recorded on every database population;
    repeating it under each would bury the notes that matter.
    """
    named = sorted((str(name), pop) for name, pop in populations.items() if isinstance(pop, Mapping))
    holders: dict[str, list[str]] = {}
    for name, pop in named:
        for note in pop.get("notes") or []:
            holders.setdefault(str(note), []).append(name)
    shared = [note for note, names in holders.items() if len(names) > 1]
    numbers = {note: number for number, note in enumerate(shared, start=1)}
    rows = [
        {
            "name": name,
            "count": pop.get("count", ""),
            "out_of_scope": pop.get("out_of_scope"),
            "notes": [str(n) for n in pop.get("notes") or [] if str(n) not in numbers],
            "shared": [numbers[str(n)] for n in pop.get("notes") or [] if str(n) in numbers],
        }
        for name, pop in named
    ]
    return {
        "rows": rows,
        "shared": [{"number": numbers[note], "text": note, "populations": holders[note]} for note in shared],
    }


def changes_view(changes: Any, anchors: set[str], tr: Translator) -> dict[str, Any] | None:
    """Return the change-since-last-run section, or None when the bundle has no baseline.

    A changed item still present in this report links to its result row. A baseline that was
    found or given but could not be used gives `{"unusable": {"path", "reason"}}`: the report
    names it rather than saying there was none.
    """
    if isinstance(changes, Mapping) and isinstance(changes.get("unusable_baseline"), Mapping):
        unusable = changes["unusable_baseline"]
        return {
            "unusable": {"path": str(unusable.get("path", "")), "reason": str(unusable.get("reason", ""))}
        }
    if not isinstance(changes, Mapping) or not changes.get("baseline"):
        return None
    lists: list[tuple[str, str, list[dict[str, Any]]]] = []
    for kind in CHANGE_KINDS:
        items = []
        for change in changes.get(kind) or []:
            control = str(change.get("control", ""))
            resource = str(change.get("resource", ""))
            anchor = result_anchor(control, resource)
            items.append(
                {
                    "control": control,
                    "control_anchor": control_anchor(control),
                    "resource": resource,
                    "anchor": anchor if anchor in anchors else "",
                    "before": change.get("before"),
                    "after": change.get("after"),
                    "message": result_message(change, tr),
                }
            )
        lists.append((kind, tr.gettext(CHANGE_HEADINGS[kind]), items))
    return {"baseline": changes["baseline"], "lists": lists, "unusable": None}


def waivers_view(waivers: Any) -> dict[str, Any] | None:
    """Return the cover's waiver card: how many are configured, the blanket ones and the stale ones.

    None when the bundle records no configured waiver. Blanket waivers (scope = control) waive a
    whole control and stale ones match no result: both are what an auditor must see first.
    """
    if not isinstance(waivers, Sequence) or isinstance(waivers, str):
        return None
    entries = [w for w in waivers if isinstance(w, Mapping)]
    if not entries:
        return None
    return {
        "count": len(entries),
        "blanket": [w for w in entries if w.get("scope") == "control"],
        "stale": [w for w in entries if w.get("stale")],
    }


TLS_DISCOVERY_REASONS: dict[str, str] = {
    "on": N_("[azure] scan_discovered_endpoints = true"),
    "off": N_("[azure] scan_discovered_endpoints = false"),
    "auto-public-cloud": N_(
        "[azure] scan_discovered_endpoints = auto: {endpoint} is a Microsoft cloud's Resource Manager"
    ),
    "auto-not-public-cloud": N_(
        "[azure] scan_discovered_endpoints = auto: {endpoint} is not a Microsoft cloud's Resource Manager; "
        "set it to true to scan them"
    ),
}


def tls_discovery_view(decision: Any, tr: Translator) -> dict[str, Any] | None:
    """Return the cover's line on whether endpoints published by Azure were TLS-scanned, or None.

    None without Azure in scope (nothing is published) or when the bundle does not record it.
    """
    if not isinstance(decision, Mapping) or decision.get("rule") not in TLS_DISCOVERY_RULES:
        return None
    scanned = bool(decision.get("scanned"))
    return {
        "scanned": scanned,
        "status": tr.gettext("TLS-scanned")
        if scanned
        else tr.gettext("NOT TLS-scanned: only the configured [[endpoints]] are"),
        "reason": tr.gettext(
            TLS_DISCOVERY_REASONS[str(decision["rule"])], endpoint=str(decision.get("endpoint") or "")
        ),
    }


def tickets_view(tickets: Any) -> dict[str, Any] | None:
    """Return the tickets section (actions in a stable order, won't-fix list, errors) or None."""
    if not isinstance(tickets, Mapping):
        return None
    order = {action: index for index, action in enumerate(TICKET_ACTIONS)}
    actions = sorted(
        tickets.get("actions") or [],
        key=lambda a: (
            order.get(str(a.get("action")), len(order)),
            str(a.get("control")),
            str(a.get("scope")),
        ),
    )
    return {
        "mode": str(tickets.get("mode") or "off"),
        "backend": str(tickets.get("backend") or ""),
        "actions": actions,
        "wont_fix": list(tickets.get("wont_fix") or []),
        "errors": [str(e) for e in tickets.get("errors") or []],
    }
