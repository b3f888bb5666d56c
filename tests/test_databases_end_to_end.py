"""`pytest controls/` end to end against real PostgreSQL: verdicts, canaries, record and replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.standins.postgres_clusters import (
    AUDITOR_PASSWORD,
    PASSWORD_ENV,
    PLAIN_CANARY,
    PlantedClusters,
    databases_toml,
    planted_clusters,
)
from tests.audit_runs import AuditRun, run_audit

pytestmark = pytest.mark.integration

DATABASE_CONTROLS = {
    "12d.app-own-database",
    "12d.app-login-scope",
    "12d.app-not-server-admin",
    "12d.db-shared-logins",
    "6b.hashed-passwords",
    "6e.message-retention",
}
APPS = (
    "billing",
    "crm",
    "shop",
    "shopadmin",
    "portal",
    "hr",
    "reports",
    "analytics",
    "legacy",
    "webshop",
    "synda",
)
OWN_DATABASE_FAILS = {"reports", "analytics"}
LOGIN_SCOPE_PASSES = {"hr", "webshop", "synda"}
SERVER_ADMIN_FAILS = {"legacy"}

EXPECTED: dict[tuple[str, str], str] = {
    **{("12d.app-own-database", a): "fail" if a in OWN_DATABASE_FAILS else "pass" for a in APPS},
    **{("12d.app-login-scope", a): "pass" if a in LOGIN_SCOPE_PASSES else "fail" for a in APPS},
    **{("12d.app-not-server-admin", a): "fail" if a in SERVER_ADMIN_FAILS else "pass" for a in APPS},
    ("12d.db-shared-logins", "pg-planted"): "fail",
    ("12d.db-shared-logins", "pg-clean"): "pass",
    ("6b.hashed-passwords", "pg-planted/hr_db/public.users.password_hash"): "fail",
    ("6b.hashed-passwords", "pg-clean/webshop_db/public.customers.password_hash"): "pass",
    ("6e.message-retention", "pg-planted/portal_db/portal"): "fail",
    ("6e.message-retention", "pg-clean/synda_db/synda"): "pass",
}
"""Every database item of the run and the verdict CONTROLS.md defines for it."""


@pytest.fixture(scope="module")
def postgres_clusters() -> Iterator[PlantedClusters]:
    """The planted and the clean cluster, for this module."""
    with planted_clusters() as clusters:
        yield clusters


def database_verdicts(run: AuditRun) -> dict[tuple[str, str], str]:
    """Return {(control, resource): status} of the database controls of a run."""
    return {key: status for key, status in run.verdicts().items() if key[0] in DATABASE_CONTROLS}


def config_text(clusters: PlantedClusters) -> str:
    """Return an audit.toml of only the two clusters (no Azure, hosts or probes)."""
    return "[probing]\nenabled = false\n" + databases_toml(clusters)


def assert_no_canary(folder: Path, *texts: str) -> None:
    """Assert that neither canary appears in any file under `folder` nor in `texts`."""
    for canary in (AUDITOR_PASSWORD, PLAIN_CANARY):
        for text in texts:
            assert canary not in text
        for path in folder.rglob("*"):
            if path.is_file():
                assert canary.encode() not in path.read_bytes(), f"{canary} leaked into {path}"


def test_audit_of_real_postgresql_gives_the_defined_verdicts_and_never_leaks(
    postgres_clusters: PlantedClusters, tmp_path: Path
) -> None:
    recording = tmp_path / "recorded" / "recording.json"
    live = run_audit(
        tmp_path / "live",
        config_text(postgres_clusters),
        "--record",
        str(recording),
        env={PASSWORD_ENV: AUDITOR_PASSWORD},
    )
    assert live.returncode == 1, live.stdout + live.stderr
    assert database_verdicts(live) == EXPECTED
    billing = live.result("12d.app-login-scope", "billing")
    assert "holds server-wide SUPERUSER" in billing["message"]
    assert billing["sources"][0]["collector"] == "databases.catalog"
    hashed = live.result("6b.hashed-passwords", "pg-planted/hr_db/public.users.password_hash")
    assert hashed["observed"]["formats"] == {"bcrypt": 2, "pbkdf2-django": 1, "unrecognised": 2}
    assert recording.is_file()
    assert_no_canary(tmp_path, live.stdout, live.stderr, postgres_clusters.planted.log_text())

    replayed = run_audit(tmp_path / "replay", config_text(postgres_clusters), "--replay", str(recording))
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert database_verdicts(replayed) == EXPECTED
    live_messages = {(r["control"], r["resource"]): r["message"] for r in live.bundle["results"]}
    replay_messages = {(r["control"], r["resource"]): r["message"] for r in replayed.bundle["results"]}
    assert {k: replay_messages[k] for k in EXPECTED} == {k: live_messages[k] for k in EXPECTED}
    assert_no_canary(tmp_path, replayed.stdout, replayed.stderr)


def test_missing_password_variable_stops_the_run_before_collecting(
    postgres_clusters: PlantedClusters, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12 case 3.5: a credential the config names that does not exist is a configuration
    # error (exit 4, naming the key and the variable), not a night of `error` items.
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    run = run_audit(tmp_path, config_text(postgres_clusters))
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert f".password_env: the environment variable {PASSWORD_ENV} is not set" in output
    assert not (run.evidence_dir / "evidence.json").exists()
