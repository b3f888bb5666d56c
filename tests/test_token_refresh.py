"""A bearer token that expires during a run is refreshed, and the run does not fail because of it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from collectors.azure.arm import ArmReader
from collectors.azure.base import AzureContext
from collectors.azure.facts import SQL_DATABASES, SQL_SERVERS
from collectors.azure.sql import SqlCollector
from collectors.azure.subscriptions import AzureSubscription
from collectors.config.inventory import AzureSource
from collectors.facts import FactStore
from demo.standins.arm_emulator import ArmEmulator
from tests.audit_runs import SUB_DEV, SUB_PROD

pytestmark = pytest.mark.integration


class ShortLivedTokens:
    """A credential whose every token is valid for 0.3 s (the emulator checks the expiry)."""

    def __init__(self) -> None:
        self.issued = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.issued += 1
        expires = time.time() + 0.3
        return AccessToken(f"expires-{expires:.3f}", int(expires))


def still_valid(token: str) -> bool:
    """Accept a token only until the expiry written into it."""
    return token.startswith("expires-") and float(token.removeprefix("expires-")) >= time.time()


def test_expiring_token_is_refreshed_mid_run(demo_estate: dict[str, Any]) -> None:
    credential = ShortLivedTokens()
    with ArmEmulator(demo_estate, tokens=still_valid, latency=0.05) as emulator:
        source = AzureSource(
            endpoint=emulator.url, credential="static-token", max_concurrency=1, max_concurrency_total=1
        )
        arm = ArmReader(source, credential, ca_bundle=str(emulator.ca_file))
        store = FactStore()
        started = time.monotonic()
        SqlCollector(AzureContext(arm=arm, store=store, progress=lambda line: None)).collect(
            [
                AzureSubscription(SUB_PROD, "prod", "Enabled", None),
                AzureSubscription(SUB_DEV, "dev", "Enabled", None),
            ]
        )
        arm.close()
        elapsed = time.monotonic() - started
    assert elapsed > 0.6, "the run outlived the first tokens"
    assert credential.issued > 1
    assert all(r.authorized for r in emulator.requests)
    errors = [s for name in (SQL_SERVERS, SQL_DATABASES) for s in store.population(name).subjects if s.error]
    assert errors == []
