"""12f: all data is sent with the strongest form of encryption supported."""

from __future__ import annotations

from collectors.azure.sql import SqlServer
from collectors.azure.storage import StorageAccount
from collectors.azure.web import WebApp
from collectors.config import Policy
from controls.framework import Evidence, control
from controls.versions import tls_version


def tls_floor_shortfall(setting: str, value: str | None, min_tls: str, unset: str) -> str | None:
    """Return why the TLS floor `setting` is below policy.min_tls, or None when it is not.

    `unset` says what an absent or unreadable value means for this service.
    """
    floor = tls_version(value)
    if floor is None:
        return f"{setting} is {value or 'not set'}: {unset}"
    required = tls_version(min_tls)
    assert required is not None  # validated in the config
    return f"{setting} {value} is below {min_tls}" if floor < required else None


@control("12f.azure-sql-min-tls", over="azure.sql_servers")
def test_sql_server_refuses_old_tls(server: SqlServer, policy: Policy, evidence: Evidence) -> None:
    evidence.observed(minimal_tls_version=server.minimal_tls_version)
    evidence.expected(minimal_tls_version=f">= {policy.min_tls}")
    shortfall = tls_floor_shortfall(
        "minimalTlsVersion", server.minimal_tls_version, policy.min_tls, "the server accepts any TLS version"
    )
    assert shortfall is None, shortfall


FTPS_STATES_WITHOUT_PLAIN_FTP = ("ftpsonly", "disabled")


@control("12f.azure-app-service-tls", over="azure.web_apps")
def test_web_app_accepts_only_modern_tls(app: WebApp, policy: Policy, evidence: Evidence) -> None:
    evidence.observed(
        https_only=app.https_only,
        min_tls_version=app.min_tls_version,
        scm_min_tls_version=app.scm_min_tls_version,
        ftps_state=app.ftps_state or "AllAllowed (not set)",
    )
    evidence.expected(
        https_only=True,
        min_tls_version=f">= {policy.min_tls}",
        scm_min_tls_version=f">= {policy.min_tls}",
        ftps_state="FtpsOnly or Disabled",
    )
    problems: list[str] = []
    if app.https_only is not True:
        problems.append(
            f"httpsOnly is {'not set' if app.https_only is None else 'false'}: plain HTTP is served"
        )
    for setting, value in (
        ("minTlsVersion", app.min_tls_version),
        ("scmMinTlsVersion", app.scm_min_tls_version),
    ):
        shortfall = tls_floor_shortfall(setting, value, policy.min_tls, "no TLS floor is evidenced")
        if shortfall:
            problems.append(shortfall)
    if (app.ftps_state or "AllAllowed").lower() not in FTPS_STATES_WITHOUT_PLAIN_FTP:
        problems.append(f"ftpsState is {app.ftps_state or 'not set (AllAllowed)'}: plain FTP is accepted")
    assert not problems, f"web app {app.name}: " + "; ".join(problems)


@control("12f.azure-storage-tls", over="azure.storage_accounts")
def test_storage_account_accepts_only_modern_tls(
    account: StorageAccount, policy: Policy, evidence: Evidence
) -> None:
    evidence.observed(
        supports_https_traffic_only=account.https_only,
        minimum_tls_version=account.minimum_tls_version or "TLS1_0 (not set)",
    )
    evidence.expected(supports_https_traffic_only=True, minimum_tls_version=f">= {policy.min_tls}")
    problems: list[str] = []
    if account.https_only is not True:
        state = "not set" if account.https_only is None else "false"
        problems.append(f"supportsHttpsTrafficOnly is {state}: plain HTTP is accepted")
    shortfall = tls_floor_shortfall(
        "minimumTlsVersion", account.minimum_tls_version, policy.min_tls, "Azure's default TLS1_0 applies"
    )
    if shortfall:
        problems.append(shortfall)
    assert not problems, f"storage account {account.name}: " + "; ".join(problems)
