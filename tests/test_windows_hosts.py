"""Windows hosts: the command and its stdin bootstrap, the parser on every recording, and the
Windows controls (12f.host-schannel, 12g.windows-monthly-patching) plus 12g.os-supported for every
host, with a failing case for every pass condition.

The recordings are served through `demo/standins/windows_powershell.py`'s `render`, so the parser reads the
same bytes the stand-in sends over real SSH (one test does exactly that through a real sshd).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from tree_sitter_language_pack import get_parser

from collectors.config.inventory import HostEntry
from collectors.config.policy import Policy
from collectors.hosts.commands import CommandResult, HostOutputError
from collectors.hosts.facts import (
    HostFacts,
    OperatingSystem,
    PendingUpdate,
    SchannelProtocol,
    UpdateHistoryEntry,
    WindowsUpdates,
)
from collectors.hosts.ssh import open_session
from collectors.hosts.windows.command import BOOTSTRAP, WINDOWS_SCRIPT, windows_command
from collectors.hosts.windows.envelope import clixml_errors
from collectors.hosts.windows.parse import parse_windows
from collectors.hosts.windows.shapes import parse_utc
from collectors.hosts.windows.transit_encryption import SCHANNEL_PROTOCOLS
from collectors.hosts.windows.updates import kb_of
from collectors.messages import english_text
from controls import test_12b_trusted_networks as c12b
from controls import test_12c_authorised_access as c12c
from controls import test_12e_encryption_at_rest as c12e
from controls import test_12f_encryption_in_transit as c12f
from controls import test_12g_os_supported as c12g_os
from controls import test_12g_windows_patching as c12g
from controls.framework import Verdict
from demo.standins.sshd_server import HostBehaviour, SshdServer, python_command
from demo.standins.windows_powershell import (
    CLIXML_ERROR,
    RECORDED_OUTPUTS,
    bootstrap_payload,
    check_command,
    document,
    envelope,
    render,
)
from reports.evidence import Message
from reports.i18n.translation import translator
from tests.control_calls import verdict, verdict_and_evidence

RUN_DATE = date(2026, 11, 29)
TRUSTED = ["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]
POLICY = Policy(trusted_networks=TRUSTED)
RECORDINGS = [
    "patched-2022",
    "stale-2022",
    "wsus-silent",
    "blank-hotfix-dates",
    "dutch-locale",
    "server-2012r2",
    "bitlocker-data-off",
    "firewall-public-off",
    "tls10-absent",
    "db-2022",
]


def entry(name: str = "web01", roles: tuple[str, ...] = ("web",)) -> HostEntry:
    return HostEntry(name=name, address="192.0.2.21", user="svc-audit", os="windows", roles=list(roles))


def host_of(scenario: str) -> HostEntry:
    return entry(scenario, ("db",) if scenario.startswith("db") else ("web",))


def served(scenario: str) -> CommandResult:
    stdout, stderr, code = render(scenario)
    return CommandResult(code, stdout, stderr)


def facts_of(scenario: str) -> HostFacts:
    return parse_windows(served(scenario), host_of(scenario))


def from_document(doc: dict[str, Any], host: HostEntry | None = None, exit_code: int = 0) -> HostFacts:
    return parse_windows(CommandResult(exit_code, envelope(doc), b""), host or entry())


def patched_doc() -> dict[str, Any]:
    return document("patched-2022")


def output_error(result: CommandResult, host: HostEntry | None = None) -> str:
    with pytest.raises(HostOutputError) as caught:
        parse_windows(result, host or entry())
    return str(caught.value)


# --- the command ------------------------------------------------------------------------------------


def test_command_is_powershell_with_flags_and_an_encoded_bootstrap() -> None:
    command = windows_command().command
    assert command.startswith(
        "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "
    )
    assert check_command(command) is None


def test_command_fits_cmd_exe_and_has_no_shell_metacharacters() -> None:
    command = windows_command().command
    assert len(command) < 8191, "cmd.exe refuses longer command lines"
    assert re.fullmatch(r"[A-Za-z0-9 .+/=-]+", command)


def test_encoded_command_is_the_utf16le_stdin_bootstrap() -> None:
    encoded = windows_command().command.split()[-1]
    bootstrap = base64.b64decode(encoded).decode("utf-16-le")
    assert bootstrap == BOOTSTRAP
    assert "$input" in bootstrap
    assert "$ProgressPreference='SilentlyContinue'" in bootstrap
    assert "FromBase64String" in bootstrap
    assert "UTF8" in bootstrap


def test_script_travels_on_stdin_and_the_bootstrap_recovers_it() -> None:
    stdin = windows_command().stdin
    assert stdin is not None
    assert len(WINDOWS_SCRIPT) > 2900, "a script this large cannot go on the command line"
    assert bootstrap_payload(stdin) == WINDOWS_SCRIPT


def test_bootstrap_tolerates_stdin_in_wrapped_lines() -> None:
    payload = base64.encodebytes(WINDOWS_SCRIPT.encode("utf-8")).replace(b"\n", b"\r\n")
    assert bootstrap_payload(payload) == WINDOWS_SCRIPT


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("powershell.exe -NoProfile -EncodedCommand AAAA", "unexpected command shape"),
        (
            "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "
            + base64.b64encode("Get-Date".encode("utf-16-le")).decode(),
            "not the stdin bootstrap",
        ),
        (
            "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand !!",
            "not base64",
        ),
    ],
)
def test_standin_refuses_any_other_command(command: str, problem: str) -> None:
    found = check_command(command)
    assert found is not None
    assert problem in found


# --- the script (it cannot run here: read it) --------------------------------------------------------


def _code_only(script: str) -> str:
    """Return the script with comments and string literals blanked out."""
    out, i = [], 0
    while i < len(script):
        ch = script[i]
        if ch == "#":
            while i < len(script) and script[i] != "\n":
                i += 1
            continue
        if ch in "'\"":
            end = script.index(ch, i + 1)
            while ch == "'" and end + 1 < len(script) and script[end + 1] == "'":
                end = script.index(ch, end + 2)
            out.append(ch + ch)
            i = end + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def test_script_brackets_balance() -> None:
    code = _code_only(WINDOWS_SCRIPT)
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in code:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            assert stack, f"unbalanced {ch} in WINDOWS_SCRIPT"
            assert stack.pop() == pairs[ch], f"mismatched {ch} in WINDOWS_SCRIPT"
    assert not stack


def test_gather_ps1_parses_as_powershell() -> None:
    """The fact script shipped as package data is what is sent, and tree-sitter's PowerShell grammar reads
    all of it: no ERROR or MISSING node (an unclosed string, brace or parenthesis would show as one)."""
    shipped = files("collectors.hosts.windows").joinpath("gather.ps1").read_text(encoding="utf-8")
    assert shipped.strip() == WINDOWS_SCRIPT
    tree = get_parser("powershell").parse(WINDOWS_SCRIPT.encode("utf-8"))
    broken = []
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            broken.append(f"line {line}: {'missing ' + node.type if node.is_missing else 'cannot parse'}")
        pending.extend(node.children)
    assert not broken, f"gather.ps1 does not parse: {broken}"
    assert not tree.root_node.has_error


def test_script_assigns_no_read_only_automatic_variable() -> None:
    code = _code_only(WINDOWS_SCRIPT)
    assigned = {m.lower() for m in re.findall(r"\$(\w+)\s*=(?!=)", code)}
    reserved = {
        "home",
        "host",
        "input",
        "pid",
        "args",
        "error",
        "true",
        "false",
        "null",
        "pshome",
        "profile",
        "this",
    }
    assert not assigned & reserved


@pytest.mark.parametrize(
    "needle",
    [
        "$global:ProgressPreference = 'SilentlyContinue'",
        "$global:ErrorActionPreference = 'Stop'",
        "'<<AUDIT:' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($j)) + ':AUDIT>>'",
        "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
        "'UBR'",
        "QueryHistory(0, [Math]::Min($total, 300))",
        "[datetime]::SpecifyKind([datetime]$d, 'Utc')",
        "IsInstalled=0 and Type='Software' and IsHidden=0",
        "MsrcSeverity",
        "KBArticleIDs",
        "LastDeploymentChangeTime",
        "Get-HotFix",
        "WindowsUpdate\\Auto Update\\RebootRequired",
        "WUServer",
        "Get-BitLockerVolume",
        "Win32_EncryptableVolume",
        "Get-NetFirewallProfile -PolicyStore ActiveStore",
        "Get-NetFirewallPortFilter -PolicyStore ActiveStore",
        "Get-NetFirewallAddressFilter -PolicyStore ActiveStore",
        "-Direction Inbound -Enabled True -Action Allow",
        "Get-NetTCPConnection -State Listen",
        "S-1-5-32-544",
        "administrators_authorized_keys",
        "SCHANNEL\\Protocols",
        "SuperSocketNetLib",
        "ForceEncryption",
    ],
)
def test_script_reads_every_section_the_documented_way(needle: str) -> None:
    assert needle in WINDOWS_SCRIPT


def test_script_gathers_every_schannel_protocol_server_side() -> None:
    for protocol in SCHANNEL_PROTOCOLS:
        assert f"'{protocol}'" in WINDOWS_SCRIPT
    assert "\\Server" in WINDOWS_SCRIPT


def test_script_finds_administrators_by_sid_not_by_localised_name() -> None:
    assert "-SID $sid" in WINDOWS_SCRIPT
    for localised in ("'Administrators'", '"Administrators"', "'Administratoren'", "-Group Administrators"):
        assert localised not in WINDOWS_SCRIPT


def test_script_only_reads() -> None:
    code = _code_only(WINDOWS_SCRIPT)
    commands = set(re.findall(r"\b([A-Z][a-z]+-[A-Z][A-Za-z]+)", code))
    reading = {c for c in commands if c.split("-")[0] in {"Get", "Test", "Join", "Where"}}
    own = {"Out-Envelope", "Get-Fingerprints"}  # the script's functions
    in_process = {"New-Object", "Invoke-CimMethod", "Remove-TypeData"}  # checked below / this process only
    assert commands - reading - own - in_process == set()
    assert set(re.findall(r"-MethodName (\w+)", code)) <= {
        "GetConversionStatus",
        "GetProtectionStatus",
        "GetEncryptionMethod",
    }
    for writer in ("CreateUpdateDownloader", "CreateUpdateInstaller", ".Install(", ".Download(", "Set-Item"):
        assert writer not in WINDOWS_SCRIPT


def test_script_fingerprints_keys_and_never_sends_them() -> None:
    assert "SHA256" in WINDOWS_SCRIPT
    assert "ComputeHash" in WINDOWS_SCRIPT
    assert "fingerprints = $prints" in WINDOWS_SCRIPT
    assert "$line" not in WINDOWS_SCRIPT.split("[ordered]@{ path = $Path")[1].split("}")[0]


# --- parsing every recording ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", RECORDINGS)
def test_every_recording_parses_without_section_errors(scenario: str) -> None:
    facts = facts_of(scenario)
    assert facts.name == scenario
    assert facts.os.family == "windows"
    assert facts.section_errors == {}
    assert facts.windows_updates is not None
    assert facts.windows_updates.history
    assert facts.firewall is not None
    assert facts.admins is not None
    assert facts.volumes
    assert facts.schannel is not None
    for item in facts.windows_updates.history:
        assert item.date.tzinfo is not None
        assert item.date.utcoffset() == UTC.utcoffset(None)


def test_patched_host_parses_into_the_shared_facts() -> None:
    facts = facts_of("patched-2022")
    assert facts.os == OperatingSystem("windows", "Windows Server 2022 Datacenter", "10.0.20348", 20348, 5862)
    updates = facts.windows_updates
    assert updates is not None
    newest = updates.history[0]
    assert newest.kb == "KB5108672"
    assert newest.date == datetime(2026, 11, 12, 3, 12, 44, tzinfo=UTC)
    assert (newest.operation, newest.result) == (1, 2)
    assert [h.date for h in updates.history] == sorted((h.date for h in updates.history), reverse=True)
    assert updates.search_result == 2
    assert updates.pending[0].kbs == ("KB2267602",)
    assert updates.pending[0].categories[0] == "Definition Updates"
    assert updates.update_source is None
    assert updates.reboot_required is False
    assert updates.hotfixes[0].installed_on == datetime(2026, 11, 12, tzinfo=UTC)
    assert facts.sql_force_encryption is None


def test_volumes_without_drive_letter_are_left_out_and_statuses_kept() -> None:
    volumes = facts_of("bitlocker-data-off").volumes
    assert volumes is not None
    assert [(v.mount, v.kind, v.encrypted) for v in volumes] == [
        ("C:", "OperatingSystem", True),
        ("D:", "Data", False),
    ]
    assert volumes[1].detail == "FullyDecrypted, protection Off, method None"


def test_bitlocker_through_wmi_maps_the_status_codes() -> None:
    volumes = facts_of("server-2012r2").volumes
    assert volumes is not None
    assert volumes[1].kind == "Data"
    assert volumes[1].encrypted
    assert volumes[1].detail == "FullyEncrypted, protection On, method Aes256"


def test_removable_drives_are_not_host_volumes() -> None:
    doc = patched_doc()
    doc["data"]["bitlocker"]["volumes"].append(
        {"mount": "E:", "type": "Data", "status": "FullyDecrypted", "protection": "Off", "method": "None",
         "percentage": 0, "drive_type": 2, "name": "E:\\"}
    )  # fmt: skip
    volumes = from_document(doc).volumes
    assert volumes is not None
    assert "E:" not in [v.mount for v in volumes]


def test_no_fixed_volume_at_all_is_a_section_error_not_an_empty_pass() -> None:
    doc = patched_doc()
    doc["data"]["bitlocker"]["volumes"] = []
    facts = from_document(doc)
    assert facts.volumes is None
    assert "no fixed volume" in english_text(facts.section_errors["volumes"])


def test_firewall_profiles_rules_and_listeners() -> None:
    firewall = facts_of("firewall-public-off").firewall
    assert firewall is not None
    assert [(p.name, p.enabled, p.default_inbound) for p in firewall.profiles] == [
        ("Domain", True, "Block"),
        ("Private", True, "Block"),
        ("Public", False, "Block"),
    ]
    rdp = next(r for r in firewall.inbound_allow if "RemoteDesktop-UserMode-In-TCP" in r.name)
    assert (rdp.protocol, rdp.local_ports, rdp.remote_addresses) == ("TCP", ("3389",), ("192.0.2.0/24",))
    winrm = next(r for r in firewall.inbound_allow if "WINRM" in r.name)
    assert winrm.profiles == ("Domain", "Private")
    assert any(s.port == 22 and s.process == "sshd" for s in firewall.listeners)


def test_single_values_where_lists_belong_are_read_as_lists() -> None:
    facts = facts_of("db-2022")
    assert facts.firewall is not None
    sql_rule = next(r for r in facts.firewall.inbound_allow if "1433" in r.local_ports)
    assert sql_rule.name == "SQL Server (TCP 1433)"
    assert sql_rule.local_ports == ("1433",)
    assert facts.firewall.inbound_allow[1].remote_addresses == ("192.0.2.0/24",)
    assert facts.windows_updates is not None
    assert facts.windows_updates.pending[0].kbs == ("KB2267602",)
    assert facts.sql_force_encryption is True
    legacy = facts_of("server-2012r2")
    assert legacy.admins is not None
    assert len(legacy.admins.ssh_key_fingerprints) == 2
    assert legacy.windows_updates is not None
    assert legacy.windows_updates.pending == ()


def test_wrapped_arrays_with_value_and_count_are_read_as_lists() -> None:
    doc = patched_doc()
    rule = doc["data"]["firewall"]["inbound_allow"][0]
    rule["remote_addresses"] = {"value": ["192.0.2.0/24", "203.0.113.10"], "Count": 2}
    firewall = from_document(doc).firewall
    assert firewall is not None
    assert firewall.inbound_allow[0].remote_addresses == ("192.0.2.0/24", "203.0.113.10")


def test_rule_without_its_address_filter_is_read_as_any_address() -> None:
    doc = patched_doc()
    doc["data"]["firewall"]["inbound_allow"] = {
        "name": "{0B2E}", "display": "Custom", "profile": "Public", "protocol": "TCP",
        "local_ports": ["1433"], "remote_addresses": None,
    }  # fmt: skip
    firewall = from_document(doc).firewall
    assert firewall is not None
    assert firewall.inbound_allow[0].local_ports == ("1433",)
    assert firewall.inbound_allow[0].remote_addresses == ("Any",)


@pytest.mark.parametrize("local_ports", [[], [""], None, "absent"])
def test_rule_with_an_empty_port_list_is_a_section_error_naming_it(local_ports: Any) -> None:
    """An empty LocalPort list (no port filter found) could mean any port or none: never guessed."""
    doc = patched_doc()
    rule = {"name": "{0B2E}", "display": "Custom", "profile": "Public", "protocol": None,
            "local_ports": local_ports, "remote_addresses": None}  # fmt: skip
    if local_ports == "absent":
        del rule["local_ports"]
    doc["data"]["firewall"]["inbound_allow"] = [doc["data"]["firewall"]["inbound_allow"][0], rule]
    facts = from_document(doc)
    assert facts.firewall is None
    assert "firewall rule Custom has an empty 'local_ports' list" in english_text(
        english_text(facts.section_errors["firewall"])
    )
    host_firewall = verdict(c12b.test_host_firewall_blocks_inbound_by_default, facts)
    port_scope = verdict(
        c12b.test_host_admits_sensitive_ports_only_from_trusted_networks, facts, policy=POLICY
    )
    assert (host_firewall.status, port_scope.status) == ("error", "error")


def test_firewall_profile_not_configured_is_not_taken_as_on() -> None:
    doc = patched_doc()
    doc["data"]["firewall"]["profiles"][2]["enabled"] = "NotConfigured"
    firewall = from_document(doc).firewall
    assert firewall is not None
    assert firewall.profiles[2].enabled is False


def test_dutch_host_reads_the_same_facts() -> None:
    facts = facts_of("dutch-locale")
    assert facts.admins is not None
    assert "WEB05\\Administrator" in facts.admins.members
    updates = facts.windows_updates
    assert updates is not None
    assert updates.history[0].title.startswith("2026-11 Cumulatieve update voor")
    assert updates.history[0].kb == "KB5108672"
    security = updates.pending[0]
    assert security.categories[0] == "Security Updates", "classification read by id, not by its Dutch name"
    assert updates.pending[1].categories == ("Definitie-updates",)


def test_blank_hotfix_dates_stay_unknown() -> None:
    updates = facts_of("blank-hotfix-dates").windows_updates
    assert updates is not None
    assert updates.hotfixes
    assert all(h.installed_on is None for h in updates.hotfixes)


def test_wsus_source_is_read_from_policy_keys() -> None:
    updates = facts_of("wsus-silent").windows_updates
    assert updates is not None
    assert updates.update_source == "http://wsus01.lucra.local:8530"
    doc = document("wsus-silent")
    doc["data"]["update_source"]["use_wu_server"] = 0
    updates = from_document(doc).windows_updates
    assert updates is not None
    assert updates.update_source is None


def test_admins_and_key_fingerprints() -> None:
    admins = facts_of("db-2022").admins
    assert admins is not None
    assert admins.members == (
        "DB01\\Administrator",
        "LUCRA\\Domain Admins",
        "LUCRA\\svc-audit",
        "LUCRA\\SQL Admins",
    )
    assert all(fp.startswith("SHA256:") and len(fp) == 50 for fp in admins.ssh_key_fingerprints)


def test_a_key_line_that_could_not_be_fingerprinted_is_an_unknown_key() -> None:
    doc = patched_doc()
    doc["data"]["admins"]["key_files"][0]["unparsed"] = 1
    admins = from_document(doc).admins
    assert admins is not None
    assert admins.ssh_key_fingerprints[-1].startswith("unreadable key line(s) in C:\\ProgramData")


def test_schannel_values_are_raw_with_absent_as_none() -> None:
    facts = facts_of("server-2012r2")
    assert facts.schannel is not None
    by_protocol = {p.protocol: p for p in facts.schannel}
    assert by_protocol["SSL 3.0"] == SchannelProtocol("SSL 3.0", None, None)
    assert by_protocol["TLS 1.0"] == SchannelProtocol("TLS 1.0", 0, 1)
    assert facts.os.version == "6.3.9600"
    assert facts.os.build == 9600


def test_schannel_answer_for_an_unknown_protocol_is_a_section_error() -> None:
    doc = patched_doc()
    doc["data"]["schannel"]["server"][0]["protocol"] = "PCT 1.0"
    facts = from_document(doc)
    assert facts.schannel is None
    assert "unexpected shape" in english_text(facts.section_errors["schannel"])


def test_sql_force_encryption_needs_every_instance() -> None:
    doc = document("db-2022")
    doc["data"]["sql_server"]["instances"] = [
        {"instance": "MSSQL16.MSSQLSERVER", "netlib_present": True, "force_encryption": 1},
        {"instance": "MSSQL15.REPORTING", "netlib_present": True, "force_encryption": None},
    ]
    assert from_document(doc, entry("db01", ("db",))).sql_force_encryption is False


def test_database_host_without_sql_server_is_a_section_error() -> None:
    facts = from_document(patched_doc(), entry("db02", ("db",)))
    assert facts.sql_force_encryption is None
    assert "no SQL Server instance" in english_text(facts.section_errors["sql_force_encryption"])
    assert "sql_force_encryption" not in from_document(patched_doc(), entry("web01")).section_errors


def test_sections_the_script_could_not_read_are_none_with_the_reason() -> None:
    facts = facts_of("section-errors")
    assert facts.volumes is None
    assert "BitLocker" in english_text(facts.section_errors["volumes"])
    assert "Invalid namespace" in english_text(facts.section_errors["volumes"])
    assert facts.firewall is None
    assert "listening TCP ports" in english_text(facts.section_errors["firewall"])
    assert facts.windows_updates is not None
    assert facts.windows_updates.search_result is None
    assert "0x8024402C" in english_text(facts.section_errors["wua_search"])
    assert facts.schannel is not None
    assert facts.admins is not None


def test_history_that_could_not_be_read_leaves_no_update_facts() -> None:
    doc = patched_doc()
    del doc["data"]["wua_history"]
    doc["errors"] = {"wua_history": "COMException: Exception from HRESULT: 0x80240024"}
    facts = from_document(doc)
    assert facts.windows_updates is None
    assert "0x80240024" in english_text(facts.section_errors["windows_updates"])


def test_unreadable_os_section_keeps_the_host_with_an_unknown_os() -> None:
    doc = patched_doc()
    doc["data"]["os"] = None
    facts = from_document(doc)
    assert facts.os.product == "unknown"
    assert facts.os.build is None
    assert "missing" in english_text(facts.section_errors["os"])


def _delete(doc: dict[str, Any], path: tuple[Any, ...]) -> None:
    *parents, last = path
    node: Any = doc["data"]
    for key in parents:
        node = node[key]
    del node[last]


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    *parents, last = path
    node: Any = doc["data"]
    for key in parents:
        node = node[key]
    node[last] = value


# (fact, path in data, what the section error names) for every field a host control reads.
NEEDED_FIELDS = [
    (
        "firewall",
        ("firewall", "profiles", 2, "default_inbound"),
        "firewall profile Public has no 'default_inbound'",
    ),
    ("firewall", ("firewall", "profiles", 0, "enabled"), "firewall profile Domain has no 'enabled'"),
    ("firewall", ("firewall", "profiles", 1, "name"), "a firewall profile has no 'name'"),
    ("firewall", ("firewall", "profiles"), "the firewall has no 'profiles'"),
    ("firewall", ("firewall", "inbound_allow"), "the firewall has no 'inbound_allow'"),
    ("firewall", ("listeners", "tcp"), "the listening ports has no 'tcp'"),
    ("volumes", ("bitlocker", "volumes", 1, "protection"), "BitLocker volume D: has no 'protection'"),
    ("volumes", ("bitlocker", "volumes", 1, "status"), "BitLocker volume D: has no 'status'"),
    ("volumes", ("bitlocker", "volumes", 0, "type"), "BitLocker volume C: has no 'type'"),
    ("volumes", ("bitlocker", "volumes"), "BitLocker has no 'volumes'"),
    ("volumes", ("bitlocker", "source"), "BitLocker has no 'source'"),
    ("admins", ("admins", "members"), "the Administrators group has no 'members'"),
    ("admins", ("admins", "key_files"), "the administrators' keys has no 'key_files'"),
    ("admins", ("admins", "key_files", 0, "fingerprints"), "has no 'fingerprints'"),
    ("admins", ("admins", "key_files", 0, "unparsed"), "has no 'unparsed'"),
    ("schannel", ("schannel", "server", 2, "enabled"), "SCHANNEL TLS 1.0 has no 'enabled'"),
    (
        "schannel",
        ("schannel", "server", 3, "disabled_by_default"),
        "SCHANNEL TLS 1.1 has no 'disabled_by_default'",
    ),
    ("windows_updates", ("wua_history", "entries"), "the update history has no 'entries'"),
    ("wua_search", ("wua_search", "updates"), "the search for pending updates has no 'updates'"),
    ("wua_search", ("wua_search", "result"), "the search for pending updates has no 'result'"),
    ("wua_search", ("wua_search", "updates", 0, "categories"), "has no 'categories'"),
    ("wua_search", ("wua_search", "updates", 0, "severity"), "has no 'severity'"),
    ("wua_search", ("wua_search", "updates", 0, "released"), "has no 'released'"),
    ("sql_force_encryption", ("sql_server", "instances"), "the SQL Server settings has no 'instances'"),
]


@pytest.mark.parametrize(("fact", "path", "named"), NEEDED_FIELDS)
def test_a_missing_field_a_control_needs_is_a_section_error_naming_it(
    fact: str, path: tuple[Any, ...], named: str
) -> None:
    doc = patched_doc()
    _delete(doc, path)
    facts = from_document(doc)
    assert named in english_text(facts.section_errors[fact])
    assert getattr(facts, fact, None) is None


@pytest.mark.parametrize(
    ("fact", "path", "named"),
    [
        (
            fact,
            path,
            named.replace("has no", "has a null").replace(
                "has a null 'protection'", "has no value for 'protection'"
            ),
        )
        for fact, path, named in NEEDED_FIELDS
        if path[-1]
        in (
            "profiles",
            "inbound_allow",
            "tcp",
            "volumes",
            "members",
            "key_files",
            "entries",
            "updates",
            "instances",
            "fingerprints",
            "categories",
        )
    ],
)
def test_a_null_list_a_control_needs_is_a_section_error_not_an_empty_list(
    fact: str, path: tuple[Any, ...], named: str
) -> None:
    doc = patched_doc()
    _set(doc, path, None)
    facts = from_document(doc)
    assert named in english_text(facts.section_errors[fact])


@pytest.mark.parametrize(
    ("fact", "path", "named"),
    [
        (
            "firewall",
            ("firewall", "profiles", 2, "default_inbound"),
            "firewall profile Public has no value for 'default_inbound'",
        ),
        (
            "firewall",
            ("firewall", "profiles", 2, "enabled"),
            "firewall profile Public has no value for 'enabled'",
        ),
        (
            "volumes",
            ("bitlocker", "volumes", 1, "protection"),
            "BitLocker volume D: has no value for 'protection'",
        ),
        ("volumes", ("bitlocker", "volumes", 0, "status"), "BitLocker volume C: has no value for 'status'"),
        ("wua_search", ("wua_search", "result"), "the search for pending updates has no value for 'result'"),
    ],
)
def test_a_null_value_a_control_needs_is_a_section_error(
    fact: str, path: tuple[Any, ...], named: str
) -> None:
    doc = patched_doc()
    _set(doc, path, None)
    assert named in english_text(from_document(doc).section_errors[fact])


@pytest.mark.parametrize(
    "value", ["12-11-2026 03:12:44", "11/12/2026 3:12 AM", "/Date(99999999999999999)/", 20261112, True]
)
def test_history_entry_with_an_unparseable_date_is_a_section_error(value: Any) -> None:
    doc = patched_doc()
    doc["data"]["wua_history"]["entries"][0]["date"] = value
    facts = from_document(doc)
    assert facts.windows_updates is None
    assert "unexpected shape" in english_text(facts.section_errors["windows_updates"])
    assert patching(facts).status == "error"


def test_volume_without_drive_letter_whose_mount_is_unknown_is_a_section_error() -> None:
    doc = patched_doc()
    guid = doc["data"]["bitlocker"]["volumes"][2]
    guid["drive_type"], guid["name"] = None, None
    facts = from_document(doc)
    assert facts.volumes is None
    assert "did not say where it is mounted" in english_text(facts.section_errors["volumes"])


def test_empty_administrators_group_is_a_section_error() -> None:
    doc = patched_doc()
    doc["data"]["admins"]["members"] = []
    assert "without any member" in english_text(from_document(doc).section_errors["admins"])


def test_a_shape_the_parser_did_not_foresee_is_a_section_error_not_a_crash() -> None:
    doc = patched_doc()
    doc["data"]["firewall"]["profiles"][0]["name"] = {"nested": "object"}
    doc["data"]["bitlocker"]["volumes"] = "C:"
    doc["data"]["wua_history"]["entries"][0] = ["a", "list"]
    facts = from_document(doc)
    assert {"firewall", "volumes", "windows_updates"} <= set(facts.section_errors)


def _host_verdicts(facts: HostFacts) -> dict[str, Verdict]:
    policy = Policy(
        trusted_networks=TRUSTED, authorized_admins=["WEB10\\Administrator"], authorized_ssh_keys=["x"]
    )
    return {
        "12b.host-firewall": verdict(c12b.test_host_firewall_blocks_inbound_by_default, facts),
        "12b.host-port-scope": verdict(
            c12b.test_host_admits_sensitive_ports_only_from_trusted_networks, facts, policy=policy
        ),
        "12c.host-admins": verdict(
            c12c.test_host_is_administered_only_by_authorised_people, facts, policy=policy
        ),
        "12e.host-volume-encryption": verdict(c12e.test_host_volumes_are_encrypted_at_rest, facts),
        "12f.host-schannel": schannel(facts),
        "12g.windows-monthly-patching": patching(facts),
    }


def test_malformed_recording_makes_each_affected_control_an_error_naming_the_field() -> None:
    verdicts = _host_verdicts(facts_of("malformed-sections"))
    assert {control: v.status for control, v in verdicts.items()} == dict.fromkeys(verdicts, "error")
    assert "firewall profile Public has no 'default_inbound'" in verdicts["12b.host-firewall"].message
    assert (
        "BitLocker volume D: has no value for 'protection'" in verdicts["12e.host-volume-encryption"].message
    )
    assert "is not an ISO-8601 date" in verdicts["12g.windows-monthly-patching"].message
    assert "has no 'members'" in verdicts["12c.host-admins"].message
    assert "SCHANNEL TLS 1.0 has no 'enabled'" in verdicts["12f.host-schannel"].message


def test_history_entry_without_a_date_is_a_section_error() -> None:
    doc = patched_doc()
    doc["data"]["wua_history"]["entries"][0]["date"] = None
    facts = from_document(doc)
    assert facts.windows_updates is None
    assert "unexpected shape" in english_text(facts.section_errors["windows_updates"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-12T03:12:44.1234567Z", datetime(2026, 11, 12, 3, 12, 44, 123456, tzinfo=UTC)),
        ("2026-11-12T04:12:44+01:00", datetime(2026, 11, 12, 3, 12, 44, tzinfo=UTC)),
        ("2026-11-12T03:12:44", datetime(2026, 11, 12, 3, 12, 44, tzinfo=UTC)),
        ("2026-11-12", datetime(2026, 11, 12, tzinfo=UTC)),
        ("/Date(1794453164000)/", datetime(2026, 11, 12, 3, 12, 44, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_dates_become_aware_utc(value: str | None, expected: datetime | None) -> None:
    assert parse_utc(value) == expected


def test_kb_is_taken_from_the_title() -> None:
    assert kb_of("2026-11 Cumulatieve update voor ... (KB5108672)") == "KB5108672"
    assert kb_of("Windows Malicious Software Removal Tool x64 - v5.143 (KB890830)") == "KB890830"
    assert kb_of("Update for Windows Defender platform") is None


# --- outputs that are not the envelope ---------------------------------------------------------------


def test_script_failure_is_a_host_output_error_with_the_reason() -> None:
    message = output_error(served("failed"))
    assert "the fact script failed" in message
    assert "ConvertTo-Json" in message
    assert "At line:312 char:5" in message


def test_garbage_is_a_short_host_output_error() -> None:
    result = served("garbage")
    message = output_error(result)
    assert "no audit envelope" in message
    assert f"{len(result.stdout)} bytes" in message
    assert len(message) < 300


def test_truncated_output_is_named_as_cut_off() -> None:
    message = output_error(served("truncated"))
    assert "cut off inside the audit envelope" in message


def test_non_zero_exit_without_envelope_reports_the_clixml_error() -> None:
    message = output_error(served("nonzero"))
    assert "exited with code 1 without an audit envelope" in message
    assert "Cannot convert value" in message
    assert "_x000D_" not in message


def test_clixml_progress_records_are_not_errors() -> None:
    assert clixml_errors(render("patched-2022")[1]) == ""
    assert clixml_errors(CLIXML_ERROR).startswith('Cannot convert value "System.String"')


def test_non_zero_exit_with_a_complete_envelope_is_still_read() -> None:
    facts = parse_windows(CommandResult(1, envelope(patched_doc()), b""), entry())
    assert facts.os.build == 20348


def test_envelope_surrounded_by_noise_and_wrapped_is_read() -> None:
    body = envelope(patched_doc())[len(b"<<AUDIT:") : -len(b":AUDIT>>")]
    wrapped = b"\r\n".join(body[i : i + 120] for i in range(0, len(body), 120))
    stdout = b"Windows PowerShell\r\nnoise\r\n<<AUDIT:" + wrapped + b":AUDIT>>\r\n"
    assert parse_windows(CommandResult(0, stdout, b""), entry()).os.ubr == 5862


@pytest.mark.parametrize(
    ("stdout", "problem"),
    [
        (b"<<AUDIT:not*base64:AUDIT>>", "not valid base64 (unexpected characters)"),
        (b"<<AUDIT:" + base64.b64encode(b"\xff\xfe") + b":AUDIT>>", "not valid UTF-8 JSON"),
        (b"<<AUDIT:" + base64.b64encode(b"{not json") + b":AUDIT>>", "not valid UTF-8 JSON"),
        (b"<<AUDIT:" + base64.b64encode(b"[1, 2]") + b":AUDIT>>", "holds list"),
        (b"<<AUDIT:" + base64.b64encode(b'{"ok": true, "schema": 1}') + b":AUDIT>>", "no data object"),
        (b"<<AUDIT:" + base64.b64encode(b'{"ok": true, "schema": 2, "data": {}}') + b":AUDIT>>", "schema 2"),
        (
            b"<<AUDIT:" + base64.b64encode(b'{"ok": "yes", "data": {}}') + b":AUDIT>>",
            "the fact script failed",
        ),
        (b"<<AUDIT:e30=:AUDIT>><<AUDIT:e30=:AUDIT>>", "2 audit envelopes"),
        (b"<<AUDIT:e30:AUDIT>>", "not valid base64"),
        (b"", "no audit envelope (0 bytes"),
    ],
)
def test_malformed_envelopes_are_host_output_errors(stdout: bytes, problem: str) -> None:
    assert problem in output_error(CommandResult(0, stdout, b""))


def test_error_messages_never_carry_the_whole_output() -> None:
    secretish = b"A" * 5000
    message = output_error(CommandResult(0, secretish, secretish))
    assert len(message) < 400


# --- 12f.host-schannel ------------------------------------------------------------------------------


HARDENED: dict[str, tuple[int | None, int | None]] = {
    "SSL 2.0": (0, 1),
    "SSL 3.0": (0, 1),
    "TLS 1.0": (0, 1),
    "TLS 1.1": (0, 1),
    "TLS 1.2": (1, 0),
    "TLS 1.3": (None, None),
}


def schannel_host(build: int = 20348, **changed: tuple[int | None, int | None]) -> HostFacts:
    """A Windows host of `build` with hardened SCHANNEL keys, except `changed` (TLS_1_0=(None, 1), ...)."""
    keys = HARDENED | {name.replace("_", " ", 1).replace("_", "."): v for name, v in changed.items()}
    return replace(
        facts_of("patched-2022"),
        os=OperatingSystem("windows", "Windows Server", f"10.0.{build}", build, 1),
        schannel=tuple(SchannelProtocol(p, *keys[p]) for p in SCHANNEL_PROTOCOLS),
    )


def schannel(host: HostFacts) -> Verdict:
    return verdict(c12f.test_windows_host_refuses_old_tls, host)


def test_schannel_with_retired_protocols_disabled_passes() -> None:
    assert schannel(schannel_host()).status == "pass"


@pytest.mark.parametrize("protocol", ["SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1"])
def test_schannel_retired_protocol_enabled_fails(protocol: str) -> None:
    result = schannel(schannel_host(9600, **{protocol.replace(" ", "_").replace(".", "_"): (1, 0)}))
    assert result.status == "fail"
    assert f"{protocol} is enabled (Enabled=1, DisabledByDefault=0)" in result.message


def test_schannel_disabled_by_default_only_is_not_off() -> None:
    result = schannel(schannel_host(TLS_1_0=(None, 1)))
    assert result.status == "fail"
    assert "TLS 1.0 is only disabled by default (DisabledByDefault=1, Enabled absent)" in result.message


def test_schannel_absent_keys_leave_tls10_and_tls11_on() -> None:
    result = schannel(facts_of("tls10-absent"))
    assert result.status == "fail"
    assert "TLS 1.0 is enabled (no registry values: Windows build 20348 default)" in result.message
    assert "TLS 1.1 is enabled" in result.message
    assert "SSL 3.0" not in result.message
    assert "SSL 2.0" not in result.message


def test_schannel_ssl3_absent_is_on_for_server_2012_r2() -> None:
    result = schannel(facts_of("server-2012r2"))
    assert result.status == "fail"
    assert "SSL 3.0 is enabled (no registry values: Windows build 9600 default)" in result.message
    assert "SSL 2.0" not in result.message
    assert "TLS 1.2" not in result.message


def test_schannel_disabled_by_default_zero_switches_a_protocol_on() -> None:
    assert "TLS 1.1 is enabled (DisabledByDefault=0)" in schannel(schannel_host(TLS_1_1=(None, 0))).message


@pytest.mark.parametrize("keys", [(0, 0), (1, 1), (None, 1)])
def test_schannel_tls12_must_be_enabled(keys: tuple[int | None, int | None]) -> None:
    result = schannel(schannel_host(TLS_1_2=keys))
    assert result.status == "fail"
    assert "TLS 1.2 is" in result.message


def test_schannel_unreadable_keys_are_an_error() -> None:
    facts = facts_of("section-errors")
    facts = replace(
        facts, schannel=None, section_errors={"schannel": "the SCHANNEL protocol keys could not be read"}
    )
    result = schannel(facts)
    assert result.status == "error"
    assert "could not be read" in result.message


def test_schannel_unknown_build_is_an_error() -> None:
    host = replace(schannel_host(), os=OperatingSystem("windows", "unknown", "unknown"))
    assert schannel(host).status == "error"


@pytest.mark.parametrize(
    ("protocol", "build", "state"),
    [
        ("TLS 1.0", 26100, "enabled"),
        ("TLS 1.1", 20348, "enabled"),
        ("TLS 1.0", 99999, "enabled"),
        ("SSL 3.0", 9600, "enabled"),
        ("SSL 3.0", 14393, "disabled"),
        ("SSL 2.0", 9600, "disabled"),
        ("SSL 2.0", 17763, "not supported"),
        ("TLS 1.3", 17763, "not supported"),
        ("TLS 1.3", 20348, "enabled"),
        ("TLS 1.2", 9600, "enabled"),
    ],
)
def test_schannel_os_defaults(protocol: str, build: int, state: str) -> None:
    assert c12f.schannel_default(protocol, build) == state


# --- 12g.windows-monthly-patching --------------------------------------------------------------------

LCU = "{} Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB{})"


def installed(title: str, on: str, result: int = 2, operation: int = 1) -> UpdateHistoryEntry:
    return UpdateHistoryEntry(
        datetime.fromisoformat(on).replace(tzinfo=UTC), title, kb_of(title), operation, result
    )


def pending(
    title: str = LCU.format("2026-11", 5108672),
    severity: str | None = "Critical",
    categories: tuple[str, ...] = ("Security Updates",),
    released: str | None = "2026-11-10T18:00:00",
) -> PendingUpdate:
    when = datetime.fromisoformat(released).replace(tzinfo=UTC) if released else None
    return PendingUpdate(title, (kb,) if (kb := kb_of(title)) else (), severity, categories, when)


def windows(
    *history: UpdateHistoryEntry,
    pending_updates: tuple[PendingUpdate, ...] = (),
    search_result: int | None = 2,
) -> HostFacts:
    base = facts_of("patched-2022")
    return replace(
        base,
        windows_updates=WindowsUpdates(history=history, pending=pending_updates, search_result=search_result),
    )


def patching(host: HostFacts, run_date: date = RUN_DATE, policy: Policy = POLICY) -> Verdict:
    return verdict(c12g.test_windows_host_is_patched_monthly, host, policy=policy, run_date=run_date)


NOVEMBER = installed(LCU.format("2026-11", 5108672), "2026-11-12T03:12:44")
OCTOBER = installed(LCU.format("2026-10", 5105140), "2026-10-15T02:52:19")
SEPTEMBER = installed(LCU.format("2026-09", 5101736), "2026-09-10T03:11:07")


@pytest.mark.parametrize(
    ("year", "month", "tuesday"),
    [
        (2026, 11, date(2026, 11, 10)),
        (2026, 9, date(2026, 9, 8)),
        (2026, 12, date(2026, 12, 8)),
        (2027, 1, date(2027, 1, 12)),
    ],
)
def test_patch_tuesday_is_the_second_tuesday(year: int, month: int, tuesday: date) -> None:
    assert c12g.patch_tuesday(year, month) == tuesday


@pytest.mark.parametrize(
    ("run_date", "cycles"),
    [
        (date(2026, 11, 29), (date(2026, 11, 10), date(2026, 10, 13))),
        (date(2026, 11, 10), (date(2026, 11, 10), date(2026, 10, 13))),
        (date(2026, 11, 9), (date(2026, 10, 13), date(2026, 9, 8))),
        (date(2027, 1, 5), (date(2026, 12, 8), date(2026, 11, 10))),
    ],
)
def test_patch_cycles_are_the_current_and_previous_patch_tuesday(
    run_date: date, cycles: tuple[date, date]
) -> None:
    assert c12g.patch_cycles(run_date) == cycles


def test_current_cumulative_update_installed_passes() -> None:
    assert patching(windows(NOVEMBER, OCTOBER)).status == "pass"


def test_previous_cycle_update_installed_recently_passes() -> None:
    assert patching(windows(OCTOBER, SEPTEMBER), run_date=date(2026, 11, 11)).status == "pass"


def test_previous_cycle_update_installed_too_long_ago_fails() -> None:
    result = patching(windows(OCTOBER, SEPTEMBER))
    assert result.status == "fail"
    assert "was installed 45 days before the run date (at most 35 allowed)" in result.message


def test_patch_max_age_days_comes_from_policy() -> None:
    lenient = Policy(trusted_networks=TRUSTED, patch_max_age_days=60)
    assert patching(windows(OCTOBER), policy=lenient).status == "pass"


def test_update_two_cycles_old_fails() -> None:
    result = patching(windows(SEPTEMBER))
    assert result.status == "fail"
    assert (
        "the newest installed cumulative update is 2026-09 KB5101736 (installed 10 September 2026)"
        in result.message
    )
    assert "older than the 2026-10 and 2026-11 releases" in result.message


@pytest.mark.parametrize(
    "title",
    [
        "2026-11 Cumulative Update Preview for Microsoft server operating system version 21H2 for x64-based Systems (KB5110021)",
        "2026-11 Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 for Microsoft server operating system version 21H2 for x64 (KB5108731)",
        "2026-11 Cumulatieve update voor .NET Framework 3.5, 4.8 en 4.8.1 voor Microsoft server operating system versie 21H2 voor x64 (KB5108731)",
        "2026-11 Dynamic Cumulative Update for Windows 10 Version 21H2 for x64-based Systems (KB5108999)",
        "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.441.512.0)",
        "Cumulative Update 21 for SQL Server 2022 (KB5108880)",
    ],
)
def test_only_the_os_cumulative_update_counts(title: str) -> None:
    result = patching(windows(installed(title, "2026-11-20T03:00:00"), SEPTEMBER))
    assert result.status == "fail"
    assert "2026-09 KB5101736" in result.message


@pytest.mark.parametrize(
    "title",
    [
        LCU.format("2026-11", 5108672),
        "2026-11 Cumulatieve update voor Microsoft server operating system versie 21H2 voor x64-systemen (KB5108672)",
        "2026-11 Cumulative Update for Windows Server 2019 for x64-based Systems (KB5108650)",
        "2026-11 Security Monthly Quality Rollup for Windows Server 2012 R2 for x64-based Systems (KB5108700)",
    ],
)
def test_cumulative_update_titles_are_recognised(title: str) -> None:
    assert c12g.cumulative_update_month(title) == (2026, 11)


def test_failed_installation_does_not_count() -> None:
    failed = installed(LCU.format("2026-11", 5108672), "2026-11-12T03:12:44", result=4)
    assert patching(windows(failed, SEPTEMBER)).status == "fail"


def test_succeeded_with_errors_counts() -> None:
    partial = installed(LCU.format("2026-11", 5108672), "2026-11-12T03:12:44", result=3)
    assert patching(windows(partial)).status == "pass"


def test_uninstalled_cumulative_update_does_not_count() -> None:
    removed = installed(LCU.format("2026-11", 5108672), "2026-11-14T09:00:00", operation=2)
    result = patching(windows(removed, NOVEMBER, SEPTEMBER))
    assert result.status == "fail"
    assert "2026-09 KB5101736" in result.message


def test_no_cumulative_update_in_the_history_fails() -> None:
    defender = installed(
        "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602", "2026-11-28T01:00:00"
    )
    result = patching(windows(defender))
    assert result.status == "fail"
    assert "no installed cumulative update" in result.message


def test_empty_history_is_an_error() -> None:
    result = patching(windows())
    assert result.status == "error"
    assert "history is empty" in result.message


def test_unreadable_updates_are_an_error() -> None:
    host = replace(
        facts_of("patched-2022"),
        windows_updates=None,
        section_errors={
            "windows_updates": "the Windows Update Agent history could not be read on web01: boom"
        },
    )
    result = patching(host)
    assert result.status == "error"
    assert "boom" in result.message


def test_pending_critical_update_beyond_grace_fails() -> None:
    result = patching(windows(NOVEMBER, pending_updates=(pending(released="2026-11-10T18:00:00"),)))
    assert result.status == "fail"
    assert "1 Critical/Security update pending beyond the 14-day grace period" in result.message
    assert "released 10 November 2026, 19 days before the run date" in result.message


def test_pending_critical_update_within_grace_passes() -> None:
    assert (
        patching(windows(NOVEMBER, pending_updates=(pending(released="2026-11-20T18:00:00"),))).status
        == "pass"
    )


def test_pending_security_update_without_severity_counts_by_category() -> None:
    update = pending(severity=None, categories=("Security Updates", "Windows Server 2022"))
    assert patching(windows(NOVEMBER, pending_updates=(update,))).status == "fail"


def test_pending_important_non_security_update_does_not_count() -> None:
    update = pending(title="Update for Windows (KB5001716)", severity="Important", categories=("Updates",))
    assert patching(windows(NOVEMBER, pending_updates=(update,))).status == "pass"


def test_pending_urgent_update_without_release_date_fails() -> None:
    result = patching(windows(NOVEMBER, pending_updates=(pending(released=None),)))
    assert result.status == "fail"
    assert "release date not reported" in result.message


def test_pending_grace_days_comes_from_policy() -> None:
    lenient = Policy(trusted_networks=TRUSTED, pending_grace_days=30)
    assert patching(windows(NOVEMBER, pending_updates=(pending(),)), policy=lenient).status == "pass"


@pytest.mark.parametrize(("code", "name"), [(4, "Failed"), (5, "Aborted"), (3, "SucceededWithErrors")])
def test_search_that_did_not_succeed_is_an_error(code: int, name: str) -> None:
    result = patching(windows(NOVEMBER, search_result=code))
    assert result.status == "error"
    assert f"result code {code}, {name}" in result.message


def test_search_that_did_not_run_is_an_error_with_its_reason() -> None:
    result = patching(facts_of("section-errors"))
    assert result.status == "error"
    assert "0x8024402C" in result.message


def test_search_failure_does_not_hide_a_stale_update() -> None:
    assert patching(windows(SEPTEMBER, search_result=4)).status == "fail"


def test_patching_evidence_records_build_lcu_and_hotfixes() -> None:
    result, evidence = verdict_and_evidence(
        c12g.test_windows_host_is_patched_monthly,
        facts_of("blank-hotfix-dates"),
        policy=POLICY,
        run_date=RUN_DATE,
    )
    assert result.status == "pass"
    seen = evidence.observations
    assert seen["build"] == "20348.5862"
    assert seen["ubr"] == 5862
    assert seen["newest_cumulative_update"]["kb"] == "KB5108672"
    assert seen["newest_cumulative_update"]["installed"] == "2026-11-12T03:12:44Z"
    assert seen["hotfix_count"] == 5
    assert seen["hotfixes_without_date"] == 5
    assert seen["current_patch_tuesday"] == "2026-11-10"


def test_wsus_offering_nothing_does_not_make_a_stale_host_patched() -> None:
    result = patching(facts_of("wsus-silent"))
    assert result.status == "fail"
    assert "2026-09 KB5101736" in result.message
    assert "update source: WSUS http://wsus01.lucra.local:8530" in result.message
    assert "offers nothing pending" in result.message


def test_stale_host_fails_on_its_update_and_on_the_pending_one() -> None:
    result = patching(facts_of("stale-2022"))
    assert result.status == "fail"
    assert "2026-08 KB5098214" in result.message
    assert "KB5108672" in result.message
    assert "pending beyond the 14-day grace period" in result.message


# --- 12g.os-supported --------------------------------------------------------------------------------


def supported(host: HostFacts, run_date: date = RUN_DATE) -> Verdict:
    return verdict(c12g_os.test_host_os_is_supported, host, run_date=run_date)


def with_os(os: OperatingSystem) -> HostFacts:
    return replace(facts_of("patched-2022"), os=os)


def linux(distribution: str, version: str, product: str = "Linux") -> HostFacts:
    return with_os(OperatingSystem("linux", product, version, distribution=distribution))


@pytest.mark.parametrize(
    ("build", "product", "status"),
    [
        (20348, "Windows Server 2022 Datacenter", "pass"),
        (26100, "Windows Server 2025 Standard", "pass"),
        (17763, "Windows Server 2019 Standard", "pass"),
        (14393, "Windows Server 2016 Standard", "pass"),
        (9600, "Windows Server 2012 R2 Standard", "fail"),
        (9200, "Windows Server 2012 Datacenter", "fail"),
        (25398, "Windows Server Datacenter", "error"),
        (17763, "Windows 10 Enterprise LTSC 2019", "error"),
    ],
)
def test_windows_server_lifecycle(build: int, product: str, status: str) -> None:
    assert supported(with_os(OperatingSystem("windows", product, f"10.0.{build}", build, 1))).status == status


def test_server_2012_r2_fails_naming_the_end_and_the_unevidenced_esu() -> None:
    result = supported(facts_of("server-2012r2"))
    assert result.status == "fail"
    assert "Windows Server 2012 R2" in result.message
    assert "left extended support on 10 October 2023" in result.message
    assert "ESU until 13 October 2026 is paid and not evidenced" in result.message


def test_server_2016_fails_the_day_after_its_extended_support_ends() -> None:
    host = with_os(OperatingSystem("windows", "Windows Server 2016 Standard", "10.0.14393", 14393, 8000))
    assert supported(host, date(2027, 1, 12)).status == "pass"
    assert supported(host, date(2027, 1, 13)).status == "fail"


@pytest.mark.parametrize(
    ("distribution", "version", "status"),
    [
        ("debian", "13", "pass"),
        ("debian", "12", "pass"),
        ("debian", "11", "fail"),
        ("debian", "10", "fail"),
        ("ubuntu", "24.04", "pass"),
        ("ubuntu", "22.04", "pass"),
        ("ubuntu", "20.04", "fail"),
        ("ubuntu", "23.10", "error"),
        ("rhel", "9.4", "pass"),
        ("rhel", "8.10", "pass"),
        ("rocky", "9.6", "pass"),
        ("almalinux", "8.10", "pass"),
        ("rhel", "7.9", "error"),
        ("arch", "", "error"),
        (None, "12", "error"),
    ],
)
def test_linux_lifecycle(distribution: str | None, version: str, status: str) -> None:
    host = with_os(OperatingSystem("linux", f"{distribution} {version}", version, distribution=distribution))
    assert supported(host).status == status


def test_unknown_release_is_lifecycle_unknown_never_a_pass() -> None:
    result = supported(linux("ubuntu", "23.10", "Ubuntu 23.10"))
    assert result.status == "error"
    assert "lifecycle unknown" in result.message


def test_ubuntu_counts_standard_support_not_esm() -> None:
    result = supported(linux("ubuntu", "20.04", "Ubuntu 20.04.6 LTS"))
    assert "left standard support on 31 May 2025" in result.message
    assert "Ubuntu Pro ESM is paid and not evidenced" in result.message


def test_unreadable_os_is_an_error() -> None:
    host = replace(
        facts_of("patched-2022"),
        os=OperatingSystem("windows", "unknown", "unknown"),
        section_errors={"os": "the OS version (registry CurrentVersion) could not be read on web01: denied"},
    )
    result = supported(host)
    assert result.status == "error"
    assert "denied" in result.message


# --- every recording's verdicts ----------------------------------------------------------------------

EXPECTED = {
    # scenario: (12f.host-schannel, 12g.windows-monthly-patching, 12g.os-supported)
    "patched-2022": ("pass", "pass", "pass"),
    "stale-2022": ("pass", "fail", "pass"),
    "wsus-silent": ("pass", "fail", "pass"),
    "blank-hotfix-dates": ("pass", "pass", "pass"),
    "dutch-locale": ("pass", "pass", "pass"),
    "server-2012r2": ("fail", "fail", "fail"),
    "bitlocker-data-off": ("pass", "pass", "pass"),
    "firewall-public-off": ("pass", "pass", "pass"),
    "tls10-absent": ("fail", "pass", "pass"),
    "db-2022": ("pass", "pass", "pass"),
    "section-errors": ("pass", "error", "pass"),
    "malformed-sections": ("error", "error", "pass"),
    "malformed-lists": ("pass", "error", "pass"),
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_recorded_host_verdicts(scenario: str) -> None:
    facts = facts_of(scenario)
    got = (
        schannel(facts).status,
        patching(facts).status,
        supported(facts).status,
    )
    assert got == EXPECTED[scenario]


def test_every_recording_has_expected_verdicts() -> None:
    recorded = {p.stem for p in RECORDED_OUTPUTS.glob("*.json")}
    assert recorded - {"failed"} == set(EXPECTED)
    assert set(RECORDINGS) <= recorded


def test_recordings_are_compact_json_documents_of_the_envelope() -> None:
    stdout = render("patched-2022")[0]
    inner = json.loads(base64.b64decode(stdout[len(b"<<AUDIT:") : -len(b":AUDIT>>")]))
    assert inner["ok"] is True
    assert inner["schema"] == 1
    assert set(inner["data"]) >= {"os", "wua_history", "schannel"}


# --- through a real sshd -------------------------------------------------------------------------------

STANDIN = Path(__file__).resolve().parents[1] / "demo" / "standins" / "windows_powershell.py"


@pytest.fixture(scope="module")
def windows_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    hosts: dict[str, HostBehaviour | None] = {
        name: HostBehaviour(command=python_command(STANDIN, name))
        for name in ("dutch-locale", "garbage", "malformed-sections", "malformed-lists")
    }
    with SshdServer(tmp_path_factory.mktemp("sshd-windows"), hosts) as server:
        yield server


@pytest.mark.integration
def test_real_command_and_script_travel_over_ssh_to_the_standin(windows_sshd: SshdServer) -> None:
    host = windows_sshd.host_entry("dutch-locale", os="windows")
    command = windows_command()
    with open_session(host, resolve=lambda p: p, max_output_bytes=16 * 1024 * 1024) as session:
        result = session.run(command.command, command.stdin, timeout=30)
        refused = session.run("uname -s", timeout=30)
    assert result.exit_code == 0, result.stderr[-300:]
    assert result.stderr.startswith(b"#< CLIXML")
    facts = parse_windows(result, host)
    assert facts.admins is not None
    assert "WEB05\\Administrator" in facts.admins.members
    assert patching(facts).status == "pass"
    assert windows_sshd.commands_received("dutch-locale") == [command.command, "uname -s"]
    assert refused.exit_code == 1
    assert b"is not recognized as an internal or external command" in refused.stderr


@pytest.mark.integration
def test_garbage_over_ssh_is_a_host_output_error(windows_sshd: SshdServer) -> None:
    host = windows_sshd.host_entry("garbage", os="windows")
    command = windows_command()
    with open_session(host, resolve=lambda p: p, max_output_bytes=16 * 1024 * 1024) as session:
        result = session.run(command.command, command.stdin, timeout=30)
    assert "no audit envelope" in output_error(result, host)


@pytest.mark.integration
@pytest.mark.parametrize("scenario", ["malformed-sections", "malformed-lists"])
def test_malformed_outputs_over_ssh_are_errors_for_the_affected_controls_only(
    windows_sshd: SshdServer, scenario: str
) -> None:
    host = windows_sshd.host_entry(scenario, os="windows")
    command = windows_command()
    with open_session(host, resolve=lambda p: p, max_output_bytes=16 * 1024 * 1024) as session:
        result = session.run(command.command, command.stdin, timeout=30)
    facts = parse_windows(result, host)
    statuses = {control: v.status for control, v in _host_verdicts(facts).items()}
    if scenario == "malformed-sections":
        assert statuses == dict.fromkeys(statuses, "error")
    else:
        assert statuses == {
            "12b.host-firewall": "error",
            "12b.host-port-scope": "error",
            "12c.host-admins": "error",
            "12e.host-volume-encryption": "pass",
            "12f.host-schannel": "pass",
            "12g.windows-monthly-patching": "error",
        }
        assert "null 'updates' list" in _host_verdicts(facts)["12g.windows-monthly-patching"].message


def test_a_section_error_is_a_message_that_reads_in_dutch() -> None:
    doc = patched_doc()
    doc["errors"] = {"schannel": "Access is denied"}
    doc["data"]["schannel"] = None
    reason = from_document(doc).section_errors["schannel"]
    assert isinstance(reason, Message)
    assert reason.params["reason"] == "Access is denied"  # what the host said stays as it said it
    assert reason.params["host"] == "web01"  # the host is a parameter, not baked into the text
    assert "web01" not in reason.id
    assert english_text(reason) == "the SCHANNEL protocol keys could not be read on web01: Access is denied"
    assert translator("nl").render(reason) == (
        "lezen van de SCHANNEL-protocolsleutels op web01 is mislukt: Access is denied"
    )
