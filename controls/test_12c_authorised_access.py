"""12c: procedures ensure that only authorised personnel have access to personal data.

"Er zijn procedures opgesteld waardoor alleen geautoriseerd personeel heeft toegang tot de
persoonsgegevens." Privileged Azure roles and the Entra ID administrator of every SQL server
must belong to principals listed in policy.authorized_principals (Entra object ids).
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.azure.authorization import RoleAssignment
from collectors.azure.sql_governance import SqlEntraAdministration
from collectors.config import Policy
from controls.framework import Evidence, EvidenceMissing, control

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
    if not is_privileged(assignment.role_name, policy.privileged_roles):
        evidence.observed(privileged=f"no: {assignment.role_name} is not in policy.privileged_roles")
        return
    evidence.observed(privileged="yes")
    holder = f"{assignment.principal_type or 'principal'} {assignment.principal_id}"
    where = f"{assignment.scope_level} {assignment.scope}"
    assert policy.authorized_principals, (
        f"{assignment.role_name} at {where} is held by {holder}; {NOBODY_AUTHORISED}"
    )
    assert is_authorised([assignment.principal_id], policy), (
        f"{assignment.role_name} at {where} is held by {holder}, which is not in policy.authorized_principals"
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
