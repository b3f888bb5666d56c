"""Storage account facts: network rules, HTTPS/TLS floor, encryption at rest, primary and secondary region.

One list call per subscription returns everything the storage controls need; the account and
its geo-replica (GRS, RA-GRS, GZRS, RA-GZRS) are both placed in the clause-8 population.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import StorageAccount as StorageAccountModel

from collectors.azure import fields
from collectors.azure.base import AzureCollector, resource_group_of
from collectors.azure.facts import (
    AZURE_RESOURCES,
    STORAGE_ACCOUNTS,
    UNKNOWN_REGION,
    StorageAccount,
    StorageIpRule,
)
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.regions import normalise_region
from reports.evidence import Source, msg

ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
SECONDARY_TYPE = "Microsoft.Storage/storageAccounts/secondaryLocation"
GEO_REDUNDANT_SKUS = ("GRS", "GZRS")
"""SKU name parts whose data is also kept in a paired secondary region (RA- variants included)."""


def is_geo_redundant(sku: str | None) -> bool:
    """Return True for SKUs that replicate to a secondary region (Standard_GRS, Standard_RAGZRS, ...)."""
    return any(part in (sku or "").upper() for part in GEO_REDUNDANT_SKUS)


def _ip_rules(acls: Any) -> tuple[StorageIpRule, ...] | None:
    """Return the IPv4 and IPv6 rules of networkAcls (None when ipRules is absent).

    `ipv6Rules` is newer and optional: its absence means no IPv6 rule (see
    `collectors.azure.secure_defaults.STORAGE_IPV6_RULES_ABSENT`).
    """
    ipv4 = fields.items(acls, "ip_rules", "networkAcls.ipRules", nested=False)
    if ipv4 is None:
        return None
    # Absent ipv6Rules: no IPv6 rule (collectors.azure.secure_defaults.STORAGE_IPV6_RULES_ABSENT).
    ipv6 = fields.items(acls, "ipv6_rules", "networkAcls.ipv6Rules", nested=False) or []
    return tuple(
        StorageIpRule(
            fields.text(rule, "ip_address_or_range", f"networkAcls.{kind}[{index}].value", nested=False),
            fields.text(rule, "action", f"networkAcls.{kind}[{index}].action", nested=False),
        )
        for kind, rules in (("ipRules", ipv4), ("ipv6Rules", ipv6))
        for index, rule in enumerate(rules)
    )


def _rule_ids(acls: Any, name: str, arm_name: str, key: str, json_key: str) -> tuple[str, ...]:
    found = fields.items(acls, name, f"networkAcls.{arm_name}", nested=False) or []
    return tuple(
        str(fields.text(rule, key, f"networkAcls.{arm_name}[{index}].{json_key}", nested=False))
        for index, rule in enumerate(found)
    )


def storage_account_of(model: Any, subscription_id: str) -> StorageAccount:
    """Return the fact of one account from its SDK model (listed through ARM or Resource Graph).

    Absent settings stay None (the controls never read them as secure); a setting of the wrong
    type makes the account unreadable.
    """
    account_id = fields.resource_id(model, msg("the storage account"))
    acls = fields.child(model, "network_rule_set", "networkAcls")
    encryption = fields.child(model, "encryption", "encryption")
    services = (
        None
        if encryption is None
        else fields.child(encryption, "services", "encryption.services", nested=False)
    )

    def service_enabled(name: str) -> bool | None:
        service = (
            None
            if services is None
            else fields.child(services, name, f"encryption.services.{name}", nested=False)
        )
        return (
            None
            if service is None
            else fields.flag(service, "enabled", f"encryption.services.{name}.enabled", nested=False)
        )

    location = (
        fields.text(model, "primary_location", "primaryLocation")
        or fields.text(model, "location", "location", nested=False)
        or UNKNOWN_REGION
    )
    secondary = fields.text(model, "secondary_location", "secondaryLocation")
    sku = fields.child(model, "sku", "sku", nested=False)
    return StorageAccount(
        id=account_id,
        name=fields.resource_name(model),
        subscription_id=subscription_id,
        resource_group=resource_group_of(account_id),
        kind=fields.text(model, "kind", "kind", nested=False),
        sku=None if sku is None else fields.text(sku, "name", "sku.name", nested=False),
        public_network_access=fields.text(model, "public_network_access", "publicNetworkAccess"),
        default_action=None
        if acls is None
        else fields.text(acls, "default_action", "networkAcls.defaultAction", nested=False),
        bypass=None if acls is None else fields.text(acls, "bypass", "networkAcls.bypass", nested=False),
        ip_rules=() if acls is None else _ip_rules(acls),
        virtual_network_rules=()
        if acls is None
        else _rule_ids(
            acls, "virtual_network_rules", "virtualNetworkRules", "virtual_network_resource_id", "id"
        ),
        resource_access_rules=()
        if acls is None
        else _rule_ids(acls, "resource_access_rules", "resourceAccessRules", "resource_id", "resourceId"),
        https_only=fields.flag(model, "enable_https_traffic_only", "supportsHttpsTrafficOnly"),
        minimum_tls_version=fields.text(model, "minimum_tls_version", "minimumTlsVersion"),
        blob_encryption_enabled=service_enabled("blob"),
        file_encryption_enabled=service_enabled("file"),
        key_source=None
        if encryption is None
        else fields.text(encryption, "key_source", "encryption.keySource", nested=False),
        require_infrastructure_encryption=None
        if encryption is None
        else fields.flag(
            encryption,
            "require_infrastructure_encryption",
            "encryption.requireInfrastructureEncryption",
            nested=False,
        ),
        primary_location=normalise_region(location),
        secondary_location=normalise_region(secondary) if secondary else None,
        status_of_secondary=fields.text(model, "status_of_secondary", "statusOfSecondary"),
    )


class StorageCollector(AzureCollector):
    """Reads the storage accounts of the subscriptions in scope into `azure.storage_accounts`."""

    populations = (STORAGE_ACCOUNTS, AZURE_RESOURCES)
    listed_types = (ACCOUNT_TYPE,)

    def storage(self, subscription_id: str) -> StorageManagementClient:
        """Return the storage management client of a subscription."""
        return self.client(StorageManagementClient, subscription_id)

    def collect(self, subscriptions: list[AzureSubscription]) -> None:
        """List every subscription's storage accounts; place each account and its geo-replica."""
        self.arm.map(self._accounts_of, subscriptions)

    def _accounts_of(self, subscription: AzureSubscription) -> None:
        found = self.read_items_in(
            subscription,
            ACCOUNT_TYPE,
            lambda hook: self.storage(subscription.id).storage_accounts.list(raw_response_hook=hook),
            StorageAccountModel,
            lambda model: storage_account_of(model, subscription.id),
            item=msg("a storage account"),
            populations=(STORAGE_ACCOUNTS,),
        )
        if found is None:
            return
        accounts, fetched = found
        for account in accounts:
            self._place(account, fetched.sources)

    def _place(self, account: StorageAccount, sources: tuple[Source, ...]) -> None:
        self.population(STORAGE_ACCOUNTS).add(observed(account.id, account, sources))
        self.locate(account.id, ACCOUNT_TYPE, account.primary_location, sources)
        replica = f"{account.id}/secondaryLocation"
        if account.secondary_location:
            self.locate(replica, SECONDARY_TYPE, account.secondary_location, sources)
        elif is_geo_redundant(account.sku):
            reason = msg(
                "storage account {account} has the geo-redundant SKU {sku} but reports no "
                "secondaryLocation: where its replica lives is unknown",
                account=account.name,
                sku=account.sku,
            )
            self.population(AZURE_RESOURCES).add(unobservable(replica, reason, sources))
