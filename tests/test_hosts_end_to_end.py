"""`pytest controls/` on hosts behind a REAL OpenSSH sshd: Windows via the recorded-output
PowerShell stand-in, Linux via this machine's real commands, and the faults of issue 4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from demo.standins.sshd_server import HostBehaviour, SshdServer, hosts_toml, python_command
from tests.audit_runs import POLICY, ROOT, AuditRun, run_audit

pytestmark = pytest.mark.integration

STANDIN = ROOT / "demo" / "standins" / "windows_powershell.py"
HOST_CONTROLS = {
    "12b.host-firewall",
    "12b.host-port-scope",
    "12c.host-admins",
    "12e.host-volume-encryption",
    "12g.os-supported",
}
WINDOWS_ONLY = {"12f.host-schannel", "12g.windows-monthly-patching"}
ADMINS = """
authorized_admins = ["WEB01\\\\Administrator", "WEB02\\\\Administrator", "WEB07\\\\Administrator",
                     "LEGACY01\\\\Administrator", "LUCRA\\\\Domain Admins", "LUCRA\\\\svc-audit", "root"]
authorized_ssh_keys = ["SHA256:JGY//656Fr5uaRoTKtVPuMhxEUikBwCp1rnrv2RuF6Y", "SHA256:sebR3PoJgCqlpURSk06R/IEUChopWIu4Cl4Z5fRsMD8"]
"""


def windows(scenario: str) -> HostBehaviour:
    """A Windows host: the stand-in answers the real PowerShell command with a recorded envelope."""
    return HostBehaviour(command=python_command(STANDIN, scenario))


def _config(sshd: SshdServer, names: list[str], **overrides: dict[str, Any]) -> str:
    entries = [sshd.host_entry(name, os="auto", **overrides.get(name, {})) for name in names]
    return POLICY + ADMINS + hosts_toml(entries)


def _status(run: AuditRun, control: str, host: str) -> str:
    return str(run.result(control, host)["status"])


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Any:
    hosts = {
        "web01": windows("patched-2022"),
        "web02": windows("stale-2022"),
        "web07": windows("firewall-public-off"),
        "legacy01": windows("server-2012r2"),
        "lnx01": None,
        "garbled": windows("garbage"),
        "down": HostBehaviour(listening=False),
        "stranger": None,
    }
    server = SshdServer(tmp_path_factory.mktemp("sshd-e2e"), hosts).start()
    yield server
    server.stop()


def test_host_controls_give_their_verdicts_over_real_ssh(tmp_path: Path, estate: SshdServer) -> None:
    names = ["web01", "web02", "web07", "legacy01", "lnx01"]
    run = run_audit(tmp_path, _config(estate, names))
    assert _status(run, "12g.windows-monthly-patching", "web01") == "pass"
    assert _status(run, "12g.windows-monthly-patching", "web02") == "fail"
    assert _status(run, "12b.host-firewall", "web01") == "pass"
    assert _status(run, "12b.host-firewall", "web07") == "fail"
    assert _status(run, "12f.host-schannel", "web01") == "pass"
    assert _status(run, "12g.os-supported", "web01") == "pass"
    assert _status(run, "12g.os-supported", "legacy01") == "fail"
    assert _status(run, "12g.os-supported", "lnx01") == "pass", "Debian 12 is supported on 2026-11-29"
    linux = run.result("12g.os-supported", "lnx01")
    assert "Debian" in str(linux["observed"]), "facts from this machine's real os-release"
    windows_controls = {r["control"] for r in run.bundle["results"] if r["resource"] == "web01"}
    assert windows_controls == HOST_CONTROLS | WINDOWS_ONLY
    linux_controls = {r["control"] for r in run.bundle["results"] if r["resource"] == "lnx01"}
    assert linux_controls == HOST_CONTROLS | {"12g.linux-patching"}
    assert all(estate.logins(name) >= 1 for name in names)


def test_each_faulty_host_is_error_for_every_control_and_only_that_host(
    tmp_path: Path, estate: SshdServer
) -> None:
    stranger_known_hosts = estate.write_known_hosts("empty_known_hosts", [])
    names = ["web01", "garbled", "down", "stranger"]
    run = run_audit(tmp_path, _config(estate, names, stranger={"known_hosts": stranger_known_hosts}))
    for faulty in ("garbled", "down", "stranger"):
        items = [r for r in run.bundle["results"] if r["resource"] == faulty]
        assert {r["control"] for r in items} >= HOST_CONTROLS, faulty
        assert {r["status"] for r in items} == {"error"}, faulty
    stranger = run.result("12g.os-supported", "stranger")["message"]
    assert "SHA256:" in stranger, "an unknown host key is named by its fingerprint"
    assert estate.commands_received("stranger") == [], "no command is sent to a host with an unknown key"
    assert _status(run, "12g.windows-monthly-patching", "web01") == "pass"
    assert run.returncode == 1


def test_replay_of_host_recording_gives_the_live_verdicts(tmp_path: Path, estate: SshdServer) -> None:
    recording = tmp_path / "hosts-recording.json"
    config = _config(estate, ["web01", "web02", "lnx01", "down"])
    live = run_audit(tmp_path / "live", config, "--record", str(recording))
    replayed = run_audit(tmp_path / "replay", config, "--replay", str(recording))
    assert replayed.verdicts() == live.verdicts()
    assert {r["message"] for r in replayed.bundle["results"]} == {
        r["message"] for r in live.bundle["results"]
    }


def test_key_passphrase_never_appears_in_any_output(tmp_path: Path, estate: SshdServer) -> None:
    from demo.standins.sshd_server import ENCRYPTED_KEY_PASSPHRASE

    entry = estate.host_entry(
        "web01", os="auto", key_file=estate.encrypted_key_file, passphrase_env="AUDIT_KEY_PASSPHRASE"
    )
    recording = tmp_path / "recording.json"
    run = run_audit(
        tmp_path,
        POLICY + ADMINS + hosts_toml([entry]),
        "--record",
        str(recording),
        env={"AUDIT_KEY_PASSPHRASE": ENCRYPTED_KEY_PASSPHRASE},
    )
    assert _status(run, "12g.windows-monthly-patching", "web01") == "pass", "logged in with the encrypted key"
    assert ENCRYPTED_KEY_PASSPHRASE not in run.stdout + run.stderr
    for produced in [recording, *run.evidence_dir.iterdir()]:
        assert ENCRYPTED_KEY_PASSPHRASE not in produced.read_text(encoding="utf-8"), produced
