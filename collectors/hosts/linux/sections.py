"""The framing of the Linux fact script's output: its sections by name, each decoded from base64.

The format is described in collectors/hosts/linux/__init__.py.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from collectors.hosts.commands import HostOutputError
from collectors.hosts.linux.command import SCRIPT_VERSION
from collectors.messages import Reason
from reports.evidence import msg, msg_n


@dataclass(frozen=True)
class Section:
    """One section of the script's output."""

    name: str
    rc: int
    stdout: str
    stderr: str
    absent_tool: str | None = None

    @property
    def absent(self) -> bool:
        """True when the section's tool is not installed on the host."""
        return self.absent_tool is not None

    @property
    def ok(self) -> bool:
        """True when the section ran and exited 0."""
        return not self.absent and self.rc == 0

    def failure(self, what: str) -> Reason:
        """Describe why the section could not be used (`what`: the command, as the host runs it)."""
        if self.absent_tool is not None:
            return msg("{what}: {tool} is not installed", what=what, tool=self.absent_tool)
        detail = " ".join(self.stderr.split())[:300]
        if detail:
            return msg("{what} failed (exit {code}): {detail}", what=what, code=self.rc, detail=detail)
        return msg("{what} failed (exit {code})", what=what, code=self.rc)


_MARKER = re.compile(r"^@@AUDIT-([A-Z]+)(?: (.*?))?@@$")
_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]*$")


def _attrs(text: str | None) -> dict[str, str]:
    return dict(part.split("=", 1) for part in (text or "").split() if "=" in part)


def _decode(lines: list[str], host: Reason, section: str) -> str:
    try:
        raw = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        raise HostOutputError(
            msg("{host}: section {section} is not valid base64", host=host, section=section)
        ) from None
    return raw.decode("utf-8", errors="replace")


def split_sections(stdout: bytes, host: Reason) -> dict[str, Section]:
    """Return the sections of the script's output by name; raise HostOutputError when it is not that.

    Text before the begin marker (a login banner, a noisy .bashrc) is ignored; anything else
    that is not a marker or base64 inside the framing is garbage, and a missing end or done
    marker means the output was truncated.
    """
    text = stdout.decode("utf-8", errors="replace")
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("@@AUDIT-"))
    except StopIteration:
        shown = " ".join(text.split())[:200]
        raise HostOutputError(
            msg(
                "{host}: the Linux fact script printed no audit markers (output starts: {start})",
                host=host,
                start=repr(shown),
            )
            if shown
            else msg("{host}: the Linux fact script printed no audit markers (no output)", host=host)
        ) from None
    sections: dict[str, Section] = {}
    current: dict[str, Any] | None = None
    done: int | None = None
    began = False
    for number, raw_line in enumerate(lines[start:], start=start + 1):
        line = raw_line.strip()
        if done is not None:
            break
        marker = _MARKER.match(line)
        if marker is None:
            if current is not None and _B64_LINE.match(line):
                current["stderr" if current["in_stderr"] else "stdout"].append(line)
                continue
            raise HostOutputError(
                msg(
                    "{host}: unexpected output at line {line} of the Linux fact script: {output}",
                    host=host,
                    line=number,
                    output=repr(line[:80]),
                )
            )
        kind, attrs = marker.group(1), _attrs(marker.group(2))
        if kind == "FATAL":
            raise HostOutputError(
                msg("{host}: the Linux fact script stopped: {error}", host=host, error=str(marker.group(2)))
            )
        if kind == "BEGIN":
            if attrs.get("v") != SCRIPT_VERSION:
                raise HostOutputError(
                    msg(
                        "{host}: unknown fact script version {version}",
                        host=host,
                        version=repr(attrs.get("v")),
                    )
                )
            began = True
            continue
        if not began:
            raise HostOutputError(
                msg("{host}: audit marker {kind} before the begin marker", host=host, kind=kind)
            )
        if kind == "SECTION":
            if current is not None:
                raise HostOutputError(
                    msg("{host}: section {section} has no end marker", host=host, section=current["name"])
                )
            current = {
                "name": attrs.get("name", "?"),
                "stdout": [],
                "stderr": [],
                "rc": None,
                "in_stderr": False,
            }
        elif kind == "RC" and current is not None and current["rc"] is None:
            try:
                current["rc"] = int((marker.group(2) or "").strip())
            except ValueError:
                raise HostOutputError(
                    msg("{host}: section {section} has a bad exit code", host=host, section=current["name"])
                ) from None
        elif kind == "STDERR" and current is not None and current["rc"] is not None:
            current["in_stderr"] = True
        elif kind == "END" and current is not None and current["in_stderr"]:
            name = current["name"]
            if attrs.get("name") != name:
                raise HostOutputError(
                    msg(
                        "{host}: section {section} ends as {end}",
                        host=host,
                        section=name,
                        end=repr(attrs.get("name")),
                    )
                )
            sections[name] = Section(
                name=name,
                rc=current["rc"],
                stdout=_decode(current["stdout"], host, name),
                stderr=_decode(current["stderr"], host, name),
            )
            current = None
        elif kind == "ABSENT" and current is None:
            name = attrs.get("name", "?")
            sections[name] = Section(
                name=name, rc=127, stdout="", stderr="", absent_tool=attrs.get("tool", name)
            )
        elif kind == "DONE" and current is None:
            try:
                done = int(attrs.get("sections", ""))
            except ValueError:
                raise HostOutputError(
                    msg("{host}: bad done marker {marker}", host=host, marker=repr(line))
                ) from None
        else:
            raise HostOutputError(
                msg(
                    "{host}: audit marker {kind} out of place at line {line}",
                    host=host,
                    kind=kind,
                    line=number,
                )
            )
    if not began:
        raise HostOutputError(msg("{host}: the Linux fact script output has no begin marker", host=host))
    if done is None:
        if current is not None:
            raise HostOutputError(
                msg_n(
                    "{host}: the Linux fact script output is truncated inside section {section} "
                    "({n} section complete)",
                    "{host}: the Linux fact script output is truncated inside section {section} "
                    "({n} sections complete)",
                    "n",
                    host=host,
                    section=current["name"],
                    n=len(sections),
                )
            )
        raise HostOutputError(
            msg_n(
                "{host}: the Linux fact script output is truncated ({n} section complete)",
                "{host}: the Linux fact script output is truncated ({n} sections complete)",
                "n",
                host=host,
                n=len(sections),
            )
        )
    if done != len(sections):
        raise HostOutputError(
            msg(
                "{host}: the fact script reported {done} sections, {arrived} arrived",
                host=host,
                done=done,
                arrived=len(sections),
            )
        )
    return sections
