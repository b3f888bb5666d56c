"""Azure RBAC facts: every role assignment that grants access inside a subscription, with its role.

Per subscription, two ARM reads (api-version 2022-04-01): the role definitions assignable there
(to turn a roleDefinitionId into a role name, type and permissions: actions, notActions,
dataActions, notDataActions) and `roleAssignments` of the subscription, which
holds assignments at subscription, resource-group and resource scope plus those inherited from
management groups. Every assignment is kept with its scope; one inherited from a management group
has the same id in every subscription and is judged once.

Role assignments are not in Resource Graph's `Resources` table (they live in
`authorizationresources`), so they are always read from ARM, never from the bulk inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.mgmt.authorization import AuthorizationManagementClient

from collectors.azure import fields
from collectors.azure.base import AzureCollector
from collectors.azure.facts import ROLE_ASSIGNMENTS, RoleAssignment, RolePermission, role_guid_of
from collectors.azure.reading import Unreadable
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed
from collectors.messages import Reason
from reports.evidence import Source, msg

ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


@dataclass(frozen=True)
class RoleDefinition:
    """A role definition as ARM lists it; `permissions` None when they cannot be read (`problem` says why)."""

    id: str
    name: str | None
    role_type: str | None
    """"BuiltInRole" or "CustomRole"."""
    permissions: tuple[RolePermission, ...] | None
    problem: Reason | None = None


def _patterns(model: Any, name: str, arm_name: str, *, required: bool) -> tuple[str, ...]:
    """Return a permission list; an absent required list (actions, dataActions) is unreadable.

    An absent exclusion list (notActions, notDataActions) excludes nothing: reading it as empty
    can only make the role look more privileged, never less.
    """
    found = fields.texts(model, name, arm_name, nested=False)
    if found is None and required:
        raise fields.FieldUnreadable(msg("{field} is absent", field=arm_name))
    return found or ()


def role_definition_of(model: Any) -> RoleDefinition:
    """Return a role definition with its permissions; what cannot be read is named in `problem`."""
    definition_id = fields.resource_id(model, msg("the role definition"))
    name = fields.text(model, "role_name", "roleName")
    role_type = fields.text(model, "role_type", "type")
    try:
        blocks = fields.items(model, "permissions", "permissions")
        if blocks is None:
            raise fields.FieldUnreadable(msg("{field} is absent", field="permissions"))
        permissions = tuple(
            RolePermission(
                actions=_patterns(block, "actions", f"permissions[{index}].actions", required=True),
                not_actions=_patterns(
                    block, "not_actions", f"permissions[{index}].notActions", required=False
                ),
                data_actions=_patterns(
                    block, "data_actions", f"permissions[{index}].dataActions", required=True
                ),
                not_data_actions=_patterns(
                    block, "not_data_actions", f"permissions[{index}].notDataActions", required=False
                ),
            )
            for index, block in enumerate(blocks)
        )
    except fields.FieldUnreadable as exc:
        return RoleDefinition(
            definition_id,
            name,
            role_type,
            None,
            msg("its permissions cannot be read: {detail}", detail=exc.reason),
        )
    return RoleDefinition(definition_id, name, role_type, permissions)


def role_definitions_of(models: Any) -> dict[str, RoleDefinition]:
    """Return the role definitions of a list answer by role GUID (lower-case)."""
    if not isinstance(models, list):
        raise fields.FieldUnreadable(msg("the role definition list is {shown}", shown=fields.shown(models)))
    definitions = (
        role_definition_of(fields.obj(model, msg("role definition {index}", index=index)))
        for index, model in enumerate(models)
    )
    return {role_guid_of(definition.id): definition for definition in definitions}


class RoleAssignmentCollector(AzureCollector):
    """Reads the role assignments of every subscription in scope, naming each assignment's role."""

    populations = (ROLE_ASSIGNMENTS,)
    listed_types = ()

    def authorization(self, subscription_id: str) -> AuthorizationManagementClient:
        """Return the authorization management client of a subscription."""
        return self.client(AuthorizationManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """Collect every role assignment visible in each subscription into azure.role_assignments."""
        self.context.progress(f"azure: reading role assignments of {len(subscriptions)} subscription(s)")
        self.arm.map(self._assignments_of, subscriptions)

    def _definitions(
        self, subscription: AzureSubscription
    ) -> tuple[dict[str, RoleDefinition], tuple[Source, ...], Reason]:
        """Return {role GUID: definition} of the subscription, its sources, and why it is empty if it is."""
        client = self.authorization(subscription.id)
        failures: list[Unreadable] = []
        found = self.read_parsed(
            msg("role definitions could not be listed"),
            lambda hook: client.role_definitions.list(subscription.resource_id, raw_response_hook=hook),
            role_definitions_of,
            failed=failures.append,
        )
        if found is None:  # an answer that cannot be parsed keeps its sources, a failed call has none
            return {}, failures[0].sources, failures[0].reason
        definitions, sources = found
        return definitions, sources, msg("no role definition with this id is assignable in the subscription")

    def _assignments_of(self, subscription: AzureSubscription) -> None:
        client = self.authorization(subscription.id)
        subject = f"{subscription.resource_id}/providers/{ROLE_ASSIGNMENT_TYPE}"
        fetched = self.read(
            msg(
                "role assignments of subscription {subscription} could not be listed",
                subscription=subscription.id,
            ),
            lambda hook: client.role_assignments.list_for_subscription(raw_response_hook=hook),
            failed=self.errors_for(subject, (ROLE_ASSIGNMENTS,)),
        )
        if fetched is None:
            return
        definitions, definition_sources, missing_reason = self._definitions(subscription)
        assignments = self.each(
            msg(
                "a role assignment of subscription {subscription} could not be read",
                subscription=subscription.id,
            ),
            fetched,
            lambda model: self._assignment(subscription, model, definitions, missing_reason),
            list_subject=subject,
            populations=(ROLE_ASSIGNMENTS,),
        )
        for assignment in assignments:
            self.population(ROLE_ASSIGNMENTS).add(
                observed(assignment.id, assignment, (*fetched.sources, *definition_sources))
            )

    @staticmethod
    def _assignment(
        subscription: AzureSubscription,
        model: Any,
        definitions: dict[str, RoleDefinition],
        missing_reason: Reason,
    ) -> RoleAssignment:
        role_definition_id = fields.text(model, "role_definition_id", "roleDefinitionId") or ""
        definition = definitions.get(role_guid_of(role_definition_id)) if role_definition_id else None
        name = definition.name if definition is not None else None
        return RoleAssignment(
            id=fields.resource_id(model, msg("the role assignment")),
            subscription_id=subscription.id,
            scope=fields.text(model, "scope", "scope") or "",
            role_definition_id=role_definition_id,
            role_name=name,
            principal_id=fields.text(model, "principal_id", "principalId") or "",
            principal_type=fields.text(model, "principal_type", "principalType"),
            role_problem=None
            if name
            else (missing_reason if definition is None else msg("the role definition has no roleName")),
            role_type=None if definition is None else definition.role_type,
            permissions=None if definition is None else definition.permissions,
            permissions_problem=missing_reason if definition is None else definition.problem,
        )
