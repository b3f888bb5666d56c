"""A stand-in for powershell.exe on a Windows host, run by a real sshd as its ForceCommand.

Windows cannot run here, so the SSH tests start OpenSSH's sshd with
`ForceCommand python3 <repo>/demo/standins/windows_powershell.py <scenario>` for their Windows addresses.
The stand-in checks that what came over SSH is exactly what the auditor sends a Windows host:
the command in SSH_ORIGINAL_COMMAND must be `windows_command()`'s (powershell.exe, its flags,
-EncodedCommand of the stdin bootstrap) and stdin must carry the base64 of `WINDOWS_SCRIPT`
(recovered the way the bootstrap recovers it). Then it answers as a Windows host would: the
scenario's recorded envelope document (demo/standins/windows_recordings/<scenario>.json) base64-encoded
between the markers on stdout, CLIXML progress noise on stderr, exit 0 (1 when the script
failed). Anything else is refused with a message and exit 1, the way cmd.exe refuses a command
it does not know (so `uname -s` reveals a Windows host).

Scenarios besides the recordings: `garbage` (no envelope at all), `truncated` (the output stops
inside the envelope), `nonzero` (powershell fails before the script runs: exit 1, no envelope)
and `huge` (20 MiB of output before the envelope).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run by sshd as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collectors.hosts.windows.command import (
    BOOTSTRAP,
    POWERSHELL,
    POWERSHELL_FLAGS,
    WINDOWS_SCRIPT,
    windows_command,
)

RECORDED_OUTPUTS = Path(__file__).resolve().parent / "windows_recordings"
SPECIAL = ("garbage", "truncated", "nonzero", "huge")
HUGE_BYTES = 20 * 1024 * 1024

CLIXML_PROGRESS = (
    b"#< CLIXML\r\n"
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
    b'<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for '
    b"first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR>"
    b"</MS></Obj></Objs>"
)
CLIXML_ERROR = (
    b"#< CLIXML\r\n"
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<S S="Error">Cannot convert value "System.String" to type "System.Management.Automation.ScriptBlock"._x000D__x000A_'
    b'</S><S S="Error">At line:1 char:87_x000D__x000A_</S></Objs>'
)
CMD_UNKNOWN = (
    b"'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
)


def scenarios() -> list[str]:
    """Return every scenario the stand-in serves: the recordings and the special outputs."""
    return sorted(p.stem for p in RECORDED_OUTPUTS.glob("*.json")) + list(SPECIAL)


def document(scenario: str) -> dict[str, Any]:
    """Return a recording: the JSON document inside the scenario's envelope."""
    loaded: dict[str, Any] = json.loads((RECORDED_OUTPUTS / f"{scenario}.json").read_text(encoding="utf-8"))
    return loaded


def envelope(doc: dict[str, Any]) -> bytes:
    """Return a document as the script writes it: ConvertTo-Json -Compress, UTF-8, base64, markers."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return b"<<AUDIT:" + base64.b64encode(text.encode("utf-8")) + b":AUDIT>>"


def render(scenario: str) -> tuple[bytes, bytes, int]:
    """Return (stdout, stderr, exit code) of a Windows host running the fact script in `scenario`."""
    if scenario == "garbage":
        junk = b"\x1b[2J\x1b[H\xff\xfeW\x00i\x00n\x00\r\nPS C:\\Users\\svc-audit> \x00\x07" * 3
        return junk + b'{"ok": tru', b"", 0
    if scenario == "truncated":
        whole = envelope(document("patched-2022"))
        return whole[: len(whole) // 2], CLIXML_PROGRESS, 0
    if scenario == "nonzero":
        return b"", CLIXML_ERROR, 1
    if scenario == "huge":
        filler = (b"WARNING: " + b"x" * 1014 + b"\r\n") * (HUGE_BYTES // 1025)
        return filler + envelope(document("patched-2022")), CLIXML_PROGRESS, 0
    doc = document(scenario)
    return envelope(doc), CLIXML_PROGRESS, 0 if doc.get("ok") is True else 1


def bootstrap_payload(stdin: bytes) -> str:
    """Return the script the bootstrap runs for this stdin, as the bootstrap computes it.

    `@($input) -join ''` joins stdin's lines without separators, `-replace '\\s',''` drops any
    whitespace left, and the rest is base64 of UTF-8. Raises ValueError when stdin is not that.
    """
    text = "".join(stdin.decode("ascii").splitlines())
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"stdin is not base64 of UTF-8 text ({exc})") from None


def check_command(command: str) -> str | None:
    """Return what is wrong with the command line, or None when it is `windows_command()`'s."""
    words = command.split()
    expected_prefix = [POWERSHELL, *POWERSHELL_FLAGS, "-EncodedCommand"]
    if words[: len(expected_prefix)] != expected_prefix or len(words) != len(expected_prefix) + 1:
        return f"unexpected command shape: {' '.join(words[:7])} ... ({len(words)} words)"
    try:
        bootstrap = base64.b64decode(words[-1], validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return "-EncodedCommand is not base64 of UTF-16LE text"
    if bootstrap != BOOTSTRAP:
        return f"the encoded command is not the stdin bootstrap: {bootstrap[:60]!r}"
    if command != windows_command().command:
        return "the command differs from windows_command()"
    return None


def main(argv: list[str]) -> int:
    """Serve one scenario for the command in SSH_ORIGINAL_COMMAND; return the exit code."""
    if len(argv) != 2 or argv[1] not in scenarios():
        sys.stderr.write(f"usage: windows_powershell.py SCENARIO (one of {', '.join(scenarios())})\n")
        return 2
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    program = command.split()[0] if command.split() else ""
    if program.lower() != POWERSHELL:
        sys.stdout.buffer.write(b"")
        sys.stderr.buffer.write(CMD_UNKNOWN % (program or "(empty)").encode("utf-8", "replace"))
        return 1
    problem = check_command(command)
    if problem is None:
        stdin = sys.stdin.buffer.read()
        try:
            if bootstrap_payload(stdin) != WINDOWS_SCRIPT:
                problem = "stdin carries a script other than WINDOWS_SCRIPT"
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        sys.stderr.write(f"windows_powershell: refused: {problem}\n")
        return 1
    stdout, stderr, code = render(argv[1])
    sys.stdout.buffer.write(stdout)
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(stderr)
    sys.stderr.buffer.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
