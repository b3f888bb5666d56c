"""Mutants of a recording: every observation the parsers read, made absent, null, mistyped or cut.

A recording document (the JSON of `Recording.save`) holds five parts of raw observations:
ARM `exchanges` (JSON bodies), `hosts` (a Windows base64 JSON envelope or the Linux sectioned
sh output), `databases` (catalog rows per server), `tls` (scan results) and `probes`
(port observations). `mutants(document)` enumerates, for every value inside them, each
mutation of `value_mutations`; for the framed outputs also section- and body-level ones
(a section deleted, emptied, failed, garbled; a body truncated). The recording's own
structure (its keys, the exchange's URL, the host's name) is never mutated: a recording
broken at that level is refused at load, which is a different guard.

Each mutation is `malformed` (the value can no longer be what the source sends: absent where
it is always present, null, of the wrong type, an unknown enum word, a truncated body) or
plausible (an empty list, an emptied section, a tool reported absent: a real estate can
answer that, and a pass may then be right). Every mutant must not crash the run; a malformed
one must never turn a `fail` or `error` into a `pass`.

One module of ~580 lines: the enumeration and `apply` must agree on every part's framing (ARM
exchanges, the Windows envelope, the Linux sections, databases, tls, probes), so both sit together.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Step = str | int
JsonPath = tuple[Step, ...]

PARTS = ("exchanges", "hosts", "databases", "tls", "probes")
UNKNOWN_WORD = "MutantUnknownValue"
WRONG_TYPE_NUMBER = 12345
WRONG_TYPE_TEXT = "not-a-number"

MAP_KEYS = frozenset({"Permissions", "tags"})
"""JSON objects keyed by data, not by field names (RavenDB's database -> access level, ARM tags): an
entry missing from them, or all of them, is a real answer, so those mutations are plausible."""

WINDOWS_ENVELOPE = re.compile(rb"<<AUDIT:([A-Za-z0-9+/=\s]*):AUDIT>>")
LINUX_MARKER = re.compile(r"^@@AUDIT-([A-Z]+)(?: (.*?))?@@$")


@dataclass(frozen=True)
class Mutant:
    """One change to one observation of a recording document."""

    part: str
    """exchanges, hosts, databases, tls or probes."""
    group: str
    """What was mutated, for the per-part counts: ARM resource type and API version, OS and
    section, engine and result set, tls field, probes field."""
    target: str
    """The mutated item: exchange index, host name, database server name, tls index, 'probes'."""
    location: JsonPath
    """Where inside the item: a JSON path, or ('section', name, ...) for a Linux section."""
    mutation: str
    malformed: bool
    replacement: str | None = None
    """JSON text of the value to put at the location, for mutants drawn by hypothesis (else None)."""

    @property
    def path(self) -> str:
        """Return the location as text, e.g. value[2].properties.direction."""
        return render_path(self.location)

    def describe(self) -> str:
        """Return a one-line account of the mutant for findings."""
        return f"{self.part} {self.target} [{self.group}] {self.path or '(body)'}: {self.mutation}"


def path_pattern(path: JsonPath) -> str:
    """Return a location with its list indices left out, e.g. value[].properties.direction."""
    out = ""
    for step in path:
        out += "[]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def render_path(path: JsonPath) -> str:
    """Return a JSON path as text: keys joined by dots, indices in brackets."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


# --- mutations of one JSON value -------------------------------------------------------------------


def value_mutations(value: Any, in_object: bool) -> Iterator[tuple[str, Any, bool]]:
    """Yield (mutation, new value, malformed) for one JSON value; `_DELETE` removes the key.

    Exists so every part mutates values the same way: absent, null, wrong type, empty,
    unknown enum word.
    """
    if in_object:
        yield "deleted", _DELETE, True
    if value is None:
        return
    yield "null", None, True
    if isinstance(value, bool):
        yield "wrong type (text)", str(value).lower(), True
    elif isinstance(value, int | float):
        yield "wrong type (text)", WRONG_TYPE_TEXT, True
    elif isinstance(value, str):
        yield "wrong type (number)", WRONG_TYPE_NUMBER, True
        if value:
            yield "empty string", "", True
        if value != UNKNOWN_WORD:
            yield "unknown value", UNKNOWN_WORD, True
    elif isinstance(value, list):
        yield "wrong type (object)", {"mutant": 1}, True
        if value:
            yield "empty list", [], False
    elif isinstance(value, dict):
        yield "wrong type (list)", ["mutant"], True
        if value:
            yield "empty object", {}, True


class _Delete:
    """Marker: remove the key instead of setting a value."""


_DELETE = _Delete()


def walk(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any, bool]]:
    """Yield (path, value, in_object) for every value below `value` (not `value` itself)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key), child, True
            yield from walk(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index), child, False
            yield from walk(child, (*path, index))


def set_at(document: Any, path: JsonPath, new: Any) -> Any:
    """Return a copy of `document` with the value at `path` replaced by `new` (or removed)."""
    if not path:
        return new
    result = copy.copy(document)
    head, rest = path[0], path[1:]
    if rest:
        result[head] = set_at(document[head], rest, new)
    elif isinstance(new, _Delete):
        del result[head]
    else:
        result[head] = copy.deepcopy(new)
    return result


def json_mutants(value: Any) -> Iterator[tuple[JsonPath, str, Any, bool]]:
    """Yield (path, mutation, new value, malformed) for every value inside a JSON document."""
    for path, child, in_object in walk(value):
        for mutation, new, malformed in value_mutations(child, in_object):
            yield path, mutation, new, malformed and not in_map(path, mutation)


def in_map(path: JsonPath, mutation: str) -> bool:
    """Return True when the mutation removes entries of a data-keyed object (see MAP_KEYS)."""
    if mutation == "empty object" and path and path[-1] in MAP_KEYS:
        return True
    return mutation == "deleted" and len(path) > 1 and path[-2] in MAP_KEYS


# --- ARM exchanges ---------------------------------------------------------------------------------


def arm_group(exchange: dict[str, Any]) -> str:
    """Return an exchange's ARM resource type and API version, e.g. Microsoft.Sql/servers/databases@2023-08-01."""
    parts = urlsplit(str(exchange.get("url", "")))
    segments = [s for s in parts.path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        tail = segments[at + 1 :]
        kind = "/".join([tail[0], *tail[1::2]]) if tail else "providers"
    else:
        kind = "/".join(segments[::2]) or "/"
    version = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("api-version", "?")
    return f"{kind}@{version}"


def exchange_mutants(document: dict[str, Any]) -> Iterator[Mutant]:
    """Yield the mutants of every ARM response body: each JSON value, and the body truncated."""
    for index, exchange in enumerate(document.get("exchanges") or []):
        body = exchange.get("body")
        if not isinstance(body, str) or not body:
            continue
        group = arm_group(exchange)
        yield Mutant("exchanges", group, str(index), (), "truncated body", True)
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        for path, mutation, _new, malformed in json_mutants(parsed):
            yield Mutant("exchanges", group, str(index), path, mutation, malformed)


def _mutate_exchange(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    index = int(mutant.target)
    exchange = dict(document["exchanges"][index])
    body: str = exchange["body"]
    if mutant.mutation == "truncated body":
        exchange["body"] = body[: len(body) // 2]
    else:
        exchange["body"] = json.dumps(_mutated_json(json.loads(body), mutant))
    exchanges = list(document["exchanges"])
    exchanges[index] = exchange
    return {**document, "exchanges": exchanges}


def _mutated_json(value: Any, mutant: Mutant, offset: int = 0) -> Any:
    """Return `value` with the mutant's mutation applied at its location (from `offset` on)."""
    path = mutant.location[offset:]
    if mutant.replacement is not None:
        return set_at(value, path, json.loads(mutant.replacement))
    current: Any = value
    for step in path:
        current = current[step]
    for mutation, new, _malformed in value_mutations(current, isinstance(path[-1], str)):
        if mutation == mutant.mutation:
            return set_at(value, path, new)
    raise ValueError(f"mutant {mutant.describe()} does not apply to its recording")


# --- hosts ---------------------------------------------------------------------------------------


def _stdout(host: dict[str, Any]) -> bytes:
    return base64.b64decode(host.get("stdout_base64") or "")


def _with_stdout(document: dict[str, Any], index: int, stdout: bytes) -> dict[str, Any]:
    hosts = list(document["hosts"])
    hosts[index] = {**hosts[index], "stdout_base64": base64.b64encode(stdout).decode("ascii")}
    return {**document, "hosts": hosts}


def _host_index(document: dict[str, Any], name: str) -> int:
    return next(i for i, h in enumerate(document["hosts"]) if h["host"] == name)


def windows_envelope(stdout: bytes) -> Any | None:
    """Return the JSON inside a Windows host's `<<AUDIT:...:AUDIT>>` envelope, or None."""
    match = WINDOWS_ENVELOPE.search(stdout)
    if match is None:
        return None
    try:
        return json.loads(base64.b64decode(match.group(1)))
    except ValueError:
        return None


def _windows_stdout(stdout: bytes, payload: bytes) -> bytes:
    match = WINDOWS_ENVELOPE.search(stdout)
    assert match is not None
    inner = b"<<AUDIT:" + base64.b64encode(payload) + b":AUDIT>>"
    return stdout[: match.start()] + inner + stdout[match.end() :]


def windows_mutants(host: dict[str, Any]) -> Iterator[Mutant]:
    """Yield a Windows host's mutants: the envelope cut, its JSON cut, every JSON value."""
    name = str(host["host"])
    stdout = _stdout(host)
    envelope = windows_envelope(stdout)
    if envelope is None:
        return
    yield Mutant("hosts", "windows/output", name, (), "truncated output", True)
    yield Mutant("hosts", "windows/output", name, (), "truncated envelope JSON", True)
    for path, mutation, _new, malformed in json_mutants(envelope):
        section = str(path[1]) if len(path) > 1 and path[0] in ("data", "errors") else "envelope"
        yield Mutant("hosts", f"windows/{section}", name, path, mutation, malformed)


def _mutate_windows(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    index = _host_index(document, mutant.target)
    stdout = _stdout(document["hosts"][index])
    if mutant.mutation == "truncated output":
        return _with_stdout(document, index, stdout[: len(stdout) // 2])
    envelope = windows_envelope(stdout)
    text = json.dumps(envelope).encode("utf-8")
    if mutant.mutation == "truncated envelope JSON":
        return _with_stdout(document, index, _windows_stdout(stdout, text[: len(text) // 2]))
    mutated = json.dumps(_mutated_json(envelope, mutant)).encode("utf-8")
    return _with_stdout(document, index, _windows_stdout(stdout, mutated))


@dataclass
class LinuxSection:
    """One framed section of the Linux fact script's output (decoded)."""

    name: str
    rc: int | str
    stdout: bytes
    stderr: bytes
    absent_tool: str | None = None


@dataclass
class LinuxOutput:
    """The Linux fact script's output: text before the framing, the sections, the version."""

    prefix: list[str]
    version: str
    sections: list[LinuxSection]

    def render(self) -> bytes:
        """Return the output in the script's framing, DONE counting the sections."""
        lines = [*self.prefix, f"@@AUDIT-BEGIN v={self.version}@@"]
        for section in self.sections:
            if section.absent_tool is not None:
                lines.append(f"@@AUDIT-ABSENT name={section.name} tool={section.absent_tool}@@")
                continue
            lines.append(f"@@AUDIT-SECTION name={section.name}@@")
            lines.extend(_b64_lines(section.stdout))
            lines.append(f"@@AUDIT-RC {section.rc}@@")
            lines.append("@@AUDIT-STDERR@@")
            lines.extend(_b64_lines(section.stderr))
            lines.append(f"@@AUDIT-END name={section.name}@@")
        lines.append(f"@@AUDIT-DONE sections={len(self.sections)}@@")
        return ("\n".join(lines) + "\n").encode("utf-8")


def _b64_lines(raw: bytes) -> list[str]:
    text = base64.b64encode(raw).decode("ascii")
    return [text[i : i + 76] for i in range(0, len(text), 76)]


def linux_output(stdout: bytes) -> LinuxOutput | None:
    """Return the sections of a Linux fact script output, or None when it is not one."""
    prefix: list[str] = []
    version: str | None = None
    sections: list[LinuxSection] = []
    current: dict[str, Any] | None = None
    for raw in stdout.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        marker = LINUX_MARKER.match(line)
        if version is None:
            if marker is not None and marker.group(1) == "BEGIN":
                version = dict(p.split("=", 1) for p in (marker.group(2) or "").split() if "=" in p).get(
                    "v", "1"
                )
            else:
                prefix.append(raw)
            continue
        if marker is None:
            if current is not None:
                current["err" if current["in_err"] else "out"].append(line)
            continue
        kind, attrs = (
            marker.group(1),
            dict(p.split("=", 1) for p in (marker.group(2) or "").split() if "=" in p),
        )
        if kind == "SECTION":
            current = {"name": attrs.get("name", "?"), "out": [], "err": [], "rc": 0, "in_err": False}
        elif kind == "RC" and current is not None:
            current["rc"] = (marker.group(2) or "").strip()
        elif kind == "STDERR" and current is not None:
            current["in_err"] = True
        elif kind == "END" and current is not None:
            sections.append(
                LinuxSection(
                    current["name"],
                    int(current["rc"]) if str(current["rc"]).lstrip("-").isdigit() else current["rc"],
                    base64.b64decode("".join(current["out"])),
                    base64.b64decode("".join(current["err"])),
                )
            )
            current = None
        elif kind == "ABSENT":
            sections.append(LinuxSection(attrs.get("name", "?"), 127, b"", b"", attrs.get("tool", "?")))
    if version is None:
        return None
    return LinuxOutput(prefix, version, sections)


LINUX_SECTION_MUTATIONS: tuple[tuple[str, bool], ...] = (
    ("section deleted", True),
    ("exit code 1", True),
    ("exit code not a number", True),
    ("output truncated", True),
    ("lines garbled", True),
    ("output emptied", False),
    ("tool reported absent", False),
)


def linux_mutants(host: dict[str, Any]) -> Iterator[Mutant]:
    """Yield a Linux host's mutants: the output cut, each section's, and each JSON value in a JSON section."""
    name = str(host["host"])
    output = linux_output(_stdout(host))
    if output is None:
        return
    yield Mutant("hosts", "linux/output", name, (), "truncated output", True)
    for section in output.sections:
        if section.absent_tool is not None:
            continue
        group = f"linux/{section.name}"
        for mutation, malformed in LINUX_SECTION_MUTATIONS:
            if mutation in ("output truncated", "lines garbled", "output emptied") and not section.stdout:
                continue
            yield Mutant("hosts", group, name, ("section", section.name), mutation, malformed)
        try:
            parsed = json.loads(section.stdout)
        except ValueError:
            continue
        for path, mutation, _new, malformed in json_mutants(parsed):
            yield Mutant("hosts", group, name, ("section", section.name, *path), mutation, malformed)


def _garbled(raw: bytes) -> bytes:
    lines = raw.decode("utf-8", errors="replace").split("\n")
    return "\n".join(f"%{line[::-1]}#~" if line else line for line in lines).encode("utf-8")


def _mutate_linux(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    index = _host_index(document, mutant.target)
    stdout = _stdout(document["hosts"][index])
    if mutant.mutation == "truncated output":
        return _with_stdout(document, index, stdout[: len(stdout) // 2])
    output = linux_output(stdout)
    assert output is not None
    name = str(mutant.location[1])
    position = next(i for i, s in enumerate(output.sections) if s.name == name and s.absent_tool is None)
    section = output.sections[position]
    if len(mutant.location) > 2:
        mutated = _mutated_json(json.loads(section.stdout), mutant, offset=2)
        section.stdout = json.dumps(mutated).encode("utf-8")
    elif mutant.mutation == "section deleted":
        del output.sections[position]
    elif mutant.mutation == "exit code 1":
        section.rc = 1
    elif mutant.mutation == "exit code not a number":
        section.rc = "x"
    elif mutant.mutation == "output truncated":
        section.stdout = section.stdout[: len(section.stdout) // 2]
    elif mutant.mutation == "lines garbled":
        section.stdout = _garbled(section.stdout)
    elif mutant.mutation == "output emptied":
        section.stdout = b""
    elif mutant.mutation == "tool reported absent":
        section.absent_tool = name
    else:
        raise ValueError(f"unknown Linux section mutation {mutant.mutation!r}")
    return _with_stdout(document, index, output.render())


def host_mutants(document: dict[str, Any]) -> Iterator[Mutant]:
    """Yield the mutants of every host's output (Windows envelope or Linux sections)."""
    for host in document.get("hosts") or []:
        if host.get("error"):
            continue
        if host.get("os") == "windows":
            yield from windows_mutants(host)
        else:
            yield from linux_mutants(host)


# --- databases, tls, probes -----------------------------------------------------------------------


def database_mutants(document: dict[str, Any]) -> Iterator[Mutant]:
    """Yield the mutants of every database server's recorded catalog rows."""
    for server, entry in sorted((document.get("databases") or {}).items()):
        engine = str(entry.get("engine", "?")) if isinstance(entry, dict) else "?"
        for path, mutation, _new, malformed in json_mutants(entry):
            result_set = str(path[1]) if len(path) > 1 and path[0] == "rows" else "entry"
            yield Mutant("databases", f"{engine}/{result_set}", server, path, mutation, malformed)


def tls_mutants(document: dict[str, Any]) -> Iterator[Mutant]:
    """Yield the mutants of every recorded TLS scan result (its sources are not read by controls)."""
    for index, item in enumerate(document.get("tls") or []):
        for path, mutation, _new, malformed in json_mutants(item):
            if path[0] == "sources":
                continue
            field_name = str(path[1]) if len(path) > 1 and path[0] == "fact" else str(path[0])
            yield Mutant("tls", f"tls/{field_name}", str(index), path, mutation, malformed)


def probe_mutants(document: dict[str, Any]) -> Iterator[Mutant]:
    """Yield the mutants of the recorded exposure probes."""
    probes = document.get("probes")
    if not isinstance(probes, dict):
        return
    for path, mutation, _new, malformed in json_mutants(probes):
        where = str(path[2]) if len(path) > 2 and path[0] == "observations" else str(path[0])
        yield Mutant("probes", f"probes/{where}", "probes", path, mutation, malformed)


def _mutate_databases(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    databases = dict(document["databases"])
    databases[mutant.target] = _mutated_json(databases[mutant.target], mutant)
    return {**document, "databases": databases}


def _mutate_tls(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    items = list(document["tls"])
    index = int(mutant.target)
    items[index] = _mutated_json(items[index], mutant)
    return {**document, "tls": items}


def _mutate_probes(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    return {**document, "probes": _mutated_json(document["probes"], mutant)}


# --- locations ---------------------------------------------------------------------------------------


def is_json_location(mutant: Mutant) -> bool:
    """Return True when the mutant's location is a value inside a JSON document (not a body or section)."""
    if not mutant.location:
        return False
    return not (mutant.group.startswith("linux/") and len(mutant.location) <= 2)


def original_value(document: dict[str, Any], mutant: Mutant) -> Any:
    """Return the unmutated JSON value at a JSON location of the recording document."""
    if mutant.part == "exchanges":
        value: Any = json.loads(document["exchanges"][int(mutant.target)]["body"])
        path = mutant.location
    elif mutant.part == "hosts":
        stdout = _stdout(document["hosts"][_host_index(document, mutant.target)])
        if mutant.group.startswith("windows/"):
            value, path = windows_envelope(stdout), mutant.location
        else:
            output = linux_output(stdout)
            assert output is not None
            section = next(s for s in output.sections if s.name == mutant.location[1])
            value, path = json.loads(section.stdout), mutant.location[2:]
    elif mutant.part == "databases":
        value, path = document["databases"][mutant.target], mutant.location
    elif mutant.part == "tls":
        value, path = document["tls"][int(mutant.target)], mutant.location
    else:
        value, path = document["probes"], mutant.location
    for step in path:
        value = value[step]
    return value


# --- all of them -----------------------------------------------------------------------------------


def mutants(document: dict[str, Any]) -> list[Mutant]:
    """Return every mutant of a recording document, in a stable order (part by part)."""
    return [
        *exchange_mutants(document),
        *host_mutants(document),
        *database_mutants(document),
        *tls_mutants(document),
        *probe_mutants(document),
    ]


def apply(document: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    """Return a copy of the recording document with `mutant` applied (the original is unchanged)."""
    if mutant.part == "exchanges":
        return _mutate_exchange(document, mutant)
    if mutant.part == "hosts":
        if mutant.group.startswith("windows/"):
            return _mutate_windows(document, mutant)
        return _mutate_linux(document, mutant)
    if mutant.part == "databases":
        return _mutate_databases(document, mutant)
    if mutant.part == "tls":
        return _mutate_tls(document, mutant)
    if mutant.part == "probes":
        return _mutate_probes(document, mutant)
    raise ValueError(f"unknown part {mutant.part!r}")
