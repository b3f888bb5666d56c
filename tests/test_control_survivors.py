"""Pass conditions that a mutation tester changed without any test noticing, now pinned.

`python -m bench.mutation_controls` runs mutmut over controls/ with the fast unit tests. Each
test here fails against a mutant that survived that run (named in the test's comment as
`module: the change`), so that the same slip in the code would now turn a test red. The
controls are called directly on literal facts; they are reached through their modules, never
imported by name, so that pytest does not collect them here.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from collectors.attestations import DatacenterCertificate, EvidenceFile, MobileMediaAttestation
from collectors.azure.facts import (
    LongTermRetention,
    SecurityContact,
    SecurityRule,
    SqlBackupRetention,
    SubscriptionSecurityContacts,
)
from collectors.config.policy import Policy
from collectors.config.waivers import Waiver
from collectors.databases.facts import (
    Application,
    ConnectionEncryption,
    Database,
    DatabaseAccess,
    DatabaseServer,
    Engine,
    Login,
    MessageAge,
    MessageStore,
)
from collectors.hosts.facts import FirewallProfile, HostFacts, HostFirewall, Listener, OperatingSystem
from controls import test_6e_message_retention as c6e
from controls import test_11_backup_retention as c11
from controls import test_12a_datacenter_certification as c12a
from controls import test_12b_trusted_networks as c12b
from controls import test_12c_authorised_access as c12c
from controls import test_12d_one_database_per_application as c12d
from controls import test_12f_encryption_in_transit as c12f
from controls import test_12g_mobile_media_encryption as c12g_media
from controls import test_13_breach_notification as c13
from controls.framework import Evidence, Verdict, control, control_of, fact_parameter
from controls.waivers import apply_waivers, waiver_coverage
from reports.evidence import Source
from tests.control_calls import verdict
from tests.nsg_facts import network_security_group, security_rule

SHA = "c" * 64
EVIDENCE_FILE = EvidenceFile("/evidence/file.pdf", SHA, SHA)


# --- 11.azure-sql-backup-retention --------------------------------------------------------------


def retention(*policies: tuple[str | None, str | None, str | None]) -> SqlBackupRetention:
    server = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Sql/servers/sql-web"
    return SqlBackupRetention(
        database_id=f"{server}/databases/shop",
        database_name="shop",
        server_id=server,
        policies=tuple(
            LongTermRetention(f"policy-{i}", weekly, monthly, yearly, None)
            for i, (weekly, monthly, yearly) in enumerate(policies)
        ),
    )


def retention_verdict(fact: SqlBackupRetention) -> Verdict:
    return verdict(c11.test_sql_database_backups_are_gone_after_three_months, fact, policy=Policy())


def test_a_long_retention_in_an_earlier_policy_is_not_forgotten_by_a_later_short_one() -> None:
    # 11: `problems += retention_problems(...)` became `problems = ...` (only the last policy counted)
    result = retention_verdict(retention(("P1Y", "PT0S", "PT0S"), ("P1W", "PT0S", "PT0S")))
    assert result.status == "fail"
    assert "weekly backups are kept for P1Y" in result.message


def test_lower_case_zero_retention_is_unset() -> None:
    # 11 is_unset: `.upper() in UNSET` became `.lower()`
    assert c11.is_unset("pt0s")
    assert retention_verdict(retention(("P1W", "PT0S", "pt0s"))).status == "pass"


# --- 12a.datacenter-certification ---------------------------------------------------------------


def certificate(standard: str, valid_until: date) -> DatacenterCertificate:
    return DatacenterCertificate(
        datacenter="DC1",
        standard=standard,
        issuer="Example Certification B.V.",
        scope="colocation",
        valid_until=valid_until,
        attested_by="DPO",
        attested_on=date(2025, 9, 1),
        evidence=EVIDENCE_FILE,
    )


def certificate_verdict(fact: DatacenterCertificate, run_date: date) -> Verdict:
    return verdict(c12a.test_datacenter_certificate_is_current, fact, policy=Policy(), run_date=run_date)


@pytest.mark.parametrize(
    "standard", ["NEN-EN-ISO/IEC 27001: 2017", "NEN-EN-ISO/IEC 27001 :2017", "ISO/IEC 27001 : 2013"]
)
def test_withdrawn_edition_written_with_spaces_is_recognised(standard: str) -> None:
    # 12a is_iso27001_2013: the spaces were no longer removed (`replace(" ", "")` mutated)
    assert c12a.is_iso27001_2013(standard)
    assert certificate_verdict(certificate(standard, date(2027, 6, 1)), date(2026, 11, 4)).status == "fail"


def test_iso27001_2013_certificate_is_still_valid_on_the_last_day_of_the_transition() -> None:
    # 12a: `run_date > ISO27001_2013_LAST_VALID_DAY` became `>=`
    fact = certificate("ISO/IEC 27001:2013", date(2026, 6, 1))
    assert certificate_verdict(fact, c12a.ISO27001_2013_LAST_VALID_DAY).status == "pass"
    later = c12a.ISO27001_2013_LAST_VALID_DAY + timedelta(days=1)
    assert certificate_verdict(fact, later).status == "fail"


def test_certificate_ending_on_the_run_date_is_reported_as_expiring_not_expired() -> None:
    # 12a: `days_left >= 0` became `> 0` (the verdict is fail either way; the reason differs)
    run_date = date(2026, 11, 4)
    result = verdict(
        c12a.test_datacenter_certificate_is_current,
        certificate("ISO/IEC 27001:2022", run_date),
        policy=Policy(certificate_min_days_left=0),
        run_date=run_date,
    )
    assert result.status == "fail"
    assert "only 0 days from now" in result.message


# --- 12c.host-admins: who counts as authorised ---------------------------------------------------


def test_dot_backslash_names_the_hosts_own_local_account() -> None:
    # 12c admin_is_authorised: the local-machine form ".\\user" (`domain in (local, ".")` mutated)
    authorised = frozenset({"alice"})
    assert c12c.admin_is_authorised(".\\alice", "web01.example.nl", authorised)
    assert c12c.admin_is_authorised("WEB01\\Alice", "web01.example.nl", authorised)
    assert not c12c.admin_is_authorised("CORP\\alice", "web01.example.nl", authorised)


def test_only_the_last_backslash_separates_the_account() -> None:
    # 12c admin_is_authorised: `rpartition("\\")` became `partition("\\")`
    assert not c12c.admin_is_authorised("web01\\corp\\alice", "web01", frozenset({"corp\\alice"}))
    assert not c12c.admin_is_authorised("web01\\x\\alice", "web01", frozenset({"x\\alice", "alice"}))


# --- 12d: names are compared the way each engine compares them -----------------------------------


def app(engine: Engine, database: str, reaches: str) -> Application:
    login = Login(name="shop_app", kind="role", databases=(DatabaseAccess(reaches, "CONNECT granted"),))
    return Application(
        name="shop",
        server="db01",
        engine=engine,
        database=database,
        identity="shop_app",
        databases_used=(database,),
        login=login,
        admin_login="admin",
    )


@pytest.mark.parametrize(
    ("engine", "status"), [("sqlserver", "pass"), ("azuresql", "pass"), ("postgresql", "fail")]
)
def test_own_database_name_is_case_insensitive_on_sql_server_and_azure_sql_only(
    engine: Engine, status: str
) -> None:
    # 12d _same: the engines compared without case ("azuresql" mutated, `or True`, engine None)
    fact = app(engine, "Shop_DB", "shop_db")
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, fact).status == status


def server(
    engine: Engine, *logins: Login, application_logins: tuple[tuple[str, str], ...] = ()
) -> DatabaseServer:
    return DatabaseServer(
        name="db01",
        engine=engine,
        host="db.example.nl",
        port=1433,
        databases=(Database("db01", "shop_db"), Database("db01", "crm_db")),
        logins=logins,
        applications=("crm", "shop"),
        application_logins=application_logins or (("crm", "crm_app"), ("shop", "shop_app")),
        application_databases=("crm_db", "shop_db"),
    )


@pytest.mark.parametrize(
    ("engine", "status"), [("azuresql", "fail"), ("sqlserver", "fail"), ("postgresql", "pass")]
)
def test_logins_differing_only_in_case_are_one_login_on_sql_server_and_azure_sql_only(
    engine: Engine, status: str
) -> None:
    # 12d db-shared-logins: `identity.lower()` for sqlserver/azuresql only (mutated to upper, `or True`, "azuresql")
    fact = server(engine, application_logins=(("crm", "Shop_App"), ("shop", "shop_app")))
    assert verdict(c12d.test_server_has_no_shared_or_open_logins, fact).status == status


def test_logins_with_the_same_upper_case_spelling_are_distinct_on_postgresql() -> None:
    # 12d db-shared-logins: PostgreSQL role names are case-sensitive, also when upper-cased
    fact = server("postgresql", application_logins=(("crm", "SHOP_APP"), ("shop", "shop_app")))
    assert verdict(c12d.test_server_has_no_shared_or_open_logins, fact).status == "pass"


@pytest.mark.parametrize("name", ["sa", "SA", "Sa"])
def test_enabled_sa_login_fails_whatever_its_case(name: str) -> None:
    # 12d db-shared-logins: `login.name.lower() == "sa"` (mutated to upper, "SA", "XXsaXX", !=)
    fact = server("sqlserver", Login(name=name, kind="sql_login"))
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, fact)
    assert result.status == "fail"
    assert f"the server administrator login {name} is enabled" in result.message


@pytest.mark.parametrize(
    "login",
    [
        Login(name="shop_app", kind="sql_login"),
        Login(name="CORP\\dba", kind="windows_login", is_server_admin=True),
        Login(name="sa", kind="sql_login", disabled=True),
    ],
    ids=["ordinary-sql-login", "windows-admin", "disabled-sa"],
)
def test_other_enabled_logins_are_not_an_enabled_sa(login: Login) -> None:
    # 12d db-shared-logins: `!= "sa"` and `is_server_admin or kind == "sql_login"` mutants
    fact = server("sqlserver", login)
    assert verdict(c12d.test_server_has_no_shared_or_open_logins, fact).status == "pass"


def test_renamed_sa_is_the_server_admin_sql_login() -> None:
    fact = server("sqlserver", Login(name="dbadmin", kind="sql_login", is_server_admin=True))
    assert verdict(c12d.test_server_has_no_shared_or_open_logins, fact).status == "fail"


# --- 12g.mobile-media-encryption ------------------------------------------------------------------


def test_mobile_media_attested_on_the_run_date_passes() -> None:
    # 12g mobile media: `age_days >= 0` became `> 0` / `>= 1`
    run_date = date(2026, 11, 4)
    attestation = MobileMediaAttestation("laptops", "BitLocker on", "IT", run_date, EVIDENCE_FILE)
    result = verdict(
        c12g_media.test_mobile_media_encryption_is_attested_recently,
        attestation,
        policy=Policy(),
        run_date=run_date,
    )
    assert result.status == "pass"


# --- 13.azure-security-contacts -------------------------------------------------------------------


def test_a_good_contact_after_an_unreadable_one_passes() -> None:
    # 13: the loop's `continue` after an unreadable contact became `break`
    contacts = SubscriptionSecurityContacts(
        "sub-1",
        "Production",
        (
            SecurityContact("legacy", ("old@example.nl",), "On", "Informational"),
            SecurityContact("default", ("soc@example.nl",), "On", "Medium"),
        ),
    )
    result = verdict(c13.test_security_alerts_reach_a_contact_by_email, contacts, policy=Policy())
    assert result.status == "pass"


# --- waivers and the framework ---------------------------------------------------------------------


def test_expired_waiver_is_still_named_on_the_failing_result() -> None:
    # waivers.apply_waivers: the expired waiver was dropped from the result (`waiver` → None)
    waiver = Waiver(
        control="12a.datacenter-certification",
        resource="DC1",
        justification="renewal audit booked",
        approved_by="CISO",
        expires=date(2026, 1, 1),
    )
    failing = Verdict("fail", "the certificate of DC1 expired")
    expired = apply_waivers(failing, [waiver], "12a.datacenter-certification", "DC1", date(2026, 2, 1))
    assert expired.verdict.status == "fail"
    assert expired.waiver == waiver
    assert expired.expired is True
    valid = apply_waivers(failing, [waiver], "12a.datacenter-certification", "DC1", date(2025, 12, 1))
    assert valid.verdict.status == "waived"
    assert valid.expired is False
    passing = apply_waivers(
        Verdict("pass", "ok"), [waiver], "12a.datacenter-certification", "DC1", date(2025, 12, 1)
    )
    assert passing.waiver is None
    assert passing.expired is False


def test_fact_parameter_is_the_controls_first_parameter() -> None:
    # framework.fact_parameter: no unit test reached it
    assert fact_parameter(c12a.test_datacenter_certificate_is_current) == "certificate"


def test_cited_sources_are_kept_in_order() -> None:
    # framework.Evidence.cite: no unit test reached it
    evidence = Evidence(None)
    first = Source("attestations", "file /evidence/a.pdf", datetime(2026, 11, 4, tzinfo=UTC), "a" * 64)
    second = dataclasses.replace(first, call="file /evidence/b.pdf")
    evidence.cite(first)
    evidence.cite(second)
    assert evidence.sources == [first, second]


# --- 12b.host-port-scope: which address families a listener is reachable on ----------------------


def linux_host(firewall_profile: str, *listeners: str) -> HostFacts:
    """A Linux host whose only firewall is `firewall_profile` (policy drop) and with sshd listening on `listeners`."""
    firewall = HostFirewall(
        profiles=(FirewallProfile(firewall_profile, True, "drop"),),
        inbound_allow=(),
        listeners=tuple(Listener("tcp", address, 22, "sshd") for address in listeners),
    )
    return HostFacts(
        name="lnx01",
        address="192.0.2.20",
        roles=("web",),
        os=OperatingSystem("linux", "Debian GNU/Linux 12 (bookworm)", "12", distribution="debian"),
        firewall=firewall,
    )


def port_scope(host: HostFacts) -> Verdict:
    policy = Policy(trusted_networks=["192.0.2.0/24"])
    return verdict(c12b.test_host_admits_sensitive_ports_only_from_trusted_networks, host, policy=policy)


IPV4_ONLY = "iptables filter INPUT"
IPV6_ONLY = "ip6tables filter INPUT"


@pytest.mark.parametrize(
    ("firewall", "listener", "status"),
    [
        pytest.param(IPV4_ONLY, "0.0.0.0", "pass", id="ipv4-listener-behind-iptables"),
        pytest.param(IPV4_ONLY, "*", "fail", id="any-address-listener-reaches-ipv6"),
        pytest.param(IPV4_ONLY, "::", "fail", id="dual-stack-listener-reaches-ipv6"),
        pytest.param(IPV6_ONLY, "::", "fail", id="dual-stack-listener-reaches-ipv4"),
        pytest.param(IPV4_ONLY, "2001:db8::5", "fail", id="ipv6-listener-behind-iptables"),
        pytest.param(IPV6_ONLY, "2001:db8::5", "pass", id="ipv6-listener-behind-ip6tables"),
        pytest.param(IPV4_ONLY, "::ffff:192.0.2.20", "pass", id="mapped-ipv4-listener-behind-iptables"),
        pytest.param(IPV6_ONLY, "::ffff:192.0.2.20", "fail", id="mapped-ipv4-listener-behind-ip6tables"),
        pytest.param(IPV4_ONLY, "fe80::1%eth0", "fail", id="link-local-ipv6-listener-behind-iptables"),
        pytest.param(IPV6_ONLY, "fe80::1%eth0", "pass", id="link-local-ipv6-listener-behind-ip6tables"),
    ],
)
def test_listener_is_judged_on_the_address_families_it_reaches(
    firewall: str, listener: str, status: str
) -> None:
    # 12b _listener_families: the "::" wildcard, IPv4-mapped and IPv6 addresses (mutated family names,
    # `or True`, `is None`, frozenset(None))
    assert port_scope(linux_host(firewall, listener)).status == status


@pytest.mark.parametrize(
    ("listener", "status"),
    [
        pytest.param("127.0.0.1", "pass", id="ipv4-loopback"),
        pytest.param("::1", "pass", id="ipv6-loopback"),
        pytest.param("::ffff:127.0.0.1", "pass", id="mapped-ipv4-loopback"),
        pytest.param("*", "fail", id="any-address-is-not-loopback"),
        pytest.param("localhost", "fail", id="a-name-is-not-provably-loopback"),
    ],
)
def test_only_provably_loopback_listeners_are_local(listener: str, status: str) -> None:
    # 12b listener_is_local: an unparseable address was taken as local (`return False` → True);
    # the IPv4-mapped loopback lost its mapping (`parsed = None`)
    assert port_scope(linux_host(IPV4_ONLY, listener, "2001:db8::5")).status == "fail"
    assert port_scope(linux_host(IPV4_ONLY, listener)).status == status


# --- 12b.azure-nsg-admin-ports: which Deny rules shadow an Allow -----------------------------------

ASG = (
    "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Network/applicationSecurityGroups/asg-db"
)


def nsg_rule(
    name: str,
    access: str,
    priority: int,
    *,
    sources: tuple[str, ...] = ("Internet",),
    destinations: tuple[str, ...] = ("*",),
    destination_groups: tuple[str, ...] = (),
    source_ports: tuple[str, ...] = ("*",),
) -> SecurityRule:
    return security_rule(
        name,
        access,
        priority,
        protocol="*",
        source_prefixes=sources,
        source_port_ranges=source_ports,
        destination_prefixes=destinations,
        destination_application_security_groups=destination_groups,
    )


def nsg_verdict(*rules: SecurityRule) -> Verdict:
    control = c12b.test_nsg_admits_sensitive_ports_only_from_trusted_networks
    return verdict(control, network_security_group(*rules), policy=Policy(trusted_networks=["192.0.2.0/24"]))


ALLOW = nsg_rule("allow-rdp", "Allow", 200, destinations=("10.0.0.4",))


@pytest.mark.parametrize("wildcard", ["*", "Any", "any"])
def test_deny_of_any_source_to_any_destination_shadows_the_allow(wildcard: str) -> None:
    # 12b _nsg_wildcard: "Any" spelled in any case is a wildcard (mutated "any", upper())
    deny = nsg_rule("deny-all", "Deny", 100, sources=(wildcard,), destinations=(wildcard,))
    assert nsg_verdict(deny, ALLOW).status == "pass"


def test_deny_to_the_same_destination_shadows_the_allow() -> None:
    # 12b nsg_deny_blocks_destination: `wanted <= denied` became `<` (and the group sets alike)
    deny = nsg_rule("deny-rdp", "Deny", 100, destinations=("10.0.0.4",))
    assert nsg_verdict(deny, ALLOW).status == "pass"


def test_deny_to_the_same_service_tag_destination_shadows_whatever_the_case() -> None:
    # 12b nsg_deny_blocks_destination: one side compared upper-cased, the other lower-cased
    allow = nsg_rule("allow-rdp", "Allow", 200, destinations=("VirtualNetwork",))
    deny = nsg_rule("deny-rdp", "Deny", 100, destinations=("virtualnetwork",))
    assert nsg_verdict(deny, allow).status == "pass"


def test_deny_to_any_address_of_an_application_group_does_not_shadow_another_destination() -> None:
    # 12b nsg_deny_blocks_destination: `not deny.destination_application_security_groups` lost its `not`
    deny = nsg_rule("deny-db", "Deny", 100, destination_groups=(ASG,))
    result = nsg_verdict(deny, ALLOW)
    assert result.status == "fail"
    assert "allow-rdp" in result.message


def test_deny_with_an_unreadable_source_port_range_does_not_shadow() -> None:
    # 12b nsg_deny_blocks_all_source_ports: an unreadable range was taken as every port (`return False` → True)
    deny = nsg_rule("deny-rdp", "Deny", 100, source_ports=("ephemeral",))
    assert nsg_verdict(deny, ALLOW).status == "fail"


def test_control_decorator_marks_the_same_function_with_its_id_and_population() -> None:
    # framework.control: the marker's arguments, the function returned and the spec lookup were never checked
    def probe(fact: object, evidence: Evidence) -> None:
        """A control body."""

    marked = control("12a.datacenter-certification", over="attestations.datacenters")(probe)
    assert marked is probe
    marks = [mark for mark in getattr(probe, "pytestmark", []) if mark.name == "control"]
    assert [mark.args for mark in marks] == [("12a.datacenter-certification", "attestations.datacenters")]


def test_control_decorator_refuses_an_unknown_id_and_a_function_without_a_fact_parameter() -> None:
    with pytest.raises(KeyError):
        control("12z.no-such-control", over="attestations.datacenters")

    def no_parameters() -> None:
        """Not a control: it cannot receive a fact."""

    with pytest.raises(TypeError, match="needs a parameter for the fact"):
        control("12a.datacenter-certification", over="attestations.datacenters")(no_parameters)


class MarkedItem:
    """Just enough of a pytest item for control_of: its closest marker by name."""

    def __init__(self, marker: pytest.Mark | None) -> None:
        self.marker = marker

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self.marker if self.marker is not None and self.marker.name == name else None


def test_control_of_reads_the_marker_back() -> None:
    # framework.control_of: the marker name and arguments (mutated "control", None args)
    mark = pytest.mark.control("12a.datacenter-certification", "attestations.datacenters").mark
    found = control_of(MarkedItem(mark))  # type: ignore[arg-type]
    assert found is not None
    spec, over = found
    assert spec.id == "12a.datacenter-certification"
    assert over == "attestations.datacenters"
    assert control_of(MarkedItem(None)) is None  # type: ignore[arg-type]


# --- 12f.sqlserver-encrypted-connections ----------------------------------------------------------


@pytest.mark.parametrize(("encrypted", "status"), [(1, "pass"), (0, "fail")])
def test_one_encrypted_connection_is_enough_evidence_when_force_encryption_is_off(
    encrypted: int, status: str
) -> None:
    # 12f sqlserver-encrypted-connections: `encrypted > 0` became `> 1`
    fact = DatabaseServer(
        name="sql01",
        engine="sqlserver",
        host="sql01.example.nl",
        port=1433,
        force_encryption=False,
        connections=(ConnectionEncryption(True, encrypted), ConnectionEncryption(False, 2, "Shared memory")),
    )
    assert verdict(c12f.test_sqlserver_encrypts_every_connection, fact).status == status


def test_waiver_expiring_today_is_valid_in_the_verdict_and_in_the_coverage() -> None:
    # waivers: `waiver.expires < today` became `<=` (waiver_coverage), and the covered waiver was dropped
    today = date(2026, 11, 4)
    waiver = Waiver(
        control="12a.datacenter-certification",
        resource="DC1",
        justification="renewal audit booked",
        approved_by="CISO",
        expires=today,
    )
    failing = Verdict("fail", "the certificate of DC1 expired")
    assert (
        apply_waivers(failing, [waiver], "12a.datacenter-certification", "DC1", today).verdict.status
        == "waived"
    )
    (coverage,) = waiver_coverage([waiver], [("12a.datacenter-certification", "dc1")], today)
    assert coverage.waiver == waiver
    assert coverage.expired is False
    assert coverage.matched == 1
    (later,) = waiver_coverage([waiver], [], today + timedelta(days=1))
    assert later.expired is True
    assert later.stale is False


@pytest.mark.parametrize("count", [1, 5])
def test_messages_counted_without_an_age_are_an_error(count: int) -> None:
    # 6e: `age.count > 0` became `> 1` (one unmeasured message passed)
    store = MessageStore(
        application="portal",
        server="pg-main",
        database="portal_db",
        measured_by="configured queries",
        ages=(MessageAge("delivered", count, None), MessageAge("failed", 0, None)),
    )
    assert verdict(c6e.test_messages_are_deleted_in_time, store, policy=Policy()).status == "error"


@pytest.mark.parametrize(("duration", "days"), [("P0.5M", 15.5), ("P2.5M", 77.5), ("P2.5MT12H", 78.0)])
def test_fractional_months_count_at_the_longest_month_length(duration: str, days: float) -> None:
    # 11 longest_days: the fraction of a month (`* MONTH_DAYS[0]` mutated to `-`, `/`, MONTH_DAYS[1])
    assert c11.longest_days(duration) == days
