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

    def failure(self, what: str) -> str:
        """Describe why the section could not be used."""
        if self.absent_tool is not None:
            return f"{what}: {self.absent_tool} is not installed"
        detail = " ".join(self.stderr.split())[:300]
        return f"{what} failed (exit {self.rc})" + (f": {detail}" if detail else "")


_MARKER = re.compile(r"^@@AUDIT-([A-Z]+)(?: (.*?))?@@$")
_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]*$")


def _attrs(text: str | None) -> dict[str, str]:
    return dict(part.split("=", 1) for part in (text or "").split() if "=" in part)


def _decode(lines: list[str], host: str, section: str) -> str:
    try:
        raw = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        raise HostOutputError(f"{host}: section {section} is not valid base64") from None
    return raw.decode("utf-8", errors="replace")


def split_sections(stdout: bytes, host: str) -> dict[str, Section]:
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
            f"{host}: the Linux fact script printed no audit markers"
            + (f" (output starts: {shown!r})" if shown else " (no output)")
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
                f"{host}: unexpected output at line {number} of the Linux fact script: {line[:80]!r}"
            )
        kind, attrs = marker.group(1), _attrs(marker.group(2))
        if kind == "FATAL":
            raise HostOutputError(f"{host}: the Linux fact script stopped: {marker.group(2)}")
        if kind == "BEGIN":
            if attrs.get("v") != SCRIPT_VERSION:
                raise HostOutputError(f"{host}: unknown fact script version {attrs.get('v')!r}")
            began = True
            continue
        if not began:
            raise HostOutputError(f"{host}: audit marker {kind} before the begin marker")
        if kind == "SECTION":
            if current is not None:
                raise HostOutputError(f"{host}: section {current['name']} has no end marker")
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
                raise HostOutputError(f"{host}: section {current['name']} has a bad exit code") from None
        elif kind == "STDERR" and current is not None and current["rc"] is not None:
            current["in_stderr"] = True
        elif kind == "END" and current is not None and current["in_stderr"]:
            name = current["name"]
            if attrs.get("name") != name:
                raise HostOutputError(f"{host}: section {name} ends as {attrs.get('name')!r}")
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
                raise HostOutputError(f"{host}: bad done marker {line!r}") from None
        else:
            raise HostOutputError(f"{host}: audit marker {kind} out of place at line {number}")
    if not began:
        raise HostOutputError(f"{host}: the Linux fact script output has no begin marker")
    if done is None:
        where = f" inside section {current['name']}" if current is not None else ""
        raise HostOutputError(
            f"{host}: the Linux fact script output is truncated{where} ({len(sections)} section(s) complete)"
        )
    if done != len(sections):
        raise HostOutputError(f"{host}: the fact script reported {done} sections, {len(sections)} arrived")
    return sections
