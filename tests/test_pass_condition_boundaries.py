"""The exact edge of every numeric pass condition: the last value that passes and the first that fails.

A test that only checks values far from a limit passes as well when `<=` becomes `<` or `>`
becomes `>=`. Each test here puts a fact exactly on the limit and one step past it (one
address, one day, one second, one TLS version), so that such a change fails a test. The
controls are called directly on literal facts, as the framework calls them; they are reached
through their modules, never imported by name, so that pytest does not collect them here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from collectors.azure.facts import (
    FirewallRule,
    LongTermRetention,
    PatchAssessment,
    SqlAuditing,
    SqlBackupRetention,
    SqlServer,
    SqlServerFirewall,
    StorageAccount,
    StorageIpRule,
    WebApp,
)
from collectors.config.policy import Policy
from collectors.databases.facts import MessageAge, MessageStore
from collectors.hosts.facts import (
    HostFacts,
    LinuxUpdates,
    OperatingSystem,
    PendingUpdate,
    UpdateHistoryEntry,
    WindowsUpdates,
)
from collectors.tls.facts import (
    CertificateFact,
    CipherSuiteFact,
    EllipticCurveFact,
    KeyExchange,
    TlsEndpoint,
    TlsTarget,
)
from controls import test_6e_message_retention as c6e
from controls import test_6f_certificates as c6f
from controls import test_11_backup_retention as c11
from controls import test_12b_trusted_networks as c12b
from controls import test_12f_encryption_in_transit as c12f
from controls import test_12g_azure_vm_patching as c12g_azure
from controls import test_12g_linux_patching as c12g_linux
from controls import test_12g_os_supported as c12g_os
from controls import test_12g_windows_patching as c12g_windows
from controls import test_13_breach_notification as c13
from controls.framework import Verdict
from controls.host_firewall import host_remote_untrusted
from controls.networks import range_within
from controls.nsg_rules import nsg_source_untrusted
from controls.patch_age import overdue_reason
from tests.control_calls import verdict

RUN_DATE = date(2026, 11, 29)
RUN_START = datetime(2026, 11, 29, tzinfo=UTC)
TRUSTED_V4 = "192.0.2.0/24"
TRUSTED_V6 = "2001:db8:5::/48"


def policy(**settings: Any) -> Policy:
    """A policy trusting one IPv4 and one IPv6 network, with `settings` changed."""
    return Policy(trusted_networks=[TRUSTED_V4, TRUSTED_V6], **settings)


# --- a range running exactly one address past (or before) a trusted network -----------------------

NETWORK_EDGES = [
    # (first address, last address, first address one below, first address one past)
    pytest.param("192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0", id="ipv4"),
    pytest.param(
        "2001:db8:5::",
        "2001:db8:5:ffff:ffff:ffff:ffff:ffff",
        "2001:db8:4:ffff:ffff:ffff:ffff:ffff",
        "2001:db8:6::",
        id="ipv6",
    ),
]


def within(start: str, end: str) -> bool:
    return range_within(ipaddress.ip_address(start), ipaddress.ip_address(end), policy().networks())


@pytest.mark.parametrize(("first", "last", "below", "past"), NETWORK_EDGES)
def test_range_ending_on_the_last_trusted_address_is_within(
    first: str, last: str, below: str, past: str
) -> None:
    assert within(first, last)
    assert within(last, last)


@pytest.mark.parametrize(("first", "last", "below", "past"), NETWORK_EDGES)
def test_range_running_one_address_past_the_trusted_network_is_not_within(
    first: str, last: str, below: str, past: str
) -> None:
    assert not within(first, past)
    assert not within(last, past)


@pytest.mark.parametrize(("first", "last", "below", "past"), NETWORK_EDGES)
def test_range_starting_one_address_below_the_trusted_network_is_not_within(
    first: str, last: str, below: str, past: str
) -> None:
    assert not within(below, last)
    assert not within(below, first)


def test_range_covered_exactly_by_two_adjacent_networks_is_within_and_one_more_address_is_not() -> None:
    adjacent = [ipaddress.ip_network("192.0.2.0/25"), ipaddress.ip_network("192.0.2.128/25")]
    start = ipaddress.ip_address("192.0.2.0")
    assert range_within(start, ipaddress.ip_address("192.0.2.255"), adjacent)
    assert not range_within(start, ipaddress.ip_address("192.0.3.0"), adjacent)


def sql_firewall(start: str, end: str) -> SqlServerFirewall:
    server = SqlServer(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web",
        name="sql-web",
        subscription_id="sub-1",
        resource_group="rg-web",
        location="westeurope",
        fqdn="sql-web.database.windows.net",
        minimal_tls_version="1.2",
        public_network_access="Enabled",
    )
    return SqlServerFirewall(server, (FirewallRule("office", start, end),))


def test_sql_firewall_rule_ending_on_the_last_trusted_address_passes() -> None:
    control = c12b.test_sql_server_accepts_only_trusted_networks
    assert verdict(control, sql_firewall("192.0.2.0", "192.0.2.255"), policy=policy()).status == "pass"


def test_sql_firewall_rule_one_address_past_the_trusted_network_fails() -> None:
    control = c12b.test_sql_server_accepts_only_trusted_networks
    result = verdict(control, sql_firewall("192.0.2.0", "192.0.3.0"), policy=policy())
    assert result.status == "fail"
    assert "office: 192.0.2.0-192.0.3.0 is not inside the trusted networks" in result.message


def test_sql_firewall_rule_starting_one_address_below_the_trusted_network_fails() -> None:
    control = c12b.test_sql_server_accepts_only_trusted_networks
    assert verdict(control, sql_firewall("192.0.1.255", "192.0.2.255"), policy=policy()).status == "fail"


def storage_account(*ip_rules: str) -> StorageAccount:
    return StorageAccount(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Storage/storageAccounts/stweb",
        name="stweb",
        subscription_id="sub-1",
        resource_group="rg-web",
        kind="StorageV2",
        sku="Standard_LRS",
        public_network_access="Enabled",
        default_action="Deny",
        bypass="AzureServices",
        ip_rules=tuple(StorageIpRule(value, "Allow") for value in ip_rules),
        virtual_network_rules=(),
        resource_access_rules=(),
        https_only=True,
        minimum_tls_version="TLS1_2",
        blob_encryption_enabled=True,
        file_encryption_enabled=True,
        key_source="Microsoft.Storage",
        require_infrastructure_encryption=False,
        primary_location="westeurope",
        secondary_location=None,
        status_of_secondary=None,
    )


@pytest.mark.parametrize(
    ("ip_rule", "status"),
    [
        pytest.param("192.0.2.255", "pass", id="last-trusted-address"),
        pytest.param("192.0.2.254/31", "pass", id="cidr-ending-on-the-last-address"),
        pytest.param("192.0.3.0", "fail", id="one-address-past"),
        pytest.param("192.0.2.0/23", "fail", id="cidr-one-network-past"),
        pytest.param("192.0.1.255", "fail", id="one-address-below"),
    ],
)
def test_storage_ip_rule_at_the_edge_of_the_trusted_network(ip_rule: str, status: str) -> None:
    control = c12b.test_storage_account_accepts_only_trusted_networks
    assert verdict(control, storage_account(ip_rule), policy=policy()).status == status


@pytest.mark.parametrize(
    ("source", "trusted"),
    [
        pytest.param("192.0.2.128/25", True, id="ipv4-upper-half"),
        pytest.param("192.0.2.0/23", False, id="ipv4-one-network-past"),
        pytest.param("2001:db8:5:ffff::/64", True, id="ipv6-last-subnet"),
        pytest.param("2001:db8:4::/47", False, id="ipv6-one-network-below-and-inside"),
    ],
)
def test_nsg_source_cidr_at_the_edge_of_the_trusted_network(source: str, trusted: bool) -> None:
    assert (nsg_source_untrusted(source, policy()) is None) is trusted


@pytest.mark.parametrize(
    ("remote", "trusted"),
    [
        pytest.param("192.0.2.1-192.0.2.255", True, id="ipv4-range-to-the-last-address"),
        pytest.param("192.0.2.1-192.0.3.0", False, id="ipv4-range-one-past"),
        pytest.param("192.0.1.255-192.0.2.9", False, id="ipv4-range-one-below"),
        pytest.param("192.0.2.5-192.0.2.5", True, id="ipv4-range-of-one-address"),
        pytest.param("2001:db8:5::1-2001:db8:5:ffff:ffff:ffff:ffff:ffff", True, id="ipv6-range-to-the-last"),
        pytest.param("2001:db8:5::1-2001:db8:6::", False, id="ipv6-range-one-past"),
        pytest.param("192.0.2.0/255.255.255.0", True, id="windows-address-and-mask"),
        pytest.param("192.0.2.0/255.255.254.0", False, id="windows-mask-one-network-past"),
    ],
)
def test_host_rule_remote_address_at_the_edge_of_the_trusted_network(remote: str, trusted: bool) -> None:
    assert (host_remote_untrusted(remote, policy()) is None) is trusted


# --- min_tls = "1.3" ------------------------------------------------------------------------------


def tls_endpoint(*protocols: str) -> TlsEndpoint:
    """An endpoint with a strong key and strong suites, offering `protocols`."""
    return TlsEndpoint(
        target=TlsTarget("www.example.test", 443),
        protocols_offered=protocols,
        tls12_suites=(CipherSuiteFact("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", True, True),)
        if "TLS 1.2" in protocols
        else (),
        tls13_suites=("TLS_AES_128_GCM_SHA256",) if "TLS 1.3" in protocols else (),
        key_type="RSA",
        key_bits=2048,
        certificate=None,
        hsts_max_age=31536000,
        hsts_observation="max-age=31536000",
        http_redirects_to_https=True,
        http_observation="301 -> https://www.example.test/",
        http_refused=False,
        key_exchanges=tuple(
            KeyExchange(protocol, suite, "ECDH", "secp256r1", 256)
            for protocol, suite in (
                ("TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                ("TLS 1.3", "TLS_AES_128_GCM_SHA256"),
            )
            if protocol in protocols
        ),
        supported_curves=(EllipticCurveFact("secp256r1", 256),),
    )


def endpoint_tls(endpoint: TlsEndpoint, min_tls: str) -> Verdict:
    return verdict(c12f.test_endpoint_speaks_only_strong_tls, endpoint, policy=policy(min_tls=min_tls))


def test_endpoint_offering_tls12_passes_min_tls_12_and_fails_min_tls_13() -> None:
    both = tls_endpoint("TLS 1.2", "TLS 1.3")
    assert endpoint_tls(both, "1.2").status == "pass"
    result = endpoint_tls(both, "1.3")
    assert result.status == "fail"
    assert "offers TLS 1.2" in result.message


def test_endpoint_offering_only_tls13_passes_min_tls_13() -> None:
    assert endpoint_tls(tls_endpoint("TLS 1.3"), "1.3").status == "pass"


def web_app(min_tls: str, scm_min_tls: str) -> WebApp:
    return WebApp(
        id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Web/sites/app-web",
        name="app-web",
        subscription_id="sub-1",
        resource_group="rg-web",
        location="westeurope",
        kind="app",
        state="Running",
        https_only=True,
        min_tls_version=min_tls,
        scm_min_tls_version=scm_min_tls,
        ftps_state="Disabled",
        host_names=("app-web.azurewebsites.net",),
    )


@pytest.mark.parametrize(
    ("min_tls", "scm_min_tls", "status"),
    [
        pytest.param("1.3", "1.3", "pass", id="both-1.3"),
        pytest.param("1.2", "1.3", "fail", id="site-1.2"),
        pytest.param("1.3", "1.2", "fail", id="scm-1.2"),
    ],
)
def test_app_service_judged_with_min_tls_13(min_tls: str, scm_min_tls: str, status: str) -> None:
    control = c12f.test_web_app_accepts_only_modern_tls
    result = verdict(control, web_app(min_tls, scm_min_tls), policy=policy(min_tls="1.3"))
    assert result.status == status
    if status == "fail":
        assert "1.2 is below 1.3" in result.message


def test_app_service_with_tls12_floors_passes_min_tls_12() -> None:
    control = c12f.test_web_app_accepts_only_modern_tls
    assert verdict(control, web_app("1.2", "1.2"), policy=policy(min_tls="1.2")).status == "pass"


@pytest.mark.parametrize(
    ("minimum_tls_version", "min_tls", "status"),
    [
        pytest.param("TLS1_3", "1.3", "pass", id="tls13-at-1.3"),
        pytest.param("TLS1_2", "1.3", "fail", id="tls12-at-1.3"),
        pytest.param("TLS1_2", "1.2", "pass", id="tls12-at-1.2"),
    ],
)
def test_storage_tls_floor_at_the_policy_edge(minimum_tls_version: str, min_tls: str, status: str) -> None:
    account = dataclasses.replace(storage_account(), minimum_tls_version=minimum_tls_version)
    control = c12f.test_storage_account_accepts_only_modern_tls
    assert verdict(control, account, policy=policy(min_tls=min_tls)).status == status


def test_sql_server_tls_floor_equal_to_min_tls_13_passes() -> None:
    server = sql_firewall("192.0.2.1", "192.0.2.1").server
    control = c12f.test_sql_server_refuses_old_tls
    assert verdict(control, server, policy=policy(min_tls="1.3")).status == "fail"
    tls13 = dataclasses.replace(server, minimal_tls_version="1.3")
    assert verdict(control, tls13, policy=policy(min_tls="1.3")).status == "pass"


# --- a patch exactly patch_max_age_days old -------------------------------------------------------

LCU_OCTOBER = "2026-10 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5105140)"


def windows_host(installed_days_ago: int, *pending: PendingUpdate) -> HostFacts:
    """A Windows Server 2022 host whose newest cumulative update (October's) was installed that long ago."""
    installed = RUN_START - timedelta(days=installed_days_ago) + timedelta(hours=3)
    history = (UpdateHistoryEntry(installed, LCU_OCTOBER, "KB5105140", 1, 2),)
    return HostFacts(
        name="web01",
        address="192.0.2.10",
        roles=("web",),
        os=OperatingSystem("windows", "Windows Server 2022 Datacenter", "10.0.20348", build=20348, ubr=2700),
        windows_updates=WindowsUpdates(history=history, pending=pending, search_result=2),
    )


def windows_patching(host: HostFacts, **settings: Any) -> Verdict:
    control = c12g_windows.test_windows_host_is_patched_monthly
    return verdict(control, host, policy=policy(**settings), run_date=RUN_DATE)


@pytest.mark.parametrize("max_age", [35, 40])
def test_cumulative_update_exactly_patch_max_age_days_old_passes(max_age: int) -> None:
    assert windows_patching(windows_host(max_age), patch_max_age_days=max_age).status == "pass"


@pytest.mark.parametrize("max_age", [35, 40])
def test_cumulative_update_one_day_older_than_patch_max_age_days_fails(max_age: int) -> None:
    result = windows_patching(windows_host(max_age + 1), patch_max_age_days=max_age)
    assert result.status == "fail"
    assert f"installed {max_age + 1} days before the run date (at most {max_age} allowed)" in result.message


def urgent_update(released_days_ago: int) -> PendingUpdate:
    released = RUN_START - timedelta(days=released_days_ago) + timedelta(hours=18)
    return PendingUpdate(
        "Security update (KB5108672)", ("KB5108672",), "Critical", ("Security Updates",), released
    )


def test_pending_windows_update_released_exactly_the_grace_period_ago_passes() -> None:
    assert windows_patching(windows_host(10, urgent_update(14))).status == "pass"


def test_pending_windows_update_released_one_day_more_than_the_grace_period_ago_fails() -> None:
    result = windows_patching(windows_host(10, urgent_update(15)))
    assert result.status == "fail"
    assert "pending beyond the 14-day grace period" in result.message


@pytest.mark.parametrize(("age", "overdue"), [(0, False), (14, False), (15, True)])
def test_overdue_reason_grace_period_is_inclusive(age: int, overdue: bool) -> None:
    released = RUN_START - timedelta(days=age) + timedelta(hours=23)
    reason = overdue_reason(released, RUN_DATE, 14)
    assert (reason is not None) is overdue
    if overdue:
        assert reason == f"released {released.day} {released:%B %Y}, {age} days before the run date"


def assessment(age_days: int) -> PatchAssessment:
    return PatchAssessment(
        vm_id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01",
        vm_name="vm-web-01",
        os_type="Windows",
        patch_mode="AutomaticByPlatform",
        assessment_mode="AutomaticByPlatform",
        assessed=True,
        status="Succeeded",
        last_modified=RUN_START - timedelta(days=age_days) + timedelta(hours=2),
        critical_count=0,
        security_count=0,
        error=None,
        patches=(),
    )


@pytest.mark.parametrize(("max_age", "age", "status"), [(3, 3, "pass"), (3, 4, "fail"), (7, 0, "pass")])
def test_patch_assessment_age_limit_is_inclusive(max_age: int, age: int, status: str) -> None:
    control = c12g_azure.test_vm_is_assessed_and_has_no_overdue_security_patches
    result = verdict(
        control, assessment(age), policy=policy(patch_assessment_max_age_days=max_age), run_date=RUN_DATE
    )
    assert result.status == status


def linux_host(index_age_days: int) -> HostFacts:
    return HostFacts(
        name="lnx01",
        address="192.0.2.20",
        roles=("web",),
        os=OperatingSystem("linux", "Debian GNU/Linux 12 (bookworm)", "12", distribution="debian"),
        linux_updates=LinuxUpdates(
            "apt", (), RUN_START - timedelta(days=index_age_days) + timedelta(hours=5)
        ),
    )


@pytest.mark.parametrize(("age", "status"), [(7, "pass"), (8, "fail")])
def test_linux_package_index_age_limit_is_inclusive(age: int, status: str) -> None:
    control = c12g_linux.test_linux_host_has_no_pending_security_updates
    assert verdict(control, linux_host(age), policy=policy(), run_date=RUN_DATE).status == status


@pytest.mark.parametrize(("days_after_support_ends", "status"), [(0, "pass"), (1, "fail")])
def test_os_supported_through_its_last_day_of_support(days_after_support_ends: int, status: str) -> None:
    support_ends = c12g_os.WINDOWS_SERVER_LIFECYCLE[20348].support_ends
    run_date = support_ends + timedelta(days=days_after_support_ends)
    control = c12g_os.test_host_os_is_supported
    assert verdict(control, windows_host(1), run_date=run_date).status == status


# --- certificates, HSTS, retention ----------------------------------------------------------------


def certificate(days_left: timedelta) -> CertificateFact:
    return CertificateFact(
        subject="CN=www.example.test",
        issuer="CN=Example CA",
        not_before=RUN_START - timedelta(days=60),
        not_after=RUN_START + days_left,
        names=("www.example.test",),
        chain_valid=True,
        validation_error=None,
        hostname_matches=True,
        trust_store="system",
        chain_length=2,
    )


def with_certificate(days_left: timedelta) -> TlsEndpoint:
    endpoint = tls_endpoint("TLS 1.2", "TLS 1.3")
    return dataclasses.replace(endpoint, certificate=certificate(days_left))


@pytest.mark.parametrize(
    ("left", "status"),
    [
        pytest.param(timedelta(days=21), "fail", id="exactly-cert-min-days"),
        pytest.param(timedelta(days=21, seconds=1), "pass", id="one-second-more"),
        pytest.param(timedelta(0), "fail", id="expires-at-the-start-of-the-run-date"),
    ],
)
def test_endpoint_certificate_days_left_boundary(left: timedelta, status: str) -> None:
    control = c6f.test_endpoint_certificate_is_valid
    result = verdict(control, with_certificate(left), policy=policy(), run_date=RUN_DATE)
    assert result.status == status


def test_certificate_expiring_at_the_run_dates_start_is_expired_not_expiring() -> None:
    control = c6f.test_endpoint_certificate_is_valid
    result = verdict(control, with_certificate(timedelta(0)), policy=policy(), run_date=RUN_DATE)
    assert "expired on" in result.message


def test_certificate_valid_from_the_run_date_is_valid() -> None:
    endpoint = with_certificate(timedelta(days=90))
    assert endpoint.certificate is not None
    starts_today = dataclasses.replace(endpoint.certificate, not_before=RUN_START)
    tomorrow = dataclasses.replace(endpoint.certificate, not_before=RUN_START + timedelta(days=1))
    control = c6f.test_endpoint_certificate_is_valid
    for fact, status in ((starts_today, "pass"), (tomorrow, "fail")):
        result = verdict(
            control, dataclasses.replace(endpoint, certificate=fact), policy=policy(), run_date=RUN_DATE
        )
        assert result.status == status


@pytest.mark.parametrize(("max_age", "status"), [(31536000, "pass"), (31535999, "fail")])
def test_hsts_max_age_boundary(max_age: int, status: str) -> None:
    endpoint = tls_endpoint("TLS 1.2", "TLS 1.3")
    fact = dataclasses.replace(endpoint, hsts_max_age=max_age, hsts_observation=f"max-age={max_age}")
    result = verdict(c6f.test_endpoint_enforces_https, fact, policy=policy())
    assert result.status == status


def retention(weekly: str, monthly: str) -> SqlBackupRetention:
    server = "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web"
    return SqlBackupRetention(
        database_id=f"{server}/databases/shop",
        database_name="shop",
        server_id=server,
        policies=(LongTermRetention("default", weekly, monthly, "PT0S", None),),
    )


@pytest.mark.parametrize(
    ("duration", "status"),
    [
        pytest.param("P3M", "pass", id="P3M"),
        pytest.param("P92D", "pass", id="92-days"),
        pytest.param("P93D", "fail", id="93-days"),
        pytest.param("P13W", "pass", id="13-weeks"),
        pytest.param("P14W", "fail", id="14-weeks"),
        pytest.param("P3MT1S", "fail", id="P3M-and-a-second"),
    ],
)
@pytest.mark.parametrize("period", ["weekly", "monthly"])
def test_backup_retention_boundary_of_p3m(duration: str, status: str, period: str) -> None:
    fact = retention(duration, "PT0S") if period == "weekly" else retention("PT0S", duration)
    result = verdict(c11.test_sql_database_backups_are_gone_after_three_months, fact, policy=policy())
    assert result.status == status
    if status == "fail":
        assert f"{period} backups are kept for {duration}, longer than P3M" in result.message


def message_store(delivered: float | None, failed: float | None) -> MessageStore:
    return MessageStore(
        application="portal",
        server="pg-main",
        database="portal_db",
        measured_by="table public.messages (status, created_at)",
        ages=(
            MessageAge("delivered", 0 if delivered is None else 3, delivered),
            MessageAge("failed", 0 if failed is None else 2, failed),
        ),
    )


@pytest.mark.parametrize(
    ("delivered", "failed", "status"),
    [
        pytest.param(7.0, 30.0, "pass", id="both-exactly-at-the-limit"),
        pytest.param(7.01, 30.0, "fail", id="delivered-just-over"),
        pytest.param(7.0, 30.01, "fail", id="failed-just-over"),
        pytest.param(None, None, "pass", id="no-messages-kept"),
    ],
)
def test_message_retention_days_boundary(delivered: float | None, failed: float | None, status: str) -> None:
    result = verdict(c6e.test_messages_are_deleted_in_time, message_store(delivered, failed), policy=policy())
    assert result.status == status


def auditing(retention_days: int) -> SqlAuditing:
    return SqlAuditing(
        server_id="/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-web",
        server_name="sql-web",
        state="Enabled",
        retention_days=retention_days,
        azure_monitor_target=False,
        storage_endpoint="https://staudit.blob.core.windows.net/",
    )


@pytest.mark.parametrize(("days", "status"), [(90, "pass"), (89, "fail"), (0, "pass"), (1, "fail")])
def test_audit_retention_days_boundary(days: int, status: str) -> None:
    assert verdict(c13.test_sql_server_keeps_an_audit_trail, auditing(days), policy=policy()).status == status
