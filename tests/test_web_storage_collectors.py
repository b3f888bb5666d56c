"""The App Service and storage collectors through the real Azure SDK clients over HTTPS.

Microsoft's own example responses (tests/fixtures/azure-examples/web and storage, ids moved
onto one test subscription) are served by the ARM emulator; the collectors run in-process
for their facts, and `pytest controls/` runs as a subprocess for the verdicts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.base import AzureContext
from collectors.azure.facts import (
    AZURE_ENDPOINTS,
    AZURE_RESOURCES,
    STORAGE_ACCOUNTS,
    WEB_APPS,
    DiscoveredEndpoint,
    StorageIpRule,
)
from collectors.azure.resource_graph import GraphInventory, ResourceGraph, inventory_query
from collectors.azure.storage import StorageCollector
from collectors.azure.subscriptions import AzureSubscription
from collectors.azure.web import WebAppCollector
from collectors.config.inventory import AzureSource
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from demo.standins.arm_emulator import ArmEmulator, Fault
from tests.audit_runs import POLICY, TOKEN, azure_section, run_audit

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "fixtures" / "azure-examples"
SUB = "00000000-1111-2222-3333-444444444444"
SUBSCRIPTION = AzureSubscription(id=SUB, name="Example", state="Enabled", tenant_id=None)
SITES = f"/subscriptions/{SUB}/resourceGroups/testrg123/providers/Microsoft.Web/sites"
SITE_1, SITE_2 = f"{SITES}/sitef6141", f"{SITES}/sitef7252"
ACCOUNTS = f"/subscriptions/{SUB}/resourceGroups/{{rg}}/providers/Microsoft.Storage/storageAccounts"
STO_CREATED = ACCOUNTS.format(rg="res9101") + "/sto4445"
STO_PROPERTIES = ACCOUNTS.format(rg="res9407") + "/sto8596"
SECRET = "canary-connection-string-Password=7f3b9e"
"""A secret planted in the estate where the connection-string and app-setting actions would find it."""


def example(path: str) -> Any:
    """Return the 200 body of one of Microsoft's example files, its ids moved onto SUB."""
    text = (EXAMPLES / path).read_text(encoding="utf-8")
    for foreign in ("34adfa4f-cedf-4dc0-ba29-b6d1a69ab345", "{subscription-id}"):
        text = text.replace(f"/subscriptions/{foreign}/", f"/subscriptions/{SUB}/")
    return json.loads(text)["responses"]["200"]["body"]


def example_estate() -> dict[str, Any]:
    """ListWebApps with config/web for both sites, and the two storage account examples.

    Microsoft's GetSiteConfig belongs to sitef6141; sitef7252 gets a copy whose minTlsVersion
    is 1.0 while its list entry's siteConfig still says 1.2, so only config/web can tell.
    The connection strings and app settings hold a canary secret that must never be read.
    """
    sites = example("web/ListWebApps.json")["value"]
    config = example("web/GetSiteConfig.json")
    weak = copy.deepcopy(config)
    weak["id"] = f"{SITE_2}/config/web"
    weak["properties"]["minTlsVersion"] = "1.0"
    secrets = [
        {
            "id": f"{SITE_1}/config/{name}",
            "name": name,
            "type": "Microsoft.Web/sites/config",
            "properties": {"db": {"value": SECRET, "type": "SQLAzure"}, "SECRET_KEY": SECRET},
        }
        for name in ("connectionstrings", "appsettings")
    ]
    accounts = [
        example("storage/StorageAccountCreateEnablePublicNetworkAccess.json"),
        example("storage/StorageAccountGetProperties.json"),
    ]
    return {
        "subscriptions": [
            {
                "id": f"/subscriptions/{SUB}",
                "subscriptionId": SUB,
                "displayName": "Example",
                "state": "Enabled",
            }
        ],
        "resources": [*sites, config, weak, *secrets, *accounts],
    }


@pytest.fixture
def examples() -> Iterator[ArmEmulator]:
    """The emulator serving Microsoft's examples, one item per page so every list is paged."""
    with ArmEmulator(example_estate(), page_size=1, tokens={TOKEN}) as running:
        yield running


def collect(
    emulator: ArmEmulator, *collectors: type[WebAppCollector | StorageCollector], graph: bool = False
) -> FactStore:
    """Run collectors in-process against the emulator (listing through Resource Graph when `graph`)."""
    source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
    arm = ArmReader(source, StaticTokenCredential(TOKEN), ca_bundle=str(emulator.ca_file))
    store = FactStore()
    context = AzureContext(arm=arm, store=store, progress=lambda line: None)
    try:
        if graph:
            types = [t for c in collectors for t in c.listed_types]
            context.inventory = GraphInventory(types, ResourceGraph(arm).query(inventory_query(types), [SUB]))
        for collector in collectors:
            collector(context).collect([SUBSCRIPTION])
    finally:
        arm.close()
    return store


def subjects(store: FactStore, population: str) -> dict[str, Subject[Any]]:
    return {s.id: s for s in store.population(population).subjects}


# --- App Service -----------------------------------------------------------------------------------


def test_web_apps_from_microsoft_examples(examples: ArmEmulator) -> None:
    store = collect(examples, WebAppCollector)
    apps = subjects(store, WEB_APPS)
    assert sorted(apps) == [SITE_1, SITE_2]
    first = apps[SITE_1].fact
    assert first is not None
    assert (first.name, first.kind, first.location, first.state) == ("sitef6141", "app", "eastus", "Running")
    assert first.https_only is False
    assert (first.min_tls_version, first.scm_min_tls_version, first.ftps_state) == (
        "1.2",
        "1.2",
        "AllAllowed",
    )
    assert first.host_names == ("sitef6141.azurewebsites.net", "sitef6141.scm.azurewebsites.net")
    calls = [s.call for s in apps[SITE_1].sources]
    assert any(
        call.startswith(f"GET {examples.url}/subscriptions/{SUB}/providers/Microsoft.Web/sites?")
        for call in calls
    )
    config_source = next(s for s in apps[SITE_1].sources if "/sitef6141/config/web?" in s.call)
    assert config_source.api_version == "2025-05-01"
    assert config_source.status == 200


def test_config_web_is_authoritative_over_the_list_site_config(examples: ArmEmulator) -> None:
    second = subjects(collect(examples, WebAppCollector), WEB_APPS)[SITE_2].fact
    assert second is not None
    assert second.min_tls_version == "1.0", "the list response's siteConfig (1.2) is a partial copy"


def test_display_name_locations_are_normalised(examples: ArmEmulator) -> None:
    located = subjects(collect(examples, WebAppCollector), AZURE_RESOURCES)
    for site in (SITE_1, SITE_2):
        fact = located[site].fact
        assert fact is not None
        assert (fact.location, fact.type) == ("eastus", "Microsoft.Web/sites")


def test_every_enabled_host_name_is_published_with_its_kind(examples: ArmEmulator) -> None:
    endpoints = subjects(collect(examples, WebAppCollector), AZURE_ENDPOINTS)
    assert endpoints["sitef6141.azurewebsites.net:443"].fact == DiscoveredEndpoint(
        "sitef6141.azurewebsites.net", 443, "app-service", SITE_1
    )
    assert endpoints["sitef6141.scm.azurewebsites.net:443"].fact == DiscoveredEndpoint(
        "sitef6141.scm.azurewebsites.net", 443, "app-service-scm", SITE_1
    )
    assert len(endpoints) == 4


def test_unreadable_config_is_an_error_for_that_app_only(examples: ArmEmulator) -> None:
    examples.add_fault(Fault(path=r"/sites/sitef7252/config/web$", status=403))
    store = collect(examples, WebAppCollector)
    apps = subjects(store, WEB_APPS)
    assert apps[SITE_2].fact is None
    assert "config/web" in english_text(apps[SITE_2].error or "")
    assert "HTTP 403 AuthorizationFailed" in english_text(apps[SITE_2].error or "")
    assert apps[SITE_1].fact is not None
    # Where it runs and what it serves come from the list, which was read.
    assert subjects(store, AZURE_RESOURCES)[SITE_2].fact is not None
    assert "sitef7252.azurewebsites.net:443" in subjects(store, AZURE_ENDPOINTS)


def test_unlistable_sites_are_errors_for_apps_regions_and_endpoints(examples: ArmEmulator) -> None:
    examples.add_fault(Fault(path=rf"^/subscriptions/{SUB}/providers/Microsoft.Web/sites$", status=403))
    store = collect(examples, WebAppCollector)
    for population in (WEB_APPS, AZURE_RESOURCES, AZURE_ENDPOINTS):
        [subject] = store.population(population).subjects
        assert subject.id == f"/subscriptions/{SUB}/providers/Microsoft.Web/sites"
        assert subject.error is not None
        assert "HTTP 403" in english_text(subject.error)


def test_no_secret_bearing_action_is_called(examples: ArmEmulator) -> None:
    collect(examples, WebAppCollector)
    assert {r.method for r in examples.requests} == {"GET"}
    touched = " ".join(r.path.lower() for r in examples.requests)
    assert "connectionstrings" not in touched
    assert "appsettings" not in touched


# --- Storage ---------------------------------------------------------------------------------------


def test_storage_accounts_from_microsoft_examples(examples: ArmEmulator) -> None:
    accounts = subjects(collect(examples, StorageCollector), STORAGE_ACCOUNTS)
    assert sorted(accounts) == [STO_CREATED, STO_PROPERTIES]
    created, listed = accounts[STO_CREATED].fact, accounts[STO_PROPERTIES].fact
    assert created is not None
    assert listed is not None
    # StorageAccountCreateEnablePublicNetworkAccess: public access on, no networkAcls at all.
    assert (created.public_network_access, created.default_action, created.ip_rules) == ("Enabled", None, ())
    assert (created.https_only, created.minimum_tls_version) == (True, "TLS1_2")
    assert created.require_infrastructure_encryption is False
    assert created.sku == "Standard_GRS"
    # StorageAccountGetProperties: networkAcls Allow, supportsHttpsTrafficOnly false, no TLS floor.
    assert listed.public_network_access is None
    assert (listed.default_action, listed.bypass) == ("Allow", "AzureServices")
    assert listed.resource_access_rules == (
        "/subscriptions/a7e99807-abbf-4642-bdec-2c809a96a8bc/resourceGroups/res9407/providers/"
        "Microsoft.Synapse/workspaces/testworkspace",
    )
    assert listed.https_only is False, "JSON supportsHttpsTrafficOnly is the SDK's enable_https_traffic_only"
    assert listed.minimum_tls_version is None
    assert (listed.blob_encryption_enabled, listed.file_encryption_enabled) == (True, True)
    assert (listed.key_source, listed.require_infrastructure_encryption) == ("Microsoft.Storage", None)
    assert (listed.primary_location, listed.secondary_location) == ("eastus2(stage)", "northcentralus(stage)")
    assert listed.status_of_secondary == "available"


def test_primary_and_secondary_regions_are_both_located(examples: ArmEmulator) -> None:
    located = subjects(collect(examples, StorageCollector), AZURE_RESOURCES)
    expected = {
        STO_CREATED: ("eastus2euap", "Microsoft.Storage/storageAccounts"),
        f"{STO_CREATED}/secondaryLocation": (
            "centraluseuap",
            "Microsoft.Storage/storageAccounts/secondaryLocation",
        ),
        STO_PROPERTIES: ("eastus2(stage)", "Microsoft.Storage/storageAccounts"),
        f"{STO_PROPERTIES}/secondaryLocation": (
            "northcentralus(stage)",
            "Microsoft.Storage/storageAccounts/secondaryLocation",
        ),
    }
    assert {key: (s.fact.location, s.fact.type) for key, s in located.items() if s.fact} == expected


def storage_estate(**properties: Any) -> dict[str, Any]:
    """One storage account (Microsoft's GetProperties example) with `properties` changed."""
    estate = example_estate()
    body = example("storage/StorageAccountGetProperties.json")
    for key, value in properties.items():
        if key == "sku":
            body["sku"] = {"name": value}
        elif value is None:
            body["properties"].pop(key, None)
        else:
            body["properties"][key] = value
    estate["resources"] = [body]
    return estate


def test_geo_redundant_account_without_a_secondary_region_is_an_error_for_its_replica() -> None:
    with ArmEmulator(storage_estate(secondaryLocation=None, statusOfSecondary=None), tokens={TOKEN}) as emu:
        located = subjects(collect(emu, StorageCollector), AZURE_RESOURCES)
    replica = located[f"{STO_PROPERTIES}/secondaryLocation"]
    assert replica.fact is None
    assert replica.error is not None
    assert "Standard_GRS" in english_text(replica.error)
    assert located[STO_PROPERTIES].fact is not None


def test_locally_redundant_account_has_no_replica() -> None:
    estate = storage_estate(sku="Standard_LRS", secondaryLocation=None, statusOfSecondary=None)
    with ArmEmulator(estate, tokens={TOKEN}) as emu:
        located = subjects(collect(emu, StorageCollector), AZURE_RESOURCES)
    assert sorted(located) == [STO_PROPERTIES]


def test_ipv4_and_ipv6_rules_and_virtual_network_rules_are_read() -> None:
    subnet = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    acls = {
        "defaultAction": "Deny",
        "bypass": "None",
        "ipRules": [{"value": "192.0.2.0/24", "action": "Allow"}, {"value": "198.51.100.7"}],
        "ipv6Rules": [{"value": "2001:db8::/48", "action": "Allow"}],
        "virtualNetworkRules": [{"id": subnet, "action": "Allow", "state": "Succeeded"}],
    }
    with ArmEmulator(
        storage_estate(networkAcls=acls, publicNetworkAccess="SecuredByPerimeter"), tokens={TOKEN}
    ) as emu:
        fact = subjects(collect(emu, StorageCollector), STORAGE_ACCOUNTS)[STO_PROPERTIES].fact
    assert fact is not None
    assert fact.public_network_access == "SecuredByPerimeter"
    assert fact.ip_rules == (
        StorageIpRule("192.0.2.0/24", "Allow"),
        StorageIpRule("198.51.100.7", None),
        StorageIpRule("2001:db8::/48", "Allow"),
    )
    assert fact.virtual_network_rules == (subnet,)


def test_absent_encryption_services_stay_absent() -> None:
    with ArmEmulator(storage_estate(encryption={"keySource": "Microsoft.Storage"}), tokens={TOKEN}) as emu:
        fact = subjects(collect(emu, StorageCollector), STORAGE_ACCOUNTS)[STO_PROPERTIES].fact
    assert fact is not None
    assert (fact.blob_encryption_enabled, fact.file_encryption_enabled) == (None, None)


def test_unlistable_storage_accounts_are_errors(examples: ArmEmulator) -> None:
    examples.add_fault(
        Fault(
            path=rf"^/subscriptions/{SUB}/providers/Microsoft.Storage/storageAccounts$",
            status=500,
            times=None,
        )
    )
    store = collect(examples, StorageCollector)
    for population in (STORAGE_ACCOUNTS, AZURE_RESOURCES):
        [subject] = store.population(population).subjects
        assert subject.error is not None
        assert "HTTP 500" in english_text(subject.error)


# --- Both read paths, and the verdicts -------------------------------------------------------------


def test_resource_graph_listing_gives_the_same_facts(examples: ArmEmulator) -> None:
    through_arm = collect(examples, WebAppCollector, StorageCollector)
    through_graph = collect(examples, WebAppCollector, StorageCollector, graph=True)
    for population in (WEB_APPS, STORAGE_ACCOUNTS, AZURE_RESOURCES, AZURE_ENDPOINTS):
        arm_facts = {s.id: s.fact for s in through_arm.population(population).subjects}
        graph_facts = {s.id: s.fact for s in through_graph.population(population).subjects}
        assert arm_facts == graph_facts, population
        assert arm_facts
    posts = [r for r in examples.requests if r.method == "POST"]
    assert posts, "the second run listed through Resource Graph"
    assert all(r.path.lower() == "/providers/microsoft.resourcegraph/resources" for r in posts)


def test_microsoft_examples_give_the_expected_verdicts(tmp_path: Path, examples: ArmEmulator) -> None:
    run = run_audit(tmp_path, POLICY + azure_section(examples), "--record", str(tmp_path / "recording.json"))
    verdicts = {(r["control"], r["resource"].rsplit("/", 1)[-1]): r for r in run.bundle["results"]}
    # ListWebApps: both sites in "East US", httpsOnly false, FTP allowed.
    for site in ("sitef6141", "sitef7252"):
        region = verdicts[("8.azure-region", site)]
        assert (region["status"], region["observed"]["location"]) == ("fail", "eastus")
        app = verdicts[("12f.azure-app-service-tls", site)]
        assert app["status"] == "fail"
        assert "httpsOnly is false" in app["message"]
        assert "ftpsState is AllAllowed" in app["message"]
    assert "minTlsVersion" not in verdicts[("12f.azure-app-service-tls", "sitef6141")]["message"]
    assert "minTlsVersion 1.0 is below 1.2" in verdicts[("12f.azure-app-service-tls", "sitef7252")]["message"]
    # The two storage examples.
    created, listed = "sto4445", "sto8596"
    assert "not set (Allow)" in verdicts[("12b.azure-storage-network", created)]["message"]
    assert "defaultAction is Allow" in verdicts[("12b.azure-storage-network", listed)]["message"]
    assert verdicts[("12e.azure-storage-encryption", created)]["status"] == "pass"
    assert verdicts[("12e.azure-storage-encryption", listed)]["status"] == "pass"
    assert verdicts[("12f.azure-storage-tls", created)]["status"] == "pass"
    listed_tls = verdicts[("12f.azure-storage-tls", listed)]
    assert listed_tls["status"] == "fail"
    assert "supportsHttpsTrafficOnly is false" in listed_tls["message"]
    assert "TLS1_0" in listed_tls["message"]
    for control in ("12b.azure-storage-network", "8.azure-region"):
        assert verdicts[(control, created)]["status"] == "fail"
    assert run.result("8.azure-region", "/sto4445/secondaryLocation")["status"] == "fail"
    # The planted connection-string secret reached nothing the run wrote.
    for produced in [tmp_path / "recording.json", *run.evidence_dir.iterdir()]:
        assert SECRET not in produced.read_text(encoding="utf-8"), produced
