"""The envelope the script writes on stdout, `<<AUDIT:base64(UTF-8 JSON):AUDIT>>`, found and checked.

Output that is not one complete, well-formed envelope from a script that succeeded (garbage, cut
off, a failed script, a non-zero exit without an envelope, another schema) is a HostOutputError.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from typing import TYPE_CHECKING, Any

from collectors.hosts.commands import CommandResult, HostOutputError
from collectors.hosts.windows.shapes import as_text, short
from collectors.messages import Reason
from reports.evidence import msg

if TYPE_CHECKING:  # the stand-in imports this package under a bare system python3 (no pydantic)
    from collectors.config.inventory import HostEntry

ENVELOPE = re.compile(rb"<<AUDIT:([A-Za-z0-9+/=\s]*):AUDIT>>")
ENVELOPE_START = b"<<AUDIT:"
ENVELOPE_END = b":AUDIT>>"
SCHEMA = 1
"""The envelope's `schema`: bumped when the script's output changes shape."""

CLIXML_ERROR = re.compile(r'<S S="Error">(.*?)</S>', re.DOTALL)
CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _printable_start(data: bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    first = text.splitlines()[0] if text else ""
    shown = "".join(ch if ch.isprintable() else "?" for ch in first)
    return short(shown, limit)


def clixml_errors(stderr: bytes) -> str:
    """Return the error text in PowerShell's stderr (CLIXML or plain), short; progress records dropped."""
    text = stderr.decode("utf-8", errors="replace")
    if "#< CLIXML" not in text:
        return short(text, 200)
    found = [
        html.unescape(CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw))
        for raw in CLIXML_ERROR.findall(text)
    ]
    return short(" ".join(found), 200)


def find_envelope(result: CommandResult, host: HostEntry) -> dict[str, Any]:
    where = msg("Windows host {host}", host=host.name)
    matches = ENVELOPE.findall(result.stdout)
    if not matches:
        stderr = clixml_errors(result.stderr) if result.stderr else ""
        start = result.stdout.find(ENVELOPE_START)
        if start >= 0 and result.stdout.find(ENVELOPE_END, start) >= 0:
            problem: Reason = msg("the audit envelope is not valid base64 (unexpected characters)")
        elif start >= 0:
            problem = msg(
                "the output was cut off inside the audit envelope ({bytes} bytes of stdout, exit code {code})",
                bytes=len(result.stdout),
                code=result.exit_code,
            )
        elif result.exit_code != 0:
            problem = msg(
                "powershell exited with code {code} without an audit envelope", code=result.exit_code
            )
        elif beginning := _printable_start(result.stdout):
            problem = msg(
                "the output holds no audit envelope ({bytes} bytes of stdout, starting {start})",
                bytes=len(result.stdout),
                start=repr(beginning),
            )
        else:
            problem = msg(
                "the output holds no audit envelope ({bytes} bytes of stdout)", bytes=len(result.stdout)
            )
        if stderr:
            raise HostOutputError(
                msg("{host}: {problem} (stderr: {stderr})", host=where, problem=problem, stderr=stderr)
            )
        raise HostOutputError(msg("{host}: {problem}", host=where, problem=problem))
    if len(matches) > 1:
        raise HostOutputError(
            msg("{host}: the output holds {n} audit envelopes, expected one", host=where, n=len(matches))
        )
    try:
        raw = base64.b64decode(b"".join(matches[0].split()), validate=True)
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as exc:
        kind = "base64" if isinstance(exc, binascii.Error) else "UTF-8 JSON"
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise HostOutputError(
            msg(
                "{host}: the audit envelope is not valid {encoding} ({error})",
                host=where,
                encoding=kind,
                error=short(reason, 80),
            )
        ) from None
    if not isinstance(document, dict):
        raise HostOutputError(
            msg(
                "{host}: the audit envelope holds {type}, expected an object",
                host=where,
                type=type(document).__name__,
            )
        )
    if document.get("ok") is not True:
        error = as_text(document.get("error")) if isinstance(document.get("error"), str) else None
        at = document.get("at")
        position = short(at.strip().splitlines()[0], 60) if isinstance(at, str) and at.strip() else ""
        said: Reason = short(error) if error else msg("no reason given")
        raise HostOutputError(
            msg(
                "{host}: the fact script failed: {error} ({position})",
                host=where,
                error=said,
                position=position,
            )
            if position
            else msg("{host}: the fact script failed: {error}", host=where, error=said)
        )
    if document.get("schema") != SCHEMA:
        raise HostOutputError(
            msg(
                "{host}: the audit envelope has schema {schema}, this auditor reads schema {supported}",
                host=where,
                schema=short(repr(document.get("schema")), 20),
                supported=SCHEMA,
            )
        )
    if not isinstance(document.get("data"), dict):
        raise HostOutputError(msg("{host}: the audit envelope has no data object", host=where))
    return document
