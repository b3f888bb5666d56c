"""The validated value types every settings model shares: host, port, URL, path, variable name, seconds.

audit.toml is read into typed objects before anything is collected (collectors/config/ for the
estate, reports/tickets/settings.py for the tracker, controls/harness/config_file.py for the whole
file). What they have in common lives here, at the bottom of the house: this module imports
nothing of the auditor's own, so both the collectors and the reports may use it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

DAYS_MAX = 36500
"""The largest day count any setting accepts (a century): beyond it date arithmetic overflows."""
SECONDS_MAX = 86400.0
"""The longest timeout or back-off any setting accepts (a day): beyond it socket timeouts overflow."""


_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def host_problem(host: str) -> str | None:
    """Return why `host` is neither an IP address nor a DNS host name, or None when it is one.

    It exists so that every host and URL setting refuses the same malformed names before anything
    is collected (a space, a scheme, a port or a path in a host field crashes or misleads later).
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        try:
            ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return f"{host!r} is not an IPv6 address in brackets"
        return None
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    name = text.rstrip(".").lower()
    if not name:
        return "expected a host name or IP address, got an empty string"
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return f"{host!r} is not a valid host name"
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        return f"{host!r} is not an IP address or a DNS host name"
    if labels[-1].isdigit():
        return f"{host!r} is not a valid IP address"
    return None


def url_problem(value: str, schemes: Sequence[str]) -> str | None:
    """Return why `value` is not a usable URL with one of `schemes`, or None when it is one.

    Checks the scheme, that there is a valid host, that the port (if any) is 1-65535 and that no
    user name or password is embedded: credentials come from the environment, never the config.
    """
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        return f"expected a {wanted} URL ({exc})"
    if parts.scheme not in schemes:
        return f"expected a {wanted} URL"
    if "@" in parts.netloc:
        return "a URL must not carry a user name or password (credentials come from the environment)"
    if not parts.hostname:
        return f"expected a {wanted} URL with a host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        written = parts.netloc.rsplit("]", 1)[-1].rpartition(":")[2]
        return f"the port {written!r} is not a number from 1 to 65535"
    return host_problem(parts.hostname)


def redacted_url(value: str) -> str:
    """Return a URL as safe to print: scheme, host and port only (paths and user info may hold secrets)."""
    scheme, _, rest = value.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{netloc.rsplit('@', 1)[-1]}/..." if netloc else "<a URL>"


def _path_text(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a file path, got an empty string")
        return Path(value.strip())
    if isinstance(value, Path):
        return value
    raise ValueError("expected a file path (a string)")


def _host(value: str) -> str:
    problem = host_problem(value)
    if problem:
        raise ValueError(problem)
    return value


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # The value is not echoed: a secret pasted here by mistake must not reach the terminal.
        raise ValueError("expected the NAME of an environment variable (letters, digits, _), not its value")
    return value


def normalise_host(host: str) -> str:
    """Return a host as compared for identity: lower case, no trailing dot, IPv6 compressed, no brackets."""
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


ConfigPath = Annotated[Path, BeforeValidator(_path_text)]
"""A file path written as a string in the TOML file (strict mode accepts no other type)."""
HostName = Annotated[str, AfterValidator(_host)]
"""An IP address or DNS host name (IPv6 may be written in brackets)."""
EnvName = Annotated[str, AfterValidator(_env_name)]
"""The name of an environment variable that holds a secret (the secret itself never is in the config)."""
Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0, le=SECONDS_MAX)]


class ConfigSection(BaseModel):
    """A table of the configuration file: strict types, unknown keys refused, frozen once read."""

    # strict: a string is never a number, a number never a string, a bool never an int (TOML has
    # real types, so a quoted "92" is a mistake to report, not to guess at); non-finite floats
    # (inf, nan) are refused for every float setting.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, strict=True, allow_inf_nan=False
    )
