"""12c.azure-privileged-roles judges a role by what it allows, not by its name.

Issue 12, case 1.5: a custom role with `*` or `Microsoft.Authorization/*/write` actions passed
as "not privileged" because only names in policy.privileged_roles counted. Now the role
definitions' permissions are read (actions minus notActions, dataActions minus notDataActions,
wildcards as ARM matches them) and any role that can write, delete, run actions (assign roles,
list keys, read connection strings) or read Key Vault secrets and keys is privileged, whatever
its name; a definition whose permissions cannot be read makes its assignments `error`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.authorization import RoleAssignmentCollector
from collectors.azure.base import AzureContext
from collectors.azure.facts import ROLE_ASSIGNMENTS, RoleAssignment, RolePermission
from collectors.azure.subscriptions import AzureSubscription
from collectors.config.inventory import AzureSource
from collectors.config.policy import Policy
from collectors.facts import FactStore
from collectors.messages import english_text
from controls import test_12c_authorised_access as c12c
from controls.framework import Verdict
from controls.role_permissions import operation_matches, privileges
from demo.standins.arm_emulator import ArmEmulator, load_estate
from reports.evidence import msg
from tests.audit_runs import DEMO, POLICY, SUB_PROD, azure_section, run_audit
from tests.control_calls import verdict

OPS = "6f1c2a3b-4d5e-4f60-8a71-0b2c3d4e5f60"
STRANGER = "9c4d5e6f-7081-4293-8da4-3e4f5a6b7c83"
CUSTOM_GUID = "c0ffee00-1234-4abc-8def-000000000001"
CUSTOM_DEFINITION = (
    f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM_GUID}"
)
CUSTOM_ASSIGNMENT = f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-1001-4e5f-8a01-0000000000c1"


def permission(
    actions: tuple[str, ...] = (),
    not_actions: tuple[str, ...] = (),
    data_actions: tuple[str, ...] = (),
    not_data_actions: tuple[str, ...] = (),
) -> RolePermission:
    return RolePermission(actions, not_actions, data_actions, not_data_actions)


# --- ARM's matching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "pattern", "matches"),
    [
        ("Microsoft.Compute/virtualMachines/write", "*", True),
        ("Microsoft.Compute/virtualMachines/read", "*/read", True),
        ("Microsoft.Compute/virtualMachines/write", "*/read", False),
        ("Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/*/Write", True),
        ("microsoft.authorization/roleassignments/WRITE", "Microsoft.Authorization/*/write", True),
        ("Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/*", True),
        (
            "Microsoft.Storage/storageAccounts/listKeys/action",
            "Microsoft.Storage/storageAccounts/read",
            False,
        ),
        ("Microsoft.Sql/servers/write", "Microsoft.Sql/servers/*/write", False),
    ],
)
def test_operations_match_patterns_as_arm_does(operation: str, pattern: str, matches: bool) -> None:
    assert operation_matches(operation, pattern) is matches


# --- what makes a role privileged -------------------------------------------------------------------------


def test_owner_can_do_everything_including_assigning_roles() -> None:
    reasons = privileges([permission(("*",))])
    assert "can assign roles (Microsoft.Authorization roleAssignments/roleDefinitions write)" in reasons
    assert "action '*' lets it delete, run actions, write" in reasons


def test_contributor_writes_but_cannot_assign_roles() -> None:
    contributor = permission(
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    )
    reasons = privileges([contributor])
    assert reasons
    assert not any("assign roles" in r for r in reasons)


def test_reader_is_not_privileged() -> None:
    assert privileges([permission(("*/read",))]) == []


@pytest.mark.parametrize(
    "allowed",
    [
        permission(("Microsoft.Authorization/*/write",)),
        permission(("Microsoft.Authorization/roleAssignments/write",)),
        permission(("*/read", "Microsoft.Storage/storageAccounts/listKeys/action")),
        permission(("*/read", "Microsoft.Web/sites/config/list/action")),
        permission(("Microsoft.Web/sites/config/list/Action",)),
        permission(("Microsoft.Web/sites/connectionStrings/listConnectionStrings/action",)),
        permission(("Microsoft.Sql/servers/*",)),
        permission(("Microsoft.Network/networkSecurityGroups/securityRules/delete",)),
        permission((), (), ("Microsoft.KeyVault/vaults/secrets/getSecret/action",)),
        permission((), (), ("Microsoft.KeyVault/vaults/*/read",)),
        permission((), (), ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",)),
    ],
)
def test_a_role_that_can_write_delete_act_or_read_secrets_is_privileged(allowed: RolePermission) -> None:
    assert privileges([allowed])


def test_exclusions_that_remove_every_non_read_make_a_role_read_only() -> None:
    compute_reader = permission(
        ("Microsoft.Compute/*",),
        ("Microsoft.Compute/*/write", "Microsoft.Compute/*/delete", "Microsoft.Compute/*/action"),
    )
    assert privileges([compute_reader]) == []


def test_exclusions_that_leave_one_non_read_keep_a_role_privileged() -> None:
    almost = permission(("Microsoft.Compute/*",), ("Microsoft.Compute/*/write", "Microsoft.Compute/*/delete"))
    assert privileges([almost]) == ["action 'Microsoft.Compute/*' lets it run actions"]


def test_data_reads_of_anything_but_secrets_are_not_privileged() -> None:
    assert (
        privileges(
            [permission((), (), ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",))]
        )
        == []
    )


def test_every_permission_block_counts() -> None:
    assert privileges([permission(("*/read",)), permission(("Microsoft.Authorization/*",))])


# --- the control ----------------------------------------------------------------------------------------


def assignment(
    name: str, permissions: tuple[RolePermission, ...] | None, principal: str = STRANGER
) -> RoleAssignment:
    return RoleAssignment(
        id=CUSTOM_ASSIGNMENT,
        subscription_id=SUB_PROD,
        scope=f"/subscriptions/{SUB_PROD}",
        role_definition_id=CUSTOM_DEFINITION,
        role_name=name,
        principal_id=principal,
        principal_type="User",
        role_type="CustomRole",
        permissions=permissions,
        permissions_problem=None
        if permissions is not None
        else "its permissions cannot be read: actions is absent",
    )


def role_verdict(fact: RoleAssignment) -> Verdict:
    return verdict(
        c12c.test_privileged_role_is_held_by_an_authorised_principal,
        fact,
        policy=Policy(authorized_principals=[OPS]),
    )


@pytest.mark.parametrize(
    "actions",
    [
        ("*",),
        ("Microsoft.Authorization/*/write",),
        ("*/read", "Microsoft.Storage/storageAccounts/listKeys/action"),
    ],
)
def test_custom_role_with_an_innocent_name_is_judged_by_its_permissions(actions: tuple[str, ...]) -> None:
    result = role_verdict(assignment("Helpdesk viewer", (permission(actions),)))
    assert result.status == "fail"
    assert "Helpdesk viewer (privileged by its permissions:" in result.message
    assert STRANGER in result.message


def test_custom_role_with_privileged_permissions_held_by_an_authorised_principal_passes() -> None:
    assert role_verdict(assignment("Helpdesk viewer", (permission(("*",)),), principal=OPS)).status == "pass"


def test_read_only_custom_role_passes_for_anyone() -> None:
    assert role_verdict(assignment("Auditors", (permission(("*/read",)),))).status == "pass"


def test_role_whose_permissions_cannot_be_read_is_error() -> None:
    result = role_verdict(assignment("Helpdesk viewer", None))
    assert result.status == "error"
    assert "permissions cannot be read" in result.message
    assert "actions is absent" in result.message


def test_built_in_name_in_the_policy_stays_privileged_even_if_its_permissions_only_read() -> None:
    result = role_verdict(assignment("Owner", (permission(("*/read",)),)))
    assert result.status == "fail"
    assert "Owner at subscription" in result.message


def test_built_in_name_in_the_policy_is_privileged_even_when_its_permissions_cannot_be_read() -> None:
    assert role_verdict(assignment("Owner", None)).status == "fail"


# --- the collector against the emulator: role definitions served with their permissions -----------------------


def custom_role(permissions: Any) -> dict[str, Any]:
    """A custom role definition in the shape of Microsoft's GetRoleDefinitionById.json."""
    return {
        "id": CUSTOM_DEFINITION,
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": CUSTOM_GUID,
        "properties": {
            "roleName": "Helpdesk viewer",
            "type": "CustomRole",
            "description": "Looks at tickets (and, by mistake, can do anything)",
            "assignableScopes": [f"/subscriptions/{SUB_PROD}"],
            "permissions": permissions,
        },
    }


def custom_assignment() -> dict[str, Any]:
    return {
        "id": CUSTOM_ASSIGNMENT,
        "type": "Microsoft.Authorization/roleAssignments",
        "name": CUSTOM_ASSIGNMENT.rsplit("/", 1)[-1],
        "properties": {
            "roleDefinitionId": CUSTOM_DEFINITION,
            "principalId": STRANGER,
            "principalType": "User",
            "scope": f"/subscriptions/{SUB_PROD}",
        },
    }


def estate_with(permissions: Any) -> dict[str, Any]:
    estate = load_estate(DEMO / "estate")
    estate["resources"] += [custom_role(permissions), custom_assignment()]
    return estate


def collect(estate: dict[str, Any]) -> FactStore:
    subscription = AzureSubscription(SUB_PROD, "Lucrasoft Production", "Enabled", None)
    with ArmEmulator(estate, page_size=2) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        store = FactStore()
        try:
            RoleAssignmentCollector(AzureContext(arm=arm, store=store, progress=lambda line: None)).collect(
                [subscription]
            )
        finally:
            arm.close()
    return store


def read_custom(store: FactStore) -> RoleAssignment:
    [subject] = [s for s in store.population(ROLE_ASSIGNMENTS).subjects if s.id == CUSTOM_ASSIGNMENT]
    assert isinstance(subject.fact, RoleAssignment), subject.error
    return subject.fact


WILDCARD = [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]


def test_collector_reads_the_custom_roles_permissions_from_arm() -> None:
    fact = read_custom(collect(estate_with(WILDCARD)))
    assert fact.role_name == "Helpdesk viewer"
    assert fact.role_type == "CustomRole"
    assert fact.permissions == (permission(("*",)),)
    assert role_verdict(fact).status == "fail"


def test_every_demo_role_definition_is_served_with_its_permissions() -> None:
    store = collect(load_estate(DEMO / "estate"))
    facts = [
        s.fact for s in store.population(ROLE_ASSIGNMENTS).subjects if isinstance(s.fact, RoleAssignment)
    ]
    named = [f for f in facts if f.role_name]
    assert named
    assert all(f.permissions for f in named)
    reader = next(f for f in named if f.role_name == "Reader")
    assert reader.permissions == (permission(("*/read",)),)


@pytest.mark.parametrize(
    ("permissions", "problem"),
    [
        (None, "permissions is absent"),
        ([{"notActions": [], "dataActions": [], "notDataActions": []}], "permissions[0].actions is absent"),
        ([{"actions": ["*"], "notActions": []}], "permissions[0].dataActions is absent"),
    ],
)
def test_role_definition_whose_permissions_cannot_be_read_makes_its_assignment_error(
    permissions: Any, problem: str
) -> None:
    estate = estate_with(permissions)
    if permissions is None:
        del estate["resources"][-2]["properties"]["permissions"]
    fact = read_custom(collect(estate))
    assert fact.permissions is None
    assert problem in english_text(fact.permissions_problem or "")
    assert fact.permissions_problem == msg(
        "its permissions cannot be read: {detail}",
        detail=msg("{field} is absent", field=problem.removesuffix(" is absent")),
    ), "the detail is a message of its own, the ARM field a parameter"
    result = role_verdict(fact)
    assert result.status == "error"
    assert problem in result.message


def test_absent_exclusions_exclude_nothing() -> None:
    fact = read_custom(collect(estate_with([{"actions": ["*/read"], "dataActions": []}])))
    assert fact.permissions == (permission(("*/read",)),)
    assert role_verdict(fact).status == "pass"


@pytest.mark.integration
def test_audit_fails_a_custom_role_with_wildcard_actions_held_by_an_unlisted_principal(
    tmp_path: Path,
) -> None:
    with ArmEmulator(estate_with(WILDCARD), page_size=2) as emulator:
        run = run_audit(tmp_path, POLICY + azure_section(emulator), "-k", "privileged_role")
    assert run.returncode == 1, run.stdout + run.stderr
    result = run.result("12c.azure-privileged-roles", CUSTOM_ASSIGNMENT.rsplit("/", 1)[-1])
    assert result["status"] == "fail", json.dumps(result)[:500]
    assert "Helpdesk viewer (privileged by its permissions:" in result["message"]
    assert result["observed"]["permissions"] == [
        {"actions": ["*"], "not_actions": [], "data_actions": [], "not_data_actions": []}
    ]
