"""12f: all data is sent with the strongest form of encryption supported."""

from __future__ import annotations

from collectors.azure.sql import SqlServer
from collectors.config import Policy
from controls.framework import Evidence, control
from controls.versions import tls_version


@control("12f.azure-sql-min-tls", over="azure.sql_servers")
def test_sql_server_refuses_old_tls(server: SqlServer, policy: Policy, evidence: Evidence) -> None:
    evidence.observed(minimal_tls_version=server.minimal_tls_version)
    evidence.expected(minimal_tls_version=f">= {policy.min_tls}")
    floor = tls_version(server.minimal_tls_version)
    assert floor is not None, (
        f"minimalTlsVersion is {server.minimal_tls_version or 'not set'}: the server accepts any TLS version"
    )
    required = tls_version(policy.min_tls)
    assert required is not None  # validated in the config
    assert floor >= required, f"minimalTlsVersion {server.minimal_tls_version} is below {policy.min_tls}"
