"""The evidence names who the auditor was in Azure: the principal of its access token, never the token."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from collectors.azure.principal import principal_from_token
from demo.standins.arm_emulator import ArmEmulator
from tests.audit_runs import POLICY, azure_section, run_audit


def jwt(claims: dict[str, Any], signature: str = "c2lnbmF0dXJlLWNhbmFyeS05ZjJh") -> str:
    """Return an unsigned-looking JWT with `claims` (the auditor never verifies it: it only reads who it is)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{signature}"


MANAGED_IDENTITY = {
    "oid": "5d1f8a8e-1c1e-4a55-9b7d-0f6f2f0c9a11",
    "tid": "33333333-3333-4333-8333-333333333333",
    "appid": "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
    "idtyp": "app",
}


def test_managed_identity_token_names_the_app_principal() -> None:
    principal = principal_from_token(jwt(MANAGED_IDENTITY))
    assert principal is not None
    assert (principal.object_id, principal.tenant_id, principal.app_id, principal.kind) == (
        MANAGED_IDENTITY["oid"],
        MANAGED_IDENTITY["tid"],
        MANAGED_IDENTITY["appid"],
        "app",
    )


def test_user_token_names_the_user() -> None:
    principal = principal_from_token(
        jwt({"oid": "1", "tid": "2", "upn": "auditor@example.nl", "azp": "04b07795-azure-cli"})
    )
    assert principal is not None
    assert (principal.name, principal.kind, principal.app_id) == (
        "auditor@example.nl",
        "user",
        "04b07795-azure-cli",
    )


def test_token_that_is_not_a_jwt_names_nobody() -> None:
    assert principal_from_token("canary-bearer-token-5f1c9e") is None
    assert principal_from_token("a.%%%.c") is None
    assert principal_from_token(jwt({"tid": "no object id"})) is None


def test_the_run_records_the_principal_and_never_the_token(
    tmp_path: Path, demo_estate: dict[str, Any]
) -> None:
    token = jwt(MANAGED_IDENTITY)
    with ArmEmulator(demo_estate, page_size=50, tokens={token}) as emulator:
        recording = tmp_path / "recording.json"
        run = run_audit(
            tmp_path / "live",
            POLICY + azure_section(emulator),
            "--record",
            str(recording),
            env={"AUDIT_AZURE_TOKEN": token},
        )
    principal = run.bundle["run"]["scope"]["azure"]["principal"]
    assert principal["object_id"] == MANAGED_IDENTITY["oid"]
    assert principal["kind"] == "app"
    replayed = run_audit(tmp_path / "replay", POLICY + azure_section(emulator), "--replay", str(recording))
    assert replayed.bundle["run"]["scope"]["azure"]["principal"] == principal
    signature = token.rsplit(".", 1)[1]
    for path in [recording, *(tmp_path / "live" / "evidence").iterdir()]:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert token not in text, path
        assert signature not in text, path
    assert MANAGED_IDENTITY["oid"] in (tmp_path / "live" / "evidence" / "report.html").read_text(
        encoding="utf-8"
    )
