"""Group a night's evidence into problems: the units that become tickets.

Scope rule (`grouping = "control-scope"`, the default): one problem per control x scope, where
the scope of a result is derived from its resource id only:

- an Azure resource (`/subscriptions/<id>/...`) -> `subscription <id>` (lower case); a
  tenant-level ARM id (`/providers/...`) -> `tenant`;
- an SSH host (a name listed in the bundle's `run.scope.hosts.hosts`) -> `hosts <group>`, the
  group coming from `host_groups` (host name -> group, e.g. the host's first role) and
  defaulting to `all`, so one ticket covers a control's failing hosts;
- a TLS endpoint (`https://host:port/...`, `tls://host:port`) -> `endpoint scheme://host:port`;
- an exposure probe (`tcp://address:port`) -> `address <address>`;
- a database result (controls 12d.*, 6b.*, 6e.*, 12e.sqlserver-*, 12e.ravendb-*,
  12f.sqlserver-*) -> `server <first path segment>` for `server/database/...` ids, or
  `application <name>` for `app:<name>` / `application:<name>` ids;
- a register entry (`attestation:...`, `subprocessor:...`) -> the register (`attestation`);
- anything else -> the resource itself.

With `grouping = "control-resource"` the scope is the resource id.

A scope is *failing* when at least one of its results is `fail`; *passing* when it has results
and all of them are `pass`, `waived` or `not_applicable`; a scope with `error` results and no
`fail` is neither (nothing can be concluded, so nothing is counted). `error` results never make
ops problems: together they make the one "could not evaluate" problem of the run, for the
auditor's owner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from reports.i18n.translation import Translator, result_message, translator
from reports.tickets.fingerprint import fingerprint

ProblemKind = Literal["control", "errors", "summary"]

ERRORS_CONTROL = "statement-auditor.could-not-evaluate"
"""The pseudo control id of the run's 'could not evaluate' problem."""
SUMMARY_CONTROL = "statement-auditor.circuit-breaker"
"""The pseudo control id of the circuit breaker's summary problem."""

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_DATABASE_CONTROL = re.compile(r"^(12d\.|6b\.|6e\.|12e\.sqlserver|12e\.ravendb|12f\.sqlserver)")
_REGISTER = re.compile(r"^([a-z][a-z0-9_-]*):(?!//)")


@dataclass(frozen=True)
class Finding:
    """One result of the night that a ticket shows: the resource, its status and message, and its report anchor."""

    control: str
    resource: str
    status: str
    message: str


@dataclass(frozen=True)
class Problem:
    """One ticket's worth of the night: a control in a scope, failing or passing."""

    fingerprint: str
    kind: ProblemKind
    control: str
    title: str
    scope: str
    failing: tuple[Finding, ...] = ()
    """The failing results (sorted by resource); empty when the scope passes."""
    evaluated: int = 0
    """How many results the scope had this night (the whole population)."""
    clause: str = ""
    severity: str = ""
    pass_condition: str = ""
    clause_text_nl: str = ""
    clause_text_en: str = ""
    scope_label: str = ""
    """A friendlier name for the scope (e.g. the subscription's display name); display only."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_failing(self) -> bool:
        """Return whether the problem has failing results this night."""
        return bool(self.failing)

    @property
    def failing_resources(self) -> tuple[str, ...]:
        """Return the failing resource ids (sorted); for the errors problem `control | resource`."""
        if self.kind == "errors":
            return tuple(sorted(f"{f.control} | {f.resource}" for f in self.failing))
        if self.kind == "summary":
            return tuple(sorted(f.resource for f in self.failing))
        return tuple(sorted(f.resource for f in self.failing))


@dataclass(frozen=True)
class Night:
    """The problems of one bundle: failing, passing, and the scopes nothing could be concluded for."""

    problems: tuple[Problem, ...]
    errors: Problem
    run_date: str
    undecided: tuple[tuple[str, str], ...] = ()
    """(control, scope) pairs with errors and no failure: no ticket is touched for them."""


def scope_of(
    control: str,
    resource: str,
    *,
    hosts: frozenset[str] = frozenset(),
    host_groups: Mapping[str, str] | None = None,
) -> str:
    """Return the scope of one result under the default grouping (see the module docstring for the rule)."""
    match = _SUBSCRIPTION.match(resource)
    if match:
        return f"subscription {match.group(1).lower()}"
    if resource.lower().startswith("/providers/"):
        return "tenant"
    if resource in hosts:
        return f"hosts {(host_groups or {}).get(resource, 'all')}"
    if resource.startswith(("https://", "tls://")):
        parts = urlsplit(resource)
        return f"endpoint {parts.scheme}://{parts.netloc}"
    if resource.startswith("tcp://"):
        return f"address {urlsplit(resource).hostname or resource}"
    if _DATABASE_CONTROL.match(control):
        for prefix in ("app:", "application:"):
            if resource.startswith(prefix):
                return f"application {resource[len(prefix) :].split('/', 1)[0]}"
        head = resource.split(":", 1)[1] if _REGISTER.match(resource) else resource
        return f"server {head.strip('/').split('/', 1)[0]}"
    register = _REGISTER.match(resource)
    if register:
        return register.group(1)
    return resource


def _subscription_names(bundle: Mapping[str, Any]) -> dict[str, str]:
    azure = ((bundle.get("run") or {}).get("scope") or {}).get("azure") or {}
    names: dict[str, str] = {}
    for sub in azure.get("subscriptions") or []:
        if isinstance(sub, dict) and sub.get("id") and sub.get("name"):
            names[f"subscription {str(sub['id']).lower()}"] = f"subscription {sub['name']} ({sub['id']})"
    return names


def _bundle_hosts(bundle: Mapping[str, Any]) -> frozenset[str]:
    hosts = ((bundle.get("run") or {}).get("scope") or {}).get("hosts") or {}
    return frozenset(str(h) for h in hosts.get("hosts") or [])


def group_problems(
    bundle: Mapping[str, Any],
    *,
    grouping: Literal["control-scope", "control-resource"] = "control-scope",
    owner: str | None = None,
    host_groups: Mapping[str, str] | None = None,
    tr: Translator | None = None,
) -> Night:
    """Return the night's problems from an evidence bundle (its `results`, `controls` and `run`).

    Every control x scope with results becomes a Problem (failing or passing), scopes with only
    errors are listed as undecided, and all error results become the run's one errors problem.
    Messages are in `tr`'s language (default English); scopes and fingerprints never depend on it.
    """
    tr = tr or translator("en")
    hosts = _bundle_hosts(bundle)
    controls = {c["id"]: c for c in bundle.get("controls") or [] if isinstance(c, dict) and "id" in c}
    names = _subscription_names(bundle)
    buckets: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors: list[Finding] = []
    for result in bundle.get("results") or []:
        control = str(result["control"])
        resource = str(result["resource"])
        if result.get("status") == "error":
            errors.append(Finding(control, resource, "error", result_message(result, tr)))
        scope = (
            resource
            if grouping == "control-resource"
            else scope_of(control, resource, hosts=hosts, host_groups=host_groups)
        )
        buckets.setdefault((control, scope), []).append(result)
    problems: list[Problem] = []
    undecided: list[tuple[str, str]] = []
    for (control, scope), results in sorted(buckets.items()):
        failing = tuple(
            sorted(
                (
                    Finding(control, str(r["resource"]), "fail", result_message(r, tr))
                    for r in results
                    if r.get("status") == "fail"
                ),
                key=lambda f: f.resource,
            )
        )
        if not failing and any(r.get("status") == "error" for r in results):
            undecided.append((control, scope))
            continue
        spec = controls.get(control, {})
        first = results[0]
        problems.append(
            Problem(
                fingerprint=fingerprint(control, scope),
                kind="control",
                control=control,
                title=str(spec.get("title") or first.get("title") or control),
                scope=scope,
                failing=failing,
                evaluated=len(results),
                clause=str(spec.get("clause") or first.get("clause") or ""),
                severity=str(spec.get("severity") or first.get("severity") or ""),
                pass_condition=str(spec.get("pass_condition") or ""),
                clause_text_nl=str(spec.get("clause_text_nl") or ""),
                clause_text_en=str(spec.get("clause_text_en") or ""),
                scope_label=names.get(scope, scope),
            )
        )
    owner_scope = f"owner {owner}" if owner else "owner (not configured)"
    errors_problem = Problem(
        fingerprint=fingerprint(ERRORS_CONTROL, owner_scope),
        kind="errors",
        control=ERRORS_CONTROL,
        title=tr.gettext("The auditor could not evaluate some resources"),
        scope=owner_scope,
        failing=tuple(sorted(errors, key=lambda f: (f.control, f.resource))),
        evaluated=len(bundle.get("results") or []),
        scope_label=owner or tr.gettext("owner (not configured)"),
    )
    run_date = str((bundle.get("run") or {}).get("run_date") or "")
    return Night(tuple(problems), errors_problem, run_date, tuple(undecided))


def summary_problem(held_back: list[Problem], max_new: int, tr: Translator | None = None) -> Problem:
    """Return the circuit breaker's one summary problem listing the new problems it held back.

    Its fingerprint is stable (not per night), so a breaker that trips night after night keeps
    one summary ticket current instead of opening a new one every night.
    """
    tr = tr or translator("en")
    findings = tuple(
        sorted(
            (
                Finding(
                    p.control,
                    f"{p.control} — {p.scope}",
                    "fail",
                    tr.ngettext("{n} failing", "{n} failing", len(p.failing)),
                )
                for p in held_back
            ),
            key=lambda f: f.resource,
        )
    )
    return Problem(
        fingerprint=fingerprint(SUMMARY_CONTROL, "run"),
        kind="summary",
        control=SUMMARY_CONTROL,
        title=tr.ngettext(
            "{n} new problem held back by the circuit breaker (max_new = {max_new})",
            "{n} new problems held back by the circuit breaker (max_new = {max_new})",
            len(held_back),
            max_new=max_new,
        ),
        scope="run",
        failing=findings,
        evaluated=len(held_back),
        scope_label="run",
    )


def passing_summary(max_new: int, tr: Translator | None = None) -> Problem:
    """Return the summary problem as passing: the breaker did not trip this night."""
    tr = tr or translator("en")
    return Problem(
        fingerprint=fingerprint(SUMMARY_CONTROL, "run"),
        kind="summary",
        control=SUMMARY_CONTROL,
        title=tr.gettext(
            "New problems held back by the circuit breaker (max_new = {max_new})", max_new=max_new
        ),
        scope="run",
        scope_label="run",
    )


def ticket_action_for(
    actions: Sequence[Mapping[str, Any]], control: str, resource: str, hosts: frozenset[str] = frozenset()
) -> Mapping[str, Any] | None:
    """Return the last ticket action (with a ticket) of a night that covers this control and resource.

    A ticket covers a result when its scope is the result's scope (default grouping) or the resource
    itself (grouping control-resource); a `hosts <group>` scope covers every host of the control
    (the group is not in the action). The report and the period report show it beside the result.
    """
    scopes = {resource, scope_of(control, resource, hosts=hosts)}
    found: Mapping[str, Any] | None = None
    for action in actions:
        if action.get("control") != control or not action.get("ticket"):
            continue
        scope = str(action.get("scope", ""))
        if scope in scopes or (scope.startswith("hosts ") and (resource in hosts or "/" not in resource)):
            found = action
    return found
