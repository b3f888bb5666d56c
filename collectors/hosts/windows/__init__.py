"""Windows hosts: one batched PowerShell 5.1 script (gather.ps1) over OpenSSH, its JSON envelope, and its parser.

The command (`windows_command`) is `powershell.exe ... -EncodedCommand <bootstrap>`: Win32-OpenSSH
runs it under cmd.exe or PowerShell alike (base64 has no shell metacharacters), and the short
bootstrap keeps the command line far below cmd.exe's 8191-character limit. The bootstrap reads
the real script (gather.ps1, shipped as package data; `command.WINDOWS_SCRIPT`; UTF-8, base64)
from stdin and runs it.

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

Where it lives: command.py (the command, gather.ps1 on its stdin), envelope.py (finding and
checking the envelope), sections.py (which fact is built from which sections), shapes.py (reading
JSON values, failing closed), parse.py (`parse_windows`), and one module per section or group of
sections: operating_system.py, updates.py, bitlocker.py, firewall.py, admins.py and
transit_encryption.py (SCHANNEL and SQL Server).
"""
