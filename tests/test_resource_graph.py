"""Resource Graph through the real SDK client: paging on $skipToken and the per-user quota."""

from __future__ import annotations

from typing import Any

import pytest

from collectors.azure.arm import ArmReader, StaticTokenCredential
from collectors.azure.resource_graph import GraphInventory, ResourceGraph, inventory_query
from collectors.config.inventory import AzureSource
from demo.standins.arm_emulator import ArmEmulator
from tests.audit_runs import SUB_DEV, SUB_PROD

pytestmark = pytest.mark.integration


def _reader(emulator: ArmEmulator) -> ArmReader:
    source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
    return ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))


def test_query_follows_every_skip_token_page(demo_estate: dict[str, Any]) -> None:
    with ArmEmulator(demo_estate) as emulator:
        arm = _reader(emulator)
        result = ResourceGraph(arm, page_size=3).query(
            inventory_query(["Microsoft.Sql/servers/databases"]), [SUB_PROD, SUB_DEV]
        )
        arm.close()
    names = sorted(row["name"] for row in result.rows)
    assert names.count("master") == 5
    assert len(names) == 12
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 4
    assert len(result.sources) == 4
    assert all(
        "query: Resources | where type in~ ('microsoft.sql/servers/databases')" in s.call
        for s in result.sources
    )


def test_inventory_groups_rows_by_scope_and_type(demo_estate: dict[str, Any]) -> None:
    with ArmEmulator(demo_estate) as emulator:
        arm = _reader(emulator)
        types = ["Microsoft.Sql/servers", "Microsoft.Sql/servers/databases"]
        inventory = GraphInventory(types, ResourceGraph(arm).query(inventory_query(types), [SUB_PROD]))
        arm.close()
    assert inventory.covers("microsoft.sql/SERVERS")
    assert not inventory.covers("Microsoft.Web/sites")
    servers = inventory.rows(f"/subscriptions/{SUB_PROD}", "Microsoft.Sql/servers")
    assert sorted(r["name"] for r in servers) == ["sql-prod-weu", "sql-synda-neu", "sql-weu"]
    prod = next(r["id"] for r in servers if r["name"] == "sql-prod-weu")
    assert sorted(r["name"] for r in inventory.rows(prod, "Microsoft.Sql/servers/databases")) == [
        "emma",
        "master",
        "movin",
    ]


def test_exhausted_quota_waits_for_the_reset_instead_of_failing(demo_estate: dict[str, Any]) -> None:
    with ArmEmulator(demo_estate, graph_quota=1, graph_window=1.0) as emulator:
        arm = _reader(emulator)
        graph = ResourceGraph(arm, page_size=3)
        result = graph.query(inventory_query(["Microsoft.Sql/servers"]), [SUB_PROD, SUB_DEV])
        arm.close()
    assert len(result.rows) == 5
    posts = [r.at for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 2, "the quota header said 0 left, so the second page waited instead of being refused"
    assert posts[1] - posts[0] >= 0.9
