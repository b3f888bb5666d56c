"""12c: procedures ensure that only authorised personnel have access to personal data.

"Er zijn procedures opgesteld waardoor alleen geautoriseerd personeel heeft toegang tot de
persoonsgegevens." Privileged Azure roles and the Entra ID administrator of every SQL server
must belong to principals listed in policy.authorized_principals (Entra object ids). A role is
privileged when policy.privileged_roles names it, or when its permissions allow more than
reading (controls/role_permissions.py), whatever its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from collectors.azure.facts import RoleAssignment, SqlEntraAdministration
from collectors.config import Policy
from collectors.hosts.facts import HostFacts
from controls.framework import Evidence, EvidenceMissing, control
from controls.role_permissions import privileges

NOBODY_AUTHORISED = (
    "policy.authorized_principals is empty, so nobody is authorised: list the Entra object ids "
    "allowed to hold privileged access in [policy] authorized_principals"
)


def folded(values: Iterable[str]) -> frozenset[str]:
    """Return values lower-cased and stripped, for case-insensitive membership (names, object ids)."""
    return frozenset(v.strip().lower() for v in values if v.strip())


def is_privileged(role_name: str, privileged_roles: Iterable[str]) -> bool:
    """Return True when a role name is one of the privileged roles (names compared case-insensitively)."""
    return role_name.strip().lower() in folded(privileged_roles)


def is_authorised(principal_ids: Iterable[str | None], policy: Policy) -> bool:
    """Return True when any of a principal's identifiers is in policy.authorized_principals."""
    allowed = folded(policy.authorized_principals)
    return any(p is not None and p.strip().lower() in allowed for p in principal_ids)


@control("12c.azure-privileged-roles", over="azure.role_assignments")
def test_privileged_role_is_held_by_an_authorised_principal(
    assignment: RoleAssignment, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(
        role=assignment.role,
        principal_id=assignment.principal_id,
        principal_type=assignment.principal_type,
        scope=assignment.scope,
        scope_level=assignment.scope_level,
    )
    evidence.expected(
        principal_id="one of policy.authorized_principals when the role is privileged",
        authorized_principals=policy.authorized_principals,
    )
    if assignment.role_name is None:
        raise EvidenceMissing(
            f"{assignment.role} assigned to {assignment.principal_type or 'principal'} "
            f"{assignment.principal_id}: {assignment.role_problem or 'the role definition was not found'}; "
            "whether it is privileged cannot be judged"
        )
    evidence.observed(
        role_type=assignment.role_type,
        permissions=None
        if assignment.permissions is None
        else [
            {
                "actions": p.actions,
                "not_actions": p.not_actions,
                "data_actions": p.data_actions,
                "not_data_actions": p.not_data_actions,
            }
            for p in assignment.permissions
        ],
    )
    if is_privileged(assignment.role_name, policy.privileged_roles):
        evidence.observed(privileged=f"yes: {assignment.role_name} is in policy.privileged_roles")
    elif assignment.permissions is None:
        raise EvidenceMissing(
            f"{assignment.role_name} assigned to {assignment.principal_type or 'principal'} "
            f"{assignment.principal_id}: the role definition's permissions cannot be read "
            f"({assignment.permissions_problem or 'not reported'}); whether it is privileged cannot be judged"
        )
    else:
        reasons = privileges(assignment.permissions)
        if not reasons:
            evidence.observed(
                privileged=f"no: {assignment.role_name} is not in policy.privileged_roles and only reads"
            )
            return
        evidence.observed(privileged="yes: " + "; ".join(reasons))
    holder = f"{assignment.principal_type or 'principal'} {assignment.principal_id}"
    where = f"{assignment.scope_level} {assignment.scope}"
    role = assignment.role_name
    if not is_privileged(role, policy.privileged_roles):
        granted = "; ".join(privileges(assignment.permissions or ()))
        role = f"{role} (privileged by its permissions: {granted})"
    assert policy.authorized_principals, f"{role} at {where} is held by {holder}; {NOBODY_AUTHORISED}"
    assert is_authorised([assignment.principal_id], policy), (
        f"{role} at {where} is held by {holder}, which is not in policy.authorized_principals"
    )


@control("12c.azure-sql-entra-admin", over="azure.sql_entra_admins")
def test_sql_server_is_administered_by_an_authorised_entra_admin(
    administration: SqlEntraAdministration, policy: Policy, evidence: Evidence
) -> None:
    admin = administration.admin
    evidence.observed(
        entra_admin=None
        if admin is None
        else {"login": admin.login, "sid": admin.sid, "tenant_id": admin.tenant_id},
        azure_ad_only_authentication=administration.azure_ad_only_authentication,
    )
    evidence.expected(
        entra_admin="set, with its sid or login in policy.authorized_principals",
        authorized_principals=policy.authorized_principals,
        azure_ad_only_authentication=True,
    )
    problems: list[str] = []
    if admin is None:
        problems.append("no Entra ID administrator is set")
    elif not policy.authorized_principals:
        problems.append(f"Entra ID administrator {admin.login or admin.sid} is set but {NOBODY_AUTHORISED}")
    elif not is_authorised([admin.sid, admin.login], policy):
        problems.append(
            f"Entra ID administrator {admin.login} (sid {admin.sid}) is not in policy.authorized_principals"
        )
    if administration.azure_ad_only_authentication is not True:
        state = "false" if administration.azure_ad_only_authentication is False else "not reported"
        problems.append(f"azureADOnlyAuthentication is {state}: SQL logins are still accepted")
    assert not problems, f"server {administration.server_name}: " + "; ".join(problems)


# --- 12c.host-admins (hosts over SSH) --------------------------------------------------------------

NOBODY_AUTHORISED_ADMINS = (
    "policy.authorized_admins is empty, so nobody is authorised: list the people allowed to administer "
    "hosts in [policy] authorized_admins (Linux user names, Windows DOMAIN\\user or local user names)"
)
NO_AUTHORISED_KEYS = (
    "policy.authorized_ssh_keys is empty, so no key is authorised: list the SHA256 fingerprints of the "
    "keys allowed to log in (ssh-keygen -lf key.pub) in [policy] authorized_ssh_keys"
)
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]+")


def admin_is_authorised(member: str, host_name: str, authorised: frozenset[str]) -> bool:
    """Return True when an administrator is in the authorised list (case-insensitive).

    A Windows member "DOMAIN\\user" matches that exact entry; a bare entry "user" also matches
    the host's own local account ("<HOST>\\user", the host's name up to its first dot), never an
    account of a domain.
    """
    name = member.strip().lower()
    if name in authorised:
        return True
    domain, backslash, account = name.rpartition("\\")
    local = host_name.strip().lower().partition(".")[0]
    return bool(backslash) and domain in (local, ".") and account in authorised


def key_fingerprint(text: str) -> str:
    """Return the SHA256 fingerprint in an entry ("SHA256:abc… ED25519 alice" → "SHA256:abc…"), else the entry."""
    match = _FINGERPRINT.search(text)
    return match.group(0) if match else text.strip()


@control("12c.host-admins", over="hosts.all")
def test_host_is_administered_only_by_authorised_people(
    host: HostFacts, policy: Policy, evidence: Evidence
) -> None:
    if host.admins is None:
        raise EvidenceMissing(host.missing("admins"))
    admins = host.admins
    evidence.observed(
        administrators=admins.members,
        ssh_key_fingerprints=admins.ssh_key_fingerprints,
    )
    if admins.grants:
        # Linux: why each one is an administrator (a sudoers rule quoted as reduced on the host).
        evidence.observed(
            administrator_grants=[
                {"members": list(g.members), "source": g.source, "rule": g.rule, "why": g.reason}
                for g in admins.grants
            ]
        )
    evidence.expected(
        administrators="each in policy.authorized_admins",
        authorized_admins=policy.authorized_admins,
        ssh_key_fingerprints="each in policy.authorized_ssh_keys",
        authorized_ssh_keys=policy.authorized_ssh_keys,
    )
    allowed = folded(policy.authorized_admins)
    problems: list[str] = []
    strangers = [m for m in admins.members if not admin_is_authorised(m, host.name, allowed)]
    if strangers:
        what = NOBODY_AUTHORISED_ADMINS if not allowed else "not in policy.authorized_admins"
        problems.append(f"administrator(s) {', '.join(strangers)}: {what}")
    keys = {key_fingerprint(k) for k in policy.authorized_ssh_keys if k.strip()}
    unknown_keys = [k for k in admins.ssh_key_fingerprints if key_fingerprint(k) not in keys]
    if unknown_keys:
        what = NO_AUTHORISED_KEYS if not keys else "not in policy.authorized_ssh_keys"
        problems.append(f"SSH key(s) {', '.join(unknown_keys)}: {what}")
    assert not problems, f"host {host.name}: " + "; ".join(problems)
