"""Exposure probes against real sockets, and 12b.exposure-probe on what they observe.

- open: a real listener on 127.0.0.1;
- refused: a port nothing listens on (the kernel answers RST);
- filtered: a network namespace joined to this host by a veth pair, whose kernel drops the SYNs
  to some ports (a `blackhole` policy-routing rule per port, the kernel's own drop rule; nft and
  iptables are not needed) while another port answers RST, which shows the host is there. The
  same port first answers RST with the rule absent, which proves the silence comes from the drop;
  and a `prohibit` policy rule in the namespace answers ICMP "administratively prohibited" from
  the host's own address, which is filtered too.
- host unreachable (an `error`, never a pass): the namespace dropping every answer (no port
  answers at all), an address routed into the namespace where an `unreachable` route sends ICMP
  host unreachable back (a TEST-NET-2 address, RFC 5737), and a `[[hosts]]` entry whose SSH
  port is the only one that answers (then its silent sensitive ports are filtered) or does not.
- unresolved: a `.invalid` name (RFC 6761) is an error subject, never a pass; so is a connect the
  vantage point cannot send at all (no packet left, so nothing is known about the target).
Nothing on the host is changed beyond the veth end (and the routes through it), removed afterwards.
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

from collectors.azure.facts import AZURE_ENDPOINTS, DiscoveredEndpoint
from collectors.config.inventory import HostEntry, ProbeEntry
from collectors.config.policy import Policy
from collectors.facts import FactStore, Subject, observed
from collectors.messages import english_text
from collectors.probes import collect as probing
from collectors.probes.collect import collect_probes, probe_targets, run_probes
from collectors.probes.facts import PROBE_POPULATION, PortProbe
from collectors.probes.observations import ProbeTarget
from controls import test_12b_trusted_networks as c12b
from controls.harness.config_file import AuditConfig
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
    nowhere: str = ""
    """A TEST-NET-2 address (RFC 5737) for `route_nowhere`, unique to this namespace."""
    rules_moved: bool = False

    def drop_answers(self) -> None:
        """Make the namespace's kernel send nothing back to the host (no SYN-ACK, no RST)."""
        self.run("ip", "-n", self.name, "route", "add", "blackhole", f"{self.host_address}/32")

    def _rules_before_local(self) -> None:
        """Move the namespace's `lookup local` rule behind the test's rules (once)."""
        if not self.rules_moved:
            self.run("ip", "-n", self.name, "rule", "add", "pref", "100", "lookup", "local")
            self.run("ip", "-n", self.name, "rule", "del", "pref", "0", "lookup", "local")
            self.rules_moved = True

    def drop_ports(self, ports: str) -> None:
        """Make the namespace's kernel drop SYNs from the host to `ports` ("1433" or "2000-2011"), silently.

        A `blackhole` policy rule ahead of the local table is the kernel's own drop rule (what a
        firewall's `drop` does): the other ports still answer RST.
        """
        self.run(
            "ip", "-n", self.name, "rule", "add", "pref", "10", "iif", self.interface,
            "ipproto", "tcp", "dport", ports, "blackhole",
        )  # fmt: skip
        self._rules_before_local()

    def reject_admin_prohibited(self, interface: str) -> None:
        """Make the namespace answer TCP from the host with ICMP 'administratively prohibited' (code 13).

        A `prohibit` policy rule ahead of the local table, with forwarding on (inside the namespace
        only), is how the kernel itself rejects like a firewall's `reject with icmp admin-prohibited`.
        """
        self.run("ip", "netns", "exec", self.name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.run(
            "ip", "-n", self.name, "rule", "add", "pref", "10", "iif", interface, "ipproto", "tcp", "prohibit"
        )
        self._rules_before_local()

    def route_nowhere(self, address: str) -> None:
        """Route `address` from the host into the namespace, whose `unreachable` route answers ICMP host unreachable."""
        self.run("ip", "netns", "exec", self.name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.run("ip", "-n", self.name, "route", "add", "unreachable", f"{address}/32")
        self.run("ip", "route", "add", f"{address}/32", "via", self.address)


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    """A private network namespace joined to the host by a veth pair on a 198.18.0.0/15 /30 (RFC 2544)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.fail(
            "creating a network namespace needs root and iproute2 (apt-get install iproute2; "
            "bash tests/run.sh installs it as root)",
            pytrace=False,
        )
    tag = os.getpid() % 16000
    name, host_if, ns_if = f"probe{tag}", f"pv{tag}a", f"pv{tag}b"
    base = 4 * (tag % 16000)
    prefix = f"198.{18 + (base >> 16)}.{(base >> 8) & 0xFF}"
    host_address, ns_address = f"{prefix}.{(base & 0xFF) + 1}", f"{prefix}.{(base & 0xFF) + 2}"
    try:
        _run("ip", "netns", "add", name)
    except RuntimeError as exc:
        pytest.fail(f"network namespaces are not available here (CI needs them): {exc}", pytrace=False)
    try:
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", name)
        _run("ip", "addr", "add", f"{host_address}/30", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "-n", name, "addr", "add", f"{ns_address}/30", "dev", ns_if)
        _run("ip", "-n", name, "link", "set", ns_if, "up")
        _run("ip", "-n", name, "link", "set", "lo", "up")
        yield Namespace(name, host_address, ns_address, ns_if, _run, nowhere=f"198.51.100.{tag % 250 + 2}")
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
    answering = ProbeTarget(namespace.address, 22, ("probes[0]",))
    _, (before,) = run_probes([target], timeout=TIMEOUT)
    assert _fact(before).state == "refused", "the namespace must answer RST before the drop is added"
    namespace.drop_ports("1433")
    started = time.monotonic()
    _, (after, other) = run_probes([target, answering], timeout=TIMEOUT)
    probe = _fact(after)
    assert probe.state == "filtered"
    assert probe.detail == f"no answer in {TIMEOUT:g} s"
    assert TIMEOUT * 1000 <= probe.elapsed_ms < TIMEOUT * 1000 + 500
    assert time.monotonic() - started < TIMEOUT + 1
    assert probe.vantage_source == namespace.host_address, "the source the OS chose for this route"
    assert probe.host_seen == f"{namespace.address} port 22: refused (ECONNREFUSED)"
    result, evidence = verdict_and_evidence(
        c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe
    )
    assert result.status == "pass"
    assert evidence.observations["host_seen"] == probe.host_seen
    assert "filtered" in after.sources[0].call
    assert namespace.host_address in after.sources[0].call
    assert _fact(other).state == "refused"


def test_an_address_where_every_port_is_dropped_is_host_unreachable_never_a_pass(
    namespace: Namespace,
) -> None:
    namespace.drop_answers()
    targets = [ProbeTarget(namespace.address, port, ("probes[0]",)) for port in (22, 1433)]
    vantage, subjects = run_probes(targets, timeout=TIMEOUT)
    for subject in subjects:
        assert subject.fact is None, "silence from every port proves nothing: the host may be down"
        assert subject.error is not None
        assert english_text(subject.error).startswith(
            f"host unreachable from {vantage.host} ({namespace.host_address})"
        )
        assert f"{namespace.address} answered on no probed port" in english_text(subject.error)
        assert subject.sources, "the silent connects are the evidence"


def test_an_address_that_routes_nowhere_is_host_unreachable_never_filtered(namespace: Namespace) -> None:
    namespace.route_nowhere(namespace.nowhere)
    _, (subject,) = run_probes([ProbeTarget(namespace.nowhere, 1433, ("hosts[typo]",))], timeout=TIMEOUT)
    assert subject.fact is None
    assert subject.error is not None
    assert "host unreachable from" in english_text(subject.error)
    assert f"EHOSTUNREACH (ICMP type 3 code 1 from {namespace.address})" in english_text(subject.error)
    assert "hosts[typo]" in english_text(subject.error)


def test_a_host_whose_ssh_port_answers_is_there_and_its_dropped_ports_are_filtered(
    namespace: Namespace,
) -> None:
    namespace.drop_ports("1433")
    namespace.drop_ports("3389")
    host = HostEntry(name="db1", address=namespace.address, port=2222, user="audit")
    store = FactStore()
    (run,) = collect_probes(_config(hosts=[host], ports=[1433, 3389]), store, timeout=TIMEOUT)
    assert [(o.target.port, o.target.judged) for o in run.observations] == [
        (1433, True),
        (3389, True),
        (2222, False),
    ]
    by_id = {s.id: s for s in store.population(PROBE_POPULATION).subjects}
    assert set(by_id) == {f"tcp://{namespace.address}:1433", f"tcp://{namespace.address}:3389"}, (
        "the SSH port only shows presence: no item of its own"
    )
    for subject in by_id.values():
        probe = _fact(subject)
        assert probe.state == "filtered"
        assert probe.host_seen == f"{namespace.address} port 2222: refused (ECONNREFUSED)"
        assert (
            verdict(c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe).status == "pass"
        )
    namespace.drop_ports("2222")
    silent = FactStore()
    collect_probes(_config(hosts=[host], ports=[1433, 3389]), silent, timeout=TIMEOUT)
    for subject in silent.population(PROBE_POPULATION).subjects:
        assert subject.error is not None, "the SSH port the auditor uses is silent too: host unreachable"
        assert "host unreachable from" in english_text(subject.error)


def test_icmp_admin_prohibited_from_the_host_itself_is_filtered_and_passes(namespace: Namespace) -> None:
    namespace.reject_admin_prohibited(namespace.interface)
    _, (subject,) = run_probes([ProbeTarget(namespace.address, 22, ("test",))], timeout=TIMEOUT)
    probe = _fact(subject)
    assert probe.state == "filtered"
    assert probe.detail == (
        f"EHOSTUNREACH (ICMP type 3 code 13 from {namespace.address}): administratively prohibited"
    )
    assert probe.host_seen.startswith(f"{namespace.address} port 22: filtered"), "the ICMP came from the host"
    assert probe.elapsed_ms < 500, "an ICMP answer, not a timeout"
    assert verdict(c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, probe).status == "pass"


def test_probes_run_concurrently_within_the_bound(namespace: Namespace) -> None:
    namespace.drop_ports("2000-2011")
    targets = [ProbeTarget(namespace.address, port, ("test",)) for port in range(2000, 2012)]
    targets.append(ProbeTarget(namespace.address, 1999, ("test",)))
    started = time.monotonic()
    _, subjects = run_probes(targets, max_concurrency=6, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert [_fact(s).state for s in subjects] == ["filtered"] * 12 + ["refused"]
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
    assert "does not resolve" in english_text(ghost.error)
    assert "hosts[ghost]" in english_text(ghost.error)
    assert socket.gethostname() in english_text(ghost.error)
    assert "resolve no-such-host.invalid" in ghost.sources[0].call
    assert _fact(real).state == "open"


def test_a_connect_the_vantage_point_cannot_send_is_an_error() -> None:
    # Linux refuses a TCP connect to a multicast address before any packet leaves (ENETUNREACH):
    # like a missing local route, it says nothing about the target, so it must not pass as filtered.
    _, (subject,) = run_probes([ProbeTarget("224.0.0.1", 22, ("test",))], timeout=TIMEOUT)
    assert subject.fact is None
    assert subject.error is not None
    assert "could not send the connect: ENETUNREACH" in english_text(subject.error)


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
    (run,) = collect_probes(config, store, timeout=TIMEOUT)
    population = store.population(PROBE_POPULATION)
    by_id = {s.id: s for s in population.subjects}
    assert set(by_id) == {f"tcp://127.0.0.1:{listener}", "tcp://localhost:1433"}
    assert _fact(by_id[f"tcp://127.0.0.1:{listener}"]).state == "open"
    sql = _fact(by_id["tcp://localhost:1433"])
    assert (sql.origin, sql.state) == ("azure-sql /subscriptions/s/sql1", "refused")
    assert any(run.vantage.host in english_text(note) for note in population.notes)


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
    (run,) = collect_probes(config, live_store, timeout=TIMEOUT)
    recorded = json.loads(json.dumps(run.as_json()))
    replay_store = FactStore()
    monkeypatch.setattr(probing, "connect_once", _no_network)
    monkeypatch.setattr(probing, "resolve", _no_network)
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
    assert "replayed from the recording" in english_text(replay_store.population(PROBE_POPULATION).notes[0])
    with pytest.raises(ValueError, match="recorded probe run is malformed"):
        collect_probes(config, FactStore(), replay={"vantage": {}})


def _recorded_run(*observations: dict[str, object]) -> dict[str, object]:
    return {
        "vantage": {
            "host": "auditor-01",
            "source_addresses": ["203.0.113.7"],
            "started_at": "2026-11-29T05:00:00+00:00",
        },
        "timeout_s": 3.0,
        "observations": list(observations),
    }


def _attempt(state: str | None, detail: object, **extra: object) -> dict[str, object]:
    return {
        "peer": "198.51.100.7",
        "state": state,
        "detail": detail,
        "source": "203.0.113.7",
        "elapsed_ms": 3.0,
        "started_at": "2026-11-29T05:00:00+00:00",
        **extra,
    }


def _observation(port: int, *attempts: object) -> dict[str, object]:
    return {
        "address": "198.51.100.7",
        "port": port,
        "origins": ["hosts[db1]"],
        "resolve_error": None,
        "attempts": list(attempts),
    }


def test_an_older_recording_with_ehostunreach_as_filtered_replays_to_host_unreachable() -> None:
    # Recorded before ICMP codes were read: "filtered (EHOSTUNREACH)" cannot be told from a host
    # that is not there, so it is unreachable, an error, even though another port was refused.
    recorded = _recorded_run(
        _observation(22, _attempt("refused", "ECONNREFUSED")),
        _observation(1433, _attempt("filtered", "EHOSTUNREACH")),
        _observation(3389, _attempt("filtered", "no answer in 3 s")),
    )
    store = FactStore()
    collect_probes(_config(), store, replay=recorded)
    by_port = {s.id.rsplit(":", 1)[1]: s for s in store.population(PROBE_POPULATION).subjects}
    assert _fact(by_port["22"]).state == "refused"
    assert by_port["1433"].error is not None
    assert "host unreachable from auditor-01 (203.0.113.7): 198.51.100.7: EHOSTUNREACH" in english_text(
        by_port["1433"].error
    )
    assert _fact(by_port["3389"]).state == "filtered", "port 22 answered: the host is there"
    assert _fact(by_port["3389"]).host_seen == "198.51.100.7 port 22: refused (ECONNREFUSED)"


def test_a_recorded_run_where_nothing_answered_replays_to_errors() -> None:
    recorded = _recorded_run(
        _observation(22, _attempt("filtered", "no answer in 3 s")),
        _observation(1433, _attempt("filtered", "no answer in 3 s")),
    )
    store = FactStore()
    collect_probes(_config(), store, replay=recorded)
    subjects = store.population(PROBE_POPULATION).subjects
    assert [s.fact for s in subjects] == [None, None]
    assert all("answered on no probed port" in english_text(s.error or "") for s in subjects)


@pytest.mark.parametrize(
    ("attempt", "said"),
    [
        (_attempt("MutantUnknownValue", "connected"), "unknown probe state"),
        (
            {k: v for k, v in _attempt("open", "connected").items() if k != "state"},
            "unknown probe state 'missing'",
        ),
        (_attempt("open", "connected", elapsed_ms="not-a-number"), "elapsed_ms"),
        (_attempt("open", 12345), "detail: expected a string"),
        ("garbage", "expected an object"),
    ],
)
def test_a_recorded_attempt_that_cannot_be_read_is_an_error_for_its_port_only(
    attempt: object, said: str
) -> None:
    recorded = _recorded_run(
        _observation(22, _attempt("refused", "ECONNREFUSED")), _observation(1433, attempt)
    )
    store = FactStore()
    collect_probes(_config(), store, replay=recorded)
    fine, broken = store.population(PROBE_POPULATION).subjects
    assert _fact(fine).state == "refused"
    assert broken.error is not None
    assert "the recorded probe of port 1433 of 198.51.100.7 cannot be read: attempts[0]" in english_text(
        broken.error
    )
    assert said in english_text(broken.error)


def test_nothing_to_probe_leaves_an_explained_empty_population() -> None:
    store = FactStore()
    assert collect_probes(_config(), store) == []
    population = store.population(PROBE_POPULATION)
    assert population.subjects == []
    assert "nothing to probe" in english_text(population.empty_reason)


# --- the control on literal facts ------------------------------------------------------------------


def _probe(state: str, host_seen: str = "198.51.100.7 port 22: refused (ECONNREFUSED)") -> PortProbe:
    return PortProbe(
        address="db1.example.org",
        port=1433,
        state=state,  # type: ignore[arg-type]
        origin="hosts[db1]",
        vantage_host="auditor-01",
        vantage_source="203.0.113.7",
        elapsed_ms=12.0,
        host_seen=host_seen,
    )


@pytest.mark.parametrize("state", ["refused", "filtered"])
def test_a_closed_port_on_a_host_never_seen_is_an_error(state: str) -> None:
    result = verdict(
        c12b.test_sensitive_port_is_not_reachable_from_the_vantage_point, _probe(state, host_seen="")
    )
    assert result.status == "error"
    assert "host unreachable" in result.message


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
