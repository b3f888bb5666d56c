"""A recording is checked part by part when it is loaded: not in the format = exit 4, one line.

Every part (exchanges, hosts, tls, probes, databases, azure_principal) is validated by
`Recording.load` before anything is replayed; a structural problem names the file, the part,
the index and the field. What the targets answered (an ARM body, a host's output, a scan
result's fields, a probe's outcome) is *not* the recording's structure: a well-formed
recording with odd answers loads, and replays to `error` items for those targets only (the
mutation replay relies on that).
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collectors.recording import Recording, RecordingError

ROOT = Path(__file__).resolve().parents[1]
DEMO_RECORDING = ROOT / "demo" / "recording.json"
DEMO_CONFIG = ROOT / "demo" / "audit.toml"

Document = dict[str, Any]


def demo() -> Document:
    """Return a fresh copy of the demo recording's document."""
    document: Document = json.loads(DEMO_RECORDING.read_text(encoding="utf-8"))
    return document


def first_database(document: Document) -> str:
    return str(sorted(document["databases"])[0])


def set_exchange_status(d: Document) -> None:
    d["exchanges"][0]["status"] = "200"


def set_host_stdout(d: Document) -> None:
    d["hosts"][0]["stdout_base64"] = "!!! not base64 !!!"


def set_tls_id(d: Document) -> None:
    d["tls"][1]["id"] = 12345


def set_probe_port(d: Document) -> None:
    d["probes"]["observations"][3]["port"] = "22"


def set_database_rows(d: Document) -> None:
    d["databases"][first_database(d)]["rows"] = "garbage"


def set_principal(d: Document) -> None:
    d["azure_principal"] = {"object_id": 5}


BROKEN_PARTS: list[tuple[str, Callable[[Document], None], str]] = [
    (
        "exchanges",
        set_exchange_status,
        "exchanges[0].status: expected an integer from 0 to 999, got str '200'",
    ),
    ("hosts", set_host_stdout, "hosts[0].stdout_base64: expected base64 text"),
    ("tls", set_tls_id, "tls[1]: id: expected a non-empty string, got int 12345"),
    (
        "probes",
        set_probe_port,
        "probes.observations[3].port: expected an integer from 1 to 65535, got str '22'",
    ),
    ("databases", set_database_rows, ".rows: expected an object, got str 'garbage'"),
    ("azure_principal", set_principal, "azure_principal.object_id: expected a string, got int 5"),
]


def write(tmp_path: Path, document: Document, name: str = "broken.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(("part", "breaks", "said"), BROKEN_PARTS, ids=[p for p, _, _ in BROKEN_PARTS])
def test_a_recording_malformed_in_any_part_exits_4_with_one_line_through_the_cli(
    tmp_path: Path, part: str, breaks: Callable[[Document], None], said: str
) -> None:
    document = demo()
    breaks(document)
    broken = write(tmp_path, document)
    completed = subprocess.run(
        [
            sys.executable, "-m", "pytest", "controls/", "-p", "no:cacheprovider", "-q",
            "--audit-config", str(DEMO_CONFIG), "--replay", str(broken), "--evidence-dir", str(tmp_path / "evidence"),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    output = [line for line in (completed.stdout + completed.stderr).splitlines() if line.strip()]
    assert completed.returncode == 4, output
    assert len(output) == 1, output
    assert "Traceback" not in completed.stderr
    assert str(broken) in output[0]
    assert said in output[0]
    assert not (tmp_path / "evidence").exists(), "refused before anything is collected"


@pytest.mark.parametrize(("part", "breaks", "said"), BROKEN_PARTS, ids=[p for p, _, _ in BROKEN_PARTS])
def test_load_names_the_part_index_and_field(
    tmp_path: Path, part: str, breaks: Callable[[Document], None], said: str
) -> None:
    document = demo()
    breaks(document)
    with pytest.raises(RecordingError) as raised:
        Recording.load(write(tmp_path, document))
    assert said in str(raised.value)


def _pop(d: Any, *path: Any) -> None:
    for step in path[:-1]:
        d = d[step]
    del d[path[-1]]


STRUCTURAL: list[tuple[str, Callable[[Document], None], str]] = [
    ("tls not a list", lambda d: d.update(tls={"id": "x"}), "tls: expected a list, got dict"),
    ("probes not an object", lambda d: d.update(probes="x"), "probes: expected an object, got str"),
    (
        "probe run in a list not an object",
        lambda d: d.update(probes=["x"]),
        "probes[0]: expected an object, got str",
    ),
    ("probes an empty list", lambda d: d.update(probes=[]), "probes: an empty list"),
    ("databases not an object", lambda d: d.update(databases="x"), "databases: expected an object"),
    ("exchanges missing", lambda d: _pop(d, "exchanges"), "exchanges: expected a list, got null"),
    ("exchange without body", lambda d: _pop(d, "exchanges", 0, "body"), "exchanges[0].body: missing"),
    (
        "exchange header not text",
        lambda d: d["exchanges"][0]["headers"].update({"content-type": 1}),
        "exchanges[0].headers.content-type: expected a string",
    ),
    ("exchange time", lambda d: d["exchanges"][2].update(recorded_at="noon"), "exchanges[2].recorded_at"),
    (
        "host os unknown",
        lambda d: d["hosts"][1].update(os="MutantUnknownValue"),
        "hosts[1].os: expected one of",
    ),
    ("host exit code", lambda d: d["hosts"][0].update(exit_code="0"), "hosts[0].exit_code"),
    ("host twice", lambda d: d["hosts"].append(copy.deepcopy(d["hosts"][0])), "a second run of host"),
    ("tls empty", lambda d: d.update(tls=[]), "tls: empty"),
    ("tls item not an object", lambda d: d["tls"].append("x"), "tls[4]: subject: expected an object"),
    (
        "tls fact and error both set",
        lambda d: d["tls"][0].update(error="also failed"),
        "tls[0]: exactly one of fact and error must be set",
    ),
    ("tls fact a list", lambda d: d["tls"][0].update(fact=[1]), "tls[0]: fact: expected an object or null"),
    ("tls twice", lambda d: d["tls"].append(copy.deepcopy(d["tls"][0])), "tls[4]: a second result for"),
    (
        "tls source time",
        lambda d: d["tls"][0]["sources"][0].update(collected_at="later"),
        "tls[0]: sources[0]: source.collected_at",
    ),
    ("probe vantage", lambda d: _pop(d, "probes", "vantage", "host"), "probes.vantage.host: missing"),
    ("probe timeout", lambda d: d["probes"].update(timeout_s="3"), "probes.timeout_s: expected a number"),
    (
        "probe origins",
        lambda d: d["probes"]["observations"][0].update(origins=[]),
        "origins: expected a non-empty",
    ),
    (
        "probe run that probed nothing",
        lambda d: d["probes"].update(observations=[]),
        "probes.observations: empty",
    ),
    (
        "probe attempts not a list of objects is the target's answer, but observations must be a list",
        lambda d: d["probes"].update(observations={"a": 1}),
        "probes.observations: expected a list",
    ),
    (
        "database read without rows or error",
        lambda d: _pop(d, "databases", first_database(d), "rows"),
        "neither rows nor error",
    ),
    (
        "database row not an object",
        lambda d: next(iter(d["databases"][first_database(d)]["rows"].values())).append("x"),
        "expected an object, got str 'x'",
    ),
    ("run date", lambda d: d.update(run_date="yesterday"), "run_date: expected a date"),
]


@pytest.mark.parametrize(("case", "breaks", "said"), STRUCTURAL, ids=[c for c, _, _ in STRUCTURAL])
def test_a_structurally_broken_recording_is_refused_at_load(
    tmp_path: Path, case: str, breaks: Callable[[Document], None], said: str
) -> None:
    document = demo()
    breaks(document)
    with pytest.raises(RecordingError) as raised:
        Recording.load(write(tmp_path, document))
    assert str(raised.value).startswith(f"{tmp_path / 'broken.json'}: malformed recording: ")
    assert said in str(raised.value)


def test_odd_target_answers_load_and_are_left_to_the_parsers(tmp_path: Path) -> None:
    document = demo()
    document["exchanges"][0]["body"] = '{"value": "garbage'
    document["hosts"][0]["stdout_base64"] = base64.b64encode(b"\x00 not the fact script's output").decode()
    del document["tls"][0]["fact"]["protocols_offered"]
    document["tls"][1]["fact"]["key_bits"] = "many"
    document["probes"]["observations"][0]["attempts"] = "garbage"
    document["probes"]["observations"][1]["attempts"][0]["state"] = "MutantUnknownValue"
    name = first_database(document)
    document["databases"][name]["rows"] = {"anything": [{"value": [1, {"odd": None}]}]}
    recording = Recording.load(write(tmp_path, document, "odd.json"))
    assert recording.tls is not None
    assert recording.probes is not None
    assert len(recording) > 0
    assert recording.host_runs[document["hosts"][0]["host"]].stdout.startswith(b"\x00")


def test_the_demo_recording_loads_and_absent_parts_are_none(tmp_path: Path) -> None:
    recording = Recording.load(DEMO_RECORDING)
    assert recording.tls
    assert recording.probes
    assert recording.databases
    assert recording.host_runs
    document = demo()
    for part in ("tls", "probes", "databases", "azure_principal", "hosts"):
        document.pop(part)
    bare = Recording.load(write(tmp_path, document, "bare.json"))
    assert (bare.tls, bare.probes, bare.databases, bare.azure_principal, bare.host_runs) == (
        None,
        None,
        None,
        None,
        {},
    )


def test_a_recording_without_exchanges_is_still_a_replay() -> None:
    # `if replay:` once read a recording of hosts only (no ARM exchange) as "no replay": the run
    # went live against Azure and called itself live.
    empty = Recording(endpoint="", run_date="2026-11-29")
    assert len(empty) == 0
    assert empty
