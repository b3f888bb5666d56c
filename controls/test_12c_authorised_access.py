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
from collectors.config.policy import Policy
from collectors.hosts.facts import HostFacts
from controls.framework import Evidence, EvidenceMissing, control
from controls.role_permissions import privilege_reasons
from reports.evidence import N_, Message, as_message, msg, msg_n

NOBODY_AUTHORISED = msg(
    "policy.authorized_principals is empty, so nobody is authorised: list the Entra object ids "
    "allowed to hold privileged access in [policy] authorized_principals"
)
SCOPE_LEVELS = {
    "tenant": N_("tenant"),
    "management group": N_("management group"),
    "subscription": N_("subscription"),
    "resource group": N_("resource group"),
    "resource": N_("resource"),
}
"""The kinds of ARM scope, as the findings name them (catalog texts)."""


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


def scope_level_text(level: str) -> Message | str:
    """Return the kind of an ARM scope in words (a kind the catalog does not know stays as it is)."""
    words = SCOPE_LEVELS.get(level)
    return msg(words) if words is not None else level


def principal_type_text(assignment: RoleAssignment) -> Message | str:
    """Return the principal's type as ARM names it (User, Group, ServicePrincipal), or the word "principal"."""
    return assignment.principal_type or msg("principal")


@control("12c.azure-privileged-roles", over="azure.role_assignments")
def test_privileged_role_is_held_by_an_authorised_principal(
    assignment: RoleAssignment, policy: Policy, evidence: Evidence
) -> None:
    unknown_role = msg("unknown role {guid}", guid=assignment.role_guid)
    evidence.observed(
        role=assignment.role_name or unknown_role,
        principal_id=assignment.principal_id,
        principal_type=assignment.principal_type,
        scope=assignment.scope,
        scope_level=scope_level_text(assignment.scope_level),
    )
    evidence.expected(
        principal_id=msg("one of policy.authorized_principals when the role is privileged"),
        authorized_principals=policy.authorized_principals,
    )
    if assignment.role_name is None:
        raise EvidenceMissing(
            msg(
                "{role} assigned to {principal_type} {principal}: {problem}; whether it is privileged cannot be judged",
                role=unknown_role,
                principal_type=principal_type_text(assignment),
                principal=assignment.principal_id,
                problem=as_message(assignment.role_problem)
                if assignment.role_problem
                else msg("the role definition was not found"),
            )
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
        evidence.observed(
            privileged=msg("yes: {role} is in policy.privileged_roles", role=assignment.role_name)
        )
    elif assignment.permissions is None:
        raise EvidenceMissing(
            msg(
                "{role} assigned to {principal_type} {principal}: the role definition's permissions cannot be "
                "read ({problem}); whether it is privileged cannot be judged",
                role=assignment.role_name,
                principal_type=principal_type_text(assignment),
                principal=assignment.principal_id,
                problem=as_message(assignment.permissions_problem)
                if assignment.permissions_problem
                else msg("not reported"),
            )
        )
    else:
        reasons = privilege_reasons(assignment.permissions)
        if not reasons:
            evidence.observed(
                privileged=msg(
                    "no: {role} is not in policy.privileged_roles and only reads", role=assignment.role_name
                )
            )
            return
        evidence.observed(privileged=msg("yes: {reasons}", reasons=reasons))
    role: Message | str = assignment.role_name
    if not is_privileged(assignment.role_name, policy.privileged_roles):
        role = msg(
            "{role} (privileged by its permissions: {reasons})",
            role=assignment.role_name,
            reasons=privilege_reasons(assignment.permissions or ()),
        )
    held = {
        "role": role,
        "scope_level": scope_level_text(assignment.scope_level),
        "scope": assignment.scope,
        "principal_type": principal_type_text(assignment),
        "principal": assignment.principal_id,
    }
    assert policy.authorized_principals, evidence.fails(
        "{role} at {scope_level} {scope} is held by {principal_type} {principal}; {why}",
        why=NOBODY_AUTHORISED,
        **held,
    )
    assert is_authorised([assignment.principal_id], policy), evidence.fails(
        "{role} at {scope_level} {scope} is held by {principal_type} {principal}, "
        "which is not in policy.authorized_principals",
        **held,
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
        entra_admin=msg("set, with its sid or login in policy.authorized_principals"),
        authorized_principals=policy.authorized_principals,
        azure_ad_only_authentication=True,
    )
    problems: list[Message] = []
    if admin is None:
        problems.append(msg("no Entra ID administrator is set"))
    elif not policy.authorized_principals:
        problems.append(
            msg(
                "Entra ID administrator {admin} is set but {why}",
                admin=admin.login or admin.sid,
                why=NOBODY_AUTHORISED,
            )
        )
    elif not is_authorised([admin.sid, admin.login], policy):
        problems.append(
            msg(
                "Entra ID administrator {login} (sid {sid}) is not in policy.authorized_principals",
                login=admin.login,
                sid=admin.sid,
            )
        )
    if administration.azure_ad_only_authentication is not True:
        state = "false" if administration.azure_ad_only_authentication is False else msg("not reported")
        problems.append(
            msg("azureADOnlyAuthentication is {state}: SQL logins are still accepted", state=state)
        )
    assert not problems, evidence.fails(
        "server {server}: {problems}", server=administration.server_name, problems=problems
    )


# --- 12c.host-admins (hosts over SSH) --------------------------------------------------------------

NOBODY_AUTHORISED_ADMINS = msg(
    "policy.authorized_admins is empty, so nobody is authorised: list the people allowed to administer "
    "hosts in [policy] authorized_admins (Linux user names, Windows DOMAIN\\user or local user names)"
)
NO_AUTHORISED_KEYS = msg(
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
        administrators=msg("each in policy.authorized_admins"),
        authorized_admins=policy.authorized_admins,
        ssh_key_fingerprints=msg("each in policy.authorized_ssh_keys"),
        authorized_ssh_keys=policy.authorized_ssh_keys,
    )
    allowed = folded(policy.authorized_admins)
    problems: list[Message] = []
    strangers = [m for m in admins.members if not admin_is_authorised(m, host.name, allowed)]
    if strangers:
        problems.append(
            msg_n(
                "administrator {names}: {why}",
                "administrators {names}: {why}",
                "n",
                n=len(strangers),
                names=strangers,
                why=NOBODY_AUTHORISED_ADMINS if not allowed else msg("not in policy.authorized_admins"),
            )
        )
    keys = {key_fingerprint(k) for k in policy.authorized_ssh_keys if k.strip()}
    unknown_keys = [k for k in admins.ssh_key_fingerprints if key_fingerprint(k) not in keys]
    if unknown_keys:
        problems.append(
            msg_n(
                "SSH key {keys}: {why}",
                "SSH keys {keys}: {why}",
                "n",
                n=len(unknown_keys),
                keys=unknown_keys,
                why=NO_AUTHORISED_KEYS if not keys else msg("not in policy.authorized_ssh_keys"),
            )
        )
    assert not problems, evidence.fails("host {host}: {problems}", host=host.name, problems=problems)
