"""The ARM emulator, proven with the real Azure SDK clients (azure-mgmt-sql, -resource, -subscriptions)."""

from __future__ import annotations

import http.client
import json
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.sql import SqlManagementClient

from demo.standins.arm_emulator import ArmEmulator, Fault

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = Path(__file__).parent / "fixtures" / "azure-examples"

SUB = "11111111-2222-3333-4444-555555555555"
TENANT = "99999999-8888-7777-6666-555555555555"
RG = "rg-web"
SERVER_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Sql/servers/sql-1"


class StubCredential:
    """Token credential that hands out a fixed bearer token without talking to Entra ID."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the fixed token, valid for an hour."""
        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def subscription(sub_id: str, name: str) -> dict[str, Any]:
    """An ARM subscription object."""
    return {
        "id": f"/subscriptions/{sub_id}",
        "subscriptionId": sub_id,
        "tenantId": TENANT,
        "displayName": name,
        "state": "Enabled",
    }


def make_estate() -> dict[str, Any]:
    """A small estate: one subscription, one SQL server with a database, TDE and no firewall rules."""
    return {
        "subscriptions": [subscription(SUB, "Production")],
        "resources": [
            {
                "id": SERVER_ID,
                "name": "sql-1",
                "type": "Microsoft.Sql/servers",
                "location": "westeurope",
                "kind": "v12.0",
                "properties": {
                    "minimalTlsVersion": "1.2",
                    "publicNetworkAccess": "Enabled",
                    "fullyQualifiedDomainName": "sql-1.database.windows.net",
                    "administratorLogin": "sqladmin",
                },
            },
            {
                "id": f"{SERVER_ID}/databases/app1",
                "name": "app1",
                "type": "Microsoft.Sql/servers/databases",
                "location": "westeurope",
                "kind": "v12.0,user",
                "properties": {"status": "Online", "zoneRedundant": False},
            },
            {
                "id": f"{SERVER_ID}/databases/app1/transparentDataEncryption/current",
                "name": "current",
                "type": "Microsoft.Sql/servers/databases/transparentDataEncryption",
                "properties": {"state": "Enabled"},
            },
            {
                "id": f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql-2",
                "name": "sql-2",
                "type": "Microsoft.Sql/servers",
                "location": "northeurope",
                "properties": {"minimalTlsVersion": "1.0", "publicNetworkAccess": "Disabled"},
            },
            {
                "id": f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql-2"
                "/firewallRules/office",
                "name": "office",
                "type": "Microsoft.Sql/servers/firewallRules",
                "properties": {"startIpAddress": "192.0.2.10", "endIpAddress": "192.0.2.20"},
            },
        ],
    }


def client_kwargs(emu: ArmEmulator, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments that point an ARM SDK client at ``emu``."""
    kwargs: dict[str, Any] = {
        "base_url": emu.url,
        "credential_scopes": [emu.url + "/.default"],
        "connection_verify": str(emu.ca_file),
        "retry_backoff_factor": 0.01,
    }
    kwargs.update(overrides)
    return kwargs


def sql_client(emu: ArmEmulator, token: str = "test-token", **overrides: Any) -> SqlManagementClient:
    """A real SqlManagementClient talking to ``emu``."""
    return SqlManagementClient(StubCredential(token), SUB, **client_kwargs(emu, **overrides))


def raw_request(
    emu: ArmEmulator, method: str, path: str, token: str | None = "test-token"
) -> tuple[int, dict[str, str], bytes]:
    """Send one request with the standard library (no SDK) and return status, headers, body."""
    context = ssl.create_default_context(cafile=str(emu.ca_file))
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=context, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture
def emu() -> Iterator[ArmEmulator]:
    """A running emulator over :func:`make_estate`."""
    with ArmEmulator(make_estate()) as emulator:
        yield emulator


# --------------------------------------------------------------------------- happy paths


def test_subscriptions_list_follows_next_links() -> None:
    estate = {
        "subscriptions": [
            subscription("00000000-0000-0000-0000-00000000000a", "A"),
            subscription("00000000-0000-0000-0000-00000000000b", "B"),
            subscription("00000000-0000-0000-0000-00000000000c", "C"),
        ],
        "resources": [],
    }
    with ArmEmulator(estate, page_size=1) as emu:
        client = SubscriptionClient(StubCredential(), **client_kwargs(emu))
        subs = list(client.subscriptions.list())
        assert [s.display_name for s in subs] == ["A", "B", "C"]
        assert subs[0].tenant_id == TENANT
        assert [r.path for r in emu.requests] == ["/subscriptions"] * 3
        assert [r.query.get("$skipToken") for r in emu.requests] == [None, ["1"], ["2"]]
        assert all(r.query["api-version"] == ["2022-12-01"] and r.authorized for r in emu.requests)


def test_next_link_is_absolute_https_on_emulator_host() -> None:
    estate = {"subscriptions": [subscription(SUB, "A"), subscription(TENANT, "B")], "resources": []}
    with ArmEmulator(estate, page_size=1) as emu:
        status, _, body = raw_request(emu, "GET", "/subscriptions?api-version=2022-12-01")
        page = json.loads(body)
        assert status == 200
        assert page["nextLink"] == f"{emu.url}/subscriptions?api-version=2022-12-01&$skipToken=1"
        status, _, body = raw_request(emu, "GET", "/subscriptions?api-version=2022-12-01&$skipToken=1")
        assert status == 200
        assert "nextLink" not in json.loads(body)


def test_servers_list_returns_hybrid_models(emu: ArmEmulator) -> None:
    servers = {s.name: s for s in sql_client(emu).servers.list()}
    assert set(servers) == {"sql-1", "sql-2"}
    sql1 = servers["sql-1"]
    assert sql1.minimal_tls_version == "1.2"
    assert sql1.properties is not None
    assert sql1.properties.minimal_tls_version == "1.2"
    assert sql1["properties"]["publicNetworkAccess"] == "Enabled"
    assert sql1.fully_qualified_domain_name == "sql-1.database.windows.net"
    assert emu.requests[-1].path == f"/subscriptions/{SUB}/providers/Microsoft.Sql/servers"


def test_servers_list_by_resource_group(emu: ArmEmulator) -> None:
    names = [s.name for s in sql_client(emu).servers.list_by_resource_group("rg-data")]
    assert names == ["sql-2"]


def test_empty_firewall_rules_collection_is_200(emu: ArmEmulator) -> None:
    client = sql_client(emu)
    assert list(client.firewall_rules.list_by_server(RG, "sql-1")) == []
    rules = list(client.firewall_rules.list_by_server("rg-data", "sql-2"))
    assert [(r.name, r.start_ip_address, r.end_ip_address) for r in rules] == [
        ("office", "192.0.2.10", "192.0.2.20")
    ]
    status, _, body = raw_request(emu, "GET", f"{SERVER_ID}/firewallRules?api-version=2025-01-01")
    assert (status, json.loads(body)) == (200, {"value": []})


def test_databases_and_transparent_data_encryption(emu: ArmEmulator) -> None:
    client = sql_client(emu)
    databases = list(client.databases.list_by_server(RG, "sql-1"))
    assert [d.name for d in databases] == ["app1"]
    tde = client.transparent_data_encryptions.get(RG, "sql-1", "app1", "current")
    assert tde.state == "Enabled"
    assert tde.type == "Microsoft.Sql/servers/databases/transparentDataEncryption"


def test_resource_groups_are_derived_and_listed_case_insensitively(emu: ArmEmulator) -> None:
    client = ResourceManagementClient(StubCredential(), SUB, **client_kwargs(emu))
    groups = {g.name: g for g in client.resource_groups.list()}
    assert set(groups) == {"rg-web", "rg-data"}
    assert groups["rg-data"].location == "northeurope"
    # The SDK sends the lower-case "resourcegroups" spelling.
    assert emu.requests[-1].path == f"/subscriptions/{SUB}/resourcegroups"
    assert client.resource_groups.get("RG-WEB").name == "rg-web"


def test_path_matching_is_case_insensitive_and_ignores_trailing_slash(emu: ArmEmulator) -> None:
    path = SERVER_ID.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/") + "/?api-version=2025-01-01"
    status, _, body = raw_request(emu, "GET", path)
    assert status == 200
    assert json.loads(body)["id"] == SERVER_ID
    status, _, body = raw_request(
        emu, "GET", f"/SUBSCRIPTIONS/{SUB}/PROVIDERS/microsoft.sql/SERVERS?api-version=2025-01-01"
    )
    assert status == 200
    assert len(json.loads(body)["value"]) == 2


def test_generic_resources_list(emu: ArmEmulator) -> None:
    client = ResourceManagementClient(StubCredential(), SUB, **client_kwargs(emu))
    assert sorted(str(r.name) for r in client.resources.list()) == ["sql-1", "sql-2"]
    assert [r.name for r in client.resources.list_by_resource_group(RG)] == ["sql-1"]
    with pytest.raises(HttpResponseError) as excinfo:
        list(client.resources.list(filter="resourceType eq 'Microsoft.Sql/servers'"))
    assert excinfo.value.status_code == 400


def test_microsoft_example_parses_through_the_emulator() -> None:
    example_file = EXAMPLES_DIR / "sql" / "ServerListByResourceGroup.json"
    servers = json.loads(example_file.read_text(encoding="utf-8"))["responses"]["200"]["body"]["value"]
    for server in servers:  # rewrite the example's ids onto our subscription and resource group
        server["id"] = re.sub(
            r"^/subscriptions/[^/]+/resourceGroups/[^/]+",
            f"/subscriptions/{SUB}/resourceGroups/{RG}",
            server["id"],
        )
    with ArmEmulator({"subscriptions": [subscription(SUB, "Examples")], "resources": servers}) as emu:
        parsed = list(sql_client(emu).servers.list_by_resource_group(RG))
    assert [s.name for s in parsed] == ["sqlcrudtest-4645", "sqlcrudtest-6661"]
    first = parsed[0]
    assert first.location == "japaneast"
    assert first.public_network_access == "Enabled"
    assert first.administrator_login == "dummylogin"
    assert first.minimal_tls_version is None
    assert first.private_endpoint_connections is not None
    connection = first.private_endpoint_connections[0].properties
    assert connection is not None
    assert connection.private_link_service_connection_state is not None
    assert connection.private_link_service_connection_state.status == "Approved"


# --------------------------------------------------------------------------- errors and faults


def test_unknown_server_is_resource_not_found(emu: ArmEmulator) -> None:
    with pytest.raises(ResourceNotFoundError) as excinfo:
        sql_client(emu).servers.get(RG, "no-such-server")
    assert excinfo.value.status_code == 404
    assert excinfo.value.error is not None
    assert excinfo.value.error.code == "ResourceNotFound"


def test_unknown_subscription_and_resource_group(emu: ArmEmulator) -> None:
    status, _, body = raw_request(
        emu, "GET", f"/subscriptions/{TENANT}/resourcegroups?api-version=2025-04-01"
    )
    assert (status, json.loads(body)["error"]["code"]) == (404, "SubscriptionNotFound")
    with pytest.raises(ResourceNotFoundError) as excinfo:
        list(sql_client(emu).servers.list_by_resource_group("rg-missing"))
    assert excinfo.value.error is not None
    assert excinfo.value.error.code == "ResourceGroupNotFound"


def test_missing_api_version_is_400(emu: ArmEmulator) -> None:
    status, _, body = raw_request(emu, "GET", SERVER_ID)
    assert (status, json.loads(body)["error"]["code"]) == (400, "MissingApiVersionParameter")


def test_forbidden_fault(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path=r"/providers/Microsoft\.Sql/servers$", status=403))
    with pytest.raises(HttpResponseError) as excinfo:
        list(sql_client(emu).servers.list())
    assert excinfo.value.status_code == 403
    assert excinfo.value.error is not None
    assert excinfo.value.error.code == "AuthorizationFailed"
    assert len(emu.requests) == 1  # 403 is not retried


def test_throttling_with_retry_after_is_retried_after_the_delay(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path="/servers$", status=429, times=1, retry_after="1"))
    servers = list(sql_client(emu).servers.list())
    assert len(servers) == 2
    assert len(emu.requests) == 2
    assert emu.requests[1].at - emu.requests[0].at >= 0.95


def test_throttling_without_retry_after_gives_up_after_four_requests(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path="/servers$", status=429))
    with pytest.raises(HttpResponseError) as excinfo:
        list(sql_client(emu).servers.list())
    assert excinfo.value.status_code == 429
    assert excinfo.value.error is not None
    assert excinfo.value.error.code == "TooManyRequests"
    assert len(emu.requests) == 4


def test_fault_times_counts_down_and_method_filters(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path="/servers$", status=500, method="POST"))  # never matches a GET
    emu.add_fault(Fault(path="/servers$", status=503, times=2, code="ServerBusy"))
    servers = list(sql_client(emu).servers.list())  # 503 is retried by azure-core
    assert len(servers) == 2
    assert len(emu.requests) == 3
    emu.clear_faults()
    emu.add_fault(Fault(path="/servers$", status=503, code="ServerBusy", message="busy"))
    with pytest.raises(HttpResponseError) as excinfo:
        list(sql_client(emu, retry_total=0).servers.list())
    assert excinfo.value.error is not None
    assert (excinfo.value.error.code, excinfo.value.error.message) == ("ServerBusy", "busy")


def test_malformed_json_raises_decode_error(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path="/servers$", malformed=True))
    with pytest.raises(DecodeError):
        list(sql_client(emu).servers.list())
    emu.add_fault(Fault(path="/servers/sql-1$", malformed=True))
    with pytest.raises(DecodeError):
        sql_client(emu).servers.get(RG, "sql-1")


def test_fault_with_a_body_answers_valid_json_of_an_unexpected_shape(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path="/servers$", status=200, body={"value": "garbage"}, times=1))
    status, _, body = raw_request(
        emu, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Sql/servers?api-version=1"
    )
    assert (status, json.loads(body)) == (200, {"value": "garbage"})
    # the fault used up, the same path answers from the estate again
    assert len(list(sql_client(emu).servers.list())) == 2


def test_unaccepted_token_is_client_authentication_error() -> None:
    with ArmEmulator(make_estate(), tokens={"good-token"}) as emu:
        with pytest.raises(ClientAuthenticationError) as excinfo:
            list(sql_client(emu, token="stolen-token").servers.list())
        assert excinfo.value.status_code == 401
        assert [r.authorized for r in emu.requests] == [False]
        assert [s.name for s in sql_client(emu, token="good-token").servers.list()] == ["sql-1", "sql-2"]
        assert emu.requests[-1].authorized


def test_401_has_no_challenge_and_other_methods_are_405(emu: ArmEmulator) -> None:
    for token in (None, ""):
        status, headers, body = raw_request(emu, "GET", f"{SERVER_ID}?api-version=2025-01-01", token=token)
        assert status == 401
        assert "www-authenticate" not in headers
        assert json.loads(body)["error"]["code"] == "InvalidAuthenticationToken"
    status, headers, body = raw_request(emu, "POST", f"{SERVER_ID}/restart?api-version=2025-01-01")
    assert status == 405
    assert json.loads(body)["error"]["code"] == "MethodNotAllowed"


def test_latency_fault_and_global_latency(emu: ArmEmulator) -> None:
    emu.add_fault(Fault(path="/servers$", status=200, latency=0.3, times=1))
    started = time.monotonic()
    assert len(list(sql_client(emu).servers.list())) == 2
    assert time.monotonic() - started >= 0.3
    emu.add_fault(Fault(path="/servers/sql-1$", status=500, latency=0.2))
    started = time.monotonic()
    with pytest.raises(HttpResponseError) as excinfo:
        sql_client(emu, retry_total=0).servers.get(RG, "sql-1")
    assert excinfo.value.status_code == 500
    assert time.monotonic() - started >= 0.2

    with ArmEmulator(make_estate(), latency=0.25) as slow:
        started = time.monotonic()
        sql_client(slow).servers.get(RG, "sql-1")
        assert time.monotonic() - started >= 0.25


def test_request_headers_are_not_logged(emu: ArmEmulator, capfd: pytest.CaptureFixture[str]) -> None:
    list(sql_client(emu, token="secret-token-123").servers.list())
    raw_request(emu, "GET", "/nowhere", token="secret-token-123")
    out, err = capfd.readouterr()
    assert "secret-token-123" not in out + err
    assert out + err == ""


def test_credential_scope_is_passed_through(emu: ArmEmulator) -> None:
    credential = StubCredential()
    client = SqlManagementClient(credential, SUB, **client_kwargs(emu))
    client.servers.get(RG, "sql-1")
    assert credential.scopes == [emu.url + "/.default"]


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    estate_file = tmp_path / "estate.json"
    estate_file.write_text(json.dumps(make_estate()), encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-m", "demo.standins.arm_emulator", str(estate_file), "--page-size", "1"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip().removeprefix("ARM emulator: ")
            ca_file = Path(proc.stdout.readline().strip().removeprefix("CA file: "))
            assert url.startswith("https://127.0.0.1:")
            client = SqlManagementClient(
                StubCredential(),
                SUB,
                base_url=url,
                credential_scopes=[url + "/.default"],
                connection_verify=str(ca_file),
                retry_total=0,
            )
            assert sorted(str(s.name) for s in client.servers.list()) == ["sql-1", "sql-2"]
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
            assert not ca_file.exists()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_stopped_emulator_stops_answering_on_kept_alive_connections() -> None:
    emu = ArmEmulator(make_estate()).start()
    client = sql_client(emu, retry_total=0)
    assert client.servers.get(RG, "sql-1").name == "sql-1"  # leaves a pooled keep-alive connection
    emu.stop()
    assert emu.url.startswith("https://127.0.0.1:")  # still known after stop
    with pytest.raises(ServiceRequestError):
        client.servers.get(RG, "sql-1")
    with pytest.raises(RuntimeError):
        emu.start()
