"""ARM answering 200 with an unexpected shape never ends the run: exactly the affected items are `error`.

Issue 12, case 2.1: `{"value": "garbage"}` for the SQL servers list ended in INTERNALERROR
AttributeError (exit 3, nothing written), live and on replay. Every Azure collector now reads
through one helper (`collectors.azure.reading`, used by `AzureCollector.read`, `parsed` and
`each`) that turns any failure to read or parse an answer into `error` subjects naming the call.
The collectors run in-process against the HTTPS ARM emulator (real SDK clients) serving garbage,
and `pytest controls/` runs as a user would, live and replaying a mutated recording.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from collectors.azure import fields
from collectors.azure.arm import ArmReader, MalformedAnswer, StaticTokenCredential, list_page_problem
from collectors.azure.authorization import RoleAssignmentCollector
from collectors.azure.base import AzureCollector, AzureContext
from collectors.azure.compute import ComputeCollector
from collectors.azure.facts import (
    AZURE_RESOURCES,
    NSGS,
    PATCH_ASSESSMENTS,
    ROLE_ASSIGNMENTS,
    SECURITY_CONTACTS,
    SQL_AUDITING,
    SQL_DATABASES,
    SQL_ENTRA_ADMINS,
    SQL_FIREWALLS,
    SQL_SERVERS,
    STORAGE_ACCOUNTS,
    VMS,
    WEB_APPS,
    RoleAssignment,
    SqlServerFirewall,
)
from collectors.azure.network import NetworkCollector
from collectors.azure.reading import Unreadable, parse, parse_items, read
from collectors.azure.security_contacts import SecurityContactCollector
from collectors.azure.sql import SqlCollector
from collectors.azure.sql_governance import SqlGovernanceCollector
from collectors.azure.storage import StorageCollector
from collectors.azure.subscriptions import AzureSubscription
from collectors.azure.web import WebAppCollector
from collectors.config.inventory import AzureSource
from collectors.facts import FactStore
from collectors.messages import english_text
from demo.standins.arm_emulator import ArmEmulator, Fault, load_estate
from tests.audit_runs import DEMO, POLICY, ROOT, SUB_DEV, SUB_PROD, azure_section, run_audit

TENANT = "33333333-3333-4333-8333-333333333333"
SUBSCRIPTIONS = [
    AzureSubscription(SUB_PROD, "Lucrasoft Production", "Enabled", TENANT),
    AzureSubscription(SUB_DEV, "Lucrasoft Development", "Enabled", TENANT),
]
COLLECTORS: tuple[type[AzureCollector], ...] = (
    SqlCollector,
    SqlGovernanceCollector,
    RoleAssignmentCollector,
    SecurityContactCollector,
    WebAppCollector,
    StorageCollector,
    NetworkCollector,
    ComputeCollector,
)
PROD = f"/subscriptions/{SUB_PROD}"
DEV = f"/subscriptions/{SUB_DEV}"
PROD_WEU = f"{PROD}/resourceGroups/rg-web/providers/Microsoft.Sql/servers/sql-prod-weu"
EMMA_APP = f"{PROD}/resourceGroups/rg-web/providers/Microsoft.Web/sites/app-emma-weu"
NSG_TEST = f"{DEV}/resourceGroups/rg-test/providers/Microsoft.Network/networkSecurityGroups/nsg-test"
NSG_LEGACY = f"{DEV}/resourceGroups/rg-legacy/providers/Microsoft.Network/networkSecurityGroups/nsg-legacy"


# --- the typed field readers --------------------------------------------------------------------------


def test_a_boolean_field_holding_text_is_unreadable_never_truthy() -> None:
    with pytest.raises(fields.FieldUnreadable, match=r"httpsOnly is text 'false', not a boolean"):
        fields.flag({"properties": {"httpsOnly": "false"}}, "https_only", "httpsOnly")
    assert fields.flag({"properties": {"httpsOnly": False}}, "https_only", "httpsOnly") is False
    assert fields.flag({"properties": {}}, "https_only", "httpsOnly") is None


@pytest.mark.parametrize("value", [["1.2"], {"v": "1.2"}, 1.2, True])
def test_a_text_field_of_another_type_is_unreadable(value: Any) -> None:
    with pytest.raises(fields.FieldUnreadable, match="minimalTlsVersion is"):
        fields.text({"properties": {"minimalTlsVersion": value}}, "minimal_tls_version", "minimalTlsVersion")


def test_the_sdk_reading_the_text_false_as_true_is_not_trusted() -> None:
    from azure.mgmt.web.models import Site

    site = Site({"id": "/x", "properties": {"httpsOnly": "false"}})
    assert site.properties is not None
    assert site.properties.https_only is True, "the SDK's own conversion: why fields reads the JSON"
    with pytest.raises(fields.FieldUnreadable, match="httpsOnly is text 'false'"):
        fields.flag(site, "https_only", "httpsOnly")


def test_properties_that_are_not_an_object_are_unreadable() -> None:
    with pytest.raises(fields.FieldUnreadable, match="properties is text 'x', not an object"):
        fields.text({"properties": "x"}, "state", "state")


def test_a_list_holding_a_non_object_is_unreadable() -> None:
    with pytest.raises(fields.FieldUnreadable, match=r"ipRules\[1\] is text"):
        fields.items({"ipRules": [{"value": "192.0.2.1"}, "x"]}, "ip_rules", "ipRules", nested=False)


def test_a_whole_number_field_holding_a_boolean_or_text_is_unreadable() -> None:
    for bad in (True, "90"):
        with pytest.raises(fields.FieldUnreadable, match="retentionDays"):
            fields.integer({"properties": {"retentionDays": bad}}, "retention_days", "retentionDays")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"value": "garbage"}', "value is str, not a list"),
        (b"{}", "the list answer has no value"),
        (b'["a"]', "the answer is list, not a list envelope object"),
        (b'{"value": [], "nextLink": 5}', "nextLink is int, not a URL"),
        (b'{"value": [], "nextLink": null}', None),
        (b'{"value": ["anything: items are the parser\'s business"]}', None),
    ],
)
def test_list_pages_must_be_value_envelopes(body: bytes, problem: str | None) -> None:
    found = list_page_problem(body)
    assert (None if found is None else english_text(found)) == problem


def test_the_helper_names_the_call_of_a_malformed_answer() -> None:
    def fetch() -> Any:
        raise MalformedAnswer(
            "GET /subscriptions/x/providers/Microsoft.Sql/servers", "value is str, not a list"
        )

    outcome = read("Microsoft.Sql/servers of subscription x could not be listed", fetch)
    assert isinstance(outcome, Unreadable)
    assert english_text(outcome.reason) == (
        "Microsoft.Sql/servers of subscription x could not be listed: malformed answer: value is str, "
        "not a list (GET /subscriptions/x/providers/Microsoft.Sql/servers)"
    )


@pytest.mark.parametrize("failure", [TypeError("t"), AttributeError("a"), ValueError("v"), KeyError("k")])
def test_the_helper_turns_every_parser_failure_into_unreadable(failure: Exception) -> None:
    from collectors.azure.arm import Fetched

    def parser(value: Any) -> Any:
        raise failure

    outcome = parse("the thing could not be read", Fetched({}, ()), parser)
    assert isinstance(outcome, Unreadable)
    assert type(failure).__name__ in english_text(outcome.reason)


def test_one_unparseable_list_item_spoils_only_itself() -> None:
    from collectors.azure.arm import Fetched

    items = [{"id": "/a", "n": 1}, "garbage", {"id": "/c", "n": "x"}, {"id": "/d", "n": 4}]
    parsed = parse_items(
        "an item could not be read", Fetched(items, ()), lambda item: int(item["n"]), "/list"
    )
    assert [subject for subject, _ in parsed] == ["/a", "/list[1]", "/c", "/d"]
    assert [outcome for _, outcome in parsed if not isinstance(outcome, Unreadable)] == [1, 4]


# --- the collectors against the emulator -----------------------------------------------------------------


def collect(faults: Sequence[Fault] = ()) -> FactStore:
    """Run every Azure collector on the demo estate, with `faults` armed."""
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2, faults=faults) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        store = FactStore()
        context = AzureContext(arm=arm, store=store, progress=lambda line: None)
        try:
            for collector in COLLECTORS:
                collector(context).collect(list(SUBSCRIPTIONS))
        finally:
            arm.close()
    return store


@pytest.fixture(scope="module")
def baseline() -> dict[tuple[str, str], Any]:
    """Every (population, subject id) of the demo estate read without faults, with its fact or error."""
    return snapshot(collect())


def snapshot(store: FactStore) -> dict[tuple[str, str], Any]:
    """Return every subject's fact, or ("error", why) (a firewall whose rules are unknown counts as one)."""
    found: dict[tuple[str, str], Any] = {}
    for name in store.names():
        for subject in store.population(name).subjects:
            fact = subject.fact
            if subject.error is not None:
                found[(name, subject.id)] = ("error", english_text(subject.error))
            elif isinstance(fact, SqlServerFirewall) and fact.rules is None:
                found[(name, subject.id)] = ("error", english_text(fact.rules_error or ""))
            elif isinstance(fact, RoleAssignment) and fact.role_name is None:  # judged `error`
                found[(name, subject.id)] = ("error", english_text(fact.role_problem or ""))
            else:
                found[(name, subject.id)] = fact
    return found


GARBAGE_CASES = {
    "sql-servers-value-is-text": (
        Fault(rf"^{PROD}/providers/Microsoft.Sql/servers$", status=200, body={"value": "garbage"}),
        [(SQL_SERVERS, f"{PROD}/providers/Microsoft.Sql/servers")],
        f"GET {PROD}/providers/Microsoft.Sql/servers",
    ),
    "sql-servers-item-is-text": (
        Fault(rf"^{DEV}/providers/Microsoft.Sql/servers$", status=200, body={"value": ["garbage"]}),
        [(SQL_SERVERS, f"{DEV}/providers/Microsoft.Sql/servers[0]")],
        f"GET {DEV}/providers/Microsoft.Sql/servers",
    ),
    "sql-servers-without-value": (
        Fault(rf"^{PROD}/providers/Microsoft.Sql/servers$", status=200, body={}),
        [(SQL_FIREWALLS, f"{PROD}/providers/Microsoft.Sql/servers")],
        "the list answer has no value",
    ),
    "error-envelope-fields-are-numbers": (
        Fault(r"/servers/sql-prod-weu/databases$", status=403, body={"error": {"code": 5, "message": 7}}),
        [(SQL_DATABASES, f"{PROD_WEU}/databases")],
        "HTTP 403 5: 7",
    ),
    "tde-answer-is-text": (
        Fault(r"/databases/emma/transparentDataEncryption/current$", status=200, body="garbage"),
        [(SQL_DATABASES, f"{PROD_WEU}/databases/emma")],
        "/databases/emma/transparentDataEncryption/current",
    ),
    "firewall-rule-is-a-number": (
        Fault(r"/servers/sql-prod-weu/firewallRules$", status=200, body={"value": [7]}),
        [(SQL_FIREWALLS, PROD_WEU)],
        "firewall rule 0 is a number",
    ),
    "auditing-retention-is-text": (
        Fault(
            r"/servers/sql-prod-weu/auditingSettings/default$",
            status=200,
            body={"properties": {"state": "Enabled", "retentionDays": "ninety"}},
        ),
        [(SQL_AUDITING, PROD_WEU)],
        "retentionDays is text 'ninety', not a whole number",
    ),
    "entra-admins-value-is-an-object": (
        Fault(r"/servers/sql-prod-weu/administrators$", status=200, body={"value": {"login": "x"}}),
        [(SQL_ENTRA_ADMINS, PROD_WEU)],
        "DeserializationError",
    ),
    "role-definitions-msrest-deserialization-error": (
        Fault(
            rf"^{PROD}/providers/Microsoft.Authorization/roleDefinitions$", status=200, body={"value": [1]}
        ),
        [],
        "DeserializationError",
    ),
    "role-assignments-item-without-id": (
        Fault(
            rf"^{DEV}/providers/Microsoft.Authorization/roleAssignments$",
            status=200,
            body={"value": [{"properties": {"principalId": "x"}}]},
        ),
        [(ROLE_ASSIGNMENTS, f"{DEV}/providers/Microsoft.Authorization/roleAssignments[0]")],
        "the role assignment has no id",
    ),
    "security-contacts-item-is-a-number": (
        Fault(r"/providers/Microsoft.Security/securityContacts$", status=200, body={"value": [5]}),
        [(SECURITY_CONTACTS, PROD), (SECURITY_CONTACTS, DEV)],
        "DeserializationError",
    ),
    "web-config-is-a-list": (
        Fault(r"/sites/app-emma-weu/config/web$", status=200, body=[1, 2]),
        [(WEB_APPS, EMMA_APP)],
        "config/web is a list, not an object",
    ),
    "web-https-only-is-text": (
        Fault(
            rf"^{PROD}/providers/Microsoft.Web/sites$",
            status=200,
            body={"value": [{"id": EMMA_APP, "name": "app-emma-weu", "properties": {"httpsOnly": "false"}}]},
        ),
        [(WEB_APPS, EMMA_APP)],
        "httpsOnly is text 'false', not a boolean",
    ),
    "storage-list-is-an-array": (
        Fault(rf"^{DEV}/providers/Microsoft.Storage/storageAccounts$", status=200, body=["x"]),
        [(STORAGE_ACCOUNTS, f"{DEV}/providers/Microsoft.Storage/storageAccounts")],
        "malformed answer",
    ),
    "nsg-item-is-null": (
        Fault(
            rf"^{DEV}/providers/Microsoft.Network/networkSecurityGroups$", status=200, body={"value": [None]}
        ),
        [(NSGS, f"{DEV}/providers/Microsoft.Network/networkSecurityGroups[0]")],
        "the answer is NoneType",
    ),
    "vm-disk-profile-is-text": (
        Fault(
            rf"^{PROD}/providers/Microsoft.Compute/virtualMachines$",
            status=200,
            body={
                "value": [
                    {
                        "id": f"{PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01",
                        "location": "westeurope",
                        "properties": {"storageProfile": {"osDisk": "x", "dataDisks": []}},
                    }
                ]
            },
        ),
        [
            (VMS, f"{PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01"),
            (
                PATCH_ASSESSMENTS,
                f"{PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01",
            ),
        ],
        "storageProfile.osDisk is text 'x', not an object",
    ),
    "resource-graph-data-is-text": (
        Fault(
            r"^/providers/Microsoft.ResourceGraph/resources$",
            status=200,
            body={"data": "garbage", "count": 1, "totalRecords": 1},
        ),
        [],
        "data is str, not a list of rows",
    ),
}


@pytest.mark.parametrize("case", list(GARBAGE_CASES))
def test_unexpected_answer_makes_exactly_the_affected_subjects_errors(
    case: str, baseline: dict[tuple[str, str], Any]
) -> None:
    fault, expected_errors, named = GARBAGE_CASES[case]
    store = collect([fault])  # must not raise
    after = snapshot(store)
    changed = {key for key in set(baseline) | set(after) if baseline.get(key) != after.get(key)}
    assert changed, "the fault must change something"
    for key in changed:
        if key in after:
            value = after[key]
            assert isinstance(value, tuple), f"{key} changed to a fact: {value}"
            assert value[0] == "error", f"{key} changed to a fact: {value}"
    for key in expected_errors:
        assert key in after, key
        assert after[key][0] == "error", key
    messages = " | ".join(value[1] for key, value in after.items() if key in changed and key in after)
    assert named in messages
    # Items of other subscriptions or resources keep their facts.
    untouched = [key for key in baseline if key not in changed]
    assert untouched
    assert all(after[key] == baseline[key] for key in untouched)


def test_a_list_answer_of_text_is_one_error_not_an_item_per_character() -> None:
    store = collect([GARBAGE_CASES["sql-servers-value-is-text"][0]])
    servers = [s for s in store.population(SQL_SERVERS).subjects if s.id.startswith(PROD)]
    assert [s.id for s in servers] == [f"{PROD}/providers/Microsoft.Sql/servers"]
    assert AZURE_RESOURCES in store.names()


def test_role_definitions_the_sdk_cannot_deserialise_leave_that_subscriptions_roles_unknown() -> None:
    store = collect([GARBAGE_CASES["role-definitions-msrest-deserialization-error"][0]])
    prod = [s.fact for s in store.population(ROLE_ASSIGNMENTS).subjects if s.id.startswith(PROD)]
    assert prod
    for fact in prod:
        assert isinstance(fact, RoleAssignment)
        assert fact.role_name is None
        assert "role definitions could not be listed: malformed answer" in english_text(
            fact.role_problem or ""
        )
        assert f"GET {PROD}/providers/Microsoft.Authorization/roleDefinitions" in english_text(
            fact.role_problem or ""
        )


def test_a_subscription_entry_that_cannot_be_read_is_reported_not_dropped() -> None:
    from collectors.azure.subscriptions import subscriptions_in_scope

    estate = load_estate(DEMO / "estate")
    listed = [
        {
            "id": s["id"],
            "subscriptionId": s["subscriptionId"],
            "displayName": s["displayName"],
            "state": "Enabled",
        }
        for s in estate["subscriptions"]
    ]
    fault = Fault(r"^/subscriptions$", status=200, body={"value": [*listed, {"displayName": "no id"}]})
    with ArmEmulator(estate, faults=[fault]) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        try:
            scope = subscriptions_in_scope(arm, [])
        finally:
            arm.close()
    assert sorted(s.id for s in scope.subscriptions) == [SUB_PROD, SUB_DEV]
    [problem] = map(english_text, scope.unreadable)
    assert (
        "subscription 2 of the subscription list could not be read: the subscription has no subscriptionId"
        in problem
    )
    assert "(GET /subscriptions)" in problem


def scope_of(fault: Fault) -> Any:
    from collectors.azure.subscriptions import subscriptions_in_scope

    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        source = AzureSource(endpoint=emulator.url, credential="static-token", retry_backoff_seconds=0.01)
        arm = ArmReader(source, StaticTokenCredential("t"), ca_bundle=str(emulator.ca_file))
        try:
            return subscriptions_in_scope(arm, [])
        finally:
            arm.close()


def test_a_subscription_list_the_sdk_cannot_read_is_reported_not_a_stopped_run() -> None:
    scope = scope_of(Fault(r"^/subscriptions$", status=200, body={"value": {"a": 1}}))
    assert scope.subscriptions == []
    [problem] = map(english_text, scope.unreadable)
    assert "the subscriptions the credential can see could not be listed: malformed answer" in problem
    assert "(GET /subscriptions)" in problem


def test_a_subscription_in_an_unknown_state_is_audited_not_dropped() -> None:
    listed = {"subscriptionId": SUB_PROD, "displayName": "Lucrasoft Production", "state": "Frobnicated"}
    gone = {"subscriptionId": SUB_DEV, "displayName": "Lucrasoft Development", "state": "Disabled"}
    scope = scope_of(Fault(r"^/subscriptions$", status=200, body={"value": [listed, gone]}))
    assert [s.id for s in scope.subscriptions] == [SUB_PROD]


# --- pytest controls/ end to end -------------------------------------------------------------------------


def results(run: Any) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["control"], r["resource"]): (r["status"], r["message"]) for r in run.bundle["results"]}


@pytest.fixture(scope="module")
def live_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[str, str]]:
    """The verdicts of a live run of the demo estate without faults."""
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2) as emulator:
        run = run_audit(tmp_path_factory.mktemp("baseline"), POLICY + azure_section(emulator))
    assert run.returncode == 1, run.stdout + run.stderr
    return results(run)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("case", "control", "resource"),
    [
        ("sql-servers-value-is-text", "12b.azure-sql-firewall", f"{PROD}/providers/Microsoft.Sql/servers"),
        (
            "nsg-item-is-null",
            "12b.azure-nsg-admin-ports",
            f"{DEV}/providers/Microsoft.Network/networkSecurityGroups[0]",
        ),
        ("security-contacts-item-is-a-number", "13.azure-security-contacts", DEV),
    ],
)
def test_live_run_with_an_unexpected_answer_errors_only_its_items(
    tmp_path: Path,
    live_baseline: dict[tuple[str, str], tuple[str, str]],
    case: str,
    control: str,
    resource: str,
) -> None:
    fault, _, named = GARBAGE_CASES[case]
    with ArmEmulator(load_estate(DEMO / "estate"), page_size=2, faults=[fault]) as emulator:
        run = run_audit(tmp_path, POLICY + azure_section(emulator))
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    after = results(run)
    status, message = after[(control, resource)]
    assert status == "error"
    assert named in message
    for key, (before_status, _) in live_baseline.items():
        if key in after and after[key][0] != before_status:
            assert after[key][0] == "error", f"{key}: {before_status} -> {after[key][0]}"


SQL_SERVERS_LIST = f"{PROD}/providers/microsoft.sql/servers?"


@pytest.mark.integration
def test_unreadable_subscription_list_makes_the_azure_items_errors_and_the_run_completes(
    tmp_path: Path,
) -> None:
    fault = Fault(r"^/subscriptions$", status=200, body={"value": {"a": 1}})
    with ArmEmulator(load_estate(DEMO / "estate"), faults=[fault]) as emulator:
        run = run_audit(tmp_path, POLICY + azure_section(emulator), "-k", "azure or region")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "Traceback" not in output
    azure = [r for r in run.bundle["results"] if r["control"].split(".", 1)[1].startswith("azure")]
    assert azure
    assert {r["status"] for r in azure} == {"error"}
    assert all("could not be listed: malformed answer" in r["message"] for r in azure)


@pytest.mark.integration
def test_replay_of_a_recording_with_an_unexpected_answer_errors_only_its_items(tmp_path: Path) -> None:
    """The demo recording with the production SQL servers list mutated to {"value": "garbage"}."""
    recording = json.loads((ROOT / "demo" / "recording.json").read_text(encoding="utf-8"))
    mutated = 0
    for exchange in recording["exchanges"]:
        url = exchange["url"].lower()
        if SQL_SERVERS_LIST in url and "skiptoken" not in url and exchange["status"] == 200:  # its first page
            exchange["body"] = json.dumps({"value": "garbage"})
            mutated += 1
    assert mutated == 1
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(recording), encoding="utf-8")
    runs = {}
    for name, replayed in (("original", ROOT / "demo" / "recording.json"), ("mutated", path)):
        runs[name] = run_audit(
            tmp_path / name,
            (ROOT / "demo" / "audit.toml").read_text(encoding="utf-8"),
            "--replay",
            str(replayed),
            "-k",
            "azure or region",
        )
    mutated_run = runs["mutated"]
    output = mutated_run.stdout + mutated_run.stderr
    assert mutated_run.returncode == 1, output
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    before, after = results(runs["original"]), results(mutated_run)
    status, message = after[("12b.azure-sql-firewall", f"{PROD}/providers/Microsoft.Sql/servers")]
    assert status == "error"
    assert f"value is str, not a list (GET {PROD}/providers/Microsoft.Sql/servers)" in message
    for key, (was, _) in before.items():
        if key[1].startswith(f"{PROD}/resourceGroups/") and "/Microsoft.Sql/servers/" in key[1]:
            assert key not in after, f"{key} must be replaced by the list's error"
        elif key[0] == "11.terminated-data-removed" and key[1].startswith("azure-"):
            # its long-term backups are matched to a server of that list: unknown now, never "none left"
            assert after[key][0] == "error", f"{key}: {after[key]}"
        elif key in after:
            assert after[key][0] == was, f"{key}: {was} -> {after[key][0]} (not affected by the mutation)"
