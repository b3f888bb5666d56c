"""Microsoft's own example responses (azure-rest-api-specs) parse and give the expected verdicts.

The examples are served through the HTTPS ARM emulator to the real SDK clients and the whole
audit; ids are moved onto one subscription so that the lists line up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from demo.standins.arm_emulator import ArmEmulator
from tests.audit_runs import POLICY, TOKEN, azure_section, run_audit

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "fixtures" / "azure-examples" / "sql"
SUB = "00000000-1111-2222-3333-444444444444"
RG = "sqlcrudtest-7398"


def _body(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))["responses"]["200"]["body"]


def _estate() -> dict[str, Any]:
    servers = _body("ServerList.json")["value"]
    first = servers[0]["id"]
    resources: list[dict[str, Any]] = list(servers)
    for rule in _body("FirewallRuleList.json")["value"]:
        resources.append({**rule, "id": f"{first}/firewallRules/{rule['name']}"})
    for database in _body("ListVCoreDatabasesByServer.json")["value"]:
        resources.append({**database, "id": f"{first}/databases/{database['name']}"})
    tde = _body("TransparentDataEncryptionGet.json")
    resources.append({**tde, "id": f"{first}/databases/testdb/transparentDataEncryption/current"})
    return {
        "subscriptions": [
            {
                "id": f"/subscriptions/{SUB}",
                "subscriptionId": SUB,
                "displayName": "Example",
                "state": "Enabled",
            }
        ],
        "resources": resources,
    }


def test_microsoft_examples_give_the_expected_verdicts(tmp_path: Path) -> None:
    estate = _estate()
    with ArmEmulator(estate, tokens={TOKEN}) as emulator:
        run = run_audit(tmp_path, POLICY + azure_section(emulator))
    verdicts = {(r["control"], r["resource"].rsplit("/", 1)[-1]): r for r in run.bundle["results"]}
    # ServerList: two servers in japaneast without minimalTlsVersion.
    servers = [s["name"] for s in _body("ServerList.json")["value"]]
    assert len(servers) == 2
    for server in servers:
        assert verdicts[("8.azure-region", server)]["status"] == "fail"
        assert verdicts[("12f.azure-sql-min-tls", server)]["status"] == "fail"
    # FirewallRuleList: the first rule is 0.0.0.0-0.0.0.0, "allow Azure services".
    firewall = verdicts[("12b.azure-sql-firewall", servers[0])]
    assert firewall["status"] == "fail"
    assert "allow Azure services" in firewall["message"]
    # The second server has no firewall rules: nothing is admitted.
    assert verdicts[("12b.azure-sql-firewall", servers[1])]["status"] == "pass"
    # ListVCoreDatabasesByServer: testdb (user) and master (system, not evaluated).
    assert verdicts[("12e.azure-sql-tde", "testdb")]["status"] == "pass"
    assert ("12e.azure-sql-tde", "master") not in verdicts
    assert verdicts[("8.azure-region", "testdb")]["observed"]["location"] == "southeastasia"
