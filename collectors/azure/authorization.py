"""Azure RBAC facts: every role assignment that grants access inside a subscription, with its role name.

Per subscription, two ARM reads (api-version 2022-04-01): the role definitions assignable there
(to turn a roleDefinitionId into a role name) and `roleAssignments` of the subscription, which
holds assignments at subscription, resource-group and resource scope plus those inherited from
management groups. Every assignment is kept with its scope; one inherited from a management group
has the same id in every subscription and is judged once.

Role assignments are not in Resource Graph's `Resources` table (they live in
`authorizationresources`), so they are always read from ARM, never from the bulk inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.authorization import AuthorizationManagementClient

from collectors.azure.arm import describe_failure
from collectors.azure.base import AzureCollector, text_of
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.provenance import Source

ROLE_ASSIGNMENTS = "azure.role_assignments"
ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


@dataclass(frozen=True)
class RoleAssignment:
    """One role granted to one principal at one scope, as ARM reports it.

    `role_name` is None when the role definition could not be found; `role_problem` says why,
    and the role is then shown as "unknown role <guid>" (a control cannot judge it).
    """

    id: str
    subscription_id: str
    scope: str
    role_definition_id: str
    role_name: str | None
    principal_id: str
    principal_type: str | None
    role_problem: str | None = None

    @property
    def role_guid(self) -> str:
        """Return the role definition's GUID (the last segment of its id, in either id form)."""
        return role_guid_of(self.role_definition_id)

    @property
    def role(self) -> str:
        """Return the role's name, or "unknown role <guid>" when its definition was not found."""
        return self.role_name or f"unknown role {self.role_guid}"

    @property
    def scope_level(self) -> str:
        """Return the kind of scope: management group, subscription, resource group, resource or tenant."""
        return scope_level_of(self.scope)


def role_guid_of(role_definition_id: str) -> str:
    """Return the GUID that ends a role definition id, lower-cased.

    Assignments name their role in subscription form
    (`/subscriptions/<s>/providers/Microsoft.Authorization/roleDefinitions/<guid>`) or tenant
    form (`/providers/Microsoft.Authorization/roleDefinitions/<guid>`): only the GUID identifies it.
    """
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def scope_level_of(scope: str) -> str:
    """Return which kind of scope an ARM scope string is."""
    parts = [p.lower() for p in scope.strip("/").split("/") if p]
    if not parts:
        return "tenant"
    if parts[0] == "providers" and len(parts) >= 4 and parts[1] == "microsoft.management":
        return "management group"
    if parts[0] != "subscriptions":
        return "tenant"
    if len(parts) == 2:
        return "subscription"
    if len(parts) == 4 and parts[2] == "resourcegroups":
        return "resource group"
    return "resource"


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

    def _role_names(self, subscription: AzureSubscription) -> tuple[dict[str, str], tuple[Source, ...], str]:
        """Return {role GUID: role name} of the subscription, its sources, and why it is empty if it is."""
        client = self.authorization(subscription.id)
        try:
            fetched = self.arm.fetch(
                lambda hook: client.role_definitions.list(subscription.resource_id, raw_response_hook=hook)
            )
        except AzureError as exc:
            return {}, (), f"role definitions could not be listed: {describe_failure(exc)}"
        names = {
            role_guid_of(str(definition.id or definition.name)): str(definition.role_name)
            for definition in fetched.value
            if definition.role_name
        }
        return names, fetched.sources, "no role definition with this id is assignable in the subscription"

    def _assignments_of(self, subscription: AzureSubscription) -> None:
        population = self.population(ROLE_ASSIGNMENTS)
        client = self.authorization(subscription.id)
        try:
            fetched = self.arm.fetch(
                lambda hook: client.role_assignments.list_for_subscription(raw_response_hook=hook)
            )
        except AzureError as exc:
            subject = f"{subscription.resource_id}/providers/{ROLE_ASSIGNMENT_TYPE}"
            reason = (
                f"role assignments of subscription {subscription.id} could not be listed: "
                f"{describe_failure(exc)}"
            )
            population.add(unobservable(subject, reason))
            return
        names, definition_sources, missing_reason = self._role_names(subscription)
        for model in fetched.value:
            assignment = self._assignment(subscription, model, names, missing_reason)
            population.add(observed(assignment.id, assignment, (*fetched.sources, *definition_sources)))

    @staticmethod
    def _assignment(
        subscription: AzureSubscription, model: Any, names: dict[str, str], missing_reason: str
    ) -> RoleAssignment:
        role_definition_id = str(model.role_definition_id or "")
        name = names.get(role_guid_of(role_definition_id)) if role_definition_id else None
        return RoleAssignment(
            id=str(model.id),
            subscription_id=subscription.id,
            scope=str(model.scope or ""),
            role_definition_id=role_definition_id,
            role_name=name,
            principal_id=str(model.principal_id or ""),
            principal_type=text_of(model.principal_type),
            role_problem=None if name else missing_reason,
        )
