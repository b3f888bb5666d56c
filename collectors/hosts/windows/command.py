"""The Windows fact command: powershell.exe running a short bootstrap that reads gather.ps1 from stdin.

The fact script (gather.ps1, shipped as package data) goes on stdin as base64 of its UTF-8 bytes;
the command line carries only the bootstrap, as -EncodedCommand. demo/standins/windows_powershell.py imports
this module under a bare system python3: it needs nothing beyond the standard library.
"""

from __future__ import annotations

import base64
from importlib.resources import files

from collectors.hosts.commands import GatherCommand

POWERSHELL = "powershell.exe"
POWERSHELL_FLAGS = ("-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")

BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue';"
    "$s=((@($input) -join '') -replace '\\s','');"
    "& ([ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($s))))"
)
"""Runs the script that stdin carries (UTF-8, base64); `$input` enumerates stdin until EOF."""

WINDOWS_SCRIPT = files("collectors.hosts.windows").joinpath("gather.ps1").read_text(encoding="utf-8").strip()
"""The whole batched fact script (Windows PowerShell 5.1); sent on stdin, never on the command line."""


def encode_powershell(script: str) -> str:
    """Return `script` as -EncodedCommand wants it: base64 of its UTF-16LE bytes."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def windows_command() -> GatherCommand:
    """Return the one command a Windows host runs, with the fact script on its stdin."""
    command = " ".join((POWERSHELL, *POWERSHELL_FLAGS, "-EncodedCommand", encode_powershell(BOOTSTRAP)))
    payload = base64.b64encode(WINDOWS_SCRIPT.encode("utf-8")) + b"\n"
    return GatherCommand(command=command, stdin=payload)
