"""Windows hosts: one batched PowerShell 5.1 script over OpenSSH, its JSON envelope, and its parser.

The command (`windows_command`) is `powershell.exe ... -EncodedCommand <bootstrap>`: Win32-OpenSSH
runs it under cmd.exe or PowerShell alike (base64 has no shell metacharacters), and the short
bootstrap keeps the command line far below cmd.exe's 8191-character limit. The bootstrap reads
the real script (`WINDOWS_SCRIPT`, UTF-8, base64) from stdin and runs it.

The script reads every section in its own try/catch, so one unreadable section (BitLocker not
installed, a WUA search that fails) costs that section only: it is None in `HostFacts` with
the reason in `section_errors`. It writes one envelope to stdout,
`<<AUDIT:base64(UTF-8 JSON):AUDIT>>`, which survives the console code page (Dutch display
strings arrive intact) and any CLIXML progress noise on stderr. Every date in it is an
ISO-8601 UTC string and every enum a string or an integer, so nothing depends on the display
locale; the local Administrators group is found by its well-known SID, never by its
(localised) name. The script only reads: registry values, CIM/WMI classes, the Windows Update
Agent's history and search, and files; it changes nothing on the host.

Fail closed (issue 12): the script writes every key of every section, and every list with
`@(...)` (`[]` when empty). A key a control needs that is missing, a list that is null, a value
that is null where the script always writes one (a firewall profile's DefaultInboundAction or
Enabled, a BitLocker volume's status or ProtectionStatus, the search's result code) or of the
wrong type, a date that is not ISO-8601, an empty Administrators group or no listening TCP port
at all: each makes its fact None with a section error naming the section and the field. The one
null that means something is a SCHANNEL registry value: absent, the build's default applies
(Microsoft's "Protocols in TLS/SSL (Schannel SSP)"; judged in controls/test_12f_encryption_in_transit.py).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from collectors.hosts.commands import CommandResult, GatherCommand, HostOutputError
from collectors.hosts.facts import (
    FirewallProfile,
    HostAdmins,
    HostFacts,
    HostFirewall,
    HotFix,
    InboundAllowRule,
    Listener,
    OperatingSystem,
    PendingUpdate,
    SchannelProtocol,
    UpdateHistoryEntry,
    Volume,
    WindowsUpdates,
)

if TYPE_CHECKING:  # the stand-in imports this module under a bare system python3 (no pydantic)
    from collectors.config import HostEntry

T = TypeVar("T")

ENVELOPE = re.compile(rb"<<AUDIT:([A-Za-z0-9+/=\s]*):AUDIT>>")
ENVELOPE_START = b"<<AUDIT:"
ENVELOPE_END = b":AUDIT>>"
SCHEMA = 1
"""The envelope's `schema`: bumped when the script's output changes shape."""

POWERSHELL = "powershell.exe"
POWERSHELL_FLAGS = ("-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")

BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue';"
    "$s=((@($input) -join '') -replace '\\s','');"
    "& ([ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($s))))"
)
"""Runs the script that stdin carries (UTF-8, base64); `$input` enumerates stdin until EOF."""

SCHANNEL_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")

WINDOWS_SCRIPT = r"""
# Global: functions of script and CDXML modules (NetSecurity, NetTCPIP, ...) read the global
# preferences, not this script block's; this process lives for this script only.
$global:ErrorActionPreference = 'Stop'
$global:ProgressPreference = 'SilentlyContinue'
$global:WarningPreference = 'SilentlyContinue'
$global:VerbosePreference = 'SilentlyContinue'
$global:InformationPreference = 'SilentlyContinue'
# Windows PowerShell's type data for System.Array makes ConvertTo-Json write a wrapped array as
# {"value": [...], "Count": n}; drop it for this process (and build arrays inline, unwrapped).
Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
$inv = [Globalization.CultureInfo]::InvariantCulture
$data = [ordered]@{}
$failed = [ordered]@{}
$wua = @{}

function Out-Envelope($o) {
    $j = ConvertTo-Json -InputObject $o -Depth 12 -Compress
    [Console]::Out.Write('<<AUDIT:' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($j)) + ':AUDIT>>')
    [Console]::Out.Flush()
}
# WUA dates are UTC with Kind=Unspecified: label them, never convert them.
function Utc($d) { if ($null -ne $d -and "$d" -ne '') { [datetime]::SpecifyKind([datetime]$d, 'Utc').ToString('o', $inv) } else { $null } }
function LocalToUtc($d) { if ($null -ne $d -and "$d" -ne '') { ([datetime]$d).ToUniversalTime().ToString('o', $inv) } else { $null } }
function Str($v) { if ($null -eq $v) { $null } else { [string]$v } }
function Num($v) { if ($null -eq $v -or "$v" -eq '') { $null } else { [int64]$v } }
function ErrorText($e) { '{0}: {1}' -f $e.Exception.GetType().Name, $e.Exception.Message }
function Section([string]$Name, [scriptblock]$Body) {
    try { $data[$Name] = (& $Body) } catch { $failed[$Name] = (ErrorText $_) }
}
# CIM queries that match nothing raise ObjectNotFound: that is an empty answer, not a failure.
function Find([scriptblock]$Query) {
    try { return ,@(& $Query) }
    catch { if ("$($_.CategoryInfo.Category)" -eq 'ObjectNotFound') { return ,@() }; throw }
}
function Get-Fingerprints([string]$Path) {
    $sha = [Security.Cryptography.SHA256]::Create()
    $prints = @(); $unparsed = 0
    foreach ($line in [IO.File]::ReadAllLines($Path)) {
        $t = $line.Trim()
        if ($t -eq '' -or $t.StartsWith('#')) { continue }
        $tokens = @($t -split '\s+'); $fp = $null
        for ($i = 0; $i -lt $tokens.Count - 1; $i++) {
            if ($tokens[$i] -match '^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$') {
                try {
                    $blob = [Convert]::FromBase64String($tokens[$i + 1])
                    $fp = 'SHA256:' + [Convert]::ToBase64String($sha.ComputeHash($blob)).TrimEnd('=')
                } catch { $fp = $null }
                break
            }
        }
        if ($fp) { $prints += $fp } else { $unparsed += 1 }
    }
    [ordered]@{ path = $Path; fingerprints = $prints; unparsed = $unparsed }
}

try {
    Section 'os' {
        $k = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
        $boot = $null
        try { $boot = LocalToUtc ((Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime) } catch { $boot = $null }
        [ordered]@{
            product_name = (Str ($k.GetValue('ProductName', $null)))
            edition_id = (Str ($k.GetValue('EditionID', $null)))
            installation_type = (Str ($k.GetValue('InstallationType', $null)))
            current_version = (Str ($k.GetValue('CurrentVersion', $null)))
            major = (Num ($k.GetValue('CurrentMajorVersionNumber', $null)))
            minor = (Num ($k.GetValue('CurrentMinorVersionNumber', $null)))
            current_build = (Str ($k.GetValue('CurrentBuild', $null)))
            ubr = (Num ($k.GetValue('UBR', $null)))
            display_version = (Str ($k.GetValue('DisplayVersion', $null)))
            release_id = (Str ($k.GetValue('ReleaseId', $null)))
            last_boot = $boot
        }
    }

    Section 'wua_history' {
        $wua.session = New-Object -ComObject Microsoft.Update.Session
        $wua.searcher = $wua.session.CreateUpdateSearcher()
        $total = [int]$wua.searcher.GetTotalHistoryCount()
        $entries = @()
        if ($total -gt 0) {
            $entries = @(foreach ($e in $wua.searcher.QueryHistory(0, [Math]::Min($total, 300))) {
                if (-not $e.Title) { continue }
                [ordered]@{
                    date = (Utc $e.Date)
                    title = [string]$e.Title
                    operation = [int]$e.Operation
                    result = [int]$e.ResultCode
                    hresult = ('0x{0:X8}' -f [int]$e.HResult)
                    client = (Str $e.ClientApplicationID)
                }
            })
        }
        [ordered]@{ total = $total; entries = $entries }
    }

    Section 'wua_search' {
        if ($null -eq $wua.searcher) { throw 'the Windows Update Agent could not be opened (see wua_history)' }
        $res = $wua.searcher.Search("IsInstalled=0 and Type='Software' and IsHidden=0")
        $updates = @(foreach ($u in $res.Updates) {
            [ordered]@{
                title = [string]$u.Title
                kbs = @(foreach ($kb in $u.KBArticleIDs) { [string]$kb })
                severity = (Str $u.MsrcSeverity)
                categories = @(foreach ($c in $u.Categories) { [ordered]@{ id = [string]$c.CategoryID; name = [string]$c.Name } })
                released = (Utc $u.LastDeploymentChangeTime)
            }
        })
        [ordered]@{ result = [int]$res.ResultCode; updates = $updates }
    }

    Section 'hotfixes' {
        $list = @(foreach ($h in (Find { Get-HotFix -ErrorAction Stop })) {
            $on = $null
            try { if ($h.InstalledOn) { $on = ([datetime]$h.InstalledOn).ToString('yyyy-MM-dd', $inv) } } catch { $on = $null }
            [ordered]@{ kb = [string]$h.HotFixID; description = [string]$h.Description; installed_on = $on }
        })
        [ordered]@{ entries = $list }
    }

    Section 'reboot' {
        [ordered]@{
            wu_reboot_required = (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')
            cbs_reboot_pending = (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending')
        }
    }

    Section 'update_source' {
        $wu = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate'
        $server = $null; $use = $null
        if (Test-Path -LiteralPath $wu) { $server = Str ((Get-Item -LiteralPath $wu).GetValue('WUServer', $null)) }
        if (Test-Path -LiteralPath "$wu\AU") { $use = Num ((Get-Item -LiteralPath "$wu\AU").GetValue('UseWUServer', $null)) }
        [ordered]@{ wu_server = $server; use_wu_server = $use }
    }

    Section 'bitlocker' {
        $win32 = @{}
        foreach ($v in (Find { Get-CimInstance -ClassName Win32_Volume -ErrorAction Stop })) {
            $row = @{ drive_type = [int]$v.DriveType; name = (Str $v.Name) }
            if ($v.DriveLetter) { $win32[[string]$v.DriveLetter] = $row }
            if ($v.DeviceID) { $win32[[string]$v.DeviceID] = $row }
        }
        if (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue) {
            $source = 'Get-BitLockerVolume'
            $volumes = @(foreach ($b in (Find { Get-BitLockerVolume -ErrorAction Stop })) {
                $w = $win32[[string]$b.MountPoint]
                [ordered]@{
                    mount = [string]$b.MountPoint
                    type = [string]$b.VolumeType
                    status = [string]$b.VolumeStatus
                    protection = [string]$b.ProtectionStatus
                    method = [string]$b.EncryptionMethod
                    percentage = [int]$b.EncryptionPercentage
                    drive_type = $(if ($w) { $w.drive_type } else { $null })
                    name = $(if ($w) { $w.name } else { $null })
                }
            })
        } else {
            $source = 'Win32_EncryptableVolume'
            $volumes = @(foreach ($e in (Find { Get-CimInstance -Namespace 'root\CIMV2\Security\MicrosoftVolumeEncryption' -ClassName Win32_EncryptableVolume -ErrorAction Stop })) {
                $mount = $(if ($e.DriveLetter) { [string]$e.DriveLetter } else { [string]$e.DeviceID })
                $w = $win32[$mount]
                [ordered]@{
                    mount = $mount
                    type_code = [int]$e.VolumeType
                    conversion_status = [int](Invoke-CimMethod -InputObject $e -MethodName GetConversionStatus).ConversionStatus
                    protection_status = [int](Invoke-CimMethod -InputObject $e -MethodName GetProtectionStatus).ProtectionStatus
                    method_code = [int](Invoke-CimMethod -InputObject $e -MethodName GetEncryptionMethod).EncryptionMethod
                    drive_type = $(if ($w) { $w.drive_type } else { $null })
                    name = $(if ($w) { $w.name } else { $null })
                }
            })
        }
        [ordered]@{ source = $source; volumes = $volumes }
    }

    Section 'firewall' {
        $profiles = @(foreach ($p in (Find { Get-NetFirewallProfile -PolicyStore ActiveStore -ErrorAction Stop })) {
            [ordered]@{ name = [string]$p.Name; enabled = [string]$p.Enabled; default_inbound = [string]$p.DefaultInboundAction }
        })
        $ports = @{}; foreach ($f in (Find { Get-NetFirewallPortFilter -PolicyStore ActiveStore -ErrorAction Stop })) { $ports[[string]$f.InstanceID] = $f }
        $addresses = @{}; foreach ($f in (Find { Get-NetFirewallAddressFilter -PolicyStore ActiveStore -ErrorAction Stop })) { $addresses[[string]$f.InstanceID] = $f }
        $rules = @(foreach ($r in (Find { Get-NetFirewallRule -PolicyStore ActiveStore -Direction Inbound -Enabled True -Action Allow -ErrorAction Stop })) {
            $pf = $ports[[string]$r.InstanceID]; $af = $addresses[[string]$r.InstanceID]
            [ordered]@{
                name = [string]$r.Name
                display = [string]$r.DisplayName
                profile = [string]$r.Profile
                protocol = $(if ($pf) { [string]$pf.Protocol } else { $null })
                local_ports = @(if ($pf) { foreach ($x in @($pf.LocalPort)) { [string]$x } })
                remote_addresses = @(if ($af) { foreach ($x in @($af.RemoteAddress)) { [string]$x } })
            }
        })
        [ordered]@{ profiles = $profiles; inbound_allow = $rules }
    }

    Section 'listeners' {
        $names = @{}; foreach ($p in @(Get-Process -ErrorAction Stop)) { $names[[int]$p.Id] = [string]$p.ProcessName }
        $tcp = @(foreach ($c in (Find { Get-NetTCPConnection -State Listen -ErrorAction Stop })) {
            [ordered]@{ address = [string]$c.LocalAddress; port = [int]$c.LocalPort; pid = [int]$c.OwningProcess; process = $names[[int]$c.OwningProcess] }
        })
        [ordered]@{ tcp = $tcp }
    }

    Section 'admins' {
        $sid = New-Object Security.Principal.SecurityIdentifier('S-1-5-32-544')
        $group = $sid.Translate([Security.Principal.NTAccount]).Value
        $members = $null; $how = 'Get-LocalGroupMember'
        try {
            $members = @(foreach ($m in @(Get-LocalGroupMember -SID $sid -ErrorAction Stop)) {
                [ordered]@{ name = [string]$m.Name; sid = (Str $m.SID); class = [string]$m.ObjectClass }
            })
        } catch {
            # Windows PowerShell's Get-LocalGroupMember fails on orphaned or Entra ID members, and
            # is missing before Server 2016: read the group through ADSI (still found by SID).
            $how = 'ADSI'
            $adsi = [ADSI]('WinNT://' + $env:COMPUTERNAME + '/' + $group.Split('\')[-1] + ',group')
            $members = @(foreach ($m in @($adsi.psbase.Invoke('Members'))) {
                $path = [string]$m.GetType().InvokeMember('ADsPath', 'GetProperty', $null, $m, $null)
                $parts = @($path.Substring(8).Split('/'))
                $msid = $null
                try {
                    $bytes = [byte[]]$m.GetType().InvokeMember('objectSid', 'GetProperty', $null, $m, $null)
                    $msid = (New-Object Security.Principal.SecurityIdentifier -ArgumentList $bytes, 0).Value
                } catch { $msid = $null }
                [ordered]@{
                    name = $(if ($parts.Count -ge 2) { $parts[-2] + '\' + $parts[-1] } else { $parts[-1] })
                    sid = $msid
                    class = [string]$m.GetType().InvokeMember('Class', 'GetProperty', $null, $m, $null)
                }
            })
        }
        $files = @(Join-Path $env:ProgramData 'ssh\administrators_authorized_keys')
        foreach ($m in $members) {
            if (-not $m.sid) { continue }
            $profileKey = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $m.sid
            if (Test-Path -LiteralPath $profileKey) {
                $profileDir = Str ((Get-Item -LiteralPath $profileKey).GetValue('ProfileImagePath', $null))
                if ($profileDir) { $files += (Join-Path $profileDir '.ssh\authorized_keys') }
            }
        }
        $keys = @(foreach ($f in $files) { if (Test-Path -LiteralPath $f -PathType Leaf) { Get-Fingerprints $f } })
        [ordered]@{ group = $group; how = $how; members = $members; key_files = $keys }
    }

    Section 'schannel' {
        $base = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'
        $server = @(foreach ($name in @('SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3')) {
            $path = "$base\$name\Server"
            $present = Test-Path -LiteralPath $path
            $enabled = $null; $dbd = $null
            if ($present) {
                $k = Get-Item -LiteralPath $path
                $enabled = Num ($k.GetValue('Enabled', $null))
                $dbd = Num ($k.GetValue('DisabledByDefault', $null))
            }
            [ordered]@{ protocol = $name; key_present = $present; enabled = $enabled; disabled_by_default = $dbd }
        })
        [ordered]@{ server = $server }
    }

    Section 'sql_server' {
        $root = 'HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server'
        $instances = @()
        if (Test-Path -LiteralPath $root) {
            $instances = @(foreach ($key in @(Get-ChildItem -LiteralPath $root -ErrorAction Stop | Where-Object { $_.PSChildName -like 'MSSQL*.*' })) {
                $net = Join-Path $key.PSPath 'MSSQLServer\SuperSocketNetLib'
                $present = Test-Path -LiteralPath $net
                $force = $null
                if ($present) { $force = Num ((Get-Item -LiteralPath $net).GetValue('ForceEncryption', $null)) }
                [ordered]@{ instance = [string]$key.PSChildName; netlib_present = $present; force_encryption = $force }
            })
        }
        [ordered]@{ instances = $instances }
    }

    Out-Envelope ([ordered]@{
        ok = $true
        schema = 1
        host = $env:COMPUTERNAME
        collected_at = [datetime]::UtcNow.ToString('o', $inv)
        powershell = $PSVersionTable.PSVersion.ToString()
        data = $data
        errors = $failed
    })
    exit 0
} catch {
    Out-Envelope ([ordered]@{ ok = $false; schema = 1; error = (ErrorText $_); at = [string]$_.InvocationInfo.PositionMessage })
    exit 1
}
""".strip()
"""The whole batched fact script (Windows PowerShell 5.1); sent on stdin, never on the command line."""


def encode_powershell(script: str) -> str:
    """Return `script` as -EncodedCommand wants it: base64 of its UTF-16LE bytes."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def windows_command() -> GatherCommand:
    """Return the one command a Windows host runs, with the fact script on its stdin."""
    command = " ".join((POWERSHELL, *POWERSHELL_FLAGS, "-EncodedCommand", encode_powershell(BOOTSTRAP)))
    payload = base64.b64encode(WINDOWS_SCRIPT.encode("utf-8")) + b"\n"
    return GatherCommand(command=command, stdin=payload)


# --- parsing --------------------------------------------------------------------------------------

SECTION_OF_FACT = {
    "os": ("os",),
    "windows_updates": ("wua_history",),
    "wua_search": ("wua_search",),
    "hotfixes": ("hotfixes",),
    "reboot": ("reboot",),
    "update_source": ("update_source",),
    "volumes": ("bitlocker",),
    "firewall": ("firewall", "listeners"),
    "admins": ("admins",),
    "schannel": ("schannel",),
    "sql_force_encryption": ("sql_server",),
}
"""Which script sections each `HostFacts` field (or `section_errors` key) is built from."""

WHAT = {
    "os": "the OS version (registry CurrentVersion)",
    "wua_history": "the Windows Update Agent history",
    "wua_search": "the Windows Update Agent search for pending updates",
    "hotfixes": "Get-HotFix",
    "reboot": "the reboot-required registry keys",
    "update_source": "the Windows Update policy (WSUS) keys",
    "bitlocker": "BitLocker (Get-BitLockerVolume / Win32_EncryptableVolume)",
    "firewall": "the Windows Firewall ActiveStore (profiles and inbound allow rules)",
    "listeners": "the list of listening TCP ports (Get-NetTCPConnection)",
    "admins": "the local Administrators group (S-1-5-32-544) and administrators' authorized keys",
    "schannel": "the SCHANNEL protocol keys",
    "sql_server": "the SQL Server network settings (SuperSocketNetLib)",
}

CATEGORY_NAMES = {
    "0fa1201d-4330-4fa8-8ae9-b877473b6441": "Security Updates",
    "e6cf1350-c01b-414d-a61f-263d14d133b4": "Critical Updates",
    "28bc880e-0592-4cbf-8f95-c79b17911d5f": "Update Rollups",
}
"""Update classifications by id: their display names are localised ("Beveiligingsupdates")."""

CONVERSION_STATUS = (
    "FullyDecrypted",
    "FullyEncrypted",
    "EncryptionInProgress",
    "DecryptionInProgress",
    "EncryptionPaused",
    "DecryptionPaused",
)
PROTECTION_STATUS = ("Off", "On", "Unknown")
ENCRYPTION_METHOD = (
    "None",
    "Aes128Diffuser",
    "Aes256Diffuser",
    "Aes128",
    "Aes256",
    "Hardware",
    "XtsAes128",
    "XtsAes256",
)
VOLUME_TYPE = ("OperatingSystem", "Data", "Removable")
"""Win32_EncryptableVolume.VolumeType: 0 OperatingSystem, 1 FixedData, 2 PortableData."""
FIXED_DRIVE = 3
VOLUME_GUID_PATH = "\\\\?\\Volume"
"""Win32_Volume.DriveType of a local fixed disk (2 is removable, 5 a CD-ROM)."""

KB_IN_TITLE = re.compile(r"\bKB\s?(\d{6,8})\b", re.IGNORECASE)
CLIXML_ERROR = re.compile(r'<S S="Error">(.*?)</S>', re.DOTALL)
CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
LEGACY_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
MESSAGE_LIMIT = 300


class _ShapeError(ValueError):
    """A section's data is not shaped the way the script writes it."""


def _short(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Return `text` on one line, at most `limit` characters (never a whole output)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _printable_start(data: bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    first = text.splitlines()[0] if text else ""
    shown = "".join(ch if ch.isprintable() else "?" for ch in first)
    return _short(shown, limit)


def clixml_errors(stderr: bytes) -> str:
    """Return the error text in PowerShell's stderr (CLIXML or plain), short; progress records dropped."""
    text = stderr.decode("utf-8", errors="replace")
    if "#< CLIXML" not in text:
        return _short(text, 200)
    found = [
        html.unescape(CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw))
        for raw in CLIXML_ERROR.findall(text)
    ]
    return _short(" ".join(found), 200)


def _list(value: object) -> list[Any]:
    """Return `value` as a list: ConvertTo-Json 5.1 unwraps one-element arrays, and $null is null."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return value["value"]  # a PSObject-wrapped array as Windows PowerShell's ConvertTo-Json writes it
    return [value]


def _obj(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _ShapeError(f"{what} is {type(value).__name__}, expected an object")
    return value


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool | int | float):
        return str(value)
    raise _ShapeError(f"expected text, got {type(value).__name__}")


def _int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _ShapeError("expected a number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except ValueError:
            raise _ShapeError(f"expected a number, got {_short(str(value), 40)!r}") from None
    raise _ShapeError(f"expected a number, got {type(value).__name__}")


def _strings(value: object) -> tuple[str, ...]:
    return tuple(text for item in _list(value) if (text := _text(item)) is not None)


def _present(data: Mapping[str, Any], key: str, what: str) -> Any:
    """Return `data[key]`, which may be null; raise _ShapeError when the script's key is missing."""
    if key not in data:
        raise _ShapeError(f"{what} has no {key!r} field")
    return data[key]


def _required(data: Mapping[str, Any], key: str, what: str) -> Any:
    """Return `data[key]`; raise _ShapeError when it is missing or null (the script always writes a value)."""
    value = _present(data, key, what)
    if value is None or value == "":
        raise _ShapeError(f"{what} has no value for {key!r}")
    return value


def _required_list(data: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """Return the list at `data[key]` (a single value is a one-item list: ConvertTo-Json 5.1 unwraps them).

    Missing or null is a _ShapeError: the script writes every list, empty as [], so an absent one
    is not "nothing to report".
    """
    value = _present(data, key, what)
    if value is None:
        raise _ShapeError(f"{what} has a null {key!r} list")
    return _list(value)


def parse_utc(value: object) -> datetime | None:
    """Return an ISO-8601 (or legacy `/Date(ms)/`) value as an aware UTC datetime; None when blank.

    A value without an offset is taken as UTC (the script writes UTC); a bare date is midnight UTC.
    """
    if value is not None and not isinstance(value, str):
        raise _ShapeError(f"a date that is {type(value).__name__}, not ISO-8601 text")
    text = _text(value)
    if text is None:
        return None
    legacy = LEGACY_DATE.match(text)
    if legacy:
        try:
            return datetime.fromtimestamp(int(legacy.group(1)) / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise _ShapeError(f"{_short(text, 40)!r} is not a date this auditor can read") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _ShapeError(f"{_short(text, 40)!r} is not an ISO-8601 date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def kb_of(title: str) -> str | None:
    """Return the KB number in an update title as "KB5108672", or None."""
    match = KB_IN_TITLE.search(title)
    return f"KB{match.group(1)}" if match else None


def _find_envelope(result: CommandResult, host: HostEntry) -> dict[str, Any]:
    where = f"Windows host {host.name}"
    matches = ENVELOPE.findall(result.stdout)
    if not matches:
        stderr = clixml_errors(result.stderr) if result.stderr else ""
        detail = f" (stderr: {stderr})" if stderr else ""
        start = result.stdout.find(ENVELOPE_START)
        if start >= 0 and result.stdout.find(ENVELOPE_END, start) >= 0:
            raise HostOutputError(
                f"{where}: the audit envelope is not valid base64 (unexpected characters){detail}"
            )
        if start >= 0:
            raise HostOutputError(
                f"{where}: the output was cut off inside the audit envelope "
                f"({len(result.stdout)} bytes of stdout, exit code {result.exit_code}){detail}"
            )
        if result.exit_code != 0:
            raise HostOutputError(
                f"{where}: powershell exited with code {result.exit_code} without an audit envelope{detail}"
            )
        beginning = _printable_start(result.stdout)
        shown = f", starting {beginning!r}" if beginning else ""
        raise HostOutputError(
            f"{where}: the output holds no audit envelope ({len(result.stdout)} bytes of stdout{shown}){detail}"
        )
    if len(matches) > 1:
        raise HostOutputError(f"{where}: the output holds {len(matches)} audit envelopes, expected one")
    try:
        raw = base64.b64decode(b"".join(matches[0].split()), validate=True)
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as exc:
        kind = "base64" if isinstance(exc, binascii.Error) else "UTF-8 JSON"
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise HostOutputError(
            f"{where}: the audit envelope is not valid {kind} ({_short(reason, 80)})"
        ) from None
    if not isinstance(document, dict):
        raise HostOutputError(
            f"{where}: the audit envelope holds {type(document).__name__}, expected an object"
        )
    if document.get("ok") is not True:
        error = _text(document.get("error")) if isinstance(document.get("error"), str) else None
        at = document.get("at")
        position = _short(at.strip().splitlines()[0], 60) if isinstance(at, str) and at.strip() else ""
        raise HostOutputError(
            f"{where}: the fact script failed: {_short(error or 'no reason given')}"
            + (f" ({position})" if position else "")
        )
    if document.get("schema") != SCHEMA:
        raise HostOutputError(
            f"{where}: the audit envelope has schema {_short(repr(document.get('schema')), 20)}, "
            f"this auditor reads schema {SCHEMA}"
        )
    if not isinstance(document.get("data"), dict):
        raise HostOutputError(f"{where}: the audit envelope has no data object")
    return document


class _Sections:
    """The envelope's sections, and why any of them could not be read."""

    def __init__(self, document: Mapping[str, Any], host: HostEntry) -> None:
        self.host = host
        self.data: Mapping[str, Any] = document["data"]
        errors = document.get("errors")
        self.errors: Mapping[str, Any] = errors if isinstance(errors, Mapping) else {}
        self.section_errors: dict[str, str] = {}

    def failure(self, section: str) -> str | None:
        """Return why the script could not read `section`, or None when its data is there."""
        if section in self.errors:
            reason = _short(str(self.errors[section]))
            return f"{WHAT.get(section, section)} could not be read on {self.host.name}: {reason}"
        if section not in self.data or self.data[section] is None:
            return f"{WHAT.get(section, section)} is missing from the output of {self.host.name}"
        return None

    def build(self, fact: str, builder: Callable[..., T]) -> T | None:
        """Return `builder(*sections)` for a fact; on a missing or misshapen section record why, return None."""
        sections = SECTION_OF_FACT[fact]
        for section in sections:
            reason = self.failure(section)
            if reason is not None:
                self.section_errors[fact] = reason
                return None
        try:
            return builder(*(self.data[s] for s in sections))
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as exc:
            # _ShapeError names the field; anything else is a shape the builders did not foresee.
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
            self.section_errors[fact] = (
                f"{WHAT.get(sections[0], sections[0])} on {self.host.name} came back in an unexpected "
                f"shape: {_short(detail, 200)}"
            )
            return None


def _operating_system(raw: object) -> OperatingSystem:
    os_data = _obj(raw, "os")
    build = _int(os_data.get("current_build"))
    major, minor = _int(os_data.get("major")), _int(os_data.get("minor"))
    if major is not None and minor is not None:
        prefix = f"{major}.{minor}"
    else:
        prefix = _text(os_data.get("current_version")) or "?"
    return OperatingSystem(
        family="windows",
        product=_text(os_data.get("product_name")) or "Windows (product name not reported)",
        version=f"{prefix}.{build}" if build is not None else prefix,
        build=build,
        ubr=_int(os_data.get("ubr")),
    )


def _history(raw: object) -> tuple[UpdateHistoryEntry, ...]:
    entries: list[UpdateHistoryEntry] = []
    for item in _required_list(_obj(raw, "wua_history"), "entries", "the update history"):
        entry = _obj(item, "history entry")
        title = _text(entry.get("title"))
        when = parse_utc(entry.get("date"))
        operation, result = _int(entry.get("operation")), _int(entry.get("result"))
        if title is None or when is None or operation is None or result is None:
            raise _ShapeError(
                f"history entry {title or '(untitled)'!r} lacks its "
                + ", ".join(
                    name
                    for name, value in (
                        ("title", title),
                        ("date", when),
                        ("operation", operation),
                        ("result", result),
                    )
                    if value is None
                )
            )
        entries.append(UpdateHistoryEntry(when, title, kb_of(title), operation, result))
    return tuple(sorted(entries, key=lambda e: e.date, reverse=True))


def _category(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        name = CATEGORY_NAMES.get((_text(raw.get("id")) or "").lower())
        return name or _text(raw.get("name"))
    return _text(raw)


def _pending(raw: object) -> tuple[int | None, tuple[PendingUpdate, ...]]:
    search = _obj(raw, "wua_search")
    result = _int(_required(search, "result", "the search for pending updates"))
    updates: list[PendingUpdate] = []
    for item in _required_list(search, "updates", "the search for pending updates"):
        update = _obj(item, "pending update")
        title = _text(update.get("title")) or "(untitled update)"
        what = f"pending update {_short(title, 40)!r}"
        kbs = tuple(f"KB{kb.upper().removeprefix('KB')}" for kb in _strings(update.get("kbs")))
        # Severity and classification decide whether an update is urgent: both must be there (a
        # null MsrcSeverity is Microsoft's "not rated"; a missing key is not).
        categories = tuple(c for c in (_category(c) for c in _required_list(update, "categories", what)) if c)
        updates.append(
            PendingUpdate(
                title=title,
                kbs=kbs or ((kb,) if (kb := kb_of(title)) else ()),
                severity=_text(_present(update, "severity", what)),
                categories=categories,
                released=parse_utc(_present(update, "released", what)),
            )
        )
    return result, tuple(updates)


def _hotfixes(raw: object) -> tuple[HotFix, ...]:
    fixes = []
    for item in _list(_obj(raw, "hotfixes").get("entries")):
        fix = _obj(item, "hotfix")
        fixes.append(
            HotFix(
                kb=_text(fix.get("kb")) or "?",
                description=_text(fix.get("description")) or "",
                installed_on=parse_utc(fix.get("installed_on")),
            )
        )
    return tuple(fixes)


def _update_source(raw: object) -> str | None:
    source = _obj(raw, "update_source")
    server = _text(source.get("wu_server"))
    return server if server and _int(source.get("use_wu_server")) == 1 else None


def _reboot_required(raw: object) -> bool:
    reboot = _obj(raw, "reboot")
    return reboot.get("wu_reboot_required") is True or reboot.get("cbs_reboot_pending") is True


def _code(table: tuple[str, ...], value: object) -> str:
    code = _int(value)
    return table[code] if code is not None and 0 <= code < len(table) else f"code {code}"


def _volumes(raw: object) -> tuple[Volume, ...]:
    bitlocker = _obj(raw, "bitlocker")
    source = _text(_required(bitlocker, "source", "BitLocker"))
    if source not in ("Get-BitLockerVolume", "Win32_EncryptableVolume"):
        raise _ShapeError(
            f"BitLocker source {source!r} is neither Get-BitLockerVolume nor Win32_EncryptableVolume"
        )
    wmi = source == "Win32_EncryptableVolume"
    volumes: list[Volume] = []
    for item in _required_list(bitlocker, "volumes", "BitLocker"):
        row = _obj(item, "volume")
        mount = _text(_required(row, "mount", "a BitLocker volume")) or "?"
        what = f"BitLocker volume {mount}"
        drive_type = _int(_present(row, "drive_type", what))
        if drive_type is not None and drive_type != FIXED_DRIVE:
            continue  # removable and optical drives are 12g.mobile-media-encryption's
        if mount.startswith(VOLUME_GUID_PATH):
            folder = _text(_present(row, "name", what))
            if drive_type is None and folder is None:
                raise _ShapeError(
                    f"{what} has no drive letter and Win32_Volume did not say where it is mounted"
                )
            if not folder or folder.startswith(VOLUME_GUID_PATH):
                continue  # neither drive letter nor folder mount: recovery or system reserved partition
            mount = folder  # mounted in a folder: show its path
        if wmi:
            kind = _code(VOLUME_TYPE, _required(row, "type_code", what))
            status = _code(CONVERSION_STATUS, _required(row, "conversion_status", what))
            protection = _code(PROTECTION_STATUS, _required(row, "protection_status", what))
            method = _code(ENCRYPTION_METHOD, _required(row, "method_code", what))
        else:
            kind = _text(_required(row, "type", what)) or "?"
            status = _text(_required(row, "status", what)) or "?"
            protection = _text(_required(row, "protection", what)) or "?"
            method = _text(_required(row, "method", what)) or "?"
        if kind == "Removable":
            continue
        volumes.append(
            Volume(
                mount=mount,
                kind=kind,
                encrypted=status == "FullyEncrypted" and protection == "On",
                detail=f"{status}, protection {protection}, method {method}",
            )
        )
    if not volumes:
        raise _ShapeError("no fixed volume was reported")
    return tuple(volumes)


def _rule_name(rule: Mapping[str, Any]) -> str:
    display, name = _text(rule.get("display")), _text(rule.get("name"))
    if display and name and display != name and not name.startswith("{"):
        return f"{display} [{name}]"
    return display or name or "(unnamed rule)"


def _firewall(raw: object, raw_listeners: object) -> HostFirewall:
    firewall = _obj(raw, "firewall")
    profiles = []
    for item in _required_list(firewall, "profiles", "the firewall"):
        profile = _obj(item, "firewall profile")
        name = _text(_required(profile, "name", "a firewall profile")) or "?"
        what = f"firewall profile {name}"
        profiles.append(
            FirewallProfile(
                name=name,
                # Only an explicit True is on; NotConfigured in the ActiveStore is not taken as on.
                enabled=(_text(_required(profile, "enabled", what)) or "").lower() == "true",
                default_inbound=_text(_required(profile, "default_inbound", what)) or "?",
            )
        )
    if not profiles:
        raise _ShapeError("no firewall profile was reported")
    rules = []
    for item in _required_list(firewall, "inbound_allow", "the firewall"):
        rule = _obj(item, "firewall rule")
        # A rule whose filter could not be joined is taken as broadly as it can be: any port, any address.
        profile_text = _text(rule.get("profile")) or "Any"
        rules.append(
            InboundAllowRule(
                name=_rule_name(rule),
                protocol=_text(rule.get("protocol")) or "Any",
                local_ports=_strings(rule.get("local_ports")) or ("Any",),
                remote_addresses=_strings(rule.get("remote_addresses")) or ("Any",),
                profiles=tuple(p.strip() for p in profile_text.split(",") if p.strip()),
            )
        )
    listeners = []
    for item in _required_list(_obj(raw_listeners, "listeners"), "tcp", "the listening ports"):
        sock = _obj(item, "listener")
        port = _int(sock.get("port"))
        if port is None:
            raise _ShapeError("a listener has no port")
        listeners.append(
            Listener(
                protocol="TCP",
                address=_text(sock.get("address")) or "?",
                port=port,
                process=_text(sock.get("process")),
            )
        )
    if not listeners:
        # The auditor reached this host over SSH: its sshd listens, so an empty list is not the truth.
        raise _ShapeError("no listening TCP port was reported, yet the host answered over SSH")
    return HostFirewall(tuple(profiles), tuple(rules), tuple(sorted(set(listeners), key=_listener_key)))


def _listener_key(listener: Listener) -> tuple[int, str]:
    return listener.port, listener.address


def _admins(raw: object) -> HostAdmins:
    admins = _obj(raw, "admins")
    members = []
    for item in _required_list(admins, "members", "the Administrators group"):
        member = _obj(item, "group member")
        name = _text(member.get("name")) or _text(member.get("sid"))
        if name is None:
            raise _ShapeError("a member of Administrators has neither name nor SID")
        members.append(name)
    if not members:
        # Windows refuses to remove the built-in Administrator from the group: empty is not a real answer.
        raise _ShapeError("the Administrators group was reported without any member")
    prints: list[str] = []
    for item in _required_list(admins, "key_files", "the administrators' keys"):
        key_file = _obj(item, "key file")
        where = f"key file {_text(key_file.get('path')) or '?'}"
        prints.extend(_strings(_required_list(key_file, "fingerprints", where)))
        unparsed = _int(_required(key_file, "unparsed", where)) or 0
        if unparsed:
            # Fail closed: a key line the script could not fingerprint is an unknown key.
            path = _text(key_file.get("path")) or "authorized_keys"
            prints.append(f"unreadable key line(s) in {path}: {unparsed}")
    return HostAdmins(members=tuple(members), ssh_key_fingerprints=tuple(dict.fromkeys(prints)))


def _schannel(raw: object) -> tuple[SchannelProtocol, ...]:
    rows = {}
    for item in _required_list(_obj(raw, "schannel"), "server", "SCHANNEL"):
        row = _obj(item, "SCHANNEL protocol")
        protocol = _text(row.get("protocol"))
        if protocol not in SCHANNEL_PROTOCOLS:
            raise _ShapeError(f"unknown SCHANNEL protocol {protocol!r}")
        # null: the registry value is absent, and the build's documented default applies (the
        # control judges it); a missing key means the script did not answer.
        what = f"SCHANNEL {protocol}"
        rows[protocol] = SchannelProtocol(
            protocol,
            _int(_present(row, "enabled", what)),
            _int(_present(row, "disabled_by_default", what)),
        )
    missing = [p for p in SCHANNEL_PROTOCOLS if p not in rows]
    if missing:
        raise _ShapeError(f"no answer for {', '.join(missing)}")
    return tuple(rows[p] for p in SCHANNEL_PROTOCOLS)


def _sql_force_encryption(raw: object) -> bool | None:
    """Return True when every SQL Server instance forces encryption; None when no instance exists."""
    instances = [
        _obj(i, "SQL Server instance")
        for i in _required_list(_obj(raw, "sql_server"), "instances", "the SQL Server settings")
    ]
    if not instances:
        return None
    # ForceEncryption absent means 0 (off), which is SQL Server's default.
    return all(_int(i.get("force_encryption")) == 1 for i in instances)


def parse_windows(result: CommandResult, host: HostEntry) -> HostFacts:
    """Return the facts in the output of `windows_command()` on `host`.

    Raises HostOutputError when the output is not a complete, well-formed envelope from the
    script (garbage, cut off, a failed script, a non-zero exit without an envelope). A section
    the script could not read, or that came back misshapen, is None with its reason in
    `section_errors`.
    """
    document = _find_envelope(result, host)
    sections = _Sections(document, host)

    os_facts = sections.build("os", _operating_system)
    if os_facts is None:
        os_facts = OperatingSystem(family="windows", product="unknown", version="unknown")

    history = sections.build("windows_updates", _history)
    updates = None
    if history is not None:
        searched = sections.build("wua_search", _pending)
        search_result, pending = searched if searched is not None else (None, ())
        updates = WindowsUpdates(
            history=history,
            pending=pending,
            search_result=search_result,
            hotfixes=sections.build("hotfixes", _hotfixes) or (),
            reboot_required=bool(sections.build("reboot", _reboot_required)),
            update_source=sections.build("update_source", _update_source),
        )

    sql = sections.build("sql_force_encryption", _sql_force_encryption)
    if sql is None and "sql_force_encryption" not in sections.section_errors and "db" in host.roles:
        sections.section_errors["sql_force_encryption"] = (
            f"no SQL Server instance was found in the registry of database host {host.name}"
        )

    return HostFacts(
        name=host.name,
        address=host.address,
        roles=tuple(host.roles),
        os=os_facts,
        firewall=sections.build("firewall", _firewall),
        admins=sections.build("admins", _admins),
        volumes=sections.build("volumes", _volumes),
        schannel=sections.build("schannel", _schannel),
        windows_updates=updates,
        sql_force_encryption=sql,
        section_errors=dict(sections.section_errors),
    )
