"""Sites and work orders without a broker: the config, the gaps of unanswered orders, refused answers.

The orders are carried out in this process (`carry_out`, what a worker runs), against the
HTTPS ARM emulator; a gap is what the coordinator writes for an order that never answered.
Every gap must come back as exactly its order's items `error`, never absent, never a pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.distributed.merging import (
    AnswerRefused,
    MergedRecording,
    OrderAccount,
    check_answer,
    deadline_reason,
    fill_gap,
    finish,
    merge_part,
)
from collectors.distributed.orders import OrderError, WorkOrder
from collectors.distributed.planning import OrderBook
from collectors.distributed.work import carry_out
from collectors.estate import collect_estate
from collectors.fact_json import subject_to_json
from collectors.facts import unobservable
from collectors.messages import english_text
from collectors.probes.facts import PortProbe
from collectors.recording import Recording
from controls.harness.config_file import ConfigError, load_config
from controls.harness.credentials import credential_problems
from demo.standins.arm_emulator import ArmEmulator
from tests.audit_runs import POLICY, SUB_DEV, SUB_PROD, TOKEN

DEADLINE = datetime(2026, 11, 29, 2, 40, tzinfo=UTC)
SITES = """
[[sites]]
name = "rivium"
description = "Databarn Rivium"
vantage = "trusted"
[[sites]]
name = "amsterdam"
vantage = "untrusted"
"""
BROKER = '\n[distributed]\nbroker = "redis://broker.invalid:6379/0"\npassword_env = "BROKER_PW"\n'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    return str(caught.value)


# --- the config ---------------------------------------------------------------------------------


def test_an_entry_at_an_undeclared_site_is_refused_naming_the_key(tmp_path: Path) -> None:
    message = _refused(
        tmp_path, SITES + '[[hosts]]\nname = "a"\naddress = "192.0.2.1"\nuser = "u"\nsite = "rivum"\n'
    )
    assert message.startswith(
        f"{tmp_path / 'audit.toml'}: hosts[0].site: no [[sites]] entry is named 'rivum'"
    )
    assert "known: amsterdam, local, rivium" in message


def test_a_bastion_at_another_site_is_refused(tmp_path: Path) -> None:
    message = _refused(
        tmp_path,
        SITES
        + '[[hosts]]\nname = "bastion"\naddress = "192.0.2.1"\nuser = "u"\nsite = "amsterdam"\n'
        + '[[hosts]]\nname = "db"\naddress = "10.0.0.5"\nuser = "u"\nsite = "rivium"\njump = "bastion"\n',
    )
    assert (
        "hosts[1].jump: the bastion 'bastion' is at site 'amsterdam', but 'db' is at site 'rivium'" in message
    )


def test_a_broker_url_holding_a_password_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, '[distributed]\nbroker = "redis://:hunter2@broker:6379/0"\n')
    assert "distributed.broker" in message
    assert "password_env" in message


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        ('[[sites]]\nname = "Rivium"\nvantage = "trusted"\n', "sites[0].name"),
        (
            '[[sites]]\nname = "a"\nvantage = "trusted"\n[[sites]]\nname = "a"\nvantage = "trusted"\n',
            "sites[1].name",
        ),
        ('[[sites]]\nname = "a"\nvantage = "friendly"\n', "sites[0].vantage"),
        ('[azure]\nsite = "nowhere"\n', "azure.site"),
    ],
)
def test_a_malformed_site_is_refused_naming_the_key(tmp_path: Path, sites: str, expected: str) -> None:
    assert expected in _refused(tmp_path, sites)


def test_only_the_local_sites_credentials_and_the_brokers_password_are_needed_here(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path,
            SITES
            + BROKER
            + '[[hosts]]\nname = "far"\naddress = "10.0.0.5"\nuser = "u"\nsite = "rivium"\npassword_env = "FAR_PW"\n'
            + '[[hosts]]\nname = "near"\naddress = "10.0.0.6"\nuser = "u"\npassword_env = "NEAR_PW"\n',
        )
    )
    problems = credential_problems(config, {}, collecting=True, tickets_mode="off")
    text = "\n".join(problems)
    assert "distributed.password_env: the environment variable BROKER_PW is not set" in text
    assert "hosts[1].password_env" in text, "the local site's host is read here"
    assert "FAR_PW" not in text, "rivium's worker reads its own environment"


# --- orders and answers -------------------------------------------------------------------------


def _order(kind: str = "hosts", **what: Any) -> WorkOrder:
    return WorkOrder(
        run_id="run-1",
        task_id="run-1.rivium.hosts.x",
        site="rivium",
        kind=kind,  # type: ignore[arg-type]
        config_toml="",
        config_path="/etc/audit.toml",
        deadline=DEADLINE,
        **what,
    )


def test_an_order_travels_as_json_and_a_malformed_one_is_refused() -> None:
    order = _order(names=("db1", "db2"))
    assert WorkOrder.from_json(order.as_json()) == order
    with pytest.raises(OrderError, match="unknown kind"):
        WorkOrder.from_json({**order.as_json(), "kind": "shell"})
    with pytest.raises(OrderError, match="no time zone"):
        WorkOrder.from_json({**order.as_json(), "deadline": "2026-11-29T02:40:00"})


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"run_id": "run-0"}, "run_id 'run-0', not 'run-1'"),
        ({"task_id": "other"}, "task_id"),
        ({"site": "amsterdam"}, "site"),
        ({"late": True}, "after its deadline"),
        ({"part": None}, "holds no part"),
        ({"part": {"tls": [{"id": "x"}]}}, "not in the recording format"),
    ],
)
def test_an_answer_for_another_run_or_order_is_refused(change: dict[str, Any], why: str) -> None:
    order = _order()
    answer = {
        "run_id": "run-1",
        "task_id": order.task_id,
        "site": "rivium",
        "kind": "hosts",
        "part": {},
        **change,
    }
    with pytest.raises(AnswerRefused, match=why):
        check_answer(order, answer)


# --- gaps: exactly the order's items, error -----------------------------------------------------


def _estate_config(tmp_path: Path, emulator: ArmEmulator, extra: str = "") -> Any:
    return load_config(
        _write(
            tmp_path,
            POLICY
            + SITES
            + BROKER
            + "[probing]\ninclude_azure_sql = false\ntimeout_seconds = 0.5\n"
            + f'[azure]\nendpoint = "{emulator.url}"\nca_bundle = "{emulator.ca_file}"\n'
            + 'credential = "static-token"\nretry_backoff_seconds = 0.01\nsite = "rivium"\n'
            + f'subscriptions = ["{SUB_PROD}", "{SUB_DEV}"]\n'
            + extra,
        )
    )


def _errors(store: Any, population: str) -> dict[str, str]:
    return {s.id: english_text(s.error) for s in store.population(population).subjects if s.error is not None}


def test_an_unanswered_azure_chunk_makes_exactly_its_subscriptions_error(
    tmp_path: Path, emulator: ArmEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_AZURE_TOKEN", TOKEN)
    config = _estate_config(tmp_path, emulator)
    book = OrderBook(config, config.distributed, "run-1", (tmp_path / "audit.toml").read_text())
    book.settings = config.distributed.model_copy(update={"subscriptions_per_task": 1})
    prod, dev = book.phase_one(DEADLINE + timedelta(days=3650))
    assert (prod.subscriptions, dev.subscriptions) == ((SUB_PROD,), (SUB_DEV,))
    merged = MergedRecording(Recording(endpoint=emulator.url, run_date="2026-11-29"))
    assert merge_part(config, merged, prod, check_answer(prod, carry_out(prod))) is None
    merged.accounts.append(OrderAccount(prod, "answered"))
    reason = deadline_reason("rivium", DEADLINE)
    fill_gap(config, merged, dev, reason)
    merged.accounts.append(OrderAccount(dev, "unanswered", reason=reason))
    finish(config, merged)
    estate = collect_estate(config, run_date=date(2026, 11, 29), replay=merged.recording)
    servers = estate.store.population("azure.sql_servers")
    assert any(s.error is None and SUB_PROD in s.id for s in servers.subjects), "prod is judged"
    assert _errors(estate.store, "azure.sql_servers") == {
        f"/subscriptions/{SUB_DEV}": "site rivium did not answer by 02:40:00 UTC"
    }
    assert not any(SUB_DEV in s.id and s.error is None for s in servers.subjects)

    whole = MergedRecording(Recording(endpoint=emulator.url, run_date="2026-11-29"))
    for order in (prod, dev):
        fill_gap(config, whole, order, reason)
        whole.accounts.append(OrderAccount(order, "unanswered", reason=reason))
    finish(config, whole)
    nothing = collect_estate(config, run_date=date(2026, 11, 29), replay=whole.recording)
    for population in ("azure.sql_servers", "azure.storage_accounts", "azure.vms"):
        assert _errors(nothing.store, population) == {
            f"/subscriptions/{SUB_PROD}": "site rivium did not answer by 02:40:00 UTC",
            f"/subscriptions/{SUB_DEV}": "site rivium did not answer by 02:40:00 UTC",
        }, "no Azure answer at all: every population is error, none not applicable"


def test_unanswered_hosts_databases_tls_and_probes_are_exactly_their_items_error(
    tmp_path: Path, emulator: ArmEmulator
) -> None:
    config = _estate_config(
        tmp_path,
        emulator,
        '[[hosts]]\nname = "db-rivium"\naddress = "10.0.0.5"\nuser = "u"\nsite = "rivium"\n'
        '[[databases]]\nname = "pg-rivium"\nengine = "postgresql"\nhost = "10.0.0.6"\nuser = "a"\n'
        'password_env = "PG"\nsite = "rivium"\n'
        '[[endpoints]]\nurl = "https://shop.example/"\nsite = "amsterdam"\n'
        '[[probes]]\naddress = "192.0.2.10"\nports = [5432]\n',
    )
    book = OrderBook(config, config.distributed, "run-1", "")
    orders = [o for o in book.phase_one(DEADLINE) if o.kind != "azure"] + book.phase_two(DEADLINE, [], False)
    described = sorted(o.describe() for o in orders)
    assert [text.split(" (")[0] for text in described] == [
        "databases at rivium",
        "hosts at rivium",
        "probes at amsterdam",
        "probes at local",
        "tls at amsterdam",
    ], "probes go out from the untrusted sites (local is untrusted unless declared), not from trusted rivium"
    orders = [o for o in orders if o.site != "local"]
    merged = MergedRecording(Recording(endpoint="", run_date="2026-11-29"))
    for order in orders:
        fill_gap(config, merged, order, deadline_reason(order.site, DEADLINE))
    merged.recording.azure_unanswered = deadline_reason("rivium", DEADLINE)
    estate = collect_estate(config, run_date=date(2026, 11, 29), replay=merged.recording)
    said = "did not answer by 02:40:00 UTC"
    hosts = _errors(estate.store, "hosts.all")
    assert list(hosts) == ["db-rivium"]
    assert f"site rivium {said}" in hosts["db-rivium"]
    assert all(f"site rivium {said}" in text for text in _errors(estate.store, "databases.servers").values())
    assert _errors(estate.store, "databases.servers"), "the database server is an error item"
    assert _errors(estate.store, "tls.endpoints") == {"https://shop.example:443/": f"site amsterdam {said}"}
    probes = _errors(estate.store, "probes.ports")
    assert "tcp://192.0.2.10:5432 from amsterdam" in probes
    assert all(subject.endswith(" from amsterdam") for subject in probes)
    assert all(f"site amsterdam {said}" in text for text in probes.values())
    assert len(probes) == len(estate.store.population("probes.ports").subjects), "every probe item is error"


def test_azure_read_in_chunks_gives_the_facts_of_one_read(
    tmp_path: Path, emulator: ArmEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Resource Graph's patch-assessment query names its chunk's subscriptions in its body: replayed
    # as one whole list it asked what no site asked (every VM was an error). Chunks replay apart.
    monkeypatch.setenv("AUDIT_AZURE_TOKEN", TOKEN)
    config = _estate_config(tmp_path, emulator)
    book = OrderBook(config, config.distributed, "run-1", (tmp_path / "audit.toml").read_text())
    book.settings = config.distributed.model_copy(update={"subscriptions_per_task": 1})
    merged = MergedRecording(Recording(endpoint=emulator.url, run_date="2026-11-29"))
    for order in book.phase_one(DEADLINE + timedelta(days=3650)):
        assert merge_part(config, merged, order, check_answer(order, carry_out(order))) is None
        merged.accounts.append(OrderAccount(order, "answered"))
    finish(config, merged)
    assert merged.recording.azure_chunks == [(SUB_PROD,), (SUB_DEV,)]
    saved = tmp_path / "merged.json"
    merged.recording.save(saved)
    chunked = collect_estate(config, run_date=date(2026, 11, 29), replay=Recording.load(saved))
    whole = collect_estate(config, run_date=date(2026, 11, 29))
    for name in whole.store.names():
        if not name.startswith("azure."):
            continue
        ones = {
            s.id: (s.fact, english_text(s.error) if s.error else None)
            for s in whole.store.population(name).subjects
        }
        chunks = {
            s.id: (s.fact, english_text(s.error) if s.error else None)
            for s in chunked.store.population(name).subjects
        }
        assert chunks == ones, name
    assert chunked.azure is not None
    assert whole.azure is not None
    assert [s.id for s in chunked.azure.subscriptions] == [s.id for s in whole.azure.subscriptions]


# --- an answer is taken for what the order asked, no more and no less ------------------------------


def _sites_config(tmp_path: Path) -> Any:
    return load_config(
        _write(
            tmp_path,
            POLICY
            + SITES
            + BROKER
            + '[[hosts]]\nname = "db-rivium"\naddress = "10.0.0.5"\nuser = "u"\nsite = "rivium"\n'
            + '[[hosts]]\nname = "web-rivium"\naddress = "10.0.0.6"\nuser = "u"\nsite = "rivium"\n'
            + '[[hosts]]\nname = "shop-ams"\naddress = "10.0.1.5"\nuser = "u"\nsite = "amsterdam"\n'
            + '[[endpoints]]\nurl = "https://shop.example/"\nsite = "amsterdam"\n'
            + '[[probes]]\naddress = "192.0.2.10"\nports = [5432]\n',
        )
    )


def _answer(order: WorkOrder, part: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": order.run_id,
        "task_id": order.task_id,
        "site": order.site,
        "kind": order.kind,
        "part": part,
    }


def test_a_worker_calling_itself_trusted_cannot_hide_an_open_port(tmp_path: Path) -> None:
    config = _sites_config(tmp_path)
    book = OrderBook(config, config.distributed, "run-1", "")
    (order,) = [
        o for o in book.phase_two(DEADLINE, [], False) if o.site == "amsterdam" and o.kind == "probes"
    ]
    target = next(t for t in order.targets if t["address"] == "192.0.2.10")
    attempt = {
        "peer": "192.0.2.10", "state": "open", "detail": "connected", "source": "198.51.100.9",
        "elapsed_ms": 1.0, "started_at": "2026-11-29T02:00:00+00:00", "answered_by": "192.0.2.10",
    }  # fmt: skip
    run = {
        "vantage": {
            "host": "probe-01", "source_addresses": ["198.51.100.9"], "started_at": "2026-11-29T02:00:00+00:00",
            "site": "rivium", "trust": "trusted",
        },
        "timeout_s": 3.0,
        "observations": [{**target, "resolve_error": None, "attempts": [attempt]}],
    }  # fmt: skip
    merged = MergedRecording(Recording(endpoint="", run_date="2026-11-29"))
    assert merge_part(config, merged, order, check_answer(order, _answer(order, {"probes": run}))) is None
    estate = collect_estate(
        config.model_copy(update={"azure": None}), run_date=date(2026, 11, 29), replay=merged.recording
    )
    subjects = {s.id: s for s in estate.store.population("probes.ports").subjects}
    opened = subjects["tcp://192.0.2.10:5432 from amsterdam"].fact
    assert isinstance(opened, PortProbe)
    assert (opened.vantage_site, opened.vantage_trust, opened.state) == ("amsterdam", "untrusted", "open")
    left_out = [s for s in subjects.values() if s.id != "tcp://192.0.2.10:5432 from amsterdam"]
    assert left_out, "the answer probed one target of several"
    assert all(
        s.error is not None and "site amsterdam answered without this item" in english_text(s.error)
        for s in left_out
    )


def test_an_answer_leaving_out_a_host_or_answering_for_another_sites_host_is_taken_as_asked(
    tmp_path: Path,
) -> None:
    config = _sites_config(tmp_path)
    book = OrderBook(config, config.distributed, "run-1", "")
    (order,) = [o for o in book.phase_one(DEADLINE) if o.kind == "hosts" and o.site == "rivium"]
    assert order.names == ("db-rivium", "web-rivium")
    forged = {
        "host": "shop-ams", "os": "linux", "command_sha256": "", "exit_code": 0, "stdout_base64": "",
        "stderr_base64": "", "recorded_at": "2026-11-29T02:00:00+00:00", "error": None, "host_key": None,
    }  # fmt: skip
    answered = {**forged, "host": "db-rivium", "error": "connection refused"}
    merged = MergedRecording(Recording(endpoint="", run_date="2026-11-29"))
    part = check_answer(order, _answer(order, {"hosts": [answered, forged]}))
    assert merge_part(config, merged, order, part) is None
    assert "shop-ams" not in merged.recording.host_runs, "rivium does not answer for amsterdam's host"
    assert merged.recording.host_runs["db-rivium"].error == "connection refused"
    left_out = merged.recording.host_runs["web-rivium"].error
    assert left_out is not None
    assert english_text(left_out) == "site rivium answered without this item"


def test_an_answer_leaving_out_a_tls_endpoint_makes_it_error(tmp_path: Path) -> None:
    config = _sites_config(tmp_path)
    book = OrderBook(config, config.distributed, "run-1", "")
    (order,) = [o for o in book.phase_two(DEADLINE, [], False) if o.kind == "tls"]
    foreign = subject_to_json(unobservable("https://elsewhere.example:443/", "x"))
    merged = MergedRecording(Recording(endpoint="", run_date="2026-11-29"))
    assert merge_part(config, merged, order, check_answer(order, _answer(order, {"tls": [foreign]}))) is None
    assert merged.recording.tls is not None
    assert [item["id"] for item in merged.recording.tls] == ["https://shop.example:443/"]


def test_a_worker_started_without_its_broker_says_so_in_one_line() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_BROKER")}
    started = subprocess.run(
        [sys.executable, "-c", "import collectors.distributed.app"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )
    assert started.returncode == 1
    assert started.stderr.strip().splitlines() == [
        "collectors.distributed.app: AUDITOR_BROKER_URL is not set: a site's worker needs the broker's URL, e.g. "
        "AUDITOR_BROKER_URL=redis://broker.example:6379/0 (password in AUDITOR_BROKER_PASSWORD)"
    ]
