"""Linux hosts: the fact script run for real on this machine, its parser on captured outputs, and the
cross-OS host controls (12b.host-firewall, 12b.host-port-scope, 12c.host-admins,
12e.host-volume-encryption) plus 12g.linux-patching on literal facts.

The nftables and iptables fixtures are real outputs: `nft -j list ruleset`, `iptables-save` and
`ip6tables-save` (legacy and nf_tables) of the rulesets beside them (`*.nft`, `*.rules`; the
hardened host's, shared with the demo, in demo/standins/linux_recordings/), loaded into a private
network namespace with Debian 12's nftables 1.0.6 and iptables 1.8.9. ufw,
firewalld, dnf, LUKS lsblk and ss fixtures follow the tools' documented output.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.config.inventory import HostEntry
from collectors.config.policy import Policy
from collectors.hosts.commands import CommandResult, HostOutputError
from collectors.hosts.facts import (
    FirewallProfile,
    HostAdmins,
    HostFacts,
    HostFirewall,
    InboundAllowRule,
    LinuxPendingUpdate,
    LinuxUpdates,
    Listener,
    OperatingSystem,
    Volume,
    profile_families,
)
from collectors.hosts.linux.command import LINUX_SCRIPT, linux_command
from collectors.hosts.linux.firewall import parse_firewalld, parse_ufw
from collectors.hosts.linux.iptables import iptables_backend, parse_iptables_save
from collectors.hosts.linux.listeners import parse_ss
from collectors.hosts.linux.nftables import parse_nft
from collectors.hosts.linux.parse import parse_linux
from collectors.hosts.linux.sections import split_sections
from collectors.hosts.linux.updates import parse_dnf_check_update, parse_dnf_updateinfo
from collectors.hosts.linux.volumes import parse_volumes
from collectors.hosts.ssh import open_session
from collectors.messages import english_text
from controls import test_12b_trusted_networks as c12b
from controls import test_12c_authorised_access as c12c
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12g_linux_patching as c12g
from controls.framework import Verdict
from demo.standins.sshd_server import HostBehaviour, SshdServer
from reports.evidence import msg
from reports.i18n.translation import english, translator
from tests.control_calls import verdict, verdict_and_evidence

FIXTURES = Path(__file__).parent / "fixtures" / "linux"
LINUX_RECORDINGS = Path(__file__).parents[1] / "demo" / "standins" / "linux_recordings"
"""The hardened host's nft and lsblk outputs, shared with the demo (its README.md says what they are)."""
HOST = HostEntry(name="lin-01", address="127.0.0.1", user="auditor", os="linux", roles=["db"])
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TRUSTED = ["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"]
RUN_DATE = date(2026, 11, 29)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def recording(name: str) -> str:
    return (LINUX_RECORDINGS / name).read_text()


class LocalRunner:
    """A CommandRunner that runs the command on this machine (optionally inside a wrapper command)."""

    def __init__(self, wrapper: Sequence[str] = ()) -> None:
        self.wrapper = list(wrapper)

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> CommandResult:
        done = subprocess.run(
            [*self.wrapper, "sh", "-c", command], input=stdin, capture_output=True, timeout=timeout or 60
        )
        return CommandResult(done.returncode, done.stdout, done.stderr)


def run_script(script: str = LINUX_SCRIPT, wrapper: Sequence[str] = ()) -> CommandResult:
    return LocalRunner(wrapper).run("sh -s", stdin=script.lstrip().encode())


def gather(wrapper: Sequence[str] = (), script: str | None = None) -> HostFacts:
    if script is None:
        command = linux_command()
        result = LocalRunner(wrapper).run(command.command, stdin=command.stdin)
    else:
        result = run_script(script, wrapper)
    return parse_linux(result, HOST)


def on_path(tool: str) -> bool:
    return shutil.which(tool, path=SBIN_PATH) is not None


def can_unshare_mounts() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


# --- the script, for real on this machine ------------------------------------------------------------


@pytest.fixture(scope="module")
def listening_port() -> Iterator[int]:
    """A TCP socket of this test process listening on loopback, for the script to find."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@dataclass(frozen=True)
class LocalRun:
    """One real run of the fact command on this machine, with what the test needs around it."""

    result: CommandResult
    seconds: float
    apt_lists_before: dict[str, float]
    apt_lists_after: dict[str, float]


def _apt_lists() -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in Path("/var/lib/apt/lists").glob("*Release")}


@pytest.fixture(scope="module")
def local_run(listening_port: int) -> LocalRun:
    before = _apt_lists()
    command = linux_command()
    started = time.monotonic()
    result = LocalRunner().run(command.command, stdin=command.stdin)
    return LocalRun(result, time.monotonic() - started, before, _apt_lists())


@pytest.fixture(scope="module")
def local_facts(local_run: LocalRun) -> HostFacts:
    return parse_linux(local_run.result, HOST)


def test_linux_command_feeds_the_script_to_sh_on_stdin() -> None:
    command = linux_command()
    assert command.command == "sh -s"
    assert command.stdin is not None
    assert command.stdin.rstrip().endswith(b"main </dev/null")
    assert linux_command(elevate=True).command == "sudo -n sh -s"


def test_script_is_one_round_trip_that_finishes_quickly(local_run: LocalRun) -> None:
    assert local_run.result.exit_code == 0, local_run.result.stderr
    assert local_run.result.stdout.count(b"@@AUDIT-DONE") == 1
    assert local_run.result.stderr == b""
    assert local_run.seconds < 15


def test_this_machine_reports_debian_12_from_os_release(local_facts: HostFacts) -> None:
    os_release = Path("/etc/os-release").read_text()
    if "ID=debian" not in os_release:
        pytest.skip("this machine is not Debian")
    assert local_facts.os.family == "linux"
    assert local_facts.os.distribution == "debian"
    assert local_facts.os.version == "12"
    assert local_facts.os.product.startswith("Debian GNU/Linux 12")
    assert local_facts.os.kernel == os.uname().release
    assert local_facts.name == "lin-01"
    assert local_facts.roles == ("db",)


def test_this_machines_listening_socket_is_found(local_facts: HostFacts, listening_port: int) -> None:
    assert local_facts.firewall is not None, local_facts.section_errors
    found = [sock for sock in local_facts.firewall.listeners if sock.port == listening_port]
    assert found == [Listener("TCP", "127.0.0.1", listening_port, found[0].process if found else None)]


def test_this_machines_block_devices_are_read(local_facts: HostFacts) -> None:
    assert local_facts.volumes is not None, local_facts.section_errors
    root_source = subprocess.run(["findmnt", "-n", "-o", "SOURCE", "/"], capture_output=True, text=True)
    if root_source.stdout.startswith("/dev/"):
        roots = [v for v in local_facts.volumes if v.mount == "/"]
        assert len(roots) == 1
        assert roots[0].kind == "root"
        crypt = subprocess.run(
            ["lsblk", "-s", "-n", "-o", "TYPE", root_source.stdout.strip()], capture_output=True, text=True
        )
        assert roots[0].encrypted == ("crypt" in crypt.stdout.split())


def test_missing_firewall_tools_are_absent_sections_not_errors(
    local_run: LocalRun, local_facts: HostFacts
) -> None:
    sections = split_sections(local_run.result.stdout, "local")
    for section, tool in (
        ("nft", "nft"),
        ("iptables", "iptables-save"),
        ("ufw", "ufw"),
        ("firewalld", "firewall-cmd"),
    ):
        assert sections[section].absent == (not on_path(tool))
    if not any(on_path(t) for t in ("nft", "iptables-save", "ip6tables-save", "ufw", "firewall-cmd")):
        assert local_facts.firewall is not None
        assert local_facts.firewall.profiles == ()
        assert "firewall" not in local_facts.section_errors


def test_this_machines_pending_updates_come_from_apt_without_refreshing_the_index(
    local_run: LocalRun, local_facts: HostFacts
) -> None:
    if not on_path("apt"):
        pytest.skip("apt is not installed")
    assert local_run.apt_lists_after == local_run.apt_lists_before
    updates = local_facts.linux_updates
    assert updates is not None, local_facts.section_errors
    assert updates.manager == "apt"
    assert updates.index_updated is not None
    assert updates.index_updated.timestamp() == pytest.approx(max(local_run.apt_lists_before.values()), abs=1)
    for update in updates.pending:
        assert update.security == ("-security" in update.origin)
    apt = subprocess.run(
        ["apt", "list", "--upgradable"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
    )
    listed = [line for line in apt.stdout.splitlines() if "[upgradable from:" in line]
    assert len(updates.pending) == len(listed)


def test_this_machines_admin_groups_and_sshd_config_are_read(local_facts: HostFacts) -> None:
    if os.geteuid() != 0:
        pytest.skip("root-only sections (sudoers, every authorized_keys) need root")
    assert local_facts.admins is not None, local_facts.section_errors
    sudo = subprocess.run(["getent", "group", "sudo"], capture_output=True, text=True).stdout.strip()
    members = {m for m in sudo.rsplit(":", 1)[-1].split(",") if m} if sudo else set()
    assert members - {"root"} <= set(local_facts.admins.members)
    if local_facts.sshd_config is not None:
        assert "port" in local_facts.sshd_config
    else:
        assert english_text(local_facts.section_errors["sshd_config"]).startswith("sshd -T")


def _keys(tmp_path: Path) -> tuple[Path, list[str]]:
    lines, expected = [], []
    for index, (kind, comment) in enumerate((("ed25519", "alice@laptop secret comment"), ("rsa", "bob"))):
        key = tmp_path / f"key{index}"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(key)], check=True)
        public = key.with_suffix(".pub").read_text().strip()
        lines.append(public if index else f'from="192.0.2.0/24",no-pty {public}')
        fingerprint = subprocess.run(
            ["ssh-keygen", "-lf", str(key.with_suffix(".pub"))], capture_output=True, text=True
        )
        expected.append(f"{fingerprint.stdout.split()[1]} {kind.upper()} root")
    keys = tmp_path / "authorized_keys"
    keys.write_text("# managed by ops\n\n" + "\n".join(lines) + "\nnot a key at all\n")
    return keys, expected


def test_authorized_keys_are_reduced_to_fingerprints_on_the_host(tmp_path: Path) -> None:
    if not can_unshare_mounts() or shutil.which("ssh-keygen") is None:
        pytest.skip("needs root, unshare -m and ssh-keygen")
    keys, expected = _keys(tmp_path)
    # A private mount namespace: root's home is a tmpfs holding only this authorized_keys.
    setup = f"mount -t tmpfs tmpfs /root && mkdir -m 700 /root/.ssh && cp {keys} /root/.ssh/authorized_keys && exec sh -s"
    result = run_script(_with_path(tmp_path), wrapper=["unshare", "-m", "sh", "-c", setup])
    facts = parse_linux(result, HOST)
    assert facts.admins is not None, facts.section_errors
    assert sorted(facts.admins.ssh_key_fingerprints) == sorted(expected)
    decoded = "".join(s.stdout + s.stderr for s in split_sections(result.stdout, "x").values())
    assert "secret comment" not in decoded
    assert "AAAA" not in decoded


def test_unprivileged_account_gets_section_errors_not_a_crash() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root to run the script as nobody")
    if os.stat("/root").st_mode & 0o001:
        pytest.skip("root's home is searchable by everyone here")
    facts = gather(wrapper=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    assert facts.os.family == "linux"
    assert facts.os.version
    assert facts.admins is None
    assert "authorized_keys cannot be read without root" in english_text(facts.section_errors["admins"])
    assert "/root/.ssh/authorized_keys (user root)" in english_text(facts.section_errors["admins"])
    assert facts.volumes is not None


def test_sudoers_is_reduced_to_users_and_programs_and_never_leaks_defaults_or_arguments(
    tmp_path: Path,
) -> None:
    shutil.copytree(FIXTURES / "sudoers", tmp_path / "sudoers")
    main = tmp_path / "sudoers" / "sudoers"
    main.write_text(
        main.read_text().replace("@includedir /etc/sudoers.d", f"@includedir {tmp_path}/sudoers/sudoers.d")
    )
    script = LINUX_SCRIPT.replace("SUDOERS=/etc/sudoers\n", f"SUDOERS={main}\n")
    assert script != LINUX_SCRIPT
    (tmp_path / "bin").mkdir()
    result = run_script(_with_path(tmp_path / "bin", script))
    sudoers = split_sections(result.stdout, "x")["sudoers"]
    assert sudoers.ok, sudoers.stderr
    for secret in ("hunter2", "cmnd-alias-secret", "command-line-secret", "secure_path", "mallory", "web01"):
        assert secret not in sudoers.stdout
    assert "/usr/bin/mysqldump\t<args>" in sudoers.stdout, "the program is kept, its arguments are not"
    facts = parse_linux(result, HOST)
    if facts.admins is None:
        assert "authorized_keys" in english_text(facts.section_errors["admins"])
        return
    sudo_group = subprocess.run(["getent", "group", "sudo"], capture_output=True, text=True).stdout.strip()
    in_sudo = {m for m in sudo_group.rsplit(":", 1)[-1].split(",") if m} - {"root"}
    uid_1001 = subprocess.run(["getent", "passwd", "1001"], capture_output=True, text=True).stdout.split(":")[
        0
    ]
    # DBAS alias (dana, %dbadmins: no such group here), carol and dave (continuation line),
    # #1001 (a uid), debian (sudoers.d), backup (rsync as root: it runs any program with -e);
    # not root, not nagios (one plugin), not mallory (files with a dot or ending in ~ are
    # skipped, as sudo does).
    expected = {uid_1001 or "#1001", "%dbadmins", "backup", "carol", "dana", "dave", "debian"} | in_sudo
    assert set(facts.admins.members) == expected


def _fake_tool(directory: Path, name: str, output: str, rc: int = 0, stderr: str = "") -> None:
    (directory / f"{name}.out").write_text(output)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\ncat '{directory}/{name}.out'\nprintf '%s' '{stderr}' >&2\nexit {rc}\n")
    tool.chmod(0o755)


def _with_path(directory: Path, script: str = LINUX_SCRIPT) -> str:
    """Return the script with `directory` first on its PATH, holding stand-ins for some tools.

    A quiet `apt` is always among them: these runs test other sections, and the real
    `apt list` is the slow part of the script.
    """
    if not (directory / "apt").exists():
        _fake_tool(directory, "apt", "Listing...\n")
    changed = script.replace(f"PATH={SBIN_PATH}\n", f"PATH={directory}:{SBIN_PATH}\n")
    assert changed != script
    return changed


def test_firewall_tools_found_by_the_script_are_parsed_end_to_end(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "nft", recording("nft_hardened.json"))
    _fake_tool(tmp_path, "iptables-save", fixture("iptables_nft_save.txt"))
    _fake_tool(tmp_path, "ip6tables-save", "")
    _fake_tool(tmp_path, "ufw", fixture("ufw_status_active.txt"))
    facts = gather(script=_with_path(tmp_path))
    assert facts.firewall is not None, facts.section_errors
    names = [p.name for p in facts.firewall.profiles]
    assert names == ["iptables filter INPUT", "nftables inet filter input", "ufw"]
    assert all(p.enabled and p.default_inbound == "drop" for p in facts.firewall.profiles)


def test_firewall_tool_that_cannot_be_read_makes_the_firewall_an_error(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "nft", "", rc=1, stderr="Error: Could not process rule: Operation not permitted")
    facts = gather(script=_with_path(tmp_path))
    assert facts.firewall is None
    assert english_text(facts.section_errors["firewall"]) == (
        "nft -j list ruleset failed (exit 1): Error: Could not process rule: Operation not permitted"
    )
    assert verdict(c12b.test_host_firewall_blocks_inbound_by_default, facts) == Verdict(
        "error", english_text(facts.section_errors["firewall"])
    )


# --- the framing ---------------------------------------------------------------------------------------


def test_login_banner_before_the_markers_is_ignored(local_run: LocalRun) -> None:
    banner = b"Welcome to lin-01!\nLast login: today\n"
    facts = parse_linux(CommandResult(0, banner + local_run.result.stdout, b""), HOST)
    assert facts.os.family == "linux"


def test_truncated_output_is_a_host_output_error(local_run: LocalRun) -> None:
    output = local_run.result.stdout
    with pytest.raises(HostOutputError, match="truncated"):
        parse_linux(CommandResult(0, output[: len(output) // 2].rsplit(b"\n", 1)[0], b""), HOST)


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        (b"", "printed no audit markers \\(no output\\)"),
        (b"bash: sh: command not found\n", "printed no audit markers \\(output starts: 'bash: sh: command not found'\\)"),
        (b"@@AUDIT-BEGIN v=1@@\n@@AUDIT-SECTION name=kernel@@\n<html>oops</html>\n", "unexpected output at line 3"),
        (b"@@AUDIT-BEGIN v=1@@\n@@AUDIT-SECTION name=kernel@@\nNi4x\n@@AUDIT-RC 0@@\n@@AUDIT-STDERR@@\n@@AUDIT-END name=os@@\n", "ends as 'os'"),
        (b"@@AUDIT-BEGIN v=1@@\n@@AUDIT-DONE sections=3@@\n", "reported 3 sections, 0 arrived"),
        (b"@@AUDIT-BEGIN v=9@@\n", "unknown fact script version '9'"),
        (b"@@AUDIT-FATAL base64 is not installed on this host@@\n", "stopped: base64 is not installed"),
        (b"@@AUDIT-BEGIN v=1@@\n@@AUDIT-SECTION name=kernel@@\nN=i4x\n@@AUDIT-RC 0@@\n@@AUDIT-STDERR@@\n@@AUDIT-END name=kernel@@\n@@AUDIT-DONE sections=1@@\n", "not valid base64"),
    ],
)  # fmt: skip
def test_garbage_output_is_a_host_output_error(stdout: bytes, message: str) -> None:
    with pytest.raises(HostOutputError, match=message):
        parse_linux(CommandResult(0, stdout, b""), HOST)


def test_non_zero_exit_of_the_script_is_a_host_output_error() -> None:
    with pytest.raises(HostOutputError, match="exited 1: sudo: a password is required"):
        parse_linux(CommandResult(1, b"", b"sudo: a password is required\n"), HOST)


def _framed(
    sections: dict[str, tuple[int, str]], stderr: str = "boom", absent: tuple[str, ...] = ()
) -> bytes:
    """Frame section bodies as the script does; a failing section says `stderr`; `absent` tools are not installed."""
    out = ["@@AUDIT-BEGIN v=1@@", *(f"@@AUDIT-ABSENT name={tool} tool={tool}@@" for tool in absent)]
    for name, (rc, body) in sections.items():
        out += [
            f"@@AUDIT-SECTION name={name}@@",
            base64.b64encode(body.encode()).decode(),
            f"@@AUDIT-RC {rc}@@",
        ]
        out += [
            "@@AUDIT-STDERR@@",
            base64.b64encode(stderr.encode() if rc else b"").decode(),
            f"@@AUDIT-END name={name}@@",
        ]
    out.append(f"@@AUDIT-DONE sections={len(sections) + len(absent)}@@")
    return ("\n".join(out) + "\n").encode()


def test_unreadable_os_release_is_a_section_error_and_no_package_manager_is_an_error() -> None:
    facts = parse_linux(
        CommandResult(0, _framed({"os-release": (1, ""), "kernel": (0, "6.1.0\n")}), b""), HOST
    )
    assert facts.os == OperatingSystem(
        family="linux", product="Linux (os-release unreadable)", version="", kernel="6.1.0"
    )
    assert english_text(facts.section_errors["os"]) == "reading /etc/os-release failed (exit 1): boom"
    assert facts.linux_updates is None
    assert (
        english_text(facts.section_errors["linux_updates"])
        == "no supported package manager (apt, dnf or yum) was found"
    )
    assert facts.volumes is None
    assert facts.firewall is None
    assert facts.admins is None


# --- parsers on captured outputs ---------------------------------------------------------------------


def test_nft_input_chain_policy_drop_with_sets_ranges_and_a_jump() -> None:
    profiles, rules = parse_nft(recording("nft_hardened.json"))
    assert profiles == [FirewallProfile("nftables inet filter input", True, "drop")]
    by_ports = {(r.protocol, r.local_ports): r.remote_addresses for r in rules}
    assert by_ports[("TCP", ("80", "443"))] == ("Any",)
    assert by_ports[("TCP", ("22",))] in (
        ("192.0.2.0/24", "198.51.100.7", "203.0.113.10-203.0.113.20"),
        ("2001:db8::/32",),
    )
    assert by_ports[("TCP", ("1433", "5000-5100"))] == ("10.0.0.0/8", "192.0.2.5")
    assert by_ports[("UDP", ("161",))] == ("0.0.0.0/0",)
    assert by_ports[("TCP", ("3389",))] == ("198.51.100.0-198.51.100.255",)
    # `tcp dport 5432 jump db_clients`: the accepts in db_clients inherit the port.
    assert [r.remote_addresses for r in rules if r.local_ports == ("5432",)] == [
        ("192.0.2.0/24",),
        ("100.64.0.0/10",),
    ]
    # established/related (vmap), loopback and the forward chain's accept are not inbound allow rules.
    assert not [r for r in rules if "#7" in r.name or "#8 " in r.name or "3306" in r.local_ports]
    assert {r.name for r in rules if r.protocol.startswith("ICMP")} == {"nftables inet filter input #10"}
    assert all(r.profiles == ("nftables inet filter input",) for r in rules)


def test_nft_chain_with_accept_policy_ending_in_reject_blocks_by_default() -> None:
    profiles, rules = parse_nft(fixture("nft_firewalld_style.json"))
    assert profiles == [
        FirewallProfile(
            "nftables inet firewalld filter_INPUT", True, "reject (last rule; chain policy accept)"
        ),
        FirewallProfile("nftables ip6 only6 inp", True, "drop"),
    ]
    internal = {(r.protocol, r.local_ports) for r in rules if r.remote_addresses == ("192.0.2.0/24",)}
    # goto with `ip saddr`: the zone's rules inherit the source; `th dport` is TCP or UDP; `< 1024` a range.
    assert internal == {("TCP", ("1433",)), ("Any", ("5432",)), ("TCP", ("0-1023",))}
    public = {
        (r.protocol, r.local_ports) for r in rules if r.remote_addresses == ("Any",) and "public" in r.name
    }
    # `tcp dport != 1-1024` admits every other TCP port.
    assert {("TCP", ("22",)), ("UDP", ("546",)), ("TCP", ("9090",)), ("TCP", ("Any",))} <= public
    assert len(rules) == len(set(rules)), "a chain reached twice lists its rules once"
    assert not [r for r in rules if "filter_INPUT #9" in r.name], (
        "ct status dnat is not a direct inbound allow"
    )


def test_nft_table_written_by_iptables_nft_marks_what_it_cannot_read() -> None:
    profiles, rules = parse_nft(fixture("nft_iptables_nft.json"))
    assert profiles == [FirewallProfile("nftables ip filter INPUT", True, "drop")]
    multiport = [r for r in rules if "multiport" in r.name]
    assert multiport
    assert all(r.local_ports == ("Any",) for r in multiport)
    assert parse_nft(fixture("nft_iptables_nft.json"), skip_tables=[("ip", "filter")]) == ([], [])


def test_nft_empty_ruleset_has_no_profiles_and_bad_json_is_an_error() -> None:
    assert parse_nft('{"nftables": [{"metainfo": {"json_schema_version": 1}}]}') == ([], [])
    with pytest.raises(ValueError, match="no nftables list"):
        parse_nft('{"something": []}')


def test_iptables_save_input_policy_and_accept_rules_through_user_chains() -> None:
    text = fixture("iptables_legacy_save.txt")
    assert iptables_backend(text) == "legacy"
    assert iptables_backend(fixture("iptables_nft_save.txt")) == "nf_tables"
    profiles, rules = parse_iptables_save(text)
    assert profiles == [FirewallProfile("iptables filter INPUT", True, "drop")]
    shown = {(r.name, r.protocol, r.local_ports, r.remote_addresses) for r in rules if r.protocol != "ICMP"}
    assert shown == {
        ("iptables ufw-user-input rule 1", "TCP", ("22",), ("Any",)),
        ("iptables ufw-user-input rule 2 (db from office)", "TCP", ("1433", "5000-5100"), ("192.0.2.0/24",)),
        ("iptables ufw-user-input rule 3", "TCP", ("80", "443"), ("Any",)),
        ("iptables ufw-user-input rule 4", "Any", ("Any",), ("203.0.113.0/24",)),
        ("iptables ufw-user-input rule 5", "TCP", ("3389",), ("198.51.100.1-198.51.100.50",)),
        ("iptables ufw-user-input rule 6 [! -s 10.0.0.0/8: every other address]", "TCP", ("5432",), ("Any",)),
        ("iptables ufw-user-input rule 7", "UDP", ("3306-3307",), ("Any",)),
    }


def test_ip6tables_save_with_accept_policy() -> None:
    profiles, rules = parse_iptables_save(fixture("ip6tables_legacy_save.txt"), "ip6tables")
    assert profiles == [FirewallProfile("ip6tables filter INPUT", True, "accept")]
    assert rules == [
        InboundAllowRule(
            "ip6tables INPUT rule 1", "TCP", ("22",), ("2001:db8::/32",), ("ip6tables filter INPUT",)
        )
    ]
    assert profile_families(profiles[0]) == frozenset({"ipv6"})


def test_iptables_final_drop_rule_blocks_and_hides_later_rules() -> None:
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 443 -j ACCEPT\n-A INPUT -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    profiles, rules = parse_iptables_save(text)
    assert profiles == [
        FirewallProfile("iptables filter INPUT", True, "drop (last rule; chain policy accept)")
    ]
    assert [r.local_ports for r in rules] == [("443",)]


def test_classic_rhel_iptables_final_reject_with_target_options_blocks() -> None:
    text = (
        "*filter\n:INPUT ACCEPT [0:0]\n"
        "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -i lo -j ACCEPT\n"
        "-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT\n"
        '-A INPUT -j LOG --log-prefix "dropped: "\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n'
    )
    profiles, rules = parse_iptables_save(text)
    assert profiles == [
        FirewallProfile("iptables filter INPUT", True, "reject (last rule; chain policy accept)")
    ]
    assert [(r.name, r.local_ports) for r in rules] == [("iptables INPUT rule 3", ("22",))]


def test_iptables_ipset_source_is_kept_unresolved() -> None:
    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 5985 -m set --match-set admins src -j ACCEPT\nCOMMIT\n"
    _, rules = parse_iptables_save(text)
    assert rules[0].remote_addresses == ("ipset admins (addresses not read)",)


def test_ufw_active_inactive_and_allowing() -> None:
    assert parse_ufw(fixture("ufw_status_active.txt")) == FirewallProfile("ufw", True, "drop")
    assert parse_ufw(fixture("ufw_status_inactive.txt")) == FirewallProfile("ufw", False, "accept")
    assert parse_ufw(fixture("ufw_status_allow_incoming.txt")) == FirewallProfile("ufw", True, "accept")
    with pytest.raises(ValueError, match="no Status line"):
        parse_ufw("ERROR: You need to be root to run this script\n")


def test_firewalld_active_and_default_zones_become_profiles() -> None:
    assert parse_firewalld(fixture("firewalld_running.txt")) == [
        FirewallProfile("firewalld zone docker", True, "accept"),
        FirewallProfile("firewalld zone public", True, "reject"),
    ]
    assert parse_firewalld(fixture("firewalld_not_running.txt")) == [
        FirewallProfile("firewalld", False, "accept")
    ]


def test_luks_beneath_root_and_data_mounts_is_encrypted() -> None:
    volumes = {
        v.mount: v for v in parse_volumes(recording("lsblk_luks_lvm.json"), fixture("findmnt_luks_lvm.json"))
    }
    assert volumes["/"] == Volume(
        "/",
        "root",
        True,
        "vda (disk) > vda3 (part, crypto_LUKS) > vda3_crypt (crypt, LVM2_member) > vg0-root (lvm, ext4)",
    )
    assert volumes["/srv/data"].encrypted
    assert volumes["/srv/data"].kind == "data"
    assert volumes["/var/lib/mssql"] == Volume("/var/lib/mssql", "data", False, "vdc (disk, ext4)")
    assert {m: v.kind for m, v in volumes.items() if v.kind not in ("root", "data")} == {
        "/boot": "boot", "/boot/efi": "boot", "[SWAP]": "swap", "/snap/core22/1380": "image", "/media/cdrom0": "image",
    }  # fmt: skip
    assert volumes["[SWAP]"].encrypted
    # /home is a second mount of the root device: not listed twice. NFS, tmpfs and overlay are skipped.
    assert "/home" not in volumes
    assert "/mnt/share" not in volumes
    assert "/run" not in volumes
    # What cannot be shown encrypted is not encrypted: a ZFS dataset, a device lsblk did not list.
    assert not volumes["/backup"].encrypted
    assert "zfs dataset tank/backup" in volumes["/backup"].detail
    assert not volumes["/mnt/usb"].encrypted
    assert "not a block device lsblk lists" in volumes["/mnt/usb"].detail


def test_filesystems_without_a_crypt_device_are_not_encrypted() -> None:
    volumes = parse_volumes(fixture("lsblk_plain.json"))
    assert [(v.mount, v.kind, v.encrypted) for v in volumes] == [
        ("/", "root", False), ("/data", "data", False), ("[SWAP]", "swap", False),
    ]  # fmt: skip


def test_lsblk_without_blockdevices_is_an_error() -> None:
    with pytest.raises(ValueError, match="no blockdevices"):
        parse_volumes('{"devices": []}')


def test_dnf4_and_dnf5_security_advisories() -> None:
    dnf4 = parse_dnf_updateinfo(fixture("dnf4_updateinfo_security.txt"))
    assert dnf4[0] == LinuxPendingUpdate("glibc", "2.34-100.el9_4.2", "RHSA-2024:3339 (Important)", True)
    assert dnf4[2] == LinuxPendingUpdate(
        "openssl-libs", "1:3.0.7-27.el9_4", "RHSA-2024:4312 (Moderate)", True
    )
    assert [u.package for u in dnf4] == ["glibc", "glibc-common", "openssl-libs", "kernel"]
    dnf5 = parse_dnf_updateinfo(fixture("dnf5_updateinfo_security.txt"))
    assert dnf5 == (
        LinuxPendingUpdate("curl", "8.6.0-8.fc40", "FEDORA-2024-1a2b3c4d5e (Moderate)", True),
        LinuxPendingUpdate("openssh", "9.6p1-1.fc40.4", "FEDORA-2024-9f8e7d6c5b (Important)", True),
    )


def test_dnf_check_update_lists_packages_until_obsoletes() -> None:
    assert parse_dnf_check_update(fixture("dnf_check_update_security.txt")) == (
        LinuxPendingUpdate("glibc", "2.34-100.el9_4.2", "rhel-9-for-x86_64-baseos-rpms", True),
        LinuxPendingUpdate("openssl-libs", "1:3.0.7-27.el9_4", "rhel-9-for-x86_64-baseos-rpms", True),
    )


def _dnf_host(sections: dict[str, tuple[int, str]]) -> HostFacts:
    base = {"os-release": (0, 'ID=rocky\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n')}
    return parse_linux(CommandResult(0, _framed({**base, **sections}), b""), HOST)


def test_dnf_updateinfo_is_preferred_and_index_age_is_read() -> None:
    facts = _dnf_host({
        "dnf-updateinfo": (0, fixture("dnf4_updateinfo_security.txt")),
        "dnf-check-update": (100, fixture("dnf_check_update_security.txt")),
        "dnf-index": (0, "1795000000 /var/cache/dnf/baseos-1/repodata/repomd.xml\n1795900000 /var/cache/dnf/appstream-2/repodata/repomd.xml\n"),
    })  # fmt: skip
    assert facts.os.distribution == "rocky"
    assert facts.os.version == "9.4"
    assert facts.linux_updates is not None
    assert facts.linux_updates.manager == "dnf"
    assert len(facts.linux_updates.pending) == 4
    assert facts.linux_updates.index_updated == datetime.fromtimestamp(1795900000, UTC)


def test_dnf_check_update_exit_100_means_updates_and_exit_0_none() -> None:
    failed_info = (1, "")
    facts = _dnf_host(
        {"dnf-updateinfo": failed_info, "dnf-check-update": (100, fixture("dnf_check_update_security.txt"))}
    )
    assert facts.linux_updates is not None
    assert [u.package for u in facts.linux_updates.pending] == [
        "glibc",
        "openssl-libs",
    ]
    facts = _dnf_host({"dnf-updateinfo": failed_info, "dnf-check-update": (0, "")})
    assert facts.linux_updates is not None
    assert facts.linux_updates.pending == ()
    facts = _dnf_host({"dnf-updateinfo": failed_info, "dnf-check-update": (100, "")})
    assert facts.linux_updates is None
    assert "exited 100 (updates available) but listed none" in english_text(
        facts.section_errors["linux_updates"]
    )


def test_dnf_without_a_metadata_cache_is_an_error() -> None:
    error = "Error: Cache-only enabled but no cache for 'baseos'"
    base = {"os-release": (0, "ID=rocky\nVERSION_ID=9.4\n")}
    sections = {**base, "dnf-updateinfo": (1, ""), "dnf-check-update": (1, "")}
    facts = parse_linux(CommandResult(0, _framed(sections, stderr=error), b""), HOST)
    assert facts.linux_updates is None
    assert english_text(facts.section_errors["linux_updates"]) == (
        f"dnf updateinfo failed (exit 1): {error}; dnf check-update failed (exit 1): {error}"
    )


def test_apt_line_that_cannot_be_read_is_an_error() -> None:
    facts = parse_linux(
        CommandResult(0, _framed({"apt": (0, "Listing...\nthis is not apt output\n")}), b""), HOST
    )
    assert facts.linux_updates is None
    assert "unrecognised apt list line 'this is not apt output'" in english_text(
        facts.section_errors["linux_updates"]
    )


def test_ss_listeners_with_scopes_brackets_and_wildcards() -> None:
    tcp = parse_ss(fixture("ss_tlnp_root.txt"), "TCP")
    assert [(s.address, s.port, s.process) for s in tcp] == [
        ("0.0.0.0", 22, "sshd"), ("::", 22, "sshd"), ("127.0.0.53%lo", 53, "systemd-resolve"),
        ("*", 443, "nginx"), ("::ffff:10.0.0.5", 3306, "mariadbd"), ("127.0.0.1", 5432, "postgres"),
    ]  # fmt: skip
    udp = parse_ss(fixture("ss_ulnp_root.txt"), "UDP")
    assert [(s.protocol, s.address, s.port, s.process) for s in udp] == [
        ("UDP", "127.0.0.53%lo", 53, "systemd-resolve"), ("UDP", "0.0.0.0%enp1s0", 68, "dhclient"), ("UDP", "::", 161, None),
    ]  # fmt: skip


OTHER_TOOLS = ("nft", "ip6tables", "ufw", "firewalld")


def test_iptables_legacy_rules_beside_nf_tables_are_an_error() -> None:
    warned = "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n"
    sections = {
        "iptables": (0, warned + fixture("iptables_nft_save.txt")),
        "ss-tcp": (0, fixture("ss_tlnp_root.txt")),
        "ss-udp": (0, ""),
    }
    facts = parse_linux(CommandResult(0, _framed(sections, absent=OTHER_TOOLS), b""), HOST)
    assert facts.firewall is None
    assert english_text(facts.section_errors["firewall"]) == (
        "iptables-save reports iptables-legacy tables besides nf_tables; the legacy rules are not read"
    )


def test_iptables_nft_table_is_read_from_iptables_save_not_twice() -> None:
    sections = {
        "os-release": (0, "ID=debian\nVERSION_ID=12\n"),
        "nft": (0, fixture("nft_iptables_nft.json")),
        "iptables": (0, fixture("iptables_nft_save.txt")),
        "ss-tcp": (0, fixture("ss_tlnp_root.txt")),
        "ss-udp": (0, ""),
    }
    facts = parse_linux(
        CommandResult(0, _framed(sections, absent=("ip6tables", "ufw", "firewalld")), b""), HOST
    )
    assert facts.firewall is not None
    assert [p.name for p in facts.firewall.profiles] == ["iptables filter INPUT"]
    assert not [r for r in facts.firewall.inbound_allow if "not readable" in r.name]


# --- controls on literal facts -----------------------------------------------------------------------


def linux_host(
    *,
    profiles: tuple[FirewallProfile, ...] = (FirewallProfile("nftables inet filter input", True, "drop"),),
    rules: tuple[InboundAllowRule, ...] = (),
    listeners: tuple[Listener, ...] = (),
    **fields: Any,
) -> HostFacts:
    return HostFacts(
        name="lin-01",
        address="192.0.2.10",
        roles=("db",),
        os=OperatingSystem("linux", "Debian GNU/Linux 12 (bookworm)", "12", distribution="debian"),
        firewall=HostFirewall(profiles, rules, listeners),
        **fields,
    )


WINDOWS_PROFILES = tuple(FirewallProfile(n, True, "Block") for n in ("Domain", "Private", "Public"))


def windows_host(
    *,
    profiles: tuple[FirewallProfile, ...] = WINDOWS_PROFILES,
    rules: tuple[InboundAllowRule, ...] = (),
    listeners: tuple[Listener, ...] = (),
    **fields: Any,
) -> HostFacts:
    return HostFacts(
        name="web01.contoso.local",
        address="192.0.2.20",
        roles=("web",),
        os=OperatingSystem("windows", "Windows Server 2022 Datacenter", "10.0.20348", build=20348, ubr=2700),
        firewall=HostFirewall(profiles, rules, listeners),
        **fields,
    )


def rule(
    ports: tuple[str, ...] = ("22",),
    remotes: tuple[str, ...] = ("Any",),
    protocol: str = "TCP",
    name: str = "r1",
) -> InboundAllowRule:
    return InboundAllowRule(name, protocol, ports, remotes, ("nftables inet filter input",))


def firewall_verdict(host: HostFacts) -> Verdict:
    return verdict(c12b.test_host_firewall_blocks_inbound_by_default, host)


def scope_verdict(host: HostFacts, **policy: Any) -> Verdict:
    return verdict(
        c12b.test_host_admits_sensitive_ports_only_from_trusted_networks,
        host,
        policy=Policy(**{"trusted_networks": TRUSTED, **policy}),
    )


# 12b.host-firewall


@pytest.mark.parametrize(
    "profiles",
    [
        (FirewallProfile("nftables inet filter input", True, "drop"),),
        (FirewallProfile("ufw", True, "drop"),),
        (
            FirewallProfile("firewalld zone docker", True, "accept"),
            FirewallProfile("firewalld zone public", True, "reject"),
        ),
        (
            FirewallProfile(
                "nftables inet firewalld filter_INPUT", True, "reject (last rule; chain policy accept)"
            ),
        ),
        (
            FirewallProfile("iptables filter INPUT", True, "drop"),
            FirewallProfile("ip6tables filter INPUT", True, "drop"),
        ),
    ],
)
def test_linux_firewall_blocking_inbound_by_default_passes(profiles: tuple[FirewallProfile, ...]) -> None:
    assert firewall_verdict(linux_host(profiles=profiles)).status == "pass"


def test_linux_host_without_any_firewall_fails() -> None:
    result = firewall_verdict(linux_host(profiles=()))
    assert result == Verdict(
        "fail",
        "host lin-01: no host firewall was found (no nftables input chain, iptables INPUT chain, ufw or firewalld)",
    )


def test_linux_input_chain_with_accept_policy_fails() -> None:
    result = firewall_verdict(
        linux_host(
            profiles=(
                FirewallProfile("nftables inet filter input", True, "accept"),
                FirewallProfile("ufw", False, "accept"),
            )
        )
    )
    assert result.status == "fail"
    assert (
        "nothing blocks inbound traffic by default: nftables inet filter input (on, default inbound accept); ufw (off"
        in result.message
    )


def test_linux_inactive_ufw_with_deny_default_fails() -> None:
    assert firewall_verdict(linux_host(profiles=(FirewallProfile("ufw", False, "drop"),))).status == "fail"


def test_linux_iptables_drop_without_ipv6_filtering_fails() -> None:
    result = firewall_verdict(
        linux_host(
            profiles=(
                FirewallProfile("iptables filter INPUT", True, "drop"),
                FirewallProfile("ip6tables filter INPUT", True, "accept"),
            )
        )
    )
    assert result.status == "fail"
    assert (
        "IPv6 traffic is not filtered by default: only iptables filter INPUT blocks inbound" in result.message
    )


def test_windows_firewall_with_every_profile_blocking_passes() -> None:
    assert firewall_verdict(windows_host()).status == "pass"


@pytest.mark.parametrize(
    ("public", "message"),
    [
        (FirewallProfile("Public", False, "Block"), "the Public profile is off"),
        (
            FirewallProfile("Public", True, "Allow"),
            "the Public profile's default inbound action is Allow, not Block",
        ),
        (
            FirewallProfile("Public", True, "NotConfigured"),
            "the Public profile's default inbound action is NotConfigured, not Block",
        ),
        (None, "the Public profile is not reported"),
    ],
)
def test_windows_firewall_profile_off_or_allowing_fails(public: FirewallProfile | None, message: str) -> None:
    profiles = (*WINDOWS_PROFILES[:2], *((public,) if public else ()))
    result = firewall_verdict(windows_host(profiles=profiles))
    assert result.status == "fail"
    assert result.message == f"host web01.contoso.local: {message}"


def test_firewall_not_read_is_an_error() -> None:
    host = HostFacts(
        "lin-01",
        "192.0.2.10",
        (),
        OperatingSystem("linux", "Debian", "12"),
        section_errors={"firewall": "nft: Operation not permitted"},
    )
    assert firewall_verdict(host) == Verdict("error", "nft: Operation not permitted")


# 12b.host-port-scope


def test_sensitive_port_open_only_to_trusted_networks_passes() -> None:
    rules = (
        rule(("22",), ("192.0.2.0/24", "198.51.100.7", "198.51.100.10-198.51.100.20", "2001:db8::/48")),
        rule(("80", "443"), ("Any",)),  # not a sensitive port
        rule(("Any",), ("Any",), protocol="ICMP"),  # no ports at all
    )
    result, evidence = verdict_and_evidence(
        c12b.test_host_admits_sensitive_ports_only_from_trusted_networks,
        linux_host(rules=rules),
        policy=Policy(trusted_networks=TRUSTED),
    )
    assert result.status == "pass"
    assert (
        evidence.observations["inbound_allow_rules"][0]["remote_addresses"][2]
        == "198.51.100.10-198.51.100.20"
    )


def test_ssh_open_to_any_address_fails() -> None:
    result = scope_verdict(linux_host(rules=(rule(("22",), ("Any",)),)))
    assert result == Verdict(
        "fail",
        "host lin-01 admits untrusted addresses to sensitive ports: rule r1 (TCP to port 22) admits Any (any address)",
    )


@pytest.mark.parametrize(
    ("ports", "remotes", "reason"),
    [
        (("1000-2000",), ("203.0.113.0/24",), "203.0.113.0/24 (outside the trusted networks)"),
        (("Any",), ("0.0.0.0/0",), "0.0.0.0/0 (any address)"),
        (("3306-3307",), ("::/0",), "::/0 (any address)"),
        (("5432",), ("192.0.2.0-192.0.3.255",), "192.0.2.0-192.0.3.255 (outside the trusted networks)"),
        (("5432",), ("192.0.2.0/23",), "192.0.2.0/23 (outside the trusted networks)"),
        (("22",), ("@trusted4 (set not found)",), "not provably inside the trusted networks"),
        (("22",), ("ipset admins (addresses not read)",), "not provably inside the trusted networks"),
    ],
)
def test_sensitive_port_open_beyond_trusted_networks_fails(
    ports: tuple[str, ...], remotes: tuple[str, ...], reason: str
) -> None:
    result = scope_verdict(linux_host(rules=(rule(ports, remotes),)))
    assert result.status == "fail"
    assert reason in result.message


def test_udp_rule_to_a_sensitive_port_counts_and_protocol_any_too() -> None:
    assert scope_verdict(linux_host(rules=(rule(("3389",), protocol="UDP"),))).status == "fail"
    assert scope_verdict(linux_host(rules=(rule(("3389",), protocol="Any"),))).status == "fail"


def test_sensitive_listener_without_a_default_deny_firewall_fails() -> None:
    listeners = (Listener("TCP", "0.0.0.0", 22, "sshd"), Listener("TCP", "127.0.0.1", 5432, "postgres"))
    result = scope_verdict(
        linux_host(
            profiles=(FirewallProfile("nftables inet filter input", True, "accept"),), listeners=listeners
        )
    )
    assert result.status == "fail"
    assert (
        "sensitive port listening with no firewall restriction (no firewall blocks inbound IPv4 and IPv6 by default): TCP 0.0.0.0:22 (sshd)"
        in result.message
    )
    assert "5432" not in result.message


def test_loopback_only_listener_without_firewall_passes() -> None:
    listeners = (
        Listener("TCP", "127.0.0.1", 5432),
        Listener("TCP", "::1", 3306),
        Listener("UDP", "127.0.0.53%lo", 53),
    )
    assert scope_verdict(linux_host(profiles=(), listeners=listeners)).status == "pass"


def test_ipv6_listener_fails_when_only_ipv4_is_filtered_and_ipv4_listener_passes() -> None:
    v4_only = (FirewallProfile("iptables filter INPUT", True, "drop"),)
    assert (
        scope_verdict(linux_host(profiles=v4_only, listeners=(Listener("TCP", "0.0.0.0", 22),))).status
        == "pass"
    )
    result = scope_verdict(linux_host(profiles=v4_only, listeners=(Listener("TCP", "::", 22, "sshd"),)))
    assert result.status == "fail"
    assert "no firewall blocks inbound IPv6 by default): TCP :::22 (sshd)" in result.message


def test_sensitive_listener_behind_a_default_deny_firewall_passes() -> None:
    assert scope_verdict(linux_host(listeners=(Listener("TCP", "0.0.0.0", 22),))).status == "pass"


def test_windows_rdp_rule_from_any_fails() -> None:
    rdp = InboundAllowRule(
        "Remote Desktop - User Mode (TCP-In) [RemoteDesktop-UserMode-In-TCP]",
        "TCP",
        ("3389",),
        ("Any",),
        ("Any",),
    )
    result = scope_verdict(windows_host(rules=(rdp,)))
    assert result.status == "fail"
    assert (
        "rule Remote Desktop - User Mode (TCP-In) [RemoteDesktop-UserMode-In-TCP] (TCP to port 3389) admits Any"
        in result.message
    )


@pytest.mark.parametrize("keyword", ["LocalSubnet", "Internet", "Intranet", "DefaultGateway", "LocalSubnet4"])
def test_windows_address_keyword_is_not_trusted(keyword: str) -> None:
    sql = InboundAllowRule("SQL", "TCP", ("1433",), (keyword,), ("Domain",))
    result = scope_verdict(windows_host(rules=(sql,)))
    assert result.status == "fail"
    assert f"{keyword} (a keyword or name, not provably inside the trusted networks)" in result.message


def test_windows_rule_with_mask_notation_and_ranges_inside_trusted_networks_passes() -> None:
    winrm = InboundAllowRule(
        "WinRM",
        "TCP",
        ("5985", "5986"),
        ("192.0.2.0/255.255.255.0", "198.51.100.1-198.51.100.9"),
        ("Domain",),
    )
    rpc = InboundAllowRule("RPC", "TCP", ("RPC", "RPCEPMap"), ("Any",), ("Domain",))
    assert scope_verdict(windows_host(rules=(winrm, rpc))).status == "pass"


def test_unrecognised_local_port_entry_admitting_untrusted_addresses_is_an_error() -> None:
    odd = InboundAllowRule("Odd", "TCP", ("PlayToDiscovery",), ("Any",), ("Private",))
    result, evidence = verdict_and_evidence(
        c12b.test_host_admits_sensitive_ports_only_from_trusted_networks,
        windows_host(rules=(odd,)),
        policy=Policy(trusted_networks=TRUSTED),
    )
    assert result == Verdict(
        "error",
        "host web01.contoso.local: rule admitting untrusted addresses names local ports that cannot be "
        "interpreted, so whether it reaches a sensitive port is unknown: rule Odd: local port entry "
        "'PlayToDiscovery'",
    )
    assert [english(entry) for entry in evidence.observations["unrecognised_local_ports"]] == [
        "rule Odd: local port entry 'PlayToDiscovery'"
    ]


def test_unrecognised_nft_set_of_ports_is_an_error_naming_the_rule() -> None:
    missing_set = rule(("@admin_ports (set not found)",), name="nftables inet filter input #4")
    result = scope_verdict(linux_host(rules=(missing_set,)))
    assert result.status == "error"
    assert (
        "rule nftables inet filter input #4: local port entry '@admin_ports (set not found)'"
        in result.message
    )


def test_unrecognised_local_port_entry_from_trusted_networks_only_is_recorded_not_judged() -> None:
    odd = InboundAllowRule("Odd", "TCP", ("PlayToDiscovery",), ("192.0.2.0/24",), ("Private",))
    assert scope_verdict(windows_host(rules=(odd,))).status == "pass"


def test_offending_rule_fails_even_beside_an_unrecognised_entry() -> None:
    odd = InboundAllowRule("Odd", "TCP", ("PlayToDiscovery",), ("Any",), ("Private",))
    result = scope_verdict(windows_host(rules=(odd, rule(("22",)))))
    assert result.status == "fail"
    assert "rule r1 (TCP to port 22) admits Any (any address)" in result.message


@pytest.mark.parametrize("protocol", ["SCTP", "132", "UDPLite", "", "dccp"])
def test_rule_of_another_or_unknown_protocol_is_judged_by_its_ports(protocol: str) -> None:
    assert scope_verdict(linux_host(rules=(rule(("22",), protocol=protocol),))).status == "fail"


@pytest.mark.parametrize("protocol", ["ICMPv4", "ICMPv6", "icmp", "ipv6-icmp", "41", "GRE"])
def test_rule_of_a_protocol_without_ports_reaches_no_port(protocol: str) -> None:
    assert scope_verdict(windows_host(rules=(rule(("Any",), protocol=protocol),))).status == "pass"


def test_windows_listener_fails_when_a_profile_is_off() -> None:
    profiles = (*WINDOWS_PROFILES[:2], FirewallProfile("Public", False, "Block"))
    result = scope_verdict(
        windows_host(profiles=profiles, listeners=(Listener("TCP", "0.0.0.0", 3389, "svchost"),))
    )
    assert result.status == "fail"
    assert (
        "(a firewall profile is off or allows inbound by default): TCP 0.0.0.0:3389 (svchost)"
        in result.message
    )


def test_no_trusted_networks_means_every_sensitive_rule_fails() -> None:
    result = scope_verdict(linux_host(rules=(rule(("22",), ("192.0.2.0/24",)),)), trusted_networks=[])
    assert result.status == "fail"


def test_port_scope_without_firewall_facts_is_an_error() -> None:
    host = HostFacts("lin-01", "192.0.2.10", (), OperatingSystem("linux", "Debian", "12"))
    assert scope_verdict(host) == Verdict("error", "firewall was not collected from lin-01")


def test_a_section_never_collected_is_a_catalog_message_naming_the_host() -> None:
    host = HostFacts("lin-01", "192.0.2.10", (), OperatingSystem("linux", "Debian", "12"))
    reason = host.missing("firewall")
    assert reason == msg("{section} was not collected from {host}", section="firewall", host="lin-01")
    assert english_text(reason) == "firewall was not collected from lin-01"
    assert translator("nl").render(reason) == "firewall is niet verzameld van lin-01"


# 12c.host-admins


def admins_verdict(host: HostFacts, admins: list[str], keys: list[str]) -> Verdict:
    return verdict(
        c12c.test_host_is_administered_only_by_authorised_people,
        host,
        policy=Policy(authorized_admins=admins, authorized_ssh_keys=keys),
    )


KEY_A = "SHA256:aY1UPTaScmTvNcN1ILLfVddYD/HIkUQhSRBwQcKRKh4"
KEY_B = "SHA256:OP8THiEQikeLIr8apxqc10Gcr0yzxiFponuiSYuqq6k"


def test_linux_admins_and_keys_all_authorised_pass() -> None:
    host = linux_host(admins=HostAdmins(("alice", "Bob"), (f"{KEY_A} ED25519 root", f"{KEY_B} RSA alice")))
    assert admins_verdict(host, ["ALICE", "bob"], [KEY_A, f"ssh-rsa {KEY_B} bob@laptop"]).status == "pass"


def test_unlisted_sudo_member_fails() -> None:
    host = linux_host(admins=HostAdmins(("alice", "mallory"), ()))
    assert admins_verdict(host, ["alice"], [KEY_A]) == Verdict(
        "fail", "host lin-01: administrator mallory: not in policy.authorized_admins"
    )


def test_empty_authorised_admins_fails_closed_and_says_to_list_them() -> None:
    result = admins_verdict(linux_host(admins=HostAdmins(("alice",), ())), [], [])
    assert result.status == "fail"
    assert (
        "administrator alice: policy.authorized_admins is empty, so nobody is authorised: list the people"
        in result.message
    )


def test_unlisted_ssh_key_fails_and_empty_key_list_says_to_list_them() -> None:
    host = linux_host(admins=HostAdmins(("alice",), (f"{KEY_B} RSA root",)))
    assert admins_verdict(host, ["alice"], [KEY_A]) == Verdict(
        "fail", f"host lin-01: SSH key {KEY_B} RSA root: not in policy.authorized_ssh_keys"
    )
    result = admins_verdict(host, ["alice"], [])
    assert "policy.authorized_ssh_keys is empty, so no key is authorised" in result.message


def test_windows_local_account_matches_a_bare_name_but_a_domain_account_needs_its_domain() -> None:
    host = windows_host(
        admins=HostAdmins(("WEB01\\Administrator", "CONTOSO\\Domain Admins", "CONTOSO\\alice"), ())
    )
    assert (
        admins_verdict(host, ["administrator", "contoso\\domain admins", "CONTOSO\\ALICE"], []).status
        == "pass"
    )
    result = admins_verdict(host, ["administrator", "contoso\\domain admins", "alice"], [])
    assert result == Verdict(
        "fail", "host web01.contoso.local: administrator CONTOSO\\alice: not in policy.authorized_admins"
    )


def test_windows_orphaned_sid_and_unreadable_key_line_fail() -> None:
    host = windows_host(
        admins=HostAdmins(
            ("S-1-5-21-1-2-3-1105",),
            (KEY_A, "unreadable key line(s) in C:\\ProgramData\\ssh\\administrators_authorized_keys: 1"),
        )
    )
    result = admins_verdict(host, ["alice"], [KEY_A])
    assert result.status == "fail"
    assert "S-1-5-21-1-2-3-1105: not in policy.authorized_admins" in result.message
    assert "unreadable key line(s)" in result.message


def test_admins_not_read_is_an_error() -> None:
    host = linux_host(
        section_errors={"admins": "reading sudoers failed (exit 13): /etc/sudoers: permission denied"}
    )
    assert admins_verdict(host, ["alice"], [KEY_A]) == Verdict(
        "error", "reading sudoers failed (exit 13): /etc/sudoers: permission denied"
    )


# 12e.host-volume-encryption


def volumes_verdict(host: HostFacts) -> Verdict:
    return verdict(c12e.test_host_volumes_are_encrypted_at_rest, host)


def test_linux_root_and_data_on_luks_pass_and_boot_swap_and_images_are_not_judged() -> None:
    volumes = parse_volumes(recording("lsblk_luks_lvm.json"))
    result, evidence = verdict_and_evidence(
        c12e.test_host_volumes_are_encrypted_at_rest,
        linux_host(volumes=tuple(v for v in volumes if v.mount != "/var/lib/mssql")),
    )
    assert result.status == "pass"
    not_judged = [english(n) for n in evidence.observations["not_judged"]]
    assert any(n.startswith("/boot/efi: boot partition") for n in not_judged)
    assert any(n.startswith("[SWAP]: swap area") for n in not_judged)


def test_linux_data_volume_without_luks_fails() -> None:
    result = volumes_verdict(linux_host(volumes=parse_volumes(recording("lsblk_luks_lvm.json"))))
    assert result == Verdict(
        "fail",
        "host lin-01: 1 volume not encrypted at rest: /var/lib/mssql (data: vdc (disk, ext4); no crypt device beneath it)",
    )


def test_linux_root_without_luks_fails() -> None:
    result = volumes_verdict(
        linux_host(volumes=(Volume("/", "root", False, "sda (disk) > sda1 (part, ext4)"),))
    )
    assert result.status == "fail"
    assert "/ (root: sda (disk) > sda1 (part, ext4)" in result.message


def test_windows_data_volume_with_bitlocker_off_fails() -> None:
    volumes = (
        Volume("C:", "OperatingSystem", True, "FullyEncrypted, protection On, method XtsAes128"),
        Volume("D:", "Data", False, "FullyDecrypted, protection Off, method None"),
    )
    assert volumes_verdict(windows_host(volumes=volumes)) == Verdict(
        "fail",
        "host web01.contoso.local: 1 volume not encrypted at rest: D: (Data: FullyDecrypted, protection Off, method None)",
    )
    assert volumes_verdict(windows_host(volumes=volumes[:1])).status == "pass"


def test_volumes_not_read_or_none_judged_is_an_error() -> None:
    assert volumes_verdict(linux_host(section_errors={"volumes": "lsblk failed (exit 1)"})) == Verdict(
        "error", "lsblk failed (exit 1)"
    )
    result = volumes_verdict(linux_host(volumes=(Volume("/boot", "boot", False, "vda1"),)))
    assert result == Verdict("error", "host lin-01 reports no fixed volume")


# 12g.linux-patching


def patch_verdict(updates: LinuxUpdates | None, errors: dict[str, str] | None = None) -> Verdict:
    host = linux_host(linux_updates=updates, section_errors=errors or {})
    return verdict(
        c12g.test_linux_host_has_no_pending_security_updates, host, policy=Policy(), run_date=RUN_DATE
    )


FRESH = datetime(2026, 11, 28, 2, 13, tzinfo=UTC)


def test_no_pending_security_update_with_a_fresh_index_passes() -> None:
    other = LinuxPendingUpdate("base-files", "12.4+deb12u15", "oldstable", False)
    assert patch_verdict(LinuxUpdates("apt", (other,), FRESH)).status == "pass"


def test_pending_security_update_fails_and_names_it() -> None:
    pending = (
        LinuxPendingUpdate("openssl", "3.0.22-1~deb12u2", "oldstable-security", True),
        LinuxPendingUpdate("tzdata", "2026f-0+deb12u1", "oldstable,oldstable-security", True),
    )
    assert patch_verdict(LinuxUpdates("apt", pending, FRESH)) == Verdict(
        "fail",
        "host lin-01: 2 pending security updates (apt): openssl 3.0.22-1~deb12u2 (oldstable-security), "
        "tzdata 2026f-0+deb12u1 (oldstable,oldstable-security)",
    )


def test_many_pending_security_updates_are_counted_beyond_those_named() -> None:
    pending = tuple(LinuxPendingUpdate(f"pkg{i}", "1", "RHSA-2026:1 (Important)", True) for i in range(30))
    result = patch_verdict(LinuxUpdates("dnf", pending, FRESH))
    assert result.status == "fail"
    assert result.message.endswith("and 5 more")


def test_stale_package_index_fails_even_with_nothing_pending() -> None:
    stale = datetime(2026, 11, 1, tzinfo=UTC)
    assert patch_verdict(LinuxUpdates("apt", (), stale)) == Verdict(
        "fail",
        "host lin-01: the apt package index was last refreshed 1 November 2026, 28 days before the run date "
        "(at most 7 allowed): updates published since are unknown to the host",
    )


def test_unknown_index_age_is_an_error_unless_security_updates_already_fail() -> None:
    assert patch_verdict(LinuxUpdates("dnf", (), None)).status == "error"
    pending = (LinuxPendingUpdate("kernel", "5.14.0-427", "RHSA-2024:4367 (Critical)", True),)
    assert patch_verdict(LinuxUpdates("dnf", pending, None)).status == "fail"


def test_no_package_manager_is_an_error() -> None:
    errors = {"linux_updates": "no supported package manager (apt, dnf or yum) was found"}
    assert patch_verdict(None, errors) == Verdict("error", errors["linux_updates"])


# --- the real machine, judged --------------------------------------------------------------------------


def test_every_host_control_reaches_a_verdict_on_this_machine(local_facts: HostFacts) -> None:
    policy = Policy(trusted_networks=TRUSTED)
    results = [
        verdict(c12b.test_host_firewall_blocks_inbound_by_default, local_facts),
        verdict(c12b.test_host_admits_sensitive_ports_only_from_trusted_networks, local_facts, policy=policy),
        verdict(c12c.test_host_is_administered_only_by_authorised_people, local_facts, policy=policy),
        verdict(c12e.test_host_volumes_are_encrypted_at_rest, local_facts),
        verdict(
            c12g.test_linux_host_has_no_pending_security_updates,
            local_facts,
            policy=policy,
            run_date=RUN_DATE,
        ),
    ]
    for result in results:
        assert result.status in ("pass", "fail", "error")
        assert not result.message.startswith("control could not evaluate its evidence"), result.message


# --- fail closed: outputs of an unexpected shape are errors, never a quieter firewall or fewer volumes ---


def _nft(*items: dict[str, Any]) -> str:
    import json

    return json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}, *items]})


INPUT_CHAIN = {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter",
                         "hook": "input", "prio": 0, "policy": "drop"}}  # fmt: skip
SSH_FROM_ANYWHERE = {
    "match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}
}


def _input_rule(*exprs: Any, chain: str = "input") -> dict[str, Any]:
    return {"rule": {"family": "inet", "table": "filter", "chain": chain, "handle": 5, "expr": list(exprs)}}


def test_nft_verdict_map_entry_of_an_unknown_shape_is_an_error_not_a_lost_accept() -> None:
    vmap = {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [[22, {}]]}}}
    with pytest.raises(ValueError, match="verdict map entry"):
        parse_nft(_nft(INPUT_CHAIN, _input_rule(vmap)))
    odd = {
        "vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [[22, "accept"]]}}
    }
    with pytest.raises(ValueError, match="verdict map entry"):
        parse_nft(_nft(INPUT_CHAIN, _input_rule(odd)))


def test_nft_verdict_map_with_an_empty_verdict_is_a_firewall_error_not_a_crash() -> None:
    vmap = {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [[22, {}]]}}}
    sections = {
        "nft": (0, _nft(INPUT_CHAIN, _input_rule(vmap))),
        "ss-tcp": (0, "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"),
        "ss-udp": (0, "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"),
    }
    facts = parse_linux(CommandResult(0, _framed(sections), b""), HOST)
    assert facts.firewall is None
    assert "verdict map entry" in english_text(facts.section_errors["firewall"])


def test_nft_named_verdict_map_is_read() -> None:
    vmap_def = {"map": {"family": "inet", "table": "filter", "name": "ports", "type": "inet_service", "map": "verdict",
                        "elem": [[22, {"accept": None}], [80, {"drop": None}]]}}  # fmt: skip
    vmap = {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": "@ports"}}
    _, rules = parse_nft(_nft(INPUT_CHAIN, vmap_def, _input_rule(vmap)))
    assert [(r.protocol, r.local_ports, r.remote_addresses) for r in rules] == [("TCP", ("22",), ("Any",))]


@pytest.mark.parametrize("missing", ["policy", "hook", "type", "prio"])
def test_nft_base_chain_missing_a_field_is_an_error(missing: str) -> None:
    chain = {"chain": {k: v for k, v in INPUT_CHAIN["chain"].items() if k != missing}}
    with pytest.raises(ValueError, match=f"base chain inet filter input has no {missing}"):
        parse_nft(_nft(chain))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 5}},
            "has no expression list",
        ),
        (_input_rule("accept"), "not a one-key object"),
        (
            {"rule": {"family": "inet", "table": "filter", "handle": 5, "expr": [{"accept": None}]}},
            "without its family",
        ),
        ({"chain": {"family": "inet", "name": "x"}}, "without its family, table or name"),
        ("a string", "not a one-key object"),
        (_input_rule({"jump": {}}), "jump without a target chain"),
    ],
)
def test_nft_ruleset_of_an_unexpected_shape_is_an_error(item: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nft(_nft(INPUT_CHAIN, item))


def test_nft_statement_the_parser_does_not_know_makes_a_drop_conditional() -> None:
    accepting = {"chain": {**INPUT_CHAIN["chain"], "policy": "accept"}}
    meter = {
        "meter": {
            "name": "flood",
            "key": {"payload": {"protocol": "ip", "field": "saddr"}},
            "stmt": {"limit": {}},
        }
    }
    profiles, _ = parse_nft(_nft(accepting, _input_rule(meter, {"drop": None})))
    assert profiles == [FirewallProfile("nftables inet filter input", True, "accept")]
    assert firewall_verdict(linux_host(profiles=tuple(profiles))).status == "fail"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n", "no COMMIT"),
        ("*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", "no :INPUT policy line"),
        ("*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n", "INPUT chain has policy 'MAYBE'"),
        ("*nat\n:PREROUTING ACCEPT [0:0]\n*filter\n:INPUT DROP [0:0]\nCOMMIT\n", "table nat has no COMMIT"),
    ],
)
def test_iptables_save_cut_off_or_without_a_policy_is_an_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_iptables_save(text)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"name": "vda", "mountpoint": "/", "fstype": "ext4"}, "block device vda has no type"),
        ({"type": "disk", "mountpoint": "/", "fstype": "ext4"}, "a block device has no name"),
        ({"name": "vda", "type": "disk", "fstype": "ext4"}, "block device vda has no 'mountpoint' field"),
        ({"name": "vda", "type": "disk", "mountpoint": "/"}, "block device vda has no 'fstype' field"),
        ({"name": "vda", "type": "disk", "mountpoint": 1, "fstype": None}, "'mountpoint' that is int"),
        (
            {"name": "vda", "type": "disk", "mountpoint": None, "fstype": None, "children": {}},
            "are not a list",
        ),
        (
            {"name": "vda", "type": "disk", "mountpoints": "/", "fstype": None},
            "mountpoints that are not a list",
        ),
        ("vda", "not an object"),
    ],
)
def test_lsblk_device_missing_what_the_control_needs_is_an_error(node: Any, message: str) -> None:
    import json

    with pytest.raises(ValueError, match=message):
        parse_volumes(json.dumps({"blockdevices": [node]}), fixture("findmnt_luks_lvm.json"))


@pytest.mark.parametrize(
    ("findmnt", "message"),
    [
        ('{"filesystems": []}', "no filesystems list"),
        ('{"something": []}', "no filesystems list"),
        ('{"filesystems": [{"source": "/dev/vda", "fstype": "ext4"}]}', "has no target"),
        (
            '{"filesystems": [{"target": "/", "fstype": "ext4"}]}',
            "findmnt filesystem / has no 'source' field",
        ),
        ("", "Expecting value"),
    ],
)
def test_findmnt_of_an_unexpected_shape_is_an_error(findmnt: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_volumes(recording("lsblk_luks_lvm.json"), findmnt)


def test_volumes_without_findmnt_are_an_error_not_lsblk_alone() -> None:
    sections = {"lsblk": (0, recording("lsblk_luks_lvm.json")), "findmnt": (1, "")}
    facts = parse_linux(CommandResult(0, _framed(sections), b""), HOST)
    assert facts.volumes is None
    assert english_text(facts.section_errors["volumes"]) == (
        "findmnt failed (exit 1): boom, so mounts that lsblk does not show cannot be found"
    )
    assert volumes_verdict(facts) == Verdict("error", english_text(facts.section_errors["volumes"]))


def test_a_parser_surprise_is_that_facts_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import collectors.hosts.linux.firewall as firewall

    def broken(text: str, protocol: str) -> tuple[Listener, ...]:
        raise RuntimeError("a shape nobody foresaw")

    monkeypatch.setattr(firewall, "parse_ss", broken)
    sections = {"ss-tcp": (0, "x\n"), "ss-udp": (0, "x\n"), "kernel": (0, "6.1.0\n")}
    facts = parse_linux(CommandResult(0, _framed(sections), b""), HOST)
    assert facts.firewall is None
    assert english_text(facts.section_errors["firewall"]) == (
        "firewall could not be read from the fact script's output (RuntimeError: a shape nobody foresaw)"
    )
    assert facts.os.kernel == "6.1.0"


def test_a_host_whose_parser_fails_unexpectedly_is_an_error_for_its_items_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from collectors.facts import FactStore
    from collectors.hosts import collect
    from collectors.recording import HostRun

    def broken(os_family: str, result: CommandResult, host: HostEntry) -> HostFacts:
        raise KeyError("surprise")

    monkeypatch.setattr(collect, "parse_facts", broken)
    store = FactStore()
    run = HostRun("lin-01", "linux", "ab" * 32, 0, b"out", b"", datetime(2026, 11, 29, tzinfo=UTC))
    assert collect._judge_run(HOST, run, store) is False
    (subject,) = store.population("hosts.linux").subjects
    assert subject.error is not None
    assert "could not be parsed (KeyError: 'surprise')" in english_text(subject.error)


@pytest.mark.parametrize(
    "line",
    [
        'tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=1,fd=3))',
        "LISTEN 0 128 0.0.0.0:22",
        "LISTEN zero 128 0.0.0.0:22 0.0.0.0:*",
        "LISTEN 0 128 localhost 0.0.0.0:*",
        "LISTEN 0 128 0.0.0.0:99999 0.0.0.0:*",
    ],
)
def test_ss_line_that_cannot_be_read_makes_the_firewall_an_error(line: str) -> None:
    with pytest.raises(ValueError, match="unrecognised ss"):
        parse_ss(f"State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n{line}\n", "TCP")
    header = "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
    sections = {"ss-tcp": (0, f"{header}{line}\n"), "ss-udp": (0, header)}
    facts = parse_linux(CommandResult(0, _framed(sections), b""), HOST)
    assert facts.firewall is None
    assert "unrecognised ss" in english_text(facts.section_errors["firewall"])


def test_package_index_time_that_cannot_be_read_is_an_error() -> None:
    sections = {
        "apt": (0, "Listing...\n"),
        "apt-index": (
            0,
            "1764382438 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\nyesterday\n",
        ),
    }
    facts = parse_linux(CommandResult(0, _framed(sections), b""), HOST)
    assert facts.linux_updates is None
    assert english_text(facts.section_errors["linux_updates"]) == (
        "pending updates cannot be read: unrecognised package index time 'yesterday'"
    )


# --- through a real sshd: the real script, with recorded tool outputs first on its PATH -----------------

NFT_WITH_AN_UNKNOWN_SET = {
    "nftables": [
        {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "filter", "handle": 1}},
        {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter",
                   "hook": "input", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": "@admin_ports"}},
            {"accept": None}]}},
    ]
}  # fmt: skip
"""A rule admitting anyone to the ports of a set the listing does not hold: which ports is unknown."""


@pytest.fixture(scope="module")
def linux_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SshdServer, Path]]:
    import json

    tools = tmp_path_factory.mktemp("linux-tools")
    _fake_tool(tools, "nft", json.dumps(NFT_WITH_AN_UNKNOWN_SET))
    _fake_tool(tools, "iptables-save", "")
    _fake_tool(tools, "ip6tables-save", "")
    _fake_tool(tools, "lsblk", '{"blockdevices": [{"name": "vda", "mountpoint": "/", "fstype": "ext4"}]}')
    _fake_tool(tools, "apt", "Listing...\n")
    command = f"sed 's|^PATH=|PATH={tools}:|' | sh -s"
    with SshdServer(
        tmp_path_factory.mktemp("sshd-linux"), {"lnx08": HostBehaviour(command=command)}
    ) as server:
        yield server, tools


@pytest.mark.integration
def test_unknown_port_set_and_an_untyped_block_device_over_real_ssh_are_errors(
    linux_sshd: tuple[SshdServer, Path],
) -> None:
    sshd, _ = linux_sshd
    host = sshd.host_entry("lnx08", os="linux")
    command = linux_command()
    with open_session(host, resolve=lambda p: p, max_output_bytes=16 * 1024 * 1024) as session:
        result = session.run(command.command, command.stdin, timeout=60)
    facts = parse_linux(result, host)
    assert facts.firewall is not None, facts.section_errors
    scope = scope_verdict(facts)
    assert scope.status == "error"
    assert (
        "rule nftables inet filter input #4: local port entry '@admin_ports (set not found)'" in scope.message
    )
    assert facts.volumes is None
    assert "block device vda has no type" in english_text(facts.section_errors["volumes"])
    assert volumes_verdict(facts).status == "error"


def test_a_firewall_tool_section_missing_from_the_output_is_an_error_not_an_absent_tool() -> None:
    sections = {"ss-tcp": (0, fixture("ss_tlnp_root.txt")), "ss-udp": (0, "")}
    facts = parse_linux(
        CommandResult(0, _framed(sections, absent=("iptables", "ip6tables", "ufw", "firewalld")), b""), HOST
    )
    assert facts.firewall is None
    assert english_text(facts.section_errors["firewall"]) == (
        "nft was not reported (the fact script reports every firewall tool, installed or not)"
    )
    absent = parse_linux(
        CommandResult(0, _framed(sections, absent=("nft", *OTHER_TOOLS[1:], "iptables")), b""), HOST
    )
    assert absent.firewall is not None, (
        "marked absent (not installed): no firewall, a fail for 12b.host-firewall"
    )


def test_no_listening_tcp_socket_is_an_error_the_host_answered_over_ssh() -> None:
    header = "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
    sections = {"ss-tcp": (0, header), "ss-udp": (0, header)}
    facts = parse_linux(CommandResult(0, _framed(sections, absent=("iptables", *OTHER_TOOLS)), b""), HOST)
    assert facts.firewall is None
    assert (
        english_text(facts.section_errors["firewall"])
        == "ss lists no listening TCP socket, yet the host answered over SSH"
    )


def test_apt_output_without_its_listing_line_is_an_error_not_nothing_pending() -> None:
    facts = parse_linux(CommandResult(0, _framed({"apt": (0, ""), "apt-index": (0, "")}), b""), HOST)
    assert facts.linux_updates is None
    assert "apt list printed no 'Listing...' line" in english_text(facts.section_errors["linux_updates"])


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        ({"family": "x"}, "unknown family 'x'"),
        ({"type": None}, "unknown type 'None'"),
        ({"type": 7}, "unknown type '7'"),
        ({"hook": ""}, "unknown hook ''"),
        ({"hook": "inbound"}, "unknown hook 'inbound'"),
        ({"policy": "maybe"}, "unknown policy 'maybe'"),
        ({"prio": None}, "prio that is NoneType"),
    ],
)
def test_nft_base_chain_with_a_value_nft_does_not_print_is_an_error(
    chain: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nft(_nft({"chain": {**INPUT_CHAIN["chain"], **chain}}))


def test_nft_rule_of_a_chain_or_jump_to_a_chain_not_listed_is_an_error() -> None:
    renamed = {"chain": {**INPUT_CHAIN["chain"], "name": "renamed"}}
    with pytest.raises(
        ValueError, match="a rule of chain inet filter input, which the listing does not hold"
    ):
        parse_nft(_nft(renamed, _input_rule({"accept": None})))
    with pytest.raises(ValueError, match="jumps to chain nowhere, which the listing does not hold"):
        parse_nft(_nft(INPUT_CHAIN, _input_rule({"jump": {"target": "nowhere"}})))


def test_nft_output_without_metainfo_is_an_error() -> None:
    with pytest.raises(ValueError, match="no metainfo"):
        parse_nft('{"nftables": []}')
