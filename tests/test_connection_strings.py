"""App Service connection strings -> database links, through the real Azure SDK and the ARM emulator.

A canary password is planted in connection strings and app settings of the emulated estate; it
must appear in no fact, recording, log line or evidence file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.azure.arm import ArmReader, ReplayCredential, StaticTokenCredential
from collectors.azure.base import AzureContext
from collectors.azure.connection_strings import (
    LIST_PERMISSION,
    ConnectionStringCollector,
    database_target,
    redacted_body,
)
from collectors.azure.facts import APP_DATABASE_LINKS, AppDatabaseLinks, DatabaseLink, as_application_links
from collectors.azure.subscriptions import AzureSubscription
from collectors.azure.web import WebAppCollector
from collectors.config.inventory import AzureSource
from collectors.facts import FactStore, Subject
from collectors.messages import english_text
from collectors.recording import Recording
from demo.standins.arm_emulator import ArmEmulator, Fault
from tests.audit_runs import POLICY, TOKEN, azure_section, run_audit

CANARY = "Kn0wn-Canary-Pw;9f2e"
SUB = "33333333-3333-4333-8333-333333333333"
SUBSCRIPTION = AzureSubscription(id=SUB, name="Apps", state="Enabled", tenant_id=None)
SITES = f"/subscriptions/{SUB}/resourceGroups/rg-apps/providers/Microsoft.Web/sites"
SQL_STRING = (
    "Server=tcp:sql-weu.database.windows.net,1433;Initial Catalog=shop;Persist Security Info=False;"
    f'User ID=shop_app;Password="{CANARY}";MultipleActiveResultSets=False;Encrypt=True;'
    "TrustServerCertificate=False;Connection Timeout=30;"
)


def site(name: str, **lists: Any) -> list[dict[str, Any]]:
    """A web app and its config/web, with optional connection_strings / app_settings keys."""
    site_id = f"{SITES}/{name}"
    return [
        {
            "id": site_id,
            "name": name,
            "type": "Microsoft.Web/sites",
            "location": "westeurope",
            "kind": "app",
            "properties": {
                "state": "Running",
                "httpsOnly": True,
                "enabledHostNames": [f"{name}.azurewebsites.net"],
            },
            **lists,
        },
        {
            "id": f"{site_id}/config/web",
            "name": "web",
            "type": "Microsoft.Web/sites/config",
            "properties": {"minTlsVersion": "1.2", "scmMinTlsVersion": "1.2", "ftpsState": "Disabled"},
        },
    ]


def estate() -> dict[str, Any]:
    return {
        "subscriptions": [
            {"id": f"/subscriptions/{SUB}", "subscriptionId": SUB, "displayName": "Apps", "state": "Enabled"}
        ],
        "resources": [
            *site(
                "shop-web",
                connection_strings={"DefaultConnection": {"value": SQL_STRING, "type": "SQLAzure"}},
                app_settings={
                    "DATABASE_URL": f"postgresql://crm_app:{CANARY.replace(';', '%3B')}@pg01.example.nl:5432/crm?sslmode=require",
                    "APPINSIGHTS_INSTRUMENTATIONKEY": "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9",
                    "StorageConnection": f"DefaultEndpointsProtocol=https;AccountName=stshop;AccountKey={CANARY};EndpointSuffix=core.windows.net",
                    "SECRET_KEY": CANARY,
                },
            ),
            *site(
                "crm-web",
                connection_strings={
                    "Crm": {
                        "value": f"Host=pg01.example.nl;Port=5432;Database=crm;Username=crm_app@pg01;Password='{CANARY}'",
                        "type": "PostgreSQL",
                    }
                },
            ),
            *site("plain-web"),
            *site("locked-web", connection_strings={"X": {"value": SQL_STRING, "type": "SQLAzure"}}),
        ],
    }


LOCKED = Fault(
    path=r"/sites/locked-web/config/connectionstrings/list$",
    status=403,
    method="POST",
    code="AuthorizationFailed",
    message=f"The client does not have authorization to perform action '{LIST_PERMISSION}'.",
)


@pytest.fixture
def emulator() -> Iterator[ArmEmulator]:
    with ArmEmulator(estate(), faults=[LOCKED]) as emu:
        yield emu


def collect(
    emulator: ArmEmulator | None,
    *,
    recording: Recording | None = None,
    replay: Recording | None = None,
    read: bool = True,
) -> FactStore:
    """Run the web app collector, then the connection-string collector, like a run does."""
    endpoint = emulator.url if emulator else (replay.endpoint if replay else "")
    source = AzureSource(
        endpoint=endpoint, credential="static-token", retry_backoff_seconds=0.01, read_connection_strings=read
    )
    credential = ReplayCredential() if replay else StaticTokenCredential(TOKEN)
    ca_bundle = str(emulator.ca_file) if emulator and not replay else None
    arm = ArmReader(source, credential, ca_bundle=ca_bundle, recording=recording, replay=replay)
    store = FactStore()
    context = AzureContext(arm=arm, store=store, progress=lambda _: None)
    try:
        WebAppCollector(context).collect([SUBSCRIPTION])
        ConnectionStringCollector(context).collect([SUBSCRIPTION])
    finally:
        arm.close()
    return store


def subjects(store: FactStore) -> dict[str, Subject[object]]:
    return {s.id.rsplit("/", 1)[-1]: s for s in store.population(APP_DATABASE_LINKS).subjects}


def links_of(store: FactStore, name: str) -> AppDatabaseLinks:
    fact = subjects(store)[name].fact
    assert isinstance(fact, AppDatabaseLinks)
    return fact


def test_links_are_discovered_from_connection_strings_and_app_settings(emulator: ArmEmulator) -> None:
    store = collect(emulator)
    assert links_of(store, "shop-web") == AppDatabaseLinks(
        "shop-web",
        (
            DatabaseLink(
                "sql-weu.database.windows.net",
                "shop",
                "shop_app",
                "connection string DefaultConnection (SQLAzure)",
            ),
            DatabaseLink("pg01.example.nl", "crm", "crm_app", "app setting DATABASE_URL"),
        ),
    )
    assert links_of(store, "crm-web").links == (
        DatabaseLink("pg01.example.nl", "crm", "crm_app", "connection string Crm (PostgreSQL)"),
    )
    assert links_of(store, "plain-web").links == ()
    posts = {"/".join(r.path.split("/")[-4::2]) for r in emulator.requests if r.method == "POST"}
    assert {"shop-web/connectionstrings", "shop-web/appsettings"} <= posts


def test_forbidden_list_action_is_an_error_naming_the_permission(emulator: ArmEmulator) -> None:
    locked = subjects(collect(emulator))["locked-web"]
    assert locked.fact is None
    assert locked.error is not None
    assert "HTTP 403" in english_text(locked.error)
    assert LIST_PERMISSION in english_text(locked.error)


def test_nothing_is_read_when_read_connection_strings_is_off(emulator: ArmEmulator) -> None:
    store = collect(emulator, read=False)
    population = store.population(APP_DATABASE_LINKS)
    assert population.subjects == []
    assert population.out_of_scope is not None
    assert "read_connection_strings is false" in english_text(population.out_of_scope)
    assert not [r for r in emulator.requests if r.method == "POST"]


def test_canary_password_reaches_no_fact_recording_or_log(
    emulator: ArmEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recording = Recording(endpoint=emulator.url, run_date="2026-11-29")
    store = collect(emulator, recording=recording)
    path = tmp_path / "recording.json"
    recording.save(path)
    facts = repr([dataclasses.asdict(s) for s in store.population(APP_DATABASE_LINKS).subjects])
    for text in (facts, path.read_text(encoding="utf-8"), caplog.text):
        assert CANARY not in text
        assert "Kn0wn-Canary" not in text
    saved = path.read_text(encoding="utf-8")
    assert "Server=sql-weu.database.windows.net;Database=shop;User ID=shop_app" in saved
    assert "StorageConnection" not in saved, "a value that is not a database link is not recorded at all"


def test_replay_gives_the_same_links_and_hashes_without_network(
    emulator: ArmEmulator, tmp_path: Path
) -> None:
    recording = Recording(endpoint=emulator.url, run_date="2026-11-29")
    live = collect(emulator, recording=recording)
    path = tmp_path / "recording.json"
    recording.save(path)
    emulator.stop()
    replayed = collect(None, replay=Recording.load(path))
    for name in ("shop-web", "crm-web", "plain-web"):
        assert subjects(replayed)[name].fact == subjects(live)[name].fact
        assert subjects(replayed)[name].sources == subjects(live)[name].sources
    assert LIST_PERMISSION in english_text(subjects(replayed)["locked-web"].error or "")


def test_canary_password_reaches_no_evidence_file(emulator: ArmEmulator, tmp_path: Path) -> None:
    record = tmp_path / "recording.json"
    run = run_audit(
        tmp_path, POLICY + azure_section(emulator, "read_connection_strings = true"), "--record", str(record)
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr
    posts = [r.path for r in emulator.requests if r.method == "POST" and r.path.endswith("/list")]
    assert posts, "the audit run read the connection strings"
    for produced in [record, *run.evidence_dir.iterdir()]:
        assert CANARY not in produced.read_text(encoding="utf-8"), produced
    assert CANARY not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SQL_STRING, ("sql-weu.database.windows.net", "shop", "shop_app")),
        (
            "Data Source=SQL01\\PROD,1433;Database=Orders;UID=orders_app;PWD=x",
            ("sql01", "Orders", "orders_app"),
        ),
        (
            "jdbc:sqlserver://sql01.example.nl:1433;databaseName=hr;user=hr_app;password=x",
            ("sql01.example.nl", "hr", "hr_app"),
        ),
        ("postgres://app%40x:p%3Bw@pg.example.nl/app_db", ("pg.example.nl", "app_db", "app@x")),
        (
            "jdbc:postgresql://pg.example.nl:5432/app_db?user=jdbc_app&password=x",
            ("pg.example.nl", "app_db", "jdbc_app"),
        ),
        ("Server=db01;Database=\"we;ird\";User Id='o''brien';Password=x", ("db01", "we;ird", "o'brien")),
    ],
)
def test_connection_string_is_reduced_to_host_database_and_user(
    text: str, expected: tuple[str, str, str]
) -> None:
    target = database_target(text)
    assert target is not None
    assert (target.host, target.database, target.user) == expected


@pytest.mark.parametrize(
    "text",
    [
        "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc==;EndpointSuffix=core.windows.net",
        "Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=abc=",
        "cache.redis.cache.windows.net:6380,password=abc,ssl=True",
        "Server=tcp:sql.example.nl;User ID=u;Password=p",
        "https://example.nl/?a=b",
        "",
    ],
)
def test_values_that_are_not_database_connection_strings_give_no_link(text: str) -> None:
    assert database_target(text) is None


def test_redaction_is_idempotent_so_replay_hashes_match() -> None:
    raw = json.dumps(
        {
            "id": f"{SITES}/shop-web/config/connectionstrings",
            "name": "connectionstrings",
            "type": "Microsoft.Web/sites/config",
            "properties": {"DefaultConnection": {"value": SQL_STRING, "type": "SQLAzure"}},
        }
    ).encode()
    once = redacted_body("connectionstrings", 200, raw)
    assert CANARY.encode() not in once
    assert redacted_body("connectionstrings", 200, once) == once


def test_links_convert_to_the_application_link_tuples_the_databases_side_reads() -> None:
    fact = AppDatabaseLinks(
        "shop-web", (DatabaseLink("sql-weu.database.windows.net", "shop", "shop_app", "connection string X"),)
    )
    assert as_application_links(fact) == [
        (
            "shop-web",
            "sql-weu.database.windows.net",
            "shop",
            "shop_app",
            "App Service site shop-web, connection string X",
        )
    ]
