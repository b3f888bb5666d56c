"""Exposure probes against real sockets, and 12b.exposure-probe on what they observe.

- open: a real listener on 127.0.0.1;
- refused: a port nothing listens on (the kernel answers RST);
- filtered: a network namespace joined to this host by a veth pair, whose kernel drops its
  answers (a blackhole route back to the prober inside the namespace), so a SYN gets no reply
  at all. The same port first answers RST with the route absent, which proves the silence
  comes from the drop; and a `prohibit` policy rule in the namespace answers ICMP
  "administratively prohibited", which is filtered too (EHOSTUNREACH). Nothing on the host is
  changed beyond the veth end, removed afterwards.
- unresolved: a `.invalid` name (RFC 6761) is an error subject, never a pass; so is a connect the
  vantage point cannot send at all (no packet left, so nothing is known about the target).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from collectors import probes
from collectors.azure.base import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config import AuditConfig, HostEntry, Policy, ProbeEntry
from collectors.facts import FactStore, Subject, observed
from collectors.probes import (
    PROBE_POPULATION,
    PortProbe,
    ProbeTarget,
    collect_probes,
    probe_targets,
    run_probes,
)
from controls import test_12b_trusted_networks as c12b
from tests.control_calls import verdict, verdict_and_evidence

TIMEOUT = 1.0


def _config(
    hosts: list[HostEntry] | None = None,
    probes: list[ProbeEntry] | None = None,
    ports: list[int] | None = None,
) -> AuditConfig:
    policy = Policy(sensitive_ports=ports) if ports is not None else Policy()
    return AuditConfig(
        path=Path("audit.toml"), sha256="0" * 64, policy=policy, hosts=hosts or [], probes=probes or []
    )


def _fact(subject: Subject[object]) -> PortProbe:
    assert subject.error is None, subject.error
    assert isinstance(subject.fact, PortProbe)
    return subject.fact


@pytest.fixture
def listener() -> Iterator[int]:
    """A real TCP listener on 127.0.0.1; yields its port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once to pick it, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Namespace:
    """A network namespace reached from the host over a veth pair."""

    name: str
    host_address: str
    address: str
    interface: str
    run: Callable[..., None]

    def drop_answers(self) -> None:
        """Make the namespace's kernel send nothing back to the host (no SYN-ACK, no RST)."""
        self.run("ip", "-n", self.name, "route", "add", "blackhole", f"{self.host_address}/32")

    def reject_admin_prohibited(self, interface: str) -> None:
        """Make the namespace answer TCP from the host with ICMP 'administratively prohibited' (code 13).

        A `prohibit` policy rule ahead of the local table, with forwarding on (inside the namespace
        only), is how the kernel itself rejects like a firewall's `reject with icmp admin-prohibited`.
        """
        self.run("ip", "netns", "exec", self.name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.run(
            "ip", "-n", self.name, "rule", "add", "pref", "10", "iif", interface, "ipproto", "tcp", "prohibit"
        )
        self.run("ip", "-n", self.name, "rule", "add", "pref", "100", "lookup", "local")
        self.run("ip", "-n", self.name, "rule", "del", "pref", "0", "lookup", "local")


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    """A private network namespace joined to the host by a veth pair on a 198.18.0.0/15 /30 (RFC 2544)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("needs root and iproute2 to create a network namespace")
    tag = os.getpid() % 16000
    name, host_if, ns_if = f"probe{tag}", f"pv{tag}a", f"pv{tag}b"
    base = 4 * (tag % 16000)
    prefix = f"198.{18 + (base >> 16)}.{(base >> 8) & 0xFF}"
    host_address, ns_address = f"{prefix}.{(base & 0xFF) + 1}", f"{prefix}.{(base & 0xFF) + 2}"
    try:
        _run("ip", "netns", "add", name)
    except RuntimeError as exc:
        pytest.skip(f"network namespaces are not available here: {exc}")
    try:
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", name)
        _run("ip", "addr", "add", f"{host_address}/30", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "-n", name, "addr", "add", f"{ns_address}/30", "dev", ns_if)
        _run("ip", "-n", name, "link", "set", ns_if, "up")
        _run("ip", "-n", name, "link", "set", "lo", "up")
        yield Namespace(name, host_address, ns_address, ns_if, _run)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


# --- the three states, for real ----------------------------------------------------------------


def test_open_port_is_open_and_fails_the_control(listener: int) -> None:
    target = ProbeTarget("127.0.0.1", listener, ("probes[0] 127.0.0.1",))
    vantage, (subject,) = run_probes([target], max_concurrency=4, timeout=TIMEOUT)
    probe = _fact(subject)
    assert subject.id == f"tcp://127.0.0.1:{listener}"
    assert (probe.state, probe.detail, probe.peers) == ("open", "connected", ("127.0.0.1",))
    assert probe.vantage_host == vantage.host == socket.gethostname()
    assert probe.vantage_source == "127.0.0.1"
    result, evidence = verdict_and_evidence(
        c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe
    )
    assert result.status == "fail"
    for part in (str(listener), "127.0.0.1", "probes[0] 127.0.0.1", vantage.host):
        assert part in result.message
    assert evidence.observations["vantage_point"] == f"{vantage.host} (127.0.0.1)"
    (source,) = subject.sources
    assert source.collector == "probes"
    assert f"from {vantage.host} (127.0.0.1)" in source.call
    assert len(source.sha256) == 64


def test_closed_port_is_refused_and_passes(closed_port: int) -> None:
    _, (subject,) = run_probes([ProbeTarget("127.0.0.1", closed_port, ("test",))], timeout=TIMEOUT)
    probe = _fact(subject)
    assert (probe.state, probe.detail) == ("refused", "ECONNREFUSED")
    assert probe.elapsed_ms < 500
    assert verdict(c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe).status == "pass"


def test_port_that_drops_packets_is_filtered_and_passes(namespace: Namespace) -> None:
    target = ProbeTarget(namespace.address, 1433, ("probes[0]",))
    _, (before,) = run_probes([target], timeout=TIMEOUT)
    assert _fact(before).state == "refused", "the namespace must answer RST before the drop is added"
    namespace.drop_answers()
    started = time.monotonic()
    _, (after,) = run_probes([target], timeout=TIMEOUT)
    probe = _fact(after)
    assert probe.state == "filtered"
    assert probe.detail == f"no answer in {TIMEOUT:g} s"
    assert TIMEOUT * 1000 <= probe.elapsed_ms < TIMEOUT * 1000 + 500
    assert time.monotonic() - started < TIMEOUT + 1
    assert probe.vantage_source == namespace.host_address, "the source the OS chose for this route"
    assert verdict(c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe).status == "pass"
    assert "filtered" in after.sources[0].call
    assert namespace.host_address in after.sources[0].call


def test_icmp_admin_prohibited_is_filtered_and_passes(namespace: Namespace) -> None:
    namespace.reject_admin_prohibited(namespace.interface)
    _, (subject,) = run_probes([ProbeTarget(namespace.address, 22, ("test",))], timeout=TIMEOUT)
    probe = _fact(subject)
    assert (probe.state, probe.detail) == ("filtered", "EHOSTUNREACH")
    assert probe.elapsed_ms < 500, "an ICMP answer, not a timeout"
    assert verdict(c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe).status == "pass"


def test_probes_run_concurrently_within_the_bound(namespace: Namespace) -> None:
    namespace.drop_answers()
    targets = [ProbeTarget(namespace.address, port, ("test",)) for port in range(2000, 2012)]
    started = time.monotonic()
    _, subjects = run_probes(targets, max_concurrency=6, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert [_fact(s).state for s in subjects] == ["filtered"] * 12
    # 12 silent ports, 6 at a time: two rounds of the timeout, not twelve.
    assert 2 * TIMEOUT <= elapsed < 2 * TIMEOUT + 1.5


def test_unresolvable_name_is_an_error_never_a_pass(listener: int) -> None:
    targets = [
        ProbeTarget("no-such-host.invalid", 22, ("hosts[ghost]",)),
        ProbeTarget("127.0.0.1", listener, ("test",)),
    ]
    _, (ghost, real) = run_probes(targets, timeout=TIMEOUT)
    assert ghost.id == "tcp://no-such-host.invalid:22"
    assert ghost.fact is None
    assert ghost.error is not None
    assert "does not resolve" in ghost.error
    assert "hosts[ghost]" in ghost.error
    assert socket.gethostname() in ghost.error
    assert "resolve no-such-host.invalid" in ghost.sources[0].call
    assert _fact(real).state == "open"


def test_a_connect_the_vantage_point_cannot_send_is_an_error() -> None:
    # Linux refuses a TCP connect to a multicast address before any packet leaves (ENETUNREACH):
    # like a missing local route, it says nothing about the target, so it must not pass as filtered.
    _, (subject,) = run_probes([ProbeTarget("224.0.0.1", 22, ("test",))], timeout=TIMEOUT)
    assert subject.fact is None
    assert subject.error is not None
    assert "could not send the connect: ENETUNREACH" in subject.error


def test_a_name_with_several_addresses_takes_the_most_exposed_state(closed_port: int) -> None:
    _, (subject,) = run_probes([ProbeTarget("localhost", closed_port, ("test",))], timeout=TIMEOUT)
    probe = _fact(subject)
    assert probe.state == "refused"
    assert "127.0.0.1" in probe.peers
    assert len(subject.sources) == len(probe.peers)


# --- targets ---------------------------------------------------------------------------------------


def test_targets_come_from_hosts_probes_and_sql_fqdns_deduplicated() -> None:
    config = _config(
        hosts=[HostEntry(name="db1", address="DB1.example.org.", user="audit")],
        probes=[
            ProbeEntry(address="db1.example.org", ports=[22, 8080]),
            ProbeEntry(address="[2001:DB8::1]"),
        ],
        ports=[22, 1433],
    )
    discovered = [
        DiscoveredEndpoint("sql1.database.windows.net", 1433, "azure-sql", "/subscriptions/s/sql1"),
        DiscoveredEndpoint("app.azurewebsites.net", 443, "app-service", "/subscriptions/s/app"),
    ]
    targets = {t.subject_id: t.origins for t in probe_targets(config, discovered)}
    assert targets == {
        "tcp://db1.example.org:22": ("hosts[db1]", "probes[0] db1.example.org"),
        "tcp://db1.example.org:1433": ("hosts[db1]",),
        "tcp://db1.example.org:8080": ("probes[0] db1.example.org",),
        "tcp://[2001:db8::1]:22": ("probes[1] [2001:DB8::1]",),
        "tcp://[2001:db8::1]:1433": ("probes[1] [2001:DB8::1]",),
        "tcp://sql1.database.windows.net:1433": ("azure-sql /subscriptions/s/sql1",),
    }


def test_collect_probes_fills_the_population_with_sql_fqdns_and_records_the_vantage_point(
    listener: int,
) -> None:
    store = FactStore()
    endpoint = DiscoveredEndpoint("localhost", 1433, "azure-sql", "/subscriptions/s/sql1")
    store.population(AZURE_ENDPOINTS).add(observed("localhost:1433", endpoint))
    config = _config(probes=[ProbeEntry(address="127.0.0.1", ports=[listener])])
    run = collect_probes(config, store, timeout=TIMEOUT)
    assert run is not None
    population = store.population(PROBE_POPULATION)
    by_id = {s.id: s for s in population.subjects}
    assert set(by_id) == {f"tcp://127.0.0.1:{listener}", "tcp://localhost:1433"}
    assert _fact(by_id[f"tcp://127.0.0.1:{listener}"]).state == "open"
    sql = _fact(by_id["tcp://localhost:1433"])
    assert (sql.origin, sql.state) == ("azure-sql /subscriptions/s/sql1", "refused")
    assert any(run.vantage.host in note for note in population.notes)


def _no_network(*args: object) -> NoReturn:
    raise AssertionError(f"a replay must not touch the network: {args}")


def test_a_recorded_run_replays_to_the_same_subjects_without_probing(
    listener: int, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(
        probes=[ProbeEntry(address="127.0.0.1", ports=[listener, closed_port])],
        hosts=[HostEntry(name="ghost", address="no-such-host.invalid", user="audit")],
        ports=[22],
    )
    live_store = FactStore()
    run = collect_probes(config, live_store, timeout=TIMEOUT)
    assert run is not None
    recorded = json.loads(json.dumps(run.as_json()))
    replay_store = FactStore()
    monkeypatch.setattr(probes, "connect_once", _no_network)
    monkeypatch.setattr(probes, "resolve", _no_network)
    later = _config(
        probes=[ProbeEntry(address="127.0.0.1", ports=[listener, closed_port, 9])],
        hosts=[HostEntry(name="ghost", address="no-such-host.invalid", user="audit")],
        ports=[22],
    )
    collect_probes(later, replay_store, replay=recorded)
    live = {s.id: s for s in live_store.population(PROBE_POPULATION).subjects}
    replayed = {s.id: s for s in replay_store.population(PROBE_POPULATION).subjects}
    assert "tcp://127.0.0.1:9" not in replayed, "a replay judges what was recorded, not the config's targets"
    assert replayed == live, "same facts, errors and sources (call text, time and sha256)"
    assert "replayed from the recording" in replay_store.population(PROBE_POPULATION).notes[0]
    with pytest.raises(ValueError, match="recorded probe run is malformed"):
        collect_probes(config, FactStore(), replay={"vantage": {}})


def test_nothing_to_probe_leaves_an_explained_empty_population() -> None:
    store = FactStore()
    assert collect_probes(_config(), store) is None
    population = store.population(PROBE_POPULATION)
    assert population.subjects == []
    assert "nothing to probe" in population.empty_reason


# --- the control on literal facts ------------------------------------------------------------------


def _probe(state: str) -> PortProbe:
    return PortProbe(
        address="db1.example.org",
        port=1433,
        state=state,  # type: ignore[arg-type]
        origin="hosts[db1]",
        vantage_host="auditor-01",
        vantage_source="203.0.113.7",
        elapsed_ms=12.0,
    )


@pytest.mark.parametrize(
    ("state", "status"),
    [("open", "fail"), ("refused", "pass"), ("filtered", "pass"), ("unresolved", "error"), ("", "error")],
)
def test_control_verdict_per_state(state: str, status: str) -> None:
    result = verdict(c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, _probe(state))
    assert result.status == status
    if status == "fail":
        assert result.message == (
            "port 1433 of db1.example.org (hosts[db1]) accepts TCP connections from the vantage point "
            "auditor-01 (203.0.113.7)"
        )
