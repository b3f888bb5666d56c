"""`pytest controls/` spread over two sites for real: a Redis broker, two Celery workers, an sshd and PostgreSQL.

Site rivium (trusted, Databarn Rivium) runs its worker in this network and reaches an sshd on
127.0.0.2 and two PostgreSQL clusters on 127.0.0.1. Site amsterdam (untrusted: the internet)
runs its worker in a network namespace the test creates: it cannot reach those loopback
servers, and it sees a port that the host opens on the namespace's link, which rivium is
allowed to see too. The merged verdicts equal those of a single-process run of the same
reachable estate; a killed worker makes exactly its items `error`; a stopped broker ends the
run before anything is judged. (The coordinator runs here, as the "local" site.)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from demo.standins.postgres_clusters import (
    AUDITOR_PASSWORD,
    PASSWORD_ENV,
    PlantedClusters,
    databases_toml,
    planted_clusters,
)
from demo.standins.redis_broker import RedisBroker
from demo.standins.site_worker import SiteWorker
from demo.standins.sshd_server import SshdServer, hosts_toml
from tests.audit_runs import POLICY, ROOT, AuditRun, run_audit

BROKER_PASSWORD = "broker-canary-pw-6b2e0c"
BROKER_ENV = "AUDIT_TEST_BROKER_PASSWORD"
EXPOSURE = "12b.exposure-probe"


def _ip(*command: str) -> None:
    done = subprocess.run(["ip", *command], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(command)}: {done.stderr.strip()}")


@dataclass
class Sites:
    """The running estate: broker, workers, servers, and the addresses of the namespace's link."""

    broker: RedisBroker
    rivium: SiteWorker
    amsterdam: SiteWorker
    sshd: SshdServer
    clusters: PlantedClusters
    link_address: str
    """The host's side of amsterdam's link: amsterdam reaches the broker and the exposed port here."""
    exposed_port: int
    silent_port: int
    """A port on the link that accepts TCP and never says a word (an SSH host that hangs)."""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.fail("the site tests create a network namespace: they need root and iproute2", pytrace=False)
    tag = os.getpid() % 16000
    name, host_if, ns_if = f"site{tag}", f"sv{tag}a", f"sv{tag}b"
    base = 4 * tag
    prefix = f"198.19.{(base >> 8) & 0xFF}"
    link, inside = f"{prefix}.{(base & 0xFF) + 1}", f"{prefix}.{(base & 0xFF) + 2}"
    folder = tmp_path_factory.mktemp("sites")
    _ip("netns", "add", name)
    started: list[SiteWorker] = []
    listeners: list[socket.socket] = []
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", name)
        _ip("addr", "add", f"{link}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("-n", name, "addr", "add", f"{inside}/30", "dev", ns_if)
        _ip("-n", name, "link", "set", ns_if, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "route", "add", "default", "via", link)
        for _ in range(2):
            listener = socket.socket()
            listener.bind((link, 0))
            listener.listen(16)
            listeners.append(listener)
        with (
            RedisBroker(folder / "redis", password=BROKER_PASSWORD, bind=("127.0.0.1", link)) as broker,
            planted_clusters() as clusters,
        ):
            sshd = SshdServer(folder / "sshd", {"db-rivium": None}).start()
            try:
                environment = {PASSWORD_ENV: AUDITOR_PASSWORD}
                rivium = SiteWorker("rivium", broker.url, BROKER_PASSWORD, folder, environment=environment)
                started.append(rivium.start())
                amsterdam = SiteWorker(
                    "amsterdam", broker.url_from(link), BROKER_PASSWORD, folder, netns=name
                )
                started.append(amsterdam.start())
                yield Sites(
                    broker,
                    rivium,
                    amsterdam,
                    sshd,
                    clusters,
                    link,
                    listeners[0].getsockname()[1],
                    listeners[1].getsockname()[1],
                )
            finally:
                for worker in started:
                    worker.stop()
                sshd.stop()
    finally:
        for listener in listeners:
            listener.close()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def estate_toml(sites: Sites, *, extra_hosts: str = "") -> str:
    """Return the estate at its sites: the sshd host and both clusters at rivium, a probed port on the link."""
    host = sites.sshd.host_entry("db-rivium", site="rivium")
    databases = databases_toml(sites.clusters).replace(
        "timeout_seconds = 10\n", 'timeout_seconds = 10\nsite = "rivium"\n'
    )
    return (
        POLICY
        + '\n[[sites]]\nname = "local"\nvantage = "trusted"\n'
        + '\n[[sites]]\nname = "rivium"\ndescription = "Databarn Rivium"\nvantage = "trusted"\n'
        + '\n[[sites]]\nname = "amsterdam"\ndescription = "the internet"\nvantage = "untrusted"\n'
        + "\n[probing]\nfrom_trusted_sites = true\ntimeout_seconds = 1.0\n"
        + f'\n[[probes]]\naddress = "{sites.link_address}"\nports = [{sites.exposed_port}]\nsite = "rivium"\n\n'
        + hosts_toml([host])
        + extra_hosts
        + databases
    )


def distributed(sites: Sites, deadline_minutes: float = 1.0) -> str:
    """Return the [distributed] section on the test's broker (the password in BROKER_ENV)."""
    return (
        f'\n[distributed]\nbroker = "{sites.broker.url}"\npassword_env = "{BROKER_ENV}"\n'
        f"deadline_minutes = {deadline_minutes}\n"
    )


def _environment() -> dict[str, str]:
    return {BROKER_ENV: BROKER_PASSWORD, PASSWORD_ENV: AUDITOR_PASSWORD}


def _not_probes(run: AuditRun) -> dict[tuple[str, str], str]:
    return {key: status for key, status in run.verdicts().items() if key[0] != EXPOSURE}


def _assert_no_secret(run: AuditRun) -> None:
    for secret in (BROKER_PASSWORD, AUDITOR_PASSWORD):
        assert secret not in run.stdout + run.stderr
        for path in run.evidence_dir.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret} leaked into {path}"


def test_two_sites_give_the_verdicts_of_one_process_and_each_vantage_point_is_named(
    sites: Sites, tmp_path: Path
) -> None:
    spread = run_audit(tmp_path / "sites", estate_toml(sites) + distributed(sites), env=_environment())
    assert spread.returncode == 1, spread.stdout + spread.stderr
    single = run_audit(tmp_path / "single", estate_toml(sites), env=_environment())
    assert single.returncode == 1, single.stdout + single.stderr
    verdicts = _not_probes(spread)
    assert any(control.startswith("12g.") for control, _ in verdicts), "the rivium host was read"
    assert any(resource.startswith("pg-planted") for _, resource in verdicts), "the clusters were read"
    assert verdicts == _not_probes(single), "a verdict does not depend on where its facts were read"

    exposed = f"tcp://{sites.link_address}:{sites.exposed_port}"
    untrusted = spread.result(EXPOSURE, f"{exposed} from amsterdam")
    assert untrusted["status"] == "fail", untrusted
    assert "site amsterdam" in str(untrusted["observed"]["vantage_point"])
    trusted = spread.result(EXPOSURE, f"{exposed} from rivium")
    assert trusted["status"] == "not_applicable", trusted
    assert "trusted vantage point" in trusted["message"]

    sites_scope = {s["name"]: s for s in spread.bundle["run"]["scope"]["sites"]}
    assert set(sites_scope) == {"local", "rivium", "amsterdam"}, (
        "local: the coordinator probes too (trusted, asked)"
    )
    assert (sites_scope["rivium"]["unanswered"], sites_scope["amsterdam"]["unanswered"]) == (0, 0)
    kinds = {order["kind"] for order in sites_scope["rivium"]["orders"]}
    assert kinds == {"hosts", "databases", "probes"}
    assert all(order["worker"].startswith("rivium@") for order in sites_scope["rivium"]["orders"])
    report = (spread.evidence_dir / "report.html").read_text(encoding="utf-8")
    assert "amsterdam" in report
    assert "Databarn Rivium" in report
    _assert_no_secret(spread)


def _start_audit(folder: Path, config: str) -> subprocess.Popen[str]:
    """Start `pytest controls/` on `config` in the background (the test acts while it runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audit.toml").write_text(config, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "controls/", "-p", "no:cacheprovider", "-q",
         "--audit-config", str(folder / "audit.toml"), "--evidence-dir", str(folder / "evidence"),
         "--as-of", "2026-11-29"],
        cwd=ROOT, env={**os.environ, **_environment(), "NO_PROXY": "127.0.0.1,localhost"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_worker_killed_mid_run_makes_exactly_its_items_error(sites: Sites, tmp_path: Path) -> None:
    hanging = sites.sshd.host_entry("db-rivium").model_copy(
        update={
            "name": "hangs-ams",
            "site": "amsterdam",
            "address": sites.link_address,
            "port": sites.silent_port,
            "connect_timeout_seconds": 30.0,
        }
    )
    config = estate_toml(sites, extra_hosts="\n" + hosts_toml([hanging])) + distributed(sites, 0.25)
    before = sites.amsterdam.received()
    audit = _start_audit(tmp_path, config)
    try:
        _wait_for(lambda: sites.amsterdam.received() > before, "the amsterdam worker to take its order")
        sites.amsterdam.kill()  # mid-order: it is waiting for the silent host's SSH banner
        output, _ = audit.communicate(timeout=180)
    finally:
        audit.kill()
        sites.amsterdam.start()  # for the module's other tests
    run = AuditRun(audit.returncode, output, "", tmp_path / "evidence")
    assert run.returncode == 1, output
    results = run.bundle["results"]
    hanging_items = [r for r in results if r["resource"] == "hangs-ams"]
    assert hanging_items
    assert all(r["status"] == "error" for r in hanging_items)
    assert all("site amsterdam did not answer by" in r["message"] for r in hanging_items)
    from_amsterdam = [
        r for r in results if r["control"] == EXPOSURE and r["resource"].endswith("from amsterdam")
    ]
    assert from_amsterdam
    assert all(r["status"] == "error" for r in from_amsterdam), "its probes never came back"
    others = [r for r in results if r not in hanging_items and r not in from_amsterdam]
    assert any(r["resource"] == "db-rivium" and r["status"] != "error" for r in others), (
        "rivium was evaluated"
    )
    assert not any("did not answer" in r["message"] for r in others)
    amsterdam = next(s for s in run.bundle["run"]["scope"]["sites"] if s["name"] == "amsterdam")
    assert (amsterdam["answered"], amsterdam["unanswered"]) == (0, 2)
    assert (tmp_path / "evidence" / "report.html").is_file(), "the bundle is written"


def test_a_broker_stopped_mid_run_ends_it_with_one_line_and_no_bundle(sites: Sites, tmp_path: Path) -> None:
    lonely = RedisBroker(tmp_path / "redis", password=BROKER_PASSWORD).start()
    try:
        config = estate_toml(sites) + (
            f'\n[distributed]\nbroker = "{lonely.url}"\npassword_env = "{BROKER_ENV}"\ndeadline_minutes = 5\n'
        )
        audit = _start_audit(tmp_path, config)
        queue = redis.Redis(host="127.0.0.1", port=lonely.port, password=BROKER_PASSWORD)
        _wait_for(lambda: queue.llen("rivium") > 0, "the coordinator to send rivium's orders")
        queue.close()
        assert audit.poll() is None, "no worker listens on this broker: the run waits for its orders"
        lonely.stop()
        output, _ = audit.communicate(timeout=60)
    finally:
        lonely.stop()
    assert audit.returncode == 4, output
    assert "[distributed] the broker stopped answering" in output or "cannot be reached" in output, output
    assert "Traceback" not in output
    assert BROKER_PASSWORD not in output
    assert not (tmp_path / "evidence" / "evidence.json").exists(), "nothing half-written"


def test_a_broker_that_cannot_be_reached_is_refused_before_collecting(sites: Sites, tmp_path: Path) -> None:
    nowhere = f"redis://127.0.0.1:{_free_port()}/0"
    config = estate_toml(sites) + f'\n[distributed]\nbroker = "{nowhere}"\npassword_env = "{BROKER_ENV}"\n'
    run = run_audit(tmp_path, config, env=_environment())
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert "[distributed] broker redis://:***@127.0.0.1:" in output, "named, the password never shown"
    assert f"{nowhere.removeprefix('redis://')} cannot be reached" in output
    assert "Traceback" not in output
    assert BROKER_PASSWORD not in output
    assert not (run.evidence_dir / "evidence.json").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
