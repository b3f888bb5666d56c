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
