"""Edges of the pass conditions that mutation testing found unpinned (issue 12, part 6).

Each test here failed against a surviving mutant of `bench/mutation_controls.py` (a `<=` made
`<`, a branch whose result no test looked at, a case-insensitive comparison made case-sensitive)
and passes on the real code. They run on literal facts: no servers, no files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from collectors.attestations import DatacenterCertificate, EvidenceFile, SubProcessorEntry
from collectors.azure.facts import AvailablePatch, PatchAssessment, RolePermission
from collectors.config.policy import Policy
from collectors.config.waivers import Waiver
from collectors.databases.facts import (
    Application,
    DatabaseAccess,
    DatabaseServer,
    Login,
    MessageAge,
    MessageStore,
)
from collectors.facts import observed
from collectors.hosts.facts import PendingUpdate, UpdateHistoryEntry
from controls import test_6e_message_retention as c6e
from controls import test_9_subprocessors as c9
from controls import test_11_backup_retention as c11
from controls import test_12a_datacenter_certification as c12a
from controls import test_12d_one_database_per_application as c12d
from controls import test_12g_azure_vm_patching as c12g_azure
from controls import test_12g_windows_patching as c12g_windows
from controls.catalog import CLAUSES, CONTROLS, catalog_entries
from controls.framework import Evidence, EvidenceMissing, NotApplicable, Verdict, assertions_off_reason, judge
from controls.role_permissions import privileges
from controls.test_12c_authorised_access import admin_is_authorised
from controls.test_assertions_run import probe_assert_false
from controls.waivers import apply_waivers, waiver_coverage
from reports.evidence import CatalogEntry, Source
from tests.control_calls import verdict

RUN_DATE = date(2026, 11, 29)
SHA = "5a3ae27e93add6da79fe3dbcd44d4d12592357e808e88cc19c9b9c981b0a68c4"


# --- the assertion probe (framework.assertions_off_reason, test_assertions_run) --------------------


def test_assertion_probe_raises_where_assertions_run() -> None:
    with pytest.raises(AssertionError, match="assert statements run in control modules"):
        probe_assert_false()


def test_assertions_off_reason_loads_the_real_probe_and_finds_assertions_running() -> None:
    assert assertions_off_reason() is None


def test_probe_that_returns_means_assertions_are_off_and_names_its_module() -> None:
    def silent_probe() -> None:
        return None

    reason = assertions_off_reason(silent_probe)
    assert reason is not None
    assert f"`assert False` in {__name__} did not raise" in reason
    assert reason.endswith("run without -O / PYTHONOPTIMIZE")


# --- framework.judge and Evidence.summary: the sentence each status carries ----------------------


def test_evidence_starts_from_the_subjects_sources_and_adds_what_is_cited() -> None:
    collected = Source(
        "azure", "GET /subscriptions/0000/resourceGroups", datetime(2026, 11, 29, tzinfo=UTC), SHA
    )
    attested = Source("attestation", "read /evidence/cert.txt", datetime(2026, 11, 29, tzinfo=UTC), SHA)
    subject = observed("rg-web", "fact", [collected])
    evidence = Evidence(subject)
    assert evidence.sources == [collected]
    evidence.cite(attested)
    assert evidence.sources == [collected, attested]
    assert subject.sources == (collected,)


def test_pass_without_evidence_says_the_condition_is_met() -> None:
    assert judge(None, None) == Verdict("pass", "condition met")


def test_pass_message_lists_the_observations_that_have_a_value() -> None:
    evidence = Evidence(None)
    evidence.observed(port=443, sni=None, findings=[], tls="1.3")
    assert judge(None, evidence) == Verdict("pass", "port = 443; tls = 1.3")


def test_pass_with_nothing_observed_says_the_condition_is_met() -> None:
    evidence = Evidence(None)
    evidence.observed(findings=[], sni=None)
    assert judge(None, evidence).message == "condition met"


def test_bare_assertion_fails_with_a_sentence_not_a_class_name() -> None:
    assert judge(AssertionError(), None) == Verdict("fail", "the pass condition is not met")


def test_exception_without_a_message_is_named_by_its_class() -> None:
    assert judge(EvidenceMissing(), None) == Verdict("error", "EvidenceMissing")
    assert judge(NotApplicable("  \n"), None) == Verdict("not_applicable", "NotApplicable")


def test_unexpected_exception_is_an_error_naming_it_and_its_first_line() -> None:
    result = judge(KeyError("direction"), None)
    assert result == Verdict("error", "control could not evaluate its evidence: KeyError: 'direction'")


# --- 12c.azure-privileged-roles: what a role's permissions allow, in words ----------------------


def role(
    actions: tuple[str, ...] = (),
    not_actions: tuple[str, ...] = (),
    data_actions: tuple[str, ...] = (),
    not_data_actions: tuple[str, ...] = (),
) -> list[RolePermission]:
    return [RolePermission(actions, not_actions, data_actions, not_data_actions)]


def test_operation_without_a_read_write_delete_or_action_verb_counts_as_privileged() -> None:
    assert privileges(role(("Microsoft.Support/supportTickets",))) == [
        "action 'Microsoft.Support/supportTickets' lets it run operations"
    ]


def test_data_action_wildcard_is_named_as_a_data_action() -> None:
    blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"
    assert privileges(role(data_actions=(blobs,))) == [
        f"data action {blobs!r} lets it delete, run actions, write"
    ]


@pytest.mark.parametrize(
    ("data_actions", "not_data_actions"),
    [
        (("Microsoft.KeyVault/vaults/secrets/read",), ()),
        (("Microsoft.KeyVault/vaults/*/read",), ("Microsoft.KeyVault/vaults/secrets/read",)),
    ],
)
def test_reading_key_vault_secrets_or_keys_is_privileged_though_it_is_only_a_read(
    data_actions: tuple[str, ...], not_data_actions: tuple[str, ...]
) -> None:
    assert privileges(role(data_actions=data_actions, not_data_actions=not_data_actions)) == [
        "can read Key Vault secrets, keys or certificates (data actions)"
    ]


def test_wildcard_inside_a_pattern_is_excluded_only_by_an_exclusion_covering_all_it_stands_for() -> None:
    authorization = ("Microsoft.Authorization/*/write",)
    assert privileges(role(authorization, ("Microsoft.Authorization/*",))) == []
    assert privileges(role(authorization, ("Microsoft.Authorization/roleAssignments/write",))) == [
        "can assign roles (Microsoft.Authorization roleAssignments/roleDefinitions write)",
        "action 'Microsoft.Authorization/*/write' lets it write",
    ]


def test_trailing_wildcard_is_excluded_by_the_same_wildcard() -> None:
    assert privileges(role(("Microsoft.Compute/*",), ("Microsoft.Compute/*",))) == []
    assert privileges(role(("Microsoft.Compute/*",), ("Microsoft.Compute/*/write",))) == [
        "action 'Microsoft.Compute/*' lets it delete, run actions"
    ]


# --- waivers ------------------------------------------------------------------------------------


def waiver(resource: str = "vm-web-01", expires: date = date(2026, 12, 31)) -> Waiver:
    return Waiver(
        control="12g.azure-update-manager",
        resource=resource,
        justification="vendor fix pending",
        approved_by="CISO",
        expires=expires,
    )


def test_waiver_on_a_passing_item_is_not_reported_as_having_waived_it() -> None:
    waived = apply_waivers(
        Verdict("pass", "ok"), [waiver()], "12g.azure-update-manager", "vm-web-01", RUN_DATE
    )
    assert waived.verdict == Verdict("pass", "ok")
    assert waived.waiver is None
    assert not waived.expired


def test_waiver_coverage_names_the_waiver_it_describes() -> None:
    configured = waiver()
    [coverage] = waiver_coverage([configured], [("12g.azure-update-manager", "vm-web-01")], RUN_DATE)
    assert coverage.waiver is configured
    assert coverage.matched == 1


def test_waiver_coverage_counts_a_waiver_expiring_on_the_run_date_as_valid() -> None:
    [coverage] = waiver_coverage([waiver(expires=RUN_DATE)], [], RUN_DATE)
    assert not coverage.expired
    [coverage] = waiver_coverage([waiver(expires=date(2026, 11, 28))], [], RUN_DATE)
    assert coverage.expired


# --- 12a.datacenter-certification ---------------------------------------------------------------


def certificate(
    standard: str = "ISO/IEC 27001:2022", attested_on: date = date(2026, 11, 2)
) -> DatacenterCertificate:
    return DatacenterCertificate(
        datacenter="Databarn Rivium",
        standard=standard,
        issuer="DEMO Certification B.V.",
        scope="colocation",
        valid_until=date(2027, 9, 30),
        attested_by="DPO",
        attested_on=attested_on,
        evidence=EvidenceFile("/evidence/cert.txt", SHA, SHA),
    )


def certificate_verdict(cert: DatacenterCertificate) -> Verdict:
    return verdict(c12a.test_datacenter_certificate_is_current, cert, policy=Policy(), run_date=RUN_DATE)


def test_attestation_dated_on_the_run_date_passes() -> None:
    assert certificate_verdict(certificate(attested_on=RUN_DATE)).status == "pass"


def test_edition_typed_with_spaces_around_the_colon_is_the_current_edition() -> None:
    assert c12a.standard_problem("ISO/IEC 27001  :  2022", RUN_DATE) is None
    assert certificate_verdict(certificate("ISO/IEC 27001  :  2022")).status == "pass"


def test_withdrawn_edition_typed_with_spaces_is_still_the_withdrawn_edition() -> None:
    assert c12a.is_iso27001_2013("NEN-EN-ISO/IEC 27001 : 2017")
    assert (
        c12a.standard_problem("NEN-EN-ISO/IEC 27001 : 2017", RUN_DATE)
        == "which stopped being valid on 31 October 2025"
    )


def test_standard_problems_are_worded_for_the_auditor() -> None:
    assert c12a.standard_problem("ISO 9001:2015", RUN_DATE) == "which is not an ISO/IEC 27001 certification"
    assert c12a.standard_problem("ISO/IEC 27001", RUN_DATE) == (
        "which does not name its edition (attest e.g. ISO/IEC 27001:2022)"
    )


# --- 9.subprocessor-transfer-basis --------------------------------------------------------------


def test_subprocessor_outside_the_eea_without_a_basis_says_none_is_recorded() -> None:
    entry = SubProcessorEntry("Acme", ("mail",), "US", False, "none", None, None)
    assert c9.transfer_basis_problem(entry) == "no transfer basis is recorded"


# --- 11 backup retention: durations measured at their longest ------------------------------------


@pytest.mark.parametrize(("duration", "days"), [("P0.5M", 15.5), ("P1.5M", 46.5), ("P2.5M", 77.5)])
def test_fractional_month_counts_as_a_fraction_of_the_longest_month(duration: str, days: float) -> None:
    assert c11.longest_days(duration) == days


@pytest.mark.parametrize(("months", "days"), [(0, 0), (1, 31), (2, 62), (47, 1433), (48, 1461), (49, 1492)])
def test_longest_run_of_months_across_the_four_year_cycle(months: int, days: int) -> None:
    assert c11.longest_months(months) == days


# --- 12d: one database per application ---------------------------------------------------------


def sql_app(database: str, *roles: str, engine: str = "sqlserver") -> Application:
    access = DatabaseAccess(database, "user mapping", roles=roles)
    return Application(
        name="shop",
        server="sql01",
        engine=engine,  # type: ignore[arg-type]
        database="Shop_DB",
        identity="shop_app",
        databases_used=("Shop_DB",),
        login=Login(name="shop_app", kind="sql_login", databases=(access,)),
        admin_login="sa",
    )


def test_sql_server_owner_of_its_own_database_named_in_another_case_fails() -> None:
    result = verdict(
        c12d.test_application_login_reaches_its_own_database_only, sql_app("shop_db", "db_owner")
    )
    assert result.status == "fail"
    assert "is db_owner of its own database Shop_DB" in result.message


def test_sql_server_role_named_admin_is_not_an_owner_role() -> None:
    """Only RavenDB's Admin access level owns a database; a SQL Server role called admin does not."""
    fact = sql_app("Shop_DB", "admin", "db_datareader")
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, fact).status == "pass"


def test_ravendb_admin_access_owns_the_database() -> None:
    fact = sql_app("Shop_DB", "Admin", engine="ravendb")
    assert verdict(c12d.test_application_login_reaches_its_own_database_only, fact).status == "fail"


def test_sql_server_logins_differing_only_in_case_are_one_shared_login() -> None:
    server = DatabaseServer(
        name="sql01",
        engine="sqlserver",
        host="sql01.example",
        port=1433,
        applications=("shop", "billing"),
        application_logins=(("shop", "Shared_App"), ("billing", "shared_app")),
    )
    result = verdict(c12d.test_server_has_no_shared_or_open_logins, server)
    assert result.status == "fail"
    assert "Shared_App" in result.message


# --- 6e.message-retention -----------------------------------------------------------------------


def test_one_message_counted_without_its_age_is_an_error() -> None:
    store = MessageStore(
        application="shop",
        server="pg01",
        database="shop_db",
        measured_by="table dbo.Messages (status, created_at)",
        ages=(MessageAge("delivered", 1, None), MessageAge("failed", 0, None)),
    )
    result = verdict(c6e.test_messages_are_deleted_in_time, store, policy=Policy())
    assert result.status == "error"
    assert "1 delivered message was counted but its age was not measured" in result.message


# --- 12g Windows host patching ------------------------------------------------------------------

LCU = "{} Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems"


@pytest.mark.parametrize(("prefix", "month"), [("2026-01", (2026, 1)), ("2026-12", (2026, 12))])
def test_cumulative_update_of_january_and_december_is_recognised(prefix: str, month: tuple[int, int]) -> None:
    assert c12g_windows.cumulative_update_month(LCU.format(prefix)) == month


@pytest.mark.parametrize("prefix", ["2026-00", "2026-13"])
def test_cumulative_update_title_with_an_impossible_month_is_not_one(prefix: str) -> None:
    assert c12g_windows.cumulative_update_month(LCU.format(prefix)) is None


def history(title: str, on: str, *, kb: str | None, result: int = 2) -> UpdateHistoryEntry:
    return UpdateHistoryEntry(datetime.fromisoformat(on).replace(tzinfo=UTC), title, kb, 1, result)


def test_failed_installation_before_a_successful_one_does_not_hide_it() -> None:
    updates = c12g_windows.installed_cumulative_updates(
        (
            history(LCU.format("2026-10"), "2026-10-15T02:00:00", kb="KB5066782", result=4),
            history(LCU.format("2026-11"), "2026-11-12T02:00:00", kb="KB5068787"),
        )
    )
    assert [u.release for u in updates] == ["2026-11"]


def test_cumulative_updates_without_a_kb_are_told_apart_by_title() -> None:
    updates = c12g_windows.installed_cumulative_updates(
        (
            history(LCU.format("2026-11"), "2026-11-12T02:00:00", kb=None),
            history(LCU.format("2026-10"), "2026-11-13T02:00:00", kb=None),
        )
    )
    assert [u.release for u in updates] == ["2026-11", "2026-10"]


@pytest.mark.parametrize("severity", ["Critical", "critical", "CRITICAL"])
def test_pending_update_rated_critical_is_urgent_whatever_its_categories(severity: str) -> None:
    update = PendingUpdate("Update for Windows (KB5001716)", ("KB5001716",), severity, ("Updates",), None)
    assert c12g_windows.pending_is_urgent(update)


def test_pending_update_without_severity_or_urgent_category_is_not_urgent() -> None:
    update = PendingUpdate("Update for Windows (KB5001716)", ("KB5001716",), None, ("Updates",), None)
    assert not c12g_windows.pending_is_urgent(update)


# --- 12g.azure-update-manager: the summary's counts against the records -------------------------


def assessment(
    critical_count: int | None, security_count: int | None, *patches: AvailablePatch
) -> PatchAssessment:
    return PatchAssessment(
        "/subscriptions/0000/providers/Microsoft.Compute/virtualMachines/vm-web-01",
        "vm-web-01",
        "Windows",
        "AutomaticByPlatform",
        "AutomaticByPlatform",
        assessed=True,
        status="Succeeded",
        last_modified=datetime(2026, 11, 28, tzinfo=UTC),
        critical_count=critical_count,
        security_count=security_count,
        patches=patches,
    )


def update_manager_verdict(fact: PatchAssessment) -> Verdict:
    return verdict(
        c12g_azure.test_vm_is_assessed_and_has_no_overdue_security_patches,
        fact,
        policy=Policy(),
        run_date=RUN_DATE,
    )


@pytest.mark.parametrize(("critical_count", "security_count"), [(0, None), (None, 0)])
def test_summary_missing_either_count_is_an_error(
    critical_count: int | None, security_count: int | None
) -> None:
    result = update_manager_verdict(assessment(critical_count, security_count))
    assert result.status == "error"
    assert "does not report how many Critical and Security patches it found" in result.message


def test_summary_counting_two_critical_patches_with_one_record_is_an_error() -> None:
    """Each record counts once: two counted patches are not shown complete by one record."""
    record = AvailablePatch("KB5071030", "5071030", None, ("Critical",), datetime(2026, 11, 25, tzinfo=UTC))
    fact = assessment(2, 0, record)
    assert c12g_azure.records_classified(fact, "critical") == 1
    result = update_manager_verdict(fact)
    assert result.status == "error"
    assert "2 Critical patches but only 1 Critical record" in result.message


# --- the catalog the reports render ----------------------------------------------------------------


def test_catalog_entry_carries_its_control_and_clause_texts() -> None:
    entries = catalog_entries()
    assert entries.keys() == CONTROLS.keys()
    spec = CONTROLS["12a.datacenter-certification"]
    assert entries[spec.id] == CatalogEntry(
        id="12a.datacenter-certification",
        clause="12a",
        title=spec.title,
        severity="medium",
        iso27001=("A.5.23", "A.7.1", "A.7.4"),
        pass_condition=spec.pass_condition,
        clause_text_nl=CLAUSES["12a"].text_nl,
        clause_text_en=CLAUSES["12a"].text_en,
    )
    assert entries[spec.id].title.startswith("Datacenters hold a current")
    assert "ISO:27001:2013" in entries[spec.id].clause_text_nl
    assert "ISO 27001 certified" in entries[spec.id].clause_text_en


# --- 12c.host-admins: a bare authorised name covers the host's own local account only ----------------


@pytest.mark.parametrize(
    ("member", "authorised"),
    [("WEB01\\alice", True), (".\\alice", True), ("WEB01.CORP\\alice", False), ("CORP\\alice", False)],
)
def test_local_account_is_named_by_the_host_name_up_to_its_first_dot(member: str, authorised: bool) -> None:
    assert admin_is_authorised(member, "web01.corp.example", frozenset({"alice"})) is authorised
