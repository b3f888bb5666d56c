"""App Service deployment slots are listed, judged and scanned like apps.

Issue 12, case 1.8: a web app's deployment slots (`Microsoft.Web/sites/slots`) are their own
sites, with their own httpsOnly, TLS and FTPS settings, host names and region, but were never
listed. Now each app's slots are read (`web_apps.list_slots`, `get_configuration_slot`, or the
Resource Graph inventory), judged by 12f.azure-app-service-tls and 8.azure-region, and their
host names are published as endpoints for the TLS scans. The demo estate has a strict staging
slot in production and a weak one (TLS 1.0, plain FTP, HTTP) in development.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.base import AzureContext
from collectors.azure.facts import (
    AZURE_ENDPOINTS,
    AZURE_RESOURCES,
    WEB_APPS,
    DiscoveredEndpoint,
    LocatedResource,
    WebApp,
)
from collectors.azure.resource_graph import GraphInventory, ResourceGraph, inventory_query
from collectors.azure.subscriptions import AzureSubscription
from collectors.azure.web import WebAppCollector
from collectors.config.inventory import AzureSource
from collectors.config.policy import Policy
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from collectors.tls.scanner import endpoints_to_scan
from controls import test_12f_encryption_in_transit as c12f
from controls.harness.config_file import AuditConfig
from demo.standins.arm_emulator import ArmEmulator, Fault, load_estate
from tests.audit_runs import DEMO, POLICY, SUB_DEV, SUB_PROD, azure_section, run_audit
from tests.control_calls import verdict

SUBSCRIPTIONS = [
    AzureSubscription(SUB_PROD, "Lucrasoft Production", "Enabled", None),
    AzureSubscription(SUB_DEV, "Lucrasoft Development", "Enabled", None),
]
EMMA = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Web/sites/app-emma-weu"
PICARIO = f"/subscriptions/{SUB_DEV}/resourceGroups/rg-test/providers/Microsoft.Web/sites/app-picario-test"
GOOD_SLOT, WEAK_SLOT = f"{EMMA}/slots/staging", f"{PICARIO}/slots/staging"


def collect(*, faults: tuple[Fault, ...] = (), graph: bool = False) -> FactStore:
    """Run the App Service collector on the demo estate (through Resource Graph when `graph`)."""
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2, faults=faults) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        store = FactStore()
        context = AzureContext(arm=arm, store=store, progress=lambda line: None)
        try:
            if graph:
                types = list(WebAppCollector.listed_types)
                rows = ResourceGraph(arm).query(inventory_query(types), [s.id for s in SUBSCRIPTIONS])
                context.inventory = GraphInventory(types, rows)
            WebAppCollector(context).collect(list(SUBSCRIPTIONS))
        finally:
            arm.close()
    return store


@pytest.fixture(scope="module")
def store() -> FactStore:
    return collect()


def subjects(store: FactStore, population: str) -> dict[str, Subject[Any]]:
    return {s.id: s for s in store.population(population).subjects}


def test_each_apps_slots_are_listed_with_their_own_settings(store: FactStore) -> None:
    apps = subjects(store, WEB_APPS)
    good, weak = apps[GOOD_SLOT].fact, apps[WEAK_SLOT].fact
    assert isinstance(good, WebApp)
    assert isinstance(weak, WebApp)
    assert (good.slot, good.app_name, good.name) == ("staging", "app-emma-weu", "app-emma-weu/staging")
    assert (good.https_only, good.min_tls_version, good.scm_min_tls_version, good.ftps_state) == (
        True,
        "1.2",
        "1.2",
        "Disabled",
    )
    assert (weak.https_only, weak.min_tls_version, weak.ftps_state) == (False, "1.0", "AllAllowed")
    assert weak.label == "deployment slot staging of web app app-picario-test"
    config = next(s for s in apps[WEAK_SLOT].sources if "/slots/staging/config/web?" in s.call)
    assert config.status == 200
    assert sum(1 for fact in (s.fact for s in apps.values()) if isinstance(fact, WebApp) and fact.slot) == 2


def test_slots_are_located_for_the_region_control(store: FactStore) -> None:
    located = subjects(store, AZURE_RESOURCES)
    assert located[GOOD_SLOT].fact == LocatedResource(GOOD_SLOT, "Microsoft.Web/sites/slots", "westeurope")
    assert located[WEAK_SLOT].fact == LocatedResource(WEAK_SLOT, "Microsoft.Web/sites/slots", "uksouth")


def test_slot_host_names_are_published_and_scanned_like_app_host_names(
    store: FactStore, tmp_path: Path
) -> None:
    endpoints = subjects(store, AZURE_ENDPOINTS)
    assert endpoints["app-emma-weu-staging.azurewebsites.net:443"].fact == DiscoveredEndpoint(
        "app-emma-weu-staging.azurewebsites.net", 443, "app-service", GOOD_SLOT
    )
    assert endpoints["app-picario-test-staging.scm.azurewebsites.net:443"].fact == DiscoveredEndpoint(
        "app-picario-test-staging.scm.azurewebsites.net", 443, "app-service-scm", WEAK_SLOT
    )
    discovered = [s.fact for s in endpoints.values() if isinstance(s.fact, DiscoveredEndpoint)]
    scanned = {
        (t.host, t.port, t.scheme)
        for t in endpoints_to_scan(AuditConfig(path=tmp_path / "audit.toml", sha256="0" * 64), discovered)
    }
    assert ("app-picario-test-staging.azurewebsites.net", 443, "https") in scanned
    assert ("app-emma-weu-staging.azurewebsites.net", 443, "https") in scanned


def test_the_weak_slot_fails_and_the_strict_one_passes(store: FactStore) -> None:
    apps = subjects(store, WEB_APPS)
    control = c12f.test_web_app_accepts_only_modern_tls
    assert verdict(control, apps[GOOD_SLOT].fact, policy=Policy()).status == "pass"
    weak = verdict(control, apps[WEAK_SLOT].fact, policy=Policy())
    assert weak.status == "fail"
    assert weak.message.startswith("deployment slot staging of web app app-picario-test:")
    assert "minTlsVersion 1.0 is below 1.2" in weak.message
    assert "ftpsState is AllAllowed" in weak.message
    assert "httpsOnly is false" in weak.message


def test_slot_list_that_cannot_be_read_is_an_error_for_apps_regions_and_endpoints() -> None:
    store = collect(faults=(Fault(r"/sites/app-emma-weu/slots$", status=403),))
    for population in (WEB_APPS, AZURE_RESOURCES, AZURE_ENDPOINTS):
        failed = subjects(store, population)[f"{EMMA}/slots"]
        assert failed.fact is None
        assert "deployment slots of web app app-emma-weu could not be listed: HTTP 403" in english_text(
            failed.error or ""
        )
    apps = subjects(store, WEB_APPS)
    assert isinstance(apps[EMMA].fact, WebApp), "the app itself is still judged"
    assert isinstance(apps[WEAK_SLOT].fact, WebApp), "other apps' slots are still read"


def test_slot_config_that_cannot_be_read_is_an_error_for_that_slot_only() -> None:
    store = collect(faults=(Fault(r"/sites/app-picario-test/slots/staging/config/web$", status=500),))
    apps = subjects(store, WEB_APPS)
    assert apps[WEAK_SLOT].fact is None
    assert (
        "configuration (config/web) of deployment slot staging of web app app-picario-test"
        in english_text(apps[WEAK_SLOT].error or "")
    )
    assert isinstance(apps[PICARIO].fact, WebApp)
    assert isinstance(subjects(store, AZURE_RESOURCES)[WEAK_SLOT].fact, LocatedResource)


def test_resource_graph_lists_the_same_slots(store: FactStore) -> None:
    graph = collect(graph=True)

    def facts(found: FactStore) -> dict[str, Any]:
        return {s.id: s.fact for s in found.population(WEB_APPS).subjects}

    assert facts(graph) == facts(store)
    assert {s.id for s in graph.population(AZURE_ENDPOINTS).subjects} == {
        s.id for s in store.population(AZURE_ENDPOINTS).subjects
    }


@pytest.mark.integration
def test_audit_judges_deployment_slots_like_apps(tmp_path: Path) -> None:
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2) as emulator:
        run = run_audit(tmp_path, POLICY + azure_section(emulator), "-k", "web_app or region")
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.result("12f.azure-app-service-tls", "/app-emma-weu/slots/staging")["status"] == "pass"
    weak = run.result("12f.azure-app-service-tls", "/app-picario-test/slots/staging")
    assert weak["status"] == "fail"
    assert "deployment slot staging of web app app-picario-test" in weak["message"]
    assert weak["observed"]["deployment_slot"] == "staging"
    assert run.result("8.azure-region", "/app-emma-weu/slots/staging")["status"] == "pass"
    region = run.result("8.azure-region", "/app-picario-test/slots/staging")
    assert region["status"] == "fail"
    assert "Microsoft.Web/sites/slots is in uksouth" in region["message"]
