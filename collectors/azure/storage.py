"""Storage account facts: network rules, HTTPS/TLS floor, encryption at rest, primary and secondary region.

One list call per subscription returns everything the storage controls need; the account and
its geo-replica (GRS, RA-GRS, GZRS, RA-GZRS) are both placed in the clause-8 population.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import StorageAccount as StorageAccountModel

from collectors.azure.base import AZURE_RESOURCES, AzureCollector, prop, resource_group_of, text_of
from collectors.azure.subscriptions import AzureSubscription
from collectors.facts import observed, unobservable
from collectors.provenance import Source
from collectors.regions import normalise_region

STORAGE_ACCOUNTS = "azure.storage_accounts"
ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
SECONDARY_TYPE = "Microsoft.Storage/storageAccounts/secondaryLocation"
GEO_REDUNDANT_SKUS = ("GRS", "GZRS")
"""SKU name parts whose data is also kept in a paired secondary region (RA- variants included)."""


@dataclass(frozen=True)
class StorageIpRule:
    """A storage firewall rule admitting one address or one CIDR range."""

    value: str
    action: str | None


@dataclass(frozen=True)
class StorageAccount:
    """A storage account with the network, transport and encryption settings the controls judge."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    kind: str | None
    sku: str | None
    public_network_access: str | None
    default_action: str | None
    bypass: str | None
    ip_rules: tuple[StorageIpRule, ...]
    virtual_network_rules: tuple[str, ...]
    resource_access_rules: tuple[str, ...]
    https_only: bool | None
    minimum_tls_version: str | None
    blob_encryption_enabled: bool | None
    file_encryption_enabled: bool | None
    key_source: str | None
    require_infrastructure_encryption: bool | None
    primary_location: str
    secondary_location: str | None
    status_of_secondary: str | None


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _service_enabled(services: Any, name: str) -> bool | None:
    return _bool(getattr(getattr(services, name, None), "enabled", None))


def is_geo_redundant(sku: str | None) -> bool:
    """Return True for SKUs that replicate to a secondary region (Standard_GRS, Standard_RAGZRS, ...)."""
    return any(part in (sku or "").upper() for part in GEO_REDUNDANT_SKUS)


def storage_account_of(model: Any, subscription_id: str) -> StorageAccount:
    """Return the fact of one account from its SDK model (listed through ARM or Resource Graph)."""
    account_id = str(model.id)
    acls = prop(model, "network_rule_set")
    encryption = prop(model, "encryption")
    services = getattr(encryption, "services", None)
    rules = [*(getattr(acls, "ip_rules", None) or ()), *(getattr(acls, "ipv6_rules", None) or ())]
    location = text_of(prop(model, "primary_location")) or text_of(model.location) or "unknown"
    secondary = text_of(prop(model, "secondary_location"))
    return StorageAccount(
        id=account_id,
        name=str(model.name),
        subscription_id=subscription_id,
        resource_group=resource_group_of(account_id),
        kind=text_of(getattr(model, "kind", None)),
        sku=text_of(getattr(getattr(model, "sku", None), "name", None)),
        public_network_access=text_of(prop(model, "public_network_access")),
        default_action=text_of(getattr(acls, "default_action", None)),
        bypass=text_of(getattr(acls, "bypass", None)),
        ip_rules=tuple(
            StorageIpRule(str(rule.ip_address_or_range), text_of(getattr(rule, "action", None)))
            for rule in rules
        ),
        virtual_network_rules=tuple(
            str(rule.virtual_network_resource_id)
            for rule in getattr(acls, "virtual_network_rules", None) or ()
        ),
        resource_access_rules=tuple(
            str(rule.resource_id) for rule in getattr(acls, "resource_access_rules", None) or ()
        ),
        https_only=_bool(prop(model, "enable_https_traffic_only")),
        minimum_tls_version=text_of(prop(model, "minimum_tls_version")),
        blob_encryption_enabled=_service_enabled(services, "blob"),
        file_encryption_enabled=_service_enabled(services, "file"),
        key_source=text_of(getattr(encryption, "key_source", None)),
        require_infrastructure_encryption=_bool(
            getattr(encryption, "require_infrastructure_encryption", None)
        ),
        primary_location=normalise_region(location),
        secondary_location=normalise_region(secondary) if secondary else None,
        status_of_secondary=text_of(prop(model, "status_of_secondary")),
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
        try:
            fetched = self.listing(
                subscription.resource_id,
                ACCOUNT_TYPE,
                lambda hook: self.storage(subscription.id).storage_accounts.list(raw_response_hook=hook),
                StorageAccountModel,
            )
        except AzureError as exc:
            self.could_not_list(subscription, ACCOUNT_TYPE, exc, (STORAGE_ACCOUNTS,))
            return
        for model in fetched.value:
            account = storage_account_of(model, subscription.id)
            self._place(account, fetched.sources)

    def _place(self, account: StorageAccount, sources: tuple[Source, ...]) -> None:
        self.population(STORAGE_ACCOUNTS).add(observed(account.id, account, sources))
        self.locate(account.id, ACCOUNT_TYPE, account.primary_location, sources)
        replica = f"{account.id}/secondaryLocation"
        if account.secondary_location:
            self.locate(replica, SECONDARY_TYPE, account.secondary_location, sources)
        elif is_geo_redundant(account.sku):
            reason = (
                f"storage account {account.name} has the geo-redundant SKU {account.sku} "
                "but reports no secondaryLocation: where its replica lives is unknown"
            )
            self.population(AZURE_RESOURCES).add(unobservable(replica, reason, sources))
