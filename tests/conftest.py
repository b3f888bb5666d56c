"""Fixtures of the auditor's own tests: the ARM emulator serving the demo estate, the generated period archive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.period_archive import GeneratedArchive, generate, run_demo_template
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


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the evidence.json of one real demo run (judged on its recording's date)."""
    return run_demo_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory, template: Path) -> GeneratedArchive:
    """Return 120 generated nights from 2026-06-01, signed with a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return generate(tmp_path_factory.mktemp("period"), template, signing_key=key.decode("ascii"))
