"""The guard of issue 12 part 5: mutated recordings never crash the run and never turn a fail into a pass.

A bounded, seeded sample of the demo recording's mutants (every part: ARM exchanges, host
outputs, database rows, TLS scans, probes) and of a recording this test makes against the
ARM emulator, each replayed in-process through the real parsers and controls
(bench/mutation_replay/). `python -m bench.mutation_replay` runs every mutant.

Until the fixes of issue 12 have all landed, the sample test fails and lists what it found:
part, target, field path, mutation, and the item that flipped (or the crash and where).

The sample is drawn from the plain enumeration, not from hypothesis: on the code before the
issue-12 fixes, with 500 mutants each (100 per part), the enumeration found 52 and 49 distinct
holes (seeds 12 and 7), hypothesis's arbitrary JSON values 43 and 46; its random values keep
hitting the same few crash sites (`python -m bench.mutation_replay --compare 500`).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bench.mutation_replay.evaluator import Auditor, control_functions
from bench.mutation_replay.mutants import (
    Mutant,
    apply,
    linux_output,
    mutants,
    windows_envelope,
)
from bench.mutation_replay.replay import (
    DEMO_CONFIG,
    DEMO_RECORDING,
    Pin,
    Replay,
    Tally,
    demo_replay,
    pinned,
    report,
    sample,
    secure_default,
)
from collectors.hosts.commands import CommandResult
from collectors.hosts.linux.parse import parse_linux
from controls.catalog import CONTROLS
from controls.harness.config_file import load_config
from demo.standins.arm_emulator import ArmEmulator
from tests.audit_runs import POLICY, azure_section, run_audit, run_demo

SEED = 12
DEMO_SAMPLE = {"exchanges": 100, "hosts": 160, "databases": 120, "tls": 60, "probes": 80}
"""Mutants per part of the CI sample (about a minute on a 2-core machine); the bench runs them all."""
RECORDED_SAMPLE = {"exchanges": 60}
PINS = (
    Pin(
        "exchanges",
        "Microsoft.Network/networkSecurityGroups",
        "value[].properties.securityRules[].properties.direction",
        "deleted",
        "issue 12 case 1.3: nsg-legacy passed with its failing rule's direction missing",
    ),
    Pin(
        "exchanges",
        "Microsoft.Network/networkSecurityGroups",
        "value[].properties.securityRules[].properties.destinationPortRange",
        "deleted",
        "issue 12 case 1.3",
    ),
    Pin(
        "exchanges",
        "Microsoft.Network/networkSecurityGroups",
        "value[].properties.securityRules[].properties.sourceAddressPrefix",
        "deleted",
        "issue 12 case 1.3",
    ),
    Pin(
        "exchanges",
        "Microsoft.ResourceGraph/resources",
        "data[]",
        "empty object",
        "mutation replay: an emptied patch-assessment row passed 12g.azure-update-manager",
    ),
    Pin(
        "exchanges",
        "Microsoft.Sql/servers/databases",
        "error.message",
        "wrong type (number)",
        "mutation replay: an ARM error body whose message is not text crashed collection (arm.py)",
    ),
    Pin(
        "hosts",
        "linux/nft",
        "section.nft.nftables[].chain.hook",
        "null",
        "mutation replay: lnx02's input chain without a hook passed 12b.host-port-scope",
    ),
    Pin(
        "hosts",
        "linux/nft",
        "section.nft.nftables[].chain.type",
        "unknown value",
        "mutation replay: lnx02's input chain of an unknown type passed 12b.host-port-scope",
    ),
    Pin(
        "hosts",
        "linux/nft",
        "section.nft",
        "section deleted",
        "mutation replay: lnx02 without its nft section passed 12b.host-port-scope",
    ),
    Pin(
        "databases",
        "postgresql/connect_privileges",
        "rows.connect_privileges[].rolname",
        "unknown value",
        "mutation replay: a CONNECT row of an unknown role passed 12d.app-login-scope",
    ),
    Pin(
        "databases",
        "ravendb/certificates",
        "rows.certificates[].SecurityClearance",
        "deleted",
        "mutation replay: a ClusterAdmin certificate without its clearance passed 12d",
    ),
    Pin(
        "databases",
        "sqlserver/connections",
        "rows.connections[].connections",
        "null",
        "mutation replay: unencrypted connections without a count passed 12f.sqlserver-encrypted-connections",
    ),
    Pin(
        "databases",
        "postgresql/password_columns",
        "rows.password_columns[].formats.unrecognised",
        "deleted",
        "mutation replay: a format count missing from the sum passed 6b.hashed-passwords",
    ),
)
"""Mutants that found holes (issue 12, and the bench since): replayed on every CI run, whatever the sample."""
FINDINGS_SHOWN = 40


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """The demo's unmutated audit, ready to replay mutants."""
    return demo_replay(tmp_path_factory.mktemp("mutation-replay"))


def demo_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEMO_RECORDING.read_text(encoding="utf-8"))
    return document


# --- the evaluator is the CLI ----------------------------------------------------------------------


def test_in_process_evaluator_gives_the_cli_statuses_on_the_demo(tmp_path: Path, replay: Replay) -> None:
    completed = run_demo(tmp_path / "evidence")
    bundle = json.loads((tmp_path / "evidence" / "evidence.json").read_text(encoding="utf-8"))
    cli = sorted((r["control"], r["resource"], r["status"]) for r in bundle["results"])
    mine = sorted((i.control, i.resource, i.status) for i in replay.baseline.items)
    assert mine == cli, completed.stdout[-2000:]


def test_every_control_of_the_catalog_is_evaluated() -> None:
    assert {c.control_id for c in control_functions()} == set(CONTROLS)


def test_partial_recollection_gives_the_same_items_as_a_full_one(replay: Replay) -> None:
    """Re-collecting only the mutated part is exact: a full collect_estate agrees, part by part."""
    assert replay.auditor.rerun_for("hosts") == {"collect_hosts"}
    assert {"collect_azure", "collect_tls"} <= replay.auditor.rerun_for("exchanges"), (
        "TLS reads Azure's endpoints"
    )
    chosen = sample(
        replay.mutants(), dict.fromkeys(("exchanges", "hosts", "databases", "tls", "probes"), 3), SEED
    )
    config = load_config(DEMO_CONFIG, known_controls=frozenset(CONTROLS))
    full = Auditor(config, replay.run_date)
    for mutant in chosen:
        path = replay.scratch / "mutant.json"
        path.write_text(json.dumps(apply(replay.document, mutant)), encoding="utf-8")
        partial = replay.auditor.audit_file(path, changed_part=mutant.part)
        whole = full.audit_file(path)
        assert (partial.crash, partial.refused) == (whole.crash, whole.refused), mutant.describe()
        assert [(i.control, i.resource, i.verdict) for i in partial.items] == [
            (i.control, i.resource, i.verdict) for i in whole.items
        ], mutant.describe()


# --- the mutators change only what they say --------------------------------------------------------


def test_linux_output_renders_back_to_the_same_facts(replay: Replay) -> None:
    document = demo_document()
    config = load_config(DEMO_CONFIG, known_controls=frozenset(CONTROLS))
    for host in document["hosts"]:
        if host["os"] != "linux":
            continue
        stdout = base64.b64decode(host["stdout_base64"])
        output = linux_output(stdout)
        assert output is not None
        entry = next(h for h in config.hosts if h.name == host["host"])
        original = parse_linux(CommandResult(0, stdout, b""), entry)
        rendered = parse_linux(CommandResult(0, output.render(), b""), entry)
        assert rendered == original


def test_windows_envelope_is_mutated_inside_and_nowhere_else() -> None:
    document = demo_document()
    host = next(h for h in document["hosts"] if h["os"] == "windows")
    mutant = Mutant("hosts", "windows/os", host["host"], ("data", "os", "product_name"), "null", True)
    mutated = apply(document, mutant)
    changed = next(h for h in mutated["hosts"] if h["host"] == host["host"])
    before = windows_envelope(base64.b64decode(host["stdout_base64"]))
    after = windows_envelope(base64.b64decode(changed["stdout_base64"]))
    assert before is not None
    assert after is not None
    assert after["data"]["os"]["product_name"] is None
    after["data"]["os"]["product_name"] = before["data"]["os"]["product_name"]
    assert after == before


def test_every_part_has_mutants_and_the_recording_is_left_unchanged() -> None:
    document = demo_document()
    snapshot = json.dumps(document, sort_keys=True)
    found = mutants(document)
    assert {m.part for m in found} == {"exchanges", "hosts", "databases", "tls", "probes"}
    for mutant in found[:: max(1, len(found) // 200)]:
        apply(document, mutant)
    assert json.dumps(document, sort_keys=True) == snapshot


# --- the guard -------------------------------------------------------------------------------------


def guard(replay: Replay, chosen: list[Mutant]) -> Tally:
    tally = Tally()
    for mutant in chosen:
        tally.add(replay.run(mutant))
    return tally


def assert_guarded(tally: Tally, what: str) -> None:
    found = tally.guard_findings()
    assert not found, (
        f"{what}: {len(found)} finding(s) in {sum(tally.tried.values())} mutants "
        f"(crash: an exception escaped collection; flip: a malformed observation turned fail/error into "
        f"pass). Grouped by field pattern, most frequent first:\n{report(found, cap=FINDINGS_SHOWN)}\n\n"
        f"{tally.table(by_group=False)}"
    )


def test_demo_recording_mutants_never_crash_and_never_turn_a_fail_into_a_pass(replay: Replay) -> None:
    started = time.monotonic()
    tally = guard(replay, sample(replay.mutants(), DEMO_SAMPLE, SEED))
    assert {part for part, _group in tally.tried} == set(DEMO_SAMPLE), "every part of the demo is mutated"
    assert_guarded(tally, f"demo recording, seed {SEED}, {time.monotonic() - started:.0f} s")


def test_mutants_that_found_holes_before_never_crash_and_never_turn_a_fail_into_a_pass(
    replay: Replay,
) -> None:
    chosen, stale = pinned(replay.mutants(), PINS)
    assert not stale, f"pins that match no mutant of the demo recording (re-recorded?): {stale}"
    assert_guarded(guard(replay, chosen), f"{len(PINS)} pinned patterns")


@pytest.fixture
def recorded_by_this_test(tmp_path: Path, emulator: ArmEmulator) -> Replay:
    """A recording made here: the demo estate read live from the ARM emulator (paged by two)."""
    recording = tmp_path / "recording.json"
    config_text = POLICY + azure_section(emulator)
    run = run_audit(tmp_path / "live", config_text, "--record", str(recording))
    assert recording.is_file(), run.stdout[-2000:]
    config_path = tmp_path / "live" / "audit.toml"
    config = load_config(config_path, known_controls=frozenset(CONTROLS))
    return Replay(config, recording, scratch=tmp_path)


def test_mutants_of_a_recording_made_by_the_tests_never_crash_or_flip(recorded_by_this_test: Replay) -> None:
    replay = recorded_by_this_test
    tally = guard(replay, sample(replay.mutants(), RECORDED_SAMPLE, SEED))
    assert_guarded(tally, f"recording made against the ARM emulator, seed {SEED}")


def test_only_the_documented_secure_defaults_excuse_a_flip() -> None:
    """The exemptions are the Azure side's list (collectors.azure.secure_defaults), consulted, not copied."""
    body = {
        "value": [
            {
                "type": "Microsoft.Storage/storageAccounts",
                "properties": {"minimumTlsVersion": "TLS1_2", "networkAcls": {"ipv6Rules": []}},
            }
        ]
    }
    exchange = {
        "url": "https://arm/subscriptions/s/providers/Microsoft.Storage/storageAccounts?api-version=2026-09-01",
        "body": json.dumps(body),
    }
    group = "Microsoft.Storage/storageAccounts@2026-09-01"
    ipv6 = ("value", 0, "properties", "networkAcls", "ipv6Rules")
    tls = ("value", 0, "properties", "minimumTlsVersion")
    assert secure_default(Mutant("exchanges", group, "0", ipv6, "deleted", True), exchange)
    assert (
        secure_default(Mutant("exchanges", group, "0", ipv6, "wrong type (object)", True), exchange) is None
    )
    assert secure_default(Mutant("exchanges", group, "0", tls, "deleted", True), exchange) is None


def test_hypothesis_draws_replay_through_the_same_harness(replay: Replay) -> None:
    """`python -m bench.mutation_replay --compare` draws mutants with hypothesis; they apply and replay like the others."""
    from bench.mutation_replay.hypothesis_draws import drawn_outcomes

    locations = [m for m in replay.mutants() if m.part == "databases"]
    outcomes = drawn_outcomes(replay, locations, 5, SEED)
    assert len(outcomes) == 5
    assert all(o.mutant.part == "databases" for o in outcomes)
