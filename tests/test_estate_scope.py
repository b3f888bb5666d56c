"""What a run puts in scope before collecting: the sources a config names, and whether Azure's endpoints are TLS-scanned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collectors.estate import configured_sources, discovered_tls_decision
from controls.harness.config_file import AuditConfig
from reports.evidence import to_json


def config(tmp_path: Path, **sections: Any) -> AuditConfig:
    """Return a validated config made of `sections` (as audit.toml would hold them)."""
    return AuditConfig.model_validate({"path": tmp_path / "audit.toml", "sha256": "0" * 64, **sections})


@pytest.mark.parametrize(
    ("azure", "scanned", "rule"),
    [
        pytest.param({}, True, "auto-public-cloud", id="auto-public-cloud"),
        pytest.param(
            {"endpoint": "https://management.usgovcloudapi.net"}, True, "auto-public-cloud", id="auto-gov"
        ),
        pytest.param(
            {"endpoint": "https://arm.proxy.example"}, False, "auto-not-public-cloud", id="auto-proxy"
        ),
        pytest.param(
            {"endpoint": "https://arm.proxy.example", "scan_discovered_endpoints": True},
            True,
            "on",
            id="on-proxy",
        ),
        pytest.param({"scan_discovered_endpoints": False}, False, "off", id="off-public"),
    ],
)
def test_scanning_azure_published_endpoints_follows_the_setting(
    tmp_path: Path, azure: dict[str, Any], scanned: bool, rule: str
) -> None:
    decision = discovered_tls_decision(config(tmp_path, azure=azure))
    assert (decision.scanned, decision.rule) == (scanned, rule)
    assert decision.endpoint == azure.get("endpoint", "https://management.azure.com")
    configured = azure.get("scan_discovered_endpoints", "auto")
    assert to_json(decision)["setting"] == str(configured).lower()


def test_without_azure_nothing_is_discovered(tmp_path: Path) -> None:
    decision = discovered_tls_decision(config(tmp_path))
    assert to_json(decision) == {"setting": "", "scanned": False, "rule": "no-azure", "endpoint": None}


def test_configured_sources_name_each_section_that_puts_something_in_scope(tmp_path: Path) -> None:
    assert configured_sources(config(tmp_path)) == []
    assert configured_sources(config(tmp_path, subprocessors=[])) == [], "an empty register is no source"
    assert configured_sources(config(tmp_path, azure={}, endpoints=[{"url": "https://www.example.nl/"}])) == [
        "[azure]",
        "[[endpoints]]",
    ]
