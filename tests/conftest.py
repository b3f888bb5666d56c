"""Fixtures of the auditor's own tests: the ARM emulator serving the demo estate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from demo.standins.arm_emulator import ArmEmulator, load_estate
from tests.audit_runs import DEMO, TOKEN


@pytest.fixture
def demo_estate() -> dict[str, Any]:
    """The demo estate (two subscriptions of SQL servers), as the emulator serves it."""
    return load_estate(DEMO / "estate")


@pytest.fixture
def emulator(demo_estate: dict[str, Any]) -> Iterator[ArmEmulator]:
    """An HTTPS ARM emulator serving the demo estate in pages of two, accepting only the test token."""
    with ArmEmulator(demo_estate, page_size=2, tokens={TOKEN}) as running:
        yield running
