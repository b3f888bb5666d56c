"""audit.toml: what to look at (inventory), what "good" means (policy), and accepted exceptions.

The file is validated into typed objects before anything is collected. A typo must never
silently disable a check, so unknown keys are errors, and every error names the file, the
key and what was expected.

The run harness reads the whole file: the estate part (`EstateConfig`, collectors/config/) goes to
the collectors and controls, the `[tickets]` table (`TicketSettings`, reports/tickets/settings.py)
to the tickets and the `[archive]` table (`ArchiveSettings`, reports/archive/settings.py) to the
archive; no collector ever sees either.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from collectors.config.estate import EstateConfig, first_repeat
from collectors.config.waivers import Waiver
from reports.archive.settings import ArchiveSettings
from reports.history.settings import HistorySettings
from reports.setting_types import ConfigSection, redacted_url
from reports.tickets.settings import TicketSettings


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and what was expected."""


class _WaiverFile(ConfigSection):
    waivers: list[Waiver] = Field(default_factory=list)


class AuditConfig(EstateConfig):
    """The whole validated audit.toml (plus waivers.toml beside it): the estate, tickets and archive settings."""

    tickets: TicketSettings | None = None
    archive: ArchiveSettings | None = None
    history: HistorySettings | None = None


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_SUBKEY = re.compile(r"^(\[\d+\] |[A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*: )")
"""A message that starts by naming a key below the error's location ("valid_until: ...", "[2] ...")."""


def _describe(error: ValidationError, file: Path, raw: dict[str, Any]) -> str:
    lines = []
    for item in error.errors():
        key = _location(tuple(item["loc"]))
        if item["type"] == "extra_forbidden":
            lines.append(f"{file}: unknown key '{key}' (check its spelling: unknown keys are refused)")
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        subkey = _SUBKEY.match(message)
        if subkey:
            below = subkey.group(1).rstrip(": ").rstrip()
            key = f"{key}{below}" if below.startswith("[") or not key else f"{key}.{below}"
            message = message[subkey.end() :]
        got = item.get("input")
        last = key.rsplit(".", 1)[-1]
        if last.endswith("_env") or isinstance(got, dict | list) or subkey:
            shown = ""  # a *_env value may be a secret pasted by mistake: never echoed
        elif isinstance(got, str) and "://" in got:
            shown = f" (got {redacted_url(got)!r})"
        else:
            shown = f" (got {got!r})"
        lines.append(f"{file}: {key or '(top level)'}: {message}{shown}")
    return "\n".join(lines)


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such configuration file (pass --audit-config PATH, copy audit.example.toml, "
            "or try the bundled demo with --demo)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(path: Path, known_controls: frozenset[str] | None = None) -> AuditConfig:
    """Return the validated configuration at `path`, merged with waivers.toml beside it.

    Raises ConfigError with one line per problem; `known_controls`, when given, is used to
    refuse waivers for control ids that do not exist (a typo would otherwise waive nothing).
    """
    data, raw = _read_toml(path)
    digest = hashlib.sha256(raw)
    waivers_file = path.parent / "waivers.toml"
    if waivers_file.is_file():
        extra, extra_raw = _read_toml(waivers_file)
        digest.update(extra_raw)
        try:
            extra_waivers = _WaiverFile.model_validate(extra).waivers
        except ValidationError as exc:
            raise ConfigError(_describe(exc, waivers_file, extra)) from None
    else:
        extra_waivers = []
    for reserved in ("path", "sha256"):
        if reserved in data:
            raise ConfigError(
                f"{path}: unknown key '{reserved}' (check its spelling: unknown keys are refused)"
            )
    try:
        config = AuditConfig.model_validate({**data, "path": path.resolve(), "sha256": digest.hexdigest()})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, data)) from None
    if known_controls is not None:
        for file, waivers in ((path, config.waivers), (waivers_file, extra_waivers)):
            for index, waiver in enumerate(waivers):
                if waiver.control not in known_controls:
                    raise ConfigError(
                        f"{file}: waivers[{index}].control: unknown control id {waiver.control!r} "
                        "(expected an id from the control catalog, e.g. 12b.azure-sql-firewall)"
                    )
    if extra_waivers:
        merged = [*config.waivers, *extra_waivers]
        repeat = first_repeat(merged, Waiver.identity)
        if repeat is not None:
            index, first = repeat
            own = len(config.waivers)
            where = f"waivers[{first}] of {path}" if first < own else f"waivers[{first - own}]"
            raise ConfigError(
                f"{waivers_file}: waivers[{index - own}].resource: {merged[index].resource!r} repeats "
                f"{where} (the same control and resource glob); every exception is granted once"
            )
        config = config.model_copy(update={"waivers": merged})
    if config.azure and config.azure.ca_bundle and not config.resolve(config.azure.ca_bundle).is_file():
        raise ConfigError(f"{path}: azure.ca_bundle: no such file {config.resolve(config.azure.ca_bundle)}")
    return config
