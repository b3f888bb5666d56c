"""The SSH layer against a real OpenSSH sshd on loopback addresses: commands, keys, jump hosts, faults.

Every fault is its own test and its error names the host. Host-key faults also prove, from the
server's side, that nothing was sent: no login in sshd's log and no command in the host's record.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from collectors.hosts.commands import CommandResult, CommandRunner, HostError, HostOutputError
from collectors.hosts.ssh import (
    AuthFailed,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
    OutputTooLarge,
    SessionFailed,
    SshSession,
    fingerprint,
    known_host_keys,
    open_session,
)
from demo.standins.sshd_server import (
    ENCRYPTED_KEY_PASSPHRASE,
    USER_KEY_TYPES,
    HostBehaviour,
    SshdMissing,
    SshdServer,
)
from tests.sshd_fixtures import sshd_factory as sshd_factory  # the fixture, re-exported for this module

pytestmark = pytest.mark.integration

MIB = 1024 * 1024

HOSTS: dict[str, HostBehaviour | None] = {
    "plain": None,
    "bastion": HostBehaviour(log_level="DEBUG1"),
    "inner": None,
    "sleeper": HostBehaviour(command="exec sleep 60"),
    "garbage": HostBehaviour(command=r"printf '\377\376garbage \033[31m not json\000 tail'"),
    "truncated": HostBehaviour(command="""printf '{"os": {"id": "debian", "versi'"""),
    "huge": HostBehaviour(command="exec head -c 67108864 /dev/zero"),
    "failing": HostBehaviour(command="echo partial; echo 'boom: permission denied' >&2; exit 3"),
    "killed": HostBehaviour(command="""printf '{"half": '; kill -9 $$"""),
    "down": HostBehaviour(listening=False),
    "silent": HostBehaviour(silent=True),
    "quiet": None,
    "envhost": HostBehaviour(
        command='echo "$SCENARIO|$SSH_ORIGINAL_COMMAND"', env={"SCENARIO": "patched 2022"}
    ),
}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    with SshdServer(tmp_path_factory.mktemp("sshd"), HOSTS) as server:
        yield server


def same(path: Path) -> Path:
    return path


def connect(sshd: SshdServer, name: str, *, max_output_bytes: int = 16 * MIB, **overrides: Any) -> SshSession:
    return open_session(sshd.host_entry(name, **overrides), resolve=same, max_output_bytes=max_output_bytes)


def assert_nothing_sent(sshd: SshdServer, name: str, connections_before: int) -> None:
    assert sshd.connections(name) > connections_before, "the client never reached the server"
    assert sshd.logins(name) == 0, "the client logged in although the host key was rejected"
    assert sshd.commands_received(name) == []


# ----------------------------------------------------------------------------- commands


def test_command_returns_exit_code_stdout_and_stderr(sshd: SshdServer) -> None:
    with connect(sshd, "plain") as session:
        result = session.run("echo out; echo err >&2; exit 0")
    assert result == CommandResult(exit_code=0, stdout=b"out\n", stderr=b"err\n")


def test_session_is_a_command_runner(sshd: SshdServer) -> None:
    with connect(sshd, "plain") as session:
        runner: CommandRunner = session
        assert runner.run("printf ok").stdout == b"ok"


def test_stdin_is_delivered_whole(sshd: SshdServer) -> None:
    data = os.urandom(5 * MIB)
    with connect(sshd, "plain") as session:
        result = session.run("sha256sum", stdin=data)
    assert result.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_command_that_writes_before_reading_stdin_does_not_deadlock(sshd: SshdServer) -> None:
    data = b"x" * (4 * MIB)
    with connect(sshd, "plain") as session:
        result = session.run("head -c 4000000 /dev/zero; wc -c", stdin=data, timeout=20)
    assert result.stdout == b"\0" * 4_000_000 + b"4194304\n"


def test_stdout_and_stderr_are_read_concurrently(sshd: SshdServer) -> None:
    with connect(sshd, "plain") as session:
        result = session.run("head -c 3000000 /dev/zero >&2; head -c 3000000 /dev/zero", timeout=20)
    assert (len(result.stdout), len(result.stderr), result.exit_code) == (3_000_000, 3_000_000, 0)


def test_one_login_is_reused_for_every_command(sshd: SshdServer) -> None:
    connections, logins = sshd.connections("plain"), sshd.logins("plain")
    with connect(sshd, "plain") as session:
        outputs = [session.run(f"echo {n}").stdout for n in range(3)]
        assert (session.logins, session.round_trips) == (1, 3)
    assert outputs == [b"0\n", b"1\n", b"2\n"]
    assert (sshd.connections("plain") - connections, sshd.logins("plain") - logins) == (1, 1)


def test_commands_leave_no_file_descriptor_behind(sshd: SshdServer) -> None:
    with connect(sshd, "plain") as session:
        session.run("true")
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(30):
            session.run("echo x")
        assert len(os.listdir("/proc/self/fd")) == before


def test_close_is_idempotent_and_a_closed_session_refuses_commands(sshd: SshdServer) -> None:
    session = connect(sshd, "plain")
    session.close()
    session.close()
    assert session.closed
    with pytest.raises(SessionFailed, match=r"plain .*already closed"):
        session.run("true")


def test_forced_command_gets_the_original_command_and_its_environment(sshd: SshdServer) -> None:
    with connect(sshd, "envhost") as session:
        assert session.run("Get-Anything -Json").stdout == b"patched 2022|Get-Anything -Json\n"


# ----------------------------------------------------------------------------- user keys


@pytest.mark.parametrize("kind", USER_KEY_TYPES)
def test_logs_in_with_each_user_key_type(sshd: SshdServer, kind: str) -> None:
    with connect(sshd, "plain", key_file=sshd.user_key_files[kind]) as session:
        assert session.run("echo ok").stdout == b"ok\n"
        assert sshd.user_key_fingerprint(kind) in session.authenticated_with


def test_encrypted_key_is_opened_with_the_passphrase_from_the_environment(
    sshd: SshdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_TEST_KEY_PASSPHRASE", ENCRYPTED_KEY_PASSPHRASE)
    with connect(
        sshd, "plain", key_file=sshd.encrypted_key_file, passphrase_env="AUDIT_TEST_KEY_PASSPHRASE"
    ) as session:
        assert session.run("echo ok").stdout == b"ok\n"


def test_encrypted_key_without_passphrase_env_is_an_auth_failure(sshd: SshdServer) -> None:
    with pytest.raises(AuthFailed, match=r"^plain .*is encrypted.*passphrase_env"):
        connect(sshd, "plain", key_file=sshd.encrypted_key_file)


def test_unset_passphrase_variable_is_named(sshd: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_TEST_NO_SUCH_VAR", raising=False)
    with pytest.raises(AuthFailed, match=r"\$AUDIT_TEST_NO_SUCH_VAR, which is not set"):
        connect(sshd, "plain", key_file=sshd.encrypted_key_file, passphrase_env="AUDIT_TEST_NO_SUCH_VAR")


def test_wrong_passphrase_is_not_echoed(sshd: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_TEST_KEY_PASSPHRASE", "wrong-Passphrase-42")
    with pytest.raises(AuthFailed) as failure:
        connect(sshd, "plain", key_file=sshd.encrypted_key_file, passphrase_env="AUDIT_TEST_KEY_PASSPHRASE")
    assert "plain" in str(failure.value)
    assert "cannot be loaded" in str(failure.value)
    assert "wrong-Passphrase-42" not in str(failure.value)


def test_wrong_user_key_is_an_auth_failure_naming_the_host_and_key(sshd: SshdServer) -> None:
    with pytest.raises(AuthFailed) as failure:
        connect(sshd, "plain", key_file=sshd.stranger_key_file)
    message = str(failure.value)
    assert message.startswith("plain (root@[127.0.0.2]:")
    assert "authentication failed as 'root'" in message
    assert sshd.user_key_fingerprint("stranger") in message


def test_refused_password_is_an_auth_failure_without_the_password(
    sshd: SshdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_TEST_PASSWORD", "s3cret-Value!")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(AuthFailed) as failure:
        connect(sshd, "plain", key_file=None, password_env="AUDIT_TEST_PASSWORD")
    message = str(failure.value)
    assert message.startswith("plain ")
    assert "password from $AUDIT_TEST_PASSWORD" in message
    assert "s3cret-Value!" not in message


def test_no_key_file_and_no_agent_is_an_auth_failure(
    sshd: SshdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(AuthFailed, match=r"^plain .*no credential.*SSH_AUTH_SOCK is not set"):
        connect(sshd, "plain", key_file=None)


def test_missing_key_file_is_an_auth_failure(sshd: SshdServer) -> None:
    with pytest.raises(AuthFailed, match=r"^plain .*key_file .*nope does not exist"):
        connect(sshd, "plain", key_file=sshd.dir / "nope")


# ----------------------------------------------------------------------------- host keys


def test_host_key_fingerprint_is_the_openssh_sha256_form(sshd: SshdServer) -> None:
    with connect(sshd, "plain") as session:
        assert session.host_key_fingerprint == sshd.host_fingerprints["ssh-ed25519"]
    public = sshd.dir / "check.pub"
    public.write_text(sshd.known_hosts_lines("plain", key_types=("ssh-ed25519",))[0].split(" ", 1)[1] + "\n")
    listed = subprocess.run(["ssh-keygen", "-lf", str(public)], capture_output=True, text=True, check=True)
    assert listed.stdout.split()[1] == session.host_key_fingerprint


@pytest.mark.parametrize("key_type", ["ssh-rsa", "ecdsa-sha2-nistp256"])
def test_known_key_type_is_asked_for_first(sshd: SshdServer, key_type: str) -> None:
    only = sshd.write_known_hosts(f"known_{key_type}", sshd.known_hosts_lines("plain", key_types=(key_type,)))
    with connect(sshd, "plain", known_hosts=only) as session:
        assert session.host_key_fingerprint == sshd.host_fingerprints[key_type]


def test_hashed_known_hosts_entry_is_accepted(sshd: SshdServer) -> None:
    hashed = sshd.write_known_hosts("known_hashed", sshd.known_hosts_lines("plain", hashed=True))
    assert hashed.read_text().startswith("|1|")
    with connect(sshd, "plain", known_hosts=hashed) as session:
        assert session.run("echo ok").stdout == b"ok\n"


def test_relative_and_home_paths_are_resolved(sshd: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(sshd.dir))
    entry = sshd.host_entry("plain", known_hosts=Path("~/known_hosts"), key_file=Path("id_ecdsa"))
    with open_session(entry, resolve=lambda p: sshd.dir / p, max_output_bytes=MIB) as session:
        assert session.run("echo ok").stdout == b"ok\n"


def test_unknown_host_key_is_refused_before_anything_is_sent(sshd: SshdServer) -> None:
    others = sshd.write_known_hosts("known_others", sshd.known_hosts_lines("plain"))
    before = sshd.connections("quiet")
    with pytest.raises(HostKeyUnknown) as failure:
        connect(sshd, "quiet", known_hosts=others)
    message = str(failure.value)
    assert message.startswith(f"quiet (root@[127.0.0.13]:{sshd.port}): unknown host key")
    assert sshd.host_fingerprints["ssh-ed25519"] in message
    assert f"{others} has no entry for [127.0.0.13]:{sshd.port}" in message
    assert "no command was sent" in message
    assert_nothing_sent(sshd, "quiet", before)


def test_missing_known_hosts_file_means_unknown_host_key(sshd: SshdServer) -> None:
    with pytest.raises(HostKeyUnknown, match=r"^quiet .*known_hosts_absent does not exist"):
        connect(sshd, "quiet", known_hosts=sshd.dir / "known_hosts_absent")


def test_entry_without_port_does_not_match_a_non_standard_port(sshd: SshdServer) -> None:
    portless = sshd.write_known_hosts("known_portless", sshd.known_hosts_lines("quiet", with_port=False))
    with pytest.raises(HostKeyUnknown, match=r"has no entry for \[127\.0\.0\.13\]:"):
        connect(sshd, "quiet", known_hosts=portless)


def test_changed_host_key_is_refused_before_anything_is_sent(sshd: SshdServer) -> None:
    impostor = sshd.write_known_hosts("known_impostor", sshd.known_hosts_lines("quiet", impostor=True))
    before = sshd.connections("quiet")
    with pytest.raises(HostKeyChanged) as failure:
        connect(sshd, "quiet", known_hosts=impostor)
    message = str(failure.value)
    assert message.startswith("quiet (root@[127.0.0.13]:")
    assert f"has ssh-ed25519 {sshd.impostor_fingerprint} (line 1)" in message
    assert f"offered ssh-ed25519 {sshd.host_fingerprints['ssh-ed25519']}" in message
    assert "no command was sent" in message
    assert_nothing_sent(sshd, "quiet", before)


def test_revoked_host_key_is_refused(sshd: SshdServer) -> None:
    lines = sshd.known_hosts_lines("quiet")
    revoked = sshd.write_known_hosts("known_revoked", [*lines, f"@revoked {lines[0]}"])
    before = sshd.connections("quiet")
    with pytest.raises(HostKeyChanged, match=r"^quiet .*marks @revoked"):
        connect(sshd, "quiet", known_hosts=revoked)
    assert_nothing_sent(sshd, "quiet", before)


def test_pinned_fingerprint_suffices_without_known_hosts(sshd: SshdServer) -> None:
    pin = sshd.host_fingerprints["ssh-ed25519"]
    with connect(sshd, "plain", known_hosts=sshd.dir / "known_hosts_absent", host_key_sha256=pin) as session:
        assert session.host_key_fingerprint == pin
        assert session.run("echo ok").stdout == b"ok\n"


def test_pinned_fingerprint_mismatch_is_a_changed_key(sshd: SshdServer) -> None:
    before = sshd.connections("quiet")
    with pytest.raises(HostKeyChanged) as failure:
        connect(sshd, "quiet", host_key_sha256=sshd.impostor_fingerprint)
    assert f"host_key_sha256 pins {sshd.impostor_fingerprint}" in str(failure.value)
    assert sshd.host_fingerprints["ssh-ed25519"] in str(failure.value)
    assert_nothing_sent(sshd, "quiet", before)


def test_pin_and_known_hosts_must_agree(sshd: SshdServer) -> None:
    impostor = sshd.write_known_hosts("known_impostor2", sshd.known_hosts_lines("quiet", impostor=True))
    with pytest.raises(HostKeyChanged, match=r"^quiet .*host key changed"):
        connect(sshd, "quiet", known_hosts=impostor, host_key_sha256=sshd.host_fingerprints["ssh-ed25519"])


def test_known_hosts_patterns_follow_openssh(tmp_path: Path) -> None:
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    file = tmp_path / "known_hosts"
    file.write_text(
        f"# comment\n*.example.nl,!bad.example.nl {line}\n10.0.0.? {line}\n@cert-authority * {line}\ngarbage\n"
    )
    assert [k.line for k in known_host_keys(file, "web1.example.nl")] == [2]
    assert known_host_keys(file, "bad.example.nl") == []
    assert [k.line for k in known_host_keys(file, "10.0.0.7")] == [3]
    assert known_host_keys(file, "10.0.0.17") == []
    assert known_host_keys(file, "WEB1.EXAMPLE.NL")[0].fingerprint == fingerprint(
        known_host_keys(file, "web1.example.nl")[0].blob
    )


# ----------------------------------------------------------------------------- jump hosts


def test_jump_host_carries_the_connection_over_direct_tcpip(sshd: SshdServer) -> None:
    with connect(sshd, "bastion") as bastion:
        target = open_session(sshd.host_entry("inner"), resolve=same, via=bastion, max_output_bytes=MIB)
        with target:
            assert target.run("echo inner").stdout == b"inner\n"
            assert target.host_key_fingerprint == sshd.host_fingerprints["ssh-ed25519"]
            assert (bastion.tunnels, bastion.round_trips, target.logins) == (1, 0, 1)
        assert re.search(
            rf"direct_tcpip: originator .*target 127\.0\.0\.4 port {sshd.port}\b", sshd.log_text()
        )


def test_closing_the_bastion_ends_the_tunnelled_session(sshd: SshdServer) -> None:
    bastion = connect(sshd, "bastion")
    target = open_session(sshd.host_entry("inner"), resolve=same, via=bastion, max_output_bytes=MIB)
    bastion.close()
    deadline = time.monotonic() + 5
    while not target.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(SessionFailed, match=r"^inner "):
        target.run("true")


def test_host_key_is_checked_behind_a_jump_host(sshd: SshdServer) -> None:
    impostor = sshd.write_known_hosts("known_impostor3", sshd.known_hosts_lines("inner", impostor=True))
    with connect(sshd, "bastion") as bastion, pytest.raises(HostKeyChanged, match=r"^inner "):
        open_session(
            sshd.host_entry("inner", known_hosts=impostor), resolve=same, via=bastion, max_output_bytes=MIB
        )


def test_jump_host_that_cannot_reach_the_target_names_both(sshd: SshdServer) -> None:
    with connect(sshd, "bastion") as bastion, pytest.raises(HostUnreachable) as failure:
        open_session(sshd.host_entry("down"), resolve=same, via=bastion, max_output_bytes=MIB)
    assert str(failure.value).startswith("down (root@[127.0.0.11]:")
    assert "jump host bastion could not connect to 127.0.0.11" in str(failure.value)


# ----------------------------------------------------------------------------- faults


def test_command_timeout_names_the_host_and_closes_the_channel(sshd: SshdServer) -> None:
    with connect(sshd, "sleeper") as session:
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match=r"^sleeper .*timed out after 0.5 s"):
            session.run("anything", timeout=0.5)
        assert time.monotonic() - started < 3


def test_host_command_timeout_is_the_default(sshd: SshdServer) -> None:
    with connect(sshd, "sleeper", command_timeout_seconds=0.3) as session, pytest.raises(CommandTimeout):
        session.run("anything")


def test_session_stays_usable_after_a_timeout(sshd: SshdServer) -> None:
    with connect(sshd, "plain") as session:
        with pytest.raises(CommandTimeout):
            session.run("sleep 5", timeout=0.3)
        assert session.run("echo still here").stdout == b"still here\n"


def test_host_down_is_unreachable(sshd: SshdServer) -> None:
    with pytest.raises(HostUnreachable, match=r"^down \(root@\[127\.0\.0\.11\]:\d+\): connection refused"):
        connect(sshd, "down")


def test_host_that_never_speaks_ssh_times_out_on_connect(sshd: SshdServer) -> None:
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match=r"^silent .*within 0.5 s"):
        connect(sshd, "silent", connect_timeout_seconds=0.5)
    assert time.monotonic() - started < 3


def test_garbage_output_is_returned_faithfully(sshd: SshdServer) -> None:
    with connect(sshd, "garbage") as session:
        result = session.run("gather")
    assert result == CommandResult(
        exit_code=0, stdout=b"\xff\xfegarbage \x1b[31m not json\x00 tail", stderr=b""
    )


def test_truncated_output_is_returned_faithfully(sshd: SshdServer) -> None:
    with connect(sshd, "truncated") as session:
        result = session.run("gather")
    assert result == CommandResult(exit_code=0, stdout=b'{"os": {"id": "debian", "versi', stderr=b"")


def test_non_zero_exit_is_returned_with_its_output(sshd: SshdServer) -> None:
    with connect(sshd, "failing") as session:
        result = session.run("gather")
    assert result == CommandResult(exit_code=3, stdout=b"partial\n", stderr=b"boom: permission denied\n")


def test_command_killed_without_exit_status_is_an_output_error(sshd: SshdServer) -> None:
    with (
        connect(sshd, "killed") as session,
        pytest.raises(HostOutputError, match=r"^killed .*without an exit status"),
    ):
        session.run("gather")


def test_huge_output_is_capped(sshd: SshdServer) -> None:
    with connect(sshd, "huge", max_output_bytes=MIB) as session:
        started = time.monotonic()
        with pytest.raises(OutputTooLarge) as failure:
            session.run("gather", timeout=20)
        assert time.monotonic() - started < 5
    message = str(failure.value)
    assert message.startswith("huge (root@[127.0.0.8]:")
    assert f"max_output_bytes = {MIB}" in message


def test_every_error_is_a_host_error() -> None:
    for kind in (HostKeyUnknown, HostKeyChanged, AuthFailed, HostUnreachable, CommandTimeout, OutputTooLarge):
        assert issubclass(kind, HostError)
    assert issubclass(SessionFailed, HostError)


def test_a_failing_host_does_not_hold_up_the_others(sshd: SshdServer) -> None:
    def gather(name: str) -> float | str:
        started = time.monotonic()
        try:
            with connect(sshd, name) as session:
                session.run("echo ok", timeout=1)
        except HostError as exc:
            return type(exc).__name__
        return time.monotonic() - started

    with ThreadPoolExecutor(4) as pool:
        results = dict(
            zip(
                ["sleeper", "down", "plain", "inner"],
                pool.map(gather, ["sleeper", "down", "plain", "inner"]),
                strict=True,
            )
        )
    assert results["sleeper"] == "CommandTimeout"
    assert results["down"] == "HostUnreachable"
    assert isinstance(results["plain"], float)
    assert results["plain"] < 1.5
    assert isinstance(results["inner"], float)
    assert results["inner"] < 1.5


# ----------------------------------------------------------------------------- the harness itself


def test_harness_fails_loudly_when_sshd_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SshdMissing, match=r"bash tests/run\.sh"):
        SshdServer(tmp_path, {"a": None}, sshd=tmp_path / "no-sshd").start()


def test_harness_starts_fast_and_leaves_no_process_behind(
    sshd_factory: Callable[..., SshdServer],
) -> None:
    hosts: dict[str, HostBehaviour | None] = {f"h{n}": None for n in range(20)}  # two sshd processes
    hosts["sleeper"] = HostBehaviour(command="exec sleep 60")
    started = time.monotonic()
    server = sshd_factory(hosts)
    assert time.monotonic() - started < 1.0
    assert server.address("sleeper") == "127.0.0.22"
    with connect(server, "sleeper") as session, pytest.raises(CommandTimeout):
        session.run("x", timeout=0.3)
    with connect(server, "h0") as session:
        assert session.run("echo first").stdout == b"first\n"
    assert server.leftover_processes(), "the abandoned sleep should still run until stop()"
    server.stop()
    assert server.leftover_processes() == set()
    assert not [line for line in _ps() if str(server.dir) in line]


def _ps() -> list[str]:
    return subprocess.run(
        ["ps", "-eo", "stat,args"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
